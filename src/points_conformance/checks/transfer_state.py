"""Transfers and reversals (003): what must change on the server afterwards, and what must not.

The state functions compare readings taken before and after a check, transfer or reversal: a
check moves nothing, a transfer conserves points and shows in both ledgers and in the transfer
history, a refused transfer changes nothing, a reversal returns its points and shows in the
ledger, and a second full reversal is refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from points_conformance.checks.balance import balance_rows
from points_conformance.checks.context import CheckContext
from points_conformance.checks.discrepancies import D_ALREADY_REVERSED
from points_conformance.checks.errors import code_of, expect_error, warning_codes
from points_conformance.checks.findings import capped, finding
from points_conformance.checks.ledger import entries, entry_label, is_currency_row, signed_points
from points_conformance.checks.readers import (
    dicts,
    is_success,
    same_id,
    success_object,
    to_decimal,
)
from points_conformance.checks.registry import credit, declare
from points_conformance.checks.rounding import half_unit, sum_agrees
from points_conformance.checks.transfer import data_items, reversed_amount, transfer_amount
from points_conformance.model import Exchange, Finding

declare("compare_transfer", ("XFER-STATE-CONSERVE", "XFER-STATE-REJECTED"))
declare("compare_concurrent_transfers", ("XFER-STATE-CONSERVE",))
declare("check_transferrable_readonly", ("XFERCHK-STATE-READONLY",))
declare("check_transfer_ledger", ("XFER-STATE-LEDGER", "XFER-STATE-REJECTED"))
declare("check_transfer_history", ("XFER-STATE-HISTORY",))
declare("compare_reversal_balance", ("REV-STATE-BALANCE",))
declare("check_reversal_ledger", ("REV-STATE-LEDGER",))
declare("check_warning_reversal", ("PTS-WARN-901", "PTS-WARN-902", "PTS-WARN-904"))
declare("check_reversal_twice", ("REV-STATE-TWICE",))


# A ledger as read: one page, or every page of one query.
LedgerRead = Exchange | Sequence[Exchange]


@dataclass(frozen=True)
class BalanceReading:
    """A balance and the exchange it was read from (for the report's repro)."""

    value: Decimal
    exchange: Exchange | None = None


def closing_balance(
    balance: Exchange | Sequence[Exchange],
    *,
    program_id: int | str | None = None,
    category: str = "Main",
) -> Decimal | None:
    """The sum of the closingBalance rows of one category (and program) of a ledger-balance
    page, or of every page of one balance query with each (program, category) counted once."""
    pages = [balance] if isinstance(balance, Exchange) else list(balance)
    total: Decimal | None = None
    for (program, shown_category), value in balance_rows(pages).items():
        if shown_category != category:
            continue
        if program_id is not None and not same_id(program, program_id):
            continue
        total = value if total is None else total + value
    return total


def _moved(
    ctx: CheckContext, before: BalanceReading, after: BalanceReading, change: Decimal
) -> bool:
    """Whether a balance moved by exactly `change`; lenient allows each shown balance its
    display rounding (the change is the amount asked for, not a shown number)."""
    gap = abs(after.value - before.value - change)
    if ctx.strict:
        return gap == 0
    return gap <= half_unit(before.value) + half_unit(after.value)


def _balance_problems(
    ctx: CheckContext,
    changes: Sequence[tuple[str, BalanceReading, BalanceReading, Decimal]],
) -> list[str]:
    problems: list[str] = []
    for role, before, after, change in changes:
        if not _moved(ctx, before, after, change):
            problems.append(
                f"{role} balance went from {before.value} to {after.value} "
                f"(change {after.value - before.value}, expected {change:+})"
            )
    return problems


def check_transferrable_readonly(
    ctx: CheckContext,
    *,
    check_exchange: Exchange,
    source_before: BalanceReading,
    source_after: BalanceReading,
    destination_before: BalanceReading,
    destination_after: BalanceReading,
) -> list[Finding]:
    """Asking whether points are transferrable moves none of them."""
    problems = _balance_problems(
        ctx,
        (
            ("source", source_before, source_after, Decimal(0)),
            ("destination", destination_before, destination_after, Decimal(0)),
        ),
    )
    if not problems:
        return []
    return [
        finding(
            "XFERCHK-STATE-READONLY",
            "a transferability check changed a balance",
            expected="both balances unchanged by isTransferrable",
            actual="; ".join(problems),
            exchange=check_exchange,
        )
    ]


def compare_transfer(
    ctx: CheckContext,
    *,
    transfer: Exchange,
    source_before: BalanceReading | None,
    source_after: BalanceReading | None,
    destination_before: BalanceReading | None,
    destination_after: BalanceReading | None,
) -> list[Finding]:
    """Points are conserved: the source loses and the destination gains exactly the amount moved.

    A refused transfer moves nothing (XFER-STATE-REJECTED). Nothing else may change the two
    balances in between. A side without both readings (a user group's, in traffic) is not
    compared.
    """
    amount = transfer_amount(transfer) if is_success(transfer) else Decimal(0)
    if amount is None:
        return []
    problems = _balance_problems(
        ctx,
        [
            (role, before, after, change)
            for role, before, after, change in (
                ("source", source_before, source_after, -amount),
                ("destination", destination_before, destination_after, amount),
            )
            if before is not None and after is not None
        ],
    )
    if not problems:
        return []
    outcome = f"a transfer of {amount}" if is_success(transfer) else "a refused transfer"
    return [
        finding(
            "XFER-STATE-CONSERVE" if is_success(transfer) else "XFER-STATE-REJECTED",
            f"balances after {outcome} do not add up",
            expected=f"source balance down by {amount}, destination up by {amount}"
            if is_success(transfer)
            else "both balances unchanged",
            actual="; ".join(problems),
            exchange=transfer,
        )
    ]


def compare_concurrent_transfers(
    ctx: CheckContext,
    *,
    transfers: Sequence[Exchange],
    before: Sequence[BalanceReading],
    after: Sequence[BalanceReading],
) -> list[Finding]:
    """Transfers sent at once move exactly what the successful ones say, and never overdraw.

    `before` and `after` are the (source, destination) balances around them. Whatever order
    the server takes them in, the source loses and the destination gains the sum of the
    accepted amounts, and a balance that did not cover them all refuses the rest.
    """
    (source_before, destination_before), (source_after, destination_after) = before, after
    accepted = [t for t in transfers if is_success(t)]
    amounts = [transfer_amount(t) for t in accepted]
    if any(a is None for a in amounts):
        return []
    moved = sum((a for a in amounts if a is not None), Decimal(0))
    problems = _balance_problems(
        ctx,
        (
            ("source", source_before, source_after, -moved),
            ("destination", destination_before, destination_after, moved),
        ),
    )
    if moved > source_before.value:
        problems.insert(
            0,
            f"{len(accepted)} of {len(transfers)} transfers accepted, {moved} points in all, "
            f"from a balance of {source_before.value}",
        )
    if not problems:
        return []
    return [
        finding(
            "XFER-STATE-CONSERVE",
            f"{len(transfers)} transfers sent at once do not add up",
            expected=f"accepted transfers moving at most the {source_before.value} the source "
            "held; the source down and the destination up by their sum",
            actual="; ".join(problems),
            exchange=accepted[0] if accepted else transfers[0] if transfers else None,
        )
    ]


def _key(entry: dict[str, Any]) -> str:
    log_id = entry.get("eventLogId")
    if isinstance(log_id, int | str) and not isinstance(log_id, bool):
        return f"id:{log_id}"
    return "body:" + json.dumps(entry, sort_keys=True, default=str)


def ledger_pages(ledger: LedgerRead) -> list[Exchange]:
    return [ledger] if isinstance(ledger, Exchange) else list(ledger)


def ledger_entries(ledger: LedgerRead) -> list[dict[str, Any]]:
    """The entries of a ledger read, each event once: pages read by starting index, or while
    the ledger grew, may overlap."""
    seen: set[str] = set()
    found: list[dict[str, Any]] = []
    for ex in ledger_pages(ledger):
        for entry in entries(ex):
            key = _key(entry)
            if key not in seen:
                seen.add(key)
                found.append(entry)
    return found


def new_entries(before: LedgerRead | None, after: LedgerRead) -> list[dict[str, Any]]:
    """Ledger entries of `after` that `before` did not show (all of them without `before`).

    Compared by eventLogId over every page read, so the order a server lists its ledger in
    (no order is documented for the customer form) does not matter.
    """
    seen = {_key(e) for e in ledger_entries(before)} if before is not None else set()
    return [e for e in ledger_entries(after) if _key(e) not in seen]


def _shown(ledger: LedgerRead) -> Exchange | None:
    """The exchange a finding about a ledger read points at: its first page."""
    pages = ledger_pages(ledger)
    return pages[0] if pages else None


def _rows_total(entry: dict[str, Any], kind: str | None) -> tuple[Decimal, list[Decimal]] | None:
    """Signed sum of an event's points rows (only rows of `kind` when given), with the parts."""
    parts: list[Decimal] = []
    for row in dicts(entry.get("entryDetails")):
        if is_currency_row(row) or (kind is not None and row.get("ledgerEntryType") != kind):
            continue
        value = signed_points(row)
        if value is None:
            return None
        parts.append(value)
    if not parts:
        return None
    return sum(parts, Decimal(0)), parts


def _event_with(
    ctx: CheckContext, candidates: Sequence[dict[str, Any]], kind: str | None, amount: Decimal
) -> bool:
    for entry in candidates:
        totals = _rows_total(entry, kind)
        if totals is not None and sum_agrees(amount, totals[1], strict=ctx.strict):
            return True
    return False


def _ledger_finding(
    requirement: str, message: str, expected: str, after: LedgerRead, candidates: list[Any]
) -> Finding:
    shown = [
        f"eventLogId {e.get('eventLogId')} {e.get('eventName')}: net {e.get('netPointsOnEvent')}"
        for e in candidates
    ]
    return finding(
        requirement,
        message,
        expected=expected,
        actual=capped(shown) if shown else "no new ledger entry",
        exchange=_shown(after),
    )


def _looks_like_transfer(entry: dict[str, Any], amount: Decimal | None) -> bool:
    if entry.get("eventName") == "PointsTransfer":
        return True
    if amount is None:
        return False
    for kind, signed in (("DEBIT", -amount), ("CREDIT", amount)):
        totals = _rows_total(entry, kind)
        if totals is not None and totals[0] == signed:
            return True
    return False


def check_transfer_ledger(
    ctx: CheckContext,
    *,
    transfer: Exchange,
    source_after: LedgerRead | None,
    destination_after: LedgerRead | None,
    source_before: LedgerRead | None = None,
    destination_before: LedgerRead | None = None,
) -> list[Finding]:
    """Both ledgers show the transfer: a new DEBIT of N on the source's, a new CREDIT of N on
    the destination's. A refused transfer adds no such event (XFER-STATE-REJECTED).

    The ledgers are read before and after the transfer: a page or every page of each. A side
    not read after it (a user group's, in traffic) is not compared.
    """
    amount = transfer_amount(transfer)
    found: list[Finding] = []
    sides = (
        ("source", "DEBIT", source_before, source_after),
        ("destination", "CREDIT", destination_before, destination_after),
    )
    if not is_success(transfer):
        for role, _, before, after in sides:
            if before is None or after is None:
                continue
            added = [e for e in new_entries(before, after) if _looks_like_transfer(e, amount)]
            if added:
                found.append(
                    _ledger_finding(
                        "XFER-STATE-REJECTED",
                        f"the {role}'s ledger shows a transfer that was refused",
                        "no new PointsTransfer event after a refused transfer",
                        after,
                        added,
                    )
                )
        return found
    if amount is None:
        return []
    for role, kind, before, after in sides:
        if after is None:
            continue
        fresh = new_entries(before, after)
        if not _event_with(ctx, fresh, kind, -amount if kind == "DEBIT" else amount):
            found.append(
                _ledger_finding(
                    "XFER-STATE-LEDGER",
                    f"the {role}'s ledger does not show the transfer of {amount}",
                    f"a new ledger event with {kind} rows of {amount} points",
                    after,
                    fresh,
                )
            )
    return found


def check_transfer_history(
    ctx: CheckContext, *, transfer: Exchange, history: Exchange
) -> list[Finding]:
    """GET /v2/points/transfer for the source lists the transfer (by transferId when shown)."""
    if not is_success(transfer):
        return []
    made = data_items(transfer)
    transfer_id = made[0].get("transferId") if made else None
    amount = transfer_amount(transfer)
    listed = data_items(history)
    if transfer_id is not None:
        hit = any(same_id(item.get("transferId"), str(transfer_id)) for item in listed)
        wanted = f"an item with transferId {transfer_id}"
    else:
        hit = amount is not None and any(
            to_decimal(item.get("pointsTransferred")) == amount for item in listed
        )
        wanted = f"an item with pointsTransferred {amount}"
    if hit:
        return []
    shown = [f"transferId {i.get('transferId')}: {i.get('pointsTransferred')}" for i in listed]
    return [
        finding(
            "XFER-STATE-HISTORY",
            "the transfer history does not list the transfer just made",
            expected=f"HTTP 2xx with data holding {wanted}",
            actual=f"HTTP {history.response.status}; " + (capped(shown) or "no items"),
            exchange=history,
        )
    ]


def check_reversal_ledger(
    ctx: CheckContext,
    *,
    reversal: Exchange,
    after: LedgerRead,
    before: LedgerRead | None = None,
) -> list[Finding]:
    """The customer's ledger shows a new event returning the points reversed."""
    if not is_success(reversal):
        return []
    amount = reversed_amount(reversal)
    fresh = new_entries(before, after)
    if amount is not None:
        if _event_with(ctx, fresh, None, amount):
            return []
        wanted = f"a new ledger event whose points rows add {amount} points"
    else:
        if any((t := _rows_total(e, None)) is not None and t[0] > 0 for e in fresh):
            return []
        wanted = "a new ledger event that adds points"
    return [
        _ledger_finding(
            "REV-STATE-LEDGER",
            "the ledger does not show the reversal",
            wanted,
            after,
            fresh,
        )
    ]


def check_warning_reversal(
    ctx: CheckContext,
    *,
    reversal: Exchange,
    before: LedgerRead,
    after: LedgerRead,
    requirements: Sequence[str],
) -> list[Finding]:
    """A reversal answered 2xx with a warning code (D-036) reversed nothing.

    `before` and `after` are the customer's ledger around it; `requirements` are the
    PTS-WARN requirements of the warning codes the request provokes.
    """
    data = success_object(reversal)
    if data is None:
        return []
    warned = set(warning_codes(data))
    named = [r for r in requirements if code_of(r) in warned]
    # Without its warning the answer is an accepted request, which expect_error judges; without
    # both ledger pages there is nothing to compare.
    pages = [*ledger_pages(before), *ledger_pages(after)]
    read = ledger_pages(before) and ledger_pages(after)
    if not named or not read or any(success_object(ex) is None for ex in pages):
        return []
    credit(*named, operation=reversal.operation)
    shown = to_decimal(data.get("pointsReversed"))
    problems = [f"pointsReversed {shown}"] if shown not in (None, Decimal(0)) else []
    fresh = new_entries(before, after)
    problems += [f"new ledger event {entry_label(e, i)}" for i, e in enumerate(fresh)]
    if not problems:
        return []
    return [
        finding(
            rid,
            "a reversal reported as a warning changed the customer's points",
            expected="nothing reversed: no pointsReversed above 0, no new ledger event",
            actual=capped(problems),
            exchange=reversal,
        )
        for rid in named
    ]


def compare_reversal_balance(
    ctx: CheckContext,
    *,
    reversal: Exchange,
    before: BalanceReading,
    after: BalanceReading,
    requirement: str | None = None,
) -> list[Finding]:
    """A reversal returns pointsReversed to the balance; a refused one changes nothing.

    `requirement` defaults to REV-STATE-BALANCE (REV-STATE-TWICE for a second reversal).
    """
    requirement = requirement or "REV-STATE-BALANCE"
    amount = reversed_amount(reversal) if is_success(reversal) else Decimal(0)
    if amount is None:
        return []
    problems = _balance_problems(ctx, (("customer", before, after, amount),))
    if not problems:
        return []
    return [
        finding(
            requirement,
            f"the balance after {'a reversal' if amount else 'a refused reversal'} does not add up",
            expected=f"balance up by {amount}" if amount else "balance unchanged",
            actual="; ".join(problems),
            exchange=reversal,
        )
    ]


def check_reversal_twice(ctx: CheckContext, second: Exchange) -> list[Finding]:
    """Reversing a redemption that is already fully reversed is refused with 3802 (or 812)."""
    return expect_error(
        ctx,
        second,
        codes={3802},
        lenient_codes={812},
        discrepancy=D_ALREADY_REVERSED,
        requirement="REV-STATE-TWICE",
    )
