"""Hands each test's `TestRecord` to the report, and fails a test that recorded findings.

The record travels in `item.user_properties`, which survive pytest-xdist. It is first written
before setup, so that a test skipped by a fixture still names its requirements, and replaced
after the call with everything the test did. A typed skip (`TargetDataMissing`,
`WritesRefused`, the client's `WritesNotAllowed`) adds what it carries to the record. A test
that recorded findings has its failing exchanges re-checked first (`plugin.recheck`), when the
settings ask for re-checks.
"""

from __future__ import annotations

import dataclasses
import unittest
from collections.abc import Generator
from typing import Any

import pytest

from points_conformance.client import ClientStats, WritesNotAllowed
from points_conformance.model import Finding
from points_conformance.pacing import TransportFailure
from points_conformance.plugin.fixtures import (
    CLIENT_KEY,
    FUZZ_KEY,
    RECORDER_KEY,
    FindingsRecorder,
    TargetDataMissing,
    WritesRefused,
)
from points_conformance.plugin.recheck import recheck, recheck_failure
from points_conformance.plugin.requirements import item_requirements, operations_of
from points_conformance.plugin.session import get_settings
from points_conformance.records import RECORD_PROPERTY, FuzzFigures, Recheck, TestRecord
from points_conformance.settings import Settings

_BASELINE_KEY = pytest.StashKey[ClientStats]()


def _stats(config: pytest.Config) -> ClientStats:
    client = config.stash.get(CLIENT_KEY, None)
    return client.stats() if client is not None else ClientStats()


def _skip_facts(skip: BaseException | None) -> dict[str, Any]:
    """The TestRecord fields a typed skip fills (none for any other skip or exception)."""
    if isinstance(skip, TargetDataMissing):
        return {"missing_data": skip.keys}
    if isinstance(skip, WritesRefused | WritesNotAllowed):
        return {"writes_refused": True}
    return {}


def _store(item: pytest.Item, record: TestRecord) -> None:
    item.user_properties[:] = [
        entry for entry in item.user_properties if entry[0] != RECORD_PROPERTY
    ]
    item.user_properties.append(record.user_property())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    ids = item_requirements(item)
    record = TestRecord(requirements=tuple(ids), operations=tuple(operations_of(ids)))
    _store(item, record)
    item.stash[_BASELINE_KEY] = _stats(item.config)
    failure: TransportFailure | None = None
    try:
        yield
    except TransportFailure as exc:
        failure = exc
    except unittest.SkipTest as exc:
        _store(item, dataclasses.replace(record, **_skip_facts(exc)))
        raise
    if failure is not None:
        record = TestRecord(
            requirements=tuple(ids),
            operations=tuple(operations_of(ids)),
            transport_failure=failure.message,
            transport_recheck=_recheck_failure(item, failure),
        )
        _store(item, record)
        pytest.fail(failure.message, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    from points_conformance.checks.registry import crediting  # late: checks load the specs

    recorder = item.stash.get(RECORDER_KEY, None)
    failure: TransportFailure | None = None
    skip: BaseException | None = None
    interrupted = False
    with crediting() as credited:
        try:
            yield
        except TransportFailure as exc:
            failure = exc
        except unittest.SkipTest as exc:
            skip = exc
            raise
        except BaseException as exc:
            interrupted = isinstance(exc, KeyboardInterrupt | SystemExit | pytest.exit.Exception)
            if recorder is not None and recorder.findings:
                item.add_report_section("call", "findings", recorder.failure_message())
            raise
        finally:
            # Rules the checks evaluated on this test's exchanges, named or not by its markers.
            exercised = {rid: tuple(sorted(ops)) for rid, ops in credited.operations.items()}
            rechecks = () if interrupted else _recheck(item, recorder)
            # Before the record is made, so that its request count has the re-sends.
            again = _recheck_failure(item, failure) if failure is not None else None
            record = dataclasses.replace(
                _final_record(item, exercised),
                rechecks=rechecks,
                transport_failure=failure.message if failure is not None else "",
                transport_recheck=again,
                **_skip_facts(skip),
            )
            _store(item, record)
    if failure is not None:
        pytest.fail(failure.message, pytrace=False)
    if recorder is not None and recorder.findings:
        pytest.fail(recorder.failure_message(), pytrace=False)


def _recheck(item: pytest.Item, recorder: FindingsRecorder | None) -> tuple[Recheck, ...]:
    """The test's failing exchanges sent again, as many times as the settings ask."""
    settings = get_settings(item.config)
    client = item.config.stash.get(CLIENT_KEY, None)
    if recorder is None or not recorder.findings or settings is None or client is None:
        return ()
    return recheck(client, recorder.context(), recorder.findings, settings.rechecks)


def _recheck_failure(item: pytest.Item, failure: TransportFailure) -> Recheck | None:
    """The request a timeout, broken connection or 429 ended, sent again as often."""
    settings = get_settings(item.config)
    client = item.config.stash.get(CLIENT_KEY, None)
    if settings is None or client is None:
        return None
    return recheck_failure(client, failure, settings.rechecks)


def _final_record(item: pytest.Item, exercised: dict[str, tuple[str, ...]]) -> TestRecord:
    ids = item_requirements(item)
    recorder = item.stash.get(RECORDER_KEY, None)
    settings = get_settings(item.config)
    findings = [_finding_dict(f, settings) for f in (recorder.findings if recorder else [])]
    before = item.stash.get(_BASELINE_KEY, ClientStats())
    fuzz: list[FuzzFigures] = item.stash.get(FUZZ_KEY, [])
    record = TestRecord(
        requirements=tuple(ids),
        operations=tuple(operations_of(ids)),
        exercised=exercised,
        findings=tuple(findings),
        fuzz=tuple(fuzz),
    )
    client = item.config.stash.get(CLIENT_KEY, None)
    if client is None:
        return record
    after = client.stats()
    return dataclasses.replace(
        record,
        writes=tuple(client.writes[before.writes : after.writes]),
        requests=max(0, after.requests - before.requests),
        throttled=max(0, after.throttled - before.throttled),
        throttle=tuple(client.throttle_events[before.throttled : after.throttled]),
        redirects=tuple(client.redirects[before.redirects : after.redirects]),
        dry_run=tuple(client.planned[before.planned : after.planned]),
    )


def _finding_dict(finding: Finding, settings: Settings | None) -> dict[str, Any]:
    data = finding.to_dict()
    if settings is None or not settings.secrets():
        return data
    redacted: dict[str, Any] = _redact_tree(data, settings)
    return redacted


def _redact_tree(value: Any, settings: Settings) -> Any:
    if isinstance(value, str):
        return settings.redact(value)
    if isinstance(value, dict):
        return {k: _redact_tree(v, settings) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_tree(v, settings) for v in value]
    return value
