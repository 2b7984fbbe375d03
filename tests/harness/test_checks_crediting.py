"""Crediting: `crediting()` collects the requirements the checks evaluated, and the ledger and
cross-member checks credit exactly what they compared.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import pytest

from points_conformance.checks import CheckContext, discrepancies, run_checks
from points_conformance.checks import schema as schema_check
from points_conformance.checks.cross_member import arithmetic as cml_arithmetic
from points_conformance.checks.cross_member import unwrapped
from points_conformance.checks.cross_member_events import reversal_status
from points_conformance.checks.ledger import arithmetic as ledger_arithmetic
from points_conformance.checks.registry import credit, crediting, crediting_open
from points_conformance.checks.schema import response_schema
from points_conformance.model import Finding

from .test_checks_support import (
    CML,
    CORG,
    ERROR_ENVELOPE,
    LEDGER,
    LENIENT,
    REAL_STRICT,
    STRICT,
    Mutation,
    cml_example,
    credited_by,
    drop,
    ledger_body,
    ledger_example,
    make_exchange,
    mutated,
    put,
)

# --------------------------------------------------------------------------------------------
# crediting(), credit(), crediting_open()


def outside_crediting(fn: Callable[[], Any]) -> Any:
    """Run `fn` where no block is open: the points_conformance plugin opens one around every
    test call, this module's tests included."""
    return contextvars.Context().run(fn)


def test_credit_outside_a_block_records_nothing() -> None:
    def run() -> set[str]:
        assert crediting_open() is False
        credit("LEDGER-ARITH-NET")  # no block: nowhere to record, and no error
        with crediting() as credited:
            pass
        return credited

    with crediting() as surrounding:
        assert outside_crediting(run) == set()
    assert surrounding == set()


def test_crediting_collects_ids_inside_the_block_only() -> None:
    def run() -> tuple[set[str], bool]:
        with crediting() as credited:
            assert crediting_open() is True
            credit("A-1", "A-2")
            credit("A-2")
        assert credited == {"A-1", "A-2"}
        closed = not crediting_open()
        credit("A-3")
        return credited, closed

    credited, closed = outside_crediting(run)
    assert credited == {"A-1", "A-2"}
    assert closed


def test_nested_blocks_collect_apart_and_restore_the_outer() -> None:
    with crediting() as outer:
        credit("OUTER-1")
        with crediting() as inner:
            credit("INNER")
        credit("OUTER-2")
    assert inner == {"INNER"}
    assert outer == {"OUTER-1", "OUTER-2"}


def test_crediting_closes_on_an_exception() -> None:
    def run() -> bool:
        with pytest.raises(RuntimeError), crediting():
            raise RuntimeError("boom")
        return crediting_open()

    assert outside_crediting(run) is False


def test_checks_outside_crediting_skip_the_place_credits(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(schema_check, "_credit_places", lambda ctx, ex: calls.append(ex.operation))
    ex = make_exchange(LEDGER, ledger_example())
    assert outside_crediting(lambda: response_schema(REAL_STRICT, ex)) == []
    assert calls == []
    with crediting():
        response_schema(REAL_STRICT, ex)
    assert calls == [LEDGER]


@pytest.mark.parametrize("ctx", [LENIENT, STRICT], ids=["lenient", "strict"])
def test_run_checks_credits_only_inside_the_block(ctx: CheckContext) -> None:
    ex = make_exchange(LEDGER, ledger_example())

    def run() -> tuple[list[Finding], set[str]]:
        found = run_checks(ctx, ex)
        with crediting() as later:
            pass
        return found, later

    outside, later = outside_crediting(run)
    assert later == set()
    with crediting() as credited:
        inside = run_checks(ctx, ex)
    assert {"LEDGER-ARITH-NET", "LEDGER-SCHEMA-RESPONSE"} <= credited
    assert inside == outside  # crediting changes no verdict


# --------------------------------------------------------------------------------------------
# ledger arithmetic: LEDGER-ARITH-NET credits


def _entry_with(**changes: Any) -> dict[str, Any]:
    return {**ledger_example()["ledgerEntries"][0], **changes}


def _page(*entries: dict[str, Any]) -> dict[str, Any]:
    body = ledger_example()
    body["ledgerEntries"] = list(entries)
    body["ledgerDetails"]["totalEntries"] = len(entries)
    return body


@pytest.mark.parametrize(
    ("operation", "status", "body", "params", "ctx", "credited"),
    [
        (LEDGER, 200, ledger_example(), None, LENIENT, True),
        (CORG, 200, ledger_example(), None, LENIENT, True),
        (LEDGER, 200, ledger_body([]), None, LENIENT, False),
        (LEDGER, 400, ERROR_ENVELOPE, None, LENIENT, False),
        (LEDGER, 200, _page(_entry_with(netPointsOnEvent=None)), None, LENIENT, False),
        (LEDGER, 200, _page(_entry_with(netPointsOnEvent="n/a")), None, STRICT, False),
        (
            LEDGER,
            200,
            _page(
                _entry_with(
                    entryDetails=[{**_entry_with()["entryDetails"][0], "ledgerEntryType": "BONUS"}]
                )
            ),
            None,
            STRICT,
            False,
        ),
        (
            LEDGER,
            200,
            _page(_entry_with(entryDetails=[{**_entry_with()["entryDetails"][0], "points": None}])),
            None,
            LENIENT,
            False,
        ),
        # one readable entry is enough
        (
            LEDGER,
            200,
            _page(_entry_with(netPointsOnEvent=None), _entry_with(eventLogId=2)),
            None,
            LENIENT,
            True,
        ),
        # points as JSON numbers are still readable
        (
            LEDGER,
            200,
            _page(
                _entry_with(
                    netPointsOnEvent=350.0,
                    entryDetails=[{**_entry_with()["entryDetails"][0], "points": 350}],
                )
            ),
            None,
            STRICT,
            True,
        ),
        # a row filter suspends the identity in the lenient reading only
        (LEDGER, 200, ledger_example(), {"ledgerEntryType": "CREDIT"}, LENIENT, False),
        (LEDGER, 200, ledger_example(), {"ledgerEntryType": "CREDIT"}, STRICT, True),
    ],
    ids=[
        "entries",
        "connected orgs",
        "empty page",
        "error answer",
        "net null",
        "net unreadable",
        "unknown row type",
        "row points null",
        "one readable entry",
        "numbers",
        "filtered lenient",
        "filtered strict",
    ],
)
def test_ledger_net_is_credited_only_when_an_entry_was_compared(
    operation: str,
    status: int,
    body: dict[str, Any],
    params: dict[str, str] | None,
    ctx: CheckContext,
    credited: bool,
) -> None:
    ex = make_exchange(operation, body, status=status, params=params)
    got, found = credited_by(lambda: ledger_arithmetic(ctx, ex))
    assert ("LEDGER-ARITH-NET" in got) is credited
    assert found == []


def test_ledger_net_mismatch_is_credited_and_found() -> None:
    ex = make_exchange(LEDGER, _page(_entry_with(netPointsOnEvent="360.000")))
    got, found = credited_by(lambda: ledger_arithmetic(STRICT, ex))
    assert got == {"LEDGER-ARITH-NET"}
    assert [f.requirement for f in found] == ["LEDGER-ARITH-NET"]


def test_ledger_alternate_currency_net_is_credited_with_currency_rows() -> None:
    rows = [
        _entry_with()["entryDetails"][0],
        {
            "ledgerEntryType": "CREDIT",
            "points": "5.000",
            "pointsCategory": "Main",
            "programName": "Default Program",
            "programId": 469,
            "alternateCurrencyName": "Miles",
        },
    ]
    with_nets = _page(
        _entry_with(entryDetails=rows, netAlternateCurrenciesOnEvent={"Miles": "5.000"})
    )
    without_nets = _page(_entry_with(entryDetails=rows))
    got, found = credited_by(lambda: ledger_arithmetic(STRICT, make_exchange(LEDGER, with_nets)))
    assert got == {"LEDGER-ARITH-NET", "LEDGER-ARITH-NET-ALT"} and found == []
    got, _ = credited_by(lambda: ledger_arithmetic(STRICT, make_exchange(LEDGER, without_nets)))
    assert got == {"LEDGER-ARITH-NET"}


# --------------------------------------------------------------------------------------------
# cross-member credits


CML_RULES = {
    "CML-ARITH-NET",
    "CML-ARITH-GROUP-BALANCE",
    "CML-ARITH-MEMBER-COUNT",
    "CML-REVERSED-BOUNDS",
    "CML-STATUS-ROW",
    "CML-STATUS-AGGREGATE",
}


def _cml_rows(**changes: Any) -> Mutation:
    def apply(body: dict[str, Any]) -> None:
        for row in body["entries"][0]["entryDetails"]:
            for key, value in changes.items():
                if value is None:
                    row.pop(key, None)
                else:
                    row[key] = value

    return apply


@pytest.mark.parametrize(
    ("mutations", "credited"),
    [
        ([], CML_RULES),
        (
            [drop(("groupDetails",))],
            CML_RULES - {"CML-ARITH-GROUP-BALANCE", "CML-ARITH-MEMBER-COUNT"},
        ),
        (
            [drop(("groupDetails", "members", 2, "balance"))],
            CML_RULES - {"CML-ARITH-GROUP-BALANCE"},
        ),
        ([drop(("groupDetails", "memberCount"))], CML_RULES - {"CML-ARITH-MEMBER-COUNT"}),
        (
            [put(("groupDetails", "members"), None)],
            CML_RULES - {"CML-ARITH-GROUP-BALANCE", "CML-ARITH-MEMBER-COUNT"},
        ),
        ([put(("entries", 0, "netPointsOnEvent"), None)], CML_RULES - {"CML-ARITH-NET"}),
        # no reversedAmount: nothing to bound and no row status to derive
        (
            [_cml_rows(reversedAmount=None)],
            CML_RULES - {"CML-REVERSED-BOUNDS", "CML-STATUS-ROW"},
        ),
        # no row status: the bounds are checked, neither status rule is
        (
            [_cml_rows(status=None)],
            CML_RULES - {"CML-STATUS-ROW", "CML-STATUS-AGGREGATE"},
        ),
        ([drop(("entries", 0, "status"))], CML_RULES - {"CML-STATUS-AGGREGATE"}),
        (
            [put(("entries",), [])],
            {"CML-ARITH-GROUP-BALANCE", "CML-ARITH-MEMBER-COUNT"},
        ),
    ],
    ids=[
        "example",
        "no groupDetails",
        "a member without balance",
        "no memberCount",
        "members null",
        "net null",
        "no reversedAmount",
        "no row status",
        "no entry status",
        "no entries",
    ],
)
@pytest.mark.parametrize("wrapped", [False, True], ids=["top level", "in entity"])
def test_cross_member_checks_credit_what_they_compared(
    mutations: list[Mutation], credited: set[str], wrapped: bool
) -> None:
    body = mutated(cml_example(), *mutations)
    ex = make_exchange(CML, {"entity": body} if wrapped else body)
    # Strict: the default run compares statuses and scope=user nets not at all (D-094, D-092).
    got, found = credited_by(lambda: [*cml_arithmetic(STRICT, ex), *reversal_status(STRICT, ex)])
    assert got == credited
    assert found == []


def test_cross_member_checks_credit_nothing_on_an_error_answer() -> None:
    ex = make_exchange(CML, {"errors": [{"code": 3301, "message": "not in a group"}]}, status=400)
    got, found = credited_by(lambda: [*cml_arithmetic(STRICT, ex), *reversal_status(STRICT, ex)])
    assert got == set() and found == []


def test_cross_member_broken_rules_are_credited_and_found() -> None:
    body = mutated(
        cml_example(),
        put(("groupDetails", "groupBalance"), 2000),
        put(("groupDetails", "memberCount"), 5),
        put(("entries", 0, "entryDetails", 0, "reversedAmount"), "25.000"),
    )
    ex = make_exchange(CML, body)
    got, found = credited_by(lambda: [*cml_arithmetic(STRICT, ex), *reversal_status(STRICT, ex)])
    assert {"CML-ARITH-GROUP-BALANCE", "CML-ARITH-MEMBER-COUNT", "CML-REVERSED-BOUNDS"} <= got
    assert {f.requirement for f in found} == {
        "CML-ARITH-GROUP-BALANCE",
        "CML-ARITH-MEMBER-COUNT",
        "CML-REVERSED-BOUNDS",
    }


@pytest.mark.parametrize(
    ("ctx", "status", "wrapped", "credited", "flagged"),
    [
        (STRICT, 200, False, True, False),
        (STRICT, 200, True, True, True),
        (LENIENT, 200, True, False, False),
        (LENIENT, 200, False, False, False),
        (STRICT, 400, False, False, False),
    ],
    ids=["strict top level", "strict wrapped", "lenient wrapped", "lenient top level", "error"],
)
def test_unwrapped_body_in_the_strict_reading(
    ctx: CheckContext, status: int, wrapped: bool, credited: bool, flagged: bool
) -> None:
    body: Any = cml_example() if status == 200 else ERROR_ENVELOPE
    ex = make_exchange(CML, {"entity": body} if wrapped else body, status=status)
    got, found = credited_by(lambda: unwrapped(ctx, ex))
    assert ("CML-SCHEMA-UNWRAPPED" in got) is credited
    assert bool(found) is flagged
    if flagged:
        (item,) = found
        assert item.requirement == "CML-SCHEMA-UNWRAPPED"
        assert item.discrepancy == discrepancies.D_CML_WRAPPED == "D-013"
        assert "entity" in item.actual


def test_unwrapped_leaves_an_entity_beside_the_top_level_fields() -> None:
    body = {**cml_example(), "entity": {"note": "extra"}}
    assert unwrapped(STRICT, make_exchange(CML, body)) == []
