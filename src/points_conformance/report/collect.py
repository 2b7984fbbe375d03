"""Turns pytest's test reports into a conformance report that speaks in requirements.

`ReportPlugin` runs on the pytest controller. Under pytest-xdist it sees every worker's reports,
of which only serialisable data crosses, so everything it needs travels in
`report.user_properties`:

    ("pc_requirements", [requirement IDs the test checks])
    ("pc_exercised",    {requirement ID: [operations]} its exchanges' checks evaluated
                         (a plain list of IDs is read as well)
    ("pc_findings",     [Finding.to_dict(), ...])
    ("pc_operations",   [operationIds the test exercised])
    ("pc_writes",       [{"method": ..., "url": ...}, ...])   # state-changing requests sent
    ("pc_requests",     n)                                     # requests sent
    ("pc_throttled",    n)                                     # 429 answers met
    ("pc_throttle",     [ThrottleEvent.to_dict(), ...])            # each 429: asked, waited
    ("pc_redirects",    [RedirectRecord.to_dict(), ...])           # other-origin redirects
    ("pc_dry_run",      [PlannedRequest.to_dict(), ...])           # what a dry run would send
    ("pc_fuzz",         {"operation": op, "requests": n, "statuses": {"200": k, ...}})

A key may appear several times; lists are concatenated and numbers added. `pc_fuzz` also
accepts `{op: {"requests": n, "statuses": {...}}}` and an `answered_200` count instead of
`statuses`.

How a test settles each requirement it names (or that one of its findings names):
a failed test fails the requirements its findings name, and when it has no finding (an
exception) every requirement it names, with the exception's one-line message; any other
requirement of a test that ran passes; a skipped test skips them, with its reason. A requirement
the checks evaluated on the test's exchanges without a finding (`pc_exercised`) passes whatever
became of the test, since the rule was applied and held. Across tests
a failure wins over a pass, a pass over a skip; a catalogue requirement no test named is not
exercised.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from points_conformance.operations import OPERATIONS
from points_conformance.redaction import masked_settings, scrub, secret_values
from points_conformance.report.model import (
    FAILED,
    FORMAT,
    MAX_FINDINGS,
    NOT_EXERCISED,
    PASSED,
    SKIPPED,
    add_fuzz,
    combine,
    finalize,
    finding_operation,
    new_record,
    one_line,
)
from points_conformance.settings import default_report_dir, environment, specs_dir

if TYPE_CHECKING:
    import pytest

    from points_conformance.report.progress import ProgressPlugin

PROGRESS_PLUGIN = "points-conformance-progress"

# pytest's assertion rewriting adds explanation lines under the failing line; they explain
# the harness's own code, not the server, so they never make the one-line message.
_EXPLANATION_PREFIXES = ("+", "-", "?", "...", "Use -v", "Full diff", "At index")
# What pytest.fail() puts before its message; the message alone says what happened.
_FAIL_PREFIX = "Failed: "
# Throttle events kept in a report; a target that throttles everything produces thousands.
MAX_THROTTLE_EVENTS = 100


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _jsonable(value: Any) -> Any:
    """A catalogue value as JSON (dataclasses and odd types become plain data or text)."""
    return json.loads(json.dumps(masked_settings(value), default=str))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(_jsonable(value), sort_keys=True)


def requirement_meta(requirement: Any) -> dict[str, Any]:
    """The catalogue's description of a requirement, as plain data for a report."""
    operations = _get(requirement, "operations") or []
    if isinstance(operations, str):
        operations = list(OPERATIONS) if operations in ("*", "all") else [operations]
    source = _get(requirement, "source") or {}
    if isinstance(source, str):
        page, heading = source, ""
    else:
        page, heading = _get(source, "page", ""), _get(source, "heading", "")
    discrepancy = _get(requirement, "discrepancy")
    if isinstance(discrepancy, list | tuple):
        discrepancy = discrepancy[0] if discrepancy else None
    testable = _get(requirement, "testable", True)
    return {
        "operations": [str(op) for op in operations],
        "source": {"page": _text(page), "heading": _text(heading)},
        "statement": _text(_get(requirement, "statement")),
        "check": _text(_get(requirement, "check")),
        "discrepancy": str(discrepancy) if discrepancy else None,
        "strict_only": bool(_get(requirement, "strict_only", False)),
        "testable": True if testable is None else bool(testable),
        "untestable_reason": _text(
            _get(requirement, "untestable_reason") or _get(requirement, "reason")
        ),
    }


def discrepancy_meta(discrepancy: Any, strict: bool) -> dict[str, Any]:
    """A register entry, with the reading this run applied."""
    strict_reading = _get(discrepancy, "strict")
    stance = _get(discrepancy, "stance")
    applied_reading = stance
    if strict and isinstance(strict_reading, str) and strict_reading:
        applied_reading = strict_reading
    return {
        "id": str(_get(discrepancy, "id", "")),
        "title": _text(_get(discrepancy, "title")),
        "stance": _jsonable(stance),
        "strict": _jsonable(strict_reading),
        "affects": _jsonable(_get(discrepancy, "affects") or []),
        "enforced_by_strict": _jsonable(_get(discrepancy, "enforced_by_strict")),
        "applied": "strict" if strict else "lenient",
        "applied_reading": _text(applied_reading),
    }


def load_catalogue_meta(
    catalogue: Any, strict: bool
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], str | None]:
    """(requirements, discrepancies, error) from a catalogue, loading the real one if None."""
    if catalogue is None:
        try:
            from points_conformance.catalogue import load_catalogue

            catalogue = load_catalogue()
        except Exception as exc:  # the report must still be written without a catalogue
            return {}, [], one_line(f"catalogue not loaded: {type(exc).__name__}: {exc}")
    requirements = _get(catalogue, "requirements") or {}
    discrepancies = _get(catalogue, "discrepancies") or {}
    if isinstance(requirements, Mapping):
        req_items = [(str(k), v) for k, v in requirements.items()]
    else:
        req_items = [(str(_get(r, "id")), r) for r in requirements]
    if isinstance(discrepancies, Mapping):
        disc_items = list(discrepancies.values())
    else:
        disc_items = list(discrepancies)
    return (
        {rid: requirement_meta(req) for rid, req in req_items},
        [discrepancy_meta(d, strict) for d in disc_items],
        None,
    )


def spec_version(directory: Path | None = None) -> str:
    """A digest of specs/*.yaml: two runs with the same value checked the same rules."""
    directory = directory or specs_dir()
    files = sorted(directory.glob("*.yaml")) if directory and directory.is_dir() else []
    if not files:
        return "unknown"
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


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
class TestProperties:
    """What one test recorded through `user_properties`."""

    requirements: list[str] = field(default_factory=list)
    exercised: list[str] = field(default_factory=list)
    exercised_ops: dict[str, list[str]] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    writes: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    throttled: int = 0
    fuzz: list[Any] = field(default_factory=list)
    throttle: list[dict[str, Any]] = field(default_factory=list)
    redirects: list[dict[str, Any]] = field(default_factory=list)
    dry_run: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(cls, user_properties: Iterable[Any]) -> TestProperties:
        props = cls()
        for item in user_properties:
            if not isinstance(item, tuple | list) or len(item) != 2:
                continue
            name, value = item
            if name == "pc_requirements":
                props.requirements += _strings(value)
            elif name == "pc_exercised":
                if isinstance(value, Mapping):
                    for rid, ops in value.items():
                        props.exercised.append(str(rid))
                        known = props.exercised_ops.setdefault(str(rid), [])
                        known += [op for op in _strings(ops) if op not in known]
                else:
                    props.exercised += _strings(value)
            elif name == "pc_operations":
                props.operations += _strings(value)
            elif name == "pc_findings":
                props.findings += [dict(f) for f in _items(value) if isinstance(f, Mapping)]
            elif name == "pc_writes":
                props.writes += [dict(w) for w in _items(value) if isinstance(w, Mapping)]
            elif name == "pc_requests":
                props.requests += _int(value)
            elif name == "pc_throttled":
                props.throttled += _int(value)
            elif name == "pc_fuzz":
                props.fuzz += _items(value)
            elif name == "pc_throttle":
                props.throttle += [dict(t) for t in _items(value) if isinstance(t, Mapping)]
            elif name == "pc_redirects":
                props.redirects += [dict(r) for r in _items(value) if isinstance(r, Mapping)]
            elif name == "pc_dry_run":
                props.dry_run += [dict(d) for d in _items(value) if isinstance(d, Mapping)]
        props.requirements = list(dict.fromkeys(props.requirements))
        props.exercised = list(dict.fromkeys(props.exercised))
        props.operations = list(dict.fromkeys(props.operations))
        return props


def _items(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    return [value] if value is not None else []


def _strings(value: Any) -> list[str]:
    return [str(v) for v in _items(value) if v not in (None, "")]


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _property_key(entry: Any) -> str:
    return json.dumps(entry, sort_keys=True, default=str)


@dataclass
class TestResult:
    """One test's phases folded into one outcome."""

    nodeid: str
    outcome: str = PASSED  # passed | failed | error | skipped
    duration: float = 0.0
    message: str = ""
    skip_reason: str = ""
    user_properties: list[Any] = field(default_factory=list)
    _seen: Counter[str] = field(default_factory=Counter)

    def add(self, report: Any) -> None:
        self.duration += float(getattr(report, "duration", 0.0) or 0.0)
        self._merge_properties(getattr(report, "user_properties", None) or [])
        when = getattr(report, "when", "call")
        if getattr(report, "failed", False) or getattr(report, "outcome", "") == "failed":
            if self.outcome not in ("failed", "error"):
                self.outcome = "failed" if when == "call" else "error"
                self.message = failure_line(report)
        elif getattr(report, "outcome", "") == "skipped":
            if self.outcome == PASSED:
                self.outcome = SKIPPED
                self.skip_reason = skip_reason(report)

    def _merge_properties(self, entries: list[Any]) -> None:
        # Each phase's report carries the test's properties so far; a property added to one
        # report only must still count, and one seen in several snapshots only once.
        counts = Counter(_property_key(e) for e in entries)
        for entry in entries:
            key = _property_key(entry)
            if counts[key] > self._seen[key]:
                self._seen[key] += 1
                self.user_properties.append(tuple(entry) if isinstance(entry, list) else entry)

    @property
    def properties(self) -> TestProperties:
        return TestProperties.parse(self.user_properties)


def verdicts(
    result: TestResult, props: TestProperties, catalogue_ops: Mapping[str, list[str]]
) -> dict[str, tuple[str, dict[str, str], list[dict[str, Any]]]]:
    """requirement ID -> (verdict, {operation: verdict}, findings) for one finished test."""
    by_requirement: dict[str, list[dict[str, Any]]] = {}
    for finding in props.findings:
        rid = str(finding.get("requirement") or "")
        if rid:
            by_requirement.setdefault(rid, []).append(_finding(finding, result.nodeid))
    names = list(dict.fromkeys([*props.requirements, *by_requirement, *props.exercised]))
    named = set(props.requirements)
    failed = result.outcome in ("failed", "error")
    out: dict[str, tuple[str, dict[str, str], list[dict[str, Any]]]] = {}
    for rid in names:
        test_ops = props.operations or list(catalogue_ops.get(rid, []))
        findings = by_requirement.get(rid, [])
        if rid not in named and not findings:
            # Credited by a check: the operations of the answers it was evaluated on, else
            # those of the rule that the test exercised.
            own = catalogue_ops.get(rid, [])
            rule_ops = (
                props.exercised_ops.get(rid)
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
            out[rid] = (PASSED, dict.fromkeys(test_ops, PASSED), findings)
    return out


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
    return {
        "requirement": rid,
        "message": result.message,
        "expected": "",
        "actual": "",
        "discrepancy": None,
        "exchange": None,
        "test": result.nodeid,
        "error": True,
    }


def _fuzz_rows(value: Any) -> list[tuple[str, int, int, dict[str, int]]]:
    """(operation, requests, answered 200, statuses) from one `pc_fuzz` property."""
    if not isinstance(value, Mapping):
        return []
    if "operation" in value:
        pairs = [(value["operation"], value)]
    else:
        pairs = [(op, stats) for op, stats in value.items() if isinstance(stats, Mapping)]
    rows = []
    for op, stats in pairs:
        statuses_raw = stats.get("statuses") or stats.get("status_counts") or {}
        if not isinstance(statuses_raw, Mapping):
            statuses_raw = {}
        statuses = {str(code): _int(n) for code, n in statuses_raw.items()}
        requests = _int(stats.get("requests") or stats.get("total")) or sum(statuses.values())
        ok_raw = stats.get("answered_200", stats.get("status_200", stats.get("ok")))
        ok = _int(ok_raw) if ok_raw is not None else statuses.get("200", 0)
        rows.append((str(op), requests, ok, statuses))
    return rows


class Collector:
    """Folds test reports into per-test results; pure, so it is tested without pytest runs."""

    def __init__(self) -> None:
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
        result.add(report)
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
        for rid, (verdict, _ops, _findings) in verdicts(
            self.results[nodeid], self.results[nodeid].properties, {}
        ).items():
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
            props = result.properties
            settled = verdicts(result, props, catalogue_ops)
            tests[nodeid] = {
                "outcome": result.outcome,
                "duration": round(result.duration, 4),
                "requirements": list(settled),
                "operations": props.operations,
                "requests": props.requests,
                "throttled": props.throttled,
                "message": result.message,
                "skip_reason": result.skip_reason,
                "findings": len(props.findings),
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
                target = "findings" if verdict == FAILED else "notes"
                kept = record.setdefault(target, [])
                if target == "findings":
                    record["findings_total"] += len(findings)
                kept.extend(findings[: max(0, MAX_FINDINGS - len(kept))])
        return records, tests

    def run_figures(self) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], int, int]:
        """(writes, fuzz per operation, requests, throttled) over every finished test."""
        writes: list[dict[str, Any]] = []
        fuzz: dict[str, dict[str, Any]] = {}
        requests = throttled = 0
        for nodeid in self.finished:
            props = self.results[nodeid].properties
            requests += props.requests
            throttled += props.throttled
            for write in props.writes:
                writes.append(
                    {
                        "method": str(write.get("method", "")),
                        "url": str(write.get("url", "")),
                        "test": nodeid,
                    }
                )
            for entry in props.fuzz:
                for op, n, ok, statuses in _fuzz_rows(entry):
                    add_fuzz(fuzz, op, n, ok, statuses)
        return writes, fuzz, requests, throttled

    def run_events(self, dry_run: bool = False) -> dict[str, Any]:
        """The `throttling`, `redirects` and `dry_run` sections of a report."""
        events: list[dict[str, Any]] = []
        redirects: list[dict[str, Any]] = []
        planned: list[dict[str, Any]] = []
        # Sorted like the records, so that a parallel run lists them as a serial one does.
        for nodeid in sorted(self.finished):
            props = self.results[nodeid].properties
            events += [{**event, "test": nodeid} for event in props.throttle]
            redirects += [
                {
                    "method": str(r.get("method", "")),
                    "url": str(r.get("url", "")),
                    "location": str(r.get("location", "")),
                    "test": nodeid,
                }
                for r in props.redirects
            ]
            planned += [
                {
                    "method": str(d.get("method", "")),
                    "url": str(d.get("url", "")),
                    "operation": str(d.get("operation", "")),
                    "writes": bool(d.get("writes", False)),
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


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def report_dir(settings: Any) -> Path:
    configured = getattr(settings, "report_dir", None)
    return Path(configured) if configured else default_report_dir()


def base_url(settings: Any) -> str:
    url = getattr(settings, "base_url", None) or getattr(
        getattr(settings, "target", None), "base_url", None
    )
    return str(url or "")


class ReportPlugin:
    """pytest plugin (controller side) that writes the four report files at session finish."""

    def __init__(self, config: pytest.Config | None, settings: Any, catalogue: Any = None) -> None:
        self.config = config
        self.settings = settings
        self.catalogue = catalogue
        self.collector = Collector()
        self.collection_errors: list[dict[str, str]] = []
        self.started = _now()
        self.report: dict[str, Any] | None = None
        self.paths: dict[str, Path] = {}
        self.write_error = ""
        self.progress: ProgressPlugin | None = None
        if config is not None and not _is_worker(config):
            from points_conformance.report.progress import ProgressPlugin

            if not config.pluginmanager.has_plugin(PROGRESS_PLUGIN):
                self.progress = ProgressPlugin(config, self.collector)
                config.pluginmanager.register(self.progress, PROGRESS_PLUGIN)

    @property
    def strict(self) -> bool:
        return bool(getattr(self.settings, "strict", False))

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = _now()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(
                {"nodeid": report.nodeid, "message": failure_line(report)}
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.collector.add(report) and self.progress is not None:
            self.progress.tick()

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.config is not None and _is_worker(self.config):
            return
        if self.progress is not None:
            self.progress.close()
        if self.config is not None and self.config.getoption("collectonly", False):
            # Nothing ran: a report would show every requirement not exercised and overwrite
            # the last real one.
            return
        incomplete = bool(int(exitstatus) not in (0, 1) or session.shouldstop or session.shouldfail)
        self.report = self.build(incomplete=incomplete, exit_status=int(exitstatus))
        from points_conformance.report.output import write_all

        try:
            self.paths = write_all(self.report, report_dir(self.settings))
        except OSError as exc:
            # The run's results stand; only the files are missing, and the summary says so.
            self.write_error = one_line(f"conformance report not written: {exc}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.write_error:
            terminalreporter.write_line(self.write_error, red=True)
        if self.report is not None and self.report.get("dry_run") is not None:
            from points_conformance.report.output import render_dry_run

            terminalreporter.write_sep("-", "points-conformance dry run")
            for line in render_dry_run(self.report).splitlines():
                terminalreporter.write_line(line)
        if self.report is None or "html" not in self.paths:
            return
        c = self.report["counts"]
        terminalreporter.write_line(
            f"conformance ({self.report['stance']}): {self.report['verdict']} - "
            f"{c[FAILED]} failed, {c[PASSED]} passed, {c[SKIPPED]} skipped, "
            f"{c[NOT_EXERCISED]} not exercised"
            + (
                f" ({len(self.report['untestable'])} untestable)"
                if self.report.get("untestable")
                else ""
            )
            + f"; report: {self.paths['html']}"
        )

    def build(
        self,
        *,
        incomplete: bool = False,
        exit_status: int | None = None,
        finished: datetime | None = None,
    ) -> dict[str, Any]:
        """The report dict for everything seen so far (secrets already scrubbed)."""
        self.collector.finish_pending()
        finished = finished or _now()
        catalogue, discrepancies, catalogue_error = load_catalogue_meta(self.catalogue, self.strict)
        records, tests = self.collector.records(catalogue)
        writes, fuzz, requests, throttled = self.collector.run_figures()
        import points_conformance

        report: dict[str, Any] = {
            "format": FORMAT,
            "title": "Points API conformance",
            "target": base_url(self.settings),
            "started": _iso(self.started),
            "finished": _iso(finished),
            "duration": round((finished - self.started).total_seconds(), 3),
            "stance": "strict" if self.strict else "lenient",
            "versions": {
                "harness": points_conformance.__version__,
                "spec": spec_version(),
                "python": platform.python_version(),
                "pytest": _pytest_version(),
            },
            "settings": masked_settings(self.settings),
            "incomplete": incomplete or bool(self.collection_errors),
            "exit_status": exit_status,
            "collection_errors": self.collection_errors,
            "catalogue_error": catalogue_error,
            "requirements": records,
            "tests": tests,
            "discrepancies": discrepancies,
            "fuzz": fuzz,
            "writes": writes,
            "requests": requests,
            "throttled": throttled,
            **self.collector.run_events(bool(getattr(self.settings, "dry_run", False))),
            "sources": [],
        }
        report = json.loads(json.dumps(report, default=str))
        finalize(report)
        scrubbed: dict[str, Any] = scrub(report, secret_values(self.settings, environment()))
        return scrubbed


def _pytest_version() -> str:
    try:
        import pytest

        return str(pytest.__version__)
    except ImportError:  # reports can be built outside a pytest run
        return ""


def _is_worker(config: Any) -> bool:
    return hasattr(config, "workerinput")
