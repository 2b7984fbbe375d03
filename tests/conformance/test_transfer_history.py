"""GET /v2/points/transfer (003): a customer's or a group's transfer history, and its refusals.

Cases are data (cases/points_transfer_history.yaml). Every listed transfer must come from the
party asked about (`party`), and another identifier of the same party must list the same
transfers (`same_as`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from points_conformance.checks import CheckContext
from points_conformance.checks.readers import as_dict, same_id
from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, Finding
from points_conformance.operations import PATHS
from points_conformance.plugin.fixtures import FindingsRecorder, skip_missing
from points_conformance.target import Customer, Group, TargetData

from ._cases import Case, load_cases, load_table
from ._points import (
    HISTORY,
    TRANSFER_GROUP,
    customer_query,
    data_items,
    group_transfer_body,
    judge,
    ok,
    unless_permitted,
)


def _party_id(item: dict[str, Any], side: str) -> Any:
    """Who a listed transfer came `from` or went `to`: <side>EntityId, else the party object's
    id."""
    if item.get(f"{side}EntityId") is not None:
        return item[f"{side}EntityId"]
    named = "From" if side == "from" else "To"
    for key, id_key in ((f"transferred{named}", "userId"), (f"transferred{named}UserGroup2", "id")):
        party = as_dict(item.get(key))
        if party is not None and party.get(id_key) is not None:
            return party[id_key]
    return None


def _strangers(ctx: CheckContext, requirement: str, party: str, ex: Exchange) -> list[Finding]:
    """003: "the history of points transferred from a group or customer". Whether transfers to
    the party are listed too is not said (D-097): the default run takes them, strict does not."""
    sides = ("from",) if ctx.strict else ("from", "to")
    stray = [
        f"transferId {item.get('transferId')}: from {_party_id(item, 'from')!r}"
        for item in data_items(ex)
        if _party_id(item, "from") is not None
        and not any(same_id(_party_id(item, side), party) for side in sides)
    ]
    if not stray:
        return []
    return [
        Finding(
            requirement,
            "the history lists transfers from another customer or group"
            + ("" if ctx.strict else " and not to this one"),
            expected=f"only transfers from {party}" + ("" if ctx.strict else f" or to {party}"),
            actual="; ".join(stray[:5]) + (f"; … {len(stray) - 5} more" if len(stray) > 5 else ""),
            exchange=ex,
        )
    ]


def _transfer_ids(ex: Exchange) -> list[str]:
    return sorted(str(item.get("transferId")) for item in data_items(ex))


# A party's history grows while the transfer tests run: under pytest-xdist each case holds the
# parties it names (`reads`), so that its two reads never straddle a transfer.
@pytest.mark.parametrize("case", load_cases("points_transfer_history", lock="reads"))
def test_history(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    resolved = case.resolve(target)
    ex = resolved.send(client)
    findings.add(judge(check_context, resolved, ex, target=target))
    if ex.response.status != 200:
        return
    party = resolved.extra.get("party")
    if party:
        findings.add(_strangers(check_context, resolved.requirements[0], str(party), ex))
    twin_id = resolved.extra.get("same_as")
    if not twin_id:
        return
    twin = next(c for c in load_table(case.table) if c.id == twin_id).resolve(target)
    other = twin.send(client)
    findings.add(judge(check_context, twin, other, target=target))
    if other.response.status == 200 and _transfer_ids(other) != _transfer_ids(ex):
        findings.add(
            [
                Finding(
                    resolved.requirements[0],
                    f"two identifiers of one party list different transfers ({case.id}, {twin_id})",
                    expected=f"the transferIds listed for {twin_id}: "
                    + (", ".join(_transfer_ids(other)) or "none"),
                    actual=", ".join(_transfer_ids(ex)) or "none",
                    exchange=ex,
                )
            ]
        )


@pytest.mark.requirement("XFERHIST-PARAM-IDENTIFIER")
@pytest.mark.touches("groups.usergroup2", "customers.transfer_to")
def test_history_of_a_receiving_customer(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    require_customer: Callable[[str], Customer],
    require_group: Callable[[str], Group],
    writes_allowed: bool,
) -> None:
    """After a group transfer to transfer_to, its history lists none of the transfers to it.

    003: "Retrieves the history of points transferred from a group or customer." The default
    run also takes the transfers to the party (D-097), so only strict reads this history.
    """
    if not check_context.strict:
        pytest.skip("whether a history leaves out the transfers to the party is strict's (D-097)")
    group, destination = require_group("usergroup2"), require_customer("transfer_to")
    if not destination.mobile or not destination.id:
        skip_missing("customers.transfer_to.mobile", "customers.transfer_to.id", detail="both")
    body = group_transfer_body(
        target,
        group,
        destination.mobile,
        points=1,
        notes="points-conformance transfer to a history's party",
    )
    ex = client.request(TRANSFER_GROUP, "POST", PATHS[TRANSFER_GROUP], json=body)
    unless_permitted(target, ex)
    if ex.response.status != 200:
        pytest.skip(f"the group transfer to transfer_to was refused (HTTP {ex.response.status})")
    history = client.request(
        HISTORY, "GET", PATHS[HISTORY], params=customer_query(target, destination)
    )
    found = ok(check_context, "XFERHIST-PARAM-IDENTIFIER", "transfer_to's history", history)
    findings.add(found)
    if not found:
        findings.add(
            _strangers(check_context, "XFERHIST-PARAM-IDENTIFIER", destination.id, history)
        )
