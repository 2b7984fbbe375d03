"""What a report keeps of a run's traffic: the writes grouped by operation in summary.md and the
HTML page (every write stays in conformance.json), and notes (findings of a passing test) with
only the method, URL, status and time of their exchange, while failures keep it whole."""

from __future__ import annotations

from typing import Any

from points_conformance.records import TestRecord
from points_conformance.report.collect import TestResult, verdicts
from points_conformance.report.html import render_html
from points_conformance.report.markdown import MAX_DETAILED, render_markdown
from points_conformance.report.model import FAILED, PASSED, finalize, new_record
from points_conformance.report.traffic import statuses_text, write_groups

TARGET = "http://127.0.0.1:8765"


def write(operation: str, path: str, status: int | None = 200, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "operation": operation,
        "method": "POST",
        "url": f"{TARGET}{path}?trace=1",
        "status": status,
        "test": "t/test_x.py::test_w",
    }
    entry.update(extra)
    return {k: v for k, v in entry.items() if v is not None}


WRITES = [
    *[write("reversePoints", "/v2/points/reverse") for _ in range(3)],
    *[write("isTransferrable", "/v2/points/isTransferrable") for _ in range(5)],
    write("isTransferrable", "/v2/points/isTransferrable", 400),
    write("transferPoints", "/v2/points/transfer", None),
]


def report_with(writes: list[dict[str, Any]]) -> dict[str, Any]:
    return finalize({"target": TARGET, "stance": "lenient", "requirements": {}, "writes": writes})


def test_writes_are_grouped_by_operation_in_the_operations_order() -> None:
    groups = write_groups(WRITES)
    assert [(g["operation"], g["path"], g["count"]) for g in groups] == [
        ("isTransferrable", "/v2/points/isTransferrable", 6),
        ("transferPoints", "/v2/points/transfer", 1),
        ("reversePoints", "/v2/points/reverse", 3),
    ]
    assert groups[0]["statuses"] == {"200": 5, "400": 1}
    assert statuses_text(groups[0]) == "200 ×5, 400 ×1"
    assert statuses_text(groups[1]) == ""


def test_a_write_without_an_operation_is_grouped_by_its_request() -> None:
    old = [{"method": "POST", "url": f"{TARGET}/v2/points/reverse", "test": "t"}] * 2
    (group,) = write_groups(old)
    assert (group["operation"], group["method"], group["path"], group["count"]) == (
        "",
        "POST",
        "/v2/points/reverse",
        2,
    )


def test_summary_lists_one_line_per_operation_with_counts() -> None:
    text = render_markdown(report_with(WRITES))
    assert "- Writes sent (state-changing requests): 10, by operation:" in text
    assert (
        "  - isTransferrable `POST /v2/points/isTransferrable`: 6 (status 200 ×5, 400 ×1)" in text
    )
    assert "  - transferPoints `POST /v2/points/transfer`: 1\n" in text
    assert "  - reversePoints `POST /v2/points/reverse`: 3 (status 200 ×3)" in text
    assert "?trace=1" not in text


def test_summary_names_the_writes_beyond_its_limit_by_count() -> None:
    many = [
        write("reversePoints", f"/v2/points/reverse/{n}")
        for n in range(MAX_DETAILED + 2)
        for _ in range(2)
    ]
    text = render_markdown(report_with(many))
    assert text.count("  - reversePoints `POST") == MAX_DETAILED
    assert "  - … and 4 more (see `conformance.json`)." in text


def test_summary_without_writes_says_so() -> None:
    assert "- Writes sent (state-changing requests): 0.\n" in render_markdown(report_with([]))


def test_html_shows_the_groups_and_json_keeps_every_write() -> None:
    report = report_with(WRITES)
    page = render_html(report)
    assert "10 state-changing requests sent" in page
    assert "<td>isTransferrable</td><td><code>POST /v2/points/isTransferrable</code></td>" in page
    assert "<td>6</td><td>200 ×5, 400 ×1</td>" in page
    assert len(report["writes"]) == 10


def exchange(status: int) -> dict[str, Any]:
    return {
        "operation": "getCustomerLedgerInfo",
        "request": {
            "method": "GET",
            "url": f"{TARGET}/v2/pointsLedger/getCustomerLedgerInfo?limit=5",
            "headers": {"accept": "application/json"},
            "body": None,
            "curl": "curl -sS -X GET ...",
        },
        "response": {
            "status": status,
            "content_type": "application/json",
            "body_excerpt": '{"ledgerEntries": [' + "0," * 500 + "0]}",
            "json_error": None,
            "elapsed": 0.0123,
        },
    }


def result_with_finding(outcome: str) -> TestResult:
    finding = {"requirement": "LEDGER-SORT", "message": "m", "exchange": exchange(200)}
    record = TestRecord(
        requirements=("LEDGER-SORT",), operations=("getCustomerLedgerInfo",), findings=(finding,)
    )
    return TestResult("t/test_l.py::test_sort", outcome=outcome, record=record)


def test_a_note_keeps_method_url_status_and_time_only() -> None:
    verdict, _ops, (note,) = verdicts(result_with_finding(PASSED), {})["LEDGER-SORT"]
    assert verdict == PASSED
    assert note["exchange"] == {
        "operation": "getCustomerLedgerInfo",
        "request": {
            "method": "GET",
            "url": f"{TARGET}/v2/pointsLedger/getCustomerLedgerInfo?limit=5",
        },
        "response": {"status": 200, "elapsed": 0.0123},
    }
    assert (note["requirement"], note["message"], note["test"]) == (
        "LEDGER-SORT",
        "m",
        "t/test_l.py::test_sort",
    )


def test_a_failure_keeps_its_whole_exchange() -> None:
    verdict, _ops, (finding,) = verdicts(result_with_finding(FAILED), {})["LEDGER-SORT"]
    assert verdict == FAILED
    assert finding["exchange"] == exchange(200)
    assert finding["exchange"]["request"]["curl"]


def test_html_search_text_names_each_test_once_without_parameters() -> None:
    tests = [
        {"nodeid": f"t/test_f.py::test_fuzz[op{n}]", "verdict": PASSED, "operations": {}}
        for n in range(50)
    ]
    record = new_record("COMMON-SCHEMA-WARNINGS") | {"tests": tests}
    page = render_html(finalize({"target": TARGET, "requirements": {record["id"]: record}}))
    assert page.count("t/test_f.py::test_fuzz") == 2 + 30  # matrix row, details, shown tests
    assert "test_fuzz[op49]" not in page.split("<h3>Tests")[0]
