"""The ledger case tables judged against answers of servers that took another reading.

Each row sends a crafted answer through the table's own expectation (`_ledger.judge`): where the
pages leave the outcome open, the default run accepts it and --conformance-strict, which picks one reading,
does not; where a page states the outcome, both runs fail a server that does otherwise.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance._cases import Case, load_table
from conformance._ledger import judge

from .test_checks_support import LENIENT, STRICT, credit, ledger_body, make_exchange


def case(table: str, case_id: str) -> Case:
    (found,) = [c for c in load_table(table) if c.id == case_id]
    return found


def refused(code: int) -> tuple[int, dict[str, Any]]:
    return 400, {"errors": [{"code": code, "message": "refused"}]}


def answered(n: int = 1) -> tuple[int, dict[str, Any]]:
    entries = [credit(i + 1, f"2025-01-{10 + i:02d} 10:00:00.0") for i in range(n)]
    return 200, ledger_body(entries)


EMPTY_PAST_END = (200, ledger_body([], total=5, page_number=100000, page_count=1))

# table, case id, (status, body), query params sent, lenient fails, strict fails
ROWS: list[tuple[str, str, tuple[int, dict[str, Any]], dict[str, Any], bool, bool]] = [
    # D-074: no page names a code for a customer absent from the source asked for
    ("ledger_info", "source-FACEBOOK", refused(9003), {"source": "FACEBOOK"}, False, True),
    # D-031: no v2 page names a code for an unknown mobile
    ("ledger_info", "unknown-mobile", refused(9003), {}, False, True),
    ("ledger_info_group", "unknown-group-externalId", refused(9003), {}, False, True),
    # D-054: no page says a negative limit is refused
    ("ledger_info", "limit-negative", answered(), {"limit": -1}, False, True),
    # D-002: no page says what a window wider than 90 days gets
    ("ledger_info", "window-90-days-plus-1-second", answered(), {}, False, True),
    # D-054: a server may ignore startDate after endDate
    (
        "ledger_info",
        "window-start-after-end",
        answered(),
        {"startDate": "2025-02-01T00:00:00", "endDate": "2025-01-01T00:00:00"},
        False,
        True,
    ),
    # D-001: 003's maximum limit is 10
    ("ledger_info", "limit-100", refused(11029), {"limit": 100}, False, True),
    # D-077: one unknown till in a list may be skipped
    ("ledger_info", "tillIds-one-unknown", answered(), {"tillIds": "1,2"}, False, True),
    # D-078: 000's group table has no type
    ("ledger_connected_orgs", "self-usergroup2", refused(8013), {}, False, True),
    # 001: 11003 "The offset value is greater than the total number of pages."
    ("ledger_info", "offset-far-past", EMPTY_PAST_END, {"offset": 100000}, True, True),
    # 001: 11026 "No tills found for store with store code"
    ("ledger_info", "storeCode-unknown", answered(0), {"storeCode": "nope"}, True, True),
    # 000 lists its sources in lower case: the customer's own source so spelt is answered
    ("ledger_connected_orgs", "self-source-lower-case", refused(8015), {}, True, True),
]


@pytest.mark.parametrize(
    ("table", "case_id", "answer", "params", "lenient", "strict"),
    ROWS,
    ids=[f"{r[0]}:{r[1]}" for r in ROWS],
)
def test_case_accepts_what_the_pages_leave_open(
    table: str,
    case_id: str,
    answer: tuple[int, dict[str, Any]],
    params: dict[str, Any],
    lenient: bool,
    strict: bool,
) -> None:
    row = case(table, case_id)
    status, body = answer
    query = {"identifierName": "mobile", "identifierValue": "1", "source": "INSTORE", **params}
    ex = make_exchange(row.operation, body, status=status, params=query)
    assert bool(judge(LENIENT, row, ex, strict=False)) is lenient
    assert bool(judge(STRICT, row, ex, strict=True)) is strict


def test_no_customer_case_sends_sort() -> None:
    """`sort` is a parameter of the user-group tables only (001, 000)."""
    for table in ("ledger_info", "ledger_info_altcur", "ledger_connected_orgs", "ledger_walks"):
        for row in load_table(table):
            if "type" not in row.params and row.params.get("identifierName") != "groupId":
                assert "sort" not in row.params, (table, row.id)


def test_group_cases_send_no_customer_only_filter() -> None:
    """ledgerEntryType and pointCategoryType are listed for the customer form only."""
    for row in load_table("ledger_info_group"):
        assert not {"ledgerEntryType", "pointCategoryType"} & set(row.params), row.id
