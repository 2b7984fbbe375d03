"""Readings of the ledger balance and of ledgers read before and after a write.

003's only balance example shows six closing balances beside pageCount 2 (D-079): a balance read
over its pages counts each (programId, pointsCategory) once. Its default endDate names a
parameter the operation lacks (D-025), so "now" is an explicit endDate. Ledgers compared around
a write are read whole and compared by eventLogId, as no order is documented for the customer
form. The closing-balance arithmetic (D-080) and the balance walk (D-079) are strict readings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from conformance._cases import Case, load_table
from conformance._ledger import judge
from conformance._points import read_customer_balance, read_ledger
from points_conformance.checks import CheckContext, discrepancies, walk_pages
from points_conformance.checks.balance import (
    balance_rows,
    check_closing_balances,
    end_date_now,
    new_balance_rows,
)
from points_conformance.checks.transfer_state import (
    check_reversal_ledger,
    check_transfer_ledger,
    check_warning_reversal,
    closing_balance,
    ledger_entries,
    new_entries,
)
from points_conformance.model import Exchange
from points_conformance.target import Customer, TargetData

from .test_checks_support import (
    LENIENT,
    MODES,
    STRICT,
    TRANSFERRED,
    credit,
    entry,
    ledger_body,
    make_exchange,
    row,
)

BAL = "getCustomerLedgerBalance"
# The six balances of 003's example.
EXAMPLE_ROWS = [
    (1568, "DelayedAccrualPointCategory", "0.000"),
    (1568, "ExternalTriggerBasedPointCategory", "0.000"),
    (1745, "Main", "30000.000"),
    (1424, "ExternalTriggerBasedPointCategory", "0.000"),
    (1424, "Main", "0.000"),
    (1414, "Main", "12703.000"),
]


def balance_page(
    rows: list[tuple[int, str, str]],
    number: int,
    *,
    total: int = 17,
    count: int = 2,
    size: int = 10,
    params: dict[str, Any] | None = None,
) -> Exchange:
    body = {
        "customerDetails": {"userId": 502522264, "entityType": "CUSTOMER"},
        "ledgerDetails": {
            "pageNumber": number,
            "pageSize": size,
            "totalEntries": total,
            "pageCount": count,
            "ledgerClosingBalance": [
                {"pointsCategory": c, "programName": "P", "programId": p, "closingBalance": v}
                for p, c, v in rows
            ],
        },
        "warnings": [],
    }
    return make_exchange(BAL, body, params={"offset": number, **(params or {})})


# A server that does not page its balances: every page shows all six (003's example, page 1).
UNPAGED = [balance_page(EXAMPLE_ROWS, 0), balance_page(EXAMPLE_ROWS, 1)]
# A server that pages them: three balances a page (limit=3).
PAGED = [
    balance_page(EXAMPLE_ROWS[:3], 0, total=6, count=2, size=3, params={"limit": 3}),
    balance_page(EXAMPLE_ROWS[3:], 1, total=6, count=2, size=3, params={"limit": 3}),
]


@pytest.mark.parametrize("pages", [UNPAGED, PAGED], ids=["unpaged", "paged"])
def test_each_balance_counts_once_over_the_pages(pages: list[Exchange]) -> None:
    rows = balance_rows(pages)
    assert len(rows) == 6
    assert rows[("1745", "Main")] == Decimal("30000.000")
    assert closing_balance(pages) == Decimal("42703.000")
    assert closing_balance(pages, program_id=1414) == Decimal("12703.000")


def test_a_page_of_balances_already_read_brings_nothing_new() -> None:
    seen = balance_rows(UNPAGED[:1])
    assert new_balance_rows(seen, UNPAGED[1]) == {}
    assert set(new_balance_rows(balance_rows(PAGED[:1]), PAGED[1])) == {
        ("1424", "ExternalTriggerBasedPointCategory"),
        ("1424", "Main"),
        ("1414", "Main"),
    }


def test_summing_every_page_would_count_the_unpaged_balances_twice() -> None:
    # The reading this replaces: one page's Main total added per page.
    per_page = sum((closing_balance(ex) or Decimal(0) for ex in UNPAGED), Decimal(0))
    assert per_page == 2 * Decimal("42703.000") != closing_balance(UNPAGED)


def test_now_is_an_explicit_end_date_a_day_ahead() -> None:
    assert end_date_now(datetime(2026, 3, 1, 23, 30, 15, 999)) == "2026-03-02T23:30:15"
    datetime.strptime(end_date_now(), "%Y-%m-%dT%H:%M:%S")


# --------------------------------------------------------------------------------------------
# the balance walk (D-079)


@pytest.mark.parametrize(
    "pages",
    [UNPAGED, [balance_page(EXAMPLE_ROWS, 0), balance_page([], 1)]],
    ids=["every balance on every page", "003's example, then an empty page"],
)
def test_an_unpaged_balance_passes_the_default_run_and_fails_strict(pages: list[Exchange]) -> None:
    assert walk_pages(LENIENT, pages, operation=BAL) == []
    found = walk_pages(STRICT, pages, operation=BAL)
    assert found and {f.requirement for f in found} == {"BAL-PAGE-WALK"}
    assert {f.discrepancy for f in found} <= {discrepancies.D_BALANCE_PAGING, None}


def test_a_paged_balance_passes_both_stances() -> None:
    assert walk_pages(LENIENT, PAGED, operation=BAL) == []
    assert walk_pages(STRICT, PAGED, operation=BAL) == []


# --------------------------------------------------------------------------------------------
# closing balances against the ledger (D-080)


def ledger_page(
    *entries: dict[str, Any],
    params: dict[str, Any] | None = None,
    total: int | None = None,
    size: int = 10,
) -> Exchange:
    body = ledger_body(list(entries), total=total, page_size=size)
    return make_exchange("getCustomerLedgerInfo", body, params=params)


WHOLE = ledger_page(
    entry(1, "2025-01-01 00:00:00.0", [row("CREDIT", "100.00", program=973)], "100.000"),
    entry(2, "2025-01-02 00:00:00.0", [row("DEBIT", "30.00", program=973)], "-30.000"),
    params={"isFilterBasedOnDate": "false"},
)


@pytest.mark.parametrize(
    ("shown", "strict_flags"),
    [("70.000", False), ("100.000", True), ("69.000", True)],
    ids=["credits less debits", "debits left out", "another amount"],
)
def test_closing_balance_arithmetic_is_a_strict_reading(shown: str, strict_flags: bool) -> None:
    now = {"endDate": "2025-01-03T00:00:00"}
    balance = [balance_page([(973, "Main", shown)], 0, total=1, count=1, params=now)]
    assert check_closing_balances(LENIENT, balance_pages=balance, ledger_pages=[WHOLE]) == []
    found = check_closing_balances(STRICT, balance_pages=balance, ledger_pages=[WHOLE])
    assert bool(found) is strict_flags
    assert all(f.requirement == "BAL-ARITH-CLOSING" for f in found)


def test_a_balance_as_of_a_moment_before_the_newest_entry_is_not_compared() -> None:
    before = {"endDate": "2025-01-01T12:00:00"}
    balance = [balance_page([(973, "Main", "100.000")], 0, total=1, count=1, params=before)]
    assert check_closing_balances(STRICT, balance_pages=balance, ledger_pages=[WHOLE]) == []


def test_a_strict_finding_names_the_arithmetic_entry() -> None:
    balance = [balance_page([(973, "Main", "100.000")], 0, total=1, count=1)]
    (found,) = check_closing_balances(STRICT, balance_pages=balance, ledger_pages=[WHOLE])
    assert found.discrepancy == discrepancies.D_BALANCE_ARITHMETIC


# --------------------------------------------------------------------------------------------
# ledgers read whole around a write


OLD = entry(1, "2025-01-01 00:00:00.0", [row("CREDIT", "100.00")], "100.000")
OLDER = entry(5, "2024-12-01 00:00:00.0", [row("CREDIT", "1.00")], "1.000")
DEBIT = {
    **entry(2, "2025-01-02 00:00:00.0", [row("DEBIT", "15.00")], "-15.000"),
    "eventName": "PointsTransfer",
}
CREDIT = {
    **entry(3, "2025-01-02 00:00:00.0", [row("CREDIT", "15.00")], "15.000"),
    "eventName": "PointsTransfer",
}


def transfer(status: int = 200) -> Exchange:
    body = TRANSFERRED if status < 400 else {"errors": [{"code": 804, "message": "no"}]}
    sent = {"pointsTobeTransferred": 15}
    return make_exchange("transferPoints", body, status=status, request_body=sent)


def test_entries_read_twice_over_overlapping_pages_count_once() -> None:
    pages = [ledger_page(OLD, OLDER), ledger_page(OLDER, DEBIT)]
    assert [e["eventLogId"] for e in ledger_entries(pages)] == [1, 5, 2]
    assert [e["eventLogId"] for e in new_entries([ledger_page(OLD, OLDER)], pages)] == [2]


@MODES
def test_a_transfer_listed_on_a_later_page_is_found(ctx: CheckContext) -> None:
    # An oldest-first server (003's example order) lists the new event last, on the last page.
    before = [ledger_page(OLDER), ledger_page(OLD)]
    found = check_transfer_ledger(
        ctx,
        transfer=transfer(),
        source_before=before,
        source_after=[ledger_page(OLDER), ledger_page(OLD), ledger_page(DEBIT)],
        destination_before=before,
        destination_after=[ledger_page(OLDER, OLD), ledger_page(CREDIT)],
    )
    assert found == []


@MODES
def test_a_transfer_missing_from_every_page_is_a_finding(ctx: CheckContext) -> None:
    before = [ledger_page(OLDER), ledger_page(OLD)]
    found = check_transfer_ledger(
        ctx,
        transfer=transfer(),
        source_before=before,
        source_after=before,
        destination_before=before,
        destination_after=[ledger_page(OLDER), ledger_page(OLD, CREDIT)],
    )
    assert [f.requirement for f in found] == ["XFER-STATE-LEDGER"]
    assert found[0].exchange is before[0]


@MODES
def test_a_refused_transfer_shown_on_a_later_page_is_a_finding(ctx: CheckContext) -> None:
    before = [ledger_page(OLDER), ledger_page(OLD)]
    found = check_transfer_ledger(
        ctx,
        transfer=transfer(status=400),
        source_before=before,
        source_after=[*before, ledger_page(DEBIT)],
        destination_before=before,
        destination_after=before,
    )
    assert [f.requirement for f in found] == ["XFER-STATE-REJECTED"]


REVERSED = {"pointsReversed": 15, "warnings": []}


@MODES
def test_a_reversal_on_a_later_page_is_found(ctx: CheckContext) -> None:
    reversal = make_exchange("reversePoints", REVERSED)
    back = entry(9, "2025-01-03 00:00:00.0", [row("CREDIT", "15.00")], "15.000")
    before = [ledger_page(OLDER), ledger_page(OLD)]
    after = [ledger_page(OLDER), ledger_page(OLD), ledger_page(back)]
    assert check_reversal_ledger(ctx, reversal=reversal, before=before, after=after) == []
    (missing,) = check_reversal_ledger(ctx, reversal=reversal, before=before, after=before)
    assert missing.requirement == "REV-STATE-LEDGER"


def test_a_warned_reversal_needs_both_readings() -> None:
    warned = make_exchange(
        "reversePoints", {"pointsReversed": 0, "warnings": [{"code": 901, "message": "w"}]}
    )
    moved = [ledger_page(OLD), ledger_page(DEBIT)]
    found = check_warning_reversal(
        LENIENT,
        reversal=warned,
        before=[ledger_page(OLD)],
        after=moved,
        requirements=["PTS-WARN-901"],
    )
    assert [f.requirement for f in found] == ["PTS-WARN-901"]
    assert (
        check_warning_reversal(
            LENIENT, reversal=warned, before=[], after=moved, requirements=["PTS-WARN-901"]
        )
        == []
    )


# --------------------------------------------------------------------------------------------
# the balance case tables: what the default run takes and strict does not


def _case(table: str, case_id: str) -> Case:
    (case,) = [c for c in load_table(table) if c.id == case_id]
    return case


REFUSED = {"errors": [{"code": 816, "message": "Unable to find customer in this organization"}]}


@pytest.mark.parametrize(
    ("table", "case_id", "answer"),
    [
        # D-083: no code is documented for a customer absent from the named source.
        ("ledger_balance", "source-INSTORE", make_exchange(BAL, REFUSED, status=400)),
        # D-081: a value 003 does not list may be ignored.
        ("ledger_balance", "entryType-invalid", UNPAGED[0]),
        # D-081: an opening-balance-only balance may list no balances.
        ("ledger_balance", "entryType-OPENING_BALANCE", balance_page([], 0, total=0, count=0)),
        # D-079: the page past the last may show every balance again.
        ("ledger_walks", "balance", UNPAGED[1]),
    ],
    ids=["unknown in the source: 816", "bad entry type ignored", "no opening balances", "past"],
)
def test_balance_cases_take_the_other_readings_unless_strict(
    table: str, case_id: str, answer: Exchange
) -> None:
    case = _case(table, case_id)
    if table == "ledger_walks":
        case = dataclasses.replace(
            case, requirements=(case.extra["past_requirement"],), expect=case.extra["past_expect"]
        )
    assert judge(LENIENT, case, answer, strict=False) == []
    assert judge(STRICT, case, answer, strict=True) != []


# --------------------------------------------------------------------------------------------
# the readers of tests/conformance/_points.py against canned servers


class CannedServer:
    """A client whose answers `answer(operation, params)` makes; it keeps every query sent."""

    def __init__(self, answer: Callable[[str | None, dict[str, Any]], Exchange]) -> None:
        self.answer = answer
        self.sent: list[dict[str, Any]] = []

    def request(
        self,
        operation_id: str | None,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> Exchange:
        self.sent.append(dict(params or {}))
        return self.answer(operation_id, dict(params or {}))


RICH = Customer(role="rich", mobile="917799000000")


@pytest.mark.parametrize(
    ("server", "requests"),
    [
        (lambda op, q: balance_page(EXAMPLE_ROWS, int(q["offset"])), 2),
        (lambda op, q: PAGED[int(q["offset"])], 2),
    ],
    ids=["unpaged", "paged"],
)
def test_a_customer_balance_is_read_once_per_pair_as_of_now(
    server: Callable[[str | None, dict[str, Any]], Exchange], requests: int
) -> None:
    client = CannedServer(server)
    reading, _ = read_customer_balance(client, LENIENT, TargetData(), RICH, None)
    assert reading is not None and reading.value == Decimal("42703.000")
    assert len(client.sent) == requests
    assert all("endDate" in q for q in client.sent)


def many(count: int) -> list[dict[str, Any]]:
    return [credit(n, f"2025-01-01 00:00:{n % 60:02d}.0") for n in range(1, count + 1)]


def test_a_customer_ledger_is_read_whole_without_sort() -> None:
    ledger = many(150)

    def pages(op: str | None, q: dict[str, Any]) -> Exchange:
        start = int(q["offset"]) * int(q["limit"])
        chosen = ledger[start : start + int(q["limit"])]
        return ledger_page(*chosen, total=len(ledger), size=int(q["limit"]))

    client = CannedServer(pages)
    read = read_ledger(client, {"identifierName": "mobile", "identifierValue": "1"})
    assert len(ledger_entries(read)) == 150
    assert [q["offset"] for q in client.sent] == [0, 1]
    assert all("sort" not in q and q["isFilterBasedOnDate"] == "false" for q in client.sent)


def test_a_group_ledger_read_by_starting_index_is_followed() -> None:
    ledger = many(150)

    def by_index(op: str | None, q: dict[str, Any]) -> Exchange:
        start = int(q["offset"])
        chosen = ledger[start : start + int(q["limit"])]
        return ledger_page(*chosen, total=len(ledger), size=int(q["limit"]))

    client = CannedServer(by_index)
    read = read_ledger(client, {"type": "USERGROUP2", "identifierValue": "7"})
    assert len(ledger_entries(read)) == 150
    assert [q["offset"] for q in client.sent] == [0, 1, 100]
    assert all("sort" not in q and "isFilterBasedOnDate" not in q for q in client.sent)
