"""Arithmetic and ordering primitives that several areas' rules are built from.

The pages state the same kinds of rule for several operations (a page count computed from the
total, a net that is a sum of rows, newest-first ordering); each is computed here once so that
every area applies it the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from points_conformance.checks.values import half_unit


def sum_tolerance(shown: Decimal, parts: Sequence[Decimal]) -> Decimal:
    """How far a shown total may lie from the sum of shown parts when each is display-rounded.

    Every shown number may differ from its true value by half a unit of its last shown digit,
    so the worst case is the sum of those half-units over the parts and the total.
    """
    return half_unit(shown) + sum((half_unit(p) for p in parts), Decimal(0))


def sum_agrees(shown: Decimal, parts: Sequence[Decimal], *, strict: bool) -> bool:
    """Whether `shown` equals the sum of `parts`: exactly (strict) or up to display rounding."""
    total = sum(parts, Decimal(0))
    if strict:
        return shown == total
    return abs(shown - total) <= sum_tolerance(shown, parts)


def expected_page_count(total: int, size: int) -> int:
    """ceil(total / size); a page size of zero has no pages."""
    if size <= 0:
        return 0
    return -(-total // size)


def comparable(moment: datetime) -> datetime | None:
    """Aware moments in UTC without an offset, so that they compare with wall-clock ones.

    None for a moment at the edge of the calendar that has no UTC equivalent.
    """
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return None


def order_breaks(moments: Sequence[datetime | None], *, descending: bool) -> list[tuple[int, int]]:
    """Pairs (i, j) of neighbouring readable items where j is out of order after i.

    Ties are in order.

    Items without a readable date are skipped, and the comparison continues from the last
    readable one, so a single unreadable date neither hides nor invents a break.
    """
    breaks: list[tuple[int, int]] = []
    previous: tuple[int, datetime] | None = None
    for index, moment in enumerate(moments):
        current = comparable(moment) if moment is not None else None
        if current is None:
            continue
        if previous is not None:
            earlier = previous[1]
            wrong = current > earlier if descending else current < earlier
            if wrong:
                breaks.append((previous[0], index))
        previous = (index, current)
    return breaks
