"""Reading variants of getCrossMemberLedger (page 002) for register entries D-090 to D-094.

Registered after the readings of readings.py (which imports this module at its end), in the
same registry and with the same helpers: each is a server that took the other reading one
register entry's `stance` allows.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request

from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.fault_registry import CML, FaultResult
from points_conformance.reference.formatting import error_body, fmt_points, points_number
from points_conformance.reference.readings import reading
from points_conformance.reference.store_schema import OWNER_CUSTOMER
from points_conformance.reference.variants import entries_of, on_success, respond


def _payload(body: dict[str, Any]) -> dict[str, Any]:
    """The answer's object, inside `entity` when the server wraps it."""
    inner = body.get("entity")
    return inner if isinstance(inner, dict) else body


def _milli(text: Any) -> int | None:
    try:
        return int(Decimal(str(text)) * 1000)
    except InvalidOperation:
        return None


@reading(
    "cml-past-last-page-1003",
    discrepancy="D-090",
    description="a pageNumber past the last page is refused with 1003 instead of answered with "
    "no entries",
)
def _cml_past_last_refused(b: Behaviour, h: Hooks) -> FaultResult:
    def refuse(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        if status != 200 or not isinstance(body, dict):
            return status, body
        payload = _payload(body)
        pages = payload.get("pageDetails")
        if payload.get("entries") or not isinstance(pages, dict):
            return status, body
        number, count = pages.get("pageNumber"), pages.get("pageCount")
        # Page 1 of nothing is the query's whole answer, not a page past it.
        if not isinstance(number, int) or not isinstance(count, int) or number <= max(count, 1):
            return status, body
        message = f"pageNumber {number} is past the last page ({count})."
        return b.error_status, error_body(operation_id, b.err_cml_page, message)

    return h.then(response_hook=respond((CML,), refuse))


@reading(
    "cml-user-net-own-share",
    discrepancy="D-092",
    description="with scope=user, netPointsOnEvent is the caller's share: the sum of the rows of "
    "the customer the path names",
)
def _cml_user_net_own(b: Behaviour, h: Hooks) -> FaultResult:
    def own_share(body: dict[str, Any], request: Request) -> None:
        if request.query_params.get("scope", b.cml_default_scope) != "user":
            return
        caller = str(request.path_params.get("id", "")).strip()
        for entry in entries_of(body):
            rows = [r for r in entry.get("entryDetails") or [] if isinstance(r, dict)]
            shares = [_milli(r.get("points")) for r in rows if str(r.get("customerId")) == caller]
            if all(s is not None for s in shares):
                entry["netPointsOnEvent"] = fmt_points(
                    sum(s for s in shares if s is not None), b.points_decimals
                )

    return h.then(response_hook=on_success((CML,), own_share))


@reading(
    "cml-members-all-listed",
    discrepancy="D-093",
    description="groupDetails.members lists every member, inactive ones too; memberCount and "
    "groupBalance count the active members",
)
def _cml_members_all(b: Behaviour, h: Hooks) -> FaultResult:
    def every_member(body: dict[str, Any], request: Request) -> None:
        details = _payload(body).get("groupDetails")
        if not isinstance(details, dict) or not isinstance(details.get("groupId"), int):
            return
        store = request.app.state.store
        details["members"] = [
            {
                "customerId": int(m["customer_id"]),
                "balance": points_number(
                    store.category_balance(
                        OWNER_CUSTOMER, int(m["customer_id"]), b.cml_balance_category
                    )
                ),
            }
            for m in store.group_members(details["groupId"])
        ]

    return h.then(response_hook=on_success((CML,), every_member))


@reading(
    "cml-reversed-amount-negative",
    discrepancy="D-094",
    description="reversedAmount is written negative, the points given back to the member's "
    "contribution counted as a debit of the redemption",
)
def _cml_reversed_negative(b: Behaviour, h: Hooks) -> FaultResult:
    def negative(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            for row in entry.get("entryDetails") or []:
                amount = _milli(row.get("reversedAmount")) if isinstance(row, dict) else None
                if amount:
                    row["reversedAmount"] = fmt_points(-abs(amount), b.points_decimals)

    return h.then(response_hook=on_success((CML,), negative))
