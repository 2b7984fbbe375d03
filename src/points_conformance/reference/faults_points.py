"""Faults of the points operations: isTransferrable, transferPoints (customer and group),
getPointsTransfers and reversePoints.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request

from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.fault_registry import (
    CHECK,
    CHECK_GROUP,
    HISTORY,
    REVERSE,
    TRANSFER,
    TRANSFER_GROUP,
    FaultResult,
    fault,
)
from points_conformance.reference.transfers import well_formed
from points_conformance.reference.variants import (
    error_codes,
    on_success,
    rerun,
    respond,
    rewrite_params,
    seen_params,
    switch,
    without_query,
)


@fault(
    "check-issue-otp-ignored",
    requirement="XFERCHK-OTP-ISSUE",
    description="issueOtp=true issues no OTP",
    operations=(CHECK,),
)
def _check_issue_otp_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    def no_otp(params: dict[str, Any]) -> dict[str, Any]:
        body = params.get("body")
        if not isinstance(body, dict):
            return params
        return {**params, "body": {k: v for k, v in body.items() if k != "issueOtp"}}

    return h.then(params_hook=rewrite_params((CHECK,), no_otp))


@fault(
    "check-insufficient-is-false",
    requirement="PTS-ERR-804",
    strict_reading="D-109",
    description="a check of more points than the source has answers 200 transferrable=false "
    "instead of 804",
    operations=(CHECK, CHECK_GROUP),
)
def _check_insufficient_false(b: Behaviour, h: Hooks) -> FaultResult:
    def not_transferrable(
        operation_id: str, request: Request, status: int, body: Any
    ) -> tuple[int, Any]:
        if b.err_insufficient_points not in error_codes(body):
            return status, body
        params = seen_params() or {}
        sent: dict[str, Any] = params["body"] if isinstance(params.get("body"), dict) else {}
        item = {"pointsTobeTransferred": sent.get("pointsTobeTransferred"), "transferrable": False}
        return 200, {"data": [item], "warnings": [], "errors": []}

    return h.then(response_hook=respond((CHECK, CHECK_GROUP), not_transferrable))


fault(
    "check-same-customer-419",
    requirement="PTS-ERR-418",
    description="the same customer on both sides is refused with the neighbouring 419",
)(switch(err_same_customer=419))


@fault(
    "group-check-transferrable-text",
    requirement="XFERCHK-FORMAT-TRANSFERRABLE",
    description='userGroup2/isTransferrable answers transferrable as the string "true"',
    operations=(CHECK_GROUP,),
)
def _check_group_string(b: Behaviour, h: Hooks) -> FaultResult:
    def as_text(body: dict[str, Any], request: Request) -> None:
        for item in body.get("data") or []:
            if isinstance(item, dict) and isinstance(item.get("transferrable"), bool):
                item["transferrable"] = "true" if item["transferrable"] else "false"

    return h.then(response_hook=on_success((CHECK_GROUP,), as_text))


@fault(
    "check-fraud-codes-swapped",
    requirement="PTS-ERR-415",
    description="source and destination fraud codes are swapped (415 for the destination, "
    "414 for the source)",
)
def _check_fraud_swapped(b: Behaviour, h: Hooks) -> FaultResult:
    return replace(
        b, err_source_fraud=b.err_destination_fraud, err_destination_fraud=b.err_source_fraud
    )


# -- transfers ---------------------------------------------------------------------------------


fault(
    "transfer-otp-not-checked",
    requirement="XFER-OTP-REQUIRED",
    description="the OTP is never checked: a transfer without a code or with a wrong one goes "
    "through",
)(switch(transfer_requires_otp=False))


fault(
    "transfer-otp-reusable",
    requirement="XFER-OTP-REQUIRED",
    description="an OTP stays valid after a transfer used it",
)(switch(otp_single_use=False))


fault(
    "transfer-not-atomic",
    requirement="XFER-STATE-CONSERVE",
    description="the balance is checked in one transaction and the points moved in another, "
    "so concurrent transfers overdraw the source",
    operations=(TRANSFER,),
)(switch(transfer_check_apart=0.3))


@fault(
    "transfer-credit-not-written",
    requirement="XFER-STATE-CONSERVE",
    description="the source is debited but the destination's credit is never written",
    operations=(TRANSFER,),
)
def _transfer_not_credited(b: Behaviour, h: Hooks) -> FaultResult:
    def drop_credit(body: dict[str, Any], request: Request) -> None:
        items = body.get("data") or []
        transfer_id = items[0].get("transferId") if items and isinstance(items[0], dict) else None
        if not isinstance(transfer_id, int):
            return
        store = request.app.state.store
        with store.write() as conn:
            row = conn.execute(
                "SELECT credit_event_id, to_kind, to_id, program_id, points"
                " FROM transfers WHERE transfer_id = ?",
                (transfer_id,),
            ).fetchone()
            if row is None:
                return
            conn.execute("DELETE FROM ledger_rows WHERE event_log_id = ?", (row[0],))
            conn.execute("DELETE FROM ledger_events WHERE event_log_id = ?", (row[0],))
            conn.execute(
                "UPDATE balances SET balance = balance - ? WHERE owner_kind = ? AND owner_id = ?"
                " AND program_id = ? AND category = ? AND currency = ''",
                (row[4], row[1], row[2], row[3], b.transfer_category),
            )

    return h.then(response_hook=on_success((TRANSFER,), drop_credit))


@fault(
    "transfer-history-misses-newest",
    requirement="XFER-STATE-HISTORY",
    description="GET /v2/points/transfer leaves out the most recent transfer",
    operations=(HISTORY,),
)
def _history_misses_newest(b: Behaviour, h: Hooks) -> FaultResult:
    def drop_newest(body: dict[str, Any], request: Request) -> None:
        data = body.get("data")
        if isinstance(data, list) and data:
            body["data"] = data[1:]

    return h.then(response_hook=on_success((HISTORY,), drop_newest))


fault(
    "transfer-insufficient-803",
    requirement="PTS-ERR-804",
    strict_reading="D-048",
    description="insufficient points are refused with the neighbouring 803",
)(switch(err_insufficient_points=803))


fault(
    "transfer-points-invalid-400",
    requirement="PTS-ERR-801",
    strict_reading="D-086",
    description="points that are not a positive number are refused with a generic code 400",
)(switch(err_points_invalid=400))


fault(
    "transfer-unknown-customer-815",
    requirement="PTS-ERR-816",
    description="an unknown customer is refused with the neighbouring 815",
)(switch(err_customer_not_found=815))


@fault(
    "group-transfer-from-customer",
    requirement="XFER-FORMAT-RESULT",
    description="userGroup2/transfer reports fromEntityType CUSTOMER (the member who asked) "
    "for a transfer out of a group",
    operations=(TRANSFER_GROUP,),
)
def _transfer_group_from_type(b: Behaviour, h: Hooks) -> FaultResult:
    def customer(body: dict[str, Any], request: Request) -> None:
        for item in body.get("data") or []:
            if isinstance(item, dict) and "fromEntityType" in item:
                item["fromEntityType"] = "CUSTOMER"

    return h.then(response_hook=on_success((TRANSFER_GROUP,), customer))


# -- GET /v2/points/transfer -------------------------------------------------------------------


@fault(
    "history-without-credentials",
    requirement="COMMON-AUTH-401",
    description="GET /v2/points/transfer answers without valid credentials",
    operations=(HISTORY,),
)
def _history_without_credentials(b: Behaviour, h: Hooks) -> FaultResult:
    def open_door(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        if status != b.auth_status or params is None:
            return status, body
        return rerun(operation_id, request, params)

    return h.then(response_hook=respond((HISTORY,), open_door))


@fault(
    "history-group-as-customer",
    requirement="XFERHIST-PARAM-GROUP",
    description="userEntityType is ignored: a group id is looked up as a customer",
)
def _history_group_as_customer(b: Behaviour, h: Hooks) -> FaultResult:
    def customer(params: dict[str, Any]) -> dict[str, Any]:
        return without_query(params, ("userEntityType",))

    return h.then(params_hook=rewrite_params((HISTORY,), customer))


@fault(
    "history-email-unsupported",
    requirement="XFERHIST-PARAM-IDENTIFIER",
    description="identifierName=email is refused as an unsupported identifier",
)
def _history_email_unsupported(b: Behaviour, h: Hooks) -> FaultResult:
    kept = tuple(t for t in b.transfer_group_customer_id_types if t != "email")
    return replace(b, transfer_group_customer_id_types=kept)


# -- reversePoints -----------------------------------------------------------------------------


@fault(
    "reverse-again-accepted",
    requirement="REV-STATE-TWICE",
    description="reversing a fully reversed redemption answers 200 with 0 points reversed",
)
def _reverse_again_accepted(b: Behaviour, h: Hooks) -> FaultResult:
    def accept(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        sent = params.get("body") if params is not None else None
        if b.err_already_reversed not in error_codes(body) or not isinstance(sent, dict):
            return status, body
        redemption = request.app.state.store.redemption(str(sent.get("redemptionId")))
        answer: dict[str, Any] = {
            "redemptionId": sent.get("redemptionId"),
            "pointsToBeReversed": 0,
            "orgId": int(redemption["org_id"]) if redemption is not None else None,
            "identifier": sent.get("identifier"),
            "customerId": int(redemption["customer_id"]) if redemption is not None else None,
            "pointsReversed": 0,
            "reversalId": "",
            "warnings": [],
        }
        return 200, answer

    return h.then(response_hook=respond((REVERSE,), accept))


fault(
    "reverse-3802-as-3801",
    requirement="PTS-ERR-3802",
    description="an already reversed redemption is refused with the neighbouring 3801",
)(switch(err_already_reversed=3801))


@fault(
    "reverse-unknown-902-as-901",
    requirement="PTS-ERR-902",
    description="an unknown redemptionId is refused with 901 (invalid id) instead of 902",
)
def _reverse_902_as_901(b: Behaviour, h: Hooks) -> FaultResult:
    return replace(b, err_redemption_not_found=b.err_reverse_invalid)


@fault(
    "reverse-identifier-unchecked",
    requirement="REV-PARAM-IDENTIFIER-MATCH",
    description="the identifier is not matched against the redemption's customer",
)
def _reverse_identifier_unchecked(b: Behaviour, h: Hooks) -> FaultResult:
    def anyone(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        sent = params.get("body") if params is not None else None
        if b.err_reverse_identifier not in error_codes(body) or not isinstance(sent, dict):
            return status, body
        ident = sent.get("identifier")
        if not isinstance(ident, dict) or not isinstance(ident.get("type"), str):
            return status, body
        store = request.app.state.store
        redemption = store.redemption(str(sent.get("redemptionId")))
        types = {t.lower(): t for t in b.reverse_identifier_types}
        kind = types.get(ident["type"].strip().lower())
        if redemption is None or kind is None or ident.get("value") in (None, ""):
            return status, body
        owner_value = store.identifier(int(redemption["customer_id"]), kind)
        if owner_value is None:
            return status, body
        swapped = {**sent, "identifier": {**ident, "value": owner_value}}
        again_status, again = rerun(operation_id, request, {**(params or {}), "body": swapped})
        if again_status == 200 and isinstance(again, dict):
            again["identifier"] = {"type": kind, "value": ident.get("value")}
        return again_status, again

    return h.then(response_hook=respond((REVERSE,), anyone))


fault(
    "reverse-points-mandatory",
    requirement="REV-SCHEMA-REQUEST",
    strict_reading="D-091",
    description="pointsToBeReversed is mandatory: without it the reversal is refused with 901",
)(switch(reverse_whole_remainder_by_default=False))


def _points_default_one(params: dict[str, Any]) -> dict[str, Any]:
    body = params.get("body")
    if not isinstance(body, dict) or "pointsTobeTransferred" in body:
        return params
    return {**params, "body": {**body, "pointsTobeTransferred": 1}}


@fault(
    "check-points-default-one",
    requirement="XFERCHK-SCHEMA-REQUEST",
    description="a body without pointsTobeTransferred is checked as a transfer of 1 point",
    operations=(CHECK,),
)
def _check_points_default_one(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(params_hook=rewrite_params((CHECK,), _points_default_one))


@fault(
    "check-group-points-default-one",
    requirement="XFERCHK-SCHEMA-REQUEST-GROUP",
    description="a group check without pointsTobeTransferred is checked as a transfer of 1 point",
    operations=(CHECK_GROUP,),
)
def _check_group_points_default_one(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(params_hook=rewrite_params((CHECK_GROUP,), _points_default_one))


@fault(
    "history-identifier-name-default-mobile",
    requirement="XFERHIST-PARAM-REQUIRED",
    description="without identifierName, identifierValue is read as a mobile number",
    operations=(HISTORY,),
)
def _history_identifier_name_default(b: Behaviour, h: Hooks) -> FaultResult:
    def mobile(params: dict[str, Any]) -> dict[str, Any]:
        query = list(params.get("query") or [])
        if any(k == "identifierName" for k, _ in query):
            return params
        return {**params, "query": [*query, ("identifierName", "mobile")]}

    return h.then(params_hook=rewrite_params((HISTORY,), mobile))


fault(
    "history-source-optional",
    requirement="XFERHIST-PARAM-SOURCE",
    description="a customer's history is answered without source (003 requires it for a customer)",
)(switch(history_customer_requires_source=False))


def _malformed(ident: Any) -> bool:
    """Whether a customer identifier is a MOBILE or EMAIL whose value lacks that form."""
    if not isinstance(ident, dict):
        return False
    kind, value = ident.get("type"), ident.get("value")
    if not isinstance(kind, str) or not isinstance(value, str):
        return False
    kind = kind.strip().lower()
    return kind in ("mobile", "email") and not well_formed(kind, value.strip())


@fault(
    "transfer-malformed-value-816",
    requirement="PTS-ERR-802",
    strict_reading="D-062",
    description="a mobile or email value not of that form is looked up as it is: 816, not 802",
    operations=(CHECK, TRANSFER),
)
def _transfer_malformed_value_816(b: Behaviour, h: Hooks) -> FaultResult:
    def looked_up(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        sent = params.get("body") if params is not None else None
        if b.err_identifier_invalid not in error_codes(body) or not isinstance(sent, dict):
            return status, body
        parties = (sent.get("fromCustomerIdentifier"), sent.get("toCustomerIdentifier"))
        if not any(_malformed(p) for p in parties):
            return status, body
        for error in body.get("errors") or []:
            if isinstance(error, dict) and error.get("code") == b.err_identifier_invalid:
                error["code"] = b.err_customer_not_found
        return status, body

    return h.then(response_hook=respond((CHECK, TRANSFER), looked_up))
