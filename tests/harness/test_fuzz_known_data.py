"""The fuzzer against the reference server: it reaches real data, and a seed fixes its requests.

With the default seed and budget, more than half of the fuzzed requests of every ledger
operation are answered 200 (the known customers, groups and members the target file lists are
laid over the generated cases), no operation finds anything to report on a conforming server,
and running again with the same seed sends exactly the same requests.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from points_conformance.checks.context import context_for
from points_conformance.client import ConformanceClient
from points_conformance.embedded import EmbeddedServer, start_embedded
from points_conformance.fuzz.fuzzer import Fuzzer
from points_conformance.fuzz.outcomes import FuzzOutcome
from points_conformance.settings import Settings, resolve_settings

LEDGER_OPERATIONS = (
    "getCustomerLedgerInfo",
    "getCustomerLedgerInfoConnectedOrgs",
    "getCrossMemberLedger",
    "getCustomerLedgerBalance",
)


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    with start_embedded() as running:
        yield running


def settings_for(server: EmbeddedServer, **changes: Any) -> Settings:
    settings = resolve_settings({}, {}).with_embedded(
        base_url=server.url,
        username=server.username,
        password=server.password,
        target_data=server.target_data,
        target_file=server.target_file,
    )
    return dataclasses.replace(settings, **changes)


@dataclass
class Recorded:
    outcome: FuzzOutcome
    requests: list[str] = field(default_factory=list)


def fuzz(settings: Settings, operation: str) -> Recorded:
    """One operation's fuzz run, with every request it sent (method, URL and body)."""
    client = ConformanceClient(settings)
    fuzzer = Fuzzer(settings, client, context_for(settings))
    sent: list[str] = []
    original = fuzzer.call

    def call(operation_id: str, case: Any) -> Any:
        response = original(operation_id, case)
        request = response.request
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        sent.append(json.dumps([request.method, request.url, body]))
        return response

    fuzzer.call = call  # type: ignore[method-assign]
    try:
        return Recorded(fuzzer.run(operation), sent)
    finally:
        fuzzer.close()
        client.close()


@pytest.fixture(scope="module")
def ledger_runs(server: EmbeddedServer) -> dict[str, Recorded]:
    settings = settings_for(server)
    return {operation: fuzz(settings, operation) for operation in LEDGER_OPERATIONS}


@pytest.mark.parametrize("operation", LEDGER_OPERATIONS)
def test_most_fuzzed_ledger_requests_reach_a_real_ledger(
    ledger_runs: dict[str, Recorded], operation: str
) -> None:
    outcome = ledger_runs[operation].outcome
    assert outcome.examples == Settings().fuzz_examples
    assert outcome.stats.requests >= outcome.examples
    assert outcome.stats.answered_200 * 2 > outcome.stats.requests, outcome.summary()


@pytest.mark.parametrize("operation", LEDGER_OPERATIONS)
def test_some_but_not_all_fuzzed_requests_are_answered_200(
    ledger_runs: dict[str, Recorded], operation: str
) -> None:
    stats = ledger_runs[operation].outcome.stats
    assert stats.answered_200 == stats.statuses[200]
    assert 0 < stats.answered_200 < stats.requests


@pytest.mark.parametrize("operation", LEDGER_OPERATIONS)
def test_a_conforming_server_gives_the_fuzzer_nothing_to_report(
    ledger_runs: dict[str, Recorded], operation: str
) -> None:
    outcome = ledger_runs[operation].outcome
    assert outcome.transport is None
    assert [f.summary() for f in outcome.findings] == []


def test_the_same_seed_sends_the_same_requests(server: EmbeddedServer) -> None:
    operation = "getCustomerLedgerInfo"
    first = fuzz(settings_for(server, fuzz_examples=10), operation)
    again = fuzz(settings_for(server, fuzz_examples=10), operation)
    assert again.requests == first.requests
    other = fuzz(settings_for(server, fuzz_examples=10, fuzz_seed=1), operation)
    assert other.requests != first.requests


def test_the_budget_bounds_the_requests(server: EmbeddedServer) -> None:
    recorded = fuzz(settings_for(server, fuzz_examples=5), "getCustomerLedgerBalance")
    assert recorded.outcome.stats.requests == len(recorded.requests) == 5
