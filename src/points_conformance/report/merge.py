"""Merges the reports of several CI shards into one.

A requirement's status is the strongest of its shards' (failed over passed over skipped over
not exercised), because each shard's tests are part of the same run; tests and findings are
unioned, and every derived figure is recomputed from the union.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from points_conformance.report.model import (
    FORMAT,
    MAX_FINDINGS,
    NOT_EXERCISED,
    WAIVED,
    ReportFormatError,
    add_fuzz,
    combine,
    finalize,
    finding_key,
    new_record,
    settled_status,
    validate,
)


def _test_key(test: dict[str, Any]) -> str:
    return json.dumps(test, sort_keys=True, default=str)


def _merge_record(into: dict[str, Any], other: dict[str, Any]) -> None:
    if not into.get("in_catalogue") and other.get("in_catalogue"):
        for key in (
            "in_catalogue",
            "operations",
            "source",
            "statement",
            "check",
            "discrepancy",
            "strict_only",
            "testable",
            "untestable_reason",
        ):
            into[key] = copy.deepcopy(other.get(key))
    into["operations"] = list(
        dict.fromkeys([*into.get("operations", []), *other.get("operations", [])])
    )
    seen = {_test_key(t) for t in into["tests"]}
    for test in other.get("tests", []):
        if _test_key(test) not in seen:
            into["tests"].append(copy.deepcopy(test))
            seen.add(_test_key(test))
    # A waived record carries what its tests settled; finalize applies the waivers again.
    other_waiver = other.get("waiver") or {}
    other_cells = other.get("by_operation") or {}
    if other.get("status") == WAIVED and other_waiver.get("was_cells") is not None:
        other_cells = other_waiver["was_cells"]
    cells = into.setdefault("by_operation", {})
    for op, status in other_cells.items():
        cells[op] = combine([cells.get(op, NOT_EXERCISED), status])
    into["status"] = combine([settled_status(into), settled_status(other)])
    for key in ("missing_data", "signatures"):
        into[key] = [*into.get(key, []), *other.get(key, [])]
    into["needs_writes"] = bool(into.get("needs_writes") or other.get("needs_writes"))
    into["skip_reasons"] = [*into.get("skip_reasons", []), *other.get("skip_reasons", [])]
    for key in ("findings", "notes"):
        kept = into.setdefault(key, [])
        known = {finding_key(f) for f in kept}
        for finding in other.get(key, []):
            fk = finding_key(finding)
            if fk not in known and len(kept) < MAX_FINDINGS:
                kept.append(copy.deepcopy(finding))
                known.add(fk)
    into["findings_total"] = int(into.get("findings_total", 0)) + int(
        other.get("findings_total", 0)
    )


def _record_from(other: dict[str, Any]) -> dict[str, Any]:
    record = new_record(str(other["id"]) if "id" in other else "")
    record.update(copy.deepcopy(other))
    waiver = record.get("waiver") or {}
    record["status"] = settled_status(other)
    if waiver.get("was_cells") is not None:
        record["by_operation"] = dict(waiver["was_cells"])
    record["waiver"] = None
    return record  # derive_record finds no waiver left to undo


def _merge_throttling(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    parts = [r.get("throttling") or {} for r in reports]
    return {
        "responses": sum(int(t.get("responses") or 0) for t in parts),
        "waited": round(sum(float(t.get("waited") or 0.0) for t in parts), 3),
        "gave_up": sum(int(t.get("gave_up") or 0) for t in parts),
        "events": [e for t in parts for e in t.get("events") or []],
    }


def merge_reports(reports: Sequence[dict[str, Any]], sources: Sequence[str] = ()) -> dict[str, Any]:
    """One report from several (each already validated); inputs are left unchanged."""
    if not reports:
        raise ReportFormatError("nothing to merge")
    for i, report in enumerate(reports):
        validate(report, sources[i] if i < len(sources) else f"report {i + 1}")
    first = reports[0]
    merged: dict[str, Any] = {
        "format": FORMAT,
        "title": first.get("title", "Points API conformance"),
        "target": first.get("target", ""),
        "started": min(str(r.get("started", "")) for r in reports),
        "finished": max(str(r.get("finished", "")) for r in reports),
        "duration": round(sum(float(r.get("duration", 0) or 0) for r in reports), 3),
        "stance": first.get("stance", ""),
        "versions": copy.deepcopy(first.get("versions", {})),
        "settings": copy.deepcopy(first.get("settings", {})),
        "incomplete": any(r.get("incomplete") for r in reports),
        "exit_status": max((int(r.get("exit_status") or 0) for r in reports), default=0),
        "collection_errors": [c for r in reports for c in r.get("collection_errors", [])],
        "catalogue_error": next(
            (r["catalogue_error"] for r in reports if r.get("catalogue_error")), None
        ),
        "requirements": {},
        "tests": {},
        "discrepancies": [],
        "fuzz": {},
        "writes": [w for r in reports for w in r.get("writes", [])],
        "requests": sum(int(r.get("requests", 0) or 0) for r in reports),
        "throttled": sum(int(r.get("throttled", 0) or 0) for r in reports),
        "throttling": _merge_throttling(reports),
        "redirects": [x for r in reports for x in r.get("redirects") or []],
        "dry_run": (
            {"requests": [x for r in reports for x in (r.get("dry_run") or {}).get("requests", [])]}
            if any(r.get("dry_run") is not None for r in reports)
            else None
        ),
        # What the first shard was asked (re-checks, tolerated labels); finalize recounts.
        "confirmation": copy.deepcopy(first.get("confirmation") or {}),
        "sources": [*(str(s) for s in sources)] or [f"report {i + 1}" for i in range(len(reports))],
        # Shards each run part of the suite; together they may run all of it.
        "selection": {"partial": False, "by": []},
        "waivers": copy.deepcopy(first.get("waivers")),
    }
    # Shards of one run share a target, a stance and a spec; when they do not, say so rather
    # than let the merged figures pretend to describe one configuration.
    for key in ("target", "stance"):
        values = sorted({str(r.get(key, "")) for r in reports})
        if len(values) > 1:
            merged[key] = " | ".join(values)
            merged["incomplete"] = True
    specs = sorted({str(r.get("versions", {}).get("spec", "")) for r in reports})
    if len(specs) > 1:
        merged["versions"]["spec"] = " | ".join(specs)
    discrepancies: dict[str, dict[str, Any]] = {}
    for report in reports:
        for rid, record in report["requirements"].items():
            if rid in merged["requirements"]:
                _merge_record(merged["requirements"][rid], record)
            else:
                merged["requirements"][rid] = _record_from(record)
        for nodeid, test in report.get("tests", {}).items():
            merged["tests"].setdefault(nodeid, copy.deepcopy(test))
        for entry in report.get("discrepancies", []):
            discrepancies.setdefault(str(entry.get("id")), copy.deepcopy(entry))
        for op, row in report.get("fuzz", {}).items():
            add_fuzz(
                merged["fuzz"],
                op,
                int(row.get("requests", 0)),
                int(row.get("answered_200", 0)),
                row.get("statuses", {}),
            )
    merged["discrepancies"] = list(discrepancies.values())
    return finalize(merged)
