"""The date window a ledger query asks for with startDate, endDate and their companions.

001 and 000 describe one window for both forms: both dates bound it; with one date only, 001
says "90 days of data is retrieved" (a year with includeLastOneYearData) without saying in which
direction (D-039), and isFilterBasedOnDate=false turns the filter off. ledger_query.py holds
the rule that a page lies in this window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from points_conformance.checks.readers import bool_param, param, parse_local_datetime
from points_conformance.model import Exchange

# Only one date given: the window it opens (001: 90 days; a year with includeLastOneYearData).
ONE_DATE_WINDOW = timedelta(days=90)
ONE_YEAR_WINDOW = timedelta(days=366)  # a leap year's "last year" is 366 days


def date_window(
    ex: Exchange, *, strict: bool = True
) -> tuple[datetime | None, datetime | None, str] | None:
    """The [from, to] window the date parameters ask for and the rule that sets it, or None.

    With one date only, 001 states that "90 days of data is retrieved" but not in which
    direction (D-039): strict opens the window forward from startDate or back from endDate,
    the default run holds only the bound that was sent (None on the open side).
    """
    if bool_param(ex, "isFilterBasedOnDate") is False:
        return None
    start_raw, end_raw = param(ex, "startDate"), param(ex, "endDate")
    start = parse_local_datetime(start_raw) if start_raw is not None else None
    end = parse_local_datetime(end_raw) if end_raw is not None else None
    if (start_raw is not None and start is None) or (end_raw is not None and end is None):
        return None
    if end is not None and end_raw is not None and len(end_raw.strip()) <= 10:
        # A date without a time reads as the whole day.
        end = end.replace(hour=23, minute=59, second=59)
    if start is None and end is None:
        return None
    if start is not None and end is not None:
        if start > end and not strict:
            return None  # no page says this is refused; a server may ignore the dates (D-054)
        return start, end, "FILTER-DATE"
    one_year = bool_param(ex, "includeLastOneYearData") is True
    span = ONE_YEAR_WINDOW if one_year else ONE_DATE_WINDOW
    slug = "FILTER-DATE-ONE-YEAR" if one_year else "FILTER-DATE-ONE-SIDED"
    if not strict:
        return start, end, slug
    try:
        # A window counted in days may be taken to whole days; the edges allow for that.
        if end is None and start is not None:
            end = datetime.combine(start.date() + span, datetime.max.time()).replace(microsecond=0)
        elif start is None and end is not None:
            start = datetime.combine(end.date() - span, datetime.min.time())
    except OverflowError:
        return None
    return start, end, slug


def outside(
    created: datetime, start: datetime | None, end: datetime | None, slack: timedelta
) -> bool:
    try:
        return (start is not None and created < start - slack) or (
            end is not None and created > end + slack
        )
    except OverflowError:
        return False
