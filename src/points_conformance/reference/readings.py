"""Reading variants of the reference server: servers that took the other documented reading.

The reference server follows the strict reading of every contradiction in the pages
(specs/discrepancies.yaml). Each reading here is a small function registered with
`@reading(name, discrepancy=..., description=...)` that turns it into a server following another
reading, one that the register entry's `stance` explicitly allows and nothing more. They are
built like faults (faults.py: a changed `Behaviour`, hooks run after the existing ones, or both)
and compose with each other and with faults.

The default run of the suite must pass against every reading; `--conformance-strict` should notice those
whose entry is `enforced_by_strict`. `points-conformance selftest --readings` checks both. A
reading's operations and requirements are those of its entry's `affects`, which the harness
reads from the register.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request

from points_conformance.operations import LEDGER_OPERATIONS
from points_conformance.reference.behaviour import NO_BODY, Behaviour, Hooks
from points_conformance.reference.fault_registry import (
    BALANCE,
    CHECK,
    CHECK_GROUP,
    CML,
    HISTORY,
    REVERSE,
    TRANSFER,
    TRANSFER_GROUP,
    FaultFunction,
    FaultResult,
)
from points_conformance.reference.formatting import error_body, fmt_points
from points_conformance.reference.params import parse_int
from points_conformance.reference.transfers import well_formed
from points_conformance.reference.variants import (
    Registry,
    add_user_roles,
    as_number,
    caller_of,
    details_of,
    entries_of,
    error_codes,
    group_details_of,
    on_each_entry,
    on_success,
    points_as_numbers,
    query_pairs,
    respond,
    rewrite_params,
    seen_params,
    switch,
    with_query,
)

DISCREPANCY_ID = re.compile(r"D-\d{3}")
ReadingFunction = FaultFunction


@dataclass(frozen=True)
class ReadingVariant:
    """One registered reading of the register entry `discrepancy`."""

    name: str
    discrepancy: str
    description: str
    function: ReadingFunction


_READINGS: Registry[ReadingVariant] = Registry("reading", "--list-readings")
registry = _READINGS.view  # every reading by name, in registration order
get_reading = _READINGS.get
apply = _READINGS.apply  # the rules and hooks of a server with every named reading


def reading(
    name: str, *, discrepancy: str, description: str
) -> Callable[[ReadingFunction], ReadingFunction]:
    """Register the decorated function as the reading `name` of the entry `discrepancy`."""
    if not DISCREPANCY_ID.fullmatch(discrepancy):
        raise ValueError(f"reading {name!r}: {discrepancy!r} is not a register ID (D-NNN)")

    def register(function: ReadingFunction) -> ReadingFunction:
        _READINGS.add(ReadingVariant(name, discrepancy, description, function))
        return function

    return register


def list_readings() -> list[tuple[str, str, str]]:
    """(name, register entry, description) of every reading, in registration order."""
    return [(r.name, r.discrepancy, r.description) for r in registry().values()]


# -- error codes -------------------------------------------------------------------------------


reading(
    "insufficient-points-803",
    discrepancy="D-048",
    description="more points than the source holds are refused with 803 instead of 804",
)(switch(err_insufficient_points=803))


reading(
    "insufficient-points-818",
    discrepancy="D-048",
    description="more points than the source holds are refused with 818 instead of 804",
)(switch(err_insufficient_points=818))


reading(
    "fraud-417",
    discrepancy="D-049",
    description="a fraud customer on either side is refused with 417 instead of 415 / 414",
)(switch(err_source_fraud=417, err_destination_fraud=417))


reading(
    "already-reversed-812",
    discrepancy="D-050",
    description="reversing a fully reversed redemption is refused with 812 instead of 3802",
)(switch(err_already_reversed=812))


reading(
    "not-enrolled-686",
    discrepancy="D-051",
    description="a customer outside the loyalty programme is refused with 686 instead of 881",
)(switch(err_not_enrolled=686))


def _rewrite_params_by(
    operations: tuple[str, ...], change: Callable[[str, dict[str, Any]], dict[str, Any]]
) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    def hook(operation_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return change(operation_id, params) if operation_id in operations else params

    return hook


# Well-formed values no seeded customer has: a malformed value looked up as it is finds no one.
_NOBODY = {"mobile": "0000000", "email": "nobody@unknown.invalid"}
_TRANSFER_KINDS = {"MOBILE": "mobile", "EMAIL": "email"}


def _unknown_if_malformed(kind: str | None, value: Any) -> Any:
    if kind not in _NOBODY or not isinstance(value, str) or not value.strip():
        return value
    return value if well_formed(kind, value) else _NOBODY[kind]


@reading(
    "malformed-identifier-816",
    discrepancy="D-062",
    description="a value that is not a mobile number or an email address is looked up as it is "
    "and refused with 816 (no such customer) instead of 802",
)
def _malformed_identifier_816(b: Behaviour, h: Hooks) -> FaultResult:
    # Only the malformed-value check is skipped: a missing value or an unknown type stays 802.
    def customer(ident: Any) -> Any:
        if not isinstance(ident, dict) or not isinstance(ident.get("type"), str):
            return ident
        kind = _TRANSFER_KINDS.get(ident["type"].strip().upper())
        return {**ident, "value": _unknown_if_malformed(kind, ident.get("value"))}

    def group_entity(raw: Any) -> Any:
        if not isinstance(raw, dict) or not isinstance(raw.get("identifierType"), str):
            return raw
        kind = raw["identifierType"].strip().lower()
        value = _unknown_if_malformed(kind, raw.get("identifierValue"))
        return {**raw, "identifierValue": value}

    def rewrite(operation_id: str, params: dict[str, Any]) -> dict[str, Any]:
        body = params.get("body")
        if operation_id == HISTORY:
            kind = next(
                (v.strip().lower() for k, v in query_pairs(params) if k == "identifierName"), None
            )
            query = [
                (k, _unknown_if_malformed(kind, v) if k == "identifierValue" else v)
                for k, v in query_pairs(params)
            ]
            return with_query(params, query)
        if not isinstance(body, dict):
            return params
        change: Callable[[Any], Any] = customer
        keys: tuple[str, ...] = ("fromCustomerIdentifier", "toCustomerIdentifier")
        if operation_id not in (CHECK, TRANSFER):
            change, keys = group_entity, ("transferredBy", "fromEntity", "toEntity")
        changed = {k: change(body[k]) for k in keys if k in body}
        return {**params, "body": {**body, **changed}}

    operations = (CHECK, CHECK_GROUP, TRANSFER, TRANSFER_GROUP, HISTORY)
    return h.then(params_hook=_rewrite_params_by(operations, rewrite))


reading(
    "errors-status-422",
    discrepancy="D-016",
    description="documented errors come with HTTP 422 instead of 400 (credentials stay 401)",
)(switch(error_status=422))


@reading(
    "auth-401-empty-body",
    discrepancy="D-060",
    description="missing or wrong credentials: HTTP 401 with an empty body",
)
def _auth_empty_body(b: Behaviour, h: Hooks) -> FaultResult:
    def empty(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        return (status, NO_BODY) if status == b.auth_status else (status, body)

    return h.then(response_hook=empty)


@reading(
    "auth-401-message-only",
    discrepancy="D-060",
    description='missing or wrong credentials: HTTP 401 with {"message": ...} and no errors list',
)
def _auth_message_only(b: Behaviour, h: Hooks) -> FaultResult:
    def message(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        if status != b.auth_status:
            return status, body
        return status, {"message": "Unauthorized"}

    return h.then(response_hook=message)


# -- reversePoints -----------------------------------------------------------------------------


@reading(
    "reverse-errors-as-warnings",
    discrepancy="D-036",
    description="901, 902, 903 and 904 come as warnings of an HTTP 200 answer that reverses "
    "nothing (pointsReversed 0) instead of errors with 400",
)
def _reverse_warnings(b: Behaviour, h: Hooks) -> FaultResult:
    codes = {b.err_reverse_invalid, b.err_redemption_not_found, 903, b.err_reverse_identifier}

    def warn(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        found = error_codes(body)
        if status != b.error_status or not found or not set(found) <= codes:
            return status, body
        params = seen_params() or {}
        sent: dict[str, Any] = params["body"] if isinstance(params.get("body"), dict) else {}
        answer: dict[str, Any] = {"redemptionId": sent.get("redemptionId")}
        if "pointsToBeReversed" in sent:
            answer["pointsToBeReversed"] = sent["pointsToBeReversed"]
        answer["orgId"] = caller_of(request.app.state.store)[0]
        answer["identifier"] = sent.get("identifier", sent.get("Identifier"))
        answer["pointsReversed"] = 0
        answer["warnings"] = [dict(e) for e in body["errors"] if isinstance(e, dict)]
        return 200, answer

    return h.then(response_hook=respond((REVERSE,), warn))


# -- transfers ---------------------------------------------------------------------------------


@reading(
    "transfer-echo-as-sample",
    discrepancy="D-023",
    description="transferPoints reports a smaller pointsTransferred than requested, in the "
    "proportion of page 003's sample (123 requested, 15.0 answered); balances move by the "
    "requested amount",
)
def _transfer_echo_sample(b: Behaviour, h: Hooks) -> FaultResult:
    def smaller(body: dict[str, Any], request: Request) -> None:
        for item in body.get("data") or []:
            points = item.get("pointsTransferred") if isinstance(item, dict) else None
            if isinstance(points, int | float) and not isinstance(points, bool) and points > 0:
                item["pointsTransferred"] = max(round(points * 15 / 123, 1), 0.1)

    return h.then(response_hook=on_success((TRANSFER,), smaller))


@reading(
    "group-fraction-whole-part",
    discrepancy="D-022",
    description="the group check and transfer accept a fractional amount and apply and echo "
    "its whole part (the examples: 10.5 requested, 10.0 answered)",
)
def _group_fraction(b: Behaviour, h: Hooks) -> FaultResult:
    def whole(params: dict[str, Any]) -> dict[str, Any]:
        body = params.get("body")
        points = body.get("pointsTobeTransferred") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(points, float) or points.is_integer():
            return params
        if not 1 <= points < 2**53:
            return params
        return {**params, "body": {**body, "pointsTobeTransferred": int(points)}}

    return h.then(params_hook=rewrite_params((CHECK_GROUP, TRANSFER_GROUP), whole))


# -- getCustomerLedgerInfo (v2 and v2.1) and getCustomerLedgerBalance ---------------------------


@reading(
    "ledger-orgid-duplicated",
    discrepancy="D-007",
    description="ledger entries carry orgID (the 000 tables' name) beside orgId",
)
def _ledger_orgid_duplicated(b: Behaviour, h: Hooks) -> FaultResult:
    def both(entry: dict[str, Any]) -> None:
        if "orgId" in entry:
            entry["orgID"] = entry["orgId"]

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, both))


reading(
    "ledger-entry-customer-userid-0",
    discrepancy="D-015",
    description='entries of a customer\'s own ledger carry customerDetails {"userId": 0} '
    "(as the examples) instead of null",
)(switch(ledger_customer_details_on_customer_entries=True))


reading(
    "ledger-past-last-page-empty",
    discrepancy="D-030",
    description="an offset equal to pageCount (one past the last page) is a 200 with no entries "
    "instead of 11003",
)(switch(ledger_at_page_count_is_error=False))


reading(
    "ledger-no-match-empty",
    discrepancy="D-030",
    description="parameters that match no entry are a 200 with no entries (pageCount 0) "
    "instead of 11003",
)(switch(ledger_empty_is_error=False))


reading(
    "corg-missing-scope-as-self",
    discrepancy="D-032",
    description="v2.1 without DATA-SCOPE is answered as SELF instead of refused with 310144",
)(switch(data_scope_required=False))


@reading(
    "ledger-page-size-shown",
    discrepancy="D-057",
    description="ledger and ledger-balance pageSize is the number of entries on the page "
    "instead of the effective limit",
)
def _ledger_page_size_shown(b: Behaviour, h: Hooks) -> FaultResult:
    def shown(body: dict[str, Any], request: Request) -> None:
        details = details_of(body)
        rows = details.get("ledgerClosingBalance")
        if isinstance(rows, list) and "pageSize" in details:
            details["pageSize"] = len(rows)

    return replace(b, ledger_page_size_is_limit=False), h.then(
        response_hook=on_success((BALANCE,), shown)
    )


@reading(
    "ledger-decimals-as-numbers",
    discrepancy="D-006",
    description="points, netPointsOnEvent, netAlternateCurrenciesOnEvent and closingBalance are "
    "JSON numbers instead of decimal strings",
)
def _ledger_numbers(b: Behaviour, h: Hooks) -> FaultResult:
    def numbers(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            points_as_numbers(entry)
        for row in details_of(body).get("ledgerClosingBalance") or []:
            if isinstance(row, dict):
                row["closingBalance"] = as_number(row.get("closingBalance"))

    return h.then(response_hook=on_success((*LEDGER_OPERATIONS, BALANCE), numbers))


def _iso(stored: Any) -> Any:
    """`YYYY-MM-DD HH:MM:SS.s` as an ISO 8601 date-time without the fraction."""
    return stored.split(".")[0].replace(" ", "T") if isinstance(stored, str) else stored


@reading(
    "ledger-created-date-iso",
    discrepancy="D-034",
    description="ledgerCreatedDate is an ISO 8601 date-time (2024-01-31T10:00:00)",
)
def _ledger_created_iso(b: Behaviour, h: Hooks) -> FaultResult:
    def iso(entry: dict[str, Any]) -> None:
        if "ledgerCreatedDate" in entry:
            entry["ledgerCreatedDate"] = _iso(entry["ledgerCreatedDate"])

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, iso))


@reading(
    "ledger-timestamps-iso",
    discrepancy="D-042",
    description="transactionDetails.date and eventDetails.eventDate are ISO 8601 date-times",
)
def _ledger_timestamps_iso(b: Behaviour, h: Hooks) -> FaultResult:
    def iso(entry: dict[str, Any]) -> None:
        for key, field in (("transactionDetails", "date"), ("eventDetails", "eventDate")):
            part = entry.get(key)
            if isinstance(part, dict) and field in part:
                part[field] = _iso(part[field])

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, iso))


@reading(
    "ledger-entry-userid-string",
    discrepancy="D-040",
    description="an entry's customerDetails.userId is a string of digits (the table's type)",
)
def _ledger_userid_string(b: Behaviour, h: Hooks) -> FaultResult:
    def text(entry: dict[str, Any]) -> None:
        details = entry.get("customerDetails")
        if isinstance(details, dict) and isinstance(details.get("userId"), int):
            details["userId"] = str(details["userId"])

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, text))


@reading(
    "ledger-group-entitytype-usergroup2",
    discrepancy="D-028",
    description="a group ledger reports entityType USERGROUP2 even for a FLEET group",
)
def _ledger_group_entitytype(b: Behaviour, h: Hooks) -> FaultResult:
    def usergroup(body: dict[str, Any], request: Request) -> None:
        details = body.get("customerDetails")
        if isinstance(details, dict) and details.get("entityType") == "FLEET":
            details["entityType"] = "USERGROUP2"

    return h.then(response_hook=on_success(LEDGER_OPERATIONS, usergroup))


@reading(
    "ledger-unknown-id-8015",
    discrepancy="D-031",
    description="an unknown customer is 8015 for identifierName=id too (instead of 11012)",
)
def _ledger_unknown_id(b: Behaviour, h: Hooks) -> FaultResult:
    # Not through the rule: the balance shares it, and the entry speaks of the ledger only.
    def as_8015(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        if error_codes(body) != [b.err_unknown_user_id]:
            return status, body
        message = "Identifier value missing or incorrect"
        return status, error_body(operation_id, b.err_unknown_customer, message)

    return h.then(response_hook=respond(LEDGER_OPERATIONS, as_8015))


@reading(
    "balance-limit-capped",
    discrepancy="D-047",
    description="getCustomerLedgerBalance answers a limit above 10 with pages of 10 "
    "(pageSize 10) instead of refusing it with 11029",
)
def _balance_limit_capped(b: Behaviour, h: Hooks) -> FaultResult:
    def cap(params: dict[str, Any]) -> dict[str, Any]:
        query = []
        for k, v in query_pairs(params):
            number = parse_int(v.strip()) if k == "limit" else None
            too_big = number is not None and number > b.balance_max_limit
            query.append((k, str(b.balance_max_limit) if too_big else v))
        return with_query(params, query)

    return h.then(params_hook=rewrite_params((BALANCE,), cap))


# -- getCrossMemberLedger ----------------------------------------------------------------------


reading(
    "cml-wrapped-in-entity",
    discrepancy="D-013",
    description="the body is wrapped in an entity object, as the quick-reference tree shows",
)(switch(cml_wrap_in_entity=True))


reading(
    "cml-page-size-shown",
    discrepancy="D-012",
    description="pageDetails.pageSize is the number of entries on the page, not the requested size",
)(switch(cml_page_size_echoes_request=False))


@reading(
    "cml-conditional-fields-null",
    discrepancy="D-061",
    description="fields only present on some rows are null elsewhere: status and reversedAmount "
    "on reversal events, userRole with scope=group",
)
def _cml_conditional_null(b: Behaviour, h: Hooks) -> FaultResult:
    def nulls(body: dict[str, Any], request: Request) -> None:
        group_scope = (request.query_params.get("scope") or b.cml_default_scope) == "group"
        for entry in entries_of(body):
            if group_scope and "userRole" not in entry:
                entry["userRole"] = None
            if entry.get("eventName") != "CROSS_MEMBER_REDEMPTION_REVERSAL":
                continue
            entry.setdefault("status", None)
            for row in entry.get("entryDetails") or []:
                if isinstance(row, dict):
                    row.setdefault("reversedAmount", None)
                    row.setdefault("status", None)

    return h.then(response_hook=on_success((CML,), nulls))


@reading(
    "cml-userrole-in-group",
    discrepancy="D-058",
    description="userRole is also given under scope=group (relative to the path's customer)",
)
def _cml_userrole_in_group(b: Behaviour, h: Hooks) -> FaultResult:
    def add_role(body: dict[str, Any], request: Request) -> None:
        if (request.query_params.get("scope") or b.cml_default_scope) != "group":
            return
        add_user_roles(body, str(request.path_params.get("id", "")))

    return h.then(response_hook=on_success((CML,), add_role))


reading(
    "cml-default-page-size-10",
    discrepancy="D-038",
    description="without pageSize, pages hold 10 entries and pageDetails.pageSize says so",
)(switch(cml_default_page_size=10))


@reading(
    "cml-balances-as-strings",
    discrepancy="D-033",
    description="groupBalance and the members' balance are decimal strings like the points",
)
def _cml_balances_strings(b: Behaviour, h: Hooks) -> FaultResult:
    def text(value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return fmt_points(round(value * 1000), b.points_decimals)
        return value

    def strings(body: dict[str, Any], request: Request) -> None:
        group = group_details_of(body)
        if "groupBalance" in group:
            group["groupBalance"] = text(group["groupBalance"])
        for member in group.get("members") or []:
            if isinstance(member, dict) and "balance" in member:
                member["balance"] = text(member["balance"])

    return h.then(response_hook=on_success((CML,), strings))


@reading(
    "cml-unknown-customer-3301",
    discrepancy="D-053",
    description="a customer id that matches no customer is answered with 3301 instead of 3401",
)
def _cml_unknown_3301(b: Behaviour, h: Hooks) -> FaultResult:
    def not_in_group(
        operation_id: str, request: Request, status: int, body: Any
    ) -> tuple[int, Any]:
        if error_codes(body) != [b.err_cml_other_org]:
            return status, body
        customer_id = parse_int(str(request.path_params.get("id", "")).strip())
        store = request.app.state.store
        if customer_id is not None and store.customer(customer_id) is not None:
            return status, body
        message = "The customer is not enrolled in a cross-member-eligible group."
        return status, error_body(operation_id, b.err_cml_not_in_group, message)

    return h.then(response_hook=respond((CML,), not_in_group))


# Imported last, so that the readings of later register entries are listed after these.
from points_conformance.reference import (  # noqa: E402, F401
    readings_balance_schema,
    readings_cross_member,
    readings_ledger,
    readings_points,
)
