"""The report's pytest plugin (controller side): collects the run and writes the report files.

`ReportPlugin` is registered when the run asks for a report (see `plugin.session`); after the
session its `report` holds the built report, so an in-process caller needs no file.
"""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import points_conformance
from points_conformance.locations import DEFAULT_REPORT_DIR
from points_conformance.plugin.progress import ProgressPlugin
from points_conformance.redaction import masked_settings, scrub, secret_values
from points_conformance.report.catalogue_meta import load_catalogue_meta, spec_version
from points_conformance.report.collect import Collector, failure_line
from points_conformance.report.model import (
    FAILED,
    FORMAT,
    NOT_EXERCISED,
    PASSED,
    SKIPPED,
    finalize,
    one_line,
)
from points_conformance.report.output import render_dry_run, write_all
from points_conformance.settings import environment

PROGRESS_PLUGIN = "points-conformance-progress"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def report_dir(settings: Any) -> Path:
    return Path(getattr(settings, "report_dir", None) or DEFAULT_REPORT_DIR)


def base_url(settings: Any) -> str:
    return str(getattr(settings, "base_url", None) or "")


class ReportPlugin:
    """pytest plugin (controller side) that writes the four report files at session finish."""

    def __init__(self, config: pytest.Config | None, settings: Any, catalogue: Any = None) -> None:
        self.config = config
        self.settings = settings
        self.catalogue = catalogue
        self.collector = Collector(self._elapsed)
        self.collection_errors: list[dict[str, str]] = []
        self.started = _now()
        self._clock_start = time.monotonic()
        self.report: dict[str, Any] | None = None
        self.paths: dict[str, Path] = {}
        self.write_error = ""
        self.progress: ProgressPlugin | None = None
        if config is not None and not _is_worker(config):
            if not config.pluginmanager.has_plugin(PROGRESS_PLUGIN):
                self.progress = ProgressPlugin(config, self.collector)
                config.pluginmanager.register(self.progress, PROGRESS_PLUGIN)

    @property
    def strict(self) -> bool:
        return bool(getattr(self.settings, "strict", False))

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = _now()
        self._clock_start = time.monotonic()

    def _elapsed(self) -> float:
        return time.monotonic() - self._clock_start

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
        try:
            self.paths = write_all(self.report, report_dir(self.settings))
        except OSError as exc:
            # The run's results stand; only the files are missing, and the summary says so.
            self.write_error = one_line(f"conformance report not written: {exc}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.write_error:
            terminalreporter.write_line(self.write_error, red=True)
        if self.report is not None and self.report.get("dry_run") is not None:
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
                "pytest": pytest.__version__,
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
            "confirmation": {
                "rechecks": int(getattr(self.settings, "rechecks", 0) or 0),
                "tolerate": list(getattr(self.settings, "tolerate", ()) or ()),
            },
        }
        report = json.loads(json.dumps(report, default=str))
        finalize(report)
        scrubbed: dict[str, Any] = scrub(report, secret_values(self.settings, environment()))
        return scrubbed


def _is_worker(config: Any) -> bool:
    return hasattr(config, "workerinput")
