"""A progress display for a running conformance run, written through pytest's terminal reporter.

On a terminal it is one line, redrawn at most four times a second, that counts requirements
checked and failing. pytest's own per-test letters would be drawn over that line, so while it is
shown they are left out (the summary at the end is pytest's own). Verbose runs (`-v`), runs with
output capture off, live logging, CI (the `CI` variable) and output that is not a terminal get
at most one full line every 30 seconds instead, which never lands in the middle of pytest's
lines. `POINTS_CONFORMANCE_PROGRESS=off` turns it off, `=lines` forces the periodic lines.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import pytest

from points_conformance.settings import environment, in_ci, progress_mode

LIVE_INTERVAL = 0.25
LINE_INTERVAL = 30.0

LIVE = "live"
LINES = "lines"
OFF = "off"


class ProgressPlugin:
    """Registered by ReportPlugin; `tick()` after each finished test, `close()` at the end."""

    def __init__(
        self,
        config: Any,
        collector: Any,
        clock: Callable[[], float] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.collector = collector
        self.clock = clock or time.monotonic
        self.environ = environment() if environ is None else environ
        self.mode = OFF
        self.session: Any = None
        self._started = self.clock()
        self._last_draw: float | None = None
        self._drawn = False

    # -- deciding how to show progress

    def _terminal(self) -> Any:
        return self.config.pluginmanager.get_plugin("terminalreporter")

    def decide_mode(self) -> str:
        wanted = progress_mode(self.environ)
        terminal = self._terminal()
        if wanted in ("0", "off", "no", "false") or terminal is None:
            return OFF
        if wanted == LINES or in_ci(self.environ) or not bool(getattr(terminal, "isatty", False)):
            return LINES
        if (
            self.config.get_verbosity() > 0
            or self.config.getoption("capture", "fd") == "no"
            or self.config.getoption("log_cli_level", None)
            or _ini_true(self.config, "log_cli")
        ):
            return LINES
        return LIVE

    # -- pytest hooks

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session
        self._started = self.clock()
        self.mode = self.decide_mode()
        terminal = self._terminal()
        if self.mode != LIVE:
            return
        # The file name pytest starts each module's line with would land on our line.
        terminal.showfspath = False
        if hasattr(terminal, "_show_progress_info"):
            # pytest's "[ 40%]" column is placed after whatever is on the current line, which
            # is ours while the live line is up.
            terminal._show_progress_info = False

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> Generator[None, Any, Any]:
        result = yield
        if self.mode == LIVE and isinstance(result, tuple) and len(result) == 3:
            category, _letter, word = result
            # An empty letter keeps the count in pytest's statistics but writes nothing.
            return (category, "", word)
        return result

    # -- drawing

    def line(self) -> str:
        checked = self.collector.checked
        failing = self.collector.failing
        done = self.collector.tests_finished
        total = int(getattr(self.session, "testscollected", 0) or 0)
        tests = f"{done}/{total} tests" if total else f"{done} tests"
        elapsed = int(self.clock() - self._started)
        return (
            f"conformance: {checked} requirements checked, {failing} failing ({tests}, {elapsed}s)"
        )

    def tick(self) -> None:
        if self.mode == OFF:
            return
        now = self.clock()
        if self.mode == LIVE:
            if self._last_draw is None or now - self._last_draw >= LIVE_INTERVAL:
                self._draw_live()
                self._last_draw = now
        else:
            since = now - (self._last_draw if self._last_draw is not None else self._started)
            if since >= LINE_INTERVAL:
                self._write_line()
                self._last_draw = now

    def _write_line(self) -> None:
        terminal = self._terminal()
        # pytest's own line of letters may be open (with -q it names no file, so
        # `write_line` would not end it first); ours goes below it, never inside it.
        if self._current_width(terminal):
            terminal.write("\n")
            terminal.currentfspath = None
        terminal.write_line(self.line())

    @staticmethod
    def _current_width(terminal: Any) -> int:
        writer = getattr(terminal, "_tw", None)
        return int(getattr(writer, "width_of_current_line", 0) or 0)

    def _draw_live(self) -> None:
        terminal = self._terminal()
        if not self._drawn and self._current_width(terminal):
            terminal.write("\n")
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        text = self.line()[:width]
        terminal.rewrite(text, erase=True)
        # Any line someone else writes now starts on a fresh line below ours: this is the
        # marker pytest-xdist uses for the same purpose.
        terminal.currentfspath = -2
        self._drawn = True

    def close(self) -> None:
        """Leave the final figures on their own line (live mode), and stop drawing."""
        if self.mode == LIVE and self._drawn:
            self._draw_live()
            terminal = self._terminal()
            terminal.write("\n")
            terminal.currentfspath = None
        self.mode = OFF


def _ini_true(config: Any, name: str) -> bool:
    try:
        return bool(config.getini(name))
    except (ValueError, KeyError):
        return False
