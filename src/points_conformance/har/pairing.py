"""Finds, among recorded exchanges, those a rule judges together: balances around a write, and a
reversal repeated.

A balance pair is a customer's balance read last before a transfer or reversal naming that
customer, the write, and the first read after it of the same balance query, with no other write
in between: `compare_transfer` and `compare_reversal_balance` judge it. A customer is the same
only where the traffic says so: the same identifier kind and value (kind names compared without
case or underscores: MOBILE is mobile, EXTERNAL_ID is externalId), or the userId an answer shows
for the identifier its request named (customerDetails of a balance, transferredFrom and
transferredTo of a transfer, customerId of a reversal). A balance counts only when it is read
as of now (its endDate at least `ZONE_SPAN` past the answer's Date, whatever zone the server
reads it in) with no filter, and only where the page holds the rows compared: the written
program's Main row, or every row when the write names no program. This assumes that no write
outside the recording touched those customers between the two reads, and that exchanges come
in the order they happened (a client that waits for each answer, as the suite's does).

A repeated reversal is a reversal of a redemption (and identifier) that an earlier accepted
reversal without pointsToBeReversed emptied: only the strict reading gives that request the
meaning "the whole remainder" (D-091), so only a strict judge pairs it (`check_reversal_twice`).

Memory stays bounded: the reads since the last write (at most `MAX_READS`), the last write,
and at most `MAX_REVERSED` emptied redemptions are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

from points_conformance.checks.all_operations import envelope_codes
from points_conformance.checks.balance import BALANCE_OPERATION, END_DATE_FORMAT, balance_page
from points_conformance.checks.context import CheckContext
from points_conformance.checks.errors import warning_codes
from points_conformance.checks.readers import (
    as_dict,
    dicts,
    is_success,
    param,
    response_date,
    success_object,
)
from points_conformance.checks.registry import credit
from points_conformance.checks.transfer import REVERSE_OPERATION, request_body
from points_conformance.checks.transfer_state import (
    BalanceReading,
    check_reversal_twice,
    closing_balance,
    compare_reversal_balance,
    compare_transfer,
)
from points_conformance.model import Exchange, Finding
from points_conformance.operations import WRITE_OPERATIONS

MAX_READS = 256
MAX_REVERSED = 1024
# The widest gap between UTC and a zone's wall clock (UTC+14): an endDate this far past the
# server's Date is not yet reached in any zone the server may read it in.
ZONE_SPAN = timedelta(hours=14)
# A balance query with any other parameter is filtered (a till, a category, an entry type) and
# shows something else than what a write moves.
PLAIN_PARAMS = frozenset(
    {"identifierName", "identifierValue", "source", "accountId", "endDate", "offset", "limit"}
)
# Parameters that do not change which balance a query reads: the page and the moment (as of now).
PAGE_PARAMS = frozenset({"endDate", "offset", "limit"})

Key = tuple[str, str]


def kind(name: str) -> str:
    """An identifier kind as the operations spell it differently: MOBILE, mobile; EXTERNAL_ID,
    externalId; ID, id."""
    return name.casefold().replace("_", "")


def id_key(value: Any) -> Key | None:
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
        return ("id", str(value).strip())
    return None


def keys_of(*keys: Key | None) -> frozenset[Key]:
    return frozenset(k for k in keys if k is not None)


def named_key(kind_name: Any, value: Any) -> Key | None:
    if isinstance(kind_name, str) and isinstance(value, int | str) and not isinstance(value, bool):
        return (kind(kind_name), str(value))
    return None


@dataclass(frozen=True)
class Read:
    """A balance read as of now: who it names, its query (less page and moment), its answer."""

    exchange: Exchange
    origin: str
    keys: frozenset[Key]
    query: tuple[tuple[str, str], ...]
    # Its place in the recording, so that the latest of a customer's reads is known.
    seq: int = 0

    def value(self, program: Any) -> Decimal | None:
        """The Main closing balance of `program` (of every program when None) the page shows,
        None when the page may not hold the rows that make it up."""
        if program is None and not _whole(self.exchange):
            return None
        return closing_balance(self.exchange, program_id=program)


def _whole(ex: Exchange) -> bool:
    """Whether the page says it holds every balance of its query."""
    page = balance_page(ex)
    if page is None or page.items is None:
        return False
    fits = page.total is not None and page.total <= len(page.items)
    return page.page_count is not None and page.page_count <= 1 and fits


def _as_of_now(ex: Exchange) -> bool:
    end, date = param(ex, "endDate"), response_date(ex)
    if end is None or date is None:
        return False
    try:
        moment = datetime.strptime(end, END_DATE_FORMAT)
    except ValueError:
        return False
    return moment >= date.astimezone(UTC).replace(tzinfo=None) + ZONE_SPAN


def origin_of(ex: Exchange) -> str:
    parts = urlsplit(ex.request.url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def balance_read(ex: Exchange) -> Read | None:
    """`ex` as a balance reading, or None when it is not one a pair may use."""
    if ex.operation != BALANCE_OPERATION or ex.response.status != 200:
        return None
    params = ex.request.params
    if any(k not in PLAIN_PARAMS for k, _ in params) or param(ex, "offset") not in (None, "0"):
        return None
    if not _as_of_now(ex):
        return None
    keys, query = identity(ex, params, PAGE_PARAMS)
    return Read(ex, origin_of(ex), keys, query) if keys else None


class Reading(Protocol):
    """What pairing needs of a read of a customer: where it went, whom and what it asked."""

    @property
    def origin(self) -> str: ...
    @property
    def keys(self) -> frozenset[Key]: ...
    @property
    def query(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def seq(self) -> int: ...


R = TypeVar("R", bound=Reading)


def identity(
    ex: Exchange, params: Sequence[tuple[str, str]], page_params: frozenset[str]
) -> tuple[frozenset[Key], tuple[tuple[str, str], ...]]:
    """Whom a read names (the identifier it sent, the userId its answer shows) and its query
    less the parameters that only page it."""
    details = as_dict((success_object(ex) or {}).get("customerDetails")) or {}
    keys = keys_of(
        named_key(param(ex, "identifierName"), param(ex, "identifierValue")),
        id_key(details.get("userId")),
    )
    return keys, tuple(sorted((k, v) for k, v in params if k not in page_params))


@dataclass
class Side(Generic[R]):
    """One customer a write names, with what was read of it before the write and, once seen,
    after it."""

    role: str
    keys: frozenset[Key]
    before: R
    after: R | None = None

    def takes(self, read: R) -> bool:
        return (
            self.after is None
            and read.origin == self.before.origin
            and read.query == self.before.query
            and bool(read.keys & self.keys)
        )


class Recent(Generic[R]):
    """The latest read of each customer since the last write, at most `cap` of them."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._reads: OrderedDict[tuple[str, Key], R] = OrderedDict()

    def __len__(self) -> int:
        return len(self._reads)

    def remember(self, read: R) -> None:
        for key in read.keys:
            self._reads[(read.origin, key)] = read
            self._reads.move_to_end((read.origin, key))
        while len(self._reads) > self.cap:
            self._reads.popitem(last=False)

    def clear(self) -> None:
        self._reads.clear()

    def latest(self, origin: str, keys: frozenset[Key]) -> R | None:
        found: R | None = None
        for key in keys:
            read = self._reads.get((origin, key))
            if read is not None and (found is None or read.seq > found.seq):
                found = read
        return found

    def sides_of(self, ex: Exchange) -> list[Side[R]]:
        """A side for each customer `ex` names that was read before it; none when one customer
        stands on both sides of a transfer, which cannot tell a debit from a credit."""
        origin = origin_of(ex)
        sides: list[Side[R]] = []
        for role, keys in parties(ex):
            before = self.latest(origin, keys)
            if before is not None:
                sides.append(Side(role, keys | before.keys, before))
        if len(sides) == 2 and (
            sides[0].keys & sides[1].keys or sides[0].before is sides[1].before
        ):
            return []
        return sides


class Waiting(Protocol):
    """A write waiting for the reads after it."""

    sides: list[Any]


W = TypeVar("W", bound=Waiting)


def settle(pending: W | None, done: list[W]) -> int:
    """Ends the wait of `pending` when the next write comes: it goes into `done` with the sides
    read after it; returns 1 when no side was (the write is dropped), else 0."""
    if pending is None:
        return 0
    pending.sides = [side for side in pending.sides if side.after is not None]
    if not pending.sides:
        return 1
    done.append(pending)
    return 0


def fill(sides: list[Side[R]], read: R) -> bool:
    """Gives `read` to the sides it is the after read of; whether every side now has one."""
    for side in sides:
        if side.takes(read):
            side.after = read
    return all(side.after is not None for side in sides)


@dataclass
class Pair:
    """Exchanges judged together: a write and the balances around it, or a repeated reversal
    (`first` the reversal that emptied the redemption)."""

    write: Exchange
    sides: list[Side[Read]] = field(default_factory=list)
    program: Any = None
    first: Exchange | None = None


def _item(ex: Exchange) -> dict[str, Any]:
    items = dicts((success_object(ex) or {}).get("data"))
    return items[0] if items else {}


def parties(ex: Exchange) -> list[tuple[str, frozenset[Key]]]:
    """The customers a write names, by role, each with every key its request and answer give."""
    sent = request_body(ex)
    answered = success_object(ex) or {}
    if ex.operation == REVERSE_OPERATION:
        ident = as_dict(sent.get("identifier")) or {}
        keys = keys_of(
            named_key(ident.get("type"), ident.get("value")), id_key(answered.get("customerId"))
        )
        return [("customer", keys)]
    item = _item(ex)
    found: list[tuple[str, frozenset[Key]]] = []
    for role, side in (("source", "From"), ("destination", "To")):
        shown = id_key((as_dict(item.get(f"transferred{side}")) or {}).get("userId"))
        if ex.operation == "transferPoints":
            ident = as_dict(sent.get(f"{side.lower()}CustomerIdentifier")) or {}
            named = named_key(ident.get("type"), ident.get("value"))
        else:
            entity = as_dict(sent.get(f"{side.lower()}Entity")) or {}
            if not isinstance(entity.get("type"), str) or entity["type"].upper() != "CUSTOMER":
                continue
            named = named_key(entity.get("identifierType"), entity.get("identifierValue"))
        found.append((role, keys_of(named, shown)))
    return found


def judgeable(ex: Exchange) -> bool:
    """A write whose outcome the answer tells: accepted (2xx) or refused (4xx)."""
    return is_success(ex) or 400 <= ex.response.status < 500


@dataclass
class Pairs:
    """The reads since the last write, the last write and the emptied redemptions; `add`
    returns the pairs an exchange completed."""

    strict: bool = False
    reads: Recent[Read] = field(default_factory=lambda: Recent(MAX_READS))
    pending: Pair | None = None
    reversed: OrderedDict[tuple[str, str, Key], Exchange] = field(default_factory=OrderedDict)
    dropped: int = 0
    seen: int = 0

    def add(self, ex: Exchange) -> list[Pair]:
        if ex.operation in WRITE_OPERATIONS:
            return self._write(ex)
        read = balance_read(ex)
        if read is None:
            return []
        self.seen += 1
        read = replace(read, seq=self.seen)
        self.reads.remember(read)
        pending = self.pending
        if pending is None or not fill(pending.sides, read):
            return []
        self.pending = None
        return [pending]

    def close(self) -> None:
        """A recording ended: a write still waiting for its after reads is not judged."""
        self._drop()
        self.reads.clear()

    def _write(self, ex: Exchange) -> list[Pair]:
        done: list[Pair] = []
        pending, self.pending = self.pending, None
        self.dropped += settle(pending, done)
        repeat = self._repeat(ex)
        if repeat is not None:
            done.append(repeat)
        if judgeable(ex):
            self.pending = self._sides(ex, repeat)
        # Every read so far came before this write: none may stand before a later one.
        self.reads.clear()
        return done

    def _sides(self, ex: Exchange, repeat: Pair | None) -> Pair | None:
        sides = self.reads.sides_of(ex)
        if not sides:
            return None
        program = request_body(ex).get("programId")
        if ex.operation == REVERSE_OPERATION or not isinstance(program, int | str):
            program = None
        return Pair(ex, sides, program, repeat.first if repeat is not None else None)

    def _repeat(self, ex: Exchange) -> Pair | None:
        """The pair of `ex` and the earlier reversal that emptied its redemption, if any; `ex`
        remembered when it empties one (strict only: D-091)."""
        if ex.operation != REVERSE_OPERATION:
            return None
        sent = request_body(ex)
        ident = as_dict(sent.get("identifier")) or {}
        who = named_key(ident.get("type"), ident.get("value"))
        redemption = sent.get("redemptionId")
        if who is None or not isinstance(redemption, int | str) or isinstance(redemption, bool):
            return None
        key = (origin_of(ex), str(redemption), who)
        first = self.reversed.get(key)
        if first is not None:
            return Pair(ex, first=first)
        data = success_object(ex)
        # A 2xx carrying a code in its errors or warnings may have reversed nothing (D-016, D-036).
        clean = data is not None and not envelope_codes(data) and not warning_codes(data)
        if self.strict and clean and "pointsToBeReversed" not in sent:
            self.reversed[key] = ex
            while len(self.reversed) > MAX_REVERSED:
                self.reversed.popitem(last=False)
        return None

    def _drop(self) -> None:
        if self.pending is not None:
            self.dropped += 1
            self.pending = None


def judge_pair(ctx: CheckContext, pair: Pair) -> list[Finding]:
    """The rules a pair answers to: a repeat must be refused, the balances must move as the
    write says. Each requirement is credited where it is compared."""
    write = pair.write
    if pair.first is not None and not pair.sides:
        credit("REV-STATE-TWICE", operation=write.operation)
        return check_reversal_twice(ctx, write)
    readings: dict[str, tuple[BalanceReading, BalanceReading]] = {}
    for side in pair.sides:
        assert side.after is not None  # a pair holds only sides read after the write
        old, new = side.before.value(pair.program), side.after.value(pair.program)
        if old is not None and new is not None:
            readings[side.role] = (
                BalanceReading(old, side.before.exchange),
                BalanceReading(new, side.after.exchange),
            )
    if not readings:
        return []
    if write.operation == REVERSE_OPERATION:
        before, after = readings["customer"]
        rid = "REV-STATE-TWICE" if pair.first is not None else "REV-STATE-BALANCE"
        credit(rid, operation=write.operation)
        return compare_reversal_balance(
            ctx, reversal=write, before=before, after=after, requirement=rid
        )
    credit(
        "XFER-STATE-CONSERVE" if is_success(write) else "XFER-STATE-REJECTED",
        operation=write.operation,
    )
    source = readings.get("source", (None, None))
    destination = readings.get("destination", (None, None))
    return compare_transfer(
        ctx,
        transfer=write,
        source_before=source[0],
        source_after=source[1],
        destination_before=destination[0],
        destination_after=destination[1],
    )
