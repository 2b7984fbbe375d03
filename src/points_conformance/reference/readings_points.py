"""Reading variants of error bodies, warnings and the points operations of page 003.

Registered after those of readings.py (which imports this module at its end), in the same
registry and with the same helpers: each is a server that took the other reading one register
entry's `stance` allows.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from points_conformance.operations import OPERATIONS
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.fault_registry import HISTORY, FaultResult
from points_conformance.reference.readings import reading
from points_conformance.reference.transfers import ok_data
from points_conformance.reference.variants import (
    error_codes,
    on_success,
    respond,
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


# -- reversePoints -----------------------------------------------------------------------------


reading(
    "reverse-over-remainder-810",
    discrepancy="D-088",
    description="reversing more than is left of a redemption is refused with 810 instead of 901",
)(switch(err_over_reversal=810))


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
