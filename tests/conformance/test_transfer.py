"""transferPoints and userGroup2/transfer (003): transfers end to end, the OTP, refusals.

A transfer is judged by what it leaves behind: balances moved by exactly the amount
(XFER-STATE-CONSERVE), a new event on both ledgers (XFER-STATE-LEDGER), and the transfer in
the source's history (XFER-STATE-HISTORY); a refused one leaves both balances as they were.
Every test here changes (or could change) transfer_from's and transfer_to's balances, so under
pytest-xdist all hold both customers (`touches`), and all need writes (loopback or
--allow-writes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from points_conformance.checks import (
    CheckContext,
    check_transfer_history,
    check_transfer_ledger,
    check_transferrable_readonly,
    compare_concurrent_transfers,
    compare_transfer,
    expect_error,
)
from points_conformance.checks.readers import answered, is_success, refused_in_body
from points_conformance.checks.transfer_state import BalanceReading
from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, Finding
from points_conformance.operations import PATHS
from points_conformance.plugin.fixtures import FindingsRecorder, skip_missing
from points_conformance.target import Customer, Group, TargetData

from ._cases import Case, load_cases
from ._points import (
    HISTORY,
    TRANSFER,
    TRANSFER_GROUP,
    TRANSFER_PAIR,
    balances_of,
    customer_query,
    group_query,
    group_transfer_body,
    judge,
    obtain_otp,
    ok,
    read_customer_balance,
    read_group_balance,
    read_ledger,
    side_by_side,
    unless_permitted,
    without,
)
from ._settle import add_state

pytestmark = [
    pytest.mark.writes,
    pytest.mark.touches(*TRANSFER_PAIR),
]


def _pair(require_customer: Callable[[str], Customer]) -> tuple[Customer, Customer]:
    return require_customer("transfer_from"), require_customer("transfer_to")


def _program(customer: Customer) -> int | None:
    return customer.program_ids[0] if customer.program_ids else None


def _resolve(
    case: Case,
    client: ConformanceClient,
    ctx: CheckContext,
    target: TargetData,
    pair: tuple[Customer, Customer],
) -> tuple[Case, list[Finding]]:
    """The case with its OTP (when it uses one) issued and its `drop` fields removed."""
    found: list[Finding] = []
    sections: dict[str, Any] = {}
    if case.uses("otp"):
        code, found = obtain_otp(client, ctx, target, *pair)
        if code is None:
            return case, found
        sections["otp"] = {"code": code}
    resolved = case.resolve(target, **sections)
    drop = resolved.extra.get("drop") or []
    if drop:
        resolved = dataclasses.replace(resolved, json=without(resolved.json, list(drop)))
    return resolved, found


def _transfer_body(
    source: Customer, destination: Customer, points: int, code: str, notes: str
) -> dict[str, Any]:
    """A customer-to-customer transfer naming both parties by ID."""
    body: dict[str, Any] = {
        "pointsTobeTransferred": points,
        "notes": notes,
        "fromCustomerIdentifier": {"type": "ID", "value": source.id},
        "toCustomerIdentifier": {"type": "ID", "value": destination.id},
        "code": code,
    }
    program = _program(source)
    if program is not None:
        body["programId"] = program
    return body


def _with_ids(require_customer: Callable[[str], Customer]) -> tuple[Customer, Customer]:
    source, destination = _pair(require_customer)
    if not source.id or not destination.id:
        skip_missing("customers.transfer_from.id", "customers.transfer_to.id", detail="both")
    return source, destination


def _history(client: ConformanceClient, target: TargetData, customer: Customer) -> Exchange:
    return client.request(HISTORY, "GET", PATHS[HISTORY], params=customer_query(target, customer))


@pytest.mark.parametrize("case", load_cases("points_transfer_flows", lock="touches"))
def test_transfer_end_to_end(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    require_customer: Callable[[str], Customer],
    writes_allowed: bool,
) -> None:
    """OTP → transfer → balances, both ledgers and the history show exactly that transfer."""
    source, destination = _pair(require_customer)
    program = _program(source)
    resolved, found = _resolve(case, client, check_context, target, (source, destination))
    findings.add(found)
    if found:
        return
    read_pair = balances_of(client, check_context, target, [source, destination], program)
    before, found = read_pair()
    findings.add(found)
    if before is None:
        return
    queries = [customer_query(target, c) for c in (source, destination)]
    heads = side_by_side([partial(read_ledger, client, q) for q in queries])
    ex = resolved.send(client)
    findings.add(judge(check_context, resolved, ex, target=target))
    if not answered(ex, strict=check_context.strict):
        return
    state, found = _effects(
        check_context,
        client,
        ex,
        before=before,
        read_after=read_pair,
        heads=heads,
        queries=queries,
        history=("XFER-STATE-HISTORY", lambda: _history(client, target, source)),
    )
    findings.add(found)
    add_state(findings, state, read_pair, TRANSFER_PAIR)


def _effects(
    ctx: CheckContext,
    client: ConformanceClient,
    transfer: Exchange,
    *,
    before: list[BalanceReading],
    read_after: Callable[[], tuple[list[BalanceReading] | None, list[Finding]]],
    heads: list[list[Exchange]],
    queries: list[dict[str, Any]],
    history: tuple[str, Callable[[], Exchange]],
) -> tuple[list[Finding], list[Finding]]:
    """What a successful transfer leaves behind: (source, destination) balances moved by its
    amount, a new event on both ledgers (`heads` were read before it, from `queries`), and the
    transfer in the source's history (read by `history`, judged under its requirement).

    Returned apart: the findings of comparing the state before and after (balances, new ledger
    events), which another client's writes can also cause (`_settle`), and all others."""
    after, found = read_after()
    state: list[Finding] = []
    if after is not None:
        state += compare_transfer(
            ctx,
            transfer=transfer,
            source_before=before[0],
            source_after=after[0],
            destination_before=before[1],
            destination_after=after[1],
        )
    tails = side_by_side([partial(read_ledger, client, q) for q in queries])
    for tail in tails:
        found += ok(ctx, "XFER-STATE-LEDGER", "ledger after a transfer", tail)
    state += check_transfer_ledger(
        ctx,
        transfer=transfer,
        source_before=heads[0],
        source_after=tails[0],
        destination_before=heads[1],
        destination_after=tails[1],
    )
    requirement, read_history = history
    listed = read_history()
    found += ok(ctx, requirement, "transfer history of the source", listed)
    found += check_transfer_history(ctx, transfer=transfer, history=listed)
    return state, found


def _unchanged(
    ctx: CheckContext, requirement: str, transfer: Exchange, before: list[Any], after: list[Any]
) -> list[Finding]:
    """Both balances as they were; compare_transfer's findings filed under `requirement`."""
    return [
        dataclasses.replace(f, requirement=requirement)
        for f in compare_transfer(
            ctx,
            transfer=transfer,
            source_before=before[0],
            source_after=after[0],
            destination_before=before[1],
            destination_after=after[1],
        )
    ]


@pytest.mark.requirement(
    "XFERCHK-OTP-ISSUE", "XFER-OTP-REQUIRED", "PTS-ERR-808", "XFER-STATE-REJECTED"
)
def test_otp_is_single_use(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    require_customer: Callable[[str], Customer],
    writes_allowed: bool,
) -> None:
    """An issued OTP lets one transfer through; the same code on a second transfer is refused
    (808 in strict runs: 003 names no code for a spent OTP, D-087)."""
    source, destination = _with_ids(require_customer)
    program = _program(source)
    code, found = obtain_otp(client, check_context, target, source, destination)
    findings.add(found)
    if code is None:
        return
    body = _transfer_body(source, destination, 2, code, "points-conformance single-use OTP")
    first = client.request(TRANSFER, "POST", PATHS[TRANSFER], json=body)
    findings.add(ok(check_context, "XFERCHK-OTP-ISSUE", "a transfer with a fresh OTP", first))
    if not answered(first, strict=check_context.strict):
        return
    pair = [source, destination]
    read_pair = balances_of(client, check_context, target, pair, program, "XFER-STATE-REJECTED")
    before, found = read_pair()
    findings.add(found)
    if before is None:
        return
    second = client.request(TRANSFER, "POST", PATHS[TRANSFER], json=body)
    codes = {808} if check_context.strict else set()
    findings.add(expect_error(check_context, second, codes=codes, requirement="XFER-OTP-REQUIRED"))
    after, found = read_pair()
    findings.add(found)
    if after is not None:
        state = _unchanged(check_context, "XFER-STATE-REJECTED", second, before, after)
        add_state(findings, state, read_pair, TRANSFER_PAIR)


# Transfers sent at once, each of just over half the source's balance: one fits, two do not.
CONCURRENT = 2


@pytest.mark.requirement("XFER-STATE-CONSERVE")
def test_concurrent_transfers_cannot_overdraw(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    require_customer: Callable[[str], Customer],
    writes_allowed: bool,
) -> None:
    """Transfers that together exceed the source's balance, sent at once: the balance check and
    the move are one step, so the source never pays out more than it held. What moved is then
    sent back."""
    source, destination = _with_ids(require_customer)
    program = _program(source)
    read_pair = balances_of(client, check_context, target, [source, destination], program)
    before, found = read_pair()
    findings.add(found)
    if before is None:
        return
    amount = int(before[0].value // 2) + 1
    if amount > before[0].value:
        pytest.skip(f"customers.transfer_from holds {before[0].value} points: too few to split")
    codes: list[str] = []
    for _ in range(CONCURRENT):
        code, found = obtain_otp(client, check_context, target, source, destination)
        findings.add(found)
        if code is None:
            return
        codes.append(code)
    bodies = [
        _transfer_body(source, destination, amount, code, "points-conformance concurrent transfer")
        for code in codes
    ]
    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        sent = list(
            pool.map(lambda b: client.request(TRANSFER, "POST", PATHS[TRANSFER], json=b), bodies)
        )
    after, found = read_pair()
    findings.add(found)
    state = []
    if after is not None:
        state = compare_concurrent_transfers(
            check_context, transfers=sent, before=before, after=after
        )
    # A 2xx whose errors carry a code is a refusal in the default run (D-016): nothing to return.
    strict = check_context.strict
    moved = sum(1 for ex in sent if is_success(ex) and not refused_in_body(ex, strict=strict))
    moved *= amount
    if moved:
        code, found = obtain_otp(client, check_context, target, destination, source)
        findings.add(found)
        if code is not None:
            back = _transfer_body(destination, source, moved, code, "points-conformance return")
            back_ex = client.request(TRANSFER, "POST", PATHS[TRANSFER], json=back)
            what = f"returning the {Decimal(moved)} points moved"
            findings.add(ok(check_context, "XFER-STATE-CONSERVE", what, back_ex))
    # Judged once what moved is back: a skip for other writes must not leave it moved.
    add_state(findings, state, read_pair, TRANSFER_PAIR)


@pytest.mark.parametrize("case", load_cases("points_transfer_errors", lock="touches"))
def test_transfer_refused(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    require_customer: Callable[[str], Customer],
    writes_allowed: bool,
) -> None:
    """The documented code, and transfer_from's and transfer_to's balances untouched."""
    source, destination = _pair(require_customer)
    program = _program(source)
    resolved, found = _resolve(case, client, check_context, target, (source, destination))
    findings.add(found)
    if found:
        return
    pair = [source, destination]
    read_pair = balances_of(client, check_context, target, pair, program, "XFER-STATE-REJECTED")
    before, found = read_pair()
    findings.add(found)
    if before is None:
        return
    ex = resolved.send(client)
    findings.add(judge(check_context, resolved, ex, target=target))
    # `accepted` says what a case the default run lets through leaves behind when it is
    # accepted: `unchanged` balances (a same-customer or zero transfer), or nothing to compare.
    accepted = resolved.extra.get("accepted") if is_success(ex) else None
    if accepted == "unchecked":
        return
    after, found = read_pair()
    findings.add(found)
    if after is None:
        return
    if accepted == "unchanged":
        state = [
            dataclasses.replace(f, requirement="XFER-STATE-CONSERVE")
            for f in check_transferrable_readonly(
                check_context,
                check_exchange=ex,
                source_before=before[0],
                source_after=after[0],
                destination_before=before[1],
                destination_after=after[1],
            )
        ]
    else:
        state = _unchanged(check_context, "XFER-STATE-REJECTED", ex, before, after)
    add_state(findings, state, read_pair, TRANSFER_PAIR)


@pytest.mark.requirement(
    "XFER-STATE-CONSERVE", "XFER-STATE-LEDGER", "XFER-STATE-HISTORY", "XFERHIST-PARAM-GROUP"
)
@pytest.mark.touches("groups.usergroup2")
def test_group_transfer_end_to_end(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    require_customer: Callable[[str], Customer],
    require_group: Callable[[str], Group],
    writes_allowed: bool,
) -> None:
    """userGroup2/transfer from the group to transfer_to, judged like a customer transfer.

    The group's balance is the signed sum of its whole ledger (no operation shows it).
    """
    group, destination = require_group("usergroup2"), require_customer("transfer_to")
    if not destination.mobile:
        skip_missing("customers.transfer_to.mobile")
    body = group_transfer_body(
        target, group, destination.mobile, points=2, notes="points-conformance group transfer"
    )
    group_before, found = read_group_balance(client, check_context, target, group, None)
    findings.add(found)
    dest_before, found = read_customer_balance(client, check_context, target, destination, None)
    findings.add(found)
    if group_before is None or dest_before is None:
        return
    queries = [group_query(target, group), customer_query(target, destination)]
    heads = side_by_side([partial(read_ledger, client, q) for q in queries])
    ex = client.request(TRANSFER_GROUP, "POST", PATHS[TRANSFER_GROUP], json=body)
    unless_permitted(target, ex)
    findings.add(ok(check_context, "XFER-STATE-CONSERVE", "userGroup2/transfer", ex))
    if not answered(ex, strict=check_context.strict):
        return

    def read_after() -> tuple[list[BalanceReading] | None, list[Finding]]:
        group_after, found = read_group_balance(client, check_context, target, group, None)
        dest_after, more = read_customer_balance(client, check_context, target, destination, None)
        readings = [group_after, dest_after]
        both = [r for r in readings if r is not None]
        return (both if len(both) == 2 else None), found + more

    params = {"identifierName": "id", "identifierValue": group.id, "userEntityType": "USERGROUP2"}
    state, found = _effects(
        check_context,
        client,
        ex,
        before=[group_before, dest_before],
        read_after=read_after,
        heads=heads,
        queries=queries,
        history=(
            "XFERHIST-PARAM-GROUP",
            lambda: client.request(HISTORY, "GET", PATHS[HISTORY], params=params),
        ),
    )
    findings.add(found)
    add_state(findings, state, read_after, ("groups.usergroup2", "customers.transfer_to"))
