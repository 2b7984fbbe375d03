"""Which requirements stay unchecked for each role a target file leaves out.

The answer is the suite's own, not a list kept by hand: a dry run of the suite with the file
(`points-conformance run --dry-run`, which sends no request) skips each test whose data is
missing with a typed skip naming the target-file keys it lacked, and its report lists the
requirements no test settled (`unchecked`), the keys each one's skipped tests lacked
(`missing_data`) and the requests each test would have sent. A requirement stays unchecked
without a key when no test settled it, it lacks that key and none of its tests would have sent
a request.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from points_conformance.locations import REPORT_JSON

DRY_RUN_TIMEOUT = 600.0


@dataclass(frozen=True)
class Needs:
    """Missing key -> the requirements left unchecked without it; `problem` when unknown."""

    unchecked: dict[str, list[str]]
    problem: str = ""


def role_of(key: str, filled: Mapping[str, Mapping[str, Any]]) -> str:
    """The role a missing key belongs to: `customers.rich` when the file has no such customer,
    `customers.rich.till_ids` when it has the customer but not that field."""
    parts = key.split(".")
    if parts[0] in ("customers", "groups") and len(parts) >= 2:
        role = ".".join(parts[:2])
        present = parts[1] in (filled.get(parts[0]) or {})
        return ".".join(parts[:3]) if present and len(parts) >= 3 else role
    return ".".join(parts[:2])


def from_report(report: Mapping[str, Any], filled: Mapping[str, Mapping[str, Any]]) -> Needs:
    """The needs a dry run's report shows."""
    records = report.get("requirements")
    listed = report.get("unchecked")
    if not isinstance(records, Mapping) or not isinstance(listed, list):
        return Needs({}, "the dry run's report lists no unchecked requirements")
    requests = (report.get("dry_run") or {}).get("requests") or []
    planned = {str(r.get("test")) for r in requests if isinstance(r, Mapping)}
    wanted: dict[str, set[str]] = {}
    for entry in listed:
        rid = str(entry.get("id")) if isinstance(entry, Mapping) else ""
        record = records.get(rid)
        if not isinstance(record, Mapping):
            continue
        tests = [t for t in record.get("tests") or [] if isinstance(t, Mapping)]
        if any(t.get("nodeid") in planned for t in tests):
            continue  # a test of it would send its requests: it runs without the key
        for key in record.get("missing_data") or []:
            wanted.setdefault(role_of(str(key), filled), set()).add(rid)
    return Needs({role: sorted(ids) for role, ids in sorted(wanted.items())})


def dry_run(base_url: str, target_file: Path, filled: Mapping[str, Mapping[str, Any]]) -> Needs:
    """Run the suite dry with `target_file` in a child process and read what it skipped."""
    with tempfile.TemporaryDirectory(prefix="points-discover-") as folder:
        command = [
            sys.executable,
            "-m",
            "points_conformance.cli",
            "run",
            "--dry-run",
            "--base-url",
            base_url,
            "--target",
            str(target_file),
            "--report-dir",
            folder,
            "-q",
            "-p",
            "no:cacheprovider",
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=DRY_RUN_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            return Needs({}, f"the suite's dry run took more than {DRY_RUN_TIMEOUT:g} s")
        report_file = Path(folder) / REPORT_JSON
        try:
            report = json.loads(report_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            last = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
            return Needs(
                {}, f"the suite's dry run made no report (exit {done.returncode}) {last[0]}"
            )
    return from_report(report, filled)
