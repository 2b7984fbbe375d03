"""Faults of getCrossMemberLedger."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request

from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.fault_registry import (
    CML,
    FaultResult,
    fault,
    ignoring,
    parse_milli,
    query_value,
)
from points_conformance.reference.formatting import fmt_points
from points_conformance.reference.variants import (
    add_user_roles,
    group_details_of,
    on_each_entry,
    on_success,
    query_pairs,
    replace_value,
    respond,
    rewrite_params,
    switch,
    with_query,
)

fault(
    "cml-page-zero-based",
    requirement="CML-PAGE-INDEX",
    description="pageNumber counts from 0 (0 is the first page, the default is 0)",
)(switch(cml_page_base=0))


@fault(
    "cml-userrole-in-group",
    requirement="CML-USERROLE-PRESENCE",
    strict_reading="D-058",
    description="userRole is also given under scope=group (relative to the path's customer)",
)
def _cml_userrole_in_group(b: Behaviour, h: Hooks) -> FaultResult:
    def add_role(body: dict[str, Any], request: Request) -> None:
        if request.query_params.get("scope") != "group":
            return
        add_user_roles(body, str(request.path_params.get("id", "")))

    return h.then(response_hook=on_success((CML,), add_role))


@fault(
    "cml-status-from-first-row",
    requirement="CML-STATUS-AGGREGATE",
    strict_reading="D-094",
    description="an event's status is its first row's status",
)
def _cml_status_first_row(b: Behaviour, h: Hooks) -> FaultResult:
    def first_row(entry: dict[str, Any]) -> None:
        rows = [r for r in entry.get("entryDetails") or [] if isinstance(r, dict)]
        if "status" in entry and rows and "status" in rows[0]:
            entry["status"] = rows[0]["status"]

    return h.then(response_hook=on_each_entry((CML,), first_row))


@fault(
    "cml-row-status-ignores-reversal",
    requirement="CML-STATUS-ROW",
    strict_reading="D-094",
    description="row (and so event) status is ACTIVE whatever the reversedAmount",
)
def _cml_row_status(b: Behaviour, h: Hooks) -> FaultResult:
    def active(entry: dict[str, Any]) -> None:
        for row in entry.get("entryDetails") or []:
            if isinstance(row, dict) and "status" in row:
                row["status"] = "ACTIVE"
        if "status" in entry:
            entry["status"] = "ACTIVE"

    return h.then(response_hook=on_each_entry((CML,), active))


@fault(
    "cml-group-balance-drops-member",
    requirement="CML-ARITH-GROUP-BALANCE",
    description="groupBalance leaves out the last member's balance",
)
def _cml_group_balance(b: Behaviour, h: Hooks) -> FaultResult:
    def drop_last(body: dict[str, Any], request: Request) -> None:
        group = group_details_of(body)
        members = [m for m in group.get("members") or [] if isinstance(m, dict)]
        if len(members) < 2:
            return
        total = sum(Decimal(str(m.get("balance", 0))) for m in members[:-1])
        group["groupBalance"] = float(total)

    return h.then(response_hook=on_success((CML,), drop_last))


@fault(
    "cml-member-count-off-by-one",
    requirement="CML-ARITH-MEMBER-COUNT",
    strict_reading="D-093",
    description="memberCount leaves out the calling member",
)
def _cml_member_count(b: Behaviour, h: Hooks) -> FaultResult:
    def minus_one(body: dict[str, Any], request: Request) -> None:
        group = group_details_of(body)
        if isinstance(group.get("memberCount"), int):
            group["memberCount"] -= 1

    return h.then(response_hook=on_success((CML,), minus_one))


@fault(
    "cml-created-date-utc",
    requirement="CML-DATES-CONSISTENT",
    description="createdDate is left in UTC instead of the organisation's timezone",
)
def _cml_created_utc(b: Behaviour, h: Hooks) -> FaultResult:
    def utc(entry: dict[str, Any]) -> None:
        iso = entry.get("createdDateISO")
        if isinstance(iso, str) and len(iso) >= 19:
            entry["createdDate"] = iso[:19].replace("T", " ")

    return h.then(response_hook=on_each_entry((CML,), utc))


@fault(
    "cml-1003-as-1004",
    requirement="CML-ERR-1003",
    description="a pageSize or pageNumber out of range is answered with the neighbouring 1004",
)
def _cml_1003_as_1004(b: Behaviour, h: Hooks) -> FaultResult:
    return replace(b, err_cml_page=b.err_cml_enum)


fault(
    "cml-1001-as-1002",
    requirement="CML-ERR-1001",
    description="a date that is not ISO 8601 is refused with the date-order code 1002",
)(switch(err_cml_date_format=1002))


fault(
    "cml-1004-as-1003",
    requirement="CML-ERR-1004",
    description="a bad scope or eventName is refused with the paging code 1003",
)(switch(err_cml_enum=1003))


fault(
    "cml-3301-as-3401",
    requirement="CML-ERR-3301",
    description="a customer outside an eligible group is refused with the other-org code 3401",
)(switch(err_cml_not_in_group=3401))


@fault(
    "cml-reversed-dates-swapped",
    requirement="CML-ERR-1002",
    description="an endDate before startDate is answered for the window between them, not refused",
)
def _cml_reversed_dates_swapped(b: Behaviour, h: Hooks) -> FaultResult:
    def swap(params: dict[str, Any]) -> dict[str, Any]:
        start, end = query_value(params, "startDate"), query_value(params, "endDate")
        if start is None or end is None:
            return params
        try:
            backwards = datetime.fromisoformat(end) < datetime.fromisoformat(start)
        except (TypeError, ValueError):
            return params
        if not backwards:
            return params
        turned = {"startDate": end, "endDate": start}
        return with_query(params, [(k, turned.get(k, v)) for k, v in query_pairs(params)])

    return h.then(params_hook=rewrite_params((CML,), swap))


@fault(
    "cml-default-page-two",
    requirement="CML-DEFAULT-PAGE",
    description="without pageNumber, the second page is returned",
)
def _cml_default_page_two(b: Behaviour, h: Hooks) -> FaultResult:
    def second(params: dict[str, Any]) -> dict[str, Any]:
        if query_value(params, "pageNumber") is not None:
            return params
        return with_query(params, [*query_pairs(params), ("pageNumber", str(b.cml_page_base + 1))])

    return h.then(params_hook=rewrite_params((CML,), second))


@fault(
    "cml-user-scope-is-group",
    requirement="CML-SCOPE-USER",
    description="scope=user is read as scope=group: the whole group's events are returned",
)
def _cml_user_scope_is_group(b: Behaviour, h: Hooks) -> FaultResult:
    def group(params: dict[str, Any]) -> dict[str, Any]:
        return replace_value(params, "scope", lambda v: "group" if v == "user" else v)

    return h.then(params_hook=rewrite_params((CML,), group))


@fault(
    "cml-eventname-ignored",
    requirement="CML-FILTER-EVENTNAME",
    description="eventName is validated but both kinds of event are returned",
)
def _cml_eventname_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring((CML,), {"eventName"}))


@fault(
    "cml-dates-ignored",
    requirement="CML-FILTER-DATE",
    description="startDate and endDate are validated but the default window is returned",
)
def _cml_dates_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring((CML,), {"startDate", "endDate"}))


@fault(
    "cml-transactionref-ignored",
    requirement="CML-FILTER-TXREF",
    description="transactionRef does not filter the events",
)
def _cml_txref_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring((CML,), {"transactionRef"}))


fault(
    "cml-default-window-90-days",
    requirement="CML-DEFAULT-WINDOW",
    description="without startDate the window starts 90 days back (the ledger's window), not 30",
)(switch(cml_default_window_days=90))


fault(
    "cml-default-page-size-10",
    requirement="CML-DEFAULT-PAGE-SIZE",
    strict_reading="D-038",
    description="without pageSize, pages hold 10 entries (the ledger's default), not 20",
)(switch(cml_default_page_size=10))


fault(
    "cml-page-size-uncapped",
    requirement="CML-LIMIT-MAX",
    description="pageSize above 100 is answered instead of refused with 1003",
)(switch(cml_max_page_size=1_000_000))


fault(
    "cml-default-ascending",
    requirement="CML-SORT-DEFAULT",
    description="without sort, entries come oldest first",
)(switch(cml_default_sort="createdDate:asc"))


fault(
    "cml-wrapped-in-entity",
    requirement="CML-SCHEMA-UNWRAPPED",
    strict_reading="D-013",
    description="the body is wrapped in an entity object, as the quick-reference tree shows",
)(switch(cml_wrap_in_entity=True))


@fault(
    "cml-reversal-sign",
    requirement="CML-ARITH-SIGN",
    description="reversal events show negative points like the redemptions they undo",
)
def _cml_reversal_sign(b: Behaviour, h: Hooks) -> FaultResult:
    def negative(entry: dict[str, Any]) -> None:
        if entry.get("eventName") != "CROSS_MEMBER_REDEMPTION_REVERSAL":
            return
        for row in entry.get("entryDetails") or []:
            if isinstance(row, dict) and parse_milli(row.get("points")) is not None:
                row["points"] = fmt_points(-abs(parse_milli(row["points"]) or 0))
        net = parse_milli(entry.get("netPointsOnEvent"))
        if net is not None:
            entry["netPointsOnEvent"] = fmt_points(-abs(net))

    return h.then(response_hook=on_each_entry((CML,), negative))


fault(
    "cml-default-scope-group",
    requirement="CML-DEFAULT-SCOPE",
    description="without scope, the whole group's view is returned",
)(switch(cml_default_scope="group"))


@fault(
    "cml-error-envelope-flat",
    requirement="COMMON-ERR-ENVELOPE",
    strict_reading="D-084",
    description="cross-member ledger errors are {code, message} without the errors list",
    operations=(CML,),
)
def _cml_flat_errors(b: Behaviour, h: Hooks) -> FaultResult:
    def flat(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        if status != b.error_status or not isinstance(body, dict) or not body.get("errors"):
            return status, body
        first = body["errors"][0]
        return status, {"code": first.get("code"), "message": first.get("message")}

    return h.then(response_hook=respond((CML,), flat))
