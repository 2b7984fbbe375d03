"""Every clause of the register and every testable requirement has a case that could fail.

Read from the data structures alone, without running a server:

- a register clause (specs/discrepancies.yaml, an entry `enforced_by_strict` and one of the
  requirements it `affects`) has a strict-stance case when a reading variant of the entry
  (reference/readings*.py, `discrepancy=`) is told apart by `selftest --readings` (every variant
  counts but those listed in UNDISTINGUISHED_READINGS), or when a fault (reference/faults_*.py)
  claims the requirement: the strict selftest must catch every fault there;
- a testable requirement of the catalogue has a case when a fault claims it, when a reading
  variant of an enforced entry that affects it exists, or when a harness test named in
  HARNESS_CASES feeds its check a violating exchange and expects the finding.

What has no case is listed, each with its reason, in CLAUSE_GAPS and REQUIREMENT_GAPS: a new
clause or requirement without a case fails here until it gets one or a reviewed line there, and
a listed gap that has a case now fails too, so the lists only shrink. That some test is credited
with a requirement at all is tests/harness/test_requirement_coverage.py's concern.
"""

from __future__ import annotations

import ast
from pathlib import Path

from points_conformance.catalogue import load_catalogue
from points_conformance.reference import faults, readings

HARNESS = Path(__file__).resolve().parent
CATALOGUE = load_catalogue()

# Reading variants the strict run does not tell apart from the reference server (the last
# `selftest --readings`, README): they are no case for their entry.
UNDISTINGUISHED_READINGS = {
    "history-lists-incoming": "the seed never shows an incoming transfer (D-097)",
}

# Harness tests that feed a requirement's check an exchange breaking it and expect the finding.
HARNESS_CASES = {
    "COMMON-CONTENT-TYPE": "test_checks_common.py::test_json_bodies_are_labelled_json",
    "LEDGER-FILTER-STORE-CODE": "test_checks_ledger.py::test_store_code_filter_needs_no_target_data",
    "LEDGER-FILTER-ALTCUR-ROW2": "test_checks_ledger.py::test_expect_currency_rows",
    "CML-FORMAT-DATES": "test_checks_schema_routes.py::"
    "test_cross_member_errors_route_with_or_without_the_entity_wrapper",
    "CML-PAGE-WALK": "test_checks_pagination.py::test_cross_member_walks",
    "CML-SCOPE-GROUP": "test_checks_cml.py::test_scope_group_holds_every_user_view",
    "CML-SORT": "test_checks_cml.py::test_sort",
    "CML-ARITH-NET": "test_checks_cml.py::test_user_scope_net_is_strict_only",
    "CML-REVERSED-BOUNDS": "test_checks_crediting.py::"
    "test_cross_member_broken_rules_are_credited_and_found",
    "CML-REVERSED-CUMULATIVE": "test_checks_cml.py::"
    "test_reversed_amount_is_what_the_reversals_gave_back",
    "CML-EVENTLOG-SHARED": "test_checks_cml.py::test_eventlog_shared",
    "XFERCHK-STATE-READONLY": "test_checks_transfer.py::test_transferrable_check_moves_nothing",
    "XFER-STATE-LEDGER": "test_checks_transfer.py::test_transfer_ledger",
    "REV-ARITH-BOUND": "test_checks_transfer.py::test_partial_reversal_is_a_stated_rule_not_a_reading",
    "REV-FORMAT-ECHO": "test_checks_transfer.py::test_reverse_answer",
    "REV-STATE-BALANCE": "test_checks_transfer.py::test_reversal_balance",
    "REV-STATE-LEDGER": "test_checks_transfer.py::test_reversal_ledger",
    "PTS-SUCCESS-800": "test_checks_common.py::test_success_without_errors",
}

_NO_FAULT = "no fault or reading variant breaks it yet"

# (i) Clauses ("<entry> <requirement>") --strict enforces with no case that could fail there.
CLAUSE_GAPS = {
    "D-026 LEDGER-DEFAULT-DATES": f"{_NO_FAULT}: a dateless request not given the whole history",
    "D-037 XFER-SCHEMA-REQUEST": f"{_NO_FAULT}: a group transfer without the field answered",
    "D-039 LEDGER-DEFAULT-DATES": f"{_NO_FAULT}: a dateless request not given the whole history",
    "D-045 CML-ARITH-NET": f"{_NO_FAULT}: a cross-member net rounded off its rows",
    "D-045 BAL-ARITH-CLOSING": f"{_NO_FAULT}: a closing balance rounded off the rows",
    "D-056 XFER-STATE-REJECTED": f"{_NO_FAULT}: a refused transfer that moves points",
}

_NEEDS = "no fault, reading variant or harness test breaks it"

# (ii) Testable requirements with no fault, no reading variant and no harness case.
REQUIREMENT_GAPS = {
    "LEDGER-DEFAULT-DATES": f"{_NEEDS}: a dateless request not given the whole history",
    "BAL-FILTER-TILLCONCEPT": f"{_NEEDS}: includeTillConceptEvents alone answered",
}


def _fault_claims() -> set[str]:
    return {f.requirement for f in faults.registry().values()}


def _told_apart_entries() -> set[str]:
    """Register entries with a reading variant the strict run tells apart."""
    return {
        r.discrepancy
        for r in readings.registry().values()
        if r.name not in UNDISTINGUISHED_READINGS
    }


def _clauses() -> list[str]:
    return [
        f"{entry.id} {rid}"
        for entry in CATALOGUE.discrepancies.values()
        if entry.enforced_by_strict
        for rid in entry.affects
    ]


def _clauses_without_a_case() -> set[str]:
    claimed, told_apart = _fault_claims(), _told_apart_entries()
    return {
        clause
        for clause in _clauses()
        if clause.split()[0] not in told_apart and clause.split()[1] not in claimed
    }


def _requirements_without_a_case() -> set[str]:
    claimed, told_apart = _fault_claims(), _told_apart_entries()
    by_reading = {
        rid
        for entry in CATALOGUE.discrepancies.values()
        if entry.enforced_by_strict and entry.id in told_apart
        for rid in entry.affects
    }
    return {
        r.id
        for r in CATALOGUE.requirements.values()
        if r.testable and r.id not in claimed | by_reading | set(HARNESS_CASES)
    }


def test_every_enforced_clause_has_a_strict_case_or_a_listed_gap() -> None:
    found = _clauses_without_a_case()
    missing = sorted(found - set(CLAUSE_GAPS))
    covered = sorted(set(CLAUSE_GAPS) - found)
    assert not missing, f"clauses --strict enforces with no case that could fail: {missing}"
    assert not covered, f"these clauses have a case now: delete them from CLAUSE_GAPS: {covered}"


def test_every_testable_requirement_has_a_case_or_a_listed_gap() -> None:
    found = _requirements_without_a_case()
    missing = sorted(found - set(REQUIREMENT_GAPS))
    covered = sorted(set(REQUIREMENT_GAPS) - found)
    assert not missing, f"testable requirements with no case that could fail: {missing}"
    assert not covered, f"these have a case now: delete them from REQUIREMENT_GAPS: {covered}"


def test_the_lists_name_what_the_catalogue_and_the_registries_hold() -> None:
    clauses = set(_clauses())
    testable = {r.id for r in CATALOGUE.requirements.values() if r.testable}
    assert set(CLAUSE_GAPS) <= clauses, sorted(set(CLAUSE_GAPS) - clauses)
    assert set(REQUIREMENT_GAPS) | set(HARNESS_CASES) <= testable
    assert set(UNDISTINGUISHED_READINGS) <= set(readings.registry())
    reasons = [
        *CLAUSE_GAPS.values(),
        *REQUIREMENT_GAPS.values(),
        *UNDISTINGUISHED_READINGS.values(),
    ]
    assert all(reason.strip() and "\n" not in reason for reason in reasons)


def _test_source(reference: str) -> str:
    """The source of a harness test function, decorators included, by `file.py::name`."""
    file_name, name = reference.split("::")
    text = (HARNESS / file_name).read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            return "\n".join(text.splitlines()[first - 1 : node.end_lineno])
    raise AssertionError(f"{reference}: no such test")


def test_every_harness_case_is_a_test_that_names_its_requirement() -> None:
    for rid, reference in HARNESS_CASES.items():
        assert reference.split("::")[1].startswith("test_"), reference
        assert rid in _test_source(reference), f"{reference} does not name {rid}"
