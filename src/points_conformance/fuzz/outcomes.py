"""What fuzzing leaves behind: an operation's figures and findings, and a workflow's steps.

The fuzz test hands `OperationStats` to the plugin's `record_fuzz`, which puts them in the test's
`TestRecord` (requests, answered_200, statuses).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from points_conformance.model import Exchange, Finding
from points_conformance.pacing import TransportFailure


@dataclass
class OperationStats:
    """How the target answered the fuzzed requests of one operation."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def record(self, status: int) -> None:
        self.requests += 1
        self.statuses[status] += 1

    @property
    def answered_200(self) -> int:
        return self.statuses[200]


@dataclass
class FuzzOutcome:
    """One operation's fuzz run: the figures, and the findings of the smallest failing case."""

    operation: str
    stats: OperationStats
    findings: list[Finding] = field(default_factory=list)
    transport: TransportFailure | None = None
    seed: int = 0
    examples: int = 0

    def summary(self) -> str:
        return (
            f"fuzz {self.operation}: seed {self.seed} (--fuzz-seed), {self.examples} examples "
            f"(--fuzz-examples), {self.stats.requests} requests, "
            f"{self.stats.answered_200} answered 200"
        )


@dataclass
class Step:
    """One request of a workflow: what was exchanged, and what the checks found in it."""

    exchange: Exchange
    findings: list[Finding]

    @property
    def status(self) -> int:
        return self.exchange.response.status

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next(
            (v for k, v in self.exchange.response.headers.items() if k.lower() == low), None
        )
