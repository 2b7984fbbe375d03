"""Every testable requirement of the catalogue is named by some conformance test.

The suite is collected (not run) with a small plugin that lists the requirement markers of its
tests. Requirements that no test names yet are listed, with the reason, in
specs/coverage-gaps.yaml; each runs as a strict xfail, so it turns red the day a test covers it
and the list must shrink.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from points_conformance.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
GAPS_FILE = ROOT / "specs" / "coverage-gaps.yaml"


@pytest.fixture(scope="module")
def named_requirements(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    dump = tmp_path_factory.mktemp("coverage") / "requirements.json"
    env = {**os.environ, "POINTS_CONFORMANCE_REQUIREMENT_DUMP": str(dump)}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT / "tests" / "harness"), env.get("PYTHONPATH")])
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "tests" / "conformance"), "--collect-only", "-q",
         "-p", "_requirement_dump", "-p", "no:cacheprovider", "--report-dir", str(dump.parent)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert dump.exists(), result.stdout[-2000:] + result.stderr[-2000:]
    return set(json.loads(dump.read_text(encoding="utf-8")))


def _gaps() -> dict[str, str]:
    data = yaml.safe_load(GAPS_FILE.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


def _cases() -> list[object]:
    gaps = _gaps()
    cases: list[object] = []
    for req in sorted(load_catalogue().requirements.values(), key=lambda r: r.id):
        if not req.testable:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=gaps[req.id])] if req.id in gaps else []
        cases.append(pytest.param(req.id, marks=marks, id=req.id))
    return cases


def test_gap_list_names_only_testable_catalogue_requirements() -> None:
    catalogue = load_catalogue().requirements
    unknown = [i for i in _gaps() if i not in catalogue or not catalogue[i].testable]
    assert not unknown, f"coverage-gaps.yaml names unknown or untestable requirements: {unknown}"


@pytest.mark.parametrize("requirement", _cases())
def test_requirement_is_named_by_a_conformance_test(
    requirement: str, named_requirements: set[str]
) -> None:
    assert requirement in named_requirements, (
        f"no conformance test carries requirement {requirement}"
    )
