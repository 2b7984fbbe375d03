"""The fault registry and `points-conformance selftest`: the suite catches what it claims to.

Unit tests of the registry (names, requirements, coverage of operations and rule kinds,
composition, the serve listing, usage errors) and one end-to-end run of the representative
subset (`selftest --fast`) against real faulty servers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from points_conformance import selftest
from points_conformance.catalogue import load_catalogue
from points_conformance.operations import MARKERS, OPERATIONS
from points_conformance.reference import fault_registry, faults, readings, serve
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.selftest.output import summary
from points_conformance.selftest.plan import (
    CAUGHT,
    FALSE_ALARM,
    FAST_FAULTS,
    PASSED,
    STRICT_ONLY,
    Outcome,
    make_plans,
    related,
)

CATALOGUE = {rid: tuple(r.operations) for rid, r in load_catalogue().requirements.items()}
NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Rule kinds (the middle part of a requirement ID) the faults must spread over.
RULE_KINDS = {"PAGE", "LIMIT", "DEFAULT", "FILTER", "SORT", "ARITH", "ERR", "FORMAT", "SCHEMA"}
RULE_KINDS |= {"STATE", "AUTH", "PARAM", "SCOPE", "STATUS", "USERROLE", "OTP"}


def kind(requirement: str) -> str:
    return requirement.split("-")[1]


def changed_operations(fault: fault_registry.Fault) -> set[str]:
    """The operations a fault is about (those of a COMMON-* requirement only when named)."""
    if fault.operations:
        return set(fault.operations)
    if fault.requirement.startswith("COMMON-"):
        return set()
    return set(CATALOGUE[fault.requirement])


def test_at_least_forty_faults_with_unique_well_formed_names() -> None:
    names = [name for name, _, _ in faults.list_faults()]
    assert len(names) >= 40
    assert len(names) == len(set(names))
    assert all(NAME.fullmatch(name) for name in names), names
    with pytest.raises(ValueError, match="registered twice"):
        fault_registry.fault(names[0], requirement="LEDGER-PAGE-COUNT", description="again")(
            lambda b, h: b
        )


def test_every_fault_names_one_catalogue_requirement_and_a_description() -> None:
    for fault in faults.registry().values():
        assert fault.requirement in CATALOGUE, fault.name
        assert fault.description.strip(), fault.name
        assert set(fault.operations) <= set(OPERATIONS), fault.name
        assert set(fault.operations) <= set(CATALOGUE[fault.requirement]) or not fault.operations


def test_every_operation_and_rule_kind_has_faults() -> None:
    covered: set[str] = set()
    kinds: set[str] = set()
    for fault in faults.registry().values():
        covered |= changed_operations(fault)
        kinds.add(kind(fault.requirement))
    assert covered == set(OPERATIONS)
    assert RULE_KINDS - {"SCOPE", "STATUS", "USERROLE", "OTP"} <= kinds


def test_every_fault_changes_the_server() -> None:
    for fault in faults.registry().values():
        result = fault.function(Behaviour(), Hooks())
        parts = result if isinstance(result, tuple) else (result,)
        changed = [
            p for p in parts if (p != Behaviour() if isinstance(p, Behaviour) else p != Hooks())
        ]
        assert changed, f"{fault.name} changes neither a rule nor a hook"


def test_faults_compose() -> None:
    behaviour, _ = faults.apply(
        ["ledger-window-30-days", "cml-default-ascending", "ledger-orgid-renamed"],
        Behaviour(),
        Hooks(),
    )
    assert behaviour.ledger_window_days == 30
    assert behaviour.cml_default_sort == "createdDate:asc"
    assert Behaviour().ledger_window_days == 90
    _, both = faults.apply(
        ["ledger-orgid-renamed", "ledger-created-date-iso"], Behaviour(), Hooks()
    )
    body = {"ledgerEntries": [{"orgId": 1, "ledgerCreatedDate": "2024-01-31 10:00:00.0"}]}
    request: Any = None
    status, changed = both.response_hook("getCustomerLedgerInfo", request, 200, body)
    assert status == 200
    assert changed["ledgerEntries"] == [{"orgID": 1, "ledgerCreatedDate": "2024-01-31T10:00:00"}]
    untouched = {"ledgerEntries": [{"orgId": 1}]}
    assert both.response_hook("getCrossMemberLedger", request, 200, untouched)[1] == untouched


def test_unknown_fault_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no-such-fault"):
        faults.apply(["no-such-fault"], Behaviour(), Hooks())


# (serve's listing option, its option for one, what the registry lists: name, then the
# requirement or register entry, then the description)
KINDS = [
    ("--list-faults", "--fault", faults.list_faults),
    ("--list-readings", "--reading", readings.list_readings),
]


@pytest.mark.parametrize(("listing", "option", "listed"), KINDS, ids=["faults", "readings"])
def test_serve_lists_every_variant(
    capsys: pytest.CaptureFixture[str], listing: str, option: str, listed: Any
) -> None:
    assert serve.main([listing]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(listed())
    for line, (name, claim, description) in zip(lines, listed(), strict=True):
        assert line.split()[:2] == [name, claim]
        assert line.endswith(description)


@pytest.mark.parametrize(("listing", "option", "listed"), KINDS, ids=["faults", "readings"])
def test_serve_refuses_an_unknown_variant_in_one_line(
    capsys: pytest.CaptureFixture[str], listing: str, option: str, listed: Any
) -> None:
    assert serve.main([option, "no-such-variant", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("points-conformance serve: error:")
    assert "no-such-variant" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--fault", "no-such-fault"], "no-such-fault"),
        (["--jobs", "0"], "--jobs"),
        (["--workers", "0"], "--workers"),
        (["--seed", "-1"], "--seed"),
        (["--seed", "one"], "--seed"),
        (["--fast", "--fault", "ledger-orgid-renamed"], "--fast"),
        (["--no-such-option"], "--no-such-option"),
        (["--readings", "--stance", "default"], "--stance"),
        (["--stance", "lenient"], "--stance"),
    ],
)
def test_selftest_usage_errors_exit_2_in_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert selftest.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("points-conformance selftest: error:")
    assert needle in err


def test_strict_only_faults_name_the_enforced_entry_that_decides_their_requirement() -> None:
    # A fault breaking only a register entry's strict reading names that entry; one whose
    # requirement only --strict enforces must be one of them.
    register = load_catalogue().discrepancies
    requirements = load_catalogue().requirements
    for fault in faults.registry().values():
        if fault.strict_reading is None:
            assert not requirements[fault.requirement].strict_only, fault.name
            assert fault.stances == ("default", "strict")
            continue
        entry = register[fault.strict_reading]
        assert entry.enforced_by_strict and entry.strict, fault.name
        assert fault.requirement in entry.affects, (fault.name, entry.id)
        assert fault.stances == ("strict",)


def test_default_stance_plans_expect_strict_only_faults_to_pass() -> None:
    names = ["ledger-default-ascending", "balance-page-count-floor"]
    for strict in (True, False):
        made = make_plans(
            names,
            CATALOGUE,
            markexpr=None,
            keyword=None,
            whole_suite_faultless=False,
            strict=strict,
        )
        plans = {p.label: p for p in made}
        assert {plans[name].strict for name in names} == {strict}
        assert plans["ledger-default-ascending"].discrepancy == (None if strict else "D-073")
        assert plans["balance-page-count-floor"].discrepancy is None
        assert plans["faultless (strict)"].strict and not plans["faultless (lenient)"].strict


def test_default_stance_summary_counts_strict_only_faults_apart() -> None:
    def run(name: str, verdict: str, failed: list[str], entry: str | None = None) -> Outcome:
        outcome = Outcome(name, name, "LEDGER-SORT-DEFAULT", False, [], verdict, failed)
        outcome.discrepancy = entry
        return outcome

    baseline = Outcome("faultless (lenient)", None, None, False, [], "clean")
    outcomes = [
        run("caught", CAUGHT, ["LEDGER-PAGE-COUNT"]),
        run("passes", STRICT_ONLY, [], "D-073"),
        run("cries-wolf", FALSE_ALARM, ["LEDGER-PAGE-SIZE"], "D-070"),
        baseline,
    ]
    facts = summary(outcomes, "default")
    assert facts["stance"] == "default"
    assert facts["faults"] == facts["caught"] == 1
    assert facts["strict_only"] == {"passes": "D-073", "cries-wolf": "D-070"}
    assert facts["false_alarms"] == 1
    assert facts["false_alarm_requirements"]["cries-wolf"] == ["LEDGER-PAGE-SIZE"]
    assert facts["missed"] == []


def test_fast_subset_is_small_and_representative() -> None:
    registry = faults.registry()
    chosen = [registry[name] for name in FAST_FAULTS]
    assert 1 <= len(chosen) <= 8
    markers = {MARKERS[op] for f in chosen for op in changed_operations(f)}
    assert set(MARKERS.values()) - {"ledger"} <= markers
    kinds = {kind(f.requirement) for f in chosen}
    assert {"PAGE", "FILTER", "SORT", "ARITH", "ERR", "STATE", "AUTH"} <= kinds
    assert {"FORMAT", "SCHEMA"} & kinds


def test_per_fault_selection_uses_the_operation_markers() -> None:
    plans = make_plans(
        ["balance-page-count-floor", "transfer-credit-not-written"],
        CATALOGUE,
        markexpr=None,
        keyword="walk",
        whole_suite_faultless=False,
    )
    by_label = {p.label: p for p in plans}
    balance = ("-m", "(balance) and not fuzz", "-k", "walk")
    assert by_label["balance-page-count-floor"].selection == balance
    transfer = ("-m", "(transfer) and not fuzz", "-k", "walk")
    assert by_label["transfer-credit-not-written"].selection == transfer
    assert by_label["faultless (strict)"].strict
    assert not by_label["faultless (lenient)"].strict
    both = ("-m", "(balance or transfer) and not fuzz", "-k", "walk")
    assert by_label["faultless (lenient)"].selection == both
    everything = make_plans(
        ["balance-page-count-floor"],
        CATALOGUE,
        markexpr=None,
        keyword=None,
        whole_suite_faultless=True,
    )
    assert everything[-1].selection == ("-m", "not fuzz")
    chosen = make_plans(
        ["balance-page-count-floor"],
        CATALOGUE,
        markexpr="balance and fuzz",
        keyword=None,
        whole_suite_faultless=True,
    )
    assert {p.selection for p in chosen} == {("-m", "balance and fuzz")}


def test_related_requirements() -> None:
    ops = ("getCustomerLedgerBalance",)
    assert related("BAL-PAGE-COUNT", "BAL-PAGE-COUNT", ops, CATALOGUE)
    assert related("BAL-PAGE-COUNT", "BAL-PAGE-WALK", ops, CATALOGUE)
    assert not related("BAL-PAGE-COUNT", "COMMON-SERVER-ERROR", ops, CATALOGUE)
    assert not related("BAL-PAGE-COUNT", "CML-PAGE-COUNT", ops, CATALOGUE)
    assert related("COMMON-AUTH-401", "COMMON-ERR-ENVELOPE", ops, CATALOGUE)


def test_fast_selftest_catches_every_chosen_fault_without_false_alarms(tmp_path: Path) -> None:
    """The representative subset against real faulty servers (a few minutes on two cores)."""
    out = tmp_path / "selftest.json"
    status = selftest.main(["--fast", "--jobs", "2", "--json", str(out)])
    document = json.loads(out.read_text(encoding="utf-8"))
    runs = {run["label"]: run for run in document["runs"]}
    for name in FAST_FAULTS:
        run = runs[name]
        assert run["verdict"] == "caught", (name, run["error"] or run["failed"])
        assert run["claimed_caught"], (name, run["requirement"], run["failed"])
    assert document["summary"]["false_alarms"] == 0, document["summary"]
    assert document["summary"]["errors"] == []
    assert status == 0


def test_a_parallel_selftest_judges_a_fault_as_the_serial_one(tmp_path: Path) -> None:
    """--workers 2 runs each suite on two pytest-xdist workers: the verdicts and the failed
    requirements must be those of the serial runs."""
    verdicts = []
    for extra in ([], ["--workers", "2"]):
        out = tmp_path / f"selftest{len(extra)}.json"
        argv = ["--fault", "balance-page-count-floor", "--jobs", "2", "--json", str(out)]
        assert selftest.main([*argv, *extra]) == 0
        runs = json.loads(out.read_text(encoding="utf-8"))["runs"]
        assert {run["workers"] for run in runs} == ({2} if extra else {0})
        verdicts.append({run["label"]: (run["verdict"], run["failed"]) for run in runs})
    assert verdicts[0] == verdicts[1]
    assert verdicts[0]["balance-page-count-floor"][0] == CAUGHT


def test_a_reading_passes_on_another_seeds_data(tmp_path: Path) -> None:
    """--seed 1 starts every server on seed 1's data, whose groups' last pages are part-filled:
    there a pageSize that shows the entries on the page (D-057) must still pass by default."""
    out = tmp_path / "selftest.json"
    argv = ["--reading", "ledger-page-size-shown", "--seed", "1", "--json", str(out)]
    assert selftest.main(argv) == 0
    runs = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert {run["seed"] for run in runs} == {1}
    default = [run for run in runs if not run["strict"]]
    assert len(default) == 1 and default[0]["verdict"] == PASSED, default
