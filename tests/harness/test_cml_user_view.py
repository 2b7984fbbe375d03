"""How the scope=user view of getCrossMemberLedger is held to the group view (D-092)."""

from __future__ import annotations

from typing import Any

from conformance.test_cross_member_ledger import _differing

GROUP_ENTRY: dict[str, Any] = {
    "eventLogId": 7,
    "eventName": "CROSS_MEMBER_REDEMPTION",
    "transactingCustomerId": 1001,
    "transactionRef": "R-7",
    "createdDateISO": "2026-03-01T10:00:00Z",
    "netPointsOnEvent": "-30.000",
    "status": "ACTIVE",
    "entryDetails": [
        {"customerId": 1001, "points": "-10.000", "reversedAmount": "0.000", "status": "ACTIVE"},
        {"customerId": 1002, "points": "-20.000", "reversedAmount": "0.000", "status": "ACTIVE"},
    ],
}


def test_a_user_view_may_show_the_callers_share() -> None:
    # 002: "user: returns only entries where the customer was the transacting member or had
    # points drawn from their wallet." beside "Signed net change across the group for this event."
    own_net = {**GROUP_ENTRY, "netPointsOnEvent": "-10.000"}
    own_rows = {**own_net, "entryDetails": GROUP_ENTRY["entryDetails"][:1]}
    for entry in (own_net, own_rows):
        assert _differing(entry, GROUP_ENTRY, strict=False) == []
    assert _differing(own_net, GROUP_ENTRY, strict=True) == ["netPointsOnEvent"]
    assert _differing(own_rows, GROUP_ENTRY, strict=True) == ["netPointsOnEvent", "entryDetails"]


def test_a_user_view_still_agrees_on_the_event_and_its_rows() -> None:
    foreign_row = {"customerId": 1009, "points": "-5.000", "reversedAmount": "0.000"}
    other = {**GROUP_ENTRY, "transactionRef": "R-8", "entryDetails": [foreign_row]}
    assert _differing(other, GROUP_ENTRY, strict=False) == ["transactionRef", "entryDetails"]
    assert _differing(GROUP_ENTRY, GROUP_ENTRY, strict=False) == []
