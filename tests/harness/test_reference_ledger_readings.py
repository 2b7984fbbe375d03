"""The reference ledger's reading switches (D-067, D-068, D-070) against its strict answers.

The strict server's whole unfiltered walk of the rich customer is the oracle, as in
test_reference_ledger.py; each switch must change only what its register entry leaves open.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from points_conformance.reference.behaviour import Behaviour
from points_conformance.reference.store import Store
from points_conformance.reference.testing import app_client, build_template, fresh_store

from .test_reference_ledger import LEDGER, customer_params, ok, walk


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    template = build_template(tmp_path_factory.mktemp("ledger-readings-template"))
    s = fresh_store(template, tmp_path_factory.mktemp("ledger-readings") / "points.db")
    yield s
    s.close()


@pytest.fixture(scope="module")
def info(store: Store) -> dict[str, Any]:
    return store.seed_info()


@pytest.fixture(scope="module")
def rich_all(store: Store, info: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Every event of the rich customer by eventLogId, with every row, from the strict server."""
    return {e["eventLogId"]: e for e in walk(app_client(store), customer_params(info, "rich"), 100)}


def test_filters_keep_other_rows(
    store: Store, info: dict[str, Any], rich_all: dict[int, dict[str, Any]]
) -> None:
    client = app_client(store, Behaviour(ledger_filters_drop_rows=False))
    got = walk(client, customer_params(info, "rich", ledgerEntryType="DEBIT"), 100)
    strict = walk(app_client(store), customer_params(info, "rich", ledgerEntryType="DEBIT"), 100)
    # The same events, each with all its rows (D-067).
    assert [e["eventLogId"] for e in got] == [e["eventLogId"] for e in strict]
    assert all(e["entryDetails"] == rich_all[e["eventLogId"]]["entryDetails"] for e in got)
    assert any(r["ledgerEntryType"] != "DEBIT" for e in got for r in e["entryDetails"])


def test_program_by_source_program(
    store: Store, info: dict[str, Any], rich_all: dict[int, dict[str, Any]]
) -> None:
    program = info["customers"]["rich"]["program_ids"][0]
    client = app_client(store, Behaviour(ledger_program_matches_source=True))
    got = walk(client, customer_params(info, "rich", programId=program), 100)
    expected = [
        i
        for i, e in rich_all.items()
        if e["sourceProgramId"] == program
        or any(r["programId"] == program for r in e["entryDetails"])
    ]
    assert [e["eventLogId"] for e in got] == expected
    for e in got:
        if e["sourceProgramId"] == program:
            assert e["entryDetails"] == rich_all[e["eventLogId"]]["entryDetails"]
    assert any(r["programId"] != program for e in got for r in e["entryDetails"])


def test_total_before_row_filters(
    store: Store, info: dict[str, Any], rich_all: dict[int, dict[str, Any]]
) -> None:
    client = app_client(store, Behaviour(ledger_total_counts_filtered=False))
    params = customer_params(info, "rich", ledgerEntryType="DEBIT", limit=100)
    first = ok(client, LEDGER, params)
    strict = ok(app_client(store), LEDGER, params)
    details = first["ledgerDetails"]
    # Counted before the filter, paged after it (D-070); without a filter nothing changes.
    assert details["totalEntries"] == len(rich_all) > strict["ledgerDetails"]["totalEntries"]
    assert first["ledgerEntries"] == strict["ledgerEntries"]
    last = ok(client, LEDGER, {**params, "offset": details["pageCount"] - 1})
    assert last["ledgerEntries"] == []
    plain = customer_params(info, "rich", limit=100)
    assert ok(client, LEDGER, plain) == ok(app_client(store), LEDGER, plain)
