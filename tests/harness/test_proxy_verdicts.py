"""The proxy judges a suite run's traffic as the run does: the same requirements failed.

The reference server runs faultless and with faults of different kinds (a page count that
loses the last page, a neighbouring error code); the ledger tests of the suite run through the
proxy in a child pytest (loopback only), and the requirements the run's report fails must be
those the proxy's own report fails, and the ones the fault breaks.
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

from .test_proxy import _proxy, _settings

ROOT = Path(__file__).resolve().parents[2]
# The suite's ledger tests: the walks and page edges, the parameter matrix and the balances
# compared with a ledger reading.
SUITE = [
    ROOT / "tests" / "conformance" / name
    for name in ("test_pagination.py", "test_ledger_info.py", "test_fault_gaps.py")
]
CASES = {
    "faultless": ((), set()),
    "page count rounded down": (
        ("ledger-page-count-floor",),
        {"LEDGER-ERR-11003", "LEDGER-PAGE-COUNT", "LEDGER-PAGE-WALK"},
    ),
    "neighbouring error code": (("ledger-11007-as-11008",), {"LEDGER-ERR-11007"}),
}


def _failed(report: Path) -> set[str]:
    data: dict[str, Any] = json.loads(report.read_text())
    return {rid for rid, r in data["requirements"].items() if r["status"] == "failed"}


@pytest.mark.parametrize("name", CASES)
def test_the_proxy_fails_what_the_run_through_it_fails(tmp_path: Path, name: str) -> None:
    faults, broken = CASES[name]
    run_dir = tmp_path / "run"
    with (
        start_embedded(faults=faults) as server,
        _proxy(server.url, _settings(tmp_path, server)) as (running, thread),
    ):
        command = [sys.executable, "-m", "pytest", *map(str, SUITE), "-q", "-p", "no:cacheprovider"]
        command += ["--base-url", running.url, "--target", str(server.target_file)]
        command += ["--auth", f"{server.username}:{server.password}"]
        command += ["--report-dir", str(run_dir)]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        run = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        status = running.stop(thread)
    assert run.returncode == (1 if broken else 0), run.stdout[-3000:] + run.stderr[-3000:]
    assert status == (1 if broken else 0), running.out.getvalue()
    run_failed = _failed(run_dir / "conformance.json")
    proxy_failed = _failed(tmp_path / "report" / "conformance.json")
    assert run_failed == proxy_failed == broken
    if not broken:
        assert running.findings.getvalue() == ""
