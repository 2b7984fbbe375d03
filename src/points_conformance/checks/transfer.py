"""Transfers and reversals (003): what one answer must say, and what must change afterwards.

The single-exchange rules cover what the schema cannot: values that must agree with the
request. The state functions compare readings taken before and after a check, transfer or
reversal: a check moves nothing, a transfer conserves points and shows in both ledgers and in
the transfer history, a refused transfer changes nothing, a reversal returns its points and
shows in the ledger, and a second full reversal is refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from points_conformance.checks.base import (
    D_ALREADY_REVERSED,
    D_ECHO_GROUP,
    D_ECHO_TRANSFER,
    D_REVERSED,
    CheckContext,
    capped,
    check,
    credit,
    declare,
    finding,
)
from points_conformance.checks.errors import code_of, expect_error, warning_codes
from points_conformance.checks.ledger import (
    entries,
    entry_label,
    is_currency_row,
    signed_points,
)
from points_conformance.checks.shared import sum_agrees
from points_conformance.checks.values import (
    as_dict,
    dicts,
    half_unit,
    is_success,
    same_id,
    success_object,
    to_decimal,
)
from points_conformance.model import Exchange, Finding

CHECK_OPERATIONS = ("isTransferrable", "isTransferrableUserGroup")
TRANSFER_OPERATIONS = ("transferPoints", "transferPointsUserGroup")
REVERSE_OPERATION = "reversePoints"

declare("compare_transfer", ("XFER-STATE-CONSERVE", "XFER-STATE-REJECTED"))
declare("compare_concurrent_transfers", ("XFER-STATE-CONSERVE",))
declare("check_transferrable_readonly", ("XFERCHK-STATE-READONLY",))
declare("check_transfer_ledger", ("XFER-STATE-LEDGER", "XFER-STATE-REJECTED"))
declare("check_transfer_history", ("XFER-STATE-HISTORY",))
declare("compare_reversal_balance", ("REV-STATE-BALANCE",))
declare("check_reversal_ledger", ("REV-STATE-LEDGER",))
declare("check_warning_reversal", ("PTS-WARN-901", "PTS-WARN-902", "PTS-WARN-904"))
declare("check_reversal_twice", ("REV-STATE-TWICE",))


def request_body(ex: Exchange) -> dict[str, Any]:
    return ex.request.body if isinstance(ex.request.body, dict) else {}


def data_items(ex: Exchange) -> list[dict[str, Any]]:
    data = success_object(ex)
    return dicts(data.get("data")) if data is not None else []


def requested_amount(ex: Exchange) -> Decimal | None:
    return to_decimal(request_body(ex).get("pointsTobeTransferred"))


# --------------------------------------------------------------------------------------------
# single answers


def _echo_findings(
    ex: Exchange, requirement: str, field_name: str, discrepancy: str
) -> list[Finding]:
    asked = requested_amount(ex)
    if asked is None or not data_items(ex):
        return []
    credit(requirement)
    wrong = [
        f"data[{index}].{field_name} {shown}"
        for index, item in enumerate(data_items(ex))
        if (shown := to_decimal(item.get(field_name))) is not None and shown != asked
    ]
    if not wrong:
        return []
    return [
        finding(
            requirement,
            f"{field_name} in the answer is not the pointsTobeTransferred requested",
            expected=f"{field_name} {asked}",
            actual="; ".join(wrong),
            exchange=ex,
            discrepancy=discrepancy,
        )
    ]


@check(
    "transfer.check_echo",
    requirements=("XFERCHK-ARITH-ECHO",),
    operations=CHECK_OPERATIONS,
)
def check_echo(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    # The pages answer 10.5 with 10.0; only the strict reading compares the echo.
    if not ctx.strict:
        return []
    return _echo_findings(ex, "XFERCHK-ARITH-ECHO", "pointsTobeTransferred", D_ECHO_GROUP)


@check(
    "transfer.transfer_echo",
    requirements=("XFER-ARITH-ECHO",),
    operations=TRANSFER_OPERATIONS,
)
def transfer_echo(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    # 003 answers 123 requested points with 15.0; balances decide in the default run.
    if not ctx.strict:
        return []
    discrepancy = D_ECHO_GROUP if ex.operation == "transferPointsUserGroup" else D_ECHO_TRANSFER
    return _echo_findings(ex, "XFER-ARITH-ECHO", "pointsTransferred", discrepancy)


@check(
    "transfer.transferrable_answer",
    requirements=("XFERCHK-FORMAT-TRANSFERRABLE",),
    operations=CHECK_OPERATIONS,
)
def transferrable_answer(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    if success_object(ex) is None:
        return []
    items = data_items(ex)
    answers = [item.get("transferrable") for item in items]
    credit("XFERCHK-FORMAT-TRANSFERRABLE")
    if answers and all(isinstance(a, bool) for a in answers):
        return []
    return [
        finding(
            "XFERCHK-FORMAT-TRANSFERRABLE",
            "a successful check does not say whether the points are transferrable",
            expected='data: [{"transferrable": true|false, ...}] with at least one item',
            actual="data: " + (", ".join(repr(a) for a in answers) if items else "no items"),
            exchange=ex,
        )
    ]


@check(
    "transfer.result",
    requirements=("XFER-FORMAT-RESULT",),
    operations=TRANSFER_OPERATIONS,
)
def transfer_result(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    if success_object(ex) is None:
        return []
    items = data_items(ex)
    asked = requested_amount(ex)
    credit("XFER-FORMAT-RESULT")
    problems: list[str] = [] if items else ["data has no transfer"]
    for index, item in enumerate(items):
        moved = to_decimal(item.get("pointsTransferred"))
        if moved is not None and moved <= 0:
            problems.append(f"data[{index}].pointsTransferred {moved} is not positive")
        if moved is not None and asked is not None and moved > asked:
            problems.append(
                f"data[{index}].pointsTransferred {moved} is more than the {asked} requested"
            )
        problems += _entity_echo(ex, item, index)
    if not problems:
        return []
    return [
        finding(
            "XFER-FORMAT-RESULT",
            "the transfer's answer does not describe the transfer requested",
            expected="data with the transfer made: pointsTransferred above 0 and not above "
            "pointsTobeTransferred; fromEntityType/toEntityType as sent",
            actual=capped(problems),
            exchange=ex,
        )
    ]


def _entity_echo(ex: Exchange, item: dict[str, Any], index: int) -> list[str]:
    sent = request_body(ex)
    problems: list[str] = []
    for side in ("from", "to"):
        entity = as_dict(sent.get(f"{side}Entity"))
        shown = item.get(f"{side}EntityType")
        wanted = entity.get("type") if entity is not None else None
        if isinstance(shown, str) and isinstance(wanted, str) and shown.upper() != wanted.upper():
            problems.append(f"data[{index}].{side}EntityType {shown}, {side}Entity.type {wanted}")
    return problems


def transfer_amount(ex: Exchange) -> Decimal | None:
    """The N of "a transfer of N points": the amount requested, else the amount answered.

    The answer's pointsTransferred may differ from the request in the default run;
    the balances must show what was asked for.
    """
    asked = requested_amount(ex)
    if asked is not None:
        return asked
    for item in data_items(ex):
        amount = to_decimal(item.get("pointsTransferred"))
        if amount is not None:
            return amount
    return None


@check(
    "transfer.reverse_echo",
    requirements=("REV-FORMAT-ECHO",),
    operations=(REVERSE_OPERATION,),
)
def reverse_echo(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    data = success_object(ex)
    if data is None:
        return []
    sent = request_body(ex)
    echo: list[str] = []
    sent_id = sent.get("redemptionId")
    shown_id = data.get("redemptionId")
    if sent_id is not None and shown_id is not None:
        credit("REV-FORMAT-ECHO")
    if sent_id is not None and shown_id is not None and not same_id(shown_id, str(sent_id)):
        echo.append(f"redemptionId {shown_id!r} for {sent_id!r}")
    sent_identifier = as_dict(sent.get("identifier"))
    shown_identifier = as_dict(data.get("identifier"))
    if sent_identifier is not None and shown_identifier is not None:
        for key in ("type", "value"):
            a, b = sent_identifier.get(key), shown_identifier.get(key)
            if isinstance(a, str) and isinstance(b, str) and a.casefold() != b.casefold():
                echo.append(f"identifier.{key} {b!r} for {a!r}")
    if not echo:
        return []
    return [
        finding(
            "REV-FORMAT-ECHO",
            "the reversal's answer names another redemption or customer",
            expected="redemptionId and identifier as sent",
            actual="; ".join(echo),
            exchange=ex,
        )
    ]


@check(
    "transfer.reversed_points",
    requirements=("REV-ARITH-BOUND",),
    operations=(REVERSE_OPERATION,),
)
def reversed_points(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    data = success_object(ex)
    if data is None:
        return []
    shown = to_decimal(data.get("pointsReversed"))
    asked = to_decimal(request_body(ex).get("pointsToBeReversed"))
    if shown is None:
        return []
    if shown <= 0 or (asked is not None and shown > asked):
        problem = "not positive" if shown <= 0 else f"more than the {asked} requested"
        discrepancy = None
    elif ctx.strict and asked is not None and shown != asked:
        problem, discrepancy = f"less than the {asked} requested", D_REVERSED
    else:
        return []
    return [
        finding(
            "REV-ARITH-BOUND",
            f"pointsReversed is {problem}",
            expected=(
                f"pointsReversed equal to {asked}"
                if ctx.strict and asked is not None
                else "0 < pointsReversed" + (f" ≤ {asked} requested" if asked is not None else "")
            ),
            actual=f"pointsReversed {shown}",
            exchange=ex,
            discrepancy=discrepancy,
        )
    ]


# --------------------------------------------------------------------------------------------
# state before and after


@dataclass(frozen=True)
class BalanceReading:
    """A balance and the exchange it was read from (for the report's repro)."""

    value: Decimal
    exchange: Exchange | None = None


def closing_balance(
    ex: Exchange, *, program_id: int | str | None = None, category: str = "Main"
) -> Decimal | None:
    """The sum of a ledger-balance page's closingBalance rows of one category (and program)."""
    data = success_object(ex)
    details = as_dict(data.get("ledgerDetails")) if data is not None else None
    if details is None:
        return None
    total: Decimal | None = None
    for row in dicts(details.get("ledgerClosingBalance")):
        if row.get("pointsCategory") != category:
            continue
        if program_id is not None and not same_id(row.get("programId"), program_id):
            continue
        value = to_decimal(row.get("closingBalance"))
        if value is not None:
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
    source_before: BalanceReading,
    source_after: BalanceReading,
    destination_before: BalanceReading,
    destination_after: BalanceReading,
) -> list[Finding]:
    """Points are conserved: the source loses and the destination gains exactly the amount moved.

    A refused transfer moves nothing (XFER-STATE-REJECTED). Nothing else may change the two
    balances in between.
    """
    amount = transfer_amount(transfer) if is_success(transfer) else Decimal(0)
    if amount is None:
        return []
    problems = _balance_problems(
        ctx,
        (
            ("source", source_before, source_after, -amount),
            ("destination", destination_before, destination_after, amount),
        ),
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


def new_entries(before: Exchange | None, after: Exchange) -> list[dict[str, Any]]:
    """Ledger entries of `after` that `before` did not show (all of them without `before`)."""
    seen = {_key(e) for e in entries(before)} if before is not None else set()
    return [e for e in entries(after) if _key(e) not in seen]


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
    requirement: str, message: str, expected: str, after: Exchange, candidates: list[Any]
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
        exchange=after,
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
    source_after: Exchange,
    destination_after: Exchange,
    source_before: Exchange | None = None,
    destination_before: Exchange | None = None,
) -> list[Finding]:
    """Both ledgers show the transfer: a new DEBIT of N on the source's, a new CREDIT of N on
    the destination's. A refused transfer adds no such event (XFER-STATE-REJECTED).

    The ledgers are first pages (newest first) read before and after the transfer.
    """
    amount = transfer_amount(transfer)
    found: list[Finding] = []
    sides = (
        ("source", "DEBIT", source_before, source_after),
        ("destination", "CREDIT", destination_before, destination_after),
    )
    if not is_success(transfer):
        for role, _, before, after in sides:
            if before is None:
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


def reversed_amount(ex: Exchange) -> Decimal | None:
    data = success_object(ex)
    shown = to_decimal(data.get("pointsReversed")) if data is not None else None
    return shown if shown is not None else to_decimal(request_body(ex).get("pointsToBeReversed"))


def check_reversal_ledger(
    ctx: CheckContext, *, reversal: Exchange, after: Exchange, before: Exchange | None = None
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
    before: Exchange,
    after: Exchange,
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
    if not named or success_object(before) is None or success_object(after) is None:
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
