"""Merging shard reports and diffing a run against a baseline, as functions and as commands."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest

from points_conformance.cli import main as cli_main
from points_conformance.model import Finding
from points_conformance.plugin.report import ReportPlugin
from points_conformance.records import TestRecord
from points_conformance.report import (
    diff_reports,
    load_report,
    merge_reports,
    write_all,
)
from points_conformance.report.model import ReportFormatError

IDS = ("A-ERR-1", "A-ERR-2", "B-PAGE-1", "B-PAGE-2")


def _catalogue(ids: tuple[str, ...] = IDS) -> SimpleNamespace:
    return SimpleNamespace(
        requirements={
            rid: SimpleNamespace(
                id=rid,
                operations=["opA" if rid.startswith("A") else "opB"],
                source=SimpleNamespace(page="003", heading="h"),
                statement=f"{rid} statement",
                check="",
                discrepancy=None,
                strict_only=False,
                testable=True,
            )
            for rid in ids
        },
        discrepancies={
            "D-1": SimpleNamespace(
                id="D-1", title="t", stance="lenient", strict="strict", affects=[]
            )
        },
    )


Outcome = Literal["passed", "failed", "skipped"]
Phase = Literal["setup", "call", "teardown"]


def build(
    outcomes: dict[str, Outcome], *, shard: str = "", ids: tuple[str, ...] = IDS, **settings: Any
) -> dict[str, Any]:
    """A report in which each requirement's one test ended as given (passed/failed/skipped)."""
    plugin = ReportPlugin(
        None, SimpleNamespace(base_url="http://127.0.0.1:1", **settings), _catalogue(ids)
    )
    for rid, outcome in outcomes.items():
        nodeid = f"t{shard}.py::test_{rid}"
        op = "opA" if rid.startswith("A") else "opB"
        findings: tuple[dict[str, Any], ...] = ()
        longrepr: Any = None
        if outcome == "failed":
            findings = (Finding(rid, f"{rid} broke in {shard or 'one'}", "x", "y").to_dict(),)
            longrepr = "AssertionError: findings"
        record = TestRecord(requirements=(rid,), operations=(op,), requests=2, findings=findings)
        props = [record.user_property()]
        if outcome == "skipped":
            longrepr = ("t.py", 1, f"Skipped: no data for {rid}")
        loc = (f"t{shard}.py", 1, rid)
        steps: tuple[tuple[Phase, Outcome], ...] = (
            ("setup", "passed"),
            ("call", outcome),
            ("teardown", "passed"),
        )
        for when, phase_outcome in steps:
            plugin.pytest_runtest_logreport(
                pytest.TestReport(
                    nodeid,
                    loc,
                    {},
                    phase_outcome,
                    longrepr if when == "call" else None,
                    when,
                    duration=0.1,
                    user_properties=props,
                )
            )
    return plugin.build()


def test_merge_failed_wins_and_tests_are_unioned() -> None:
    one = build({"A-ERR-1": "passed", "A-ERR-2": "skipped", "B-PAGE-1": "passed"}, shard="1")
    two = build({"A-ERR-1": "failed", "A-ERR-2": "passed"}, shard="2")
    merged = merge_reports([one, two], ["one.json", "two.json"])
    status = {rid: r["status"] for rid, r in merged["requirements"].items()}
    assert status == {
        "A-ERR-1": "failed",  # failed wins over passed
        "A-ERR-2": "passed",  # passed over skipped
        "B-PAGE-1": "passed",  # passed over not exercised
        "B-PAGE-2": "not_exercised",
    }
    a1 = merged["requirements"]["A-ERR-1"]
    assert {t["nodeid"] for t in a1["tests"]} == {"t1.py::test_A-ERR-1", "t2.py::test_A-ERR-1"}
    assert [f["message"] for f in a1["findings"]] == ["A-ERR-1 broke in 2"]
    assert a1["by_operation"] == {"opA": "failed"}
    assert merged["counts"] == {
        "failed": 1,
        "waived": 0,
        "passed": 2,
        "skipped": 0,
        "not_exercised": 1,
        "total": 4,
    }
    assert merged["requests"] == one["requests"] + two["requests"] == 10
    assert set(merged["tests"]) == set(one["tests"]) | set(two["tests"])
    assert merged["sources"] == ["one.json", "two.json"]
    assert merged["operations"]["opA"]["failed"] == 1
    assert merged["verdict"] == "does not conform"
    # inputs are not modified
    assert one["requirements"]["A-ERR-1"]["status"] == "passed"


def test_merge_is_order_independent_for_statuses() -> None:
    one = build({"A-ERR-1": "failed", "B-PAGE-1": "skipped"}, shard="1")
    two = build({"A-ERR-1": "passed", "B-PAGE-1": "passed"}, shard="2")
    forward = merge_reports([one, two])
    backward = merge_reports([two, one])
    assert {k: v["status"] for k, v in forward["requirements"].items()} == {
        k: v["status"] for k, v in backward["requirements"].items()
    }


def test_merge_of_findings_deduplicates() -> None:
    one = build({"A-ERR-1": "failed"})
    merged = merge_reports([one, one])
    assert len(merged["requirements"]["A-ERR-1"]["findings"]) == 1
    assert len(merged["requirements"]["A-ERR-1"]["tests"]) == 1


def test_merge_of_different_stances_says_so() -> None:
    merged = merge_reports([build({}, strict=True), build({}, strict=False)])
    assert merged["stance"] == "lenient | strict"
    assert merged["incomplete"] is True


def test_diff_classifies_changes() -> None:
    baseline = build(
        {"A-ERR-1": "passed", "A-ERR-2": "failed", "B-PAGE-1": "passed"},
        ids=("A-ERR-1", "A-ERR-2", "B-PAGE-1", "OLD-1"),
    )
    current = build(
        {"A-ERR-1": "failed", "A-ERR-2": "passed", "B-PAGE-1": "skipped"},
        ids=("A-ERR-1", "A-ERR-2", "B-PAGE-1", "NEW-1"),
    )
    diff = diff_reports(baseline, current)
    assert [(c.requirement, c.before, c.after) for c in diff.regressed] == [
        ("A-ERR-1", "passed", "failed")
    ]
    assert diff.regressed[0].reason == "A-ERR-1 broke in one"
    assert [c.requirement for c in diff.fixed] == ["A-ERR-2"]
    assert [(c.requirement, c.after) for c in diff.new] == [("NEW-1", "not_exercised")]
    assert [(c.requirement, c.before) for c in diff.disappeared] == [("OLD-1", "not_exercised")]
    assert [(c.requirement, c.before, c.after) for c in diff.changed] == [
        ("B-PAGE-1", "passed", "skipped")
    ]
    assert diff.has_regressions
    text = diff.to_text()
    assert "Regressed (fails now, or with a new finding): 1" in text
    assert "A-ERR-1: passed -> failed  (A-ERR-1 broke in one)" in text
    assert json.loads(json.dumps(diff.to_dict()))["fixed"][0]["requirement"] == "A-ERR-2"


def test_diff_without_regression() -> None:
    same = build({"A-ERR-1": "passed", "A-ERR-2": "skipped"})
    diff = diff_reports(same, build({"A-ERR-1": "passed", "A-ERR-2": "passed"}))
    assert not diff.has_regressions
    assert diff.changed[0].requirement == "A-ERR-2"


def test_a_failure_of_a_requirement_unchecked_in_the_baseline_is_a_regression() -> None:
    same = build({"A-ERR-1": "passed"})
    diff = diff_reports(same, build({"A-ERR-1": "passed", "A-ERR-2": "failed"}))
    assert [(c.requirement, c.before) for c in diff.regressed] == [("A-ERR-2", "not_exercised")]


def _write(path: Path, report: dict[str, Any]) -> Path:
    path.write_text(json.dumps(report))
    return path


def test_cli_diff_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _write(tmp_path / "base.json", build({"A-ERR-1": "passed", "A-ERR-2": "failed"}))
    worse = _write(tmp_path / "worse.json", build({"A-ERR-1": "failed", "A-ERR-2": "failed"}))
    better = _write(tmp_path / "better.json", build({"A-ERR-1": "passed", "A-ERR-2": "passed"}))

    assert cli_main(["report", "diff", str(base), str(worse)]) == 1
    assert "A-ERR-1: passed -> failed" in capsys.readouterr().out
    assert cli_main(["report", "diff", str(base), str(better)]) == 0
    assert "Fixed (failed -> passed): 1" in capsys.readouterr().out
    assert cli_main(["report", "diff", str(base), str(base)]) == 0
    assert "No requirement changed status." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"format": "points-conformance-report/1"}', "'requirements' is missing"),
        ('{"format": "junit"}', "not a conformance report"),
    ],
)
def test_cli_diff_unreadable_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    good = _write(tmp_path / "good.json", build({"A-ERR-1": "passed"}))
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert cli_main(["report", "diff", str(bad), str(good)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_cli_merge_writes_all_four_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write(tmp_path / "a.json", build({"A-ERR-1": "passed", "B-PAGE-1": "passed"}, shard="1"))
    b = _write(tmp_path / "b.json", build({"A-ERR-1": "failed"}, shard="2"))
    out = tmp_path / "merged"
    assert cli_main(["report", "merge", str(a), str(b), "-o", str(out)]) == 0
    assert "merged 2 reports: does not conform" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "conformance.html",
        "conformance.json",
        "junit.xml",
        "summary.md",
    ]
    merged = load_report(out / "conformance.json")
    assert merged["requirements"]["A-ERR-1"]["status"] == "failed"
    assert merged["requirements"]["B-PAGE-1"]["status"] == "passed"
    assert "A-ERR-1" in (out / "conformance.html").read_text()


def test_cli_merge_default_dir_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write(tmp_path / "a.json", build({"A-ERR-1": "passed"}))
    monkeypatch.setenv("POINTS_CONFORMANCE_REPORT_DIR", str(tmp_path / "envdir"))
    assert cli_main(["report", "merge", str(a)]) == 0
    assert (tmp_path / "envdir" / "junit.xml").is_file()


def test_cli_render_and_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = build({"A-ERR-1": "failed"})
    written = write_all(report, tmp_path / "r")
    written["html"].unlink()
    assert cli_main(["report", "render", str(written["json"])]) == 0
    assert written["html"].is_file()
    assert cli_main(["report"]) == 2
    assert cli_main(["report", "bogus"]) == 2
    assert cli_main(["report", "merge"]) == 2


def test_merge_rejects_invalid_input() -> None:
    with pytest.raises(ReportFormatError):
        merge_reports([])
    with pytest.raises(ReportFormatError, match=r"x\.json"):
        merge_reports([{"format": "nope"}], ["x.json"])
