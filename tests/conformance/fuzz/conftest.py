"""Fixtures of the property-based tests: one `Fuzzer` per worker, on the run's settings.

Each operation is its own test (so pytest-xdist spreads them over the workers), named by its
operationId and marked with the requirements fuzzing is evidence for; the write operations are
also marked `writes`, and `touches` with what the known data lays over their cases
(`points_conformance.fuzz.known_data`), which under pytest-xdist they hold alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from points_conformance.checks import CheckContext
from points_conformance.client import ConformanceClient
from points_conformance.fuzz.fuzzer import Fuzzer
from points_conformance.fuzz.requirements import fuzz_requirements
from points_conformance.operations import OPERATIONS, WRITE_OPERATIONS
from points_conformance.plugin.session import get_settings
from points_conformance.settings import Settings

# What the fed cases of each write operation name (KnownData): the scratch pairs of customer
# transfers, the transfer pair of group transfers, the redeemer of reversals.
FUZZ_TOUCHES = {
    "transferPoints": ("transfer.pair_ids",),
    "transferPointsUserGroup": ("customers.transfer_from", "customers.transfer_to"),
    "reversePoints": ("redemptions",),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fuzz_operation" not in metafunc.fixturenames:
        return
    settings = get_settings(metafunc.config)
    strict = settings.strict if settings is not None else False
    params = []
    for operation in OPERATIONS:
        marks: list[pytest.MarkDecorator] = [
            pytest.mark.requirement(*fuzz_requirements(operation, strict=strict))
        ]
        if operation in WRITE_OPERATIONS:
            marks += [pytest.mark.writes, pytest.mark.touches(*FUZZ_TOUCHES[operation])]
        params.append(pytest.param(operation, marks=marks, id=operation))
    metafunc.parametrize("fuzz_operation", params)


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = get_settings(config)
    if settings is None:
        return None
    return (
        f"points-conformance fuzzing: seed {settings.fuzz_seed} (--fuzz-seed), "
        f"{settings.fuzz_examples} examples per operation (--fuzz-examples)"
    )


@pytest.fixture(scope="session")
def fuzzer(
    settings: Settings, client: ConformanceClient, check_context: CheckContext
) -> Iterator[Fuzzer]:
    """The fuzzer of this worker: the run's schema, seed, budget, client and check context."""
    instance = Fuzzer(settings, client, check_context)
    try:
        yield instance
    finally:
        instance.close()
