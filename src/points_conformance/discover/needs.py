"""Which requirements stay unchecked for each role a target file leaves out.

The answer is the suite's own, not a list kept by hand: a dry run of the suite with the file
(`points-conformance run --dry-run`, which sends no request) skips each test whose data is
missing with a reason naming the key, and its report says which requirements each test is
marked with. A requirement stays unchecked without a key when every test of it that could
run is skipped for want of that key.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from points_conformance.locations import REPORT_JSON

SECTIONS = ("customers", "groups", "cross_member", "connected_orgs", "redemptions", "stores")
_KEY = re.compile(r"\b((?:" + "|".join(SECTIONS) + r"|transfer)\.[A-Za-z0-9_.]*[A-Za-z0-9_])")
_MISSING = ("target file has no", "lists fewer than")
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


def _missing_roles(reason: str, filled: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The roles a skip reason names; keys it offers as alternatives ("a or b") make one role."""
    keys = _KEY.findall(reason)
    if len(keys) == 2 and f"{keys[0]} or {keys[1]}" in reason:
        return {f"{role_of(keys[0], filled)} or {role_of(keys[1], filled)}"}
    return {role_of(key, filled) for key in keys}


def from_report(report: Mapping[str, Any], filled: Mapping[str, Mapping[str, Any]]) -> Needs:
    """The needs a dry run's report shows."""
    tests = report.get("tests")
    if not isinstance(tests, dict):
        return Needs({}, "the dry run's report lists no tests")
    would_run: set[str] = set()
    wanted: dict[str, set[str]] = {}
    for record in tests.values():
        if not isinstance(record, dict):
            continue
        ids = {str(r) for r in record.get("requirements") or []}
        reason = str(record.get("skip_reason") or "")
        roles = _missing_roles(reason, filled) if any(m in reason for m in _MISSING) else set()
        if not roles:
            if record.get("outcome") == "passed" or reason.startswith("dry run"):
                would_run |= ids
            continue
        for role in roles:
            wanted.setdefault(role, set()).update(ids)
    unchecked = {role: sorted(ids - would_run) for role, ids in sorted(wanted.items())}
    return Needs(unchecked)


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
