"""The report collector: fabricated pytest reports in, requirement records and four files out."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest
from _pytest._code.code import TerminalRepr

import points_conformance
from points_conformance.model import Exchange, Finding, RequestInfo, ResponseInfo
from points_conformance.plugin.report import ReportPlugin
from points_conformance.records import FuzzFigures, RecordError, TestRecord, WriteRecord
from points_conformance.report import load_report, write_all
from points_conformance.report.catalogue_meta import spec_version
from points_conformance.report.collect import Collector, failure_line
from points_conformance.report.model import FORMAT, ReportFormatError, validate

PASSWORD = "hunter2-Secret!"
BEARER = "tok-abcdef123456"
USER = "apiuser"
HOSTILE = "<script>alert('owned')</script><img src=x onerror=alert(1)>"


def requirement(rid: str, ops: list[str], **extra: Any) -> SimpleNamespace:
    fields: dict[str, Any] = {
        "id": rid,
        "operations": ops,
        "source": SimpleNamespace(page="003", heading=f"Heading of {rid}"),
        "statement": f"Statement of {rid}.",
        "check": f"how {rid} is checked",
        "discrepancy": None,
        "strict_only": False,
        "testable": True,
    }
    fields.update(extra)
    return SimpleNamespace(**fields)


def catalogue() -> SimpleNamespace:
    reqs = [
        requirement("XFER-ERR-804", ["transferPoints"], discrepancy="D-INSUFFICIENT"),
        requirement("XFER-ERR-418", ["transferPoints", "transferPointsUserGroup"]),
        requirement("LEDGER-LIMIT-MAX", ["getCustomerLedgerInfo"]),
        requirement("LEDGER-PAGE-OFFSET", ["getCustomerLedgerInfo"]),
        requirement("BAL-LIMIT-MAX", ["getCustomerLedgerBalance"]),
        requirement("REV-ERR-902", ["reversePoints"]),
        requirement("CML-SORT-DEFAULT", ["getCrossMemberLedger"]),
        requirement(
            "COMMON-FORMAT-TZ",
            ["getCustomerLedgerInfo"],
            testable=False,
            untestable_reason="depends on the org's configured timezone",
        ),
    ]
    discrepancies = {
        "D-INSUFFICIENT": SimpleNamespace(
            id="D-INSUFFICIENT",
            title="Insufficient points code",
            stance="any of 803, 804, 813, 818",
            strict="804 only",
            affects=["XFER-ERR-804"],
        ),
        "D-UNUSED": SimpleNamespace(
            id="D-UNUSED",
            title="Unused entry",
            stance="lenient text",
            strict="strict text",
            affects=[],
        ),
    }
    return SimpleNamespace(requirements={r.id: r for r in reqs}, discrepancies=discrepancies)


def settings(tmp_path: Path, **extra: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "base_url": "http://127.0.0.1:8765",
        "strict": False,
        "report_dir": tmp_path / "out",
        "username": USER,
        "password": PASSWORD,
        "bearer": BEARER,
        "timeout": 10.0,
        "target_data": SimpleNamespace(base_url="http://127.0.0.1:8765", password=PASSWORD),
    }
    values.update(extra)
    return SimpleNamespace(**values)


def finding(
    rid: str, op: str, body: str, status: int = 200, discrepancy: str | None = None
) -> dict[str, Any]:
    request = RequestInfo(
        "POST",
        "http://127.0.0.1:8765/v2/points/transfer?x=1",
        {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()},
        {"points": 99999},
    )
    response = ResponseInfo.from_parts(status, {"Content-Type": "application/json"}, body, 0.012)
    return Finding(
        rid,
        "insufficient points not rejected with 804",
        expected="HTTP 400 with code 804",
        actual=f"HTTP {status} with no error",
        exchange=Exchange(op, request, response),
        discrepancy=discrepancy,
    ).to_dict()


def exception_repr(exc: BaseException) -> TerminalRepr:
    try:
        raise exc
    except BaseException:
        return pytest.ExceptionInfo.from_current().getrepr()


Outcome = Literal["passed", "failed", "skipped"]
Phase = Literal["setup", "call", "teardown"]


def phases(
    nodeid: str,
    outcome: Outcome = "passed",
    props: list[tuple[str, Any]] | None = None,
    *,
    exc: BaseException | None = None,
    skip: str | None = None,
    fail_when: str = "call",
) -> list[pytest.TestReport]:
    """setup/call/teardown reports of one test, with cumulative user_properties as pytest has."""
    props = list(props or [])
    location = (nodeid.split("::")[0], 1, nodeid.split("::")[-1])
    made = []
    seen: list[tuple[str, Any]] = []
    whens: tuple[Phase, ...] = ("setup", "call", "teardown")
    for when in whens:
        if when == "call":
            seen = props
        phase_outcome: Outcome = "passed"
        longrepr: tuple[str, int, str] | TerminalRepr | None = None
        if outcome == "skipped" and when == "setup":
            phase_outcome, longrepr = "skipped", (location[0], 1, f"Skipped: {skip}")
        elif outcome == "skipped" and when == "call":
            continue
        elif outcome == "failed" and when == fail_when:
            phase_outcome = "failed"
            longrepr = exception_repr(exc or AssertionError("findings recorded"))
        made.append(
            pytest.TestReport(
                nodeid,
                location,
                {},
                phase_outcome,
                longrepr,
                when,
                duration=0.05,
                user_properties=list(seen),
            )
        )
    return made


def props(
    reqs: list[str], ops: list[str], findings: list[dict[str, Any]] | None = None, **more: Any
) -> list[tuple[str, Any]]:
    record = TestRecord(
        requirements=tuple(reqs),
        operations=tuple(ops),
        findings=tuple(findings or ()),
        requests=more.get("requests", 1),
        throttled=more.get("throttled", 0),
        writes=tuple(more.get("writes", ())),
        fuzz=tuple(more.get("fuzz", ())),
    )
    return [record.user_property()]


HOSTILE_BODY = json.dumps({"errors": [], "echo": HOSTILE, "auth": f"{USER}:{PASSWORD}"})


def feed(plugin: ReportPlugin) -> None:
    """A small run: every kind of outcome the report distinguishes."""
    runs = [
        # passes, and fails elsewhere: failed wins
        phases(
            "t/test_xfer.py::test_418_ok", "passed", props(["XFER-ERR-418"], ["transferPoints"])
        ),
        phases(
            "t/test_xfer.py::test_804",
            "failed",
            props(
                ["XFER-ERR-804", "XFER-ERR-418"],
                ["transferPoints", "transferPointsUserGroup"],
                [
                    finding(
                        "XFER-ERR-804", "transferPoints", HOSTILE_BODY, discrepancy="D-INSUFFICIENT"
                    ),
                    finding("XFER-ERR-418", "transferPointsUserGroup", "{}"),
                ],
                writes=[
                    WriteRecord(
                        "transferPoints", "POST", "http://127.0.0.1:8765/v2/points/transfer", 200
                    )
                ],
                requests=3,
                throttled=2,
            ),
        ),
        # an exception: every requirement of the test fails with its one-line message
        phases(
            "t/test_rev.py::test_902",
            "failed",
            props(["REV-ERR-902"], ["reversePoints"]),
            exc=ConnectionError("transport failed: connection refused\nafter 3 retries"),
        ),
        phases(
            "t/test_ledger.py::test_limit",
            "passed",
            props(["LEDGER-LIMIT-MAX"], ["getCustomerLedgerInfo"]),
        ),
        phases(
            "t/test_bal.py::test_limit",
            "skipped",
            props(["BAL-LIMIT-MAX"], []),
            skip="target file has no [customers.rich]",
        ),
        # a finding naming a requirement outside the catalogue
        phases(
            "t/test_cml.py::test_sort",
            "failed",
            props(
                ["CML-SORT-DEFAULT"],
                ["getCrossMemberLedger"],
                [finding("CML-UNKNOWN-X", "getCrossMemberLedger", "{}")],
            ),
        ),
        phases(
            "t/fuzz/test_fuzz.py::test_fuzz[getCustomerLedgerInfo]",
            "passed",
            props(
                ["LEDGER-PAGE-OFFSET"],
                ["getCustomerLedgerInfo"],
                fuzz=[FuzzFigures("getCustomerLedgerInfo", 40, 30, {"200": 30, "400": 10})],
            ),
        ),
    ]
    for run in runs:
        for report in run:
            plugin.pytest_runtest_logreport(report)


@pytest.fixture
def built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, Path]]:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "requirements.yaml").write_text("requirements: []\n")
    monkeypatch.setenv("POINTS_CONFORMANCE_SPECS_DIR", str(specs))
    plugin = ReportPlugin(None, settings(tmp_path), catalogue())
    feed(plugin)
    session = SimpleNamespace(shouldstop=False, shouldfail=False)
    plugin.pytest_sessionfinish(session, 1)  # type: ignore[arg-type]
    assert plugin.report is not None
    return plugin.report, plugin.paths


def test_statuses_follow_the_rules(built: tuple[dict[str, Any], dict[str, Path]]) -> None:
    report, _ = built
    reqs = report["requirements"]
    status = {rid: r["status"] for rid, r in reqs.items()}
    assert status == {
        "XFER-ERR-804": "failed",
        "XFER-ERR-418": "failed",  # passed in one test, failed in another
        "REV-ERR-902": "failed",
        "LEDGER-LIMIT-MAX": "passed",
        "LEDGER-PAGE-OFFSET": "passed",
        "BAL-LIMIT-MAX": "skipped",
        "CML-SORT-DEFAULT": "passed",  # its test failed, but on another requirement
        "CML-UNKNOWN-X": "failed",
        "COMMON-FORMAT-TZ": "not_exercised",
    }
    assert report["counts"] == {
        "failed": 4,
        "waived": 0,
        "passed": 3,
        "skipped": 1,
        "not_exercised": 1,
        "total": 9,
    }
    assert report["verdict"] == "does not conform"
    assert reqs["BAL-LIMIT-MAX"]["reason"] == "target file has no [customers.rich]"
    assert reqs["CML-UNKNOWN-X"]["in_catalogue"] is False
    assert {t["nodeid"]: t["verdict"] for t in reqs["XFER-ERR-418"]["tests"]} == {
        "t/test_xfer.py::test_418_ok": "passed",
        "t/test_xfer.py::test_804": "failed",
    }


def test_exception_gives_one_line_message_and_no_traceback(
    built: tuple[dict[str, Any], dict[str, Path]],
) -> None:
    report, paths = built
    record = report["requirements"]["REV-ERR-902"]
    (error,) = record["findings"]
    assert error["error"] is True
    assert error["message"] == "after 3 retries"
    assert record["reason"] == "after 3 retries"
    for path in paths.values():
        text = path.read_text()
        assert "Traceback" not in text
        assert "raise exc" not in text


def test_failure_records_carry_repro_and_doc_source(
    built: tuple[dict[str, Any], dict[str, Path]],
) -> None:
    report, _ = built
    record = report["requirements"]["XFER-ERR-804"]
    assert record["source"] == {"page": "003", "heading": "Heading of XFER-ERR-804"}
    assert record["statement"] == "Statement of XFER-ERR-804."
    (f,) = record["findings"]
    assert f["expected"] == "HTTP 400 with code 804"
    assert f["actual"] == "HTTP 200 with no error"
    assert f["exchange"]["response"]["status"] == 200
    assert f["exchange"]["request"]["curl"].startswith("curl -sS -X POST ")
    assert f["test"] == "t/test_xfer.py::test_804"
    # Per-operation cells: the 418 finding was on the user-group transfer only.
    assert report["requirements"]["XFER-ERR-418"]["by_operation"] == {
        "transferPoints": "passed",
        "transferPointsUserGroup": "failed",
    }


def test_run_figures(built: tuple[dict[str, Any], dict[str, Path]]) -> None:
    report, _ = built
    assert report["format"] == FORMAT
    assert report["target"] == "http://127.0.0.1:8765"
    assert report["stance"] == "lenient"
    assert report["versions"]["harness"] == points_conformance.__version__
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", report["versions"]["spec"])
    assert report["throttled"] == 2
    assert report["requests"] == 3 + 1 + 1 + 1 + 1 + 1 + 1
    assert report["writes"] == [
        {
            "operation": "transferPoints",
            "method": "POST",
            "url": "http://127.0.0.1:8765/v2/points/transfer",
            "status": 200,
            "test": "t/test_xfer.py::test_804",
        }
    ]
    assert report["fuzz"]["getCustomerLedgerInfo"]["share_200"] == 0.75
    ops = report["operations"]
    assert ops["transferPoints"]["failed"] == 1 and ops["transferPoints"]["tests"] == 2
    assert ops["getCustomerLedgerInfo"]["passed"] == 2
    assert ops["getCustomerLedgerInfo"]["not_exercised"] == 1
    assert report["untestable"] == [
        {"id": "COMMON-FORMAT-TZ", "reason": "depends on the org's configured timezone"}
    ]
    assert (
        "not checkable from outside a server"
        in report["requirements"]["COMMON-FORMAT-TZ"]["reason"]
    )


def test_discrepancy_register_shows_applied_stance_and_dependants(
    built: tuple[dict[str, Any], dict[str, Path]],
) -> None:
    report, _ = built
    entries = {d["id"]: d for d in report["discrepancies"]}
    assert entries["D-INSUFFICIENT"]["applied"] == "lenient"
    assert entries["D-INSUFFICIENT"]["applied_reading"] == "any of 803, 804, 813, 818"
    assert [f["requirement"] for f in entries["D-INSUFFICIENT"]["findings"]] == ["XFER-ERR-804"]
    assert entries["D-INSUFFICIENT"]["failed_requirements"] == ["XFER-ERR-804"]
    assert entries["D-UNUSED"]["findings"] == []


def test_strict_stance_applies_strict_reading(tmp_path: Path) -> None:
    plugin = ReportPlugin(None, settings(tmp_path, strict=True), catalogue())
    report = plugin.build()
    entries = {d["id"]: d for d in report["discrepancies"]}
    assert report["stance"] == "strict"
    assert entries["D-INSUFFICIENT"]["applied"] == "strict"
    assert entries["D-INSUFFICIENT"]["applied_reading"] == "804 only"
    assert report["verdict"] == "incomplete"  # nothing ran
    assert report["verdict_reasons"] == ["7 testable requirements unchecked"]


def test_all_four_files_and_json_round_trip(
    built: tuple[dict[str, Any], dict[str, Path]], tmp_path: Path
) -> None:
    report, paths = built
    assert {p.name for p in paths.values()} == {
        "conformance.json",
        "conformance.html",
        "summary.md",
        "junit.xml",
    }
    assert all(p.parent == tmp_path / "out" for p in paths.values())
    loaded = load_report(paths["json"])
    assert loaded == report
    again = write_all(loaded, tmp_path / "again")
    for kind in paths:
        assert again[kind].read_text() == paths[kind].read_text()


def test_html_lists_every_requirement_and_escapes_server_text(
    built: tuple[dict[str, Any], dict[str, Path]],
) -> None:
    report, paths = built
    page = paths["html"].read_text()
    for rid in report["requirements"]:
        assert f'id="req-{rid}"' in page  # its details
        assert f'href="#req-{rid}">{rid}</a>' in page  # its matrix row
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own, inline
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "Content-Security-Policy" in page and "default-src &#x27;none&#x27;" in page
    assert "curl -sS -X POST" in page
    assert "003 § Heading of XFER-ERR-804" in page


def test_junit_has_one_case_per_requirement(built: tuple[dict[str, Any], dict[str, Path]]) -> None:
    report, paths = built
    root = ET.parse(paths["junit"]).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == set(report["requirements"])
    assert root.get("failures") == "4" and root.get("tests") == "9"
    failure = cases["XFER-ERR-804"].find("failure")
    assert failure is not None and cases["XFER-ERR-804"].get("classname") == "transferPoints"
    assert failure.get("message") == "insufficient points not rejected with 804"
    assert "curl -sS -X POST" in (failure.text or "")
    skipped = cases["BAL-LIMIT-MAX"].find("skipped")
    assert skipped is not None and skipped.get("message") == "target file has no [customers.rich]"
    assert cases["LEDGER-LIMIT-MAX"].find("failure") is None
    assert cases["LEDGER-LIMIT-MAX"].find("skipped") is None


def test_junit_survives_control_characters(tmp_path: Path) -> None:
    plugin = ReportPlugin(None, settings(tmp_path), catalogue())
    for r in phases(
        "t/x.py::test_ctrl",
        "failed",
        props(
            ["XFER-ERR-804"],
            ["transferPoints"],
            [finding("XFER-ERR-804", "transferPoints", "a\x00b\x1bc\ud800")],
        ),
    ):
        plugin.pytest_runtest_logreport(r)
    paths = write_all(plugin.build(), tmp_path / "ctrl")
    ET.parse(paths["junit"])  # raises on invalid XML


def test_markdown_summary(built: tuple[dict[str, Any], dict[str, Path]]) -> None:
    text = built[1]["markdown"].read_text()
    lines = text.splitlines()
    assert lines[0].startswith(
        "## Points API conformance: **FAIL**, does not conform (lenient stance)"
    )
    assert "| failed | waived | passed | skipped | not exercised | total |" in text
    assert "| 4 | 0 | 3 | 1 | 1 | 9 |" in text
    assert "| transferPoints | 1 | 0 | 1 | 0 | 0 |" in text
    assert "- **REV-ERR-902** (reversePoints): after 3 retries" in text
    assert "```sh" in text and "curl -sS -X POST" in text
    assert "Stance: **lenient**" in text and "D-INSUFFICIENT" in text
    assert "<script>" not in text


def test_no_credential_in_any_file(built: tuple[dict[str, Any], dict[str, Path]]) -> None:
    report, paths = built
    pair_b64 = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for path in paths.values():
        text = path.read_text()
        assert PASSWORD not in text, path.name
        assert BEARER not in text, path.name
        assert pair_b64 not in text, path.name
    assert report["settings"]["password"] == "****"
    assert report["settings"]["bearer"] == "****"
    assert report["settings"]["username"] == "****"
    assert report["settings"]["target_data"]["password"] == "****"
    assert report["settings"]["timeout"] == 10.0


def test_password_from_named_environment_variable_is_scrubbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_PW_VAR", "env-only-password")
    conf = settings(tmp_path, password=None, target_data=SimpleNamespace(password_env="MY_PW_VAR"))
    plugin = ReportPlugin(None, conf, catalogue())
    for r in phases(
        "t/x.py::test_echo",
        "failed",
        props(
            ["REV-ERR-902"],
            ["reversePoints"],
            [finding("REV-ERR-902", "reversePoints", "pw=env-only-password")],
        ),
    ):
        plugin.pytest_runtest_logreport(r)
    report = plugin.build()
    dumped = json.dumps(report)
    assert "env-only-password" not in dumped
    assert "pw=****" in dumped
    assert report["settings"]["target_data"]["password_env"] == "MY_PW_VAR"


def test_report_dir_from_settings_that_say_nothing_else(tmp_path: Path) -> None:
    # The environment's report folder reaches the plugin through Settings, its only reader.
    plugin = ReportPlugin(None, SimpleNamespace(report_dir=tmp_path / "from-settings"), catalogue())
    plugin.pytest_sessionfinish(SimpleNamespace(shouldstop=False, shouldfail=False), 0)  # type: ignore[arg-type]
    assert (tmp_path / "from-settings" / "conformance.json").is_file()
    report = load_report(tmp_path / "from-settings" / "conformance.json")
    assert report["target"] == "" and report["stance"] == "lenient"
    assert all(r["status"] == "not_exercised" for r in report["requirements"].values())


def test_interrupted_run_is_incomplete(tmp_path: Path) -> None:
    plugin = ReportPlugin(None, settings(tmp_path), catalogue())
    for r in phases(
        "t/a.py::test_ok", "passed", props(["LEDGER-LIMIT-MAX"], ["getCustomerLedgerInfo"])
    ):
        plugin.pytest_runtest_logreport(r)
    plugin.pytest_sessionfinish(SimpleNamespace(shouldstop=False, shouldfail=False), 2)  # type: ignore[arg-type]
    assert plugin.report is not None
    assert plugin.report["incomplete"] is True
    assert plugin.report["verdict"] == "incomplete"


def test_the_latest_phase_record_is_the_test_record() -> None:
    collector = Collector()
    nodeid = "t/a.py::test_x"
    loc = ("t/a.py", 1, "test_x")
    setup = [TestRecord(requirements=("A-1",)).user_property()]
    final = [TestRecord(requirements=("A-1", "A-2"), requests=5).user_property()]
    reports = [
        pytest.TestReport(nodeid, loc, {}, "passed", None, "setup", user_properties=setup),
        pytest.TestReport(nodeid, loc, {}, "passed", None, "call", user_properties=final),
        pytest.TestReport(nodeid, loc, {}, "passed", None, "teardown", user_properties=final),
    ]
    for r in reports:
        collector.add(r)
    (result,) = collector.results.values()
    assert result.record.requests == 5
    assert result.record.requirements == ("A-1", "A-2")
    assert collector.checked == 2 and collector.failing == 0


def test_a_record_of_another_shape_is_refused() -> None:
    with pytest.raises(RecordError):
        TestRecord.from_dict({"requirements": ["A-1"], "pc_requests": 2})
    with pytest.raises(RecordError):
        TestRecord.from_dict({"fuzz": [{"operation": "op", "requests": 3, "ok": 2}]})


def test_setup_error_fails_requirements_with_the_error_line() -> None:
    collector = Collector()
    for r in phases(
        "t/a.py::test_y",
        "failed",
        props(["A-1"], ["op"]),
        exc=RuntimeError("target unreachable: http://127.0.0.1:1"),
        fail_when="setup",
    ):
        collector.add(r)
    records, tests = collector.records({})
    assert records["A-1"]["status"] == "not_exercised"  # derive happens in finalize
    assert records["A-1"]["tests"][0]["verdict"] == "failed"
    assert tests["t/a.py::test_y"]["outcome"] == "error"
    assert (
        tests["t/a.py::test_y"]["message"] == "RuntimeError: target unreachable: http://127.0.0.1:1"
    )


def test_failure_line_skips_assertion_explanations() -> None:
    class Crash:
        message = "AssertionError: assert 2 == 1\n +  where 2 = f()"

    assert failure_line(SimpleNamespace(longrepr=SimpleNamespace(reprcrash=Crash()))) == (
        "AssertionError: assert 2 == 1"
    )
    assert (
        failure_line(SimpleNamespace(longrepr="Traceback...\nE   OSError: boom\n"))
        == "OSError: boom"
    )


def test_xfail_is_a_skip_with_its_reason(tmp_path: Path) -> None:
    plugin = ReportPlugin(None, settings(tmp_path), catalogue())
    loc = ("t/a.py", 1, "test_x")
    rep = pytest.TestReport(
        "t/a.py::test_x",
        loc,
        {},
        "skipped",
        None,
        "call",
        user_properties=[TestRecord(requirements=("BAL-LIMIT-MAX",)).user_property()],
    )
    rep.wasxfail = "reason: known server bug"
    plugin.pytest_runtest_logreport(rep)
    report = plugin.build()
    assert report["requirements"]["BAL-LIMIT-MAX"]["status"] == "skipped"
    assert report["requirements"]["BAL-LIMIT-MAX"]["reason"] == "expected to fail: known server bug"


def test_spec_version_changes_with_the_specs(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: 1\n")
    first = spec_version(tmp_path)
    (tmp_path / "a.yaml").write_text("a: 2\n")
    assert spec_version(tmp_path) != first
    assert spec_version(tmp_path / "missing") == "unknown"


def test_missing_catalogue_module_still_writes_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "points_conformance.catalogue", None)
    plugin = ReportPlugin(None, settings(tmp_path), None)
    for r in phases(
        "t/a.py::test_ok", "passed", props(["LEDGER-LIMIT-MAX"], ["getCustomerLedgerInfo"])
    ):
        plugin.pytest_runtest_logreport(r)
    report = plugin.build()
    assert report["catalogue_error"].startswith("catalogue not loaded")
    assert report["requirements"]["LEDGER-LIMIT-MAX"]["status"] == "passed"


def test_validate_rejects_what_is_not_a_report() -> None:
    with pytest.raises(ReportFormatError, match="not a JSON object"):
        validate([])
    with pytest.raises(ReportFormatError, match="not a conformance report"):
        validate({"format": "other"})
    with pytest.raises(ReportFormatError, match="has no valid status"):
        validate({"format": FORMAT, "requirements": {"A": {"status": "weird"}}})


def test_unwritable_report_dir_is_reported_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    plugin = ReportPlugin(None, settings(tmp_path, report_dir=blocker / "sub"), catalogue())
    plugin.pytest_sessionfinish(SimpleNamespace(shouldstop=False, shouldfail=False), 0)  # type: ignore[arg-type]
    assert plugin.paths == {}
    assert plugin.write_error.startswith("conformance report not written:")
    lines: list[str] = []
    plugin.pytest_terminal_summary(
        SimpleNamespace(write_line=lambda text, **kw: lines.append(text))
    )
    assert lines == [plugin.write_error]
