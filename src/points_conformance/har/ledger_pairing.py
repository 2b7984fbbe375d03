"""Finds, among recorded exchanges, a customer's ledger read before and after a transfer or
reversal, for the rules that say a write shows in the ledger.

A ledger pair is a customer's ledger read last before a transfer or reversal naming that
customer, the write, and the first read after it of the same ledger query, with no other write
in between: `check_transfer_ledger` and `check_reversal_ledger` judge it as the suite's tests
call them. A read is a complete walk over the pages of one getCustomerLedgerInfo query (see
`walking`; a page whose pageCount is 1 is one) with no filter: no till, store, program, date
range, entry or category type, currency, nor the user-group form. A walk a write interrupts
reads neither before nor after it. A customer is the same as `pairing` says (the identifier
the query names, or the userId its answer shows), and `pairing`'s assumptions hold: no write
outside the recording touched those customers between the two reads, and exchanges come in
the order they happened.

Memory stays bounded: the walks open (`walking.MAX_OPEN`), the reads since the last write (at
most `MAX_READS` customers) and the last write are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from points_conformance.checks.context import CheckContext
from points_conformance.checks.readers import is_success, param
from points_conformance.checks.registry import credit
from points_conformance.checks.transfer import REVERSE_OPERATION, reversed_amount
from points_conformance.checks.transfer_state import check_reversal_ledger, check_transfer_ledger
from points_conformance.har.pairing import (
    Key,
    Recent,
    Side,
    fill,
    identity,
    judgeable,
    origin_of,
    settle,
)
from points_conformance.har.walking import Walks
from points_conformance.model import Exchange, Finding
from points_conformance.operations import WRITE_OPERATIONS

LEDGER_OPERATION = "getCustomerLedgerInfo"
MAX_READS = 64
# A ledger query with any other parameter (a till, a store, a program, dates, an entry or
# category type, currencies, a user group) shows part of the ledger, not every event.
PLAIN_PARAMS = frozenset(
    {
        "identifierName",
        "identifierValue",
        "source",
        "accountId",
        "limit",
        "offset",
        "isFilterBasedOnDate",
    }
)
# Parameters that do not change which events a query reads, only how they are paged.
PAGE_PARAMS = frozenset({"limit", "offset"})


@dataclass(frozen=True)
class Walked:
    """A customer's whole ledger as read: who it names, its query (less paging), its pages."""

    pages: tuple[Exchange, ...]
    origin: str
    keys: frozenset[Key]
    query: tuple[tuple[str, str], ...]
    # Its place in the recording, so that the latest of a customer's reads is known.
    seq: int = 0


def ledger_read(pages: Sequence[Exchange], seq: int) -> Walked | None:
    """A complete walk as a customer's whole ledger, or None when it is not one a pair may use."""
    first = pages[0]
    if first.operation != LEDGER_OPERATION or any(ex.response.status != 200 for ex in pages):
        return None
    params = first.request.params
    if any(k not in PLAIN_PARAMS for k, _ in params):
        return None
    if (param(first, "isFilterBasedOnDate") or "false").casefold() != "false":
        return None
    keys, query = identity(first, params, PAGE_PARAMS)
    return Walked(tuple(pages), origin_of(first), keys, query, seq) if keys else None


@dataclass
class LedgerPair:
    """A write and the ledgers read around it."""

    write: Exchange
    sides: list[Side[Walked]]


@dataclass
class LedgerPairs:
    """The walks open, the ledger reads since the last write and the last write; `add` returns
    the pairs an exchange completed."""

    walks: Walks = field(default_factory=Walks)
    reads: Recent[Walked] = field(default_factory=lambda: Recent(MAX_READS))
    pending: LedgerPair | None = None
    dropped: int = 0
    seen: int = 0

    def add(self, ex: Exchange) -> list[LedgerPair]:
        if ex.operation in WRITE_OPERATIONS:
            return self._write(ex)
        if ex.operation != LEDGER_OPERATION:
            return []
        done: list[LedgerPair] = []
        for pages in self.walks.add(ex):
            self.seen += 1
            read = ledger_read(pages, self.seen)
            if read is not None:
                done += self._read(read)
        return done

    def close(self) -> None:
        """A recording ended: a write still waiting for its after reads is not judged."""
        self.walks.close()
        if self.pending is not None:
            self.dropped += 1
            self.pending = None
        self.reads.clear()

    def _read(self, read: Walked) -> list[LedgerPair]:
        self.reads.remember(read)
        pending = self.pending
        if pending is None or not fill(pending.sides, read):
            return []
        self.pending = None
        return [pending]

    def _write(self, ex: Exchange) -> list[LedgerPair]:
        done: list[LedgerPair] = []
        pending, self.pending = self.pending, None
        self.dropped += settle(pending, done)
        # A walk this write interrupts read the ledger partly before and partly after it.
        self.walks.close()
        if judgeable(ex):
            self.pending = self._sides(ex)
        # Every read so far came before this write: none may stand before a later one.
        self.reads.clear()
        return done

    def _sides(self, ex: Exchange) -> LedgerPair | None:
        sides = self.reads.sides_of(ex)
        return LedgerPair(ex, sides) if sides else None


def judge_ledger_pair(ctx: CheckContext, pair: LedgerPair) -> list[Finding]:
    """The rules a ledger pair answers to: the write shows in each ledger read around it (a
    refused transfer in none). Each requirement is credited where it is compared."""
    write = pair.write
    by_role = {side.role: side for side in pair.sides}
    if write.operation == REVERSE_OPERATION:
        side = by_role["customer"]
        assert side.after is not None  # a pair holds only sides read after the write
        # A reversal that returned no points (a repeat accepted, which REV-STATE-TWICE judges)
        # has no event to show; the suite reads the ledger only around one that returns some.
        if not is_success(write) or reversed_amount(write) == 0:
            return []
        credit("REV-STATE-LEDGER", operation=write.operation)
        return check_reversal_ledger(
            ctx, reversal=write, after=side.after.pages, before=side.before.pages
        )
    credit(
        "XFER-STATE-LEDGER" if is_success(write) else "XFER-STATE-REJECTED",
        operation=write.operation,
    )
    source, destination = by_role.get("source"), by_role.get("destination")
    return check_transfer_ledger(
        ctx,
        transfer=write,
        source_before=source.before.pages if source else None,
        source_after=source.after.pages if source and source.after else None,
        destination_before=destination.before.pages if destination else None,
        destination_after=destination.after.pages if destination and destination.after else None,
    )
