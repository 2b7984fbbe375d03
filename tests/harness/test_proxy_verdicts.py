"""The proxy judges a suite run's traffic as the run does: the same requirements failed.

The reference server runs faultless and with faults of different kinds (a page count that
loses the last page, a neighbouring error code, a transfer that loses its credit, a reversal
accepted twice); tests of the suite run through the proxy in a child pytest (loopback only).
The requirements the run's report fails must be those the proxy's own report fails, but for
those a judge of traffic says it does not speak for (`har.judging.traffic_requirements`), and
the ones the fault breaks. The transfer and reversal faults are judged from the balances and
the whole ledgers the tests read around each write and from the repeated reversal
(`har.pairing`, `har.ledger_pairing`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from points_conformance.embedded import start_embedded
from points_conformance.har.judging import traffic_requirements
from points_conformance.settings import resolve_settings

from .test_proxy import _proxy, _settings

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "conformance"
# The suite's ledger tests: the walks and page edges, the parameter matrix and the balances
# compared with a ledger reading.
LEDGER = ("test_pagination.py", "test_ledger_info.py", "test_fault_gaps.py")
WRITES = ("test_transfer.py", "test_reverse.py")
# What the balances and ledgers read around the suite's transfers and reversals judge.
PAIRED = {"XFER-STATE-CONSERVE", "XFER-STATE-LEDGER", "REV-STATE-BALANCE", "REV-STATE-LEDGER"}


@dataclass(frozen=True)
class Case:
    """Faults, suite files, the requirements the run fails, of which the traffic judge speaks
    for all but `unspoken` (codes only a test's intent decides), and those the proxy fails
    beyond the run (`extra`)."""

    faults: tuple[str, ...]
    files: tuple[str, ...]
    broken: set[str]
    unspoken: set[str] = field(default_factory=set)
    strict: bool = False
    extra: set[str] = field(default_factory=set)
    # Requirements the proxy must have judged from the pairs (passed or failed).
    paired: set[str] = field(default_factory=set)


CASES: dict[str, Case] = {
    "faultless": Case((), LEDGER, set()),
    "faultless writes": Case((), WRITES, set(), paired=PAIRED),
    "faultless writes, strict": Case((), WRITES, set(), strict=True, paired=PAIRED),
    "page count rounded down": Case(
        ("ledger-page-count-floor",),
        LEDGER,
        {"LEDGER-ERR-11003", "LEDGER-PAGE-COUNT", "LEDGER-PAGE-WALK"},
    ),
    "neighbouring error code": Case(("ledger-11007-as-11008",), LEDGER, {"LEDGER-ERR-11007"}),
    "transfer state": Case(
        ("transfer-credit-not-written",),
        ("test_transfer.py",),
        {"XFER-STATE-CONSERVE", "XFER-STATE-LEDGER"},
    ),
    # The run sends the repeat to `check_reversal_twice` alone; the proxy also passes its
    # answer (0 points reversed) through the single-exchange checks.
    "reversal accepted twice": Case(
        ("reverse-again-accepted",),
        ("test_reverse.py",),
        {"PTS-ERR-3802", "REV-STATE-TWICE"},
        {"PTS-ERR-3802"},
        strict=True,
        extra={"REV-ARITH-BOUND"},
    ),
}


def _with_status(report: Path, *statuses: str) -> set[str]:
    data: dict[str, Any] = json.loads(report.read_text())
    return {rid for rid, r in data["requirements"].items() if r["status"] in statuses}


def _failed(report: Path) -> set[str]:
    return _with_status(report, "failed")


@pytest.mark.parametrize("name", CASES)
def test_the_proxy_fails_what_the_run_through_it_fails(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    run_dir = tmp_path / "run"
    settings = _settings(tmp_path)
    if case.strict:
        settings = resolve_settings({"report_dir": str(tmp_path / "report"), "strict": True}, {})
    with start_embedded(faults=case.faults) as server:
        settings = settings.with_embedded(
            base_url=server.url,
            username=server.username,
            password=server.password,
            target_data=server.target_data,
            target_file=server.target_file,
        )
        with _proxy(server.url, settings) as (running, thread):
            command = [sys.executable, "-m", "pytest", *(str(SUITE / f) for f in case.files)]
            command += ["-q", "-p", "no:cacheprovider", "--report-dir", str(run_dir)]
            command += ["--base-url", running.url, "--target", str(server.target_file)]
            command += ["--auth", f"{server.username}:{server.password}"]
            command += ["--conformance-strict"] if case.strict else []
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
            run = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
            )
            status = running.stop(thread)
    broken, unspoken = case.broken, case.unspoken
    assert run.returncode == (1 if broken else 0), run.stdout[-3000:] + run.stderr[-3000:]
    assert status == (1 if broken - unspoken else 0), running.out.getvalue()
    run_failed = _failed(run_dir / "conformance.json")
    proxy_failed = _failed(tmp_path / "report" / "conformance.json")
    assert run_failed == broken
    assert proxy_failed - case.extra == run_failed & traffic_requirements() == broken - unspoken
    assert case.extra <= proxy_failed
    assert case.paired <= _with_status(tmp_path / "report" / "conformance.json", "passed")
    assert not unspoken & traffic_requirements()
    if not broken - unspoken:
        assert running.findings.getvalue() == ""
