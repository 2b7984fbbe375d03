"""HAR files as other tools write them, judged by `validate`: schemathesis' CLI and Chromium.

Each tool is run for real against the reference server on loopback with a small budget, and the
file it wrote is judged: the exchanges are read and judged, the default stance finds nothing in
the reference server's answers, and requests of no operation are listed, not failed.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from points_conformance.embedded import EmbeddedServer, start_embedded
from points_conformance.har.command import validate
from points_conformance.locations import SPEC_FILE, specs_dir
from points_conformance.operations import TABLE
from points_conformance.settings import resolve_settings

# Two reads and a check, so that the run stays within seconds.
ST_OPERATIONS = ("getCustomerLedgerBalance", "isTransferrable", "getPointsTransfers")


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    with start_embedded() as running:
        yield running


def _validate(tmp_path: Path, server: EmbeddedServer, har: Path) -> tuple[int, dict[str, Any], str]:
    options = {
        "report_dir": str(tmp_path / "report"),
        "target": str(server.target_file),
        "auth": f"{server.username}:{server.password}",
    }
    out = io.StringIO()
    status, report = validate([str(har)], resolve_settings(options, {}), out)
    assert report is not None
    return status, report, out.getvalue()


def _failed(report: dict[str, Any]) -> list[str]:
    return sorted(rid for rid, r in report["requirements"].items() if r["status"] == "failed")


def _needed(what: str, where: str) -> None:
    """A tool that CI installs fails the test there; elsewhere its absence is a skip."""
    message = f"{what} is not installed ({where})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


# -- schemathesis ------------------------------------------------------------------------------


def _st() -> str:
    beside = Path(sys.executable).with_name("st")
    found = str(beside) if beside.is_file() else shutil.which("st")
    if found is None:
        _needed("schemathesis' `st`", "a dev dependency: pip install -e '.[dev]'")
    assert found is not None
    return found


@pytest.mark.parametrize("preserve", [False, True], ids=["text", "preserve-bytes"])
def test_a_schemathesis_har_is_judged_with_no_finding(
    tmp_path: Path, server: EmbeddedServer, preserve: bool
) -> None:
    har = tmp_path / "st.har"
    argv = [_st(), "run", str(specs_dir() / SPEC_FILE), "--url", server.url]
    argv += ["--auth", f"{server.username}:{server.password}", "--no-color"]
    argv += ["--max-examples", "5", "--seed", "1", "--phases", "examples,coverage,fuzzing"]
    argv += ["--continue-on-failure", "--workers", "1"]
    for operation in ST_OPERATIONS:
        argv += ["--include-operation-id", operation]
    argv += ["--report", "har", "--report-har-path", str(har)]
    if preserve:
        argv.append("--report-preserve-bytes")
    # schemathesis' own verdict does not matter here (it fails the reference server on rules of
    # its own, such as an Allow header on 405); only the file it wrote does.
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert har.is_file(), done.stdout[-2000:] + done.stderr[-2000:]
    entries = json.loads(har.read_text())["log"]["entries"]
    traces = sum(1 for e in entries if e["request"]["method"] == "TRACE")
    assert traces > 0, "schemathesis sent no undeclared method: the test lost its point"

    status, report, printed = _validate(tmp_path, server, har)

    assert status == 0, printed
    assert _failed(report) == []
    recorded = report["recorded"]
    unmatched = recorded["unmatched"]
    assert recorded["judged"] > 10 and recorded["not_judged"] == []
    assert recorded["judged"] + sum(row["count"] for row in unmatched) == len(entries)
    # Every request left out is one of schemathesis' undeclared methods, TRACE among them.
    declared = {(op.method, op.path) for op in TABLE}
    assert all((row["method"], row["path"]) not in declared for row in unmatched)
    assert sum(row["count"] for row in unmatched if row["method"] == "TRACE") == traces
