"""Runs after the first against the same server: what earlier runs used up is not a fault.

A staging server is run against again and again with one target file. The reversal tests
consume the target's reversible redemptions; a later run meets them reversed in full, and the
server's refusal of them as already reversed is right. Here the reversal tests (with the fuzz
tests' reversal workflow) run three times against one reference server (strict, strict,
default) and pass each time, and a target file that lists only used-up redemptions skips them,
saying why, instead of failing them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from points_conformance.embedded import EmbeddedServer, start_embedded
from points_conformance.variables import PASSWORD_ENV, USER_ENV

REPO = Path(__file__).resolve().parents[2]
REVERSAL_TESTS = (
    "tests/conformance/test_reverse.py",
    "tests/conformance/fuzz/test_workflows.py::test_reversal_then_again",
)
SUCCESSES = (
    "test_reverse_in_parts",
    "test_reverse_whole_remainder_then_again",
    "test_reversal_then_again",
)
RUN_GUARD = 300.0


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    with start_embedded() as running:
        yield running


def _run(server: EmbeddedServer, target_file: Path, report_dir: Path, *args: str) -> dict[str, Any]:
    """The reversal tests in a subprocess; the run's JSON report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POINTS_CONFORMANCE_")}
    env.update(
        {
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            USER_ENV: server.username,
            PASSWORD_ENV: server.password,
        }
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        *REVERSAL_TESTS,
        "-p",
        "points_conformance.plugin",
        "-p",
        "xdist",
        "-p",
        "no:cacheprovider",
        "-q",
        "--base-url",
        server.url,
        "--target",
        str(target_file),
        "--report-dir",
        str(report_dir),
        *args,
    ]
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_GUARD, check=False
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    report: dict[str, Any] = json.loads((report_dir / "conformance.json").read_text())
    return report


def _outcome(report: dict[str, Any], name: str) -> dict[str, Any]:
    found = [t for node, t in report["tests"].items() if node.endswith(f"::{name}")]
    assert len(found) == 1, sorted(report["tests"])
    return dict(found[0])


def test_later_runs_pass_over_what_earlier_runs_reversed(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    for number, stance in enumerate(("--conformance-strict", "--conformance-strict", "")):
        args = (stance,) if stance else ()
        report = _run(server, server.target_file, tmp_path / f"run{number}", *args)
        for name in SUCCESSES:
            assert _outcome(report, name)["outcome"] == "passed", (number, name)
        assert report["requirements"]["REV-ARITH-BOUND"]["status"] == "passed", number

    # Only redemptions the runs above reversed in full, and the probe: nothing left to use.
    ids = [str(i) for i in server.target_data.redemptions["reversible_ids"]]
    used_up = [*ids[: len(SUCCESSES)], ids[-1]]
    text = server.target_file.read_text(encoding="utf-8")
    listed = "reversible_ids = [" + ", ".join(f'"{i}"' for i in used_up) + "]"
    narrowed = tmp_path / "used-up.toml"
    narrowed.write_text(re.sub(r"(?m)^reversible_ids = \[.*\]$", listed, text), encoding="utf-8")
    assert narrowed.read_text(encoding="utf-8") != text

    report = _run(server, narrowed, tmp_path / "used-up")
    outcomes = [_outcome(report, name) for name in SUCCESSES]
    assert [o["outcome"] for o in outcomes] == ["skipped"] * len(SUCCESSES)
    reasons = " ".join(str(o["skip_reason"]) for o in outcomes)
    assert "refused as already reversed" in reasons, reasons
    assert report["requirements"]["REV-ARITH-BOUND"]["status"] != "failed"
