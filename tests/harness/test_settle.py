"""The watch that keeps a balance comparison made under another client's writes from failing a
transfer test (`tests/conformance/_settle.py`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

import pytest

from conformance import _settle
from conformance._settle import add_state, moved_on_their_own
from points_conformance.checks.transfer_state import BalanceReading
from points_conformance.model import Finding
from points_conformance.plugin.fixtures import FindingsRecorder

ROLES = ("customers.transfer_from", "customers.transfer_to")
STATE = [Finding("XFER-STATE-REJECTED", "balances after a refused transfer do not add up")]


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_settle, "WATCH_PAUSE_S", 0.0)


class Readings:
    """Balances read in turn from `series` (a reading of None fails); counts the reads."""

    def __init__(self, series: Sequence[Sequence[int] | None]) -> None:
        self._series: Iterator[Sequence[int] | None] = iter(series)
        self.reads = 0

    def __call__(self) -> tuple[list[BalanceReading] | None, list[Finding]]:
        self.reads += 1
        values = next(self._series)
        if values is None:
            return None, []
        return [BalanceReading(Decimal(v)) for v in values], []


def recorder() -> FindingsRecorder:
    def no_context() -> object:
        raise AssertionError("the watch runs no check")

    return FindingsRecorder(lambda: None, no_context)  # type: ignore[arg-type]


def test_balances_that_hold_still_let_the_failure_stand() -> None:
    read = Readings([[100, 5]] * _settle.WATCH_READINGS)
    assert moved_on_their_own(read, ROLES) is None
    assert read.reads == _settle.WATCH_READINGS
    findings = recorder()
    add_state(findings, STATE, Readings([[100, 5]] * _settle.WATCH_READINGS), ROLES)
    assert findings.findings == STATE


def test_balances_that_move_on_their_own_skip_the_test_and_say_why() -> None:
    read = Readings([[100, 5], [100, 5], [97, 8]])
    why = moved_on_their_own(read, ROLES)
    assert why is not None
    assert "customers.transfer_from's balance went from 100 to 97" in why
    assert "another client" in why
    assert read.reads == 3
    findings = recorder()
    with pytest.raises(pytest.skip.Exception, match="while the test sent nothing"):
        add_state(findings, STATE, Readings([[100, 5], [100, 6]]), ROLES)
    assert findings.findings == []


def test_a_reading_that_fails_lets_the_failure_stand() -> None:
    assert moved_on_their_own(Readings([None]), ROLES) is None
    assert moved_on_their_own(Readings([[100, 5], None]), ROLES) is None
    findings = recorder()
    add_state(findings, STATE, Readings([[100, 5], None]), ROLES)
    assert findings.findings == STATE


def test_a_test_failed_on_something_else_fails_on_that_alone() -> None:
    other = Finding("COMMON-ERR-ENVELOPE", "the error envelope is missing")
    findings = recorder()
    findings.add(other)
    add_state(findings, STATE, Readings([[100, 5], [90, 15]]), ROLES)
    assert findings.findings == [other]


def test_nothing_to_judge_reads_nothing() -> None:
    read = Readings([])
    findings = recorder()
    add_state(findings, [], read, ROLES)
    assert read.reads == 0
    assert findings.findings == []
