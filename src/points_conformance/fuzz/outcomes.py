"""What fuzzing leaves behind: an operation's figures and findings, and a workflow's steps.

`FuzzOutcome.as_property` is the test's `pc_fuzz` user property, in the shape the report
collector documents: `{"operation", "requests", "answered_200", "statuses"}`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from points_conformance.client import TransportFailure
from points_conformance.model import Exchange, Finding


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

    def as_property(self) -> dict[str, Any]:
        """The `pc_fuzz` user property of the test that ran this operation."""
        return {
            "operation": self.operation,
            "requests": self.stats.requests,
            "answered_200": self.stats.answered_200,
            "statuses": {str(k): v for k, v in sorted(self.stats.statuses.items())},
        }


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
