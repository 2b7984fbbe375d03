"""LEDGER / CORG rules on one page, the connected-orgs scope, and the ledger balance (BAL)."""

from __future__ import annotations

from typing import Any

import pytest

from points_conformance.checks import (
    CheckContext,
    check_closing_balances,
    check_store_filter,
    discrepancies,
    expect_currency_rows,
)
from points_conformance.checks.ledger import RULE_PREFIX
from points_conformance.model import Exchange

from .test_checks_support import (
    LENIENT,
    MODES,
    STRICT,
    credit,
    entry,
    findings,
    ledger_body,
    make_exchange,
    requirements,
    row,
)

LEDGER_OPS = pytest.mark.parametrize(("operation", "prefix"), sorted(RULE_PREFIX.items()))


def dates(n: int, *, start_day: int = 28) -> list[str]:
    """`n` creation dates, newest first."""
    return [f"2025-01-{start_day - i:02d} 10:00:00.0" for i in range(n)]


def page(n: int, **kw: Any) -> dict[str, Any]:
    return ledger_body([credit(100 + i, d) for i, d in enumerate(dates(n))], **kw)


def ledger(body: dict[str, Any], op: str = "getCustomerLedgerInfo", **params: Any) -> Exchange:
    return make_exchange(
        op,
        body,
        params={"identifierName": "id", "identifierValue": "1", "source": "INSTORE", **params},
    )


# --------------------------------------------------------------------------------------------
# paging


PAGING_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], set[str], set[str]]] = {
    # body, params, lenient findings, strict findings (suffixes after the prefix)
    "one partial page": (page(3), {}, set(), set()),
    "first of three full": (page(10, total=25), {}, set(), set()),
    "last page remainder": (page(5, total=25, page_number=2), {"offset": 2}, set(), set()),
    "limit echoed": (page(5, page_size=5, total=12), {"limit": 5}, set(), set()),
    # no entries, or an offset of pageCount, is a 200 (lenient) or 11003 (strict)
    "empty ledger": (page(0, total=0, page_count=0), {}, set(), {"ERR-11003"}),
    "past the end is empty": (page(0, total=5, page_number=1), {"offset": 1}, set(), {"ERR-11003"}),
    # D-071: no page states pageCount for no entries; strict wants ceil(0 / size) = 0
    "empty ledger counts one page": (
        page(0, total=0, page_count=1),
        {},
        set(),
        {"ERR-11003", "PAGE-COUNT"},
    ),
    "wrong page count": (
        page(3, total=25, page_count=2),
        {},
        {"PAGE-COUNT", "PAGE-SIZE"},
        {"PAGE-COUNT", "PAGE-SIZE"},
    ),
    "pageCount from zero size": (
        page(0, page_size=0, total=0, page_count=1),
        {"limit": 0},
        set(),
        {"PAGE-COUNT", "ERR-11003"},
    ),
    "pageCount from zero size, entries announced": (
        page(0, page_size=0, total=3, page_count=1),
        {"limit": 0},
        {"PAGE-COUNT"},
        {"PAGE-COUNT"},
    ),
    "offset not echoed": (
        page(5, total=25, page_number=0),
        {"offset": 2},
        {"PAGE-INDEX", "PAGE-SIZE"},
        {"PAGE-INDEX", "PAGE-SIZE"},
    ),
    "first page without offset is not 0": (
        page(10, total=25, page_number=1),
        {},
        {"DEFAULT-OFFSET"},
        {"DEFAULT-OFFSET"},
    ),
    "limit not echoed": (
        page(5, page_size=10, total=12),
        {"limit": 5},
        {"PAGE-SIZE"},
        {"PAGE-SIZE"},
    ),
    "non-last page short": (page(7, total=25), {}, {"PAGE-SIZE"}, {"PAGE-SIZE"}),
    "last page wrong remainder": (
        page(4, total=25, page_number=2),
        {"offset": 2},
        {"PAGE-SIZE"},
        {"PAGE-SIZE"},
    ),
    "more than page size": (page(12, total=25), {}, {"PAGE-SIZE"}, {"PAGE-SIZE"}),
    "past the end with entries": (
        page(2, total=5, page_number=3),
        {"offset": 3},
        {"PAGE-SIZE"},
        {"PAGE-SIZE"},
    ),
    # 000/003 call pageSize the entries shown; lenient reads it so, strict wants the limit.
    "pageSize is the count": (
        page(3, page_size=3, total=3, page_count=1),
        {},
        set(),
        {"DEFAULT-LIMIT"},
    ),
    "pageSize is the count, limit sent": (
        page(3, page_size=3, total=3, page_count=1),
        {"limit": 5},
        set(),
        {"PAGE-SIZE"},
    ),
}
PAGING_KINDS = ("-PAGE-", "-DEFAULT-", "-ERR-")
# Findings only the v2 operation adds, in both stances: 001 states 11003 for an offset greater
# than pageCount, and entries there break it (000 states no such code for v2.1).
V2_ONLY = {"past the end with entries": {"ERR-11003"}}


@LEDGER_OPS
@pytest.mark.parametrize("name", PAGING_CASES)
def test_paging(operation: str, prefix: str, name: str) -> None:
    body, params, lenient, strict = PAGING_CASES[name]
    if operation == "getCustomerLedgerInfo":
        lenient, strict = lenient | V2_ONLY.get(name, set()), strict | V2_ONLY.get(name, set())
    ex = ledger(body, operation, **params)
    for ctx, wanted in ((LENIENT, lenient), (STRICT, strict)):
        got = {
            f.requirement
            for f in findings(ctx, ex)
            if any(k in f.requirement for k in PAGING_KINDS)
        }
        assert got == {f"{prefix}-{s}" for s in wanted}, ctx.mode


@pytest.mark.parametrize(
    ("body", "params", "requirement", "discrepancy"),
    [
        (
            page(3, page_size=3, total=3, page_count=1),
            {},
            "LEDGER-DEFAULT-LIMIT",
            discrepancies.D_LEDGER_PAGE_SIZE,
        ),
        (
            page(0, total=5, page_number=1),
            {"offset": 1},
            "LEDGER-ERR-11003",
            discrepancies.D_PAST_END,
        ),
        (
            page(0, total=0, page_count=1),
            {},
            "LEDGER-PAGE-COUNT",
            discrepancies.D_EMPTY_PAGE_COUNT,
        ),
        (page(7, total=25), {}, "LEDGER-PAGE-SIZE", discrepancies.D_SHORT_PAGES),
    ],
)
def test_paging_findings_that_depend_on_a_reading_name_it(
    body: dict[str, Any], params: dict[str, Any], requirement: str, discrepancy: str
) -> None:
    (found,) = findings(STRICT, ledger(body, **params), requirement)
    assert found.discrepancy == discrepancy


# A group's ledger without limit: no page states its page size, and 000 calls pageSize the
# entries shown (D-057). The default run takes a size that makes the page consistent.
GROUP_PAGES = {
    "full page shows its count": (page(10, page_size=10, total=31, page_count=4), {}, False),
    "last page shows its count": (
        page(1, page_size=1, total=31, page_count=4, page_number=3),
        {"offset": 3},
        False,
    ),
    "last page, one page too many": (
        page(1, page_size=1, total=31, page_count=5, page_number=4),
        {"offset": 4},
        True,
    ),
    "last page larger than any page before it": (
        page(9, page_size=9, total=13, page_count=3, page_number=2),
        {"offset": 2},
        True,
    ),
    "one page, fewer entries than announced": (
        page(3, page_size=3, total=5, page_count=1),
        {},
        True,
    ),
}


@pytest.mark.parametrize("name", GROUP_PAGES)
def test_group_page_count_with_the_size_unknown(name: str) -> None:
    body, params, flagged = GROUP_PAGES[name]
    group: dict[str, Any] = {
        "identifierName": "groupId",
        "identifierValue": "7001",
        "type": "USERGROUP2",
        **params,
    }
    found = findings(LENIENT, ledger(body, **group), "LEDGER-PAGE-COUNT")
    assert bool(found) == flagged, found


@pytest.mark.parametrize(
    ("operation", "params", "flagged"),
    [
        # 001: 11003 "The offset value is greater than the total number of pages."
        ("getCustomerLedgerInfo", {"offset": 3}, True),
        # v2.1 lists no 11003; a group's offset may be a starting index (D-004)
        ("getCustomerLedgerInfoConnectedOrgs", {"offset": 3}, False),
        ("getCustomerLedgerInfo", {"offset": 3, "type": "USERGROUP2"}, False),
    ],
)
def test_offset_beyond_page_count_is_11003_where_stated(
    operation: str, params: dict[str, Any], flagged: bool
) -> None:
    ex = ledger(page(0, total=5, page_number=3), operation, **params)
    assert bool(findings(LENIENT, ex, "LEDGER-ERR-11003")) is flagged
    assert findings(STRICT, ex, "LEDGER-ERR-11003")


@pytest.mark.parametrize(
    ("operation", "params", "lenient", "strict"),
    [
        # 003: "Default value is `10`" on the v2 customer form
        ("getCustomerLedgerInfo", {}, True, True),
        # D-072: 000 and 001's group table state no default page size
        ("getCustomerLedgerInfoConnectedOrgs", {}, False, True),
        ("getCustomerLedgerInfo", {"type": "USERGROUP2"}, False, True),
    ],
)
def test_default_limit_is_10_where_stated(
    operation: str, params: dict[str, Any], lenient: bool, strict: bool
) -> None:
    ex = ledger(page(3, page_size=5, total=3), operation, **params)
    assert bool(findings(LENIENT, ex, "LEDGER-DEFAULT-LIMIT")) is lenient
    (found,) = findings(STRICT, ex, "LEDGER-DEFAULT-LIMIT")
    assert found.discrepancy == (None if lenient else discrepancies.D_DEFAULT_LIMIT)


@pytest.mark.parametrize(
    ("params", "n", "flagged"),
    [
        ({"limit": 100}, 3, False),
        ({"limit": 101}, 3, True),
        ({}, 101, True),
        ({"limit": 100}, 100, False),
    ],
)
def test_limit_max(params: dict[str, Any], n: int, flagged: bool) -> None:
    body = page(n, page_size=params.get("limit", 10), total=n)
    for ctx in (LENIENT, STRICT):
        assert bool(findings(ctx, ledger(body, **params), "LEDGER-LIMIT-MAX")) is flagged
    # 000 states no maximum and lists no 11029 for v2.1.
    v21 = ledger(body, "getCustomerLedgerInfoConnectedOrgs", **params)
    assert findings(LENIENT, v21, "LEDGER-LIMIT-MAX") == []


@pytest.mark.parametrize(
    ("size", "total", "lenient", "strict"),
    [(10, 9, False, True), (100, 10, False, False), (20, 25, True, True)],
)
def test_limit_up_to_100_may_be_capped_at_10(
    size: int, total: int, lenient: bool, strict: bool
) -> None:
    """D-001: 001 supports 100, 003 says the maximum is 10; strict wants the limit honoured."""
    n = min(total, 10)
    ex = ledger(page(n, page_size=size, total=total, page_count=-(-total // size)), limit=100)
    assert bool(findings(LENIENT, ex, "LEDGER-PAGE-SIZE")) is lenient
    found = findings(STRICT, ex, "LEDGER-PAGE-SIZE")
    assert bool(found) is strict
    if size == 10:
        assert {f.discrepancy for f in found} == {discrepancies.D_LEDGER_LIMIT}


# --------------------------------------------------------------------------------------------
# arithmetic


def one_event(rows: list[dict[str, Any]], net: Any, **extra: Any) -> dict[str, Any]:
    return ledger_body([entry(1, "2025-01-01 10:00:00.0", rows, net, **extra)])


ARITH_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], bool, bool]] = {
    # body, params, lenient flags, strict flags
    "credit": (one_event([row("CREDIT", "20.00")], "20.000"), {}, False, False),
    "debit negative": (one_event([row("DEBIT", "10.54")], "-10.540"), {}, False, False),
    "opening balance adds": (
        one_event([row("OPENING_BALANCE", "5"), row("CREDIT", "1.5")], "6.5"),
        {},
        False,
        False,
    ),
    "mixed": (
        one_event(
            [row("CREDIT", "311.00"), row("DEBIT", "11.00"), row("OPENING_BALANCE", "0.00")],
            "300.000",
        ),
        {},
        False,
        False,
    ),
    "numbers as JSON numbers": (
        one_event([row("CREDIT", 20), row("DEBIT", 5)], 15),
        {},
        False,
        False,
    ),
    "sign lost on debit": (one_event([row("DEBIT", "10.54")], "10.540"), {}, True, True),
    "wrong total": (
        one_event([row("CREDIT", "100.00"), row("CREDIT", "50.00")], "100.000"),
        {},
        True,
        True,
    ),
    "display rounding": (one_event([row("CREDIT", "46.69")], "46.688"), {}, False, True),
    "beyond rounding": (one_event([row("CREDIT", "46.69")], "46.680"), {}, True, True),
    "currency rows not in the net": (
        one_event([row("CREDIT", "20.00"), row("CREDIT", "20.00", currency="DocCoin")], "20.000"),
        {},
        False,
        False,
    ),
    # D-064: 000 states only "by adding credits and subtracting debits"
    "currency counted in the net": (
        one_event([row("CREDIT", "20.00"), row("CREDIT", "20.00", currency="DocCoin")], "40.000"),
        {},
        False,
        True,
    ),
    "opening balance left out": (
        one_event([row("OPENING_BALANCE", "5"), row("CREDIT", "1.5")], "1.5"),
        {},
        False,
        True,
    ),
    "debit sent signed": (one_event([row("DEBIT", "-10.54")], "-10.540"), {}, False, True),
    "neither reading": (
        one_event([row("OPENING_BALANCE", "5"), row("CREDIT", "1.5")], "3.5"),
        {},
        True,
        True,
    ),
    "filtered: only strict checks": (
        one_event([row("CREDIT", "20.00")], "25.000"),
        {"ledgerEntryType": "CREDIT"},
        False,
        True,
    ),
    "program filter: only strict checks": (
        one_event([row("CREDIT", "20.00")], "25.000"),
        {"programId": 973},
        False,
        True,
    ),
    "unreadable row is skipped": (one_event([row("CREDIT", "abc")], "25.000"), {}, False, False),
}


@LEDGER_OPS
@pytest.mark.parametrize("case", ARITH_CASES.values(), ids=ARITH_CASES.keys())
def test_net_points(operation: str, prefix: str, case: tuple[Any, ...]) -> None:
    body, params, lenient, strict = case
    ex = ledger(body, operation, **params)
    assert bool(findings(LENIENT, ex, f"{prefix}-ARITH-NET")) is lenient
    assert bool(findings(STRICT, ex, f"{prefix}-ARITH-NET")) is strict


def test_strict_rounding_finding_names_the_rounding_discrepancy_and_the_numbers() -> None:
    ex = ledger(one_event([row("CREDIT", "46.69")], "46.688"))
    (found,) = findings(STRICT, ex, "LEDGER-ARITH-NET")
    assert found.discrepancy == discrepancies.D_DISPLAY_ROUNDING
    assert "46.69" in found.actual and "46.688" in found.actual
    (lenient_fail,) = findings(
        LENIENT, ledger(one_event([row("CREDIT", "46.69")], "46.680")), "LEDGER-ARITH-NET"
    )
    assert lenient_fail.discrepancy is None and "allowed difference 0.0055" in lenient_fail.actual


ALT_CASES: dict[str, tuple[list[dict[str, Any]], Any, bool, bool]] = {
    # rows, netAlternateCurrenciesOnEvent, lenient flags, strict flags
    "credit and debit": (
        [row("CREDIT", "20.00", currency="DocCoin"), row("DEBIT", "5.00", currency="DocCoin")],
        {"DocCoin": "15.000"},
        False,
        False,
    ),
    "two currencies": (
        [row("CREDIT", "1", currency="Stars"), row("CREDIT", "2", currency="Coins")],
        {"Stars": "1", "Coins": "2"},
        False,
        False,
    ),
    "absent object is not checked": (
        [row("CREDIT", "20.00", currency="DocCoin")],
        None,
        False,
        False,
    ),
    # D-065: no page says the object names every currency the rows carry
    "currency missing from the object": (
        [row("CREDIT", "1", currency="Stars"), row("CREDIT", "2", currency="Coins")],
        {"Stars": "1"},
        False,
        True,
    ),
    "wrong sum": (
        [row("DEBIT", "10909.09", currency="DocCoin")],
        {"DocCoin": "10909.090"},
        True,
        True,
    ),
    "points rows not counted": (
        [row("CREDIT", "7.00"), row("CREDIT", "3.00", currency="DocCoin")],
        {"DocCoin": "3.000"},
        False,
        False,
    ),
}


@pytest.mark.parametrize("case", ALT_CASES.values(), ids=ALT_CASES.keys())
def test_net_alternate_currencies(case: tuple[Any, ...]) -> None:
    rows, nets, lenient, strict = case
    net = sum(float(r["points"]) for r in rows if "alternateCurrencyName" not in r)
    extra = {} if nets is None else {"netAlternateCurrenciesOnEvent": nets}
    ex = ledger(one_event(rows, f"{net:.3f}", **extra))
    assert bool(findings(LENIENT, ex, "LEDGER-ARITH-NET-ALT")) is lenient
    assert bool(findings(STRICT, ex, "LEDGER-ARITH-NET-ALT")) is strict
    assert findings(LENIENT, ex, "LEDGER-ARITH-NET") == []


def test_missing_currency_names_its_register_entry() -> None:
    rows = [row("CREDIT", "1", currency="Stars"), row("CREDIT", "2", currency="Coins")]
    ex = ledger(one_event(rows, "0", netAlternateCurrenciesOnEvent={"Stars": "1"}))
    (found,) = findings(STRICT, ex, "LEDGER-ARITH-NET-ALT")
    assert found.discrepancy == discrepancies.D_NET_ALT_COMPLETE


# --------------------------------------------------------------------------------------------
# filters


def rows_page(*rows: dict[str, Any]) -> dict[str, Any]:
    return ledger_body(
        [entry(i + 1, "2025-01-01 10:00:00.0", [r], "0") for i, r in enumerate(rows)]
    )


FILTER_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str, bool]] = {
    "entry type kept": (
        rows_page(row("DEBIT", "1")),
        {"ledgerEntryType": "DEBIT"},
        "FILTER-ENTRYTYPE",
        False,
    ),
    "entry type broken": (
        rows_page(row("DEBIT", "1"), row("CREDIT", "1")),
        {"ledgerEntryType": "DEBIT"},
        "FILTER-ENTRYTYPE",
        True,
    ),
    "unknown entry type is an error case": (
        rows_page(row("CREDIT", "1")),
        {"ledgerEntryType": "BOGUS"},
        "FILTER-ENTRYTYPE",
        False,
    ),
    "category REGULAR": (
        rows_page(row("CREDIT", "1", category="Main")),
        {"pointCategoryType": "REGULAR"},
        "FILTER-CATEGORY",
        False,
    ),
    "category PROMISED": (
        rows_page(row("CREDIT", "1", category="DelayedAccrualPointCategory")),
        {"pointCategoryType": "PROMISED"},
        "FILTER-CATEGORY",
        False,
    ),
    "category TRIGGER_BASED": (
        rows_page(row("CREDIT", "1", category="ExternalTriggerBasedPointCategory")),
        {"pointCategoryType": "TRIGGER_BASED"},
        "FILTER-CATEGORY",
        False,
    ),
    "category broken": (
        rows_page(row("CREDIT", "1", category="Main")),
        {"pointCategoryType": "PROMISED"},
        "FILTER-CATEGORY",
        True,
    ),
    "category ignored with exclude": (
        rows_page(row("CREDIT", "1", category="Main", currency="C")),
        {
            "includeAlternateCurrencies": "true",
            "excludePointCategories": "true",
            "pointCategoryType": "PROMISED",
        },
        "FILTER-CATEGORY",
        False,
    ),
    "program kept": (
        rows_page(row("CREDIT", "1", program=973)),
        {"programId": 973},
        "FILTER-PROGRAM",
        False,
    ),
    "program broken": (
        rows_page(row("CREDIT", "1", program=974)),
        {"programId": 973},
        "FILTER-PROGRAM",
        True,
    ),
    "till concept debit of another program": (
        rows_page(row("DEBIT", "1", program=974)),
        {"programId": 973, "includeTillConceptEvents": "true"},
        "FILTER-PROGRAM",
        False,
    ),
    "till concept credit of another program": (
        rows_page(row("CREDIT", "1", program=974)),
        {"programId": 973, "includeTillConceptEvents": "true"},
        "FILTER-PROGRAM",
        True,
    ),
}


@LEDGER_OPS
@pytest.mark.parametrize("case", FILTER_CASES.values(), ids=FILTER_CASES.keys())
def test_row_filters(operation: str, prefix: str, case: tuple[Any, ...]) -> None:
    body, params, slug, flagged = case
    for ctx in (LENIENT, STRICT):
        assert bool(findings(ctx, ledger(body, operation, **params), f"{prefix}-{slug}")) is flagged


def two_row_event(*rows: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return ledger_body([entry(1, "2025-01-01 10:00:00.0", list(rows), "0", **extra)])


@pytest.mark.parametrize(
    ("body", "params", "slug", "lenient", "strict", "discrepancy"),
    [
        # D-066: 000 and 003 call trigger-based points promised too
        (
            rows_page(row("CREDIT", "1", category="ExternalTriggerBasedPointCategory")),
            {"pointCategoryType": "PROMISED"},
            "FILTER-CATEGORY",
            False,
            True,
            discrepancies.D_CATEGORY_MAP,
        ),
        (
            rows_page(row("CREDIT", "1", category="Main")),
            {"pointCategoryType": "PROMISED"},
            "FILTER-CATEGORY",
            True,
            True,
            None,
        ),
        # D-067: whether a filter drops the other rows of a matching event is unstated
        (
            two_row_event(row("CREDIT", "5"), row("DEBIT", "1")),
            {"ledgerEntryType": "DEBIT"},
            "FILTER-ENTRYTYPE",
            False,
            True,
            discrepancies.D_ROW_FILTERING,
        ),
        (
            two_row_event(row("CREDIT", "5"), row("CREDIT", "1")),
            {"ledgerEntryType": "DEBIT"},
            "FILTER-ENTRYTYPE",
            True,
            True,
            None,
        ),
        (
            two_row_event(row("CREDIT", "5", program=973), row("CREDIT", "1", program=974)),
            {"programId": 973},
            "FILTER-PROGRAM",
            False,
            True,
            None,
        ),
        # D-068: programId may select the event's sourceProgramId (001: 973 beside 983)
        (
            two_row_event(row("CREDIT", "5", program=973), sourceProgramId=983),
            {"programId": 983},
            "FILTER-PROGRAM",
            False,
            True,
            discrepancies.D_PROGRAM_FIELD,
        ),
        (
            two_row_event(row("CREDIT", "5", program=973), sourceProgramId=990),
            {"programId": 983},
            "FILTER-PROGRAM",
            True,
            True,
            None,
        ),
    ],
)
def test_row_filters_where_the_pages_leave_readings_open(
    body: dict[str, Any],
    params: dict[str, Any],
    slug: str,
    lenient: bool,
    strict: bool,
    discrepancy: str | None,
) -> None:
    ex = ledger(body, **params)
    assert bool(findings(LENIENT, ex, f"LEDGER-{slug}")) is lenient
    found = findings(STRICT, ex, f"LEDGER-{slug}")
    assert bool(found) is strict
    if found and discrepancy:
        assert found[0].discrepancy == discrepancy


def dated(*created: str) -> dict[str, Any]:
    return ledger_body([credit(i + 1, c) for i, c in enumerate(created)])


DATE_CASES: dict[str, tuple[list[str], dict[str, Any], str | None, str | None]] = {
    # created dates, params, lenient finding, strict finding
    "inside both": (
        ["2025-01-10 10:00:00.0"],
        {"startDate": "2025-01-01T00:00:00", "endDate": "2025-01-31T00:00:00"},
        None,
        None,
    ),
    "edges inclusive": (
        ["2025-01-31 00:00:00.0", "2025-01-01 00:00:00.0"],
        {"startDate": "2025-01-01T00:00:00", "endDate": "2025-01-31T00:00:00"},
        None,
        None,
    ),
    "after end": (
        ["2025-02-01 10:00:00.0"],
        {"startDate": "2025-01-01T00:00:00", "endDate": "2025-01-31T00:00:00"},
        "FILTER-DATE",
        "FILTER-DATE",
    ),
    # D-069: the zone of the dates is unstated; the default run allows 14 hours
    "a second before start": (
        ["2024-12-31 23:59:59.0"],
        {"startDate": "2025-01-01T00:00:00", "endDate": "2025-01-31T00:00:00"},
        None,
        "FILTER-DATE",
    ),
    "a day before start": (
        ["2024-12-30 23:59:59.0"],
        {"startDate": "2025-01-01T00:00:00", "endDate": "2025-01-31T00:00:00"},
        "FILTER-DATE",
        "FILTER-DATE",
    ),
    "start only: 90 days": (
        ["2025-03-31 10:00:00.0"],
        {"startDate": "2025-01-01T00:00:00"},
        None,
        None,
    ),
    # D-039: "90 days of data is retrieved" names no direction; only strict opens the window
    "start only: past 90 days": (
        ["2025-04-02 10:00:00.0"],
        {"startDate": "2025-01-01T00:00:00"},
        None,
        "FILTER-DATE-ONE-SIDED",
    ),
    "start only: before start": (
        ["2024-12-30 10:00:00.0"],
        {"startDate": "2025-01-01T00:00:00"},
        "FILTER-DATE-ONE-SIDED",
        "FILTER-DATE-ONE-SIDED",
    ),
    "start only: a year": (
        ["2025-12-01 10:00:00.0"],
        {"startDate": "2025-01-01T00:00:00", "includeLastOneYearData": "true"},
        None,
        None,
    ),
    "start only: past a year": (
        ["2026-01-03 10:00:00.0"],
        {"startDate": "2025-01-01T00:00:00", "includeLastOneYearData": "true"},
        None,
        "FILTER-DATE-ONE-YEAR",
    ),
    "end only: 90 days back": (
        ["2024-10-05 10:00:00.0"],
        {"endDate": "2025-01-01T00:00:00"},
        None,
        None,
    ),
    "end only: before the window": (
        ["2024-09-01 10:00:00.0"],
        {"endDate": "2025-01-01T00:00:00"},
        None,
        "FILTER-DATE-ONE-SIDED",
    ),
    "end only: after end": (
        ["2025-01-03 10:00:00.0"],
        {"endDate": "2025-01-01T00:00:00"},
        "FILTER-DATE-ONE-SIDED",
        "FILTER-DATE-ONE-SIDED",
    ),
    "end as a date covers the day": (
        ["2025-01-01 18:00:00.0"],
        {"startDate": "2024-12-01T00:00:00", "endDate": "2025-01-01"},
        None,
        None,
    ),
    "no dates: whole history": (["2001-01-01 10:00:00.0"], {}, None, None),
    # D-054: no page says startDate after endDate is refused; a server may ignore the dates
    "start after end": (
        ["2025-01-10 10:00:00.0"],
        {"startDate": "2025-01-31T00:00:00", "endDate": "2025-01-01T00:00:00"},
        None,
        "FILTER-DATE",
    ),
    "date filter off": (
        ["2001-01-01 10:00:00.0"],
        {"startDate": "2025-01-01T00:00:00", "isFilterBasedOnDate": "false"},
        None,
        None,
    ),
    "unreadable date param is an error case": (
        ["2001-01-01 10:00:00.0"],
        {"startDate": "yesterday"},
        None,
        None,
    ),
}


@LEDGER_OPS
@pytest.mark.parametrize("case", DATE_CASES.values(), ids=DATE_CASES.keys())
def test_date_filter(operation: str, prefix: str, case: tuple[Any, ...]) -> None:
    created, params, lenient, strict = case
    ex = ledger(dated(*created), operation, **params)
    for ctx, slug in ((LENIENT, lenient), (STRICT, strict)):
        got = {f.requirement for f in findings(ctx, ex) if "-FILTER-DATE" in f.requirement}
        assert got == ({f"{prefix}-{slug}"} if slug else set()), ctx.mode


def test_date_just_outside_names_the_zone_entry_in_strict() -> None:
    ex = ledger(
        dated("2024-12-31 23:59:59.0"),
        startDate="2025-01-01T00:00:00",
        endDate="2025-01-31T00:00:00",
    )
    (found,) = findings(STRICT, ex, "LEDGER-FILTER-DATE")
    assert found.discrepancy == discrepancies.D_DATE_ZONE


CUR = "DocCoin"
POINTS_ROW = row("CREDIT", "1", category="Main")
CUR_ROW = row("CREDIT", "1", category="Main", currency=CUR)
OTHER_CUR_ROW = row("CREDIT", "1", category="Main", currency="Stars")
PROMISED_CUR_ROW = row("CREDIT", "1", category="DelayedAccrualPointCategory", currency=CUR)

# 001, "Behaviour of alternate currency and point category parameters", one case per table row
ALTCUR_CASES: dict[str, tuple[dict[str, str], list[dict[str, Any]], str | None]] = {
    "row1 ok": (
        {"includeAlternateCurrencies": "true", "pointCategoryType": "REGULAR"},
        [POINTS_ROW, CUR_ROW],
        None,
    ),
    "row1 broken": (
        {"includeAlternateCurrencies": "true", "pointCategoryType": "REGULAR"},
        [POINTS_ROW, PROMISED_CUR_ROW],
        "FILTER-ALTCUR-ROW1",
    ),
    "row2 anything": ({"includeAlternateCurrencies": "true"}, [POINTS_ROW, PROMISED_CUR_ROW], None),
    "row3 ok": (
        {"includeAlternateCurrencies": "true", "excludePointCategories": "true"},
        [CUR_ROW, OTHER_CUR_ROW],
        None,
    ),
    "row3 broken": (
        {"includeAlternateCurrencies": "true", "excludePointCategories": "true"},
        [CUR_ROW, POINTS_ROW],
        "FILTER-ALTCUR-ROW3",
    ),
    "row4 ok": (
        {
            "includeAlternateCurrencies": "true",
            "pointCategoryType": "REGULAR",
            "excludePointCategories": "true",
        },
        [PROMISED_CUR_ROW],
        None,
    ),
    "row4 broken": (
        {
            "includeAlternateCurrencies": "true",
            "pointCategoryType": "REGULAR",
            "excludePointCategories": "true",
        },
        [POINTS_ROW],
        "FILTER-ALTCUR-ROW4",
    ),
    "row5 ok": ({"includeAlternateCurrencies": "false"}, [POINTS_ROW], None),
    "row5 broken": (
        {"includeAlternateCurrencies": "false"},
        [POINTS_ROW, CUR_ROW],
        "FILTER-ALTCUR-ROW5",
    ),
    # D-063: the table has no row for the parameter not sent
    "row5 by default": ({}, [CUR_ROW], None),
    "row5 with names": ({"alternateCurrencyNames": CUR}, [POINTS_ROW, CUR_ROW], None),
    "row6 ok": ({"pointCategoryType": "REGULAR"}, [POINTS_ROW], None),
    "row6 broken": (
        {"includeAlternateCurrencies": "false", "pointCategoryType": "REGULAR"},
        [CUR_ROW],
        "FILTER-ALTCUR-ROW6",
    ),
    "names broken": (
        {"alternateCurrencyNames": "DocCoin,Coins"},
        [CUR_ROW, OTHER_CUR_ROW],
        "FILTER-ALTCUR-NAMES",
    ),
    "names ignored when all are asked for": (
        {"includeAlternateCurrencies": "true", "alternateCurrencyNames": CUR},
        [OTHER_CUR_ROW],
        None,
    ),
    "names compare without case": ({"alternateCurrencyNames": "doccoin"}, [CUR_ROW], None),
    "invalid boolean is an error case": ({"includeAlternateCurrencies": "yes"}, [CUR_ROW], None),
}


@LEDGER_OPS
@pytest.mark.parametrize("case", ALTCUR_CASES.values(), ids=ALTCUR_CASES.keys())
def test_alternate_currency_behaviour_table(
    operation: str, prefix: str, case: tuple[Any, ...]
) -> None:
    params, rows, slug = case
    ex = ledger(rows_page(*rows), operation, **params)
    got = {f.requirement for f in findings(LENIENT, ex) if "-FILTER-" in f.requirement}
    # The behaviour table is 001's (v2); 000 (v2.1) states only the name filter.
    if operation != "getCustomerLedgerInfo" and slug != "FILTER-ALTCUR-NAMES":
        slug = None
    assert got == ({f"{prefix}-{slug}"} if slug else set())


def test_row1_lets_a_matching_event_keep_its_other_rows() -> None:
    # 001: "Only points and alternate currencies entries with the provided category types are
    # displayed." An event with a row of the category may keep its other rows (D-067).
    promised = row("CREDIT", "4", category="DelayedAccrualPointCategory")
    params = {"includeAlternateCurrencies": "true", "pointCategoryType": "PROMISED"}
    ex = ledger(two_row_event(promised, CUR_ROW), **params)
    assert findings(LENIENT, ex, "LEDGER-FILTER-ALTCUR-ROW1") == []
    (found,) = findings(STRICT, ex, "LEDGER-FILTER-ALTCUR-ROW1")
    assert found.discrepancy == discrepancies.D_ROW_FILTERING
    alone = ledger(two_row_event(CUR_ROW, OTHER_CUR_ROW), **params)
    (found,) = findings(LENIENT, alone, "LEDGER-FILTER-ALTCUR-ROW1")
    assert found.discrepancy is None


def test_absent_include_reads_as_false_only_in_strict() -> None:
    ex = ledger(rows_page(CUR_ROW))
    assert findings(LENIENT, ex, "LEDGER-FILTER-ALTCUR-ROW5") == []
    (found,) = findings(STRICT, ex, "LEDGER-FILTER-ALTCUR-ROW5")
    assert found.discrepancy == discrepancies.D_ALTCUR_ABSENT
    sent = ledger(rows_page(CUR_ROW), includeAlternateCurrencies="false")
    assert findings(LENIENT, sent, "LEDGER-FILTER-ALTCUR-ROW5")
    assert findings(STRICT, sent, "LEDGER-FILTER-ALTCUR-ROW5")[0].discrepancy is None


@pytest.mark.parametrize(
    ("params", "entity", "lenient", "strict"),
    [
        ({"type": "USERGROUP2"}, "USERGROUP2", False, False),
        # D-028: either group type for a group, unless strict.
        ({"type": "FLEET"}, "USERGROUP2", False, True),
        ({"type": "FLEET"}, "CUSTOMER", True, True),
        ({}, "FLEET", False, False),
    ],
)
def test_group_type(params: dict[str, str], entity: str, lenient: bool, strict: bool) -> None:
    ex = ledger(ledger_body([], entity_type=entity), **params)
    assert bool(findings(LENIENT, ex, "LEDGER-FILTER-TYPE")) is lenient
    assert bool(findings(STRICT, ex, "LEDGER-FILTER-TYPE")) is strict


def store_page(*codes: tuple[str, str]) -> dict[str, Any]:
    return ledger_body(
        [
            credit(i + 1, "2025-01-01 10:00:00.0", storeCode=s, tillCode=t)
            for i, (s, t) in enumerate(codes)
        ]
    )


@pytest.mark.parametrize(
    ("code", "flagged"), [("doc123", False), ("DOC123", False), ("other", True)]
)
def test_store_code_filter_needs_no_target_data(code: str, flagged: bool) -> None:
    ex = ledger(store_page(("doc123", "t1"), ("doc123", "t2")), storeCode=code)
    assert bool(findings(LENIENT, ex, "LEDGER-FILTER-STORE-CODE")) is flagged


@LEDGER_OPS
@pytest.mark.parametrize(
    ("params", "tills", "stores", "slug", "flagged"),
    [
        ({"tillId": 11}, ["t1"], None, "FILTER-TILL", False),
        ({"tillId": 11}, ["t1"], None, "FILTER-TILL", True),
        ({"tillIds": "11,12"}, ["t1", "t2"], None, "FILTER-TILLS", False),
        ({"storeId": 5}, None, ["doc123"], "FILTER-STORE-ID", False),
        ({"storeId": 5}, None, ["s9"], "FILTER-STORE-ID", True),
    ],
)
def test_store_filter_against_target_data(
    operation: str,
    prefix: str,
    params: dict[str, Any],
    tills: list[str] | None,
    stores: list[str] | None,
    slug: str,
    flagged: bool,
) -> None:
    codes = [("doc123", "t1"), ("doc123", "t2" if flagged and slug == "FILTER-TILL" else "t1")]
    ex = ledger(store_page(*codes), operation, **params)
    found = check_store_filter(LENIENT, ex, allowed_till_codes=tills, allowed_store_codes=stores)
    assert bool(found) is flagged
    assert all(f.requirement == f"{prefix}-{slug}" for f in found)


def test_store_filter_without_a_filter_parameter_checks_nothing() -> None:
    assert (
        check_store_filter(LENIENT, ledger(store_page(("x", "y"))), allowed_till_codes=["t1"]) == []
    )


@pytest.mark.parametrize(
    ("names", "flagged"), [(["DocCoin"], False), (["docCOIN"], False), (["DocCoin", "Stars"], True)]
)
def test_expect_currency_rows(names: list[str], flagged: bool) -> None:
    pages = [
        ledger(rows_page(POINTS_ROW), includeAlternateCurrencies="true"),
        ledger(rows_page(CUR_ROW), includeAlternateCurrencies="true"),
    ]
    found = expect_currency_rows(
        LENIENT, pages, currencies=names, requirement="LEDGER-FILTER-ALTCUR-ROW2"
    )
    assert bool(found) is flagged
    if flagged:
        assert "Stars" in found[0].message and found[0].requirement == "LEDGER-FILTER-ALTCUR-ROW2"


# --------------------------------------------------------------------------------------------
# order


GROUP = {"identifierName": "groupId"}
SORT_CASES: dict[str, tuple[list[str], dict[str, str], str | None, str | None]] = {
    # created dates, params, lenient finding, strict finding
    "default newest first": (
        ["2025-01-03 00:00:00.0", "2025-01-02 00:00:00.0", "2025-01-02 00:00:00.0"],
        {},
        None,
        None,
    ),
    # D-073: no page states the default order (003's example is oldest first)
    "default oldest first": (
        ["2025-01-02 00:00:00.0", "2025-01-03 00:00:00.0"],
        {},
        None,
        "SORT-DEFAULT",
    ),
    "ASC": (
        ["2025-01-02 00:00:00.0", "2025-01-03 00:00:00.0"],
        {**GROUP, "sort": "ASC"},
        None,
        None,
    ),
    "ASC broken": (
        ["2025-01-03 00:00:00.0", "2025-01-02 00:00:00.0"],
        {**GROUP, "sort": "ASC"},
        "SORT",
        "SORT",
    ),
    "DESC broken": (
        ["2025-01-02 00:00:00.0", "2025-01-03 00:00:00.0"],
        {**GROUP, "sort": "desc"},
        "SORT",
        "SORT",
    ),
    # `sort` is in the user-group tables only; the customer form is not held to it
    "sort on the customer form": (
        ["2025-01-03 00:00:00.0", "2025-01-02 00:00:00.0"],
        {"sort": "ASC"},
        None,
        None,
    ),
    "sortOrder alias may go either way": (
        ["2025-01-03 00:00:00.0", "2025-01-02 00:00:00.0"],
        {**GROUP, "sortOrder": "ASC"},
        None,
        None,
    ),
    "unreadable dates skipped": (
        ["2025-01-03 00:00:00.0", "garbage", "2025-01-01 00:00:00.0"],
        {},
        None,
        None,
    ),
}


@LEDGER_OPS
@pytest.mark.parametrize("case", SORT_CASES.values(), ids=SORT_CASES.keys())
def test_sort(operation: str, prefix: str, case: tuple[Any, ...]) -> None:
    created, params, lenient, strict = case
    ex = ledger(dated(*created), operation, **params)
    for ctx, slug in ((LENIENT, lenient), (STRICT, strict)):
        got = {f.requirement for f in findings(ctx, ex) if "-SORT" in f.requirement}
        assert got == ({f"{prefix}-{slug}"} if slug else set()), ctx.mode


# --------------------------------------------------------------------------------------------
# connected orgs scope


def org_page(*orgs: Any) -> dict[str, Any]:
    return ledger_body(
        [credit(i + 1, "2025-01-01 10:00:00.0", orgId=o) for i, o in enumerate(orgs)]
    )


@pytest.mark.parametrize(
    ("headers", "orgs", "requirement"),
    [
        ({"DATA-SCOPE": "SELF"}, [50406, None], None),
        ({"DATA-SCOPE": "SELF"}, [50406, 50405], "CORG-SCOPE-SELF"),
        ({"data-scope": "OTHER", "DATA-SCOPE-ORG": "50405"}, [50405], None),
        ({"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "50405,50407"}, [50407, "50405"], None),
        ({"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "50405"}, [50406], "CORG-SCOPE-OTHER"),
        ({"DATA-SCOPE": "ALL"}, [1], None),
        # without DATA-SCOPE a lenient server answers as SELF
        ({}, [50406, None], None),
        ({}, [50406, 50405], "CORG-SCOPE-MISSING"),
    ],
)
def test_connected_org_scope(
    headers: dict[str, str], orgs: list[Any], requirement: str | None
) -> None:
    ex = make_exchange("getCustomerLedgerInfoConnectedOrgs", org_page(*orgs), headers=headers)
    got = {f.requirement for f in findings(LENIENT, ex) if "-SCOPE-" in f.requirement}
    assert got == ({requirement} if requirement else set())


def test_strict_wants_310144_without_data_scope() -> None:
    ex = make_exchange("getCustomerLedgerInfoConnectedOrgs", org_page(50406))
    (found,) = findings(STRICT, ex, "CORG-SCOPE-MISSING")
    assert found.discrepancy == discrepancies.D_SCOPE_MISSING and "310144" in found.expected
    scoped = make_exchange(
        "getCustomerLedgerInfoConnectedOrgs", org_page(50406), headers={"DATA-SCOPE": "SELF"}
    )
    assert findings(STRICT, scoped, "CORG-SCOPE-MISSING") == []


def test_self_scope_needs_the_org_id() -> None:
    ex = make_exchange(
        "getCustomerLedgerInfoConnectedOrgs", org_page(1), headers={"DATA-SCOPE": "SELF"}
    )
    assert findings(CheckContext(), ex, "CORG-SCOPE-SELF") == []


# --------------------------------------------------------------------------------------------
# ledger balance


def balance_body(
    n: int, *, page_size: int = 10, total: int = 17, page_count: int = 2, page_number: int = 0
) -> dict[str, Any]:
    rows = [
        {"pointsCategory": "Main", "programName": "P", "programId": i, "closingBalance": "1.000"}
        for i in range(n)
    ]
    return {
        "customerDetails": {"userId": 1, "entityType": "CUSTOMER"},
        "ledgerDetails": {
            "pageNumber": page_number,
            "pageSize": page_size,
            "totalEntries": total,
            "pageCount": page_count,
            "ledgerClosingBalance": rows,
        },
        "warnings": [],
    }


BALANCE_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], set[str], set[str]]] = {
    "doc-like first page": (balance_body(6), {}, set(), set()),
    "limit echoed": (
        balance_body(3, page_size=3, total=7, page_count=3),
        {"limit": 3},
        set(),
        set(),
    ),
    "wrong page count": (balance_body(6, page_count=3), {}, {"BAL-PAGE-COUNT"}, {"BAL-PAGE-COUNT"}),
    # D-071: no entries may count one empty page, but in the strict run
    "no entries, no pages": (balance_body(0, total=0, page_count=0), {}, set(), set()),
    "no entries, one page": (balance_body(0, total=0, page_count=1), {}, set(), {"BAL-PAGE-COUNT"}),
    "no entries, two pages": (
        balance_body(0, total=0, page_count=2),
        {},
        {"BAL-PAGE-COUNT"},
        {"BAL-PAGE-COUNT"},
    ),
    # D-047: a page capped at 10 is an answer the default run takes; strict wants 11029.
    "limit above 10 capped": (
        balance_body(6),
        {"limit": 11},
        set(),
        {"BAL-LIMIT-MAX"},
    ),
    "limit above 10 not capped": (
        balance_body(6, page_size=11, page_count=2),
        {"limit": 11},
        {"BAL-LIMIT-MAX"},
        {"BAL-LIMIT-MAX"},
    ),
    "more than 10 balances": (
        balance_body(11, page_size=11, page_count=2),
        {},
        {"BAL-LIMIT-MAX"},
        {"BAL-LIMIT-MAX", "BAL-DEFAULT-LIMIT"},
    ),
    "default limit not 10": (
        balance_body(6, page_size=5, page_count=4),
        {},
        {"BAL-DEFAULT-LIMIT"},
        {"BAL-DEFAULT-LIMIT"},
    ),
    "pageSize is the count": (
        balance_body(6, page_size=6),
        {},
        set(),
        {"BAL-DEFAULT-LIMIT"},
    ),
    "category kept": (balance_body(2), {"pointCategoryType": "REGULAR"}, set(), set()),
    "first page not 0": (
        balance_body(6, page_number=1),
        {},
        {"BAL-PAGE-INDEX"},
        {"BAL-PAGE-INDEX"},
    ),
    "offset sent: index not checked": (
        balance_body(6, page_number=3),
        {"offset": 10},
        set(),
        set(),
    ),
}


@pytest.mark.parametrize("case", BALANCE_CASES.values(), ids=BALANCE_CASES.keys())
def test_balance(case: tuple[Any, ...]) -> None:
    body, params, lenient, strict = case
    ex = make_exchange("getCustomerLedgerBalance", body, params=params)
    for ctx, wanted in ((LENIENT, lenient), (STRICT, strict)):
        got = {f.requirement for f in findings(ctx, ex) if f.requirement.startswith("BAL-")}
        assert got == wanted, ctx.mode


@MODES
def test_non_success_ledger_answers_are_left_to_the_error_rules(ctx: CheckContext) -> None:
    ex = ledger(
        {"errors": [{"code": 11029, "message": "Limit cannot be greater than 100"}]}, limit=500
    )
    ex = make_exchange("getCustomerLedgerInfo", ex.response.json, status=400, params={"limit": 500})
    assert requirements(findings(ctx, ex)) == set()


def test_balance_category_filter() -> None:
    body = balance_body(2)
    body["ledgerDetails"]["ledgerClosingBalance"][1]["pointsCategory"] = (
        "DelayedAccrualPointCategory"
    )
    ex = make_exchange("getCustomerLedgerBalance", body, params={"pointCategoryType": "REGULAR"})
    (found,) = findings(LENIENT, ex, "BAL-FILTER-CATEGORY")
    assert "DelayedAccrualPointCategory" in found.actual and "programId 1" in found.actual


@pytest.mark.parametrize(
    ("category", "lenient", "strict"),
    [
        # D-066: 003's table calls both delayed-accrual and trigger-based points "promised"
        ("ExternalTriggerBasedPointCategory", False, True),
        ("DelayedAccrualPointCategory", False, False),
        ("Main", True, True),
    ],
)
def test_balance_promised_category(category: str, lenient: bool, strict: bool) -> None:
    body = balance_body(2)
    for balance in body["ledgerDetails"]["ledgerClosingBalance"]:
        balance["pointsCategory"] = "DelayedAccrualPointCategory"
    body["ledgerDetails"]["ledgerClosingBalance"][1]["pointsCategory"] = category
    ex = make_exchange("getCustomerLedgerBalance", body, params={"pointCategoryType": "PROMISED"})
    assert bool(findings(LENIENT, ex, "BAL-FILTER-CATEGORY")) is lenient
    found = findings(STRICT, ex, "BAL-FILTER-CATEGORY")
    assert bool(found) is strict
    if found:
        (item,) = found
        assert category in item.actual
        assert item.discrepancy == ("D-066" if not lenient else None)


def closing(rows: list[tuple[int, str, str]]) -> Exchange:
    body = balance_body(0, total=len(rows), page_count=1)
    body["ledgerDetails"]["ledgerClosingBalance"] = [
        {"pointsCategory": c, "programName": "P", "programId": p, "closingBalance": v}
        for p, c, v in rows
    ]
    return make_exchange("getCustomerLedgerBalance", body)


WHOLE_LEDGER = [
    ledger(
        ledger_body(
            [
                entry(
                    3,
                    "2025-01-03 00:00:00.0",
                    [row("DEBIT", "10.54"), row("CREDIT", "5", currency="DocCoin")],
                    "-10.54",
                ),
                entry(
                    2,
                    "2025-01-02 00:00:00.0",
                    [
                        row("CREDIT", "311.03"),
                        row("CREDIT", "2", category="DelayedAccrualPointCategory"),
                    ],
                    "311.03",
                ),
            ],
            total=3,
            page_size=2,
        )
    ),
    ledger(
        ledger_body(
            [entry(1, "2025-01-01 00:00:00.0", [row("OPENING_BALANCE", "0.00", program=974)], "0")],
            total=3,
            page_size=2,
            page_number=1,
        ),
        offset=1,
    ),
]


@pytest.mark.parametrize(
    ("rows", "lenient", "strict"),
    [
        (
            [
                (973, "Main", "300.49"),
                (973, "DelayedAccrualPointCategory", "2.000"),
                (974, "Main", "0.000"),
            ],
            False,
            False,
        ),
        ([(973, "Main", "300.5"), (974, "Main", "0")], False, True),
        # D-080: 003 never ties a closing balance to the ledger rows; strict only.
        ([(973, "Main", "311.03")], False, True),
        ([(975, "Main", "1.000")], False, True),
    ],
    ids=["exact", "display rounding", "debit not subtracted", "program without rows"],
)
def test_closing_balances_against_the_whole_ledger(
    rows: list[tuple[int, str, str]], lenient: bool, strict: bool
) -> None:
    for ctx, flagged in ((LENIENT, lenient), (STRICT, strict)):
        found = check_closing_balances(
            ctx, balance_pages=[closing(rows)], ledger_pages=WHOLE_LEDGER
        )
        assert bool(found) is flagged, ctx.mode
        assert all(f.requirement == "BAL-ARITH-CLOSING" for f in found)


def test_closing_balances_need_unfiltered_readings() -> None:
    filtered = make_exchange(
        "getCustomerLedgerBalance",
        closing([(973, "Main", "1")]).response.json,
        params={"tillId": 5},
    )
    assert check_closing_balances(STRICT, balance_pages=[filtered], ledger_pages=WHOLE_LEDGER) == []


@pytest.mark.parametrize(
    ("params", "lenient", "strict"),
    [
        ({"type": "USERGROUP2", "offset": 10}, set(), {"LEDGER-PAGE-INDEX"}),
        ({"type": "USERGROUP2", "offset": 0}, set(), set()),
        ({"offset": 10}, {"LEDGER-PAGE-INDEX"}, {"LEDGER-PAGE-INDEX"}),
    ],
    ids=["group offset as a starting index", "group first page", "customer offset"],
)
def test_group_offset_may_be_a_starting_index_in_the_default_run(
    params: dict[str, Any], lenient: set[str], strict: set[str]
) -> None:
    # offset=10 read as a starting index: entries 10..19 of 25, shown as page 0
    ex = ledger(page(10, total=25), **params)
    for ctx, wanted in ((LENIENT, lenient), (STRICT, strict)):
        got = {f.requirement for f in findings(ctx, ex) if "-PAGE-" in f.requirement}
        assert got == wanted, ctx.mode
