"""The check context, the registry of single-exchange checks, and the way findings are made.

Both engines (matrix tests and fuzzing) call `run_checks` on every exchange they make, so a
rule is written once, registered for the operations it applies to, and never knows which
engine produced the exchange.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from points_conformance.model import Exchange, Finding
from points_conformance.operations import OPERATIONS

# Requirement-ID area of each operation (ARCHITECTURE.md, "Requirement IDs").
AREA: dict[str, str] = {
    "getCustomerLedgerInfo": "LEDGER",
    "getCustomerLedgerInfoConnectedOrgs": "CORG",
    "getCrossMemberLedger": "CML",
    "getCustomerLedgerBalance": "BAL",
    "isTransferrable": "XFERCHK",
    "isTransferrableUserGroup": "XFERCHK",
    "transferPoints": "XFER",
    "transferPointsUserGroup": "XFER",
    "getPointsTransfers": "XFERHIST",
    "reversePoints": "REV",
}

# Register entries (specs/discrepancies.yaml) that findings depend on.
D_CML_PAGE_SIZE = "D-012"  # pageDetails.pageSize: requested size, or the count on the page
D_CML_WRAPPED = (
    "D-013"  # crossMemberLedger body: with or without `entity` (lenient), unwrapped (strict)
)
D_GROUP_TYPE = (
    "D-028"  # a group ledger's entityType: USERGROUP2 or FLEET, or the type asked (strict)
)
D_BALANCE_LIMIT = "D-047"  # balance limit above 10: refused, or capped at 10; 11029 (strict)
D_ERROR_STATUS = "D-016"  # strict: HTTP 400 for documented codes, 401 for credentials
D_DEFAULT_ORDER = "D-018"  # newest first by default; 003's example is oldest first
D_REVERSED = "D-019"  # pointsReversed: within the request (lenient) or equal to it (strict)
D_ECHO_GROUP = "D-022"  # echoed transfer amounts: not compared (lenient) or equal (strict)
D_ECHO_TRANSFER = "D-023"  # pointsTransferred echo: not compared (lenient) or equal (strict)
D_PAST_END = "D-030"  # offset past the last page: 200 with no entries, or 11003 (strict)
D_SCOPE_MISSING = "D-032"  # no DATA-SCOPE: answered as SELF, or 310144 (strict)
D_CML_DEFAULT_SIZE = "D-038"  # crossMemberLedger default pageSize: any, or 20 (strict)
D_DISPLAY_ROUNDING = "D-045"  # a sum may differ from its parts by display rounding
D_SHORT_PAGES = "D-046"  # every page but the last is full; 003's example pages are not
D_ALREADY_REVERSED = "D-050"  # second reversal: 3802 or 812, or 3802 (strict)
D_LEDGER_PAGE_SIZE = "D-057"  # ledger pageSize: the limit, or the count on the page
D_CML_USERROLE = "D-058"  # scope=group: userRole tolerated, or absent (strict)
D_AUTH_BODY = "D-060"  # 401: any body, or the envelope with code 401 (strict)
D_NULL_AS_ABSENT = "D-061"  # "only present" fields: null counts as absent, or the key is gone


class SchemaErrorLike(Protocol):
    """What the schema check reads from one error of `Spec.validate_response`."""

    @property
    def json_path(self) -> str: ...

    @property
    def keyword(self) -> str: ...

    @property
    def message(self) -> str: ...


class SpecLike(Protocol):
    """The part of `points_conformance.spec.Spec` the checks use."""

    def validate_response(
        self, operation_id: str, status: int, body: Any, *, strict: bool
    ) -> Sequence[SchemaErrorLike]: ...


@dataclass(frozen=True)
class CheckContext:
    """Everything a check needs besides the exchange.

    `spec_override` replaces the loaded specs (tests pass a stand-in); `now` fixes the clock
    for rules with a window relative to the request time when the response has no Date header.
    """

    strict: bool = False
    timezone: str = "UTC"
    org_id: int | str | None = None
    connected_org_ids: tuple[int | str, ...] = ()
    spec_override: SpecLike | None = field(default=None, compare=False, repr=False)
    now: datetime | None = None

    @property
    def spec(self) -> SpecLike:
        if self.spec_override is not None:
            return self.spec_override
        # Imported here so that checks which never validate schemas work without the specs.
        from points_conformance.spec import load_spec

        loaded: SpecLike = load_spec()
        return loaded

    @property
    def mode(self) -> str:
        return "strict" if self.strict else "lenient"


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


def finding(
    requirement: str,
    message: str,
    *,
    expected: str,
    actual: str,
    exchange: Exchange | None,
    discrepancy: str | None = None,
) -> Finding:
    return Finding(requirement, message, expected, actual, exchange, discrepancy)


def capped(items: Iterable[str], limit: int = 5) -> str:
    """A readable list of at most `limit` items, saying how many were left out."""
    listed = list(items)
    text = "; ".join(listed[:limit])
    if len(listed) > limit:
        text += f"; … and {len(listed) - limit} more"
    return text


def problems_finding(
    ex: Exchange,
    requirement: str,
    message: str,
    expected: str,
    problems: list[str],
    *,
    discrepancy: str | None = None,
) -> list[Finding]:
    """One finding that lists the first few `problems`, or none when there are none."""
    if not problems:
        return []
    return [
        finding(
            requirement,
            f"{message} ({len(problems)})",
            expected=expected,
            actual=capped(problems),
            exchange=ex,
            discrepancy=discrepancy,
        )
    ]
