"""Sums of numbers the server shows rounded for display, and how far they may miss.

The pages state several totals as the sum of shown parts (an event's net, a group's balance, a
closing balance); each shown number may be rounded, so the default reading allows the total
the worst case of that rounding and the strict reading none.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def half_unit(number: Decimal) -> Decimal:
    """Half a unit of the last digit shown: 46.69 -> 0.005, 137 -> 0.5."""
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # to_decimal admits finite numbers only
    return Decimal(5).scaleb(exponent - 1)


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
