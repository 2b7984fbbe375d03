"""The registry of single-exchange checks, and the record of which requirements they evaluated.

Both engines (matrix tests and fuzzing) call `run_checks` on every exchange they make, so a
rule is written once, registered for the operations it applies to, and never knows which
engine produced the exchange. `crediting()` collects the requirements the checks looked at, so
a report can count a rule as exercised by tests that do not name it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from points_conformance.checks.context import CheckContext
from points_conformance.model import Exchange, Finding
from points_conformance.operations import OPERATIONS

CheckFn = Callable[[CheckContext, Exchange], list[Finding]]


@dataclass(frozen=True)
class RegisteredCheck:
    name: str
    requirements: tuple[str, ...]
    operations: tuple[str, ...]
    fn: CheckFn


_CHECKS: list[RegisteredCheck] = []
_BY_OPERATION: dict[str, list[RegisteredCheck]] = {}
# Requirement IDs emitted by the multi-exchange functions, which are not in the registry.
_DECLARED: dict[str, tuple[str, ...]] = {}


# Where requirements evaluated without a finding are recorded, while `crediting()` is open.
class Credits(set[str]):
    """The requirement IDs evaluated, and for each the operations of the exchanges it was
    evaluated on (a report's per-operation verdicts)."""

    def __init__(self) -> None:
        super().__init__()
        self.operations: dict[str, set[str]] = {}

    def record(self, requirements: Iterable[str], operation: str | None) -> None:
        for requirement in requirements:
            self.add(requirement)
            ops = self.operations.setdefault(requirement, set())
            if operation:
                ops.add(operation)


_CREDITED: ContextVar[Credits | None] = ContextVar("points_conformance_credited", default=None)
# The operation of the exchange `run_checks` is checking, for the credits its checks record.
_OPERATION: ContextVar[str | None] = ContextVar("points_conformance_operation", default=None)


@contextmanager
def crediting() -> Iterator[Credits]:
    """Collect the requirement IDs the checks evaluate inside the block (passed or not).

    A report names a requirement as exercised by the tests that looked at it; a rule that
    `run_checks` applies to every response is looked at by many tests that do not name it.
    """
    credited = Credits()
    token = _CREDITED.set(credited)
    try:
        yield credited
    finally:
        _CREDITED.reset(token)


def credit(*requirements: str, operation: str | None = None) -> None:
    """Record that a check evaluated `requirements`, when a `crediting()` block is open.

    A check calls it where it compares something, not on entry: a rule with nothing to look
    at (no entries, an error answer) evaluated nothing, and a report must not count it.
    """
    credited = _CREDITED.get()
    if credited is not None:
        credited.record(requirements, operation or _OPERATION.get())


def crediting_open() -> bool:
    """Whether anything records credits: lets a check skip work done only for them."""
    return _CREDITED.get() is not None


def credited_already(requirement: str, operation: str) -> bool:
    """Whether the open `crediting()` block has `requirement` on `operation` already."""
    credited = _CREDITED.get()
    return credited is not None and operation in credited.operations.get(requirement, ())


def check(
    name: str,
    *,
    requirements: Sequence[str],
    operations: Sequence[str] = OPERATIONS,
) -> Callable[[CheckFn], CheckFn]:
    """Register a single-exchange check for `operations` (every operation by default)."""

    def register(fn: CheckFn) -> CheckFn:
        entry = RegisteredCheck(name, tuple(requirements), tuple(operations), fn)
        if any(c.name == name for c in _CHECKS):
            raise ValueError(f"check {name!r} registered twice")
        _CHECKS.append(entry)
        for op in entry.operations:
            _BY_OPERATION.setdefault(op, []).append(entry)
        return fn

    return register


def declare(name: str, requirements: Sequence[str]) -> None:
    """Record the requirement IDs a multi-exchange function may emit (for the catalogue)."""
    _DECLARED[name] = tuple(requirements)


def run_checks(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    """Every registered check that applies to `ex.operation`, in registration order."""
    findings: list[Finding] = []
    token = _OPERATION.set(ex.operation)
    try:
        for entry in _BY_OPERATION.get(ex.operation, ()):
            findings.extend(entry.fn(ctx, ex))
    finally:
        _OPERATION.reset(token)
    return findings


def declared(name: str) -> tuple[str, ...]:
    """The requirement IDs the multi-exchange function `name` declared it may emit."""
    return _DECLARED.get(name, ())


def registered_checks() -> tuple[RegisteredCheck, ...]:
    return tuple(_CHECKS)


def requirement_ids() -> frozenset[str]:
    """Every requirement ID any check or multi-exchange function of this package can emit."""
    ids: set[str] = set()
    for entry in _CHECKS:
        ids.update(entry.requirements)
    for reqs in _DECLARED.values():
        ids.update(reqs)
    return frozenset(ids)
