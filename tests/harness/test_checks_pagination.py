"""walk_pages: what only every page of one query, read in turn, can show."""

from __future__ import annotations

from typing import Any

import pytest

from points_conformance.checks import discrepancies, walk_pages
from points_conformance.model import Exchange

from .test_checks_support import LENIENT, STRICT, credit, ledger_body, make_exchange

LEDGER = "getCustomerLedgerInfo"
CML = "getCrossMemberLedger"
BAL = "getCustomerLedgerBalance"


def events(first: int, n: int) -> list[dict[str, Any]]:
    """`n` ledger events numbered from `first`, one minute apart, newest first overall."""
    return [
        credit(1000 - i, f"2025-01-01 {(1000 - i) // 60 % 24:02d}:{(1000 - i) % 60:02d}:00.0")
        for i in range(first, first + n)
    ]


def ledger_walk(
    sizes: list[int],
    *,
    total: int,
    page_size: int = 10,
    overrides: dict[int, dict[str, Any]] | None = None,
    params: dict[str, Any] | None = None,
) -> list[Exchange]:
    pages = []
    start = 0
    for number, n in enumerate(sizes):
        body = ledger_body(events(start, n), page_number=number, page_size=page_size, total=total)
        body["ledgerDetails"].update((overrides or {}).get(number, {}))
        query = {**(params or {}), "limit": page_size, "offset": number}
        pages.append(make_exchange(LEDGER, body, params=query))
        start += n
    return pages


def reqs(found: list[Any]) -> list[str]:
    return sorted(f.requirement for f in found)


def test_a_correct_walk_has_no_findings() -> None:
    assert walk_pages(LENIENT, ledger_walk([10, 10, 5], total=25), operation=LEDGER) == []
    assert walk_pages(STRICT, ledger_walk([10, 10, 5], total=25), operation=LEDGER) == []


def test_an_entry_on_two_pages() -> None:
    pages = ledger_walk([10, 10, 5], total=25)
    second = pages[1].response.json
    second["ledgerEntries"][0] = pages[0].response.json["ledgerEntries"][-1]
    pages[1] = make_exchange(LEDGER, second, params={"limit": 10, "offset": 1})
    found = walk_pages(LENIENT, pages, operation=LEDGER)
    assert reqs(found) == ["LEDGER-PAGE-WALK"] * 2
    messages = " ".join(f.message for f in found)
    assert "more than one page" in messages and "24 distinct entries" in messages


@pytest.mark.parametrize(
    ("sizes", "total", "overrides", "message"),
    [
        ([10, 10, 5], 26, {}, "not the 26"),
        ([10, 10, 5], 25, {1: {"totalEntries": 26}}, "changes from page to page"),
        ([10, 10, 5], 25, {2: {"pageCount": 4}}, "changes from page to page"),
    ],
    ids=["fewer than announced", "total changes", "pageCount changes"],
)
def test_totals(sizes: list[int], total: int, overrides: dict[int, Any], message: str) -> None:
    found = walk_pages(
        LENIENT, ledger_walk(sizes, total=total, overrides=overrides), operation=LEDGER
    )
    assert any(f.requirement == "LEDGER-PAGE-WALK" and message in f.message for f in found)


def test_an_unfinished_walk_does_not_judge_the_union() -> None:
    assert walk_pages(LENIENT, ledger_walk([10, 10], total=25), operation=LEDGER) == []


@pytest.mark.parametrize(
    ("params", "lenient"),
    [
        # the user-group tables document sort
        ({"identifierName": "groupId", "sort": "DESC"}, True),
        # D-073: no page states the default order; only strict holds it to newest first
        ({}, False),
    ],
)
def test_order_across_a_page_boundary(params: dict[str, Any], lenient: bool) -> None:
    pages = ledger_walk([10, 10, 5], total=25, params=params)
    first = pages[0].response.json
    first["ledgerEntries"][-1]["ledgerCreatedDate"] = "2020-01-01 00:00:00.0"
    pages[0] = make_exchange(LEDGER, first, params={**params, "limit": 10, "offset": 0})
    assert bool(walk_pages(LENIENT, pages, operation=LEDGER)) is lenient
    found = walk_pages(STRICT, pages, operation=LEDGER)
    assert reqs(found) == ["LEDGER-PAGE-WALK"]
    assert "across a page boundary" in found[0].message and "last of page 0" in found[0].actual


@pytest.mark.parametrize(
    ("params", "total", "lenient"),
    [
        # D-070: whether a row filter narrows totalEntries is unstated: an upper bound
        ({"ledgerEntryType": "DEBIT"}, 26, False),
        ({"ledgerEntryType": "DEBIT"}, 24, True),
        ({}, 26, True),
        # totalEntries may count entryDetails rows (one a event here), never something else
        ({}, 25, False),
    ],
)
def test_filtered_totals_are_an_upper_bound_by_default(
    params: dict[str, Any], total: int, lenient: bool
) -> None:
    pages = ledger_walk([10, 10, 5], total=total, params=params)
    got = walk_pages(LENIENT, pages, operation=LEDGER)
    assert any("distinct entries" in f.message for f in got) is lenient
    strict = [f for f in walk_pages(STRICT, pages, operation=LEDGER) if "distinct" in f.message]
    assert bool(strict) is (total != 25)
    if strict and params:
        assert strict[0].discrepancy == discrepancies.D_TOTAL_WITH_FILTERS


def test_pages_numbered_in_turn_from_zero() -> None:
    found = walk_pages(
        LENIENT,
        ledger_walk([10, 10, 5], total=25, overrides={1: {"pageNumber": 0}}),
        operation=LEDGER,
    )
    assert "LEDGER-PAGE-INDEX" in reqs(found)


def test_error_pages_and_other_operations_are_left_out() -> None:
    pages = ledger_walk([10, 10, 5], total=25)
    error = make_exchange(LEDGER, {"errors": [{"code": 11003, "message": "x"}]}, status=400)
    assert walk_pages(LENIENT, [*pages, error], operation=LEDGER) == []
    assert walk_pages(LENIENT, pages, operation="reversePoints") == []
    assert walk_pages(LENIENT, pages, operation=CML) == []


def cml_entry(
    log_id: int, minute: int, name: str = "CROSS_MEMBER_REDEMPTION", ref: str | None = None
) -> dict[str, Any]:
    return {
        "eventLogId": log_id,
        "eventName": name,
        "transactingCustomerId": 1003,
        "transactionRef": ref or f"TXN-{log_id}",
        "createdDateISO": f"2026-04-01T10:{minute:02d}:00Z",
        "netPointsOnEvent": "-1.000",
        "entryDetails": [{"customerId": 1003, "points": "-1.000"}],
    }


def cml_walk(
    pages: list[list[dict[str, Any]]],
    *,
    total: int,
    size: int = 2,
    params: dict[str, str] | None = None,
) -> list[Exchange]:
    return [
        make_exchange(
            CML,
            {
                "pageDetails": {
                    "pageNumber": i + 1,
                    "pageSize": size,
                    "totalEntries": total,
                    "pageCount": -(-total // size),
                },
                "entries": entries,
            },
            params={"pageNumber": i + 1, "pageSize": size, **(params or {})},
        )
        for i, entries in enumerate(pages)
    ]


@pytest.mark.parametrize(
    ("pages", "total", "params", "wanted"),
    [
        ([[cml_entry(1, 50), cml_entry(2, 40)], [cml_entry(3, 30)]], 3, {}, []),
        ([[cml_entry(1, 50)], [cml_entry(2, 40), cml_entry(3, 30)]], 3, {}, ["CML-PAGE-WALK"]),
        # the union falls short and the last page lacks the remainder it should hold
        ([[cml_entry(1, 50), cml_entry(2, 40)], [cml_entry(3, 30)]], 4, {}, ["CML-PAGE-WALK"] * 2),
        (
            [[cml_entry(1, 50), cml_entry(2, 40)], [cml_entry(3, 30)]],
            4,
            {"eventName": "CROSS_MEMBER_REDEMPTION"},
            [],
        ),
        ([[cml_entry(1, 50), cml_entry(2, 40)], [cml_entry(3, 45)]], 3, {}, ["CML-PAGE-WALK"]),
        (
            [[cml_entry(1, 30), cml_entry(2, 40)], [cml_entry(3, 35)]],
            3,
            {"sort": "createdDate:asc"},
            ["CML-PAGE-WALK"],
        ),
        (
            [[cml_entry(1, 50), cml_entry(2, 40)], [cml_entry(2, 30, ref="TXN-OTHER")]],
            3,
            {},
            ["CML-EVENTLOG-SHARED"],
        ),
    ],
    ids=[
        "correct",
        "first page short",
        "one missing",
        "eventName: total is an upper bound",
        "order across pages",
        "ascending order",
        "eventLogId reused",
    ],
)
def test_cross_member_walks(
    pages: list[list[dict[str, Any]]], total: int, params: dict[str, str], wanted: list[str]
) -> None:
    assert (
        reqs(walk_pages(LENIENT, cml_walk(pages, total=total, params=params), operation=CML))
        == wanted
    )


def test_cross_member_pages_start_at_one() -> None:
    pages = cml_walk([[cml_entry(1, 50), cml_entry(2, 40)], [cml_entry(3, 30)]], total=3)
    body = pages[0].response.json
    body["pageDetails"]["pageNumber"] = 0
    pages[0] = make_exchange(CML, body, params={"pageNumber": 1, "pageSize": 2})
    assert reqs(walk_pages(LENIENT, pages, operation=CML)) == ["CML-PAGE-INDEX"]


def balance_page(rows: list[tuple[int, str]], number: int, total: int) -> Exchange:
    body = {
        "ledgerDetails": {
            "pageNumber": number,
            "pageSize": 10,
            "totalEntries": total,
            "pageCount": -(-total // 10),
            "ledgerClosingBalance": [
                {"programId": p, "pointsCategory": c, "closingBalance": "0.000"} for p, c in rows
            ],
        }
    }
    return make_exchange(BAL, body, params={"offset": number})


MAIN = [(i, "Main") for i in range(10)]


@pytest.mark.parametrize(
    ("pages", "problems"),
    [
        ([balance_page(MAIN, 0, 12), balance_page([(10, "Main"), (11, "Main")], 1, 12)], 0),
        # 003's example: 6 balances on the first of two pages of 17 entries
        ([balance_page(MAIN[:6], 0, 17), balance_page(MAIN[6:], 1, 17)], 2),
        ([balance_page(MAIN, 0, 12), balance_page([(9, "Main"), (11, "Main")], 1, 12)], 2),
    ],
    ids=["correct", "003's short first page", "a balance on two pages"],
)
def test_balance_walks(pages: list[Exchange], problems: int) -> None:
    found = walk_pages(STRICT, pages, operation=BAL)
    assert len(found) == problems
    assert all(f.requirement == "BAL-PAGE-WALK" for f in found)
    # D-079: the default run does not walk a balance.
    assert walk_pages(LENIENT, pages, operation=BAL) == []


def test_balance_walk_findings_name_the_register_entry() -> None:
    pages = [balance_page(MAIN[:6], 0, 17), balance_page(MAIN[6:], 1, 17)]
    assert {f.discrepancy for f in walk_pages(STRICT, pages, operation=BAL)} == {
        discrepancies.D_BALANCE_PAGING
    }
