"""Reading variants of error bodies, warnings and the points operations of page 003.

Registered after those of readings.py (which imports this module at its end), in the same
registry and with the same helpers: each is a server that took the other reading one register
entry's `stance` allows.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from points_conformance.operations import OPERATIONS, POINTS_OPERATIONS
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.fault_registry import (
    CHECK,
    CHECK_GROUP,
    HISTORY,
    REVERSE,
    TRANSFER,
    TRANSFER_GROUP,
    FaultResult,
)
from points_conformance.reference.formatting import error_body
from points_conformance.reference.params import canonical_names
from points_conformance.reference.readings import reading
from points_conformance.reference.transfers import ok_data
from points_conformance.reference.variants import (
    error_codes,
    on_success,
    rerun,
    respond,
    rewrite_params,
    seen_params,
    switch,
)

# -- error bodies and warnings -----------------------------------------------------------------


@reading(
    "errors-top-level-code",
    discrepancy="D-084",
    description='a refusal\'s body is {"code": ..., "message": ...} (its first error) instead of '
    "an errors list",
)
def _errors_top_level(b: Behaviour, h: Hooks) -> FaultResult:
    def flat(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        errors = body.get("errors") if isinstance(body, dict) else None
        if not 400 <= status < 500 or not isinstance(errors, list) or not errors:
            return status, body
        first = errors[0]
        if not isinstance(first, dict):
            return status, body
        return status, {"code": first.get("code"), "message": first.get("message")}

    return h.then(response_hook=flat)


@reading(
    "warnings-absent-when-empty",
    discrepancy="D-095",
    description="successful answers carry no warnings when there is nothing to report",
)
def _warnings_absent(b: Behaviour, h: Hooks) -> FaultResult:
    def drop(body: dict[str, Any], request: Request) -> None:
        if body.get("warnings") == []:
            del body["warnings"]

    return h.then(response_hook=on_success(OPERATIONS, drop))


@reading(
    "points-errors-http-200",
    discrepancy="D-016",
    description="the points operations of page 003 send their documented errors with HTTP 200 "
    "(the errors list carries the code)",
)
def _points_errors_200(b: Behaviour, h: Hooks) -> FaultResult:
    def ok_status(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        return (200, body) if status == b.error_status and error_codes(body) else (status, body)

    return h.then(response_hook=respond(POINTS_OPERATIONS, ok_status))


reading(
    "reverse-unknown-identifier-816",
    discrepancy="D-110",
    description="a reversal whose identifier no customer has is refused with 816 (customer not "
    "found) instead of 904",
)(switch(err_reverse_unknown_customer=816))


@reading(
    "writes-answer-201",
    discrepancy="D-035",
    description="a transfer, a group transfer and a reversal that succeed answer HTTP 201",
)
def _writes_created(b: Behaviour, h: Hooks) -> FaultResult:
    def created(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        return (201, body) if status == 200 else (status, body)

    return h.then(response_hook=respond((TRANSFER, TRANSFER_GROUP, REVERSE), created))


reading(
    "errors-without-content-type",
    discrepancy="D-096",
    description="refusals carry their JSON body without a Content-Type header",
)(switch(error_media_type=None))


reading(
    "errors-problem-json",
    discrepancy="D-096",
    description="refusals carry their JSON body as application/problem+json",
)(switch(error_media_type="application/problem+json"))


# -- transfers ---------------------------------------------------------------------------------


reading(
    "transfer-same-customer-accepted",
    discrepancy="D-085",
    description="a check or transfer naming the same customer on both sides is answered (the "
    "transfer moves nothing) instead of refused with 418",
)(switch(refuse_same_customer=False))


@reading(
    "check-refusal-as-not-transferrable",
    discrepancy="D-109",
    description="a check of more points than the source holds, or of a customer marked as "
    "fraud, is answered with transferrable false instead of refused",
)
def _check_refusal_as_false(b: Behaviour, h: Hooks) -> FaultResult:
    codes = {b.err_insufficient_points, b.err_source_fraud, b.err_destination_fraud}

    def not_transferrable(
        operation_id: str, request: Request, status: int, body: Any
    ) -> tuple[int, Any]:
        params = seen_params()
        sent = params.get("body") if params is not None else None
        if not set(error_codes(body)) & codes or not isinstance(sent, dict):
            return status, body
        points = sent.get("pointsTobeTransferred")
        return 200, ok_data([{"pointsTobeTransferred": points, "transferrable": False}])

    return h.then(response_hook=respond((CHECK, CHECK_GROUP), not_transferrable))


@reading(
    "check-nonpositive-not-transferrable",
    discrepancy="D-086",
    description="a check of zero or negative points is answered with transferrable false "
    "instead of refused with 801",
)
def _check_nonpositive(b: Behaviour, h: Hooks) -> FaultResult:
    def not_transferrable(
        operation_id: str, request: Request, status: int, body: Any
    ) -> tuple[int, Any]:
        params = seen_params()
        sent = params.get("body") if params is not None else None
        if error_codes(body) != [b.err_points_invalid] or not isinstance(sent, dict):
            return status, body
        points = sent.get("pointsTobeTransferred")
        if not isinstance(points, int | float) or isinstance(points, bool) or points > 0:
            return status, body
        # The same check of one point gives the answer's shape (or another refusal).
        one = {**(params or {}), "body": {**sent, "pointsTobeTransferred": 1}}
        again_status, again = rerun(operation_id, request, one)
        items = again.get("data") if isinstance(again, dict) else None
        if again_status != 200 or not isinstance(items, list) or not items:
            return status, body
        items[0].update(pointsTobeTransferred=points, transferrable=False)
        return again_status, again

    return h.then(response_hook=respond((CHECK, CHECK_GROUP), not_transferrable))


@reading(
    "transfer-without-code-400",
    discrepancy="D-087",
    description="a transfer with a missing or empty OTP code is refused with a generic 400 "
    "instead of 808",
)
def _transfer_without_code(b: Behaviour, h: Hooks) -> FaultResult:
    def generic(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        sent = params.get("body") if params is not None else None
        if error_codes(body) != [b.err_otp] or not isinstance(sent, dict):
            return status, body
        if sent.get("code") not in (None, ""):
            return status, body
        return status, error_body(operation_id, b.err_validation, "code is required.")

    return h.then(response_hook=respond((TRANSFER,), generic))


# -- reversePoints -----------------------------------------------------------------------------


reading(
    "reverse-over-remainder-810",
    discrepancy="D-088",
    description="reversing more than is left of a redemption is refused with 810 instead of 901",
)(switch(err_over_reversal=810))


reading(
    "reverse-points-required",
    discrepancy="D-091",
    description="a reversal without pointsToBeReversed is refused with 901 instead of reversing "
    "what is left of the redemption",
)(switch(reverse_whole_remainder_by_default=False))


@reading(
    "reverse-unlisted-type-by-value",
    discrepancy="D-098",
    description="an identifier type outside mobile, email and externalId is looked up by its "
    "value among the redemption customer's identifiers, and echoed as sent",
)
def _reverse_unlisted_type(b: Behaviour, h: Hooks) -> FaultResult:
    listed = canonical_names(b.reverse_identifier_types)

    def by_value(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        sent = params.get("body") if params is not None else None
        if error_codes(body) != [b.err_reverse_identifier] or not isinstance(sent, dict):
            return status, body
        ident = sent.get("identifier")
        if not isinstance(ident, dict):
            return status, body
        kind = ident.get("type")
        if not isinstance(kind, str) or kind.strip().lower() in listed:
            return status, body
        store = request.app.state.store
        redemption = store.redemption(str(sent.get("redemptionId")))
        if redemption is None:
            return status, body
        customer = int(redemption["customer_id"])
        value = str(ident.get("value"))
        found = next((t for t in listed.values() if store.identifier(customer, t) == value), None)
        if found is None:
            return status, body
        looked_up = {**sent, "identifier": {**ident, "type": found}}
        again_status, again = rerun(operation_id, request, {**(params or {}), "body": looked_up})
        if again_status == 200 and isinstance(again, dict):
            again["identifier"] = {"type": kind, "value": ident.get("value")}
        return again_status, again

    return h.then(response_hook=respond((REVERSE,), by_value))


# -- getPointsTransfers ------------------------------------------------------------------------


@reading(
    "history-unknown-party-empty",
    discrepancy="D-089",
    description="the transfer history of an unknown customer or group is a 200 with data [] "
    "instead of 816",
)
def _history_unknown_empty(b: Behaviour, h: Hooks) -> FaultResult:
    def empty(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        if error_codes(body) != [b.err_customer_not_found]:
            return status, body
        return 200, ok_data([])

    return h.then(response_hook=respond((HISTORY,), empty))


reading(
    "history-lists-incoming",
    discrepancy="D-097",
    description="the transfer history lists the transfers to the party as well as those from it",
)(switch(history_lists_incoming=True))


# -- request bodies ------------------------------------------------------------------------------

_POINTS_FIELDS = {TRANSFER: "pointsTobeTransferred", REVERSE: "pointsToBeReversed"}


@reading(
    "body-number-text-read",
    discrepancy="D-108",
    description="the transfer and the reversal read points written as a string of digits "
    '("2") as the number, as many JSON binders do',
)
def _body_number_text(b: Behaviour, h: Hooks) -> FaultResult:
    def read(params: dict[str, Any], field: str) -> dict[str, Any]:
        body = params.get("body")
        value = body.get(field) if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(value, str) or not value.isdigit():
            return params
        if len(value) > 15:
            return params
        return {**params, "body": {**body, field: int(value)}}

    def hook(params: dict[str, Any]) -> dict[str, Any]:
        for field in _POINTS_FIELDS.values():
            params = read(params, field)
        return params

    return h.then(params_hook=rewrite_params(tuple(_POINTS_FIELDS), hook))
