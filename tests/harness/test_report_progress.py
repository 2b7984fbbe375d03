"""The progress display: which mode it picks, how often it draws, and what it writes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Literal

import pytest

from points_conformance.plugin.progress import LINES, LIVE, OFF, ProgressPlugin
from points_conformance.records import TestRecord
from points_conformance.report.collect import Collector


class FakeTerminal:
    def __init__(self, isatty: bool = True) -> None:
        self.isatty = isatty
        self.calls: list[tuple[str, str]] = []
        self.currentfspath: Any = None
        self.showfspath = True
        self._show_progress_info: str | bool = "progress"
        self._tw = SimpleNamespace(width_of_current_line=0)

    def write_line(self, line: str) -> None:
        self.calls.append(("line", line))

    def rewrite(self, line: str, **markup: bool) -> None:
        self.calls.append(("rewrite", line))

    def write(self, text: str) -> None:
        self.calls.append(("write", text))


class FakeConfig:
    def __init__(
        self, terminal: FakeTerminal | None, verbosity: int = 0, capture: str = "fd"
    ) -> None:
        self.pluginmanager = SimpleNamespace(get_plugin=lambda name: terminal)
        self.verbosity = verbosity
        self.capture = capture

    def get_verbosity(self) -> int:
        return self.verbosity

    def getoption(self, name: str, default: Any = None) -> Any:
        return {"capture": self.capture}.get(name, default)

    def getini(self, name: str) -> Any:
        return False


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Outcome = Literal["passed", "failed", "skipped"]
Phase = Literal["setup", "call", "teardown"]


def finished_test(collector: Collector, nodeid: str, outcome: Outcome, requirement: str) -> None:
    loc = (nodeid, 1, nodeid)
    props = [TestRecord(requirements=(requirement,)).user_property()]
    steps: tuple[tuple[Phase, Outcome], ...] = (
        ("setup", "passed"),
        ("call", outcome),
        ("teardown", "passed"),
    )
    for when, phase in steps:
        longrepr = "AssertionError: x" if phase == "failed" else None
        collector.add(
            pytest.TestReport(nodeid, loc, {}, phase, longrepr, when, user_properties=props)
        )


def plugin(
    terminal: FakeTerminal | None,
    env: dict[str, str] | None = None,
    total: int = 4,
    **config: Any,
) -> tuple[ProgressPlugin, Collector, Clock]:
    collector, clock = Collector(), Clock()
    progress = ProgressPlugin(
        FakeConfig(terminal, **config), collector, clock=clock, environ=env or {}
    )
    progress.pytest_sessionstart(SimpleNamespace(testscollected=total))  # type: ignore[arg-type]
    return progress, collector, clock


def test_mode_choice() -> None:
    assert plugin(FakeTerminal())[0].mode == LIVE
    assert plugin(FakeTerminal(), {"CI": "true"})[0].mode == LINES
    assert plugin(FakeTerminal(), {"CI": "false"})[0].mode == LIVE
    assert plugin(FakeTerminal(isatty=False))[0].mode == LINES
    assert plugin(FakeTerminal(), verbosity=1)[0].mode == LINES
    assert plugin(FakeTerminal(), capture="no")[0].mode == LINES
    assert plugin(FakeTerminal(), {"POINTS_CONFORMANCE_PROGRESS": "off"})[0].mode == OFF
    assert plugin(None)[0].mode == OFF


def test_live_mode_takes_over_pytests_per_test_output() -> None:
    terminal = FakeTerminal()
    progress, _, _ = plugin(terminal)
    assert terminal.showfspath is False
    assert terminal._show_progress_info is False
    wrapper = progress.pytest_report_teststatus(None, None)  # type: ignore[arg-type]
    next(wrapper)
    with pytest.raises(StopIteration) as stop:
        wrapper.send(("failed", "F", "FAILED"))
    assert stop.value.value == ("failed", "", "FAILED")


def test_lines_mode_leaves_pytests_output_alone() -> None:
    terminal = FakeTerminal(isatty=False)
    progress, _, _ = plugin(terminal)
    assert terminal.showfspath is True
    wrapper = progress.pytest_report_teststatus(None, None)  # type: ignore[arg-type]
    next(wrapper)
    with pytest.raises(StopIteration) as stop:
        wrapper.send(("failed", "F", "FAILED"))
    assert stop.value.value == ("failed", "F", "FAILED")


def test_live_redraws_at_most_four_times_a_second() -> None:
    terminal = FakeTerminal()
    progress, collector, clock = plugin(terminal)
    outcomes: list[Outcome] = ["passed", "failed", "passed", "passed"]
    for i, outcome in enumerate(outcomes):
        finished_test(collector, f"t::{i}", outcome, f"R-{i}")
        progress.tick()
        clock.now += 0.1
    rewrites = [text for kind, text in terminal.calls if kind == "rewrite"]
    # ticks at +0.0, +0.1, +0.2, +0.3: drawn at +0.0 and +0.3 only
    assert rewrites == [
        "conformance: 1 requirements checked, 0 failing (1/4 tests, 0s)",
        "conformance: 4 requirements checked, 1 failing (4/4 tests, 0s)",
    ]
    assert terminal.currentfspath == -2  # the next foreign line starts below ours
    progress.close()
    assert terminal.calls[-2:] == [
        ("rewrite", "conformance: 4 requirements checked, 1 failing (4/4 tests, 0s)"),
        ("write", "\n"),
    ]
    assert terminal.currentfspath is None
    progress.tick()
    assert len(terminal.calls) == 4  # closed: draws nothing more


def test_ci_prints_at_most_one_line_every_30_seconds() -> None:
    terminal = FakeTerminal()
    progress, collector, clock = plugin(terminal, {"CI": "1"}, total=12)
    for i in range(12):
        finished_test(collector, f"t::{i}", "passed", f"R-{i}")
        progress.tick()
        clock.now += 10
    lines = [text for kind, text in terminal.calls if kind == "line"]
    # ticks at 0, 10, ..., 110 s: lines at 30, 60, 90
    assert lines == [
        "conformance: 4 requirements checked, 0 failing (4/12 tests, 30s)",
        "conformance: 7 requirements checked, 0 failing (7/12 tests, 60s)",
        "conformance: 10 requirements checked, 0 failing (10/12 tests, 90s)",
    ]
    assert not [c for c in terminal.calls if c[0] == "rewrite"]
    progress.close()
    assert len(terminal.calls) == 3


def test_short_ci_run_prints_nothing() -> None:
    terminal = FakeTerminal()
    progress, collector, _ = plugin(terminal, {"CI": "1"})
    finished_test(collector, "t::a", "failed", "R-a")
    progress.tick()
    progress.close()
    assert terminal.calls == []


def test_first_live_line_does_not_overwrite_an_unfinished_line() -> None:
    terminal = FakeTerminal()
    terminal._tw.width_of_current_line = 17  # "collected 4 items"
    progress, collector, _ = plugin(terminal)
    finished_test(collector, "t::a", "passed", "R-a")
    progress.tick()
    assert terminal.calls[0] == ("write", "\n")
    assert terminal.calls[1][0] == "rewrite"


def test_periodic_line_never_lands_inside_pytests_line_of_letters() -> None:
    terminal = FakeTerminal(isatty=False)
    terminal._tw.width_of_current_line = 40  # "....F...." with -q: no file name to end it
    terminal.currentfspath = "tests/x.py"
    progress, collector, clock = plugin(terminal)
    clock.now += 31
    finished_test(collector, "t::a", "passed", "R-a")
    progress.tick()
    assert terminal.calls == [
        ("write", "\n"),
        ("line", "conformance: 1 requirements checked, 0 failing (1/4 tests, 31s)"),
    ]
    assert terminal.currentfspath is None  # pytest names the file again on its next line
