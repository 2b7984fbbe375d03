"""How the report settles a requirement a test only exercised (a credit), on the operations it
was evaluated on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import pytest

from points_conformance.model import Finding
from points_conformance.operations import OPERATIONS
from points_conformance.records import TestRecord
from points_conformance.report import collect
from points_conformance.report.model import FAILED, PASSED, SKIPPED

from .test_checks_support import CORG, LEDGER

# --------------------------------------------------------------------------------------------
# the report: requirements a test only exercised


CATALOGUE_OPS = {
    "LEDGER-ARITH-NET": [LEDGER, CORG],
    "LEDGER-LIMIT-MAX": [LEDGER],
    "LEDGER-SCHEMA-RESPONSE": [LEDGER],
    "XFER-STATE-CONSERVE": ["transferPoints", "transferPointsUserGroup"],
}


def settled(
    outcome: str,
    record: TestRecord,
    *,
    message: str = "",
    skip_reason: str = "",
) -> dict[str, tuple[str, dict[str, str], list[dict[str, Any]]]]:
    result = collect.TestResult(
        "tests/conformance/test_ledger.py::test_x",
        outcome=outcome,
        message=message,
        skip_reason=skip_reason,
        record=record,
    )
    return collect.verdicts(result, CATALOGUE_OPS)


@pytest.mark.parametrize(
    ("outcome", "extra"),
    [
        (PASSED, {}),
        ("failed", {"message": "RuntimeError: target unreachable"}),
        ("error", {"message": "RuntimeError: fixture failed"}),
        (SKIPPED, {"skip_reason": "no customer in the target file"}),
    ],
)
def test_an_exercised_requirement_passes_whatever_became_of_the_test(
    outcome: str, extra: dict[str, str]
) -> None:
    out = settled(
        outcome,
        TestRecord(
            requirements=("LEDGER-LIMIT-MAX",),
            exercised={"LEDGER-ARITH-NET": ()},
            operations=(LEDGER,),
        ),
        **extra,
    )
    assert out["LEDGER-ARITH-NET"] == (PASSED, {LEDGER: PASSED}, [])
    named = {PASSED: PASSED, "failed": FAILED, "error": FAILED, SKIPPED: SKIPPED}[outcome]
    assert out["LEDGER-LIMIT-MAX"][0] == named


def test_a_finding_outweighs_the_credit() -> None:
    finding = Finding("LEDGER-ARITH-NET", "netPointsOnEvent disagrees", "350", "360").to_dict()
    out = settled(
        "failed",
        TestRecord(
            exercised={"LEDGER-ARITH-NET": (), "LEDGER-SCHEMA-RESPONSE": ()},
            findings=(finding,),
            operations=(LEDGER,),
        ),
        message="findings",
    )
    verdict, ops, findings = out["LEDGER-ARITH-NET"]
    assert verdict == FAILED
    assert ops == {LEDGER: FAILED}
    assert [f["message"] for f in findings] == ["netPointsOnEvent disagrees"]
    assert out["LEDGER-SCHEMA-RESPONSE"] == (PASSED, {LEDGER: PASSED}, [])


def test_a_named_requirement_is_not_passed_by_its_credit() -> None:
    out = settled(
        "failed",
        TestRecord(
            requirements=("LEDGER-ARITH-NET",),
            exercised={"LEDGER-ARITH-NET": ()},
            operations=(LEDGER,),
        ),
        message="AssertionError: boom",
    )
    verdict, ops, findings = out["LEDGER-ARITH-NET"]
    assert verdict == FAILED and ops == {LEDGER: FAILED}
    assert findings[0]["message"] == "AssertionError: boom"


@pytest.mark.parametrize(
    ("rid", "test_ops", "ops"),
    [
        # the rule's operations that the test exercised
        ("LEDGER-ARITH-NET", [LEDGER, "transferPoints"], [LEDGER]),
        ("LEDGER-ARITH-NET", [CORG, LEDGER], [CORG, LEDGER]),
        ("XFER-STATE-CONSERVE", ["getCustomerLedgerBalance", "transferPoints"], ["transferPoints"]),
        # a test that recorded no operations: the rule's own
        ("LEDGER-ARITH-NET", [], [LEDGER, CORG]),
        # a requirement the catalogue does not know: the test's operations
        ("NOT-IN-CATALOGUE", [LEDGER], [LEDGER]),
    ],
)
def test_exercised_operations_are_the_rule_operations_the_test_used(
    rid: str, test_ops: list[str], ops: list[str]
) -> None:
    out = settled(PASSED, TestRecord(exercised={rid: ()}, operations=tuple(test_ops)))
    verdict, by_op, findings = out[rid]
    assert verdict == PASSED and findings == []
    assert list(by_op) == ops
    assert set(by_op.values()) == {PASSED}


Phase = Literal["setup", "call", "teardown"]
Outcome = Literal["passed", "failed", "skipped"]


def test_exercised_requirements_reach_the_collector_records() -> None:
    collector = collect.Collector()
    nodeid = "tests/conformance/test_ledger.py::test_walk"
    loc = ("tests/conformance/test_ledger.py", 1, "test_walk")
    before = TestRecord(requirements=("LEDGER-LIMIT-MAX",), operations=(LEDGER,))
    named = [before.user_property()]
    call = [replace(before, exercised={"LEDGER-ARITH-NET": ()}).user_property()]
    phases: list[tuple[Phase, list[tuple[str, Any]], Outcome]] = [
        ("setup", named, "passed"),
        ("call", call, "skipped"),
        ("teardown", call, "passed"),
    ]
    for when, props, outcome in phases:
        longrepr = ("file", 1, "Skipped: no data") if outcome == "skipped" else None
        collector.add(
            pytest.TestReport(nodeid, loc, {}, outcome, longrepr, when, user_properties=props)
        )
    records, tests = collector.records(
        {rid: {"operations": ops} for rid, ops in CATALOGUE_OPS.items()}
    )
    assert tests[nodeid]["outcome"] == SKIPPED
    assert records["LEDGER-ARITH-NET"]["tests"][0]["verdict"] == PASSED
    assert records["LEDGER-ARITH-NET"]["tests"][0]["operations"] == {LEDGER: PASSED}
    assert records["LEDGER-LIMIT-MAX"]["tests"][0]["verdict"] == SKIPPED


# --------------------------------------------------------------------------------------------
# credits name the operation of the answer they were evaluated on


def test_an_exercised_requirement_is_passed_on_the_operations_it_was_evaluated_on() -> None:
    out = settled(
        "passed",
        TestRecord(
            requirements=("LEDGER-LIMIT-MAX",),
            operations=(LEDGER, CORG),
            exercised={"LEDGER-ARITH-NET": (CORG,)},
        ),
    )
    verdict, ops, _ = out["LEDGER-ARITH-NET"]
    assert (verdict, ops) == ("passed", {CORG: "passed"})


@pytest.mark.parametrize("outcome", [PASSED, "failed", SKIPPED])
def test_a_named_requirement_is_judged_only_under_the_operations_it_concerns(
    outcome: str,
) -> None:
    # A fuzz test names rules of every operation; LEDGER-LIMIT-MAX concerns the v2 ledger only.
    everything = tuple(OPERATIONS)
    out = settled(
        outcome,
        TestRecord(requirements=("LEDGER-LIMIT-MAX",), operations=everything),
        message="AssertionError: boom" if outcome == "failed" else "",
        skip_reason="no data" if outcome == SKIPPED else "",
    )
    verdict, by_op, _ = out["LEDGER-LIMIT-MAX"]
    assert verdict == outcome
    assert list(by_op) == [LEDGER]
