"""Folds pytest's test reports into per-test results and per-requirement verdicts.

`Collector` runs on the pytest controller. Under pytest-xdist it sees every worker's reports,
of which only serialisable data crosses, so what a test did travels as its `TestRecord` (see
`records`) in `report.user_properties`.

How a test settles each requirement it names (or that one of its findings names):
a failed test fails the requirements its findings name, and when it has no finding (an
exception) every requirement it names, with the exception's one-line message; any other
requirement of a test that ran passes; a skipped test skips them, with its reason. A requirement
the checks evaluated on the test's exchanges without a finding (`exercised`) passes whatever
became of the test, since the rule was applied and held. Across tests a failure wins over a
pass, a pass over a skip; a catalogue requirement no test named is not exercised.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from points_conformance.records import TestRecord, find_record
from points_conformance.report.baseline import signature
from points_conformance.report.model import (
    FAILED,
    MAX_FINDINGS,
    NOT_EXERCISED,
    PASSED,
    SKIPPED,
    add_fuzz,
    combine,
    finding_operation,
    new_record,
    one_line,
)

# pytest's assertion rewriting adds explanation lines under the failing line; they explain
# the harness's own code, not the server, so they never make the one-line message.
_EXPLANATION_PREFIXES = ("+", "-", "?", "...", "Use -v", "Full diff", "At index")
# What pytest.fail() puts before its message; the message alone says what happened.
_FAIL_PREFIX = "Failed: "
# Throttle events kept in a report; a target that throttles everything produces thousands.
MAX_THROTTLE_EVENTS = 100


def failure_line(report: Any) -> str:
    """The one-line message of a failed phase: never a traceback."""
    longrepr = getattr(report, "longrepr", None)
    crash = getattr(longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    if message is None:
        if isinstance(longrepr, tuple | list) and len(longrepr) == 3:
            message = str(longrepr[2])
        else:
            message = str(longrepr) if longrepr is not None else ""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    lines = [line[2:].strip() if line.startswith("E ") else line for line in lines]
    meaningful = [line for line in lines if not line.startswith(_EXPLANATION_PREFIXES)]
    chosen = meaningful[-1] if meaningful else (lines[0] if lines else "")
    return one_line(chosen.removeprefix(_FAIL_PREFIX)) or "the test failed without a message"


def skip_reason(report: Any) -> str:
    wasxfail = getattr(report, "wasxfail", None)
    if wasxfail is not None:
        reason = str(wasxfail).removeprefix("reason: ")
        return one_line(f"expected to fail: {reason}" if reason else "expected to fail")
    longrepr = getattr(report, "longrepr", None)
    if isinstance(longrepr, tuple | list) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr or "")
    reason = reason.removeprefix("Skipped: ")
    return one_line("" if reason == "Skipped" else reason) or "skipped without a reason"


@dataclass
class TestResult:
    """One test's phases folded into one outcome."""

    __test__ = False  # a result, not a pytest test class

    nodeid: str
    outcome: str = PASSED  # passed | failed | error | skipped
    duration: float = 0.0
    message: str = ""
    skip_reason: str = ""
    # Seconds from the start of the session to the test's first failed phase.
    failed_after: float | None = None
    record: TestRecord = field(default_factory=TestRecord)

    def add(self, report: Any, elapsed: float | None = None) -> None:
        self.duration += float(getattr(report, "duration", 0.0) or 0.0)
        # Each phase's report carries the test's record so far; the latest is the fullest.
        record = find_record(getattr(report, "user_properties", None) or [])
        if record is not None:
            self.record = record
        when = getattr(report, "when", "call")
        if getattr(report, "failed", False) or getattr(report, "outcome", "") == "failed":
            if self.outcome not in ("failed", "error"):
                self.outcome = "failed" if when == "call" else "error"
                self.message = failure_line(report)
                self.failed_after = None if elapsed is None else round(elapsed, 3)
        elif getattr(report, "outcome", "") == "skipped":
            if self.outcome == PASSED:
                self.outcome = SKIPPED
                self.skip_reason = skip_reason(report)


def verdicts(
    result: TestResult, catalogue_ops: Mapping[str, list[str]]
) -> dict[str, tuple[str, dict[str, str], list[dict[str, Any]]]]:
    """requirement ID -> (verdict, {operation: verdict}, findings) for one finished test."""
    props = result.record
    by_requirement: dict[str, list[dict[str, Any]]] = {}
    rechecks = {r.finding: r.to_dict() for r in props.rechecks}
    for index, finding in enumerate(props.findings):
        rid = str(finding.get("requirement") or "")
        if rid:
            kept = _finding(finding, result.nodeid)
            if index in rechecks:
                kept["recheck"] = rechecks[index]
            by_requirement.setdefault(rid, []).append(kept)
    names = list(dict.fromkeys([*props.requirements, *by_requirement, *props.exercised]))
    named = set(props.requirements)
    failed = result.outcome in ("failed", "error")
    out: dict[str, tuple[str, dict[str, str], list[dict[str, Any]]]] = {}
    for rid in names:
        own = list(catalogue_ops.get(rid, []))
        # A requirement is judged only under the operations it concerns: a test of several
        # operations (or one naming a COMMON rule) credits a BAL rule under the balance alone.
        test_ops = [op for op in props.operations if not own or op in own] or own
        test_ops = test_ops or list(props.operations)
        findings = by_requirement.get(rid, [])
        if rid not in named and not findings:
            # Credited by a check: the operations of the answers it was evaluated on, else
            # those of the rule that the test exercised.
            rule_ops = (
                list(props.exercised.get(rid, ()))
                or [op for op in test_ops if op in own]
                or list(own)
                or test_ops
            )
            out[rid] = (PASSED, dict.fromkeys(rule_ops, PASSED), [])
        elif failed and findings:
            ops = dict.fromkeys(test_ops, PASSED)
            finding_ops = [finding_operation(f) for f in findings]
            if any(op is None for op in finding_ops):
                ops = dict.fromkeys(test_ops, FAILED)
            ops.update({op: FAILED for op in finding_ops if op})
            out[rid] = (FAILED, ops, findings)
        elif failed and not by_requirement:
            error = _error_finding(rid, result)
            out[rid] = (FAILED, dict.fromkeys(test_ops, FAILED), [error])
        elif result.outcome == SKIPPED:
            out[rid] = (SKIPPED, dict.fromkeys(test_ops, SKIPPED), [])
        else:
            # Findings of a test that passed are notes (a lenient reading let it through).
            notes = [passing_exchange(f) for f in findings]
            out[rid] = (PASSED, dict.fromkeys(test_ops, PASSED), notes)
    return out


def passing_exchange(finding: Mapping[str, Any]) -> dict[str, Any]:
    """A note with its exchange cut to what says which request it was: the operation, method,
    URL, status and time. Only failures need the headers, bodies and curl repro, and a run
    against a lenient-reading server could otherwise fill its report with passing bodies."""
    exchange = finding.get("exchange")
    if not isinstance(exchange, Mapping):
        return dict(finding)
    request = exchange.get("request") or {}
    response = exchange.get("response") or {}
    compact = {
        "operation": exchange.get("operation"),
        "request": {"method": request.get("method"), "url": request.get("url")},
        "response": {"status": response.get("status"), "elapsed": response.get("elapsed")},
    }
    return {**finding, "exchange": compact}


def _finding(raw: Mapping[str, Any], nodeid: str) -> dict[str, Any]:
    finding = {
        "requirement": str(raw.get("requirement") or ""),
        "message": str(raw.get("message") or ""),
        "expected": str(raw.get("expected") or ""),
        "actual": str(raw.get("actual") or ""),
        "discrepancy": raw.get("discrepancy") or None,
        "exchange": raw.get("exchange") if isinstance(raw.get("exchange"), Mapping) else None,
        "test": nodeid,
    }
    plain: dict[str, Any] = json.loads(json.dumps(finding, default=str))
    return plain


def _error_finding(rid: str, result: TestResult) -> dict[str, Any]:
    error: dict[str, Any] = {
        "requirement": rid,
        "message": result.message,
        "expected": "",
        "actual": "",
        "discrepancy": None,
        "exchange": None,
        "test": result.nodeid,
        "error": True,
    }
    if result.record.transport_failure:
        # A timeout, broken connection or 429 ended the test: report.confirmation's "transient".
        error["transport"] = True
        if result.record.transport_recheck is not None:
            error["recheck"] = result.record.transport_recheck.to_dict()
    return error


class Collector:
    """Folds test reports into per-test results; pure, so it is tested without pytest runs."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        # Seconds since the session started, for the time of each test's first failure.
        self.clock = clock
        self.results: dict[str, TestResult] = {}
        self.finished: list[str] = []
        self._open: set[str] = set()
        self._live: dict[str, str] = {}  # requirement -> verdict so far, for progress
        self.tests_finished = 0

    def add(self, report: Any) -> str | None:
        """Take one phase's report; returns the nodeid when that test has finished."""
        nodeid = str(getattr(report, "nodeid", ""))
        result = self.results.get(nodeid)
        if result is None:
            result = self.results[nodeid] = TestResult(nodeid)
            self._open.add(nodeid)
        result.add(report, self.clock() if self.clock is not None else None)
        if getattr(report, "when", "call") == "teardown" and nodeid in self._open:
            self._finish(nodeid)
            return nodeid
        return None

    def finish_pending(self) -> None:
        for nodeid in sorted(self._open):
            self._finish(nodeid)

    def _finish(self, nodeid: str) -> None:
        self._open.discard(nodeid)
        self.finished.append(nodeid)
        self.tests_finished += 1
        for rid, (verdict, _ops, _findings) in verdicts(self.results[nodeid], {}).items():
            self._live[rid] = combine([self._live.get(rid, NOT_EXERCISED), verdict])

    @property
    def checked(self) -> int:
        """Requirements settled (passed or failed) so far."""
        return sum(1 for v in self._live.values() if v in (PASSED, FAILED))

    @property
    def failing(self) -> int:
        return sum(1 for v in self._live.values() if v == FAILED)

    def records(
        self, catalogue: Mapping[str, Mapping[str, Any]]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """(requirement records, test records) for every catalogue requirement and test."""
        records = {rid: new_record(rid, meta) for rid, meta in catalogue.items()}
        catalogue_ops = {rid: list(meta.get("operations") or []) for rid, meta in catalogue.items()}
        tests: dict[str, dict[str, Any]] = {}
        # Sorted, so that a run under pytest-xdist (whose tests finish in any order) gives
        # the same report, and keeps the same first findings, as a run in one process.
        for nodeid in sorted(self.finished):
            result = self.results[nodeid]
            props = result.record
            settled = verdicts(result, catalogue_ops)
            tests[nodeid] = {
                "outcome": result.outcome,
                "duration": round(result.duration, 4),
                "requirements": list(settled),
                "operations": list(props.operations),
                "requests": props.requests,
                "throttled": props.throttled,
                "message": result.message,
                "skip_reason": result.skip_reason,
                "findings": len(props.findings),
                "failed_after": result.failed_after,
            }
            for rid, (verdict, ops, findings) in settled.items():
                record = records.get(rid)
                if record is None:
                    record = records[rid] = new_record(rid)
                record["tests"].append(
                    {
                        "nodeid": nodeid,
                        "outcome": result.outcome,
                        "verdict": verdict,
                        "duration": round(result.duration, 4),
                        "operations": ops,
                    }
                )
                if verdict == SKIPPED:
                    record["skip_reasons"].append(result.skip_reason)
                    record["missing_data"].extend(props.missing_data)
                    record["needs_writes"] = record["needs_writes"] or props.writes_refused
                target = "findings" if verdict == FAILED else "notes"
                kept = record.setdefault(target, [])
                if target == "findings":
                    record["findings_total"] += len(findings)
                    record["signatures"].extend(signature(f) for f in findings)
                kept.extend(findings[: max(0, MAX_FINDINGS - len(kept))])
        return records, tests

    def run_figures(self) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], int, int]:
        """(writes, fuzz per operation, requests, throttled) over every finished test."""
        writes: list[dict[str, Any]] = []
        fuzz: dict[str, dict[str, Any]] = {}
        requests = throttled = 0
        for nodeid in self.finished:
            props = self.results[nodeid].record
            requests += props.requests
            throttled += props.throttled
            writes += [
                {
                    "operation": w.operation,
                    "method": w.method,
                    "url": w.url,
                    "status": w.status,
                    "test": nodeid,
                }
                for w in props.writes
            ]
            for figures in props.fuzz:
                add_fuzz(
                    fuzz,
                    figures.operation,
                    figures.requests,
                    figures.answered_200,
                    figures.statuses,
                )
        return writes, fuzz, requests, throttled

    def run_events(self, dry_run: bool = False) -> dict[str, Any]:
        """The `throttling`, `redirects` and `dry_run` sections of a report."""
        events: list[dict[str, Any]] = []
        redirects: list[dict[str, Any]] = []
        planned: list[dict[str, Any]] = []
        # Sorted like the records, so that a parallel run lists them as a serial one does.
        for nodeid in sorted(self.finished):
            props = self.results[nodeid].record
            events += [{**event.to_dict(), "test": nodeid} for event in props.throttle]
            redirects += [
                {"method": r.method, "url": r.url, "location": r.location, "test": nodeid}
                for r in props.redirects
            ]
            planned += [
                {
                    "method": d.method,
                    "url": d.url,
                    "operation": d.operation,
                    "writes": d.writes,
                    "test": nodeid,
                }
                for d in props.dry_run
            ]
        waited = sum(float(e.get("waited") or 0.0) for e in events)
        return {
            "throttling": {
                "responses": len(events),
                "waited": round(waited, 3),
                "gave_up": sum(1 for e in events if e.get("gave_up")),
                "events": events[:MAX_THROTTLE_EVENTS],
            },
            "redirects": redirects,
            "dry_run": {"requests": planned} if dry_run or planned else None,
        }
