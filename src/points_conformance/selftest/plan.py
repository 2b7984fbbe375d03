"""What the selftest runs: one plan per fault or reading, and what each run showed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from points_conformance.catalogue import load_catalogue
from points_conformance.operations import MARKERS

# The representative subset for CI: one fault for each kind of rule (pagination, filter, sort,
# arithmetic, format, state, credentials, error code), spread over every operation family but
# the v2 ledger, whose handler the connected-orgs fault goes through and whose tests are the
# slowest to select.
FAST_FAULTS: tuple[str, ...] = (
    "balance-page-count-floor",  # balance, pagination
    "corg-role-ignored",  # connected orgs, filter
    "cml-default-ascending",  # cross-member ledger, sort
    "cml-group-balance-drops-member",  # cross-member ledger, arithmetic
    "group-check-transferrable-text",  # transfer check, format
    "transfer-credit-not-written",  # transfer, state
    "history-without-credentials",  # transfer history, credentials
    "reverse-3802-as-3801",  # reverse, error code
)

# Verdicts of a fault's run.
CAUGHT = "caught"
MISSED = "missed"
UNRELATED = "unrelated"
ERROR = "error"
# Verdicts of a reading's runs: default stance, then strict.
PASSED = "pass"
FALSE_ALARM = "false alarm"
DISTINGUISHED = "distinguished"
NOT_DISTINGUISHED = "not distinguished"
# A fault of a register entry's strict reading only, run in the default stance: it follows a
# reading the entry's stance allows, so it passes there (a failure there is a false alarm).
STRICT_ONLY = "strict only"


@dataclass(frozen=True)
class Plan:
    """One suite run: against a fault or a reading (or neither), strict or lenient, with a test
    selection."""

    label: str
    fault: str | None
    requirement: str | None
    operations: tuple[str, ...]
    strict: bool
    selection: tuple[str, ...]
    reading: str | None = None
    discrepancy: str | None = None


@dataclass
class Outcome:
    """What one run showed."""

    label: str
    fault: str | None
    requirement: str | None
    strict: bool
    selection: list[str]
    verdict: str = ""
    failed: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    claimed_caught: bool = False
    first_failure: float | None = None
    first_failing_test: str | None = None
    wall: float = 0.0
    exit_status: int | None = None
    tests: int = 0
    error: str = ""
    report_dir: str = ""
    reading: str | None = None
    discrepancy: str | None = None
    # pytest-xdist workers of the run (-n); 0 is a serial run
    workers: int = 0
    # the seed of the reference server's data
    seed: int = 0


# Property-based tests are left out of the default selections: each is marked with
# requirements of every operation, so it would join every fault's run at the cost of hundreds of
# requests. `-m` brings them back.
WITHOUT_FUZZ = "not fuzz"


def marker_expression(operations: Sequence[str]) -> str:
    """`-m` for the tests of these operations (and no property-based test)."""
    markers = MARKERS
    names = list(dict.fromkeys(markers[op] for op in operations if op in markers))
    if not names:
        return WITHOUT_FUZZ
    return f"({' or '.join(names)}) and {WITHOUT_FUZZ}"


def requirement_operations() -> dict[str, tuple[str, ...]]:
    return {rid: tuple(r.operations) for rid, r in load_catalogue().requirements.items()}


def fault_operations(fault: Any, catalogue: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(fault.operations) or catalogue.get(fault.requirement, ())


def related(claim: str, requirement: str, operations: Sequence[str], catalogue: Any) -> bool:
    """Whether a failed requirement speaks about what the fault changed.

    The claimed requirement always does; otherwise one that concerns an operation the fault
    changes, except that requirements of every operation (COMMON-*) only count for faults that
    claim one of them.
    """
    if requirement == claim:
        return True
    if requirement.startswith("COMMON-") and not claim.startswith("COMMON-"):
        return False
    return bool(set(catalogue.get(requirement, ())) & set(operations))


def make_plans(
    names: Sequence[str],
    catalogue: Mapping[str, tuple[str, ...]],
    *,
    markexpr: str | None,
    keyword: str | None,
    whole_suite_faultless: bool,
    strict: bool = True,
) -> list[Plan]:
    """A run per fault in the stance `strict` says, then the faultless server in both. In the
    default stance a fault of a strict reading only names its register entry as the plan's
    discrepancy: its run is expected to pass."""
    from points_conformance.reference.faults import get_fault

    def selection(expression: str | None) -> tuple[str, ...]:
        return _selection(expression, keyword)

    plans: list[Plan] = []
    every_operation: list[str] = []
    for name in names:
        chosen = get_fault(name)
        ops = fault_operations(chosen, catalogue)
        every_operation += ops
        own = markexpr if markexpr is not None else marker_expression(ops)
        entry = None if strict else chosen.strict_reading
        plan = Plan(name, name, chosen.requirement, ops, strict, selection(own), None, entry)
        plans.append(plan)
    if markexpr is not None:
        baseline = markexpr
    elif whole_suite_faultless:
        baseline = WITHOUT_FUZZ
    else:
        baseline = marker_expression(list(dict.fromkeys(every_operation)))
    for strict in (True, False):
        label = f"faultless ({'strict' if strict else 'lenient'})"
        plans.append(Plan(label, None, None, (), strict, selection(baseline)))
    return plans


def _selection(expression: str | None, keyword: str | None) -> tuple[str, ...]:
    args: list[str] = []
    if expression:
        args += ["-m", expression]
    if keyword:
        args += ["-k", keyword]
    return tuple(args)


def make_reading_plans(
    names: Sequence[str], *, markexpr: str | None, keyword: str | None
) -> list[Plan]:
    """For each reading a default-stance run, and a strict one when its entry is enforced."""
    from points_conformance.reference.readings import get_reading

    plans: list[Plan] = []
    for name in names:
        entry = load_catalogue().discrepancies[get_reading(name).discrepancy]
        catalogue = requirement_operations()
        found = [op for rid in entry.affects for op in catalogue.get(rid, ())]
        ops = tuple(dict.fromkeys(found))  # the affected requirements' operations, in order
        own = _selection(markexpr if markexpr is not None else marker_expression(ops), keyword)
        stances = (False, True) if entry.enforced_by_strict else (False,)
        for strict in stances:
            label = f"{name} ({'strict' if strict else 'default'})"
            plans.append(Plan(label, None, None, ops, strict, own, name, entry.id))
    return plans
