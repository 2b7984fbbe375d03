"""Body places as the catalogue's `paths` name them (`bodypaths`): parsing, matching, presence,
specificity and the routing of an error to the most specific requirement.
"""

from __future__ import annotations

from typing import Any

import pytest

from points_conformance.bodypaths import PathPattern, Place, Route, route
from points_conformance.checks import schema as schema_check

from .test_checks_support import CML, LEDGER

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
