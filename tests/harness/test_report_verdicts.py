"""Honest verdicts, waivers and the baseline gate, on synthetic reports.

A verdict says "conforms" only when every requirement testable in the run's stance passed (or is
waived); unchecked requirements make it "incomplete" and name what would let them run; waivers
turn failures into waived ones until they expire; a baseline gate fails only on what got worse.
"""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest

from points_conformance import runner
from points_conformance.model import Finding
from points_conformance.plugin.report import ReportPlugin
from points_conformance.records import TestRecord
from points_conformance.report import diff_reports, merge_reports
from points_conformance.report.baseline import normalise, signature
from points_conformance.report.model import finalize, gate_problems
from points_conformance.settings import SettingsError, resolve_settings
from points_conformance.waivers import WaiverFileError, load_waivers, parse_waivers

# (operation, strict_only, testable) per requirement of the stand-in catalogue.
CATALOGUE = {
    "A-ERR-1": ("opA", False, True),
    "A-ERR-2": ("opA", False, True),
    "B-PAGE-1": ("opB", False, True),
    "S-STRICT-1": ("opB", True, True),
    "U-OUT-1": ("opB", False, False),
}
Outcome = Literal["passed", "failed", "skipped"]
TODAY = datetime.date(2026, 12, 3)


def _catalogue() -> SimpleNamespace:
    return SimpleNamespace(
        requirements={
            rid: SimpleNamespace(
                id=rid,
                operations=[op],
                source=SimpleNamespace(page="003", heading="h"),
                statement=f"{rid} statement",
                check="",
                discrepancy=None,
                strict_only=strict_only,
                testable=testable,
            )
            for rid, (op, strict_only, testable) in CATALOGUE.items()
        },
        discrepancies={},
    )


def _waivers(text: str, tmp_path: Path) -> Any:
    path = tmp_path / "waivers.toml"
    path.write_text(text)
    return load_waivers(path)


def build(
    outcomes: dict[str, Outcome],
    *,
    strict: bool = False,
    missing: dict[str, tuple[str, ...]] | None = None,
    writes_refused: tuple[str, ...] = (),
    messages: dict[str, str] | None = None,
    waivers: Any = (),
    fail_on_stale: bool = False,
) -> dict[str, Any]:
    """A report in which each requirement's one test ended as given."""
    settings = SimpleNamespace(
        base_url="http://127.0.0.1:1",
        strict=strict,
        waivers=waivers,
        waivers_file="waivers.toml" if waivers else None,
        fail_on_stale_waivers=fail_on_stale,
    )
    plugin = ReportPlugin(None, settings, _catalogue())
    for rid, outcome in outcomes.items():
        nodeid = f"t.py::test_{rid}"
        op = CATALOGUE[rid][0]
        findings: tuple[dict[str, Any], ...] = ()
        longrepr: Any = None
        if outcome == "failed":
            message = (messages or {}).get(rid, f"{rid} broke")
            findings = (Finding(rid, message, "x", "y").to_dict(),)
            longrepr = "AssertionError: findings"
        if outcome == "skipped":
            longrepr = ("t.py", 1, f"Skipped: no data for {rid}")
        record = TestRecord(
            requirements=(rid,),
            operations=(op,),
            findings=findings,
            missing_data=(missing or {}).get(rid, ()),
            writes_refused=rid in writes_refused,
        )
        for when in ("setup", "call", "teardown"):
            plugin.pytest_runtest_logreport(
                pytest.TestReport(
                    nodeid,
                    ("t.py", 1, rid),
                    {},
                    outcome if when == "call" else "passed",
                    longrepr if when == "call" else None,
                    when,
                    user_properties=[record.user_property()],
                )
            )
    return plugin.build(finished=datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.UTC))


ALL_PASS: dict[str, Outcome] = {"A-ERR-1": "passed", "A-ERR-2": "passed", "B-PAGE-1": "passed"}


def test_conforms_only_when_every_testable_requirement_passed() -> None:
    report = build(ALL_PASS)
    assert report["verdict"] == "conforms"
    assert report["unchecked"] == []  # the strict-only one does not count in the default run


def test_a_strict_run_counts_strict_only_requirements() -> None:
    report = build(ALL_PASS, strict=True)
    assert report["verdict"] == "incomplete"
    assert [u["id"] for u in report["unchecked"]] == ["S-STRICT-1"]


def test_nothing_failed_but_something_unchecked_is_incomplete() -> None:
    report = build(
        {"A-ERR-1": "passed", "A-ERR-2": "skipped", "B-PAGE-1": "skipped"},
        missing={"A-ERR-2": ("customers.rich", "customers.poor")},
        writes_refused=("B-PAGE-1",),
    )
    assert report["verdict_kind"] == report["verdict"] == "incomplete"
    assert report["verdict_reasons"] == ["2 testable requirements unchecked"]
    unlock = {u["id"]: u["unlock"] for u in report["unchecked"]}
    assert unlock["A-ERR-2"] == [
        "target-file key customers.poor",
        "target-file key customers.rich",
    ]
    assert unlock["B-PAGE-1"] == ["--allow-writes (writes not allowed against this target)"]
    record = report["requirements"]["A-ERR-2"]
    assert record["reason"].startswith("needs target-file key customers.poor; ")


def test_a_requirement_no_test_names_is_unlocked_by_what_its_operations_tests_lacked() -> None:
    """A-ERR-2 is judged only on answers of opA; the one test of opA was skipped for want of
    customers.rich, so that key is what would let A-ERR-2 run."""
    report = build({"A-ERR-1": "skipped"}, missing={"A-ERR-1": ("customers.rich",)})
    unlock = {u["id"]: u["unlock"] for u in report["unchecked"]}
    assert unlock["A-ERR-2"] == ["target-file key customers.rich"]
    assert report["requirements"]["A-ERR-2"]["status"] == "not_exercised"
    assert "customers.rich" in report["requirements"]["A-ERR-2"]["reason"]
    # Nothing skipped for want of data on opB: its unexercised requirement names no key.
    assert unlock["B-PAGE-1"] == []


def test_a_failure_wins_over_unchecked() -> None:
    report = build({"A-ERR-1": "failed", "A-ERR-2": "skipped"})
    assert report["verdict"] == "does not conform"


def test_a_selection_is_incomplete_even_when_all_it_ran_passed() -> None:
    report = build(ALL_PASS)
    report["selection"] = {"partial": True, "by": ["-m 'ledger'"]}
    finalize(report)
    assert report["verdict"] == "incomplete"
    assert report["verdict_reasons"] == ["a selection of the suite (-m 'ledger')"]


WAIVER = """
[[waiver]]
requirement = "A-ERR-1"
reason = "fix ships in 4.2"
ticket = "PTS-1"
expires = {expires}
"""


def test_a_waived_failure_conforms_with_one_waiver(tmp_path: Path) -> None:
    waivers = _waivers(WAIVER.format(expires="2027-01-31"), tmp_path)
    report = build({**ALL_PASS, "A-ERR-1": "failed"}, waivers=waivers)
    record = report["requirements"]["A-ERR-1"]
    assert record["status"] == "waived" and record["waiver"]["was"] == "failed"
    assert record["by_operation"] == {"opA": "waived"}
    assert report["verdict"] == "conforms, with 1 waiver"
    assert report["counts"]["waived"] == 1 and report["counts"]["failed"] == 0
    assert gate_problems(report) == []
    assert [w["requirements"] for w in report["waivers"]["applied"]] == [["A-ERR-1"]]
    again = finalize(report)  # finalize (and so merge) applies the waivers once
    assert again["requirements"]["A-ERR-1"]["waiver"]["was"] == "failed"
    merged = merge_reports([report, report])
    assert merged["requirements"]["A-ERR-1"]["status"] == "waived"
    assert merged["verdict"] == "conforms, with 1 waiver"


def test_an_expired_waiver_waives_nothing_and_fails_the_gate(tmp_path: Path) -> None:
    waivers = _waivers(WAIVER.format(expires="2026-12-02"), tmp_path)
    report = build({**ALL_PASS, "A-ERR-1": "failed"}, waivers=waivers)
    assert report["requirements"]["A-ERR-1"]["status"] == "failed"
    assert report["verdict"] == "does not conform"
    assert gate_problems(report) == [
        "expired waiver: A-ERR-1 [PTS-1], expires 2026-12-02 (waiver 1)"
    ]


def test_a_waiver_on_a_passing_requirement_is_stale(tmp_path: Path) -> None:
    waivers = _waivers(WAIVER.format(expires="2027-01-31"), tmp_path)
    report = build(ALL_PASS, waivers=waivers)
    assert report["verdict"] == "conforms"
    assert [w["requirement"] for w in report["waivers"]["stale"]] == ["A-ERR-1"]
    assert gate_problems(report) == []
    strict_gate = build(ALL_PASS, waivers=waivers, fail_on_stale=True)
    assert gate_problems(strict_gate) == [
        "stale waiver: A-ERR-1 [PTS-1], expires 2027-01-31 (waiver 1)"
    ]


def test_a_waiver_for_one_operation_does_not_cover_another(tmp_path: Path) -> None:
    waivers = _waivers(
        '[[waiver]]\nrequirement = "A-ERR-1"\noperation = "transferPoints"\n'
        'reason = "r"\nexpires = 2027-01-31\n',
        tmp_path,
    )
    report = build({**ALL_PASS, "A-ERR-1": "failed"}, waivers=waivers)
    assert report["requirements"]["A-ERR-1"]["status"] == "failed"
    assert "covers transferPoints only" in report["requirements"]["A-ERR-1"]["reason"]


def test_declared_absent_data_waives_what_it_left_unchecked(tmp_path: Path) -> None:
    waivers = _waivers(
        '[[absent]]\nkey = "customers"\nreason = "staging has no customers"\n', tmp_path
    )
    report = build(
        {"A-ERR-1": "passed", "A-ERR-2": "skipped", "B-PAGE-1": "passed"},
        missing={"A-ERR-2": ("customers.rich",)},
        waivers=waivers,
    )
    assert report["requirements"]["A-ERR-2"]["status"] == "waived"
    assert report["verdict"] == "conforms, with 1 waiver"
    assert report["waivers"]["applied"][0]["requirements"] == ["A-ERR-2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[waiver]]\nrequirement = 'A'\nexpires = 2027-01-01\n", "waiver 1: reason is missing"),
        (
            "[[waiver]]\nrequirement = 'A'\nreason = 'r'\nexpires = 'soon'\n",
            "expires must be a date",
        ),
        ("[[waiver]]\nrequirement = 'A'\nreason = 'r'\n", "expires is missing"),
        ("[[waiver]\nrequirement = 'A'\n", "not valid TOML"),
        (
            "[[waiver]]\nrequirement = 'A'\noperation = 'nope'\nreason = 'r'\n"
            "expires = 2027-01-01\n",
            "unknown operation 'nope'",
        ),
        ("[[absent]]\nkey = 'a..b'\nreason = 'r'\n", "dotted target-file key"),
        ("[waivers]\n", "unknown table(s) waivers"),
    ],
)
def test_a_bad_waiver_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(WaiverFileError) as caught:
        _waivers(text, tmp_path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_waiver_file_comes_through_settings(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(WAIVER.format(expires="2027-01-31"))
    settings = resolve_settings({}, {"POINTS_CONFORMANCE_WAIVERS": str(path)})
    assert [w.requirement for w in settings.waivers] == ["A-ERR-1"]
    assert settings.waivers_file == path
    path.write_text("[[waiver]]\n")
    with pytest.raises(SettingsError, match=r"^--waivers: .*waiver 1: reason is missing$"):
        resolve_settings({"waivers": str(path)}, {})
    assert parse_waivers({}) == ()


def test_a_signature_leaves_out_ids_dates_and_counts() -> None:
    one = Finding("A-ERR-1", "customer 5001 got 17 rows at 2026-12-03T10:00:00Z", "x", "y")
    two = Finding("A-ERR-1", "customer 5002 got 3 rows at 2026-12-04T11:30:00+05:30", "x", "z")
    assert signature(one.to_dict()) == signature(two.to_dict())
    assert normalise("ref pc-1a2b3c refused with 8015") == "ref # refused with #"
    other = Finding("A-ERR-1", "customer 5001 got no rows", "x", "y")
    assert signature(one.to_dict()) != signature(other.to_dict())


def test_the_baseline_gate_fails_only_on_what_got_worse() -> None:
    baseline = build({**ALL_PASS, "A-ERR-1": "failed"})
    same = build({**ALL_PASS, "A-ERR-1": "failed"})
    assert not diff_reports(baseline, same).has_regressions
    new_finding = build({**ALL_PASS, "A-ERR-1": "failed"}, messages={"A-ERR-1": "another problem"})
    regressed = diff_reports(baseline, new_finding).regressed
    assert [c.requirement for c in regressed] == ["A-ERR-1"]
    assert regressed[0].reason == "new finding: A-ERR-1 | | another problem"
    worse = build({**ALL_PASS, "A-ERR-1": "failed", "A-ERR-2": "failed"})
    assert [c.requirement for c in diff_reports(baseline, worse).regressed] == ["A-ERR-2"]
    better = diff_reports(baseline, build(ALL_PASS))
    assert [c.requirement for c in better.fixed] == ["A-ERR-1"]


def _judge(report: dict[str, Any], baseline: dict[str, Any] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = runner._judge(report, False, baseline, out)
    return code, out.getvalue()


def test_run_exit_statuses(tmp_path: Path) -> None:
    assert _judge(build(ALL_PASS))[0] == runner.EXIT_CONFORMS == 0
    assert _judge(build({**ALL_PASS, "A-ERR-1": "failed"}))[0] == runner.EXIT_FAILED == 1
    code, text = _judge(build({**ALL_PASS, "A-ERR-2": "skipped"}, missing={"A-ERR-2": ("x.y",)}))
    assert code == runner.EXIT_INCOMPLETE == 3
    assert "verdict: incomplete (1 testable requirement unchecked)" in text
    assert "A-ERR-2  [skipped]  needs target-file key x.y" in text
    expired = _waivers(WAIVER.format(expires="2026-01-01"), tmp_path)
    code, text = _judge(build(ALL_PASS, waivers=expired))
    assert code == 1 and "gate: fails on expired waiver: A-ERR-1" in text


def test_run_against_a_baseline_exits_on_what_got_worse() -> None:
    baseline = build({**ALL_PASS, "A-ERR-1": "failed"})
    code, text = _judge(build({**ALL_PASS, "A-ERR-1": "failed"}), baseline)
    assert code == 0 and "nothing got worse" in text
    code, text = _judge(build({**ALL_PASS, "A-ERR-1": "failed", "B-PAGE-1": "failed"}), baseline)
    assert code == 1 and "worse: B-PAGE-1 (passed -> failed)" in text
    assert "worse: A-ERR-1" not in text
    code, text = _judge(build(ALL_PASS), baseline)
    assert code == 0 and "improved: A-ERR-1 (failed -> passed)" in text


def test_split_baseline() -> None:
    assert runner.split_baseline(["-m", "x", "--baseline", "a.json", "-q"]) == (
        ["-m", "x", "-q"],
        "a.json",
    )
    assert runner.split_baseline(["--baseline=b.json"]) == ([], "b.json")


def test_a_test_record_carries_its_typed_skip() -> None:
    record = TestRecord(missing_data=("customers.rich",), writes_refused=True)
    assert TestRecord.from_dict(record.to_dict()) == record


def test_typed_skips_reach_the_test_record(pytester: pytest.Pytester) -> None:
    target = pytester.path / "target.toml"
    target.write_text('[target]\nbase_url = "https://api.example.com"\n')
    pytester.makepyfile(
        """
        from points_conformance.plugin.fixtures import skip_missing

        def test_needs_key(require):
            require("redemptions.reversed_id")

        def test_needs_customer(require_customer):
            require_customer("rich")

        def test_needs_either():
            skip_missing("transfer.otp_header", "transfer.otp_env", detail="no OTP to use")

        def test_needs_writes(writes_allowed):
            pass
        """
    )
    reprec = pytester.inline_run(
        "-pno:points_conformance_report", f"--target={target}", "--bearer=tok"
    )
    skipped = {
        r.nodeid.split("::")[-1]: TestRecord.from_dict(
            dict(r.user_properties)["points_conformance"]
        )
        for r in reprec.getreports("pytest_runtest_logreport")
        if r.skipped
    }
    assert skipped["test_needs_key"].missing_data == ("redemptions.reversed_id",)
    assert skipped["test_needs_customer"].missing_data == ("customers.rich",)
    assert skipped["test_needs_either"].missing_data == ("transfer.otp_header", "transfer.otp_env")
    assert skipped["test_needs_writes"].writes_refused is True
    assert skipped["test_needs_writes"].missing_data == ()
