"""The schema check: each error filed under the most specific requirement whose catalogue
`paths` name its place, and the requirements credited by the places a body holds a value at.
"""

from __future__ import annotations

from typing import Any

import pytest

from points_conformance.checks.schema import response_schema
from points_conformance.model import Exchange

from .test_checks_support import (
    CML,
    CORG,
    ERROR_ENVELOPE,
    LEDGER,
    REAL,
    REAL_LENIENT,
    REAL_STRICT,
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
from .test_checks_support import credit as credit_entry

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
