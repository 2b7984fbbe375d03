"""The proxy judges a suite run's traffic as the run does: the same requirements failed.

The reference server runs faultless and with faults of different kinds (a page count that
loses the last page, a neighbouring error code, a transfer that loses its credit); tests of the
suite run through the proxy in a child pytest (loopback only). The requirements the run's
report fails must be those the proxy's own report fails, but for those a judge of traffic says
it does not speak for (`har.judging.traffic_requirements`), and the ones the fault breaks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from points_conformance.embedded import start_embedded
from points_conformance.har.judging import traffic_requirements

from .test_proxy import _proxy, _settings

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "conformance"
# The suite's ledger tests: the walks and page edges, the parameter matrix and the balances
# compared with a ledger reading.
LEDGER = ("test_pagination.py", "test_ledger_info.py", "test_fault_gaps.py")
# name: (faults, suite files, requirements the run fails, of which the traffic judge speaks for
# all but those it names: a transfer's effect on balances and ledgers takes the tests' readings
# before and after).
CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...], set[str], set[str]]] = {
    "faultless": ((), LEDGER, set(), set()),
    "page count rounded down": (
        ("ledger-page-count-floor",),
        LEDGER,
        {"LEDGER-ERR-11003", "LEDGER-PAGE-COUNT", "LEDGER-PAGE-WALK"},
        set(),
    ),
    "neighbouring error code": (("ledger-11007-as-11008",), LEDGER, {"LEDGER-ERR-11007"}, set()),
    "transfer state": (
        ("transfer-credit-not-written",),
        ("test_transfer.py",),
        {"XFER-STATE-CONSERVE", "XFER-STATE-LEDGER"},
        {"XFER-STATE-CONSERVE", "XFER-STATE-LEDGER"},
    ),
}


def _failed(report: Path) -> set[str]:
    data: dict[str, Any] = json.loads(report.read_text())
    return {rid for rid, r in data["requirements"].items() if r["status"] == "failed"}


@pytest.mark.parametrize("name", CASES)
def test_the_proxy_fails_what_the_run_through_it_fails(tmp_path: Path, name: str) -> None:
    faults, files, broken, unspoken = CASES[name]
    run_dir = tmp_path / "run"
    with (
        start_embedded(faults=faults) as server,
        _proxy(server.url, _settings(tmp_path, server)) as (running, thread),
    ):
        command = [sys.executable, "-m", "pytest", *(str(SUITE / f) for f in files), "-q"]
        command += ["-p", "no:cacheprovider", "--report-dir", str(run_dir)]
        command += ["--base-url", running.url, "--target", str(server.target_file)]
        command += ["--auth", f"{server.username}:{server.password}"]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        run = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        status = running.stop(thread)
    assert run.returncode == (1 if broken else 0), run.stdout[-3000:] + run.stderr[-3000:]
    assert status == (1 if broken - unspoken else 0), running.out.getvalue()
    run_failed = _failed(run_dir / "conformance.json")
    proxy_failed = _failed(tmp_path / "report" / "conformance.json")
    assert run_failed == broken
    assert proxy_failed == run_failed & traffic_requirements() == broken - unspoken
    assert not unspoken & traffic_requirements()
    if not broken - unspoken:
        assert running.findings.getvalue() == ""
