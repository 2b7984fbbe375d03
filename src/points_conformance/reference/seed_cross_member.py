"""The cross-member group of the seed: its members' redemptions, reversals and their rows."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from points_conformance.reference.seed_builder import (
    MAIN,
    MAIN_ORG,
    PROGRAM_DEFAULT,
    SeedBuilder,
    customer_event,
    fmt,
    random_transaction,
    registration,
    spread_times,
)
from points_conformance.reference.store import Store

# 002's example redemption's eventLogId.
EXAMPLE_ID = 999821


@dataclass
class _CmlEvent:
    event_log_id: int
    event_name: str
    transacting: int
    ref: str
    created: datetime
    rows: list[list[Any]]  # [customer_id, signed milli, reversed milli, expiry iso]
    redemption: _CmlEvent | None = None


class _Draw:
    """Draws the cross-member group's events: ids, expiry dates, redemptions and reversals."""

    def __init__(self, rng: random.Random, members: list[int]) -> None:
        self.rng = rng
        self.members = members
        self.events: list[_CmlEvent] = []
        self.last_id = 999700

    def new_id(self) -> int:
        self.last_id += self.rng.randint(3, 40)
        # The documented example keeps its own id, which some seeds' draws would reach.
        if self.last_id == EXAMPLE_ID:
            self.last_id += 1
        return self.last_id

    def expiry(self, when: datetime) -> str:
        day = (when + timedelta(days=self.rng.randint(1, 60))).date()
        return f"{day.isoformat()}T00:00:00Z"

    def redemption(
        self, when: datetime, transacting: int, sources: list[tuple[int, int]]
    ) -> _CmlEvent:
        ev = _CmlEvent(
            self.new_id(),
            "CROSS_MEMBER_REDEMPTION",
            transacting,
            f"TXN-{self.rng.randint(100000, 999999)}",
            when,
            [[cid, -pts, 0, self.expiry(when)] for cid, pts in sources],
        )
        self.events.append(ev)
        return ev

    def reversal(self, when: datetime, red: _CmlEvent, amounts: dict[int, int]) -> _CmlEvent:
        rows = []
        for row in red.rows:
            back = amounts.get(row[0], 0)
            if back > 0:
                row[2] += back
                rows.append([row[0], back, 0, row[3]])
        ev = _CmlEvent(
            self.new_id(),
            "CROSS_MEMBER_REDEMPTION_REVERSAL",
            red.transacting,
            red.ref,
            when,
            rows,
            red,
        )
        self.events.append(ev)
        return ev

    def pick_sources(self, transacting: int, include_self: bool | None) -> list[tuple[int, int]]:
        rng = self.rng
        pool = [m for m in self.members if m != transacting]
        chosen = rng.sample(pool, rng.randint(1, min(2, len(pool))))
        if include_self is None:
            include_self = rng.random() < 0.3
        if include_self:
            chosen.append(transacting)
        return [(cid, rng.randint(1, 12) * 5000) for cid in chosen]


def seed_cross_member(
    b: SeedBuilder, group_id: int, targets: dict[int, int], inactive: int, recent: int
) -> list[_CmlEvent]:
    """Redemptions and reversals of the cross-member group, and the members' ledgers under them.

    `targets` are the active members' final Main balances (milli); the members' ledgers are
    built so that their balances end exactly there.
    """
    draw = _Draw(b.rng, sorted(targets))
    _draw_events(b, draw, recent)
    _member_ledgers(b, draw, targets, inactive)
    return draw.events


def _draw_events(b: SeedBuilder, draw: _Draw, recent: int) -> None:
    rng, members = b.rng, draw.members
    recent_start = b.anchor - timedelta(days=27)
    # the documented example: 1003 transacts, 1004/1001/1002 are drawn from, 1002 partly restored
    example_at = b.anchor - timedelta(days=12, hours=-10, minutes=-30)
    example = _CmlEvent(
        EXAMPLE_ID,
        "CROSS_MEMBER_REDEMPTION",
        1003,
        "TXN-882291",
        example_at,
        [
            [1004, -10000, 0, draw.expiry(example_at)],
            [1001, -100000, 0, draw.expiry(example_at)],
            [1002, -240000, 0, draw.expiry(example_at)],
        ],
    )
    draw.events.append(example)
    times = spread_times(rng, recent_start, b.anchor - timedelta(hours=1), recent)
    reds: list[_CmlEvent] = []
    for i, when in enumerate(times):
        if i == 0:
            red = draw.redemption(when, 1003, draw.pick_sources(1003, False))  # TRANSACTING only
        elif i == 1:
            red = draw.redemption(when, 1001, [(1003, 40000), (1002, 15000)])  # 1003 as SOURCE
        elif i == 2:
            red = draw.redemption(when, 1003, [(1003, 20000), (1004, 5000)])  # 1003 as BOTH
        else:
            transacting = rng.choice(members)
            red = draw.redemption(when, transacting, draw.pick_sources(transacting, None))
        reds.append(red)
    draw.reversal(example_at + timedelta(days=2), example, {1002: 150000})
    for i, red in enumerate(reds[:10]):
        when = red.created + timedelta(hours=rng.randint(1, 20))
        if when >= b.anchor:
            when = red.created + timedelta(minutes=10)
        if i % 2 == 0:
            amounts = {row[0]: -row[1] for row in red.rows}  # full reversal
        else:
            first = red.rows[0]
            amounts = {first[0]: max(1000, (-first[1]) // 2)}  # partial
        draw.reversal(when, red, amounts)
    # older history, outside the default 30-day window
    for days in (45, 60, 90, 120):
        when = b.anchor - timedelta(days=days, hours=rng.randint(0, 12))
        transacting = rng.choice(members)
        red = draw.redemption(when, transacting, draw.pick_sources(transacting, None))
        if days in (60, 120):
            draw.reversal(when + timedelta(hours=3), red, {row[0]: -row[1] for row in red.rows})


def _member_ledgers(b: SeedBuilder, draw: _Draw, targets: dict[int, int], inactive: int) -> None:
    """Every cross-member row is also an event on the member's own ledger."""
    per_member: dict[int, list[tuple[datetime, str, int]]] = defaultdict(list)
    for ev in draw.events:
        for row in ev.rows:
            name = "PointsRedemption" if row[1] < 0 else "PointsRedemptionReversal"
            per_member[row[0]].append((ev.created, name, row[1]))
    first_at = b.anchor - timedelta(days=200)
    for member in [*draw.members, inactive]:
        target = targets.get(member, 70_000)
        moves = sorted(per_member.get(member, []))
        net = sum(m[2] for m in moves)
        running, lowest = 0, 0
        for move in moves:
            running += move[2]
            lowest = min(lowest, running)
        opening = target - net
        deficit = max(0, -(opening + lowest))
        registration(b, member, first_at, (PROGRAM_DEFAULT,), 11)
        credit_at = first_at + timedelta(hours=1)
        b.add(
            customer_event(
                MAIN_ORG,
                member,
                credit_at,
                "TransactionAdd",
                11,
                PROGRAM_DEFAULT,
                [("CREDIT", MAIN, opening + deficit, PROGRAM_DEFAULT, None)],
                transaction=random_transaction(b.rng, credit_at, b.tx),
            )
        )
        for when, name, points in moves:
            entry = "DEBIT" if points < 0 else "CREDIT"
            b.add(
                customer_event(
                    MAIN_ORG,
                    member,
                    when,
                    name,
                    12,
                    PROGRAM_DEFAULT,
                    [(entry, MAIN, abs(points), PROGRAM_DEFAULT, None)],
                )
            )
        if deficit:
            b.add(
                customer_event(
                    MAIN_ORG,
                    member,
                    moves[-1][0] + timedelta(seconds=1),
                    "ManualPointsAdjustment",
                    12,
                    PROGRAM_DEFAULT,
                    [("DEBIT", MAIN, deficit, PROGRAM_DEFAULT, None)],
                    reason="CORRECTION",
                )
            )


def write_cml(store: Store, group_id: int, events: list[_CmlEvent]) -> None:
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
