"""The seed's building blocks: the fixed organisations, programs and tills, the event
builder every ledger is drawn with, and the random helpers they share.
"""

from __future__ import annotations

import random
import string
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from points_conformance.reference.store_schema import OWNER_CUSTOMER

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


@dataclass
class SeedEvent:
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
class SeedBuilder:
    rng: random.Random
    anchor: datetime
    events: list[SeedEvent] = field(default_factory=list)
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    identifiers: list[tuple[Any, ...]] = field(default_factory=list)
    redemptions: list[tuple[SeedEvent, int, str, str]] = field(default_factory=list)
    partial_reversals: list[tuple[str, SeedEvent]] = field(default_factory=list)
    used_codes: set[str] = field(default_factory=set)
    tx: list[int] = field(default_factory=lambda: [0])

    def add(self, event: SeedEvent) -> SeedEvent:
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


def random_points(rng: random.Random, low: int, high: int) -> int:
    """A positive amount in milli-points, sometimes with decimals (like 155.5 or 46.688)."""
    whole = rng.randint(low, high)
    frac = rng.choice((0, 0, 0, 0, 500, 250, 688, 340, 90))
    return whole * 1000 + frac


def spread_times(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    span = int((end - start).total_seconds())
    picks = sorted(rng.sample(range(1, span), count))
    return [start + timedelta(seconds=s) for s in picks]


def customer_event(
    org_id: int,
    customer_id: int,
    created: datetime,
    event_name: str,
    till_id: int | None,
    program_id: int,
    rows: list[Row],
    *,
    transaction: tuple[str, datetime, float, float] | None = None,
    promotion_id: int | None = None,
    reason: str | None = None,
) -> SeedEvent:
    """An event on a customer's own ledger: the owner is the customer who transacts."""
    return SeedEvent(
        org_id,
        OWNER_CUSTOMER,
        customer_id,
        customer_id,
        created,
        event_name,
        till_id,
        program_id,
        rows,
        transaction=transaction,
        promotion_id=promotion_id,
        reason=reason,
    )


def registration(
    b: SeedBuilder,
    customer_id: int,
    when: datetime,
    programs: tuple[int, ...],
    till: int | None,
    org_id: int = MAIN_ORG,
    currencies: tuple[str, ...] = (),
) -> SeedEvent:
    rows: list[Row] = []
    for program in programs:
        for category in (DELAYED, TRIGGER, MAIN):
            rows.append(("OPENING_BALANCE", category, 0, program, None))
        for currency in currencies:
            rows.append(("OPENING_BALANCE", MAIN, 0, program, currency))
    return b.add(
        customer_event(
            org_id,
            customer_id,
            when,
            "CustomerRegistration",
            till,
            programs[0],
            rows,
        )
    )


class Balances:
    """Running balances while a ledger is generated, so debits never overdraw."""

    def __init__(self) -> None:
        self.value: dict[tuple[int, str, str | None], int] = defaultdict(int)

    def apply(self, rows: list[Row]) -> None:
        for entry_type, category, points, program, currency in rows:
            sign = -1 if entry_type == "DEBIT" else 1
            self.value[(program, category, currency)] += sign * points

    def get(self, program: int, category: str, currency: str | None = None) -> int:
        return self.value[(program, category, currency)]


def random_transaction(rng: random.Random, when: datetime, counter: list[int]) -> tuple[Any, ...]:
    counter[0] += 1
    amount = round(rng.uniform(100, 15000), 2)
    gross = round(amount * rng.choice((1.0, 1.0, 1.1, 1.25)), 2)
    return (f"TXN-{counter[0]:06d}", when - timedelta(minutes=rng.randint(0, 30)), amount, gross)
