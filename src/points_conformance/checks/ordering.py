"""Newest-first or oldest-first order of dated entries, on one page or across a page boundary.

Ledger and cross-member pages state the same ordering rule over different date fields; each
finds its breaks here, so both say the same thing about an entry out of order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from points_conformance.checks.findings import capped, finding
from points_conformance.model import Exchange, Finding


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


def order_finding(
    ex: Exchange,
    requirement: str,
    descending: bool,
    labels: list[str],
    moments: list[datetime | None],
    field_name: str,
    where: str = "",
    discrepancy: str | None = None,
) -> list[Finding]:
    breaks = order_breaks(moments, descending=descending)
    if not breaks:
        return []
    direction = "newest first" if descending else "oldest first"
    shown = [f"{labels[i]} ({moments[i]}) then {labels[j]} ({moments[j]})" for i, j in breaks]
    return [
        finding(
            requirement,
            f"entries are not ordered {direction} by {field_name}{where}",
            expected=f"{field_name} {'non-increasing' if descending else 'non-decreasing'} "
            "from one entry to the next (ties allowed)",
            actual=capped(shown, 3),
            exchange=ex,
            discrepancy=discrepancy,
        )
    ]
