"""Each relaxation of the default OpenAPI reading, proved both ways on the pages' examples.

For every place where the pages are silent (D-099..D-105, D-037), the other reasonable answer
passes the default reading and fails the strict one; where a page is plain, a violating answer
still fails the default reading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from points_conformance.examples import load_index
from points_conformance.spec import Spec, load_spec

Edit = Callable[[Any], None]


def _example(prefix: str) -> Any:
    return next(e for e in load_index() if e.file.startswith(prefix)).load()


def _set(path: tuple[Any, ...], value: Any) -> Edit:
    def edit(body: Any) -> None:
        for key in path[:-1]:
            body = body[key]
        body[path[-1]] = value

    return edit


def _drop(path: tuple[Any, ...]) -> Edit:
    def edit(body: Any) -> None:
        for key in path[:-1]:
            body = body[key]
        del body[path[-1]]

    return edit


def _group_without_user_id(body: Any) -> None:
    body["customerDetails"]["entityType"] = "USERGROUP2"
    del body["customerDetails"]["userId"]
    for entry in body["ledgerEntries"]:
        entry["customerDetails"] = None


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


def _errors(spec: Spec, prefix: str, edit: Edit, *, strict: bool) -> list[str]:
    entry = next(e for e in load_index() if e.file.startswith(prefix))
    body = entry.load()
    edit(body)
    if entry.kind == "request":
        found = spec.validate_request_body(entry.operation_id, body, strict=strict)
    else:
        assert entry.status is not None
        found = spec.validate_response(entry.operation_id, entry.status, body, strict=strict)
    return [e.json_path for e in found]


# (register entry, example, edit, where the strict reading fails it)
OTHER_READINGS: list[tuple[str, str, Edit, str]] = [
    ("D-099", "001-01", _set(("warnings",), ["limit capped"]), "$.warnings[0]"),
    ("D-099", "001-01", _set(("warnings",), {}), "$.warnings"),
    ("D-099", "003-06", _set(("warnings",), ["pending events"]), "$.warnings[0]"),
    ("D-101", "001-03", _group_without_user_id, "$.customerDetails"),
    (
        "D-102",
        "002-01",
        _set(("entries", 0, "transactionRef"), None),
        "$.entries[0].transactionRef",
    ),
    ("D-102", "002-01", _drop(("entries", 0, "transactionRef")), "$.entries[0]"),
    ("D-103", "003-02", _set(("data",), []), "$.data"),
    ("D-103", "003-02", _drop(("data", 0, "pointsTobeTransferred")), "$.data[0]"),
    (
        "D-103",
        "003-02",
        _set(("data", 0, "pointsTobeTransferred"), "10.000"),
        "$.data[0].pointsTobeTransferred",
    ),
    ("D-103", "003-08", _drop(("data", 0, "transferType")), "$.data[0]"),
    (
        "D-103",
        "003-08",
        _set(("data", 0, "pointsTransferred"), "15.0"),
        "$.data[0].pointsTransferred",
    ),
    ("D-103", "003-11", _set(("data", 0, "transferId"), "100"), "$.data[0].transferId"),
    ("D-103", "003-11", _drop(("data",)), "$"),
    ("D-103", "003-06", _set(("reversalId",), 5012), "$.reversalId"),
    ("D-103", "003-06", _drop(("pointsReversed",)), "$"),
    (
        "D-104",
        "003-08",
        _set(("data", 0, "pointsTransferDate"), "2021-07-16 15:53:42.120"),
        "$.data[0].pointsTransferDate",
    ),
    (
        "D-104",
        "003-11",
        _set(("data", 0, "pointsTransferDate"), "2021-10-07T16:36:12+05:30"),
        "$.data[0].pointsTransferDate",
    ),
    (
        "D-105",
        "002-01",
        _set(("entries", 0, "createdDateISO"), "2026-04-01T10:30:00"),
        "$.entries[0].createdDateISO",
    ),
    ("D-037", "003-09", _drop(("pointsTobeTransferred",)), "$"),
]


@pytest.mark.parametrize(
    ("discrepancy", "prefix", "edit", "strict_path"),
    OTHER_READINGS,
    ids=[f"{row[0]}-{row[1]}-{row[3]}" for row in OTHER_READINGS],
)
def test_the_other_reading_passes_default_and_fails_strict(
    spec: Spec, discrepancy: str, prefix: str, edit: Edit, strict_path: str
) -> None:
    assert _errors(spec, prefix, edit, strict=False) == []
    assert strict_path in _errors(spec, prefix, edit, strict=True)


# (example, edit, where the default reading fails it): what the pages do state.
PLAIN: list[tuple[str, Edit, str]] = [
    ("001-03", _drop(("customerDetails", "entityType")), "$.customerDetails"),
    ("001-03", _set(("customerDetails", "userId"), "abc"), "$.customerDetails.userId"),
    ("002-01", _set(("entries", 0, "transactionRef"), 882291), "$.entries[0].transactionRef"),
    ("002-01", _set(("entries", 0, "createdDateISO"), "01/04/2026"), "$.entries[0].createdDateISO"),
    (
        "003-08",
        _set(("data", 0, "pointsTransferDate"), "16/07/2021"),
        "$.data[0].pointsTransferDate",
    ),
    ("003-08", _set(("data", 0, "pointsTransferred"), "many"), "$.data[0].pointsTransferred"),
    ("003-06", _set(("reversalId",), {"id": 1}), "$.reversalId"),
    ("003-02", _set(("data",), {"transferrable": True}), "$.data"),
    ("003-09", _set(("pointsTobeTransferred",), 0), "$.pointsTobeTransferred"),
    ("003-09", _drop(("toEntity",)), "$"),
]


@pytest.mark.parametrize(
    ("prefix", "edit", "default_path"), PLAIN, ids=[f"{row[0]}-{row[2]}" for row in PLAIN]
)
def test_what_a_page_states_still_fails_the_default_reading(
    spec: Spec, prefix: str, edit: Edit, default_path: str
) -> None:
    assert default_path in _errors(spec, prefix, edit, strict=False)


def test_the_examples_pass_both_readings_where_no_deviation_is_recorded(spec: Spec) -> None:
    for prefix in ("002-01", "003-02", "003-06", "003-08", "003-11"):
        for strict in (False, True):
            assert _errors(spec, prefix, lambda body: None, strict=strict) == [], prefix


def test_ids_of_003_answers_may_be_strings_by_default(spec: Spec) -> None:
    def edit(body: Any) -> None:
        body["data"][0]["transferredTo"]["userId"] = "29393012"
        body["data"][0]["toEntityId"] = "29393012"

    assert _errors(spec, "003-10", edit, strict=False) == []
    assert sorted(_errors(spec, "003-10", edit, strict=True)) == [
        "$.data[0].toEntityId",
        "$.data[0].transferredTo.userId",
    ]
