"""Which catalogue requirements fuzzing speaks for, and which one each failed check breaks.

A fuzz test is evidence for the common rules, its operation's response schema and the
requirements its invalid requests test; a failure of a schemathesis built-in check is tagged
with the one of them it breaks (for a forbidden request that was accepted, by the parameter the
generator made invalid). `refusal_stated` tells whether a page says such a request is refused.
"""

from __future__ import annotations

from typing import Any

from schemathesis import Case
from schemathesis.core import NOT_SET
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import negated_parameters

from points_conformance.fuzz.exchanges import operation_id_of
from points_conformance.operations import BY_ID, schema_requirement
from points_conformance.spec import load_spec

# The requirement a request the schema forbids breaks when it is accepted, by the parameter the
# generator made invalid (None: any other).
REJECTION: dict[str, dict[str | None, str]] = {
    "getCustomerLedgerInfo": {
        None: "LEDGER-PARAM-REQUIRED",
        "limit": "LEDGER-PARAM-PAGING-RANGE",
        "offset": "LEDGER-PARAM-PAGING-RANGE",
        "startDate": "LEDGER-FORMAT-DATE-PARAM",
        "endDate": "LEDGER-FORMAT-DATE-PARAM",
    },
    "getCustomerLedgerInfoConnectedOrgs": {
        None: "LEDGER-PARAM-REQUIRED",
        "limit": "LEDGER-PARAM-PAGING-RANGE",
        "offset": "LEDGER-PARAM-PAGING-RANGE",
        "startDate": "LEDGER-FORMAT-DATE-PARAM",
        "endDate": "LEDGER-FORMAT-DATE-PARAM",
        "DATA-SCOPE": "CORG-ERR-310144",
        "DATA-SCOPE-ORG": "CORG-ERR-310144",
    },
    "getCrossMemberLedger": {
        None: "CML-PARAM-ID",
        "pageSize": "CML-ERR-1003",
        "pageNumber": "CML-ERR-1003",
        "scope": "CML-ERR-1004",
        "eventName": "CML-ERR-1004",
        "startDate": "CML-ERR-1001",
        "endDate": "CML-ERR-1001",
    },
    "getCustomerLedgerBalance": {None: "BAL-PARAM-REQUIRED", "limit": "BAL-LIMIT-MAX"},
    "isTransferrable": {None: "XFERCHK-SCHEMA-REQUEST"},
    "isTransferrableUserGroup": {None: "XFERCHK-SCHEMA-REQUEST-GROUP"},
    "transferPoints": {None: "XFER-SCHEMA-REQUEST"},
    "transferPointsUserGroup": {None: "XFER-SCHEMA-REQUEST"},
    "getPointsTransfers": {None: "XFERHIST-PARAM-REQUIRED"},
    "reversePoints": {None: "REV-SCHEMA-REQUEST"},
}


# The parameters whose invalid values a page says are refused, by operation, with the code that
# says so. In the default run a forbidden request that was accepted fails only when it made one
# of these (or a required parameter, or the body) invalid: for any other parameter the pages
# never say a value is refused, so a server may ignore it, clamp it or answer empty (D-106).
STATED_REFUSALS: dict[str, dict[str, str]] = {
    "getCustomerLedgerInfo": {
        "identifierName": "8013",
        "ledgerEntryType": "11007",
        "pointCategoryType": "11008",
        "limit": "11029",
        "tillId": "11025",
    },
    "getCustomerLedgerInfoConnectedOrgs": {
        "identifierName": "8013",
        "DATA-SCOPE": "310144",
        "DATA-SCOPE-ORG": "310144",
    },
    "getCrossMemberLedger": {
        "id": "3401",
        "scope": "1004",
        "eventName": "1004",
        "startDate": "1001",
        "endDate": "1001",
        "pageNumber": "1003",
        "pageSize": "1003",
    },
}


def refusal_stated(case: Case[Any]) -> bool:
    """Whether a page says the invalid part of a negative case is refused.

    A body without a mandatory field and a required parameter's absence are stated; of the
    other parameters, only those in `STATED_REFUSALS`. A case that names no part counts as
    stated.
    """
    negated = list(negated_parameters(case.meta))
    if not negated:
        return True
    op = operation_id_of(case)
    return any(
        _body_refusal_stated(op, case.body)
        if location == ParameterLocation.BODY
        else _parameter_refusal_stated(op, name, location.value)
        for name, location in negated
    )


def _body_refusal_stated(operation_id: str, body: Any) -> bool:
    """Whether an invalid body lacks a mandatory field ("All parameters marked by * are
    mandatory", 003), which is all a page says of a body: a value of another type, outside its
    enum or range, or a field no table lists is not said to be refused (D-108)."""
    if body is NOT_SET:
        return True
    return any(
        error.keyword == "required"
        or (error.keyword == "type" and error.message.endswith("is not of type 'object'"))
        for error in load_spec().validate_request_body(operation_id, body, strict=False)
    )


def _parameter_refusal_stated(operation_id: str, name: str, location: str | None = None) -> bool:
    """Whether a page says an invalid `name` is refused: listed with its code, or required."""
    if name in STATED_REFUSALS.get(operation_id, {}):
        return True
    operation = load_spec().operations.get(operation_id)
    if operation is None:
        return False
    return any(
        p["name"] == name and p["required"] and location in (None, p["in"])
        for p in operation.parameters
    )


def fuzz_requirements(operation_id: str, *, strict: bool) -> tuple[str, ...]:
    """The requirements a fuzz test of `operation_id` is evidence for.

    In the default run a rejection requirement counts only when its parameter's refusal is
    stated: fuzzing judges no other negative case there, so it is no evidence for them.
    """
    rejections = [
        requirement
        for parameter, requirement in REJECTION[operation_id].items()
        if strict or parameter is None or _parameter_refusal_stated(operation_id, parameter)
    ]
    ids = [
        "COMMON-SERVER-ERROR",
        "COMMON-CONTENT-TYPE",
        "COMMON-ERR-ENVELOPE",
        "COMMON-AUTH-401",
        schema_requirement(operation_id),
        *rejections,
    ]
    if strict:
        # Only the strict reading fixes the status of documented errors (D-016).
        ids.append("COMMON-ERR-STATUS")
    return tuple(dict.fromkeys(ids))


def _invalid_parameter(case: Case[Any]) -> str | None:
    meta = case.meta
    data = meta.phase.data if meta is not None else None
    parameter = getattr(data, "parameter", None)
    return str(parameter) if parameter else None


def builtin_requirement(check: str, case: Case[Any], status: int) -> str:
    """The catalogue requirement a failure of a schemathesis built-in check breaks."""
    op = operation_id_of(case)
    schema_id = schema_requirement(op) if op in BY_ID else "COMMON-ERR-ENVELOPE"
    if check == "not_a_server_error":
        return "COMMON-SERVER-ERROR"
    if check == "content_type_conformance":
        return "COMMON-CONTENT-TYPE"
    if check == "ignored_auth":
        return "COMMON-AUTH-401"
    if check == "positive_data_acceptance":
        return "COMMON-ERR-STATUS"
    if check == "negative_data_rejection":
        if case.operation.schema.is_security_param_negated(case):
            return "COMMON-AUTH-401"
        table = REJECTION.get(op, {None: schema_id})
        return table.get(_invalid_parameter(case), table[None])
    if status == 401:
        return "COMMON-AUTH-401"
    if status >= 400:
        return "COMMON-ERR-STATUS" if check == "status_code_conformance" else "COMMON-ERR-ENVELOPE"
    return schema_id
