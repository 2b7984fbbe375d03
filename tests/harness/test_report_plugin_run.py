"""ReportPlugin inside real pytest runs, with and without pytest-xdist.

The inner runs load only the report plugin (through their own conftest, with a stand-in
catalogue) and pytest-xdist where asked: plugin autoloading is off, which also keeps them fast.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

CONFTEST = """
import os
from types import SimpleNamespace

from points_conformance.plugin.report import ReportPlugin


def _req(rid, op):
    return SimpleNamespace(
        id=rid, operations=[op], source=SimpleNamespace(page="003", heading="Errors"),
        statement=rid + " statement", check="", discrepancy=None, strict_only=False, testable=True,
    )


CATALOGUE = SimpleNamespace(
    requirements={r.id: r for r in [
        _req("R-PASS", "opA"), _req("R-FAIL", "opA"), _req("R-ERR", "opB"),
        _req("R-SKIP", "opB"), _req("R-MANY", "opA"), _req("R-NONE", "opB"),
    ]},
    discrepancies={},
)


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        return
    settings = SimpleNamespace(
        base_url="http://127.0.0.1:1",
        strict=False,
        report_dir=os.path.join(str(config.rootpath), "out"),
        password="s3cr3t-pass-word",
    )
    config.pluginmanager.register(ReportPlugin(config, settings, CATALOGUE), "pc-report")
"""

TESTS = """
import time

import pytest

from points_conformance.model import Finding
from points_conformance.records import TestRecord


def record(request, reqs, ops, findings=()):
    record = TestRecord(
        requirements=tuple(reqs),
        operations=tuple(ops),
        findings=tuple(f.to_dict() for f in findings),
        requests=1,
    )
    request.node.user_properties.append(record.user_property())


def test_pass(request):
    record(request, ["R-PASS"], ["opA"])


def test_finding(request):
    record(request, ["R-FAIL"], ["opA"], [Finding("R-FAIL", "wrong code", "804", "200 s3cr3t-pass-word")])
    pytest.fail("R-FAIL: wrong code")


def test_exception(request):
    record(request, ["R-ERR"], ["opB"])
    raise ConnectionError("connect to http://127.0.0.1:1 failed: refused")


def test_skip(request):
    record(request, ["R-SKIP"], ["opB"])
    pytest.skip("no data for R-SKIP")


@pytest.mark.parametrize("i", range(6))
def test_many(request, i):
    record(request, ["R-MANY"], ["opA"])
    time.sleep(0.05)
"""


# The suite's own plugin would replace the records these tests write themselves.
INNER = ("-p", "no:cacheprovider", "-p", "no:points_conformance")


@pytest.fixture(autouse=True)
def _no_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("POINTS_CONFORMANCE_PROGRESS", raising=False)


def _run(pytester: pytest.Pytester, *args: str) -> dict[str, object]:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=TESTS)
    result = pytester.runpytest_subprocess(*INNER, *args)
    assert result.ret == 1, result.stdout.str()
    out = pytester.path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "conformance.html",
        "conformance.json",
        "junit.xml",
        "summary.md",
    ]
    for path in out.iterdir():
        text = path.read_text()
        assert "s3cr3t-pass-word" not in text, path.name
        assert "Traceback" not in text, path.name
    report: dict[str, object] = json.loads((out / "conformance.json").read_text())
    summary = [line for line in result.stdout.lines if line.startswith("conformance (lenient)")]
    assert (
        summary
        and "does not conform - 2 failed, 2 passed, 1 skipped, 1 not exercised" in summary[0]
    )
    return report


def _check(report: dict[str, object]) -> None:
    requirements = report["requirements"]
    assert isinstance(requirements, dict)
    assert {rid: r["status"] for rid, r in requirements.items()} == {
        "R-PASS": "passed",
        "R-FAIL": "failed",
        "R-ERR": "failed",
        "R-SKIP": "skipped",
        "R-MANY": "passed",
        "R-NONE": "not_exercised",
    }
    assert requirements["R-ERR"]["reason"] == (
        "ConnectionError: connect to http://127.0.0.1:1 failed: refused"
    )
    assert requirements["R-FAIL"]["findings"][0]["actual"] == "200 ****"
    assert requirements["R-SKIP"]["reason"] == "no data for R-SKIP"
    assert len(requirements["R-MANY"]["tests"]) == 6
    assert report["requests"] == 10


def test_single_process_run(pytester: pytest.Pytester) -> None:
    _check(_run(pytester))


def test_xdist_run_reports_every_worker(pytester: pytest.Pytester) -> None:
    report = _run(pytester, "-p", "xdist.plugin", "-n", "2")
    _check(report)
    tests = report["tests"]
    assert isinstance(tests, dict) and len(tests) == 10


def test_live_progress_on_a_terminal(pytester: pytest.Pytester) -> None:
    """On a TTY the one-line display replaces pytest's letters and ends with the final figures."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=TESTS)
    env = {**os.environ, "COLUMNS": "120"}
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *INNER],
        cwd=pytester.path,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other side closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=30) == 1
    screen = b"".join(chunks).decode(errors="replace")
    final = "conformance: 4 requirements checked, 2 failing (10/10 tests"
    assert final in screen
    # pytest's per-test letters are not interleaved with the line
    lines = [line.split("\r")[-1].strip() for line in screen.splitlines()]
    assert not any(re.match(r"test_inner\.py \S", line) for line in lines), screen
    assert any(line.startswith(final) for line in lines), screen
    assert "2 failed, 7 passed, 1 skipped" in screen


def test_ci_prints_no_live_line(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=TESTS)
    result = pytester.runpytest_subprocess(*INNER)
    # A run shorter than the 30 s interval prints no progress line at all.
    assert not [line for line in result.stdout.lines if line.startswith("conformance: ")]
    assert any(re.match(r"test_inner\.py [.Fs]+", line) for line in result.stdout.lines)


def test_the_report_package_works_without_pytest(tmp_path: Path) -> None:
    code = (
        "import sys, points_conformance.report as r; "
        "print(sorted(r.__all__), 'pytest' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "write_all" in done.stdout and done.stdout.rstrip().endswith("False")


def test_collect_only_writes_no_report(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=TESTS)
    result = pytester.runpytest_subprocess(*INNER, "--collect-only", "-q")
    assert result.ret == 0, result.stdout.str()
    assert not (pytester.path / "out").exists()
