"""Deterministic test data for the reference server.

`seed_database(store, seed=N)` fills an empty store with the organisations, customers, groups,
ledgers, redemptions and cross-member events the conformance suite needs, all drawn from
`random.Random(N)`; dates are placed relative to the start of the current UTC day so that the
default windows (the last 30 days of the cross-member ledger, 90-day ledger windows) hold data.
`size="large"` (or a number of ledger rows) adds bulk customers until the store holds that many
ledger entry rows, inserted with executemany inside one transaction.

What was seeded is recorded in the `meta` table (`seed_info`): the test data a target file
describes, so a server restarted on an existing database can still write its target file.
"""

from __future__ import annotations

import json
import random
import string
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from points_conformance.reference.store import (
    OWNER_CUSTOMER,
    OWNER_GROUP,
    Store,
    row_bit,
    utcnow,
)

LARGE_ROWS = 1_000_000

MAIN_ORG = 50406
PARENT_ORG = 50405
OTHER_ORG = 50407
MAIN_TZ = "Asia/Kolkata"

PROGRAM_DEFAULT = 1148
PROGRAM_PARTNER = 1149
PROGRAM_PARENT = 1147
PROGRAM_OTHER = 1160

# till id -> (store id, code); till 13 belongs to the concept of program 1149
TILLS = {11: (5, "childorgtill1"), 12: (5, "childorgtill2"), 13: (6, "childorgtill3")}
PARENT_TILL = 21
OTHER_TILL = 31

UNKNOWN_ID = 999999
EMPTY_STORE_ID = 7  # a store with no tills

EVENT_NAMES = (
    "GenericEvent",
    "TransactionAdd",
    "TransactionUpdate",
    "TargetCompleted",
    "PointsRedemption",
    "VoucherRedemption",
    "DelayedAccrual",
    "PointsTransfer",
    "PointsRedemptionReversal",
    "CustomerRegistration",
    "CustomerUpdate",
    "ManualPointsAdjustment",
    "BulkAllocatePoints",
)

MAIN = "Main"
DELAYED = "DelayedAccrualPointCategory"
TRIGGER = "ExternalTriggerBasedPointCategory"
CATEGORIES = (MAIN, DELAYED, TRIGGER)

Row = tuple[str, str, int, int, str | None]  # entry type, category, milli-points, program, currency


class SeedSizeError(ValueError):
    """The --size value is neither small, large nor a positive number of rows."""


def parse_size(size: str | int) -> int:
    """Number of ledger rows wanted: 0 for small (whatever the fixed data holds)."""
    if isinstance(size, int) and not isinstance(size, bool):
        if size < 0:
            raise SeedSizeError("size must be small, large or a positive number of ledger rows")
        return size
    text = str(size).strip().lower()
    if text == "small":
        return 0
    if text == "large":
        return LARGE_ROWS
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise SeedSizeError(
            f"size must be small, large or a positive number of ledger rows, not {size!r}"
        ) from None
    if value < 0:
        raise SeedSizeError("size must be small, large or a positive number of ledger rows")
    return value


@dataclass
class _Event:
    org_id: int
    owner_kind: int
    owner_id: int
    customer_id: int
    created: datetime
    event_name: str
    till_id: int | None
    program_id: int
    rows: list[Row]
    transaction: tuple[str, datetime, float, float] | None = None
    promotion_id: int | None = None
    reason: str | None = None
    redemption_id: str | None = None
    seq: int = 0
    event_log_id: int = 0


@dataclass
class _Builder:
    rng: random.Random
    anchor: datetime
    events: list[_Event] = field(default_factory=list)
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    identifiers: list[tuple[Any, ...]] = field(default_factory=list)
    redemptions: list[tuple[_Event, int, str, str]] = field(default_factory=list)
    partial_reversals: list[tuple[str, _Event]] = field(default_factory=list)
    used_codes: set[str] = field(default_factory=set)
    tx: list[int] = field(default_factory=lambda: [0])

    def add(self, event: _Event) -> _Event:
        event.seq = len(self.events)
        self.events.append(event)
        return event

    def customer(
        self,
        customer_id: int,
        first: str,
        last: str,
        *,
        org_id: int = MAIN_ORG,
        mobile: str | None = None,
        email: str | None = None,
        external_id: str | None = None,
        fraud: bool = False,
        enrolled: bool = True,
        merged_into: int | None = None,
        created: datetime | None = None,
    ) -> dict[str, str]:
        ids = {
            "mobile": mobile or f"9190{customer_id:08d}",
            "email": email or f"member{customer_id}@example.com",
            "externalId": external_id or f"ext-{customer_id}",
            "cardnumber": f"CARD{customer_id}",
            "cardExternalId": f"CEXT{customer_id}",
        }
        when = created or (self.anchor - timedelta(days=600))
        self.customers.append(
            (customer_id, org_id, first, last, int(fraud), int(enrolled), fmt(when), merged_into)
        )
        for name, value in ids.items():
            self.identifiers.append((org_id, name, value, "INSTORE", "", customer_id))
        return ids

    def code(self, length: int = 6) -> str:
        alphabet = string.ascii_letters + string.digits
        while True:
            value = "".join(self.rng.choice(alphabet) for _ in range(length))
            if value not in self.used_codes:
                self.used_codes.add(value)
                return value


def fmt(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _points(rng: random.Random, low: int, high: int) -> int:
    """A positive amount in milli-points, sometimes with decimals (like 155.5 or 46.688)."""
    whole = rng.randint(low, high)
    frac = rng.choice((0, 0, 0, 0, 500, 250, 688, 340, 90))
    return whole * 1000 + frac


def _times(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    span = int((end - start).total_seconds())
    picks = sorted(rng.sample(range(1, span), count))
    return [start + timedelta(seconds=s) for s in picks]


def _registration(
    b: _Builder,
    customer_id: int,
    when: datetime,
    programs: tuple[int, ...],
    till: int | None,
    org_id: int = MAIN_ORG,
    currencies: tuple[str, ...] = (),
) -> _Event:
    rows: list[Row] = []
    for program in programs:
        for category in (DELAYED, TRIGGER, MAIN):
            rows.append(("OPENING_BALANCE", category, 0, program, None))
        for currency in currencies:
            rows.append(("OPENING_BALANCE", MAIN, 0, program, currency))
    return b.add(
        _Event(
            org_id,
            OWNER_CUSTOMER,
            customer_id,
            customer_id,
            when,
            "CustomerRegistration",
            till,
            programs[0],
            rows,
        )
    )


class _Balances:
    """Running balances while a ledger is generated, so debits never overdraw."""

    def __init__(self) -> None:
        self.value: dict[tuple[int, str, str | None], int] = defaultdict(int)

    def apply(self, rows: list[Row]) -> None:
        for entry_type, category, points, program, currency in rows:
            sign = -1 if entry_type == "DEBIT" else 1
            self.value[(program, category, currency)] += sign * points

    def get(self, program: int, category: str, currency: str | None = None) -> int:
        return self.value[(program, category, currency)]


def _transaction(rng: random.Random, when: datetime, counter: list[int]) -> tuple[Any, ...]:
    counter[0] += 1
    amount = round(rng.uniform(100, 15000), 2)
    gross = round(amount * rng.choice((1.0, 1.0, 1.1, 1.25)), 2)
    return (f"TXN-{counter[0]:06d}", when - timedelta(minutes=rng.randint(0, 30)), amount, gross)


def _rich_rows(
    b: _Builder, name: str, program: int, bal: _Balances
) -> tuple[list[Row], str | None, bool, bool]:
    """Rows for one event of the rich customer: (rows, reason, has transaction, has promo)."""
    rng = b.rng
    rows: list[Row] = []
    reason: str | None = None
    tx = name in ("TransactionAdd", "TransactionUpdate")
    promo = name in ("TargetCompleted", "GenericEvent", "BulkAllocatePoints")

    def debit(category: str, low: int, high: int) -> Row | None:
        available = bal.get(program, category)
        if available <= 0:
            return None
        return ("DEBIT", category, min(available, _points(rng, low, high)), program, None)

    if name == "TransactionAdd":
        rows.append(("CREDIT", MAIN, _points(rng, 10, 2000), program, None))
        if rng.random() < 0.3:
            rows.append(("CREDIT", DELAYED, _points(rng, 5, 300), program, None))
    elif name == "TransactionUpdate":
        row = debit(MAIN, 5, 300) if rng.random() < 0.5 else None
        rows.append(row or ("CREDIT", MAIN, _points(rng, 5, 300), program, None))
    elif name == "TargetCompleted":
        rows.append(("CREDIT", MAIN, _points(rng, 50, 500), program, None))
    elif name == "GenericEvent":
        rows.append(("CREDIT", TRIGGER, _points(rng, 10, 400), program, None))
    elif name in ("PointsRedemption", "VoucherRedemption"):
        row = debit(MAIN, 10, 800)
        rows.append(row or ("CREDIT", MAIN, _points(rng, 10, 100), program, None))
    elif name == "DelayedAccrual":
        available = bal.get(program, DELAYED)
        if available > 0:
            amount = min(available, _points(rng, 5, 300))
            rows.append(("DEBIT", DELAYED, amount, program, None))
            rows.append(("CREDIT", MAIN, amount, program, None))
        else:
            rows.append(("CREDIT", DELAYED, _points(rng, 5, 300), program, None))
    elif name == "PointsTransfer":
        row = debit(MAIN, 10, 500) if rng.random() < 0.5 else None
        rows.append(row or ("CREDIT", MAIN, _points(rng, 10, 500), program, None))
    elif name == "PointsRedemptionReversal":
        rows.append(("CREDIT", MAIN, _points(rng, 10, 300), program, None))
    elif name == "CustomerUpdate":
        rows.append(("OPENING_BALANCE", TRIGGER, _points(rng, 0, 50), program, None))
    elif name == "ManualPointsAdjustment":
        reason = rng.choice(("POINTS_ISSUE", "GOODWILL", "CORRECTION"))
        category = rng.choice(CATEGORIES)
        row = debit(category, 1, 100) if rng.random() < 0.6 else None
        rows.append(row or ("CREDIT", category, _points(rng, 1, 100), program, None))
    elif name == "BulkAllocatePoints":
        rows.append(("CREDIT", rng.choice((MAIN, TRIGGER)), _points(rng, 20, 600), program, None))
    bal.apply(rows)
    return rows, reason, tx, promo


def _seed_rich(b: _Builder, customer_id: int, count: int) -> None:
    rng = b.rng
    start = b.anchor - timedelta(days=520)
    times = _times(rng, start + timedelta(hours=1), b.anchor - timedelta(hours=1), count - 1)
    bal = _Balances()
    reg = _registration(b, customer_id, start, (PROGRAM_DEFAULT, PROGRAM_PARTNER), 11)
    bal.apply(reg.rows)
    others = [n for n in EVENT_NAMES if n != "CustomerRegistration"]
    warmup = 15
    forced = others + ["ManualPointsAdjustment"] * 3 + ["DelayedAccrual"] * 3
    rest = [rng.choice(others) for _ in range(count - 1 - warmup - len(forced))]
    tail = forced + rest
    rng.shuffle(tail)
    names = ["TransactionAdd"] * warmup + tail
    for i, (when, name) in enumerate(zip(times, names, strict=True)):
        program = PROGRAM_DEFAULT if rng.random() < 0.65 else PROGRAM_PARTNER
        till = rng.choice(tuple(TILLS))
        if i == warmup + 2:
            # guarantees a DEBIT of one program at the till of another program's concept
            program, till, name = PROGRAM_DEFAULT, 13, "PointsRedemption"
        rows, reason, tx, promo = _rich_rows(b, name, program, bal)
        b.add(
            _Event(
                MAIN_ORG,
                OWNER_CUSTOMER,
                customer_id,
                customer_id,
                when,
                name,
                till,
                program,
                rows,
                reason=reason,
                transaction=_transaction(rng, when, b.tx) if tx else None,
                promotion_id=rng.choice(_PROMOTION_IDS) if promo else None,
            )
        )
    # one debit in every category, whatever the draw gave
    last = b.anchor - timedelta(minutes=30)
    for offset, category in enumerate(CATEGORIES):
        amount = min(bal.get(PROGRAM_DEFAULT, category), 25_000)
        if amount <= 0:
            credit: list[Row] = [("CREDIT", category, 2000, PROGRAM_DEFAULT, None)]
            bal.apply(credit)
            b.add(
                _Event(
                    MAIN_ORG,
                    OWNER_CUSTOMER,
                    customer_id,
                    customer_id,
                    last - timedelta(hours=6 + offset),
                    "BulkAllocatePoints",
                    12,
                    PROGRAM_DEFAULT,
                    credit,
                    promotion_id=_PROMOTION_IDS[0],
                )
            )
            amount = 2000
        debit: list[Row] = [("DEBIT", category, amount, PROGRAM_DEFAULT, None)]
        bal.apply(debit)
        b.add(
            _Event(
                MAIN_ORG,
                OWNER_CUSTOMER,
                customer_id,
                customer_id,
                last + timedelta(minutes=offset),
                "ManualPointsAdjustment",
                12,
                PROGRAM_DEFAULT,
                debit,
                reason="CORRECTION",
            )
        )


_PROMOTION_IDS = (1120363, 1120364, 1120365)


def _seed_simple(
    b: _Builder,
    customer_id: int,
    count: int,
    *,
    days: int = 60,
    program: int = PROGRAM_DEFAULT,
    org_id: int = MAIN_ORG,
    till: int = 11,
    first_credit: int | None = None,
) -> None:
    """`count` events: a registration, then credits and the odd redemption."""
    if count <= 0:
        return
    rng = b.rng
    start = b.anchor - timedelta(days=days)
    bal = _Balances()
    reg = _registration(b, customer_id, start, (program,), till, org_id)
    bal.apply(reg.rows)
    times = _times(rng, start + timedelta(hours=1), b.anchor - timedelta(hours=2), count - 1)
    for i, when in enumerate(times):
        if i == 0 and first_credit is not None:
            rows: list[Row] = [("CREDIT", MAIN, first_credit, program, None)]
            name = "TransactionAdd"
        elif i % 4 == 3 and bal.get(program, MAIN) > 0:
            amount = min(bal.get(program, MAIN), _points(rng, 5, 100))
            rows, name = [("DEBIT", MAIN, amount, program, None)], "PointsRedemption"
        else:
            rows = [("CREDIT", MAIN, _points(rng, 10, 500), program, None)]
            name = "TransactionAdd"
        bal.apply(rows)
        b.add(
            _Event(
                org_id,
                OWNER_CUSTOMER,
                customer_id,
                customer_id,
                when,
                name,
                till,
                program,
                rows,
                transaction=_transaction(rng, when, b.tx) if name == "TransactionAdd" else None,
            )
        )


def _seed_single(b: _Builder, customer_id: int) -> None:
    when = b.anchor - timedelta(days=10, hours=3)
    rows: list[Row] = [("CREDIT", MAIN, 100_000, PROGRAM_DEFAULT, None)]
    b.add(
        _Event(
            MAIN_ORG,
            OWNER_CUSTOMER,
            customer_id,
            customer_id,
            when,
            "TransactionAdd",
            11,
            PROGRAM_DEFAULT,
            rows,
            transaction=_transaction(b.rng, when, b.tx),
        )
    )


def _seed_alt_currency(b: _Builder, customer_id: int) -> None:
    rng = b.rng
    coins = ("DocCoin", "Stars")
    start = b.anchor - timedelta(days=200)
    bal = _Balances()
    reg = _registration(b, customer_id, start, (PROGRAM_DEFAULT,), 11, currencies=coins)
    bal.apply(reg.rows)
    times = _times(rng, start + timedelta(hours=1), b.anchor - timedelta(hours=2), 44)
    p = PROGRAM_DEFAULT
    for i, when in enumerate(times):
        kind = i % 6
        tx = False
        promo: int | None = None
        if kind == 0:
            amount = _points(rng, 100, 2000)
            rows: list[Row] = [
                ("CREDIT", MAIN, amount, p, None),
                ("CREDIT", MAIN, amount, p, "DocCoin"),
            ]
            name, tx = "TransactionAdd", True
        elif kind == 1:
            available = bal.get(p, MAIN, "DocCoin")
            amount = min(available, _points(rng, 10, 500)) if available > 0 else 0
            rows = (
                [("DEBIT", MAIN, amount, p, "DocCoin")]
                if amount > 0
                else [("CREDIT", MAIN, _points(rng, 10, 50), p, "DocCoin")]
            )
            name, tx = "TransactionUpdate", True
        elif kind == 2:
            rows = [("OPENING_BALANCE", MAIN, _points(rng, 0, 20), p, "Stars")]
            name = "CustomerUpdate"
        elif kind == 3:
            rows = [
                ("CREDIT", TRIGGER, _points(rng, 5, 100), p, None),
                ("CREDIT", MAIN, _points(rng, 5, 100), p, "Stars"),
            ]
            name, promo = "GenericEvent", _PROMOTION_IDS[1]
        elif kind == 4:
            rows = [
                ("CREDIT", DELAYED, _points(rng, 5, 200), p, None),
                ("CREDIT", DELAYED, _points(rng, 5, 200), p, "DocCoin"),
            ]
            name, tx = "TransactionAdd", True
        else:
            available = bal.get(p, MAIN)
            rows = (
                [("DEBIT", MAIN, min(available, _points(rng, 5, 200)), p, None)]
                if available > 0
                else [("CREDIT", MAIN, _points(rng, 5, 200), p, None)]
            )
            name = "PointsRedemption"
        bal.apply(rows)
        b.add(
            _Event(
                MAIN_ORG,
                OWNER_CUSTOMER,
                customer_id,
                customer_id,
                when,
                name,
                12,
                p,
                rows,
                transaction=_transaction(rng, when, b.tx) if tx else None,
                promotion_id=promo,
            )
        )


def _seed_group_ledger(
    b: _Builder, group_id: int, members: list[int], count: int, till_choices: tuple[int, ...]
) -> None:
    rng = b.rng
    start = b.anchor - timedelta(days=240)
    bal = _Balances()
    times = _times(rng, start, b.anchor - timedelta(hours=3), count)
    for i, when in enumerate(times):
        member = members[i % len(members)] if i < len(members) else rng.choice(members)
        program = PROGRAM_DEFAULT
        if i == 0:
            rows: list[Row] = [
                ("OPENING_BALANCE", c, 0, program, None) for c in (DELAYED, TRIGGER, MAIN)
            ]
            name = "CustomerRegistration"
        elif i % 5 == 4 and bal.get(program, MAIN) > 0:
            rows = [
                ("DEBIT", MAIN, min(bal.get(program, MAIN), _points(rng, 10, 300)), program, None)
            ]
            name = "PointsRedemption"
        elif i % 7 == 6:
            rows = [("CREDIT", DELAYED, _points(rng, 10, 300), program, None)]
            name = "TransactionAdd"
        else:
            rows = [("CREDIT", MAIN, _points(rng, 50, 1500), program, None)]
            name = "TransactionAdd"
        bal.apply(rows)
        b.add(
            _Event(
                MAIN_ORG,
                OWNER_GROUP,
                group_id,
                member,
                when,
                name,
                rng.choice(till_choices),
                program,
                rows,
                transaction=_transaction(rng, when, b.tx) if name == "TransactionAdd" else None,
            )
        )


def _seed_redeemer(b: _Builder, customer_id: int, mobile: str, count: int) -> dict[str, Any]:
    rng = b.rng
    start = b.anchor - timedelta(days=120)
    reg = _registration(b, customer_id, start, (PROGRAM_DEFAULT,), 11)
    del reg
    credit_at = start + timedelta(hours=2)
    b.add(
        _Event(
            MAIN_ORG,
            OWNER_CUSTOMER,
            customer_id,
            customer_id,
            credit_at,
            "TransactionAdd",
            11,
            PROGRAM_DEFAULT,
            [("CREDIT", MAIN, 100_000_000, PROGRAM_DEFAULT, None)],
            transaction=_transaction(rng, credit_at, b.tx),
        )
    )
    times = _times(rng, start + timedelta(days=1), b.anchor - timedelta(days=2), count)
    ids: list[str] = []
    for when in times:
        amount = rng.randint(50, 400) * 1000 + rng.choice((0, 0, 500))
        event = b.add(
            _Event(
                MAIN_ORG,
                OWNER_CUSTOMER,
                customer_id,
                customer_id,
                when,
                "PointsRedemption",
                12,
                PROGRAM_DEFAULT,
                [("DEBIT", MAIN, amount, PROGRAM_DEFAULT, None)],
            )
        )
        code = b.code()
        event.redemption_id = code
        b.redemptions.append((event, amount, "mobile", mobile))
        ids.append(code)
    # one fully reversed, a few partially reversed already
    fully = ids[0]
    partial = ids[1:6]
    for code in [fully, *partial]:
        red_event, amount, _, _ = next(r for r in b.redemptions if r[0].redemption_id == code)
        back = amount if code == fully else amount // 4
        when = red_event.created + timedelta(hours=5)
        rev = b.add(
            _Event(
                MAIN_ORG,
                OWNER_CUSTOMER,
                customer_id,
                customer_id,
                when,
                "PointsRedemptionReversal",
                12,
                PROGRAM_DEFAULT,
                [("CREDIT", MAIN, back, PROGRAM_DEFAULT, None)],
            )
        )
        b.partial_reversals.append((code, rev))
    return {
        "reversible_ids": [i for i in ids if i != fully],
        "reversed_id": fully,
        "identifier_type": "mobile",
        "identifier_value": mobile,
    }


@dataclass
class _CmlEvent:
    event_log_id: int
    event_name: str
    transacting: int
    ref: str
    created: datetime
    rows: list[list[Any]]  # [customer_id, signed milli, reversed milli, expiry iso]
    redemption: _CmlEvent | None = None


def _seed_cross_member(
    b: _Builder, group_id: int, targets: dict[int, int], inactive: int
) -> list[_CmlEvent]:
    """Redemptions and reversals of the cross-member group, and the members' ledgers under them.

    `targets` are the active members' final Main balances (milli); the members' ledgers are
    built so that their balances end exactly there.
    """
    rng = b.rng
    members = sorted(targets)
    events: list[_CmlEvent] = []
    next_id = [999700]

    def new_id() -> int:
        next_id[0] += rng.randint(3, 40)
        return next_id[0]

    def expiry(when: datetime) -> str:
        day = (when + timedelta(days=rng.randint(1, 60))).date()
        return f"{day.isoformat()}T00:00:00Z"

    def redemption(when: datetime, transacting: int, sources: list[tuple[int, int]]) -> _CmlEvent:
        ev = _CmlEvent(
            new_id(),
            "CROSS_MEMBER_REDEMPTION",
            transacting,
            f"TXN-{rng.randint(100000, 999999)}",
            when,
            [[cid, -pts, 0, expiry(when)] for cid, pts in sources],
        )
        events.append(ev)
        return ev

    def reversal(when: datetime, red: _CmlEvent, amounts: dict[int, int]) -> _CmlEvent:
        rows = []
        for row in red.rows:
            back = amounts.get(row[0], 0)
            if back > 0:
                row[2] += back
                rows.append([row[0], back, 0, row[3]])
        ev = _CmlEvent(
            new_id(), "CROSS_MEMBER_REDEMPTION_REVERSAL", red.transacting, red.ref, when, rows, red
        )
        events.append(ev)
        return ev

    def pick_sources(transacting: int, include_self: bool | None) -> list[tuple[int, int]]:
        pool = [m for m in members if m != transacting]
        chosen = rng.sample(pool, rng.randint(1, min(2, len(pool))))
        if include_self is None:
            include_self = rng.random() < 0.3
        if include_self:
            chosen.append(transacting)
        return [(cid, rng.randint(1, 12) * 5000) for cid in chosen]

    recent_start = b.anchor - timedelta(days=27)
    # the documented example: 1003 transacts, 1004/1001/1002 are drawn from, 1002 partly restored
    example_at = b.anchor - timedelta(days=12, hours=-10, minutes=-30)
    example = _CmlEvent(
        999821,
        "CROSS_MEMBER_REDEMPTION",
        1003,
        "TXN-882291",
        example_at,
        [
            [1004, -10000, 0, expiry(example_at)],
            [1001, -100000, 0, expiry(example_at)],
            [1002, -240000, 0, expiry(example_at)],
        ],
    )
    events.append(example)
    times = _times(rng, recent_start, b.anchor - timedelta(hours=1), 24)
    reds: list[_CmlEvent] = []
    for i, when in enumerate(times):
        if i == 0:
            red = redemption(when, 1003, pick_sources(1003, False))  # TRANSACTING only
        elif i == 1:
            red = redemption(when, 1001, [(1003, 40000), (1002, 15000)])  # 1003 as SOURCE
        elif i == 2:
            red = redemption(when, 1003, [(1003, 20000), (1004, 5000)])  # 1003 as BOTH
        else:
            transacting = rng.choice(members)
            red = redemption(when, transacting, pick_sources(transacting, None))
        reds.append(red)
    reversal(example_at + timedelta(days=2), example, {1002: 150000})
    for i, red in enumerate(reds[:10]):
        when = red.created + timedelta(hours=rng.randint(1, 20))
        if when >= b.anchor:
            when = red.created + timedelta(minutes=10)
        if i % 2 == 0:
            amounts = {row[0]: -row[1] for row in red.rows}  # full reversal
        else:
            first = red.rows[0]
            amounts = {first[0]: max(1000, (-first[1]) // 2)}  # partial
        reversal(when, red, amounts)
    # older history, outside the default 30-day window
    for days in (45, 60, 90, 120):
        when = b.anchor - timedelta(days=days, hours=rng.randint(0, 12))
        transacting = rng.choice(members)
        red = redemption(when, transacting, pick_sources(transacting, None))
        if days in (60, 120):
            reversal(when + timedelta(hours=3), red, {row[0]: -row[1] for row in red.rows})

    # member ledgers: every cml row is also an event on the member's own ledger
    per_member: dict[int, list[tuple[datetime, str, int]]] = defaultdict(list)
    for ev in events:
        for row in ev.rows:
            name = "PointsRedemption" if row[1] < 0 else "PointsRedemptionReversal"
            per_member[row[0]].append((ev.created, name, row[1]))
    first_at = b.anchor - timedelta(days=200)
    for member in [*members, inactive]:
        target = targets.get(member, 70_000)
        moves = sorted(per_member.get(member, []))
        net = sum(m[2] for m in moves)
        running, lowest = 0, 0
        for move in moves:
            running += move[2]
            lowest = min(lowest, running)
        opening = target - net
        deficit = max(0, -(opening + lowest))
        _registration(b, member, first_at, (PROGRAM_DEFAULT,), 11)
        credit_at = first_at + timedelta(hours=1)
        b.add(
            _Event(
                MAIN_ORG,
                OWNER_CUSTOMER,
                member,
                member,
                credit_at,
                "TransactionAdd",
                11,
                PROGRAM_DEFAULT,
                [("CREDIT", MAIN, opening + deficit, PROGRAM_DEFAULT, None)],
                transaction=_transaction(rng, credit_at, b.tx),
            )
        )
        for when, name, points in moves:
            entry = "DEBIT" if points < 0 else "CREDIT"
            b.add(
                _Event(
                    MAIN_ORG,
                    OWNER_CUSTOMER,
                    member,
                    member,
                    when,
                    name,
                    12,
                    PROGRAM_DEFAULT,
                    [(entry, MAIN, abs(points), PROGRAM_DEFAULT, None)],
                )
            )
        if deficit:
            when = moves[-1][0] + timedelta(seconds=1)
            b.add(
                _Event(
                    MAIN_ORG,
                    OWNER_CUSTOMER,
                    member,
                    member,
                    when,
                    "ManualPointsAdjustment",
                    12,
                    PROGRAM_DEFAULT,
                    [("DEBIT", MAIN, deficit, PROGRAM_DEFAULT, None)],
                    reason="CORRECTION",
                )
            )
    return events


def _insert_reference_data(store: Store) -> None:
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO orgs (org_id, name, timezone, cross_member_enabled) VALUES (?, ?, ?, ?)",
            [
                (MAIN_ORG, "ChildOrg1", MAIN_TZ, 1),
                (PARENT_ORG, "ParentOrg", MAIN_TZ, 0),
                (OTHER_ORG, "OtherOrg", "UTC", 0),
            ],
        )
        conn.executemany(
            "INSERT INTO org_links (org_id, connected_org_id) VALUES (?, ?)",
            [(MAIN_ORG, PARENT_ORG), (PARENT_ORG, MAIN_ORG)],
        )
        conn.executemany(
            "INSERT INTO programs (program_id, org_id, name, is_default) VALUES (?, ?, ?, ?)",
            [
                (PROGRAM_DEFAULT, MAIN_ORG, "ChildOrg1DefaultProgram", 1),
                (PROGRAM_PARTNER, MAIN_ORG, "ChildOrg1PartnerProgram", 0),
                (PROGRAM_PARENT, PARENT_ORG, "ParentOrgDefaultProgram", 1),
                (PROGRAM_OTHER, OTHER_ORG, "OtherOrgDefaultProgram", 1),
            ],
        )
        conn.executemany(
            "INSERT INTO stores (store_id, org_id, code, name) VALUES (?, ?, ?, ?)",
            [
                (5, MAIN_ORG, "store1", "Store1"),
                (6, MAIN_ORG, "store2", "Store2"),
                (EMPTY_STORE_ID, MAIN_ORG, "store3", "Store3"),
                (8, PARENT_ORG, "store1", "Store1"),
                (9, OTHER_ORG, "otherstore", "OtherStore"),
            ],
        )
        conn.executemany(
            "INSERT INTO tills (till_id, org_id, store_id, code, concept_program_id)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (11, MAIN_ORG, 5, "childorgtill1", None),
                (12, MAIN_ORG, 5, "childorgtill2", None),
                (13, MAIN_ORG, 6, "childorgtill3", PROGRAM_PARTNER),
                (PARENT_TILL, PARENT_ORG, 8, "parentorgtill1", None),
                (OTHER_TILL, OTHER_ORG, 9, "othertill1", None),
            ],
        )
        conn.executemany(
            "INSERT INTO promotions (promotion_id, name, description, identifier, display_name)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (
                    _PROMOTION_IDS[0],
                    "TargetCompletePromos",
                    "TargetCompletePromos",
                    "7c73ef03-5745-4d82-b089-aebefa53d10d",
                    "TargetCompletePromos",
                ),
                (
                    _PROMOTION_IDS[1],
                    "StoreVisitBonus",
                    "Bonus points for a store visit",
                    "0f4c2a9e-1d7b-4c1e-9a55-2b8e6f3d9c10",
                    "StoreVisit",
                ),
                (
                    _PROMOTION_IDS[2],
                    "ImportedGoodwill",
                    "Points allocated by import",
                    "b2d8e1f4-6a3c-4f7e-8d21-5c9a0e7b3f64",
                    "BulkImport",
                ),
            ],
        )


def _write_events(store: Store, b: _Builder, first_id: int) -> None:
    rng = b.rng
    b.events.sort(key=lambda e: (e.created, e.seq))
    next_id = first_id
    tx_rows: list[tuple[Any, ...]] = []
    ev_rows: list[tuple[Any, ...]] = []
    row_rows: list[tuple[Any, ...]] = []
    balances: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    next_tx = 36363900
    for ev in b.events:
        next_id += rng.randint(1, 9)
        ev.event_log_id = next_id
        tx_id = None
        if ev.transaction is not None:
            next_tx += rng.randint(1, 5)
            tx_id = next_tx
            number, date, amount, gross = ev.transaction
            tx_rows.append((tx_id, number, fmt(date), amount, gross, "instore"))
        mask = 0
        for entry_type, category, points, program, currency in ev.rows:
            bit = row_bit(entry_type, category, currency)
            mask |= 1 << bit
            row_rows.append((next_id, entry_type, category, points, program, currency, bit))
            sign = -1 if entry_type == "DEBIT" else 1
            balances[(ev.owner_kind, ev.owner_id, program, category, currency or "")] += (
                sign * points
            )
        ev_rows.append(
            (
                next_id,
                ev.org_id,
                ev.owner_kind,
                ev.owner_id,
                ev.customer_id,
                fmt(ev.created),
                ev.event_name,
                ev.till_id,
                tx_id,
                ev.program_id,
                ev.promotion_id,
                ev.reason,
                mask,
            )
        )
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO customers (customer_id, org_id, first_name, last_name, fraud,"
            " loyalty_enrolled, created, merged_into) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            b.customers,
        )
        conn.executemany(
            "INSERT INTO identifiers (org_id, name, value, source, account_id, customer_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            b.identifiers,
        )
        conn.executemany("INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?)", tx_rows)
        conn.executemany(
            "INSERT INTO ledger_events (event_log_id, org_id, owner_kind, owner_id, customer_id,"
            " created, event_name, till_id, transaction_id, source_program_id, promotion_id,"
            " reason, row_mask) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ev_rows,
        )
        conn.executemany(
            "INSERT INTO ledger_rows (event_log_id, entry_type, category, points, program_id,"
            " currency, bit) VALUES (?, ?, ?, ?, ?, ?, ?)",
            row_rows,
        )
        conn.executemany(
            "INSERT INTO balances (owner_kind, owner_id, program_id, category, currency, balance)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(*k, v) for k, v in balances.items()],
        )
        reversed_by: dict[str, int] = defaultdict(int)
        for code, rev in b.partial_reversals:
            reversed_by[code] += rev.rows[0][2]
        conn.executemany(
            "INSERT INTO redemptions (redemption_id, org_id, customer_id, program_id, points,"
            " reversed, identifier_type, identifier_value, event_log_id, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    ev.redemption_id,
                    ev.org_id,
                    ev.customer_id,
                    ev.program_id,
                    amount,
                    reversed_by.get(ev.redemption_id or "", 0),
                    id_type,
                    id_value,
                    ev.event_log_id,
                    fmt(ev.created),
                )
                for ev, amount, id_type, id_value in b.redemptions
            ],
        )
        conn.executemany(
            "INSERT INTO reversals (reversal_id, redemption_id, points, event_log_id, created)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (b.code(), code, rev.rows[0][2], rev.event_log_id, fmt(rev.created))
                for code, rev in b.partial_reversals
            ],
        )


def _write_cml(store: Store, group_id: int, events: list[_CmlEvent]) -> None:
    with store.write() as conn:
        for ev in events:
            conn.execute(
                "INSERT INTO cml_events (event_log_id, group_id, event_name,"
                " transacting_customer_id, transaction_ref, created, redemption_event_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    ev.event_log_id,
                    group_id,
                    ev.event_name,
                    ev.transacting,
                    ev.ref,
                    fmt(ev.created),
                    ev.redemption.event_log_id if ev.redemption else None,
                ),
            )
            conn.executemany(
                "INSERT INTO cml_rows (event_log_id, customer_id, points, reversed,"
                " expiry_batch_date) VALUES (?, ?, ?, ?, ?)",
                [(ev.event_log_id, r[0], r[1], r[2], r[3]) for r in ev.rows],
            )


def _write_groups(store: Store, anchor: datetime) -> None:
    created = fmt(anchor - timedelta(days=300))
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO user_groups (group_id, org_id, type, name, external_id, primary_user_id,"
            " cross_member_enabled, status, created_by, created, lifetime_purchases)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'ACTIVE', ?, ?, ?)",
            [
                (
                    7001,
                    MAIN_ORG,
                    "USERGROUP2",
                    "Robinson Family",
                    "UG2-7001",
                    5101,
                    0,
                    15041276,
                    created,
                    400.0,
                ),
                (
                    7002,
                    MAIN_ORG,
                    "FLEET",
                    "Fleet Logistics",
                    "FLEET-7002",
                    5201,
                    0,
                    15041276,
                    created,
                    1250.0,
                ),
                (
                    7003,
                    MAIN_ORG,
                    "USERGROUP2",
                    "Cross Member Family",
                    "UG2-7003",
                    1001,
                    1,
                    15041276,
                    created,
                    980.0,
                ),
            ],
        )
        conn.executemany(
            "INSERT INTO group_members (group_id, customer_id, role, is_primary, active,"
            " default_group) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (7001, 5101, "PRIMARY", 1, 1, 1),
                (7001, 5102, "SECONDARY", 0, 1, 0),
                (7001, 5103, "SECONDARY", 0, 1, 1),
                (7002, 5201, "OWNER", 1, 1, 1),
                (7002, 5202, "DRIVER", 0, 1, 0),
                (7002, 5203, "ASSOCIATE", 0, 1, 1),
                (7003, 1001, "PRIMARY", 1, 1, 1),
                (7003, 1002, "SECONDARY", 0, 1, 1),
                (7003, 1003, "SECONDARY", 0, 1, 1),
                (7003, 1004, "SECONDARY", 0, 1, 1),
                (7003, 1005, "SECONDARY", 0, 0, 1),
            ],
        )


def _bulk(store: Store, rng: random.Random, anchor: datetime, rows_wanted: int) -> int:
    """Add bulk customers holding `rows_wanted` ledger rows; returns the big customer's events."""
    if rows_wanted <= 0:
        return 0
    big_rows = max(1, rows_wanted // 4)
    first_customer = 10_000_000
    # per event: (event name, rows as (entry type, category, points)); 6 rows per 3 events
    cycle = (
        ("BulkAllocatePoints", (("CREDIT", MAIN, 25_000),)),
        (
            "TransactionAdd",
            (("CREDIT", MAIN, 10_000), ("CREDIT", DELAYED, 2_500), ("CREDIT", TRIGGER, 1_000)),
        ),
        ("PointsRedemption", (("DEBIT", MAIN, 5_000), ("DEBIT", DELAYED, 500))),
    )
    bits = [[row_bit(t, c, None) for t, c, _ in rows] for _, rows in cycle]
    masks = [sum(1 << b for b in set(bs)) for bs in bits]
    start_epoch = int((anchor - timedelta(days=730)).replace(tzinfo=UTC).timestamp())
    span = 730 * 86400 - 7200
    customers: list[tuple[Any, ...]] = []
    identifiers: list[tuple[Any, ...]] = []
    balances: list[tuple[Any, ...]] = []
    event_id = 200_000_000
    made = 0
    big_events = 0
    customer_id = first_customer
    reg = fmt(anchor - timedelta(days=731))
    day_cache: dict[int, str] = {}
    # a fixed table of draws keeps the per-event cost to arithmetic and one tuple
    draws = [rng.random() for _ in range(1009)]
    row_templates = [
        [(entry, category, points, PROGRAM_DEFAULT, None, bit) for (entry, category, points), bit
         in zip(rows, bits[k], strict=True)]
        for k, (_, rows) in enumerate(cycle)
    ]  # fmt: skip
    main_per_kind = [
        sum((-p if e == "DEBIT" else p) for e, c, p in rows if c == MAIN) for _, rows in cycle
    ]
    delayed_per_kind = [
        sum((-p if e == "DEBIT" else p) for e, c, p in rows if c == DELAYED) for _, rows in cycle
    ]
    trigger_per_kind = [sum(p for _, c, p in rows if c == TRIGGER) for _, rows in cycle]
    with store.write() as conn:
        while made < rows_wanted:
            want = big_rows if customer_id == first_customer else min(600, rows_wanted - made)
            n_events = max(1, want // 2)
            step = max(1, span // n_events)
            jitter = max(1, step // 2)
            t = start_epoch
            ev_rows: list[tuple[Any, ...]] = []
            row_rows: list[tuple[Any, ...]] = []
            offset = customer_id % 1009
            for i in range(n_events):
                t += step - int(draws[(i + offset) % 1009] * jitter)
                day, secs = divmod(t, 86400)
                prefix = day_cache.get(day)
                if prefix is None:
                    prefix = datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%d ")
                    day_cache[day] = prefix
                h, rem = divmod(secs, 3600)
                created = f"{prefix}{h:02d}:{rem // 60:02d}:{rem % 60:02d}"
                k = i % 3
                event_id += 1
                ev_rows.append(
                    (
                        event_id, MAIN_ORG, OWNER_CUSTOMER, customer_id, customer_id, created,
                        cycle[k][0], 11 + k, None, PROGRAM_DEFAULT, None, None, masks[k],
                    )
                )  # fmt: skip
                for template in row_templates[k]:
                    row_rows.append((event_id, *template))
            kinds = [len(range(k, n_events, 3)) for k in range(3)]
            main = sum(n * v for n, v in zip(kinds, main_per_kind, strict=True))
            delayed = sum(n * v for n, v in zip(kinds, delayed_per_kind, strict=True))
            trigger = sum(n * v for n, v in zip(kinds, trigger_per_kind, strict=True))
            conn.executemany(
                "INSERT INTO ledger_events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", ev_rows
            )
            conn.executemany(
                "INSERT INTO ledger_rows (event_log_id, entry_type, category, points, program_id,"
                " currency, bit) VALUES (?, ?, ?, ?, ?, ?, ?)",
                row_rows,
            )
            made += len(row_rows)
            if customer_id == first_customer:
                big_events = n_events
            customers.append((customer_id, MAIN_ORG, "Bulk", f"Customer{customer_id}", 0, 1, reg))
            identifiers.append(
                (MAIN_ORG, "mobile", f"92{customer_id:010d}", "INSTORE", "", customer_id)
            )
            identifiers.append(
                (MAIN_ORG, "externalId", f"bulk-{customer_id}", "INSTORE", "", customer_id)
            )
            balances.append((OWNER_CUSTOMER, customer_id, PROGRAM_DEFAULT, MAIN, "", main))
            balances.append((OWNER_CUSTOMER, customer_id, PROGRAM_DEFAULT, DELAYED, "", delayed))
            balances.append((OWNER_CUSTOMER, customer_id, PROGRAM_DEFAULT, TRIGGER, "", trigger))
            customer_id += 1
        conn.executemany(
            "INSERT INTO customers (customer_id, org_id, first_name, last_name, fraud,"
            " loyalty_enrolled, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
            customers,
        )
        conn.executemany("INSERT INTO identifiers VALUES (?, ?, ?, ?, ?, ?)", identifiers)
        conn.executemany("INSERT INTO balances VALUES (?, ?, ?, ?, ?, ?)", balances)
    return big_events


def _customer_info(
    ids: dict[str, str],
    customer_id: int,
    *,
    events: int | None = None,
    program_ids: tuple[int, ...] = (),
    till_ids: tuple[int, ...] = (),
    store_ids: tuple[int, ...] = (),
    store_codes: tuple[str, ...] = (),
    alternate_currencies: tuple[str, ...] = (),
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": str(customer_id),
        "mobile": ids["mobile"],
        "email": ids["email"],
        "external_id": ids["externalId"],
        "cardnumber": ids["cardnumber"],
        "card_external_id": ids["cardExternalId"],
    }
    if events is not None:
        info["events"] = events
    for key, value in (
        ("program_ids", program_ids),
        ("till_ids", till_ids),
        ("store_ids", store_ids),
        ("store_codes", store_codes),
        ("alternate_currencies", alternate_currencies),
    ):
        if value:
            info[key] = list(value)
    return info


def seed_database(
    store: Store, *, seed: int = 0, size: str | int = "small", now: datetime | None = None
) -> dict[str, Any]:
    """Fill an empty store; returns (and records in `meta`) the seed info."""
    rows_wanted = parse_size(size)
    rng = random.Random(seed)
    current = now or utcnow()
    anchor = current.replace(hour=0, minute=0, second=0, microsecond=0)
    store.create_schema()
    _insert_reference_data(store)
    b = _Builder(rng, anchor)

    roles: dict[str, dict[str, Any]] = {}
    rich_ids = b.customer(5001, "Porter", "Robinson")
    _seed_rich(b, 5001, 360)
    rich_events = sum(1 for e in b.events if e.owner_id == 5001 and e.owner_kind == OWNER_CUSTOMER)
    roles["rich"] = _customer_info(
        rich_ids,
        5001,
        events=rich_events,
        program_ids=(PROGRAM_DEFAULT, PROGRAM_PARTNER),
        till_ids=tuple(TILLS),
        store_ids=(5, 6),
        store_codes=("store1", "store2"),
    )
    roles["empty"] = _customer_info(b.customer(5002, "Emma", "Empty"), 5002, events=0)
    single_ids = b.customer(5003, "Sam", "Single")
    _seed_single(b, 5003)
    roles["single"] = _customer_info(
        single_ids, 5003, events=1, program_ids=(PROGRAM_DEFAULT,), till_ids=(11,)
    )
    one_page = b.customer(5004, "Olive", "Page")
    _seed_simple(b, 5004, 10)
    roles["one_page"] = _customer_info(one_page, 5004, events=10, program_ids=(PROGRAM_DEFAULT,))
    plus_one = b.customer(5005, "Peter", "Plusone")
    _seed_simple(b, 5005, 11)
    roles["page_plus_one"] = _customer_info(
        plus_one, 5005, events=11, program_ids=(PROGRAM_DEFAULT,)
    )
    alt = b.customer(5006, "John", "Pork", external_id="69420")
    _seed_alt_currency(b, 5006)
    roles["alt_currency"] = _customer_info(
        alt, 5006, program_ids=(PROGRAM_DEFAULT,), alternate_currencies=("DocCoin", "Stars")
    )
    t_from = b.customer(5007, "Tom", "Sawyer")
    _seed_simple(b, 5007, 4, first_credit=50_000_000)
    roles["transfer_from"] = _customer_info(t_from, 5007, program_ids=(PROGRAM_DEFAULT,))
    t_to = b.customer(5008, "James", "Thomas")
    _seed_simple(b, 5008, 3, first_credit=1_000_000)
    roles["transfer_to"] = _customer_info(t_to, 5008, program_ids=(PROGRAM_DEFAULT,))
    pairs = []
    for cid in range(5011, 5021):
        b.customer(cid, "Pair", f"Member{cid}")
        _seed_simple(b, cid, 2, first_credit=10_000_000)
        pairs.append(cid)
    redeemer = b.customer(5009, "Rita", "Redeemer", mobile="919740000000")
    redemptions = _seed_redeemer(b, 5009, redeemer["mobile"], 62)
    fraud_ids = b.customer(415, "Frank", "Fraud", fraud=True)
    _seed_simple(b, 415, 2, first_credit=5_000_000)
    b.customer(414, "Fiona", "Fraud", fraud=True)
    _seed_simple(b, 414, 2, first_credit=5_000_000)
    roles["fraud"] = _customer_info(fraud_ids, 415)
    not_enrolled = b.customer(881, "Nora", "Notenrolled", enrolled=False)
    roles["not_enrolled"] = _customer_info(not_enrolled, 881)
    # a customer merged into another: it keeps its identifiers, and every points operation
    # that finds it answers 419 naming the survivor
    b.customer(4190, "Mona", "Survivor")
    merged = b.customer(419, "Mona", "Merged", merged_into=4190)
    roles["merged"] = _customer_info(merged, 419)
    # the same person in the child org (SELF) and the parent org (OTHER), different userIds
    shared_mobile, shared_email, shared_ext = "917406401004", "porter.r@example.com", "pr-50"
    b.customer(
        5010, "Porter", "Robinson", mobile=shared_mobile, email=shared_email, external_id=shared_ext
    )
    _seed_simple(b, 5010, 5)
    connected = b.customer(
        6010,
        "Porter",
        "Robinson",
        org_id=PARENT_ORG,
        mobile=shared_mobile,
        email=shared_email,
        external_id=shared_ext,
    )
    _seed_simple(
        b,
        6010,
        4,
        program=PROGRAM_PARENT,
        org_id=PARENT_ORG,
        till=PARENT_TILL,
    )
    roles["connected"] = _customer_info(
        connected, 6010, events=4, program_ids=(PROGRAM_PARENT,), till_ids=(PARENT_TILL,)
    )
    # customers outside any cross-member group, in this org and in another one
    b.customer(3301, "Nils", "Nogroup")
    _seed_simple(b, 3301, 2, first_credit=1_000_000)
    b.customer(3401, "Olga", "Otherorg", org_id=OTHER_ORG)
    _seed_simple(b, 3401, 2, program=PROGRAM_OTHER, org_id=OTHER_ORG, till=OTHER_TILL)
    # user groups and their members
    member_names = {
        5101: ("Grace", "Robinson"),
        5102: ("Henry", "Robinson"),
        5103: ("Ivy", "Robinson"),
        5201: ("Oscar", "Owner"),
        5202: ("Dan", "Driver"),
        5203: ("Amy", "Associate"),
        1001: ("Ann", "Cross"),
        1002: ("Ben", "Cross"),
        1003: ("Cat", "Cross"),
        1004: ("Dev", "Cross"),
        1005: ("Eve", "Cross"),
    }
    for cid, (first, last) in member_names.items():
        b.customer(cid, first, last)
        if cid >= 5000:
            _seed_simple(b, cid, 1)
    _write_groups(store, anchor)
    _seed_group_ledger(b, 7001, [5101, 5102, 5103], 30, (11, 12, 13))
    _seed_group_ledger(b, 7002, [5201, 5202, 5203], 30, (11, 13))
    cml = _seed_cross_member(
        b, 7003, {1001: 400_000, 1002: 260_000, 1003: 500_000, 1004: 90_000}, 1005
    )
    _write_events(store, b, 13_490_000)
    _write_cml(store, 7003, cml)
    big_events = _bulk(store, rng, anchor, rows_wanted - _count_rows(store))

    info: dict[str, Any] = {
        "seed": seed,
        "size": str(size),
        "anchor": fmt(anchor),
        "org_id": MAIN_ORG,
        "source": "INSTORE",
        "account_id": "",
        "timezone": MAIN_TZ,
        "customers": roles,
        "groups": {
            "usergroup2": {
                "id": "7001",
                "external_id": "UG2-7001",
                "primary_user_id": "5101",
                "type": "USERGROUP2",
                "member_ids": ["5101", "5102", "5103"],
            },
            "fleet": {
                "id": "7002",
                "external_id": "FLEET-7002",
                "primary_user_id": "5201",
                "type": "FLEET",
                "member_ids": ["5201", "5202", "5203"],
            },
        },
        "connected_orgs": {
            "own_org_id": MAIN_ORG,
            "connected_org_ids": [PARENT_ORG],
            "unconnected_org_id": OTHER_ORG,
            "connected_customer": "customers.connected",
        },
        "cross_member": {
            "member_id": "1003",
            "group_id": "7003",
            "member_ids": ["1001", "1002", "1003", "1004"],
            "not_in_group_id": "3301",
            "other_org_id": "3401",
        },
        "redemptions": redemptions,
        "transfer": {"otp_header": "X-Sandbox-OTP", "pair_ids": [str(p) for p in pairs]},
        "stores": {
            "unknown_store_id": UNKNOWN_ID,
            "unknown_store_code": "no-such-store",
            "unknown_till_id": UNKNOWN_ID,
        },
        "special": {
            "fraud_ids": ["414", "415"],
            "not_enrolled_id": "881",
            "merged_id": "419",
            "merged_into_id": "4190",
        },
    }
    if big_events:
        info["customers"]["bulk"] = {
            "id": str(10_000_000),
            "mobile": f"92{10_000_000:010d}",
            "external_id": "bulk-10000000",
            "events": big_events,
            "program_ids": [PROGRAM_DEFAULT],
        }
    with store.write() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('seed_info', ?)", (json.dumps(info),)
        )
    return info


def _count_rows(store: Store) -> int:
    return int(store.conn().execute("SELECT COUNT(*) FROM ledger_rows").fetchone()[0])
