"""Reading variants of the ledger balance's pages and of the answers' shapes (OpenAPI description).

Each is a server that took the other reading a register entry's stance allows (D-079, D-083,
D-099 to D-106), registered on the readings of `readings` after theirs.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request

from points_conformance.operations import LEDGER_OPERATIONS, OPERATIONS
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
from points_conformance.reference.store_schema import OWNER_CUSTOMER
from points_conformance.reference.variants import (
    details_of,
    entries_of,
    on_success,
    query_pairs,
    replace_value,
    rerun,
    respond,
    rewrite_params,
    seen_params,
    with_query,
    without_query,
)

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


@reading(
    "balance-whole-on-every-page",
    discrepancy="D-079",
    description="every page of the ledger balance shows the first page's closing balances; "
    "totalEntries and pageCount count the customer's ledger entries",
)
def _balance_whole_on_every_page(b: Behaviour, h: Hooks) -> FaultResult:
    def whole(body: dict[str, Any], request: Request) -> None:
        details = details_of(body)
        customer = body.get("customerDetails")
        if not details or not isinstance(customer, dict):
            return
        params = seen_params() or {}
        first = [(k, v) for k, v in query_pairs(params) if k != "offset"]
        first.append(("offset", str(b.balance_offset_base)))
        status, answer = rerun(BALANCE, request, with_query(params, first))
        if status != 200 or not isinstance(answer, dict):
            return
        details["ledgerClosingBalance"] = details_of(answer).get("ledgerClosingBalance", [])
        row = (
            request.app.state.store.conn()
            .execute(
                "SELECT COUNT(*) FROM ledger_events WHERE owner_kind = ? AND owner_id = ?",
                (OWNER_CUSTOMER, customer.get("userId")),
            )
            .fetchone()
        )
        details["totalEntries"] = int(row[0])
        details["pageCount"] = math.ceil(int(row[0]) / int(details["pageSize"]))

    return h.then(response_hook=on_success((BALANCE,), whole))


def _without_reference(ref: Any) -> bool:
    """The redemptions this server holds as made without an externalReferenceNumber."""
    return isinstance(ref, str) and ref[-1:] in ("0", "5")


@reading(
    "cml-transaction-ref-null",
    discrepancy="D-102",
    description="redemptions whose reference ends in 0 or 5 were made without one: their "
    "entries carry transactionRef null, and no filter finds them by it",
)
def _cml_transaction_ref_null(b: Behaviour, h: Hooks) -> FaultResult:
    def unknown_ref(params: dict[str, Any]) -> dict[str, Any]:
        pairs = query_pairs(params)
        if not any(k == "transactionRef" and _without_reference(v) for k, v in pairs):
            return params
        # A reference nobody passed matches no entry.
        return replace_value(
            params,
            "transactionRef",
            lambda v: "NO-SUCH-REFERENCE" if _without_reference(v) else v,
        )

    def null_refs(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            if _without_reference(entry.get("transactionRef")):
                entry["transactionRef"] = None

    return h.then(
        params_hook=rewrite_params((CML,), unknown_ref),
        response_hook=on_success((CML,), null_refs),
    )


@reading(
    "error-codes-as-digit-strings",
    discrepancy="D-100",
    description='refusals give each code of `errors` as a string of digits ("8015")',
)
def _error_codes_as_strings(b: Behaviour, h: Hooks) -> FaultResult:
    def strings(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        errors = body.get("errors") if isinstance(body, dict) and status >= 400 else None
        for error in errors or []:
            if isinstance(error, dict) and isinstance(error.get("code"), int):
                error["code"] = str(error["code"])
        return status, body

    return h.then(response_hook=respond(OPERATIONS, strings))


@reading(
    "cml-iso-dates-without-zone",
    discrepancy="D-105",
    description="createdDateISO and expiryBatchDate are UTC date-times without a zone designator",
)
def _cml_iso_without_zone(b: Behaviour, h: Hooks) -> FaultResult:
    def local(node: dict[str, Any], key: str) -> None:
        value = node.get(key)
        if isinstance(value, str) and value.endswith("Z"):
            node[key] = value[:-1]

    def strip(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            local(entry, "createdDateISO")
            for row in entry.get("entryDetails") or []:
                if isinstance(row, dict):
                    local(row, "expiryBatchDate")

    return h.then(response_hook=on_success((CML,), strip))


@reading(
    "balance-limit-clamped",
    discrepancy="D-106",
    description="a balance limit above 10 is answered with pages of 10 instead of refused",
)
def _balance_limit_clamped(b: Behaviour, h: Hooks) -> FaultResult:
    def clamp(params: dict[str, Any]) -> dict[str, Any]:
        pairs = query_pairs(params)
        too_many = [
            k == "limit" and v.strip().isdigit() and int(v) > b.balance_max_limit for k, v in pairs
        ]
        if not any(too_many):
            return params
        limit = str(b.balance_max_limit)
        return with_query(
            params, [(k, limit if t else v) for (k, v), t in zip(pairs, too_many, strict=True)]
        )

    return h.then(params_hook=rewrite_params((BALANCE,), clamp))


@reading(
    "balance-unknown-in-source-11012",
    discrepancy="D-083",
    description="a balance asked for with a source the customer is absent from is refused with "
    "11012 instead of 8015",
)
def _balance_source_11012(b: Behaviour, h: Hooks) -> FaultResult:
    def other_code(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        if "source" not in request.query_params or not isinstance(body, dict):
            return status, body
        for error in body.get("errors") or []:
            if isinstance(error, dict) and error.get("code") == b.err_unknown_customer:
                error["code"] = b.err_unknown_user_id
        return status, body

    return h.then(response_hook=respond((BALANCE,), other_code))


@reading(
    "balance-entry-type-ignored",
    discrepancy="D-081",
    description="ledgerEntryType is ignored by the ledger balance: every value gives the whole "
    "balance",
)
def _balance_entry_type_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    def drop(params: dict[str, Any]) -> dict[str, Any]:
        return without_query(params, ("ledgerEntryType",))

    return h.then(params_hook=rewrite_params((BALANCE,), drop))


@reading(
    "balance-end-date-ten-hours-ahead",
    discrepancy="D-082",
    description="the balance reads endDate on a clock 10 hours ahead of ledgerCreatedDate's",
)
def _balance_end_date_shifted(b: Behaviour, h: Hooks) -> FaultResult:
    def earlier(value: str) -> str:
        try:
            end = datetime.strptime(value, b.ledger_date_format)
        except ValueError:
            return value
        if end.strftime(b.ledger_date_format) != value:
            return value
        return (end - timedelta(hours=10)).strftime(b.ledger_date_format)

    def shift(params: dict[str, Any]) -> dict[str, Any]:
        pairs = query_pairs(params)
        return with_query(params, [(k, earlier(v) if k == "endDate" else v) for k, v in pairs])

    return h.then(params_hook=rewrite_params((BALANCE,), shift))


@reading(
    "balance-without-opening-balances",
    discrepancy="D-080",
    description="closing balances leave out the points of OPENING_BALANCE rows",
)
def _balance_without_opening(b: Behaviour, h: Hooks) -> FaultResult:
    def key(row: dict[str, Any]) -> tuple[Any, Any]:
        return row.get("programId"), row.get("pointsCategory")

    def leave_out(body: dict[str, Any], request: Request) -> None:
        params = seen_params() or {}
        pairs = query_pairs(params)
        if any(k == "ledgerEntryType" for k, _ in pairs):
            return
        opening_query = [*pairs, ("ledgerEntryType", "OPENING_BALANCE")]
        status, answer = rerun(BALANCE, request, with_query(params, opening_query))
        if status != 200 or not isinstance(answer, dict):
            return
        opening = {
            key(row): Decimal(str(row.get("closingBalance")))
            for row in details_of(answer).get("ledgerClosingBalance") or []
            if isinstance(row, dict)
        }
        for row in details_of(body).get("ledgerClosingBalance") or []:
            if isinstance(row, dict) and key(row) in opening:
                milli = (Decimal(str(row["closingBalance"])) - opening[key(row)]) * 1000
                row["closingBalance"] = fmt_points(int(milli), b.points_decimals)

    return h.then(response_hook=on_success((BALANCE,), leave_out))
