"""The conformance report's data: statuses, their precedence, and the figures derived from records.

A report is a JSON object (see `conformance.json`). Its heart is `requirements`: one record per
catalogue requirement with the verdict of every test that exercised it. Everything else that is
computed from those records (counts, per-operation tables, the discrepancy register's findings,
the verdict) is recomputed by `finalize`, so that collection and merging agree by construction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from points_conformance.operations import OPERATIONS

FORMAT = "points-conformance-report/1"

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
NOT_EXERCISED = "not_exercised"

# Display order, and the order in which a merge or several tests settle a requirement:
# a failure anywhere wins, a pass beats a skip, and a skip says more than no test at all.
STATUSES = (FAILED, PASSED, SKIPPED, NOT_EXERCISED)
PRECEDENCE = {FAILED: 3, PASSED: 2, SKIPPED: 1, NOT_EXERCISED: 0}
LABELS = {
    PASSED: "passed",
    FAILED: "failed",
    SKIPPED: "skipped",
    NOT_EXERCISED: "not exercised",
}

UNTESTABLE_LABEL = "not checkable from outside a server"

# Findings kept per requirement; fuzzing can produce thousands that say the same thing.
MAX_FINDINGS = 25

# Longest one-line reason kept anywhere in a report.
MAX_LINE = 300


class ReportFormatError(ValueError):
    """A file is not a conformance report this version understands."""


def combine(statuses: Iterable[str]) -> str:
    """The status that wins among several (NOT_EXERCISED when there are none)."""
    best = NOT_EXERCISED
    for status in statuses:
        if PRECEDENCE.get(status, -1) > PRECEDENCE[best]:
            best = status
    return best


def one_line(text: object, limit: int = MAX_LINE) -> str:
    """Collapse whitespace so that a message fits on one line of a table or a log."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def operation_order(operations: Iterable[str]) -> list[str]:
    """The documented operations in the table's order, then any others by name."""
    known = {op: i for i, op in enumerate(OPERATIONS)}
    return sorted(set(operations), key=lambda op: (known.get(op, len(known)), op))


def counts(report: Mapping[str, Any]) -> dict[str, int]:
    result = dict.fromkeys(STATUSES, 0)
    for record in report.get("requirements", {}).values():
        result[record["status"]] = result.get(record["status"], 0) + 1
    result["total"] = sum(result[s] for s in STATUSES)
    return result


def finding_key(finding: Mapping[str, Any]) -> str:
    """Identity of a finding, for de-duplication across tests and shards."""
    exchange = finding.get("exchange") or {}
    request = exchange.get("request") or {}
    return json.dumps(
        [
            finding.get("test"),
            finding.get("requirement"),
            finding.get("message"),
            finding.get("expected"),
            finding.get("actual"),
            request.get("curl"),
        ],
        sort_keys=True,
        default=str,
    )


def finding_operation(finding: Mapping[str, Any]) -> str | None:
    exchange = finding.get("exchange") or {}
    op = exchange.get("operation")
    return op if isinstance(op, str) and op else None


def new_record(requirement_id: str, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An empty requirement record, with the catalogue's description when known."""
    meta = dict(meta or {})
    return {
        "id": requirement_id,
        "status": NOT_EXERCISED,
        "reason": "",
        "in_catalogue": bool(meta),
        "operations": list(meta.get("operations") or []),
        "source": dict(meta.get("source") or {}),
        "statement": meta.get("statement") or "",
        "check": meta.get("check") or "",
        "discrepancy": meta.get("discrepancy"),
        "strict_only": bool(meta.get("strict_only", False)),
        "testable": bool(meta.get("testable", True)),
        "untestable_reason": meta.get("untestable_reason") or "",
        "by_operation": {},
        "tests": [],
        "skip_reasons": [],
        "findings": [],
        "findings_total": 0,
        "notes": [],
    }


def derive_record(record: dict[str, Any]) -> None:
    """Recompute a record's status, per-operation cells and one-line reason from its tests."""
    tests = record["tests"]
    tests.sort(key=lambda t: (str(t.get("nodeid", "")), str(t.get("verdict", ""))))
    # A status or cell already present came from a merged shard; it can only be outranked.
    record["status"] = combine(
        [record.get("status", NOT_EXERCISED), *(t["verdict"] for t in tests)]
    )
    cells: dict[str, list[str]] = {op: [] for op in record["operations"]}
    for op, status in (record.get("by_operation") or {}).items():
        cells.setdefault(op, []).append(status)
    for test in tests:
        for op, verdict in (test.get("operations") or {}).items():
            cells.setdefault(op, []).append(verdict)
    record["by_operation"] = {op: combine(cells[op]) for op in operation_order(cells)}
    record["skip_reasons"] = sorted(set(record["skip_reasons"]))
    record["reason"] = _reason(record)


def _reason(record: Mapping[str, Any]) -> str:
    status = record["status"]
    if status == FAILED:
        messages = [f["message"] for f in record["findings"] if f.get("message")]
        return one_line(messages[0]) if messages else "a test of this requirement failed"
    if status == SKIPPED:
        return one_line("; ".join(record["skip_reasons"]) or "every test was skipped")
    if status == NOT_EXERCISED:
        if not record["testable"]:
            why = record.get("untestable_reason") or record.get("check") or ""
            return one_line(f"{UNTESTABLE_LABEL}: {why}" if why else UNTESTABLE_LABEL)
        if not record["in_catalogue"]:
            return "not in the catalogue"
        return "no test checks it"
    return ""


def add_fuzz(
    table: dict[str, dict[str, Any]], op: str, requests: int, ok: int, statuses: Mapping[str, int]
) -> None:
    """Add one operation's fuzzing figures to a per-operation table."""
    row = table.setdefault(op, {"requests": 0, "answered_200": 0, "statuses": {}})
    row["requests"] += requests
    row["answered_200"] += ok
    for code, n in statuses.items():
        row["statuses"][code] = row["statuses"].get(code, 0) + n
    row["statuses"] = dict(sorted(row["statuses"].items()))
    row["share_200"] = round(row["answered_200"] / row["requests"], 4) if row["requests"] else None


def finalize(report: dict[str, Any]) -> dict[str, Any]:
    """Recompute every derived section of a report in place, and return it."""
    requirements: dict[str, dict[str, Any]] = report.setdefault("requirements", {})
    for record in requirements.values():
        derive_record(record)
    report["requirements"] = dict(sorted(requirements.items()))
    report["counts"] = counts(report)
    # Late: confirmation reads this module's statuses.
    from points_conformance.report.confirmation import confirm

    confirm(report)
    report["operations"] = _operations(report)
    report["untestable"] = [
        {"id": rid, "reason": r["untestable_reason"] or r["check"] or ""}
        for rid, r in report["requirements"].items()
        if not r["testable"]
    ]
    report["discrepancies"] = [
        _link_discrepancy(d, report) for d in report.get("discrepancies", [])
    ]
    report["verdict"] = verdict(report)
    return report


def _operations(report: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    tests_per_op: dict[str, set[str]] = {}
    for record in report["requirements"].values():
        for op, status in record["by_operation"].items():
            row = table.setdefault(op, {**dict.fromkeys(STATUSES, 0), "requirements": 0})
            row[status] += 1
            row["requirements"] += 1
    for nodeid, test in report.get("tests", {}).items():
        for op in test.get("operations", []):
            tests_per_op.setdefault(op, set()).add(nodeid)
    for op in tests_per_op:
        table.setdefault(op, {**dict.fromkeys(STATUSES, 0), "requirements": 0})
    for op, row in table.items():
        row["tests"] = len(tests_per_op.get(op, ()))
    return {op: table[op] for op in operation_order(table)}


def _link_discrepancy(entry: Mapping[str, Any], report: Mapping[str, Any]) -> dict[str, Any]:
    """A register entry with the findings and failed requirements that rest on it."""
    linked = dict(entry)
    did = linked.get("id")
    findings = []
    failed = []
    for rid, record in report["requirements"].items():
        for finding in [*record["findings"], *record.get("notes", [])]:
            if finding.get("discrepancy") == did:
                findings.append(
                    {
                        "requirement": rid,
                        "test": finding.get("test"),
                        "message": finding.get("message", ""),
                    }
                )
        if record["status"] == FAILED and record.get("discrepancy") == did:
            failed.append(rid)
    linked["findings"] = findings
    linked["failed_requirements"] = failed
    return linked


def verdict(report: Mapping[str, Any]) -> str:
    c = report["counts"]
    # Failed requirements whose confirmation label the run tolerates do not count.
    if c[FAILED] > int((report.get("confirmation") or {}).get("let_through") or 0):
        return "does not conform"
    if report.get("incomplete"):
        return "incomplete"
    if not c[PASSED]:
        return "inconclusive"
    return "conforms"


def validate(data: Any, origin: str = "report") -> dict[str, Any]:
    """Check that `data` has the shape of a conformance report; raise ReportFormatError if not."""
    if not isinstance(data, dict):
        raise ReportFormatError(f"{origin}: not a JSON object")
    if data.get("format") != FORMAT:
        raise ReportFormatError(
            f"{origin}: not a conformance report (format {data.get('format')!r}, expected {FORMAT!r})"
        )
    requirements = data.get("requirements")
    if not isinstance(requirements, dict):
        raise ReportFormatError(f"{origin}: 'requirements' is missing or not an object")
    for rid, record in requirements.items():
        if not isinstance(record, dict) or record.get("status") not in PRECEDENCE:
            raise ReportFormatError(f"{origin}: requirement {rid!r} has no valid status")
        for key, kind in (("tests", list), ("findings", list), ("operations", list)):
            if not isinstance(record.get(key), kind):
                raise ReportFormatError(f"{origin}: requirement {rid!r} has no '{key}' list")
    return data


def load_report(path: str | Path) -> dict[str, Any]:
    """Read and validate a `conformance.json`; any problem is one ReportFormatError line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportFormatError(f"{path}: cannot read: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ReportFormatError(f"{path}: not JSON: {exc}") from exc
    return validate(data, str(path))
