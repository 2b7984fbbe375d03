"""The customer and group ledgers of the seed: one builder per kind of customer the suite needs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from points_conformance.reference.seed_builder import (
    CATEGORIES,
    DELAYED,
    EVENT_NAMES,
    MAIN,
    MAIN_ORG,
    PROGRAM_DEFAULT,
    PROGRAM_PARTNER,
    TILLS,
    TRIGGER,
    Balances,
    Row,
    SeedBuilder,
    SeedEvent,
    customer_event,
    random_points,
    random_transaction,
    registration,
    spread_times,
)
from points_conformance.reference.store_schema import OWNER_GROUP


def _rich_rows(
    b: SeedBuilder, name: str, program: int, bal: Balances
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
        return ("DEBIT", category, min(available, random_points(rng, low, high)), program, None)

    def debit_or_credit(category: str, low: int, high: int, chance: float) -> Row:
        """A debit when the draw under `chance` asks for one and the balance allows, else a credit."""
        row = debit(category, low, high) if rng.random() < chance else None
        return row or ("CREDIT", category, random_points(rng, low, high), program, None)

    if name == "TransactionAdd":
        rows.append(("CREDIT", MAIN, random_points(rng, 10, 2000), program, None))
        if rng.random() < 0.3:
            rows.append(("CREDIT", DELAYED, random_points(rng, 5, 300), program, None))
    elif name == "TransactionUpdate":
        rows.append(debit_or_credit(MAIN, 5, 300, 0.5))
    elif name == "TargetCompleted":
        rows.append(("CREDIT", MAIN, random_points(rng, 50, 500), program, None))
    elif name == "GenericEvent":
        rows.append(("CREDIT", TRIGGER, random_points(rng, 10, 400), program, None))
    elif name in ("PointsRedemption", "VoucherRedemption"):
        row = debit(MAIN, 10, 800)
        rows.append(row or ("CREDIT", MAIN, random_points(rng, 10, 100), program, None))
    elif name == "DelayedAccrual":
        available = bal.get(program, DELAYED)
        if available > 0:
            amount = min(available, random_points(rng, 5, 300))
            rows.append(("DEBIT", DELAYED, amount, program, None))
            rows.append(("CREDIT", MAIN, amount, program, None))
        else:
            rows.append(("CREDIT", DELAYED, random_points(rng, 5, 300), program, None))
    elif name == "PointsTransfer":
        rows.append(debit_or_credit(MAIN, 10, 500, 0.5))
    elif name == "PointsRedemptionReversal":
        rows.append(("CREDIT", MAIN, random_points(rng, 10, 300), program, None))
    elif name == "CustomerUpdate":
        rows.append(("OPENING_BALANCE", TRIGGER, random_points(rng, 0, 50), program, None))
    elif name == "ManualPointsAdjustment":
        reason = rng.choice(("POINTS_ISSUE", "GOODWILL", "CORRECTION"))
        category = rng.choice(CATEGORIES)
        rows.append(debit_or_credit(category, 1, 100, 0.6))
    elif name == "BulkAllocatePoints":
        rows.append(
            ("CREDIT", rng.choice((MAIN, TRIGGER)), random_points(rng, 20, 600), program, None)
        )
    bal.apply(rows)
    return rows, reason, tx, promo


def seed_rich(b: SeedBuilder, customer_id: int, count: int) -> None:
    rng = b.rng
    start = b.anchor - timedelta(days=520)
    times = spread_times(rng, start + timedelta(hours=1), b.anchor - timedelta(hours=1), count - 1)
    bal = Balances()
    reg = registration(b, customer_id, start, (PROGRAM_DEFAULT, PROGRAM_PARTNER), 11)
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
            customer_event(
                MAIN_ORG,
                customer_id,
                when,
                name,
                till,
                program,
                rows,
                reason=reason,
                transaction=random_transaction(rng, when, b.tx) if tx else None,
                promotion_id=rng.choice(PROMOTION_IDS) if promo else None,
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
                customer_event(
                    MAIN_ORG,
                    customer_id,
                    last - timedelta(hours=6 + offset),
                    "BulkAllocatePoints",
                    12,
                    PROGRAM_DEFAULT,
                    credit,
                    promotion_id=PROMOTION_IDS[0],
                )
            )
            amount = 2000
        debit: list[Row] = [("DEBIT", category, amount, PROGRAM_DEFAULT, None)]
        bal.apply(debit)
        b.add(
            customer_event(
                MAIN_ORG,
                customer_id,
                last + timedelta(minutes=offset),
                "ManualPointsAdjustment",
                12,
                PROGRAM_DEFAULT,
                debit,
                reason="CORRECTION",
            )
        )


PROMOTION_IDS = (1120363, 1120364, 1120365)


def seed_simple(
    b: SeedBuilder,
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
    bal = Balances()
    reg = registration(b, customer_id, start, (program,), till, org_id)
    bal.apply(reg.rows)
    times = spread_times(rng, start + timedelta(hours=1), b.anchor - timedelta(hours=2), count - 1)
    for i, when in enumerate(times):
        if i == 0 and first_credit is not None:
            rows: list[Row] = [("CREDIT", MAIN, first_credit, program, None)]
            name = "TransactionAdd"
        elif i % 4 == 3 and bal.get(program, MAIN) > 0:
            amount = min(bal.get(program, MAIN), random_points(rng, 5, 100))
            rows, name = [("DEBIT", MAIN, amount, program, None)], "PointsRedemption"
        else:
            rows = [("CREDIT", MAIN, random_points(rng, 10, 500), program, None)]
            name = "TransactionAdd"
        bal.apply(rows)
        b.add(
            customer_event(
                org_id,
                customer_id,
                when,
                name,
                till,
                program,
                rows,
                transaction=random_transaction(rng, when, b.tx)
                if name == "TransactionAdd"
                else None,
            )
        )


def seed_single(b: SeedBuilder, customer_id: int) -> None:
    when = b.anchor - timedelta(days=10, hours=3)
    rows: list[Row] = [("CREDIT", MAIN, 100_000, PROGRAM_DEFAULT, None)]
    b.add(
        customer_event(
            MAIN_ORG,
            customer_id,
            when,
            "TransactionAdd",
            11,
            PROGRAM_DEFAULT,
            rows,
            transaction=random_transaction(b.rng, when, b.tx),
        )
    )


def seed_alt_currency(b: SeedBuilder, customer_id: int) -> None:
    rng = b.rng
    coins = ("DocCoin", "Stars")
    start = b.anchor - timedelta(days=200)
    bal = Balances()
    reg = registration(b, customer_id, start, (PROGRAM_DEFAULT,), 11, currencies=coins)
    bal.apply(reg.rows)
    times = spread_times(rng, start + timedelta(hours=1), b.anchor - timedelta(hours=2), 44)
    p = PROGRAM_DEFAULT
    for i, when in enumerate(times):
        kind = i % 6
        tx = False
        promo: int | None = None
        if kind == 0:
            amount = random_points(rng, 100, 2000)
            rows: list[Row] = [
                ("CREDIT", MAIN, amount, p, None),
                ("CREDIT", MAIN, amount, p, "DocCoin"),
            ]
            name, tx = "TransactionAdd", True
        elif kind == 1:
            available = bal.get(p, MAIN, "DocCoin")
            amount = min(available, random_points(rng, 10, 500)) if available > 0 else 0
            rows = (
                [("DEBIT", MAIN, amount, p, "DocCoin")]
                if amount > 0
                else [("CREDIT", MAIN, random_points(rng, 10, 50), p, "DocCoin")]
            )
            name, tx = "TransactionUpdate", True
        elif kind == 2:
            rows = [("OPENING_BALANCE", MAIN, random_points(rng, 0, 20), p, "Stars")]
            name = "CustomerUpdate"
        elif kind == 3:
            rows = [
                ("CREDIT", TRIGGER, random_points(rng, 5, 100), p, None),
                ("CREDIT", MAIN, random_points(rng, 5, 100), p, "Stars"),
            ]
            name, promo = "GenericEvent", PROMOTION_IDS[1]
        elif kind == 4:
            rows = [
                ("CREDIT", DELAYED, random_points(rng, 5, 200), p, None),
                ("CREDIT", DELAYED, random_points(rng, 5, 200), p, "DocCoin"),
            ]
            name, tx = "TransactionAdd", True
        else:
            available = bal.get(p, MAIN)
            rows = (
                [("DEBIT", MAIN, min(available, random_points(rng, 5, 200)), p, None)]
                if available > 0
                else [("CREDIT", MAIN, random_points(rng, 5, 200), p, None)]
            )
            name = "PointsRedemption"
        bal.apply(rows)
        b.add(
            customer_event(
                MAIN_ORG,
                customer_id,
                when,
                name,
                12,
                p,
                rows,
                transaction=random_transaction(rng, when, b.tx) if tx else None,
                promotion_id=promo,
            )
        )


def seed_group_ledger(
    b: SeedBuilder, group_id: int, members: list[int], count: int, till_choices: tuple[int, ...]
) -> None:
    rng = b.rng
    start = b.anchor - timedelta(days=240)
    bal = Balances()
    times = spread_times(rng, start, b.anchor - timedelta(hours=3), count)
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
                (
                    "DEBIT",
                    MAIN,
                    min(bal.get(program, MAIN), random_points(rng, 10, 300)),
                    program,
                    None,
                )
            ]
            name = "PointsRedemption"
        elif i % 7 == 6:
            rows = [("CREDIT", DELAYED, random_points(rng, 10, 300), program, None)]
            name = "TransactionAdd"
        else:
            rows = [("CREDIT", MAIN, random_points(rng, 50, 1500), program, None)]
            name = "TransactionAdd"
        bal.apply(rows)
        b.add(
            SeedEvent(
                MAIN_ORG,
                OWNER_GROUP,
                group_id,
                member,
                when,
                name,
                rng.choice(till_choices),
                program,
                rows,
                transaction=random_transaction(rng, when, b.tx)
                if name == "TransactionAdd"
                else None,
            )
        )


def seed_redeemer(b: SeedBuilder, customer_id: int, mobile: str, count: int) -> dict[str, Any]:
    rng = b.rng
    start = b.anchor - timedelta(days=120)
    reg = registration(b, customer_id, start, (PROGRAM_DEFAULT,), 11)
    del reg
    credit_at = start + timedelta(hours=2)
    b.add(
        customer_event(
            MAIN_ORG,
            customer_id,
            credit_at,
            "TransactionAdd",
            11,
            PROGRAM_DEFAULT,
            [("CREDIT", MAIN, 100_000_000, PROGRAM_DEFAULT, None)],
            transaction=random_transaction(rng, credit_at, b.tx),
        )
    )
    times = spread_times(rng, start + timedelta(days=1), b.anchor - timedelta(days=2), count)
    ids: list[str] = []
    for when in times:
        amount = rng.randint(50, 400) * 1000 + rng.choice((0, 0, 500))
        event = b.add(
            customer_event(
                MAIN_ORG,
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
            customer_event(
                MAIN_ORG,
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
