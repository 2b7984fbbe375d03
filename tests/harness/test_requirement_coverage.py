"""Every testable requirement of the catalogue is exercised by a run of the conformance suite.

The suite runs against the embedded reference server, once per stance, and its reports say
which requirements some test evaluated (named in a marker, or applied by a check to an
exchange a test made). Requirements that no run exercises yet are listed, with the reason, in
specs/coverage-gaps.yaml; a listed requirement that a run exercises fails the test too, so the
list only shrinks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from points_conformance.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
GAPS_FILE = ROOT / "specs" / "coverage-gaps.yaml"
NOT_EXERCISED = "not_exercised"
RUN_TIMEOUT = 600


def _exercised() -> set[str]:
    """Requirements some test exercised against the embedded server, in either stance."""
    with tempfile.TemporaryDirectory(prefix="pc-coverage-") as tmp:
        return _run_both(Path(tmp))


def _run_both(base: Path) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POINTS_CONFORMANCE_")}
    runs = {}
    for stance in ("lenient", "strict"):
        out = base / stance
        command = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "conformance"), "-q",
                   "-p", "no:cacheprovider", "-n", "0", "--report-dir", str(out),
                   *(["--conformance-strict"] if stance == "strict" else [])]  # fmt: skip
        runs[stance] = (
            out,
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
    found: set[str] = set()
    for stance, (out, process) in runs.items():
        output, _ = process.communicate(timeout=RUN_TIMEOUT)
        assert process.returncode == 0, f"{stance} run failed:\n{output[-3000:]}"
        report = json.loads((out / "conformance.json").read_text(encoding="utf-8"))
        found |= {
            rid for rid, record in report["requirements"].items()
            if record["status"] != NOT_EXERCISED
        }  # fmt: skip
    return found


def _gaps() -> dict[str, str]:
    data = yaml.safe_load(GAPS_FILE.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


def test_gap_list_names_only_testable_catalogue_requirements() -> None:
    catalogue = load_catalogue().requirements
    unknown = [i for i in _gaps() if i not in catalogue or not catalogue[i].testable]
    assert not unknown, f"coverage-gaps.yaml names unknown or untestable requirements: {unknown}"


def test_every_testable_requirement_is_exercised_or_listed_as_a_gap() -> None:
    # One test, not one per requirement: under xdist each worker would run the suite again.
    testable = {r.id for r in load_catalogue().requirements.values() if r.testable}
    gaps = _gaps()
    found = _exercised()
    missing = sorted(testable - found - set(gaps))
    covered = sorted(set(gaps) & found)
    assert not missing, f"no conformance test exercised these requirements: {missing}"
    assert not covered, f"exercised now, so delete them from coverage-gaps.yaml: {covered}"
