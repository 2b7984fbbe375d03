"""Property-based tests: schemathesis cases generated from the OpenAPI description.

Every operation gets `--fuzz-examples` cases (positive and negative, most of them about the
target's own customers and groups), drawn from `--fuzz-seed`. Each answer is judged by
schemathesis's built-in checks and by every single-exchange rule of the suite; the smallest
failing case is reported per requirement with its curl repro. How many fuzzed requests reached
real data (HTTP 200) goes to the report through `record_fuzz`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from points_conformance.fuzz.fuzzer import Fuzzer
from points_conformance.fuzz.outcomes import OperationStats
from points_conformance.operations import WRITE_OPERATIONS
from points_conformance.plugin.fixtures import FindingsRecorder

pytestmark = pytest.mark.fuzz


def test_fuzz(
    fuzz_operation: str,
    fuzzer: Fuzzer,
    findings: FindingsRecorder,
    request: pytest.FixtureRequest,
    record_fuzz: Callable[[str, OperationStats], None],
) -> None:
    if fuzz_operation in WRITE_OPERATIONS:
        request.getfixturevalue("writes_allowed")
    outcome = fuzzer.run(fuzz_operation)
    record_fuzz(fuzz_operation, outcome.stats)
    print(outcome.summary())
    findings.add(outcome.findings)
    if outcome.transport is not None:
        raise outcome.transport
