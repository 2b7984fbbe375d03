"""Judges recorded exchanges with the suite's own checks, and keeps what a report needs.

Each exchange goes through `checks.run_checks`, the entry point the matrix tests and fuzzing
judge every answer with, so a rule is the same whichever way the traffic came. The pages of a
walk a client made (see `walking`) also go through `checks.walk_pages`, and the exchanges
`pairing` pairs (balances around a write, a repeated reversal) and `ledger_pairing` pairs
(ledgers around a write) through the suite's own rules across exchanges. What the checks
evaluated and found is kept per recording and operation, as one `TestRecord` each, with the
findings capped per requirement (their full count is kept beside): memory stays bounded
however many exchanges a recording holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from points_conformance.checks import CheckContext, run_checks, walk_pages
from points_conformance.checks.registry import crediting, declared, registered_checks
from points_conformance.checks.schema import routes
from points_conformance.har.ledger_pairing import LedgerPair, LedgerPairs, judge_ledger_pair
from points_conformance.har.pairing import Pair, Pairs, judge_pair
from points_conformance.har.walking import Walks
from points_conformance.model import Exchange, Finding
from points_conformance.operations import OPERATIONS
from points_conformance.records import TestRecord
from points_conformance.report.model import MAX_FINDINGS, one_line

WALK_SUFFIX = "page walks"
PAIR_SUFFIX = "balances and repeats"
LEDGER_PAIR_SUFFIX = "ledgers around writes"
# What a judge of traffic can and cannot fail a server on, as its summary and report say it.
SPEAKS_FOR = (
    "judged from traffic: the {n} requirements the single-exchange checks, the page walks and "
    "the pairs can fail (balances and whole ledgers read just before and after a transfer or "
    "reversal, assuming no write outside the traffic touched those customers in between; a "
    "reversal repeated); the others (a transfer's place in the transfer history, and error "
    "codes only the intent of a request decides, such as an unknown customer's) take a run of "
    "the suite"
)
# The rules across exchanges that `pairing` and `ledger_pairing` feed.
PAIR_RULES = (
    "compare_transfer",
    "compare_reversal_balance",
    "check_reversal_twice",
    "check_transfer_ledger",
    "check_reversal_ledger",
)


def traffic_requirements() -> frozenset[str]:
    """The requirements a judge of traffic speaks for: those `run_checks`, `walk_pages` and
    the rules fed pairs can fail. The rest need what only a test knows: what it sent on
    purpose, and what the transfer history held after a write."""
    ids = {rid for entry in registered_checks() for rid in entry.requirements}
    # The schema check files an error under the requirement whose body paths name its place.
    ids |= {entry.requirement for op in OPERATIONS for entry in routes(op)}
    for name in ("walk_pages", *PAIR_RULES):
        ids |= set(declared(name))
    return frozenset(ids)


@dataclass
class _Tally:
    """What the checks did on the exchanges of one recording and operation (or its walks)."""

    operation: str
    # A walk's pages (a pair's exchanges) were each counted as a request where they were
    # judged on their own.
    walk: bool = False
    exchanges: int = 0
    exercised: dict[str, set[str]] = field(default_factory=dict)
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    found: Counter[str] = field(default_factory=Counter)

    def add(self, credited: dict[str, set[str]], findings: Sequence[Finding]) -> None:
        self.exchanges += 1
        for requirement, operations in credited.items():
            self.exercised.setdefault(requirement, set()).update(operations or {self.operation})
        for item in findings:
            self.found[item.requirement] += 1
            kept = self.findings.setdefault(item.requirement, [])
            if len(kept) < MAX_FINDINGS:
                kept.append(item.to_dict())

    def record(self) -> TestRecord:
        return TestRecord(
            operations=(self.operation,),
            exercised={rid: tuple(sorted(ops)) for rid, ops in sorted(self.exercised.items())},
            findings=tuple(f for kept in self.findings.values() for f in kept),
            requests=0 if self.walk else self.exchanges,
        )


@dataclass(frozen=True)
class Phase:
    """One phase of a test as the report's `Collector` reads pytest's reports."""

    nodeid: str
    when: str
    outcome: str
    user_properties: list[tuple[str, Any]]
    longrepr: str = ""
    duration: float = 0.0

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


class Judge:
    """Runs the checks over the exchanges of one or more recordings, one exchange at a time."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.tallies: dict[tuple[str, str], _Tally] = {}
        self.walks = Walks()
        self.walks_judged = 0
        self.pairs = Pairs(strict=ctx.strict)
        self.ledger_pairs = LedgerPairs()
        self.pairs_judged = 0
        self.judged = 0

    def judge(self, source: str, ex: Exchange) -> list[Finding]:
        """Every single-exchange rule on `ex`, then the walk rules on a walk it completed and
        the rules across exchanges on the pairs it completed."""
        with crediting() as credited:
            found = run_checks(self.ctx, ex)
        self._tally(source, ex.operation).add(credited.operations, found)
        self.judged += 1
        for pages in self.walks.add(ex):
            found += self.judge_walk(source, pages)
        for pair in self.pairs.add(ex):
            found += self.judge_pair(source, pair)
        for ledger_pair in self.ledger_pairs.add(ex):
            found += self.judge_ledger_pair(source, ledger_pair)
        return found

    def judge_pair(self, source: str, pair: Pair) -> list[Finding]:
        return self._judge_around(
            source, pair.write, PAIR_SUFFIX, lambda: judge_pair(self.ctx, pair)
        )

    def judge_ledger_pair(self, source: str, pair: LedgerPair) -> list[Finding]:
        return self._judge_around(
            source, pair.write, LEDGER_PAIR_SUFFIX, lambda: judge_ledger_pair(self.ctx, pair)
        )

    def _judge_around(
        self, source: str, write: Exchange, suffix: str, judge: Callable[[], list[Finding]]
    ) -> list[Finding]:
        with crediting() as credited:
            found = judge()
        self._tally(source, write.operation, suffix=suffix).add(credited.operations, found)
        self.pairs_judged += 1
        return found

    def judge_walk(self, source: str, pages: Sequence[Exchange]) -> list[Finding]:
        operation = pages[0].operation
        with crediting() as credited:
            found = walk_pages(self.ctx, pages, operation=operation)
        self._tally(source, operation, suffix=WALK_SUFFIX).add(credited.operations, found)
        self.walks_judged += 1
        return found

    def file_ended(self) -> None:
        """A recording ended: walks still open in it never reached their last page, and a write
        still waiting for its balances or ledgers read after it is not judged."""
        self.walks.close()
        self.pairs.close()
        self.ledger_pairs.close()

    def _tally(self, source: str, operation: str, *, suffix: str = "") -> _Tally:
        key = (source, f"{operation} {suffix}" if suffix else operation)
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = _Tally(operation, bool(suffix))
        return tally

    @property
    def finding_counts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for tally in self.tallies.values():
            total.update(tally.found)
        return total

    def phases(self) -> Iterator[Phase]:
        """The judged exchanges as test phases: one test per recording and operation."""
        for (source, name), tally in sorted(self.tallies.items()):
            nodeid = f"{source}::{name}"
            record = tally.record()
            properties = [record.user_property()]
            count = sum(tally.found.values())
            if count:
                first = next(f for kept in tally.findings.values() for f in kept)
                message = one_line(
                    f"{count} finding{'s' if count != 1 else ''} in {tally.exchanges} "
                    f"exchange{'s' if tally.exchanges != 1 else ''}, first "
                    f"[{first['requirement']}] {first['message']}"
                )
                yield Phase(nodeid, "call", "failed", properties, message)
            else:
                yield Phase(nodeid, "call", "passed", properties)
            yield Phase(nodeid, "teardown", "passed", properties)
