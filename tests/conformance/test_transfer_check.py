"""isTransferrable and userGroup2/isTransferrable (003): the request matrix and its errors.

Cases are data (cases/points_transfer_check.yaml, cases/points_transfer_check_group.yaml). Every
request is a POST, so the module needs writes (loopback or --allow-writes); a check moves no
points, which the last test holds the server to by reading both balances around it. A check
changes nothing but the OTPs it issues: under pytest-xdist a case that asks for one holds the
customers it names (`touches`), the others hold none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from points_conformance.checks import CheckContext
from points_conformance.client import ConformanceClient
from points_conformance.model import Finding
from points_conformance.operations import PATHS
from points_conformance.plugin.fixtures import FindingsRecorder
from points_conformance.target import Customer, TargetData

from ._cases import Case, load_cases
from ._points import (
    CHECK,
    TRANSFER_PAIR,
    balances_of,
    check_body,
    expectation,
    group_actor,
    judge,
    ok,
    unless_permitted,
    without,
)
from ._settle import add_state

pytestmark = pytest.mark.writes


def _checks(table: str) -> list[Any]:
    """The cases of `table`, each marked with what it changes: the OTP it asks for, if any."""
    params = []
    for param in load_cases(table):
        (case,) = param.values
        issues = isinstance(case.json, dict) and case.json.get("issueOtp") is True
        touched = pytest.mark.touches(*case.named()) if issues else pytest.mark.touches()
        params.append(pytest.param(case, id=param.id, marks=[*param.marks, touched]))
    return params


def _send(
    case: Case, client: ConformanceClient, target: TargetData, **sections: Any
) -> tuple[Case, Any]:
    resolved = case.resolve(target, **sections)
    drop = resolved.extra.get("drop") or []
    if drop:
        resolved = dataclasses.replace(resolved, json=without(resolved.json, list(drop)))
    return resolved, resolved.send(client)


@pytest.mark.parametrize("case", _checks("points_transfer_check"))
def test_customer(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    writes_allowed: bool,
) -> None:
    resolved, ex = _send(case, client, target)
    findings.add(judge(check_context, resolved, ex, target=target))


@pytest.mark.parametrize("case", _checks("points_transfer_check_group"))
def test_user_group(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    writes_allowed: bool,
) -> None:
    resolved, ex = _send(case, client, target, actor=group_actor(target))
    if expectation(resolved, strict=check_context.strict).get("ok"):
        unless_permitted(target, ex)
    findings.add(judge(check_context, resolved, ex, target=target))


@pytest.mark.requirement("XFERCHK-STATE-READONLY", "XFERCHK-OTP-ISSUE")
@pytest.mark.touches(*TRANSFER_PAIR)
def test_check_moves_no_points(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    require_customer: Callable[[str], Customer],
    writes_allowed: bool,
) -> None:
    """Both balances are the same before and after a check that also issues an OTP."""
    source, destination = require_customer("transfer_from"), require_customer("transfer_to")
    program = source.program_ids[0] if source.program_ids else None
    pair = [source, destination]
    read_pair = balances_of(client, check_context, target, pair, program, "XFERCHK-STATE-READONLY")
    before, found = read_pair()
    findings.add(found)
    if before is None:
        return
    body = check_body(target, source, destination, 5, issue=True)
    ex = client.request(CHECK, "POST", PATHS[CHECK], json=body)
    findings.add(ok(check_context, "XFERCHK-OTP-ISSUE", "isTransferrable with issueOtp=true", ex))
    after, found = read_pair()
    findings.add(found)
    if after is None:
        return
    changed = [
        f"{role}: {old.value} → {new.value}"
        for role, old, new in zip(("source", "destination"), before, after, strict=True)
        if old.value != new.value
    ]
    if changed:
        state = [
            Finding(
                "XFERCHK-STATE-READONLY",
                "a transferability check changed a balance",
                expected="both balances unchanged by isTransferrable",
                actual="; ".join(changed),
                exchange=ex,
            )
        ]
        add_state(findings, state, read_pair, TRANSFER_PAIR)
