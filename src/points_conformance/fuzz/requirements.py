"""Which catalogue requirements fuzzing speaks for, and which one each failed check breaks.

A fuzz test is evidence for the common rules, its operation's response schema and the
requirements its invalid requests test; a failure of a schemathesis built-in check is tagged
with the one of them it breaks (for a forbidden request that was accepted, by the parameter the
generator made invalid).
"""

from __future__ import annotations

from typing import Any

from schemathesis import Case

from points_conformance.fuzz.exchanges import operation_id_of
from points_conformance.operations import BY_ID, schema_requirement

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


def fuzz_requirements(operation_id: str, *, strict: bool) -> tuple[str, ...]:
    """The requirements a fuzz test of `operation_id` is evidence for."""
    ids = [
        "COMMON-SERVER-ERROR",
        "COMMON-CONTENT-TYPE",
        "COMMON-ERR-ENVELOPE",
        "COMMON-AUTH-401",
        schema_requirement(operation_id),
        *REJECTION[operation_id].values(),
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
