"""Running the fuzzer: one operation at a time, on the run's seed and budget, and single steps.

`Fuzzer.run` spends `Settings.fuzz_examples` cases on an operation (three quarters positive, a
quarter negative), each generation mode seeded from `Settings.fuzz_seed` and the operation, and
lets hypothesis shrink a failing case to the smallest; `Fuzzer.step` sends one explicit case and
judges it the same way, for the stateful workflows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok

from points_conformance.checks import CheckContext
from points_conformance.client import ConformanceClient
from points_conformance.fuzz.client_adapter import ClientAdapter
from points_conformance.fuzz.exchanges import exchange_of
from points_conformance.fuzz.judging import DomainFindings, findings_of
from points_conformance.fuzz.known_data import KnownData
from points_conformance.fuzz.outcomes import FuzzOutcome, OperationStats, Step
from points_conformance.fuzz.schema import load_schema
from points_conformance.model import Finding
from points_conformance.operations import WRITE_OPERATIONS
from points_conformance.pacing import TransportFailure
from points_conformance.redaction import MASK
from points_conformance.settings import Settings

# Percentage of the budget generated positive (the rest negative).
POSITIVE_SHARE = 75


def operation_seed(seed: int, operation_id: str) -> int:
    """A seed per operation, so that each test draws the same cases wherever it runs."""
    digest = hashlib.sha256(f"{seed}:{operation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class _ExampleFailed(Exception):
    """Raised inside hypothesis so that it shrinks the case; carries nothing itself."""


@dataclass
class _RunState:
    failing: list[Finding] = field(default_factory=list)
    broken: TransportFailure | None = None
    accepted: tuple[Case[Any], schemathesis.Response] | None = None


def load_local_modules() -> None:
    """Import every module of the package.

    hypothesis also draws constants found in the source of the project's modules loaded so
    far; with all of them loaded, the cases of a seed no longer depend on which tests happened
    to run earlier in the same process.
    """
    import points_conformance

    for module in pkgutil.walk_packages(points_conformance.__path__, "points_conformance."):
        importlib.import_module(module.name)


class Fuzzer:
    """Fuzzes one operation at a time against the target of `settings`, through `client`."""

    def __init__(
        self,
        settings: Settings,
        client: ConformanceClient,
        ctx: CheckContext,
        *,
        known: bool = True,
    ) -> None:
        load_local_modules()
        self.settings = settings
        self.client = client
        self.known = KnownData(settings.target_data) if known else None
        self.schema = load_schema(settings, ctx, self.known)
        self.operations: dict[str, schemathesis.APIOperation[Any, Any, Any, Any]] = {}
        for result in self.schema.get_all_operations():
            if not isinstance(result, Ok):
                raise result.err()
            operation = result.ok()
            raw = operation.definition.raw
            self.operations[str(raw.get("operationId"))] = operation
        self.adapter = ClientAdapter(client)
        self.session = requests.Session()
        # Every case goes out through the adapter, which takes no proxy or CA bundle; nor may
        # ~/.netrc give credentials to a case sent without them. Not reading the environment
        # for each case also spares a few percent of a case's time.
        self.session.trust_env = False
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)

    def close(self) -> None:
        self.session.close()

    def strategy(self, operation_id: str, mode: GenerationMode) -> st.SearchStrategy[Case[Any]]:
        """Cases of one operation in one generation mode, with known data laid over most."""
        strategy: st.SearchStrategy[Case[Any]] = self.operations[operation_id].as_strategy(
            generation_mode=mode
        )
        return strategy

    def budget(self) -> list[tuple[GenerationMode, int]]:
        """Examples per generation mode: `fuzz_examples` in all, a quarter of them negative."""
        total = self.settings.fuzz_examples
        negative = total * (100 - POSITIVE_SHARE) // 100
        return [(GenerationMode.POSITIVE, total - negative), (GenerationMode.NEGATIVE, negative)]

    def call(self, operation_id: str, case: Case[Any]) -> schemathesis.Response:
        """Send one case through the shared client."""
        self.adapter.operation = operation_id
        self.adapter.credentials = not self.schema.is_security_param_negated(case)
        return case.call(
            base_url=self.settings.base_url, session=self.session, allow_redirects=False
        )

    def step(
        self,
        operation_id: str,
        *,
        query: dict[str, Any] | None = None,
        path_parameters: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        body: Any = NOT_SET,
    ) -> Step:
        """Send one explicit case of an operation and judge its answer like a fuzzed one."""
        operation = self.operations[operation_id]
        case = operation.Case(
            query=query, path_parameters=path_parameters, headers=headers, body=body
        )
        response = self.call(operation_id, case)
        return Step(exchange_of(case, response), self.judge(case, response))

    def judge(self, case: Case[Any], response: schemathesis.Response) -> list[Finding]:
        """Findings of every check, built-in and the suite's, but ignored_auth (see `run`) and,
        outside --conformance-strict, schemathesis' media-type check (no page states one, D-096)."""
        excluded = [schemathesis.checks.ignored_auth]
        if not self.settings.strict:
            excluded.append(schemathesis.checks.content_type_conformance)
        try:
            case.validate_response(
                response,
                excluded_checks=excluded,
                transport_kwargs={"base_url": self.settings.base_url},
            )
        except FailureGroup as group:
            return findings_of(group.exceptions, case, response, strict=self.settings.strict)
        except (Failure, DomainFindings) as failure:
            return findings_of([failure], case, response, strict=self.settings.strict)
        return []

    def check_auth(self, case: Case[Any], response: schemathesis.Response) -> list[Finding]:
        """schemathesis's ignored_auth once per operation: the same request without and with
        wrong credentials must not be answered like the accepted one."""
        try:
            case.validate_response(
                response,
                checks=[schemathesis.checks.ignored_auth],
                headers={"Authorization": MASK},
                transport_kwargs={"base_url": self.settings.base_url},
            )
        except FailureGroup as group:
            return findings_of(group.exceptions, case, response, strict=self.settings.strict)
        except Failure as failure:
            return findings_of([failure], case, response, strict=self.settings.strict)
        return []

    def run(self, operation_id: str) -> FuzzOutcome:
        """Fuzz one operation with the run's seed and budget; the smallest failing case of each
        generation mode is reported."""
        seed = self.settings.fuzz_seed
        outcome = FuzzOutcome(
            operation_id, OperationStats(), seed=seed, examples=self.settings.fuzz_examples
        )
        found: list[Finding] = []
        accepted: tuple[Case[Any], schemathesis.Response] | None = None
        for mode, examples in self.budget():
            if examples <= 0 or outcome.transport is not None:
                continue
            state = self._run_mode(operation_id, mode, examples, outcome.stats)
            found += state.failing
            outcome.transport = state.broken
            accepted = accepted or state.accepted
        # The probes of ignored_auth repeat the request outside the shared client, which must
        # see every write; negative cases without credentials still cover the writes.
        probe = operation_id not in WRITE_OPERATIONS and outcome.transport is None
        if accepted is not None and probe:
            found += self.check_auth(*accepted)
        note = f" (fuzz seed {seed}, --fuzz-seed)"
        outcome.findings = [dataclasses.replace(f, message=f.message + note) for f in found]
        return outcome

    def _run_mode(
        self, operation_id: str, mode: GenerationMode, examples: int, stats: OperationStats
    ) -> _RunState:
        state = _RunState()

        @hypothesis.settings(
            max_examples=examples,
            database=None,
            deadline=None,
            derandomize=False,
            print_blob=False,
            report_multiple_bugs=False,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=(hypothesis.Phase.generate, hypothesis.Phase.shrink),
            verbosity=hypothesis.Verbosity.quiet,
        )
        @hypothesis.seed(operation_seed(self.settings.fuzz_seed, f"{operation_id}:{mode.value}"))
        @hypothesis.given(case=self.strategy(operation_id, mode))
        def example(case: Case[Any]) -> None:
            if state.broken is not None:
                # The target stopped answering: shrink without sending anything more.
                raise state.broken
            try:
                response = self.call(operation_id, case)
            except TransportFailure as exc:
                state.broken = exc
                raise
            stats.record(response.status_code)
            found = self.judge(case, response)
            if found:
                state.failing = found
                raise _ExampleFailed()
            if state.accepted is None and 200 <= response.status_code < 300:
                state.accepted = (case, response)

        try:
            example()
        except TransportFailure:
            pass
        except Exception:
            if not state.failing:
                raise
        return state
