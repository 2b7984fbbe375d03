"""The conformance report's data: statuses, their precedence, and the figures derived from records.

A report is a JSON object (see `conformance.json`). Its heart is `requirements`: one record per
catalogue requirement with the verdict of every test that exercised it. Everything else that is
computed from those records (counts, per-operation tables, the discrepancy register's findings,
the waivers' effect, the verdict) is recomputed by `finalize`, so that collection and merging
agree by construction.

The verdict: "does not conform" when a requirement failed (and no live waiver covers it);
"incomplete" when none failed but a requirement testable in the run's stance went unchecked
(skipped, not exercised, or outside the run's selection), or the run was cut short; else
"conforms", "conforms, with N waivers" when waivers turned failures or unchecked requirements
into waived ones. A requirement is testable in a run when the catalogue says it is checkable
from outside and, in the default stance, it is not strict-only.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from points_conformance.operations import OPERATIONS
from points_conformance.waivers import covers

FORMAT = "points-conformance-report/1"

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
NOT_EXERCISED = "not_exercised"
# Set by a waiver over what the tests settled (kept in the record's `waiver.was`), never by a test.
WAIVED = "waived"

# Display order. PRECEDENCE is the order in which a merge or several tests settle a requirement:
# a failure anywhere wins, a pass beats a skip, and a skip says more than no test at all.
STATUSES = (FAILED, WAIVED, PASSED, SKIPPED, NOT_EXERCISED)
PRECEDENCE = {FAILED: 3, PASSED: 2, SKIPPED: 1, NOT_EXERCISED: 0}
UNCHECKED = (SKIPPED, NOT_EXERCISED)
LABELS = {
    PASSED: "passed",
    FAILED: "failed",
    WAIVED: "waived",
    SKIPPED: "skipped",
    NOT_EXERCISED: "not exercised",
}

CONFORMS = "conforms"
DOES_NOT_CONFORM = "does not conform"
INCOMPLETE = "incomplete"

WRITES_UNLOCK = "--allow-writes (writes not allowed against this target)"
KEY_PREFIX = "target-file key "

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
        # What would let an unchecked requirement run: target-file keys its skipped tests
        # lacked, and whether writes were refused.
        "missing_data": [],
        "needs_writes": False,
        # Stable signatures of every finding that failed it (see report.baseline).
        "signatures": [],
        "waiver": None,
    }


def derive_record(record: dict[str, Any]) -> None:
    """Recompute a record's status, per-operation cells and one-line reason from its tests."""
    waiver = record.get("waiver")
    if record.get("status") == WAIVED and isinstance(waiver, Mapping):
        # finalize applies the waivers again, to what the tests settled.
        record["status"] = waiver.get("was", NOT_EXERCISED)
        record["by_operation"] = dict(waiver.get("was_cells") or {})
    record["waiver"] = None
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
    record["missing_data"] = sorted(set(record.get("missing_data") or []))
    record["needs_writes"] = bool(record.get("needs_writes"))
    record["signatures"] = sorted(set(record.get("signatures") or []))
    record["reason"] = _reason(record)


def settled_status(record: Mapping[str, Any]) -> str:
    """What the tests settled for a record, under any waiver."""
    waiver = record.get("waiver")
    if record.get("status") == WAIVED and isinstance(waiver, Mapping):
        return str(waiver.get("was", NOT_EXERCISED))
    return str(record.get("status", NOT_EXERCISED))


def unlock(record: Mapping[str, Any]) -> list[str]:
    """What would let an unchecked requirement run: target-file keys, --allow-writes.

    A requirement no test names is judged on the answers of its operations; when none came,
    the keys the skipped tests of those operations lacked are what would bring some.
    """
    keys = record.get("missing_data") or record.get("operations_need") or []
    found = [KEY_PREFIX + key for key in keys]
    if record.get("needs_writes"):
        found.append(WRITES_UNLOCK)
    return found


def _operations_need(report: Mapping[str, Any]) -> None:
    """Name, on each unexercised requirement, the keys its operations' skipped tests lacked."""
    per_operation: dict[str, set[str]] = {}
    for record in report["requirements"].values():
        for op in record.get("operations") or []:
            per_operation.setdefault(op, set()).update(record.get("missing_data") or [])
    for record in report["requirements"].values():
        record.pop("operations_need", None)
        if (
            record["status"] != NOT_EXERCISED
            or not record["testable"]
            or not record["in_catalogue"]
        ):
            continue
        need = set().union(*(per_operation.get(op, set()) for op in record["operations"]))
        if need:
            record["operations_need"] = sorted(need)
            record["reason"] = one_line(
                "no test names it and no answer of its operations came: needs "
                + "; ".join(unlock(record))
            )


def _reason(record: Mapping[str, Any]) -> str:
    status = record["status"]
    if status == FAILED:
        messages = [f["message"] for f in record["findings"] if f.get("message")]
        return one_line(messages[0]) if messages else "a test of this requirement failed"
    if status == SKIPPED:
        needs = unlock(record)
        if needs:
            return one_line("needs " + "; ".join(needs))
        return one_line("; ".join(record["skip_reasons"]) or "every test was skipped")
    if status == NOT_EXERCISED:
        if not record["testable"]:
            why = record.get("untestable_reason") or record.get("check") or ""
            return one_line(f"{UNTESTABLE_LABEL}: {why}" if why else UNTESTABLE_LABEL)
        if not record["in_catalogue"]:
            return "not in the catalogue"
        return "no test named it and no check met an answer it applies to"
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
    _operations_need(report)
    apply_waivers(report)
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
    report["unchecked"] = [
        {"id": r["id"], "status": r["status"], "unlock": unlock(r), "reason": r["reason"]}
        for r in unchecked(report)
    ]
    report["verdict_kind"] = verdict_kind(report)
    report["verdict"] = verdict(report)
    report["verdict_reasons"] = verdict_reasons(report)
    return report


def apply_waivers(report: dict[str, Any]) -> None:
    """Turn the failed and unchecked requirements the report's live waivers cover into waived
    ones, and list the waivers that expired and those whose requirement passes (stale)."""
    section = dict(report.get("waivers") or {})
    entries = [e for e in section.get("entries") or [] if isinstance(e, Mapping)]
    checked_on = str(section.get("checked_on") or datetime.date.today().isoformat())
    today = datetime.date.fromisoformat(checked_on)
    applied: list[dict[str, Any]] = []
    expired: list[dict[str, Any]] = []
    stale: list[dict[str, Any]] = []
    requirements = report["requirements"]
    for entry in entries:
        expires = entry.get("expires")
        if expires and datetime.date.fromisoformat(str(expires)) < today:
            expired.append(dict(entry))
            continue
        if entry.get("requirement"):
            covered = _requirement_waiver(requirements.get(str(entry["requirement"])), entry)
        else:
            covered = _data_waiver(requirements, entry)
        (applied if covered else stale).append({**entry, "requirements": covered})
    report["waivers"] = {
        "file": section.get("file"),
        "checked_on": checked_on,
        "fail_on_stale": bool(section.get("fail_on_stale")),
        "entries": entries,
        "applied": applied,
        "expired": expired,
        "stale": stale,
    }


def _requirement_waiver(record: dict[str, Any] | None, entry: Mapping[str, Any]) -> list[str]:
    if record is None or settled_status(record) == PASSED:
        return []
    operation = entry.get("operation")
    if settled_status(record) == FAILED and operation:
        failed_ops = [op for op, s in record["by_operation"].items() if s == FAILED]
        if any(op != operation for op in failed_ops):
            record["reason"] = one_line(
                f"{record['reason']} (waiver {entry.get('name')} covers {operation} only)"
            )
            return []
    _waive(record, entry)
    return [record["id"]]


def _data_waiver(requirements: Mapping[str, dict[str, Any]], entry: Mapping[str, Any]) -> list[str]:
    declared = str(entry.get("data") or "")
    covered = []
    for record in requirements.values():
        keys = record.get("missing_data") or record.get("operations_need") or []
        if settled_status(record) in UNCHECKED and any(covers(declared, k) for k in keys):
            _waive(record, entry)
            covered.append(record["id"])
    return covered


def _waive(record: dict[str, Any], entry: Mapping[str, Any]) -> None:
    if record["status"] == WAIVED:
        return  # an earlier entry waived it already
    record["waiver"] = {
        **entry,
        "was": record["status"],
        "was_cells": dict(record["by_operation"]),
    }
    record["status"] = WAIVED
    record["by_operation"] = {
        op: WAIVED if s in (FAILED, *UNCHECKED) else s for op, s in record["by_operation"].items()
    }
    ticket = f" [{entry['ticket']}]" if entry.get("ticket") else ""
    until = f" until {entry['expires']}" if entry.get("expires") else ""
    record["reason"] = one_line(f"waived{until}{ticket}: {entry.get('reason', '')}")


def counted(record: Mapping[str, Any], stance: str) -> bool:
    """Whether a requirement must be checked for this stance's verdict to be "conforms"."""
    if not record.get("in_catalogue", True) or not record.get("testable", True):
        return False
    return stance == "strict" or not record.get("strict_only", False)


def unchecked(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The requirements testable in the run's stance that no test settled."""
    stance = str(report.get("stance", ""))
    return [
        r
        for r in report["requirements"].values()
        if r["status"] in UNCHECKED and counted(r, stance)
    ]


def selection_note(report: Mapping[str, Any]) -> str:
    """How the run narrowed the suite ("" when it ran all of it)."""
    selection = report.get("selection") or {}
    by = [str(b) for b in selection.get("by") or []]
    return ", ".join(by) if selection.get("partial") else ""


def verdict_kind(report: Mapping[str, Any]) -> str:
    """CONFORMS, DOES_NOT_CONFORM or INCOMPLETE."""
    if report["counts"][FAILED] > let_through(report):
        return DOES_NOT_CONFORM
    if report.get("incomplete") or selection_note(report) or unchecked(report):
        return INCOMPLETE
    if not any(counted(r, str(report.get("stance", ""))) for r in report["requirements"].values()):
        return INCOMPLETE  # no catalogue: nothing could be checked
    return CONFORMS


def let_through(report: Mapping[str, Any]) -> int:
    """Failed requirements whose confirmation label the run tolerates (--tolerate)."""
    return int((report.get("confirmation") or {}).get("let_through") or 0)


def verdict(report: Mapping[str, Any]) -> str:
    """The verdict as a report shows it: the kind, with the waivers and tolerated failures it
    rests on."""
    kind = verdict_kind(report)
    waived = report["counts"].get(WAIVED, 0)
    tolerated = let_through(report) if kind != DOES_NOT_CONFORM else 0
    rests_on = [
        *([f"{waived} waiver{'s' if waived != 1 else ''}"] if waived else []),
        *([f"{tolerated} tolerated failure{'s' if tolerated != 1 else ''}"] if tolerated else []),
    ]
    return f"{kind}, with {' and '.join(rests_on)}" if rests_on else kind


def verdict_reasons(report: Mapping[str, Any]) -> list[str]:
    """Why a run is incomplete, one short phrase each (empty for any other verdict)."""
    if verdict_kind(report) != INCOMPLETE:
        return []
    why = []
    if report.get("incomplete"):
        why.append("the run did not finish every test, or some could not be collected")
    if selection_note(report):
        why.append(f"a selection of the suite ({selection_note(report)})")
    left = len(unchecked(report))
    if left:
        why.append(f"{left} testable requirement{'s' if left != 1 else ''} unchecked")
    return why or ["no requirement could be checked"]


def verdict_line(report: Mapping[str, Any]) -> str:
    """The verdict with its reasons, on one line."""
    why = report.get("verdict_reasons") or []
    return f"{report.get('verdict', '')}" + (f" ({'; '.join(why)})" if why else "")


def gate_problems(report: Mapping[str, Any]) -> list[str]:
    """Waiver problems that fail a gate whatever the verdict: expired waivers, and stale ones
    when the run asked (`--fail-on-stale-waivers`)."""
    section = report.get("waivers") or {}
    problems = [f"expired waiver: {waiver_label(w)}" for w in section.get("expired") or []]
    if section.get("fail_on_stale"):
        problems += [f"stale waiver: {waiver_label(w)}" for w in section.get("stale") or []]
    return problems


def waiver_label(entry: Mapping[str, Any]) -> str:
    """One line naming a waiver entry: what it covers, its ticket, its expiry."""
    what = entry.get("requirement") or f"absent {entry.get('data')}"
    if entry.get("operation"):
        what += f" ({entry['operation']})"
    ticket = f" [{entry['ticket']}]" if entry.get("ticket") else ""
    until = f", expires {entry['expires']}" if entry.get("expires") else ""
    return f"{what}{ticket}{until} ({entry.get('name', '')})"


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
        if not isinstance(record, dict) or record.get("status") not in STATUSES:
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
