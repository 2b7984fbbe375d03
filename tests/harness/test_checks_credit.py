"""Body places and routing, crediting of evaluated rules, and the rules that came with them.

Covers `bodypaths` (catalogue `paths`), `crediting()`, the schema check's routing of errors to
the most specific requirement and its credits, the credits of the ledger and cross-member
checks, `success_without_errors`, the concurrent-transfer and warning-reversal state functions,
and how the report settles a requirement a test only exercised.
"""

from __future__ import annotations

import contextvars
import copy
import json
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any, Literal

import pytest

from points_conformance.bodypaths import PathPattern, Place, Route, route
from points_conformance.checks import CheckContext, base, run_checks
from points_conformance.checks import schema as schema_check
from points_conformance.checks.base import credit, crediting, crediting_open
from points_conformance.checks.common import success_without_errors
from points_conformance.checks.cross_member import arithmetic as cml_arithmetic
from points_conformance.checks.cross_member import reversal_status, unwrapped
from points_conformance.checks.ledger import arithmetic as ledger_arithmetic
from points_conformance.checks.schema import response_schema
from points_conformance.checks.transfer import (
    BalanceReading,
    check_warning_reversal,
    compare_concurrent_transfers,
)
from points_conformance.docs import POINTS_OPERATIONS
from points_conformance.model import Exchange, Finding
from points_conformance.report import collect
from points_conformance.report.model import FAILED, PASSED, SKIPPED
from points_conformance.report.record import TestRecord

from .test_checks_support import (
    LENIENT,
    STRICT,
    example_text,
    ledger_body,
    make_exchange,
)
from .test_checks_support import credit as credit_entry

LEDGER = "getCustomerLedgerInfo"
CORG = "getCustomerLedgerInfoConnectedOrgs"
CML = "getCrossMemberLedger"

# The real specs and catalogue: the schema check routes by the catalogue's `paths`.
REAL_LENIENT = CheckContext(strict=False, org_id=50406)
REAL_STRICT = CheckContext(strict=True, org_id=50406)
REAL = {"lenient": REAL_LENIENT, "strict": REAL_STRICT}

ERROR_ENVELOPE = {"errors": [{"code": 8015, "message": "Identifier value missing or incorrect"}]}


def example_body(stem: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(example_text(stem))
    return body


def ledger_example() -> dict[str, Any]:
    """001's documented customer ledger page: two AllocateGoodwillPoints entries."""
    return example_body("001-01")


def cml_example() -> dict[str, Any]:
    """002's documented cross-member page: one partially reversed redemption, four members."""
    return example_body("002-01")


Mutation = Callable[[dict[str, Any]], None]


def put(path: tuple[str | int, ...], value: Any) -> Mutation:
    def apply(body: dict[str, Any]) -> None:
        node: Any = body
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return apply


def drop(path: tuple[str | int, ...]) -> Mutation:
    def apply(body: dict[str, Any]) -> None:
        node: Any = body
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return apply


def mutated(body: dict[str, Any], *mutations: Mutation) -> dict[str, Any]:
    result = copy.deepcopy(body)
    for mutation in mutations:
        mutation(result)
    return result


def credited_by(fn: Callable[[], list[Finding]]) -> tuple[set[str], list[Finding]]:
    with crediting() as credited:
        found = fn()
    return set(credited), found


# --------------------------------------------------------------------------------------------
# bodypaths: PathPattern.parse


@pytest.mark.parametrize(
    ("text", "keyword", "steps"),
    [
        ("$", None, ()),
        ("$.warnings", None, (("key", "warnings"),)),
        (
            "$.ledgerEntries[*].points",
            None,
            (("key", "ledgerEntries"), ("index", None), ("key", "points")),
        ),
        (
            "$.ledgerEntries[*].netAlternateCurrenciesOnEvent.*",
            None,
            (
                ("key", "ledgerEntries"),
                ("index", None),
                ("key", "netAlternateCurrenciesOnEvent"),
                ("key", None),
            ),
        ),
        (
            "unevaluatedProperties@$.ledgerEntries[*].*",
            "unevaluatedProperties",
            (("key", "ledgerEntries"), ("index", None), ("key", None)),
        ),
        ("type@$.data[*]", "type", (("key", "data"), ("index", None))),
        ("$._private_1", None, (("key", "_private_1"),)),
    ],
)
def test_parse_reads_keyword_and_steps(
    text: str, keyword: str | None, steps: tuple[tuple[str, str | None], ...]
) -> None:
    pattern = PathPattern.parse(text)
    assert (pattern.text, pattern.keyword, pattern.steps) == (text, keyword, steps)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("ledgerEntries[*].points", "does not start with '$'"),
        ("", "does not start with '$'"),
        ("type@", "does not start with '$'"),
        ("type@ledgerEntries", "does not start with '$'"),
        ("@$.ledgerEntries", "is not a JSON Schema keyword"),
        ("unevaluated-properties@$.a", "is not a JSON Schema keyword"),
        ("$.a@$.b", "is not a JSON Schema keyword"),
        ("type2@$.a", "is not a JSON Schema keyword"),
        ("$.ledgerEntries[0]", "cannot read the path from '[0]'"),
        ("$..points", "cannot read the path from '..points'"),
        ("$.", "cannot read the path from '.'"),
        ("$.1st", "cannot read the path from '.1st'"),
        ("$.a b", "cannot read the path from ' b'"),
        ("$ledgerEntries", "cannot read the path from 'ledgerEntries'"),
        ("$.a[*", "cannot read the path from '[*'"),
        ("type@$.a@b", "cannot read the path from '@b'"),
    ],
)
def test_parse_rejects_unreadable_text(text: str, complaint: str) -> None:
    with pytest.raises(ValueError) as raised:
        PathPattern.parse(text)
    assert complaint in str(raised.value)
    assert repr(text) in str(raised.value)


# --------------------------------------------------------------------------------------------
# bodypaths: matches


@pytest.mark.parametrize(
    ("pattern", "keyword", "place", "hit"),
    [
        ("$.ledgerEntries[*].points", "type", ("ledgerEntries", 0, "points"), True),
        ("$.ledgerEntries[*].points", "pattern", ("ledgerEntries", 7, "points"), True),
        # a pattern covers everything below its place
        ("$.ledgerEntries[*].points", "type", ("ledgerEntries", 0, "points", "x", 1), True),
        ("$.ledgerEntries[*].points", "required", ("ledgerEntries", 0), False),
        ("$.ledgerEntries[*].points", "type", ("ledgerEntries", 0, "netPointsOnEvent"), False),
        ("$.ledgerEntries[*].points", "type", ("ledgerDetails", 0, "points"), False),
        # [*] stands for list indexes only, .* for object keys only
        ("$.ledgerEntries[*].points", "type", ("ledgerEntries", "0", "points"), False),
        ("$.nets.*", "type", ("nets", "Miles"), True),
        ("$.nets.*", "type", ("nets", 0), False),
        ("$.nets.*", "type", ("nets",), False),
        ("$.data[*]", "type", ("data", "first"), False),
        # keyword@ limits the pattern to that keyword
        (
            "unevaluatedProperties@$.ledgerEntries[*].*",
            "unevaluatedProperties",
            ("ledgerEntries", 0, "internalScore"),
            True,
        ),
        ("unevaluatedProperties@$.ledgerEntries[*].*", "type", ("ledgerEntries", 0, "x"), False),
        ("required@$", "required", ("ledgerDetails",), True),
        ("required@$", "type", ("ledgerDetails",), False),
        ("$", "type", (), True),
        ("$.warnings", "type", (), False),
    ],
)
def test_matches_prefix_wildcards_and_keyword(
    pattern: str, keyword: str, place: Place, hit: bool
) -> None:
    assert PathPattern.parse(pattern).matches(keyword, place) is hit


# --------------------------------------------------------------------------------------------
# bodypaths: present


PRESENCE_BODY: dict[str, Any] = {
    "customerDetails": None,
    "ledgerEntries": [
        {
            "orgId": None,
            "entryDetails": [],
            "netAlternateCurrenciesOnEvent": {},
        },
        {
            "entryDetails": [{"points": "10.000"}],
            "netAlternateCurrenciesOnEvent": {"Miles": "5.000"},
            "eventDetails": {"eventDate": "2024-08-30 11:17:57.0"},
        },
    ],
    "data": {"transferrable": True},
    "warnings": [],
}


@pytest.mark.parametrize(
    ("pattern", "present"),
    [
        ("$", True),
        ("$.warnings", True),  # an empty list is a value
        ("$.ledgerEntries[*].orgId", True),  # null is a value
        ("$.ledgerEntries[*].orgID", False),
        ("$.ledgerEntries[*].entryDetails[*].points", True),  # found on the second entry
        ("$.ledgerEntries[*].netAlternateCurrenciesOnEvent.*", True),
        ("$.ledgerEntries[*].eventDetails.eventDate", True),
        ("$.ledgerEntries[*].transactionDetails.date", False),
        ("$.customerDetails.entityType", False),  # customerDetails is null
        ("$.data[*].transferrable", False),  # data is an object, not a list
        ("$.warnings.*", False),  # a list has no keys
        ("$.ledgerEntries.*", False),
        ("unevaluatedProperties@$.ledgerEntries[*].*", True),  # the keyword plays no part
    ],
)
def test_present_finds_a_value_at_the_place(pattern: str, present: bool) -> None:
    assert PathPattern.parse(pattern).present(PRESENCE_BODY) is present


@pytest.mark.parametrize("body", [None, [], {}, "text", 3])
def test_present_on_bodies_without_the_place(body: Any) -> None:
    assert PathPattern.parse("$.ledgerEntries[*].points").present(body) is False


def test_present_with_no_entry_holding_the_value() -> None:
    pattern = PathPattern.parse("$.ledgerEntries[*].entryDetails[*].points")
    assert (
        pattern.present({"ledgerEntries": [{"entryDetails": []}, {"entryDetails": [{}]}]}) is False
    )


# --------------------------------------------------------------------------------------------
# bodypaths: specificity and route


@pytest.mark.parametrize(
    ("more", "less"),
    [
        # a literal key beats a wildcard with a keyword
        ("$.ledgerEntries[*].orgID", "unevaluatedProperties@$.ledgerEntries[*].*"),
        ("$.ledgerEntries[*].points", "$.ledgerEntries[*].*"),
        ("$.a.b.c", "$.a.b"),
        ("$.a.b.*", "$.a.b"),
        ("$.a.*.*.*", "$.a.b"),
        ("$.a[*]", "$.a"),
        # a keyword only breaks a tie
        ("type@$.a.b", "$.a.b"),
        ("$.a.b", "type@$.a.*"),
    ],
)
def test_specificity_orders_patterns(more: str, less: str) -> None:
    assert PathPattern.parse(more).specificity > PathPattern.parse(less).specificity


def test_specificity_values() -> None:
    assert PathPattern.parse("$").specificity == (0, 0)
    assert PathPattern.parse("$.ledgerEntries[*].points").specificity == (5, 0)
    assert PathPattern.parse("unevaluatedProperties@$.ledgerEntries[*].*").specificity == (4, 1)


def _routes(*entries: tuple[str, tuple[str, ...]]) -> tuple[Route, ...]:
    return tuple(Route(rid, tuple(PathPattern.parse(p) for p in paths)) for rid, paths in entries)


ROUTES = _routes(
    ("ENTRIES", ("$.ledgerEntries",)),
    (
        "DECIMAL",
        ("$.ledgerEntries[*].entryDetails[*].points", "$.ledgerEntries[*].netPointsOnEvent"),
    ),
    (
        "STRICT-FIELDS",
        (
            "unevaluatedProperties@$.ledgerEntries[*].*",
            "unevaluatedProperties@$.ledgerEntries[*].entryDetails[*].*",
        ),
    ),
    ("ORGID", ("$.ledgerEntries[*].orgId", "$.ledgerEntries[*].orgID")),
)


@pytest.mark.parametrize(
    ("keyword", "places", "requirement"),
    [
        ("type", [("ledgerEntries", 0, "netPointsOnEvent")], "DECIMAL"),
        ("type", [("ledgerEntries", 3, "entryDetails", 1, "points")], "DECIMAL"),
        ("unevaluatedProperties", [("ledgerEntries", 0, "orgID")], "ORGID"),
        ("unevaluatedProperties", [("ledgerEntries", 0, "internalScore")], "STRICT-FIELDS"),
        (
            "unevaluatedProperties",
            [("ledgerEntries", 0, "entryDetails", 0, "bucketId")],
            "STRICT-FIELDS",
        ),
        # without the keyword the wildcard route does not apply; the enclosing list's does
        ("type", [("ledgerEntries", 0, "internalScore")], "ENTRIES"),
        ("type", [("ledgerEntries",)], "ENTRIES"),
        ("required", [("ledgerDetails",)], None),
        ("required", [()], None),
        # the most specific of several places wins
        ("type", [("warnings",), ("ledgerEntries", 0, "netPointsOnEvent")], "DECIMAL"),
        (
            "unevaluatedProperties",
            [("ledgerEntries", 0, "internalScore"), ("ledgerEntries", 0, "orgID")],
            "ORGID",
        ),
    ],
)
def test_route_picks_the_most_specific_pattern(
    keyword: str, places: list[Place], requirement: str | None
) -> None:
    assert route(ROUTES, keyword, places) == requirement
    assert route(tuple(reversed(ROUTES)), keyword, places) == requirement


def test_route_without_routes() -> None:
    assert route((), "type", [("ledgerEntries", 0, "points")]) is None


def test_catalogue_routes_of_the_ledger() -> None:
    table = {r.requirement: r for r in schema_check.routes(LEDGER)}
    assert table["LEDGER-SCHEMA-STRICT-FIELDS"].strict_only is True
    assert table["LEDGER-FORMAT-DECIMAL"].strict_only is False
    assert "$.ledgerEntries[*].netPointsOnEvent" in {
        p.text for p in table["LEDGER-FORMAT-DECIMAL"].patterns
    }
    assert "CML-FORMAT-DATES" not in table
    assert "CML-FORMAT-DATES" in {r.requirement for r in schema_check.routes(CML)}


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
# the schema check: routing of errors


LEDGER_SCHEMA_CASES: dict[str, tuple[list[Mutation], set[str], set[str]]] = {
    # mutations of 001's example -> (lenient requirements, strict requirements)
    "points as JSON numbers": (
        [
            put(("ledgerEntries", 0, "entryDetails", 0, "points"), 350),
            put(("ledgerEntries", 0, "netPointsOnEvent"), 350.0),
        ],
        set(),
        {"LEDGER-FORMAT-DECIMAL"},
    ),
    "points not a decimal": (
        [put(("ledgerEntries", 1, "entryDetails", 0, "points"), "one hundred")],
        {"LEDGER-FORMAT-DECIMAL"},
        {"LEDGER-FORMAT-DECIMAL"},
    ),
    "alternate currency net as a number": (
        [put(("ledgerEntries", 0, "netAlternateCurrenciesOnEvent"), {"Miles": 5})],
        set(),
        {"LEDGER-FORMAT-DECIMAL"},
    ),
    "orgID instead of orgId": (
        [put(("ledgerEntries", 0, "orgID"), 50406)],
        set(),
        {"LEDGER-SCHEMA-ORGID"},
    ),
    "orgId not an integer": (
        [put(("ledgerEntries", 0, "orgId"), "org-50406")],
        {"LEDGER-SCHEMA-ORGID"},
        {"LEDGER-SCHEMA-ORGID"},
    ),
    "unknown entry field": (
        [put(("ledgerEntries", 0, "internalScore"), 3)],
        set(),
        {"LEDGER-SCHEMA-STRICT-FIELDS"},
    ),
    "unknown row field": (
        [put(("ledgerEntries", 0, "entryDetails", 0, "bucketId"), 77)],
        set(),
        {"LEDGER-SCHEMA-STRICT-FIELDS"},
    ),
    "entry without eventName": (
        [drop(("ledgerEntries", 1, "eventName"))],
        {"LEDGER-SCHEMA-EVENTNAME"},
        {"LEDGER-SCHEMA-EVENTNAME"},
    ),
    "empty eventName": (
        [put(("ledgerEntries", 1, "eventName"), "")],
        {"LEDGER-SCHEMA-EVENTNAME"},
        {"LEDGER-SCHEMA-EVENTNAME"},
    ),
    "ledgerCreatedDate in ISO form": (
        [put(("ledgerEntries", 0, "ledgerCreatedDate"), "2023-06-21T13:34:16Z")],
        set(),
        {"LEDGER-FORMAT-CREATED-DATE"},
    ),
    "no ledgerDetails": (
        [drop(("ledgerDetails",))],
        {"LEDGER-SCHEMA-RESPONSE"},
        {"LEDGER-SCHEMA-RESPONSE"},
    ),
    "no ledgerEntries": (
        [drop(("ledgerEntries",))],
        {"LEDGER-SCHEMA-RESPONSE"},
        {"LEDGER-SCHEMA-RESPONSE"},
    ),
    "numbers and no ledgerDetails": (
        [put(("ledgerEntries", 0, "netPointsOnEvent"), 350.0), drop(("ledgerDetails",))],
        {"LEDGER-SCHEMA-RESPONSE"},
        {"LEDGER-FORMAT-DECIMAL", "LEDGER-SCHEMA-RESPONSE"},
    ),
}


def test_the_ledger_example_is_valid_in_both_readings() -> None:
    ex = make_exchange(LEDGER, ledger_example())
    assert response_schema(REAL_LENIENT, ex) == []
    assert response_schema(REAL_STRICT, ex) == []


@pytest.mark.parametrize("mode", ["lenient", "strict"])
@pytest.mark.parametrize("case", list(LEDGER_SCHEMA_CASES))
def test_schema_errors_are_filed_under_the_most_specific_requirement(case: str, mode: str) -> None:
    mutations, lenient, strict = LEDGER_SCHEMA_CASES[case]
    ex = make_exchange(LEDGER, mutated(ledger_example(), *mutations))
    found = response_schema(REAL[mode], ex)
    assert len(found) == len({f.requirement for f in found})  # one finding a requirement
    assert {f.requirement for f in found} == (strict if mode == "strict" else lenient)


def test_points_as_numbers_list_their_places_under_the_decimal_rule() -> None:
    body = mutated(
        ledger_example(),
        put(("ledgerEntries", 0, "netPointsOnEvent"), 350.0),
        put(("ledgerEntries", 1, "entryDetails", 0, "points"), 100),
    )
    (found,) = response_schema(REAL_STRICT, make_exchange(LEDGER, body))
    assert found.requirement == "LEDGER-FORMAT-DECIMAL"
    assert "2 errors" in found.message
    assert "$.ledgerEntries[0].netPointsOnEvent [type]" in found.actual
    assert "$.ledgerEntries[1].entryDetails[0].points [type]" in found.actual


def test_each_finding_lists_only_its_own_errors() -> None:
    body = mutated(
        ledger_example(),
        put(("ledgerEntries", 0, "netPointsOnEvent"), 350.0),
        put(("ledgerEntries", 0, "orgID"), 50406),
        drop(("ledgerDetails",)),
    )
    by_rule = {f.requirement: f for f in response_schema(REAL_STRICT, make_exchange(LEDGER, body))}
    assert set(by_rule) == {
        "LEDGER-FORMAT-DECIMAL",
        "LEDGER-SCHEMA-ORGID",
        "LEDGER-SCHEMA-RESPONSE",
    }
    assert "netPointsOnEvent" in by_rule["LEDGER-FORMAT-DECIMAL"].actual
    assert "orgID" in by_rule["LEDGER-SCHEMA-ORGID"].actual
    assert "ledgerDetails" in by_rule["LEDGER-SCHEMA-RESPONSE"].actual
    assert "netPointsOnEvent" not in by_rule["LEDGER-SCHEMA-RESPONSE"].actual
    assert "orgID" not in by_rule["LEDGER-FORMAT-DECIMAL"].actual


@pytest.mark.parametrize(
    ("mutation", "requirement"),
    [
        (put(("ledgerEntries", 0, "orgID"), 50406), "LEDGER-SCHEMA-ORGID"),
        (put(("ledgerEntries", 0, "internalScore"), 3), "LEDGER-SCHEMA-STRICT-FIELDS"),
        (drop(("ledgerDetails",)), "CORG-SCHEMA-RESPONSE"),
    ],
    ids=["orgID", "unknown field", "no ledgerDetails"],
)
def test_connected_orgs_ledger_shares_the_ledger_routes(
    mutation: Mutation, requirement: str
) -> None:
    body = ledger_body([credit_entry(2, "2024-08-30 11:17:57.0", orgId=50406)])
    assert response_schema(REAL_STRICT, make_exchange(CORG, body)) == []
    found = response_schema(REAL_STRICT, make_exchange(CORG, mutated(body, mutation)))
    assert [f.requirement for f in found] == [requirement]


@pytest.mark.parametrize("wrapped", [False, True], ids=["top level", "in entity"])
def test_cross_member_errors_route_with_or_without_the_entity_wrapper(wrapped: bool) -> None:
    body = mutated(cml_example(), put(("entries", 0, "createdDate"), "2026/04/01 10:30"))
    found = response_schema(REAL_LENIENT, make_exchange(CML, {"entity": body} if wrapped else body))
    assert [f.requirement for f in found] == ["CML-FORMAT-DATES"]


def test_errors_outside_every_route_go_to_the_operation_schema_requirement() -> None:
    body = mutated(cml_example(), drop(("pageDetails",)))
    found = response_schema(REAL_LENIENT, make_exchange(CML, body))
    assert [f.requirement for f in found] == ["CML-SCHEMA-RESPONSE"]


# --------------------------------------------------------------------------------------------
# the schema check: credits


@pytest.mark.parametrize(
    ("mode", "body", "credited", "not_credited"),
    [
        (
            "lenient",
            ledger_example(),
            {
                "LEDGER-SCHEMA-RESPONSE",
                "LEDGER-FORMAT-DECIMAL",
                "LEDGER-FORMAT-CREATED-DATE",
                "LEDGER-SCHEMA-EVENTNAME",
                "LEDGER-SCHEMA-EVENT-DETAILS",
                "LEDGER-SCHEMA-TRANSACTION",
                "LEDGER-SCHEMA-ENTRY-CUSTOMER",  # null on every entry: still a value
                "COMMON-SCHEMA-WARNINGS",
            },
            {
                "LEDGER-SCHEMA-STRICT-FIELDS",  # strict only
                "LEDGER-SCHEMA-ORGID",  # no entry has orgId
                "LEDGER-SCHEMA-ENTITYTYPE",  # no customerDetails
                "LEDGER-FORMAT-TIMESTAMPS",  # no transaction date, no eventDate
                "LEDGER-SCHEMA-ENTRY-CUSTOMER-ID",
            },
        ),
        (
            "strict",
            ledger_example(),
            {"LEDGER-SCHEMA-RESPONSE", "LEDGER-FORMAT-DECIMAL", "LEDGER-SCHEMA-STRICT-FIELDS"},
            {"LEDGER-SCHEMA-ORGID", "LEDGER-SCHEMA-ENTITYTYPE"},
        ),
        (
            "strict",
            ledger_body([]),
            {"LEDGER-SCHEMA-RESPONSE", "LEDGER-SCHEMA-ENTITYTYPE", "COMMON-SCHEMA-WARNINGS"},
            {"LEDGER-FORMAT-DECIMAL", "LEDGER-SCHEMA-STRICT-FIELDS", "LEDGER-SCHEMA-EVENTNAME"},
        ),
        (
            "lenient",
            mutated(
                ledger_example(), put(("ledgerEntries", 1, "orgID"), 50406), drop(("warnings",))
            ),
            {"LEDGER-SCHEMA-ORGID"},
            {"COMMON-SCHEMA-WARNINGS"},
        ),
    ],
    ids=["example lenient", "example strict", "empty page", "orgID, no warnings"],
)
def test_schema_check_credits_the_routes_whose_places_hold_a_value(
    mode: str, body: dict[str, Any], credited: set[str], not_credited: set[str]
) -> None:
    got, _ = credited_by(lambda: response_schema(REAL[mode], make_exchange(LEDGER, body)))
    assert credited <= got
    assert not (not_credited & got)


def test_schema_check_credits_a_rule_it_also_fails() -> None:
    body = mutated(ledger_example(), put(("ledgerEntries", 0, "netPointsOnEvent"), 350.0))
    got, found = credited_by(lambda: response_schema(REAL_STRICT, make_exchange(LEDGER, body)))
    assert "LEDGER-FORMAT-DECIMAL" in got
    assert [f.requirement for f in found] == ["LEDGER-FORMAT-DECIMAL"]


@pytest.mark.parametrize(
    "ex",
    [
        make_exchange(LEDGER, ERROR_ENVELOPE, status=400),
        make_exchange(LEDGER, ERROR_ENVELOPE, status=500),
        make_exchange(
            LEDGER, text="<html>busy</html>", response_headers={"Content-Type": "text/html"}
        ),
    ],
    ids=["400", "500", "200 without JSON"],
)
def test_schema_check_credits_nothing_it_did_not_validate(ex: Exchange) -> None:
    got, _ = credited_by(lambda: response_schema(REAL_STRICT, ex))
    assert got == set()


def test_schema_check_credits_places_of_the_unwrapped_cross_member_body() -> None:
    got, _ = credited_by(
        lambda: response_schema(REAL_LENIENT, make_exchange(CML, {"entity": cml_example()}))
    )
    assert {"CML-SCHEMA-RESPONSE", "CML-FORMAT-DATES", "COMMON-SCHEMA-WARNINGS"} <= got


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
    got, found = credited_by(lambda: [*cml_arithmetic(LENIENT, ex), *reversal_status(LENIENT, ex)])
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
        assert item.discrepancy == base.D_CML_WRAPPED == "D-013"
        assert "entity" in item.actual


def test_unwrapped_leaves_an_entity_beside_the_top_level_fields() -> None:
    body = {**cml_example(), "entity": {"note": "extra"}}
    assert unwrapped(STRICT, make_exchange(CML, body)) == []


# --------------------------------------------------------------------------------------------
# PTS-SUCCESS-800: no errors in a 2xx answer of the points operations


TRANSFERRED = {
    "data": [
        {
            "pointsTransferDate": "2021-07-16 15:53:42",
            "pointsTransferred": 15.0,
            "transferId": 100,
            "transferType": "DEDUCTION",
            "notes": "Transfer points to James",
            "programName": "Nightly_ApiAutoDefaultProgram",
        }
    ],
    "warnings": [],
}


@pytest.mark.parametrize(
    ("operation", "status", "body", "flagged", "credited"),
    [
        ("transferPoints", 200, {**TRANSFERRED, "errors": []}, False, True),
        ("transferPoints", 200, {**TRANSFERRED, "errors": None}, False, True),
        ("transferPoints", 200, TRANSFERRED, False, False),
        (
            "transferPoints",
            200,
            {**TRANSFERRED, "errors": [{"code": 804, "message": "Insufficient points"}]},
            "804",
            True,
        ),
        (
            "reversePoints",
            200,
            {"redemptionId": "54ZNkA", "errors": [{"code": "3802", "message": "reversed"}]},
            "3802",
            True,
        ),
        ("isTransferrable", 201, {"data": [], "errors": ["not transferrable"]}, "errors", True),
        ("getPointsTransfers", 200, {"data": [], "errors": [], "warnings": []}, False, True),
        ("transferPoints", 400, {"data": [], **ERROR_ENVELOPE}, False, False),
        # not a points operation: the rule does not apply
        (LEDGER, 200, {**ledger_example(), **ERROR_ENVELOPE}, False, False),
    ],
    ids=[
        "empty",
        "null",
        "no errors key",
        "error code",
        "string code",
        "error text",
        "history",
        "refusal",
        "ledger",
    ],
)
def test_success_without_errors(
    operation: str, status: int, body: dict[str, Any], flagged: str | bool, credited: bool
) -> None:
    ex = make_exchange(operation, body, status=status)
    got, found = credited_by(lambda: run_checks(LENIENT, ex))
    mine = [f for f in found if f.requirement == "PTS-SUCCESS-800"]
    assert ("PTS-SUCCESS-800" in got) is credited
    if flagged:
        (item,) = mine
        assert str(flagged) in item.message
        assert str(status) in item.message
        assert item.exchange is ex
    else:
        assert mine == []


def test_success_without_errors_is_registered_for_the_points_operations_only() -> None:
    (entry,) = [c for c in base.registered_checks() if c.name == "common.success_without_errors"]
    assert entry.fn is success_without_errors
    assert entry.requirements == ("PTS-SUCCESS-800",)
    assert set(entry.operations) == set(POINTS_OPERATIONS)
    assert not {LEDGER, CORG, CML, "getCustomerLedgerBalance"} & set(entry.operations)


# --------------------------------------------------------------------------------------------
# compare_concurrent_transfers


def transfer_exchange(amount: int | float, status: int = 200) -> Exchange:
    sent = {
        "pointsTobeTransferred": amount,
        "groupProgramTransfer": "false",
        "programId": 141,
        "notes": "points-conformance concurrent transfer",
        "fromCustomerIdentifier": {"type": "MOBILE", "value": "7799000000"},
        "toCustomerIdentifier": {"type": "ID", "value": "342953257"},
        "code": "X12Y3Z",
    }
    answer: dict[str, Any] = (
        {"data": [{**TRANSFERRED["data"][0], "pointsTransferred": float(amount)}], "warnings": []}
        if status < 400
        else {"data": [], "errors": [{"code": 804, "message": "Insufficient points"}]}
    )
    return make_exchange("transferPoints", answer, status=status, request_body=sent)


def balances(*values: str) -> list[BalanceReading]:
    return [BalanceReading(Decimal(v)) for v in values]


@pytest.mark.parametrize(
    ("statuses", "amount", "before", "after", "ctx", "problem"),
    [
        # 100 held, two of 60 asked: one accepted and moved
        ((200, 400), 60, ("100.000", "0.000"), ("40.000", "60.000"), STRICT, None),
        ((400, 200), 60, ("100.000", "0.000"), ("40.000", "60.000"), STRICT, None),
        # both fit
        ((200, 200), 30, ("100.000", "5.000"), ("40.000", "65.000"), STRICT, None),
        # nothing accepted, nothing moved
        ((400, 400), 60, ("100.000", "0.000"), ("100.000", "0.000"), STRICT, None),
        # both accepted though they exceed the balance, even if the balances agree with them
        (
            (200, 200),
            60,
            ("100.000", "0.000"),
            ("-20.000", "120.000"),
            STRICT,
            "2 of 2 transfers accepted, 120 points in all, from a balance of 100.000",
        ),
        # accepted but the source moved by one of them only
        (
            (200, 200),
            30,
            ("100.000", "0.000"),
            ("70.000", "60.000"),
            STRICT,
            "source balance went from 100.000 to 70.000",
        ),
        # the destination did not receive
        (
            (200, 400),
            60,
            ("100.000", "0.000"),
            ("40.000", "0.000"),
            STRICT,
            "destination balance went from 0.000 to 0.000",
        ),
        # refused, yet the source moved
        (
            (400, 400),
            60,
            ("100.000", "0.000"),
            ("40.000", "60.000"),
            STRICT,
            "source balance went from 100.000 to 40.000",
        ),
        # display rounding: lenient allows it, strict does not
        ((200, 400), 60, ("100.0", "0.0"), ("40.04", "60.0"), LENIENT, None),
        (
            (200, 400),
            60,
            ("100.0", "0.0"),
            ("40.04", "60.0"),
            STRICT,
            "source balance went from 100.0 to 40.04",
        ),
    ],
    ids=[
        "one of two",
        "second of two",
        "both fit",
        "none accepted",
        "overdrawn",
        "source short",
        "destination short",
        "refused but moved",
        "rounding lenient",
        "rounding strict",
    ],
)
def test_concurrent_transfers(
    statuses: tuple[int, ...],
    amount: int,
    before: tuple[str, str],
    after: tuple[str, str],
    ctx: CheckContext,
    problem: str | None,
) -> None:
    sent = [transfer_exchange(amount, status) for status in statuses]
    found = compare_concurrent_transfers(
        ctx, transfers=sent, before=balances(*before), after=balances(*after)
    )
    if problem is None:
        assert found == []
        return
    (item,) = found
    assert item.requirement == "XFER-STATE-CONSERVE"
    assert problem in item.actual
    accepted = [ex for ex in sent if ex.response.status == 200]
    assert item.exchange is (accepted[0] if accepted else sent[0])


def test_concurrent_transfers_without_a_known_amount_are_not_judged() -> None:
    unknown = make_exchange("transferPoints", {"data": [{"transferId": 7}]}, request_body={})
    found = compare_concurrent_transfers(
        STRICT,
        transfers=[unknown],
        before=balances("100.000", "0.000"),
        after=balances("0.000", "0.000"),
    )
    assert found == []


def test_concurrent_transfer_amount_falls_back_to_the_answer() -> None:
    answered = make_exchange(
        "transferPoints", {"data": [{"pointsTransferred": 60.0}]}, request_body={}
    )
    found = compare_concurrent_transfers(
        STRICT,
        transfers=[answered, answered],
        before=balances("100.000", "0.000"),
        after=balances("-20.000", "120.000"),
    )
    assert [f.requirement for f in found] == ["XFER-STATE-CONSERVE"]
    assert "120.0 points in all" in found[0].actual


# --------------------------------------------------------------------------------------------
# check_warning_reversal


REVERSAL_SENT = {
    "redemptionId": "54ZNkA",
    "pointsToBeReversed": 10,
    "identifier": {"type": "mobile", "value": "919740000000"},
}
WARNED = {
    "redemptionId": "54ZNkA",
    "pointsToBeReversed": 10.0,
    "orgId": 100458,
    "identifier": {"type": "mobile", "value": "919740000000"},
    "customerId": 98662653,
    "warnings": [{"code": 902, "message": "Invalid redemption id"}],
}
OLD = [credit_entry(2, "2024-01-02 10:00:00.0"), credit_entry(1, "2024-01-01 10:00:00.0")]
NEW = credit_entry(3, "2024-01-03 10:00:00.0", "10.00", eventName="PointsRedemptionReversal")


def ledger_page(entries: list[dict[str, Any]]) -> Exchange:
    return make_exchange(LEDGER, ledger_body(entries), params={"limit": 20, "sort": "DESC"})


def reversal(answer: dict[str, Any], status: int = 200) -> Exchange:
    return make_exchange("reversePoints", answer, status=status, request_body=REVERSAL_SENT)


@pytest.mark.parametrize(
    ("answer", "after", "problems"),
    [
        (WARNED, OLD, []),
        ({**WARNED, "pointsReversed": 0}, OLD, []),
        ({**WARNED, "pointsReversed": "0.000"}, OLD, []),
        ({**WARNED, "pointsReversed": None}, OLD, []),
        ({**WARNED, "pointsReversed": 10.0}, OLD, ["pointsReversed 10.0"]),
        ({**WARNED, "pointsReversed": -5}, OLD, ["pointsReversed -5"]),
        (WARNED, [NEW, *OLD], ["new ledger event eventLogId 3"]),
        (
            {**WARNED, "pointsReversed": 10},
            [NEW, *OLD],
            ["pointsReversed 10", "new ledger event eventLogId 3"],
        ),
        # the page moved on by one: the oldest entry dropped off, nothing new
        (WARNED, OLD[:1], []),
    ],
    ids=[
        "nothing",
        "zero",
        "zero string",
        "null",
        "reversed",
        "negative",
        "new entry",
        "both",
        "shorter page",
    ],
)
def test_warning_reversal_reversed_nothing(
    answer: dict[str, Any], after: list[dict[str, Any]], problems: list[str]
) -> None:
    requirements = ["PTS-WARN-901", "PTS-WARN-902"]
    ex = reversal(answer)
    got, found = credited_by(
        lambda: check_warning_reversal(
            STRICT,
            reversal=ex,
            before=ledger_page(OLD),
            after=ledger_page(after),
            requirements=requirements,
        )
    )
    # Only the requirement of the code the answer warned with (902) is judged.
    assert got == {"PTS-WARN-902"}
    if not problems:
        assert found == []
        return
    assert [f.requirement for f in found] == ["PTS-WARN-902"]
    for item in found:
        assert item.exchange is ex
        assert all(p in item.actual for p in problems)


@pytest.mark.parametrize(
    ("status", "requirements"),
    [(400, ["PTS-WARN-902"]), (200, [])],
    ids=["refused", "no requirements"],
)
def test_warning_reversal_not_judged(status: int, requirements: list[str]) -> None:
    answer = {**WARNED, "pointsReversed": 10} if status == 200 else ERROR_ENVELOPE
    got, found = credited_by(
        lambda: check_warning_reversal(
            STRICT,
            reversal=reversal(answer, status),
            before=ledger_page(OLD),
            after=ledger_page([NEW, *OLD]),
            requirements=requirements,
        )
    )
    assert found == [] and got == set()


@pytest.mark.parametrize(
    ("answer", "before", "after"),
    [
        # A 2xx without the warning is an accepted reversal: expect_error judges that.
        ({**WARNED, "warnings": []}, None, None),
        # An unreadable ledger on either side leaves nothing to compare.
        (WARNED, make_exchange(LEDGER, text="busy", status=503), None),
        (WARNED, None, make_exchange(LEDGER, text="<html>", status=200)),
    ],
    ids=["no warning", "before unreadable", "after unreadable"],
)
def test_warning_reversal_needs_the_warning_and_both_ledgers(
    answer: dict[str, Any], before: Exchange | None, after: Exchange | None
) -> None:
    got, found = credited_by(
        lambda: check_warning_reversal(
            STRICT,
            reversal=reversal({**answer, "pointsReversed": 10}),
            before=before or ledger_page(OLD),
            after=after or ledger_page([NEW, *OLD]),
            requirements=["PTS-WARN-902"],
        )
    )
    assert found == [] and got == set()


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


def test_credits_carry_the_operation_of_the_answer() -> None:
    with crediting() as credited:
        run_checks(STRICT, make_exchange(CORG, ledger_body(OLD)))
        check_warning_reversal(
            STRICT,
            reversal=reversal(WARNED),
            before=ledger_page(OLD),
            after=ledger_page(OLD),
            requirements=["PTS-WARN-902"],
        )
    assert credited.operations["LEDGER-ARITH-NET"] == {CORG}
    assert credited.operations["PTS-WARN-902"] == {"reversePoints"}


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
