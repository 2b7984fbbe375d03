"""The examples of the pages: extraction, the files on disk, and their fit to the schemas."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from points_conformance import examples as examples_module
from points_conformance.examples import (
    Example,
    IndexEntry,
    differences,
    extract_examples,
    load_index,
)
from points_conformance.settings import specs_dir
from points_conformance.spec import Spec, load_spec

INDEX = load_index()


@pytest.fixture(scope="module")
def extracted() -> list[Example]:
    return extract_examples()


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


def _errors(spec: Spec, entry: IndexEntry, *, strict: bool) -> list[str]:
    body = entry.load()
    if entry.kind == "request":
        found = spec.validate_request_body(entry.operation_id, body, strict=strict)
    else:
        assert entry.status is not None
        found = spec.validate_response(entry.operation_id, entry.status, body, strict=strict)
    return [str(error) for error in found]


# --- extraction and files ---------------------------------------------------------------------


def test_pages_hold_exactly_25_examples(extracted: list[Example]) -> None:
    assert len(extracted) == 25
    per_page = Counter(example.page[:3] for example in extracted)
    assert per_page == {"000": 2, "001": 8, "002": 2, "003": 13}
    assert Counter(example.kind for example in extracted) == {"response": 20, "request": 5}


def test_files_on_disk_equal_what_the_pages_give(extracted: list[Example]) -> None:
    assert differences(extracted, specs_dir() / "examples") == []
    on_disk = {entry.file: entry.load() for entry in INDEX}
    assert on_disk == {example.file: example.body for example in extracted}


def test_index_describes_every_extracted_example(extracted: list[Example]) -> None:
    assert [entry.file for entry in INDEX] == [example.file for example in extracted]
    for entry, example in zip(INDEX, extracted, strict=True):
        assert (entry.page, entry.heading, entry.label, entry.line) == (
            example.page,
            example.heading,
            example.label,
            example.line,
        )
        assert (entry.kind, entry.operation_id, entry.status) == (
            example.kind,
            example.operation_id,
            example.status,
        )
        assert (entry.status is None) == (entry.kind == "request")


def test_provenance_points_at_the_example_in_its_page() -> None:
    docs = specs_dir() / "docs"
    for entry in INDEX:
        lines = (docs / entry.page).read_text(encoding="utf-8").splitlines()
        first = lines[entry.line - 1].strip()
        assert first.startswith("{"), (entry.file, first)
        assert entry.heading in "\n".join(lines[: entry.line]), entry.file


def test_every_operation_has_a_response_example(spec: Spec) -> None:
    covered = {entry.operation_id for entry in INDEX if entry.kind == "response"}
    assert covered == set(spec.operations)
    with_body = {op.operation_id for op in spec.operations.values() if op.request_body_schema}
    assert {entry.operation_id for entry in INDEX if entry.kind == "request"} == with_body


def test_requests_are_paired_with_their_responses() -> None:
    by_file = {entry.file: entry for entry in INDEX}
    pairs = [entry for entry in INDEX if entry.pair is not None]
    assert len(pairs) == 10
    for entry in pairs:
        other = by_file[entry.pair or ""]
        assert other.pair == entry.file
        assert other.operation_id == entry.operation_id
        assert {other.kind, entry.kind} == {"request", "response"}


def test_number_literals_keep_the_digits_the_page_shows() -> None:
    text = (specs_dir() / "examples" / "002-01-getCrossMemberLedger-response.json").read_text(
        encoding="utf-8"
    )
    assert '"groupBalance": 1250.000' in text
    exact = json.loads(text, parse_float=Decimal)
    assert str(exact["groupDetails"]["members"][3]["balance"]) == "90.000"


def test_check_and_write_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "specs"
    shutil.copytree(specs_dir() / "docs", copy / "docs")
    shutil.copytree(specs_dir() / "examples", copy / "examples")
    monkeypatch.setenv("POINTS_CONFORMANCE_SPECS_DIR", str(copy))
    assert examples_module.main(["--check"]) == 0

    target = copy / "examples" / "003-05-reversePoints-request.json"
    target.write_text('{"redemptionId": 1}\n', encoding="utf-8")
    (copy / "examples" / "stray.json").write_text("{}\n", encoding="utf-8")
    assert examples_module.main(["--check"]) == 1

    assert examples_module.main(["--write"]) == 0
    assert not (copy / "examples" / "stray.json").exists()
    assert examples_module.main(["--check"]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["redemptionId"] == "54ZNkA"


def test_a_changed_page_makes_the_files_stale(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(specs_dir() / "docs", docs)
    page = docs / "002_85e51d55da94fd56.txt"
    page.write_text(
        page.read_text(encoding="utf-8").replace('"groupId": 12345', '"groupId": 54321', 1),
        encoding="utf-8",
    )
    changed = extract_examples(docs)
    assert len(changed) == 25
    assert differences(changed, specs_dir() / "examples") == [
        "002-01-getCrossMemberLedger-response.json: differs from the pages"
    ]


# --- schemas ----------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", INDEX, ids=[entry.file for entry in INDEX])
def test_example_is_valid_in_lenient_mode(spec: Spec, entry: IndexEntry) -> None:
    assert _errors(spec, entry, strict=False) == []


def _strict_cases() -> list[Any]:
    cases = []
    for entry in INDEX:
        marks = []
        if entry.expected_deviation is not None:
            reason = f"{entry.expected_deviation.discrepancy}: {entry.expected_deviation.reason}"
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        cases.append(pytest.param(entry, marks=marks, id=entry.file))
    return cases


@pytest.mark.parametrize("entry", _strict_cases())
def test_example_is_valid_in_strict_mode(spec: Spec, entry: IndexEntry) -> None:
    assert _errors(spec, entry, strict=True) == []


# Where in a body each recorded strict deviation shows; any other strict error is unexplained.
_DEVIATION_PATHS = {
    "D-015": re.compile(r"^\$\.ledgerEntries\[\d+\]\.customerDetails: "),
    "D-022": re.compile(r"^\$\.pointsTobeTransferred: "),
}


def test_expected_deviations_fail_only_where_they_say(spec: Spec) -> None:
    deviating = [entry for entry in INDEX if entry.expected_deviation is not None]
    assert {
        entry.expected_deviation.discrepancy for entry in deviating if entry.expected_deviation
    } == set(_DEVIATION_PATHS)
    for entry in deviating:
        assert entry.expected_deviation is not None
        pattern = _DEVIATION_PATHS[entry.expected_deviation.discrepancy]
        errors = _errors(spec, entry, strict=True)
        assert errors, entry.file
        for error in errors:
            assert pattern.match(error), (entry.file, error)


def test_customer_ledgers_with_user_id_zero_are_the_d015_deviations() -> None:
    for entry in INDEX:
        if not entry.operation_id.startswith("getCustomerLedgerInfo"):
            continue
        body = entry.load()
        customer = body.get("customerDetails", {}).get("entityType") == "CUSTOMER"
        objects = [e for e in body["ledgerEntries"] if isinstance(e.get("customerDetails"), dict)]
        recorded = entry.expected_deviation
        assert (customer and bool(objects)) == (recorded is not None), entry.file
        if recorded is not None:
            assert recorded.discrepancy == "D-015"


def test_deviations_name_register_ids() -> None:
    for entry in INDEX:
        for deviation in (entry.expected_deviation, entry.arithmetic_deviation):
            if deviation is not None:
                assert deviation.discrepancy.startswith("D-0")
                assert len(deviation.discrepancy) == 5
                assert deviation.reason


# --- the relations the arithmetic deviations are about ----------------------------------------


def _ledger_net_mismatches(body: Any) -> list[int]:
    """Events whose netPointsOnEvent is not exactly credits and openings minus debits."""
    wrong = []
    for entry in body.get("ledgerEntries", []):
        net = Decimal(0)
        for row in entry["entryDetails"]:
            if "alternateCurrencyName" in row:
                continue
            sign = -1 if row["ledgerEntryType"] == "DEBIT" else 1
            net += sign * Decimal(row["points"])
        if net != Decimal(entry["netPointsOnEvent"]):
            wrong.append(entry["eventLogId"])
    return wrong


@pytest.mark.parametrize(
    "entry",
    [e for e in INDEX if e.operation_id.startswith("getCustomerLedgerInfo")],
    ids=lambda e: e.file,
)
def test_ledger_net_mismatch_is_recorded(entry: IndexEntry) -> None:
    mismatches = _ledger_net_mismatches(entry.load())
    recorded = entry.arithmetic_deviation
    if mismatches:
        assert recorded is not None, f"events {mismatches} do not add up"
        assert recorded.discrepancy in ("D-011", "D-045")
    else:
        assert recorded is None or recorded.discrepancy not in ("D-011", "D-045")


def test_the_003_ledger_example_is_off_by_0_08() -> None:
    entry = next(e for e in INDEX if e.file == "003-13-getCustomerLedgerInfo-response.json")
    assert entry.arithmetic_deviation is not None
    assert entry.arithmetic_deviation.discrepancy == "D-011"
    assert _ledger_net_mismatches(entry.load()) == [30405652]


_AMOUNTS = {
    "isTransferrable": ("pointsTobeTransferred", "pointsTobeTransferred"),
    "isTransferrableUserGroup": ("pointsTobeTransferred", "pointsTobeTransferred"),
    "transferPoints": ("pointsTobeTransferred", "pointsTransferred"),
    "transferPointsUserGroup": ("pointsTobeTransferred", "pointsTransferred"),
    "reversePoints": ("pointsToBeReversed", "pointsToBeReversed"),
}


@pytest.mark.parametrize(
    "entry", [e for e in INDEX if e.kind == "response" and e.pair], ids=lambda e: e.file
)
def test_response_amount_differs_from_request_only_where_recorded(entry: IndexEntry) -> None:
    request = next(e for e in INDEX if e.file == entry.pair).load()
    response = entry.load()
    asked, answered = _AMOUNTS[entry.operation_id]
    given = response["data"][0][answered] if "data" in response else response[answered]
    if given == request[asked]:
        assert entry.arithmetic_deviation is None
    else:
        assert entry.arithmetic_deviation is not None
        assert entry.arithmetic_deviation.discrepancy in ("D-019", "D-022", "D-023")


def _pagination_short(body: Any) -> bool:
    details = body.get("ledgerDetails")
    if not details:
        return False
    rows = body.get("ledgerEntries", details.get("ledgerClosingBalance", []))
    expected = min(
        details["pageSize"],
        max(0, details["totalEntries"] - details["pageNumber"] * details["pageSize"]),
    )
    return bool(len(rows) != expected)


def test_short_pages_are_recorded() -> None:
    short = [entry.file for entry in INDEX if _pagination_short(entry.load())]
    assert short == [
        "003-12-getCustomerLedgerBalance-response.json",
        "003-13-getCustomerLedgerInfo-response.json",
    ]
    for entry in INDEX:
        if entry.file in short:
            deviation = entry.arithmetic_deviation
            assert (
                deviation is not None and "D-046" in f"{deviation.discrepancy} {deviation.reason}"
            )
