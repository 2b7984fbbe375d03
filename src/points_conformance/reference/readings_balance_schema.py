"""Reading variants of the ledger balance's pages and of the answers' shapes (OpenAPI description).

Each is a server that took the other reading a register entry's stance allows (D-079, D-099,
D-101, D-103, D-104), registered on the readings of `readings` after theirs.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from points_conformance.operations import LEDGER_OPERATIONS
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.fault_registry import (
    BALANCE,
    CHECK,
    CHECK_GROUP,
    CML,
    HISTORY,
    REVERSE,
    TRANSFER,
    TRANSFER_GROUP,
    FaultResult,
)
from points_conformance.reference.formatting import fmt_points
from points_conformance.reference.readings import reading
from points_conformance.reference.variants import on_success

_TRANSFER_ANSWERS = (TRANSFER, TRANSFER_GROUP, HISTORY)
_ID_FIELDS = ("transferId", "toEntityId", "fromEntityId", "userId", "groupId", "customerId")
_AMOUNT_FIELDS = ("pointsTransferred", "deductedPoints", "programCurrentPoints")


@reading(
    "warnings-as-messages",
    discrepancy="D-099",
    description="successful answers carry warnings as an array of message strings",
)
def _warnings_as_messages(b: Behaviour, h: Hooks) -> FaultResult:
    operations = (
        *LEDGER_OPERATIONS,
        CML,
        BALANCE,
        CHECK,
        CHECK_GROUP,
        TRANSFER,
        TRANSFER_GROUP,
        HISTORY,
        REVERSE,
    )

    def messages(body: dict[str, Any], request: Request) -> None:
        if isinstance(body.get("warnings"), list):
            body["warnings"] = ["Points shown are as of the latest posting."]

    return h.then(response_hook=on_success(operations, messages))


def _transfer_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in body.get("data") or [] if isinstance(item, dict)]


@reading(
    "transfer-ids-and-amounts-as-strings",
    discrepancy="D-103",
    description="transfer answers give ids as strings and amounts as decimal strings",
)
def _transfer_strings(b: Behaviour, h: Hooks) -> FaultResult:
    def text(value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return fmt_points(round(value * 1000), b.points_decimals)
        return value

    def strings(node: dict[str, Any]) -> None:
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, int) and not isinstance(value, bool):
                node[key] = str(value)
            elif key in _AMOUNT_FIELDS:
                node[key] = text(value)
            elif isinstance(value, dict):
                strings(value)

    def each(body: dict[str, Any], request: Request) -> None:
        for item in _transfer_items(body):
            strings(item)

    return h.then(response_hook=on_success(_TRANSFER_ANSWERS, each))


@reading(
    "transfer-date-with-milliseconds",
    discrepancy="D-104",
    description="pointsTransferDate carries milliseconds (yyyy-MM-dd HH:mm:ss.SSS)",
)
def _transfer_date_fraction(b: Behaviour, h: Hooks) -> FaultResult:
    def fraction(body: dict[str, Any], request: Request) -> None:
        for item in _transfer_items(body):
            when = item.get("pointsTransferDate")
            if isinstance(when, str) and len(when) == 19:
                item["pointsTransferDate"] = when + ".120"

    return h.then(response_hook=on_success(_TRANSFER_ANSWERS, fraction))


@reading(
    "group-details-without-user-id",
    discrepancy="D-101",
    description="a user group's top-level customerDetails has entityType and no userId",
)
def _group_details_without_user_id(b: Behaviour, h: Hooks) -> FaultResult:
    def drop(body: dict[str, Any], request: Request) -> None:
        details = body.get("customerDetails")
        if isinstance(details, dict) and details.get("entityType") != "CUSTOMER":
            details.pop("userId", None)

    return h.then(response_hook=on_success((*LEDGER_OPERATIONS, BALANCE), drop))
