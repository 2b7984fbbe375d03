"""getCustomerLedgerInfo (v2): the parameter matrix of the customer and user-group forms.

The cases are data (cases/ledger_info*.yaml); each is sent as written, with identifiers from
the target file, and judged by _ledger.judge. Row-level rules (filters, sort, arithmetic,
pagination identities) are the single-exchange checks every successful response goes through.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from points_conformance.checks import CheckContext
from points_conformance.client import ConformanceClient
from points_conformance.model import Finding
from points_conformance.operations import PATHS
from points_conformance.plugin.fixtures import FindingsRecorder
from points_conformance.target import TargetData

from ._cases import Case, load_cases
from ._ledger import (
    DATE_FORMAT,
    LEDGER_INFO,
    RICH_CUSTOMER,
    created,
    details,
    judge,
    read_all,
    rows,
    run_case,
)


@pytest.mark.parametrize("case", load_cases("ledger_info", lock="reads"))
def test_customer(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    findings.add(run_case(case, client=client, target=target, ctx=check_context))


@pytest.mark.parametrize("case", load_cases("ledger_info_group", lock="reads"))
def test_user_group(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    findings.add(run_case(case, client=client, target=target, ctx=check_context))


@pytest.mark.parametrize("case", load_cases("ledger_info_altcur", lock="reads"))
def test_alternate_currencies(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    findings.add(run_case(case, client=client, target=target, ctx=check_context))


# One-date queries: (requirement, the date sent, how many days before `end` (one second after
# the newest event) it lies, includeLastOneYearData, the window it opens: days back (< 0) or
# forward (> 0) from the date sent).
ONE_DATE_WINDOWS: tuple[tuple[str, str, int, bool, int], ...] = (
    ("LEDGER-FILTER-DATE-ONE-SIDED", "endDate", 0, False, -90),
    ("LEDGER-FILTER-DATE-ONE-SIDED", "startDate", 60, False, 90),
    ("LEDGER-FILTER-DATE-ONE-SIDED", "startDate", 300, False, 90),
    ("LEDGER-FILTER-DATE-ONE-YEAR", "endDate", 0, True, -365),
    ("LEDGER-FILTER-DATE-ONE-YEAR", "startDate", 300, True, 365),
)
# A window's edges are only checked to the day: time zones, inclusive ends and a leap year's
# "last year" of 366 days all stay inside this margin.
EDGE_MARGIN = timedelta(days=1, seconds=1)
HISTORY_PAGE = 100
HISTORY_MAX_PAGES = 20


@pytest.mark.requirement(
    "LEDGER-FILTER-DATE-ONE-SIDED", "LEDGER-FILTER-DATE-ONE-YEAR", "LEDGER-DEFAULT-DATES"
)
@pytest.mark.reads("customers.rich")
def test_one_date_windows(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    """With only one date, the ledger holds the events on the side of it that date bounds.

    The whole history of the rich customer is read first (isFilterBasedOnDate=false: every
    event); each one-date query must then count at most the events on or after its startDate
    (before its endDate). 001 states "90 days of data is retrieved" but not in which direction,
    so only strict counts exactly the events of 90 days (or a year) from it, to the day (D-039).
    """
    strict = bool(check_context.strict)
    base = Case(
        id="one-date-windows",
        requirements=("LEDGER-DEFAULT-DATES",),
        operation=LEDGER_INFO,
        path=PATHS[LEDGER_INFO],
        params={
            **RICH_CUSTOMER,
            "isFilterBasedOnDate": False,
        },
        expect={"ok": True, "rows": "some"},
        table="test_ledger_info",
    ).resolve(target)
    pages, found = read_all(
        base, client=client, ctx=check_context, size=HISTORY_PAGE, max_pages=HISTORY_MAX_PAGES
    )
    moments = [m for page in pages for m in map(created, rows(page)) if m is not None]
    if not moments:
        findings.add(found)
        return
    end = max(moments).replace(microsecond=0) + timedelta(seconds=1)
    for requirement, name, back, last_year, days in ONE_DATE_WINDOWS:
        anchor = end - timedelta(days=back)
        lo, hi = sorted((anchor, anchor + timedelta(days=days)))
        least = sum(lo + EDGE_MARGIN <= m <= hi - EDGE_MARGIN for m in moments)
        most = sum(lo - EDGE_MARGIN <= m <= hi + EDGE_MARGIN for m in moments)
        if not strict:
            least = 0
            after, before = anchor - EDGE_MARGIN, anchor + EDGE_MARGIN
            most = sum((m >= after) if name == "startDate" else (m <= before) for m in moments)
        params = {k: v for k, v in base.params.items() if k != "isFilterBasedOnDate"}
        params.update({name: anchor.strftime(DATE_FORMAT), "limit": 1})
        if last_year:
            params["includeLastOneYearData"] = True
        case = dataclasses.replace(
            base, requirements=(requirement,), params=params, expect={"ok": True, "rows": "maybe"}
        )
        ex = case.send(client)
        found += judge(check_context, case, ex, strict=strict)
        total = details(ex).get("totalEntries") if ex.response.status == 200 else 0
        if isinstance(total, int) and not least <= total <= most:
            found.append(
                Finding(
                    requirement,
                    f"only {name} given: the ledger does not hold the events of "
                    f"{abs(days)} days {'back from' if days < 0 else 'from'} it"
                    if strict
                    else f"only {name} given: more events than lie on its side of the date",
                    expected=f"totalEntries between {least} and {most} (the events from "
                    f"{lo:%Y-%m-%d %H:%M:%S} to {hi:%Y-%m-%d %H:%M:%S}, give or take a day)",
                    actual=f"totalEntries = {total}",
                    exchange=ex,
                )
            )
    findings.add(found)


@pytest.mark.requirement("LEDGER-FILTER-PROGRAM")
@pytest.mark.reads("customers.rich")
def test_program_filter_over_the_whole_history(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    """Every page of the rich customer's whole history for its first program.

    The cases read one page. Which rows of a selected event stay, and whether an event's
    sourceProgramId selects it, is open in the default run (D-067, D-068); strict holds every
    row of the whole history, the oldest events too, to the program asked for.
    """
    if not check_context.strict:
        pytest.skip("every row of the program's history is held to it in strict only (D-068)")
    case = Case(
        id="program-whole-history",
        requirements=("LEDGER-FILTER-PROGRAM",),
        operation=LEDGER_INFO,
        path=PATHS[LEDGER_INFO],
        params={
            **RICH_CUSTOMER,
            "isFilterBasedOnDate": False,
            "programId": "{customers.rich.program_ids.0}",
        },
        expect={"ok": True, "rows": "some"},
        table="test_ledger_info",
    ).resolve(target)
    _, found = read_all(
        case, client=client, ctx=check_context, size=HISTORY_PAGE, max_pages=HISTORY_MAX_PAGES
    )
    findings.add(found)
