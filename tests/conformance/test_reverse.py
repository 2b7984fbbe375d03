"""reversePoints (003): reversals that succeed, what they leave behind, and the refusals.

Each successful reversal consumes one of the target's redemptions.reversible_ids (RedemptionPool:
never the same id twice in a run, on any worker; the last id is kept for the refusals, which
must not consume it; one an earlier run against the same server reversed in full is passed over
for the next). Under pytest-xdist all tests hold the redeemer (`touches("redemptions")`), so no
reversal elsewhere moves its balance between a test's readings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from points_conformance.checks import (
    CheckContext,
    check_reversal_ledger,
    check_reversal_twice,
    check_warning_reversal,
)
from points_conformance.checks.readers import answered
from points_conformance.checks.rounding import sum_agrees
from points_conformance.checks.transfer import reversed_amount
from points_conformance.checks.transfer_state import BalanceReading
from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, Finding
from points_conformance.operations import PATHS
from points_conformance.plugin.fixtures import FindingsRecorder, skip_missing
from points_conformance.target import Customer, TargetData

from ._cases import Case, load_cases
from ._points import (
    REVERSE,
    RedemptionPool,
    customer_query,
    judge,
    ok,
    read_customer_balance,
    read_ledger,
    without,
)

pytestmark = [pytest.mark.writes, pytest.mark.touches("redemptions")]

# redemptions.identifier_type (reverse's identifier types) -> the target file's customer field.
REDEEMER_BY_IDENTIFIER: dict[str, Callable[[str], Customer]] = {
    "mobile": lambda value: Customer(role="redeemer", mobile=value),
    "email": lambda value: Customer(role="redeemer", email=value),
    "externalid": lambda value: Customer(role="redeemer", external_id=value),
}


@pytest.fixture
def redemption_pool(request: pytest.FixtureRequest, target: TargetData) -> RedemptionPool:
    return RedemptionPool.of(request, target)


def _redeemer(target: TargetData) -> Customer | None:
    """The customer the redemptions belong to, as far as the target file names them."""
    kind = str(target.redemptions.get("identifier_type") or "")
    value = target.redemptions.get("identifier_value")
    make = REDEEMER_BY_IDENTIFIER.get(kind.lower())
    if make is None or not value:
        return None
    return make(str(value))


@pytest.fixture
def redeemer(target: TargetData) -> Customer:
    found = _redeemer(target)
    if found is None:
        skip_missing("redemptions.identifier_type", "redemptions.identifier_value")
    return found


def _identifier(target: TargetData) -> dict[str, str]:
    return {
        "type": str(target.redemptions["identifier_type"]),
        "value": str(target.redemptions["identifier_value"]),
    }


def _reverse(
    client: ConformanceClient, target: TargetData, redemption: str, points: int | None
) -> Exchange:
    body: dict[str, Any] = {"redemptionId": redemption, "identifier": _identifier(target)}
    if points is not None:
        body["pointsToBeReversed"] = points
    return client.request(REVERSE, "POST", PATHS[REVERSE], json=body)


def _balance_rose(
    ctx: CheckContext, reversal: Exchange, before: BalanceReading, after: BalanceReading
) -> list[Finding]:
    """REV-STATE-BALANCE: the balance rose by pointsReversed (zero for a refused reversal)."""
    amount = reversed_amount(reversal) if 200 <= reversal.response.status < 300 else Decimal(0)
    if amount is None or sum_agrees(after.value, [before.value, amount], strict=ctx.strict):
        return []
    return [
        Finding(
            "REV-STATE-BALANCE",
            "the customer's balance did not rise by the points reversed",
            expected=f"{before.value} + {amount} = {before.value + amount}",
            actual=f"balance {after.value}",
            exchange=reversal,
        )
    ]


@pytest.mark.requirement(
    "REV-STATE-LEDGER", "REV-STATE-BALANCE", "REV-STATE-TWICE", "REV-SCHEMA-REQUEST"
)
def test_reverse_whole_remainder_then_again(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    redemption_pool: RedemptionPool,
    redeemer: Customer,
    writes_allowed: bool,
) -> None:
    """Without pointsToBeReversed the rest is reversed; the ledger and balance show it, and a
    second reversal of the same redemption is 3802 and moves nothing.

    003 gives an omitted pointsToBeReversed no meaning (D-091): the default run also takes a
    refusal, holds an answer to the points it says it reversed, and leaves the second reversal
    to --conformance-strict, since what is left after the first is then unknown.
    """
    query = customer_query(target, redeemer)
    before, found = read_customer_balance(
        client, check_context, target, redeemer, None, "REV-STATE-BALANCE"
    )
    findings.add(found)
    if before is None:
        return
    head = read_ledger(client, query)
    findings.add(ok(check_context, "REV-STATE-LEDGER", "ledger before a reversal", head))
    redemption, first = redemption_pool.first_reversal(
        check_context, lambda r: _reverse(client, target, r, None), lambda ex: ex
    )
    if not check_context.strict and 400 <= first.response.status < 500:
        return
    # pointsToBeReversed is optional: a reversal without it is a valid request.
    what = f"reversal of {redemption} without pointsToBeReversed"
    findings.add(ok(check_context, "REV-SCHEMA-REQUEST", what, first))
    if not answered(first, strict=check_context.strict):
        return
    tail = read_ledger(client, query)
    findings.add(check_reversal_ledger(check_context, reversal=first, after=tail, before=head))
    middle, found = read_customer_balance(
        client, check_context, target, redeemer, None, "REV-STATE-BALANCE"
    )
    findings.add(found)
    if middle is not None:
        findings.add(_balance_rose(check_context, first, before, middle))
    if not check_context.strict:
        return
    second = _reverse(client, target, redemption, None)
    findings.add(check_reversal_twice(check_context, second))
    after, found = read_customer_balance(
        client, check_context, target, redeemer, None, "REV-STATE-BALANCE"
    )
    findings.add(found)
    if middle is not None and after is not None:
        findings.add(
            [
                dataclasses.replace(f, requirement="REV-STATE-TWICE")
                for f in _balance_rose(check_context, second, middle, after)
            ]
        )


@pytest.mark.requirement(
    "REV-ARITH-BOUND", "REV-STATE-LEDGER", "REV-STATE-TWICE", "REV-SCHEMA-REQUEST"
)
def test_reverse_in_parts(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    redemption_pool: RedemptionPool,
    redeemer: Customer,
    writes_allowed: bool,
) -> None:
    """1 point, then the rest, then nothing is left: each reversal shows on the ledger.

    "The rest" is a reversal without pointsToBeReversed (D-091): the default run also takes a
    refusal of it and does not ask what a further reversal meets.
    """
    query = customer_query(target, redeemer)
    redemption = ""
    for points in (1, None):
        head = read_ledger(client, query)
        if points is None:
            ex = _reverse(client, target, redemption, points)
        else:
            redemption, ex = redemption_pool.first_reversal(
                check_context, lambda r: _reverse(client, target, r, 1), lambda ex: ex
            )
        if points is None and not check_context.strict and 400 <= ex.response.status < 500:
            return
        what = f"reversal of {points or 'the rest'} of {redemption}"
        rule = "REV-ARITH-BOUND" if points is not None else "REV-SCHEMA-REQUEST"
        findings.add(ok(check_context, rule, what, ex))
        if not answered(ex, strict=check_context.strict):
            return
        if points is not None and reversed_amount(ex) != Decimal(points):
            findings.add(
                [
                    Finding(
                        "REV-ARITH-BOUND",
                        "a partial reversal did not reverse the points asked for",
                        expected=f"pointsReversed {points}",
                        actual=f"pointsReversed {reversed_amount(ex)}",
                        exchange=ex,
                    )
                ]
            )
        tail = read_ledger(client, query)
        findings.add(check_reversal_ledger(check_context, reversal=ex, after=tail, before=head))
    if check_context.strict:
        findings.add(
            check_reversal_twice(check_context, _reverse(client, target, redemption, None))
        )


@pytest.mark.parametrize("case", load_cases("points_reverse_errors", lock="touches"))
def test_reverse_refused(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    redemption_pool: RedemptionPool,
    writes_allowed: bool,
) -> None:
    if case.uses("probe") and redemption_pool.probe is None:
        skip_missing("redemptions.reversible_ids")
    resolved = case.resolve(target, probe={"redemption_id": redemption_pool.probe})
    drop = resolved.extra.get("drop") or []
    if drop:
        resolved = dataclasses.replace(resolved, json=without(resolved.json, list(drop)))
    # A refusal may come as a warning of a 2xx answer (D-036); the ledger shows it moved nothing.
    expect = resolved.expect if isinstance(resolved.expect, dict) else {}
    warned = [f"PTS-WARN-{code}" for code in expect.get("warning") or ()]
    customer = _redeemer(target) if warned else None
    query = customer_query(target, customer) if customer is not None else None
    before = read_ledger(client, query) if query is not None else None
    ex = resolved.send(client)
    findings.add(judge(check_context, resolved, ex, target=target))
    if query is not None and before is not None and 200 <= ex.response.status < 300:
        after = read_ledger(client, query)
        findings.add(
            check_warning_reversal(
                check_context, reversal=ex, before=before, after=after, requirements=warned
            )
        )
