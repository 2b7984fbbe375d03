"""The org's time zone, as far as the cross-member ledger's two dates tell it.

Each cross-member entry shows its moment twice: createdDateISO in UTC and createdDate in the
org's zone. The zones that agree with every entry read are candidates; one is written only
when all candidates keep the same offsets through every month of the years the entries span,
so the choice among them cannot change what the suite compares. A zone with summer time,
read only in one season, has candidates without it that part ways in the other season: then
no zone is written, and the file says why.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones


@functools.cache
def _zones() -> tuple[ZoneInfo, ...]:
    # Etc/ zones are fixed offsets under inverted names; the region names say the same plainly.
    names = sorted(n for n in available_timezones() if "/" in n and not n.startswith("Etc/"))
    return tuple(ZoneInfo(n) for n in names)


def _offset(zone: ZoneInfo, moment: datetime) -> int:
    delta = moment.astimezone(zone).utcoffset() or timedelta(0)
    return round(delta.total_seconds() / 60)


def org_zone(samples: Iterable[tuple[datetime, int]]) -> str | None:
    """The zone name every sample agrees with, or None when none or several unlike ones do."""
    seen = list(samples)
    if not seen:
        return None
    candidates = [z for z in _zones() if all(_offset(z, m) == off for m, off in seen)]
    if not candidates:
        return None
    years = {m.year for m, _ in seen}
    months = [
        datetime(y, month, 15, 12, tzinfo=UTC) for y in sorted(years) for month in range(1, 13)
    ]
    first = candidates[0]
    if any(_offset(z, m) != _offset(first, m) for z in candidates[1:] for m in months):
        return None
    return first.key


def offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"
