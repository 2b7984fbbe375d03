"""The report's pytest plugin (controller side): collects the run and writes the report files.

`ReportPlugin` is registered when the run asks for a report (see `plugin.session`); after the
session its `report` holds the built report, so an in-process caller needs no file.
"""

from __future__ import annotations

import importlib.util
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from points_conformance.locations import DEFAULT_REPORT_DIR, SUITE_PACKAGE
from points_conformance.plugin.progress import ProgressPlugin
from points_conformance.report.build import build_report, now
from points_conformance.report.collect import Collector, failure_line
from points_conformance.report.model import (
    FAILED,
    NOT_EXERCISED,
    PASSED,
    SKIPPED,
    WAIVED,
    one_line,
    verdict_line,
)
from points_conformance.report.output import render_dry_run, write_all
from points_conformance.report.verdict_text import unchecked_lines, waiver_lines

PROGRESS_PLUGIN = "points-conformance-progress"


def report_dir(settings: Any) -> Path:
    return Path(getattr(settings, "report_dir", None) or DEFAULT_REPORT_DIR)


class ReportPlugin:
    """pytest plugin (controller side) that writes the four report files at session finish."""

    def __init__(self, config: pytest.Config | None, settings: Any, catalogue: Any = None) -> None:
        self.config = config
        self.settings = settings
        self.catalogue = catalogue
        self.collector = Collector(self._elapsed)
        self.collection_errors: list[dict[str, str]] = []
        self.started = now()
        self._clock_start = time.monotonic()
        self.report: dict[str, Any] | None = None
        self.paths: dict[str, Path] = {}
        self.write_error = ""
        self.deselected = 0
        self.progress: ProgressPlugin | None = None
        if config is not None and not _is_worker(config):
            if not config.pluginmanager.has_plugin(PROGRESS_PLUGIN):
                self.progress = ProgressPlugin(config, self.collector)
                config.pluginmanager.register(self.progress, PROGRESS_PLUGIN)

    @property
    def strict(self) -> bool:
        return bool(getattr(self.settings, "strict", False))

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = now()
        self._clock_start = time.monotonic()

    def _elapsed(self) -> float:
        return time.monotonic() - self._clock_start

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(
                {"nodeid": report.nodeid, "message": failure_line(report)}
            )

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.collector.add(report) and self.progress is not None:
            self.progress.tick()

    # tryfirst: under pytest-xdist, before the controller waits for its workers to exit.
    @pytest.hookimpl(tryfirst=True)
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
        # Counted, with the keys that would unlock them; each one is listed in the report
        # (and by `points-conformance run`, under its table).
        for line in [*unchecked_lines(self.report, limit=0), *waiver_lines(self.report)]:
            terminalreporter.write_line(line)
        c = self.report["counts"]
        terminalreporter.write_line(
            f"conformance ({self.report['stance']}): {verdict_line(self.report)} - "
            f"{c[FAILED]} failed, "
            + (f"{c[WAIVED]} waived, " if c[WAIVED] else "")
            + f"{c[PASSED]} passed, {c[SKIPPED]} skipped, "
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
        return build_report(
            self.collector,
            self.settings,
            started=self.started,
            finished=finished or now(),
            incomplete=incomplete,
            exit_status=exit_status,
            catalogue=self.catalogue,
            collection_errors=self.collection_errors,
            tools={"pytest": pytest.__version__},
            sections={
                "selection": self.selection(),
                "confirmation": {
                    "rechecks": int(getattr(self.settings, "rechecks", 0) or 0),
                    "tolerate": list(getattr(self.settings, "tolerate", ()) or ()),
                },
            },
        )

    def selection(self) -> dict[str, Any]:
        """How the run narrowed the suite: -m, -k, deselected tests, files or nodes named."""
        by: list[str] = []
        config = self.config
        if config is not None:
            markexpr = config.getoption("markexpr", "") or ""
            keyword = config.getoption("keyword", "") or ""
            if markexpr:
                by.append(f"-m {markexpr!r}")
            if keyword:
                by.append(f"-k {keyword!r}")
            by += [f"{arg}" for arg in config.args if _narrows(arg)]
        if self.deselected:
            by.append(f"{self.deselected} tests deselected")
        return {"partial": bool(by), "by": by}


def _narrows(arg: str) -> bool:
    """Whether a path argument names part of the conformance suite rather than all of it."""
    base = arg.split("::", 1)[0]
    if "::" in arg or base.endswith(".py"):
        return True
    spec = importlib.util.find_spec(SUITE_PACKAGE)
    if spec is None or not spec.origin:
        return False
    suite = Path(spec.origin).resolve().parent
    path = Path(base).resolve()
    return path != suite and suite in path.parents


def _is_worker(config: Any) -> bool:
    return hasattr(config, "workerinput")
