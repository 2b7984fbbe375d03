"""Reading variants of getCustomerLedgerInfo (v2 and v2.1) for register entries D-063 to D-078.

Each is a server taking the other reading its entry's `stance` allows; they are registered
after the readings of readings.py, with the same helpers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request

from points_conformance.operations import LEDGER_OPERATIONS
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.fault_registry import CONNECTED, LEDGER, FaultResult
from points_conformance.reference.formatting import error_body
from points_conformance.reference.readings import reading
from points_conformance.reference.variants import (
    details_of,
    error_codes,
    on_each_entry,
    on_success,
    query_pairs,
    rerun,
    respond,
    rewrite_params,
    seen_params,
    switch,
    with_query,
    without_query,
)


def _decimal(text: Any) -> Decimal | None:
    if not isinstance(text, str):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


@reading(
    "ledger-net-without-opening",
    discrepancy="D-064",
    description="netPointsOnEvent is credits minus debits, leaving OPENING_BALANCE rows out",
)
def _net_without_opening(b: Behaviour, h: Hooks) -> FaultResult:
    def without_opening(entry: dict[str, Any]) -> None:
        net = _decimal(entry.get("netPointsOnEvent"))
        if net is None:
            return
        for row in entry.get("entryDetails") or []:
            if not isinstance(row, dict) or row.get("ledgerEntryType") != "OPENING_BALANCE":
                continue
            points = _decimal(row.get("points"))
            if points is not None and "alternateCurrencyName" not in row:
                net -= abs(points)
        entry["netPointsOnEvent"] = str(net.quantize(Decimal(1).scaleb(-b.points_decimals)))

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, without_opening))


@reading(
    "ledger-empty-page-count-1",
    discrepancy="D-071",
    description="parameters that match no entry are a 200 with no entries and pageCount 1 "
    "(instead of 11003, or pageCount 0)",
)
def _empty_page_count_one(b: Behaviour, h: Hooks) -> FaultResult:
    # The strict server refuses an empty result with 11003 (D-030), so no pageCount would show.
    def one(body: dict[str, Any], request: Request) -> None:
        details = details_of(body)
        if details.get("totalEntries") == 0 and details.get("pageCount") == 0:
            details["pageCount"] = 1

    return replace(b, ledger_empty_is_error=False), h.then(
        response_hook=on_success(LEDGER_OPERATIONS, one)
    )


# Any size other than the v2 customer form's 10 shows the reading; 20 is the cross-member default.
_V21_DEFAULT_LIMIT = 20


@reading(
    "corg-default-page-size-20",
    discrepancy="D-072",
    description="v2.1 without limit answers pages of 20 (pageSize 20) instead of 10",
)
def _corg_default_page_size(b: Behaviour, h: Hooks) -> FaultResult:
    def default_limit(params: dict[str, Any]) -> dict[str, Any]:
        query = query_pairs(params)
        if any(k == "limit" for k, _ in query):
            return params
        return with_query(params, [*query, ("limit", str(_V21_DEFAULT_LIMIT))])

    return h.then(params_hook=rewrite_params((CONNECTED,), default_limit))


reading(
    "ledger-promised-with-trigger-based",
    discrepancy="D-066",
    description="pointCategoryType=PROMISED lets ExternalTriggerBasedPointCategory rows through "
    "beside DelayedAccrualPointCategory",
)(switch(ledger_promised_includes_trigger_based=True))


reading(
    "ledger-oldest-first",
    discrepancy="D-073",
    description="without sort, ledger entries come oldest first (as page 003's example)",
)(switch(ledger_default_sort="ASC"))


@reading(
    "ledger-group-details-no-userid",
    discrepancy="D-076",
    description="a user-group ledger's top-level customerDetails carries entityType but no userId",
)
def _group_details_no_userid(b: Behaviour, h: Hooks) -> FaultResult:
    def drop(body: dict[str, Any], request: Request) -> None:
        details = body.get("customerDetails")
        if isinstance(details, dict) and details.get("entityType") in b.ledger_group_types:
            details.pop("userId", None)

    return h.then(response_hook=on_success(LEDGER_OPERATIONS, drop))


@reading(
    "corg-role-ignored",
    discrepancy="D-075",
    description="role is accepted and ignored: a group's ledger holds every member's entries",
)
def _corg_role_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    def without_role(params: dict[str, Any]) -> dict[str, Any]:
        return without_query(params, ("role",))

    return h.then(params_hook=rewrite_params((CONNECTED,), without_role))


@reading(
    "corg-group-type-refused",
    discrepancy="D-078",
    description="v2.1 refuses type=USERGROUP2 (000's group table has no type) instead of "
    "answering with the group's ledger",
)
def _corg_group_type_refused(b: Behaviour, h: Hooks) -> FaultResult:
    def refuse(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        kind = request.query_params.get("type")
        if status != 200 or kind is None or kind.strip().upper() != "USERGROUP2":
            return status, body
        message = "type is not a parameter of this operation"
        return b.error_status, error_body(operation_id, b.err_validation, message)

    return h.then(response_hook=respond((CONNECTED,), refuse))


# Parameters whose presence makes the request one of the other rows of 001's behaviour table.
_CURRENCY_PARAMS = (
    "includeAlternateCurrencies",
    "alternateCurrencyNames",
    "excludePointCategories",
)


@reading(
    "ledger-currencies-by-default",
    discrepancy="D-063",
    description="without includeAlternateCurrencies (and no other currency parameter) the "
    "ledger also holds alternate-currency rows, as if it were true",
)
def _currencies_by_default(b: Behaviour, h: Hooks) -> FaultResult:
    def include(params: dict[str, Any]) -> dict[str, Any]:
        query = query_pairs(params)
        if any(k in _CURRENCY_PARAMS for k, _ in query):
            return params
        return with_query(params, [*query, ("includeAlternateCurrencies", "true")])

    return h.then(params_hook=rewrite_params((LEDGER,), include))


@reading(
    "ledger-unknown-till-dropped",
    discrepancy="D-077",
    description="tillIds naming known tills and unknown ones is answered with the known tills' "
    "entries instead of 11027 (a list of unknown tills only stays 11027)",
)
def _unknown_till_dropped(b: Behaviour, h: Hooks) -> FaultResult:
    def known_only(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        if error_codes(body) != [b.err_invalid_till_ids] or params is None:
            return status, body
        message = body["errors"][0].get("message", "")
        unknown = set(str(message).rpartition(":")[2].strip().split(","))
        query = query_pairs(params)
        raw = next((v for k, v in query if k == "tillIds"), None)
        if raw is None:
            return status, body
        known = [p.strip() for p in raw.split(",") if p.strip() and p.strip() not in unknown]
        if not known:
            return status, body
        kept = [(k, ",".join(known) if k == "tillIds" else v) for k, v in query]
        return rerun(operation_id, request, with_query(params, kept))

    return h.then(response_hook=respond(LEDGER_OPERATIONS, known_only))


@reading(
    "ledger-source-not-registered-code",
    discrepancy="D-074",
    description="a customer asked for in a listed source they are not registered in is refused "
    "with the source error code instead of 8015",
)
def _source_not_registered(b: Behaviour, h: Hooks) -> FaultResult:
    def source_error(
        operation_id: str, request: Request, status: int, body: Any
    ) -> tuple[int, Any]:
        params = seen_params()
        if error_codes(body) != [b.err_unknown_customer] or params is None:
            return status, body
        query = query_pairs(params)
        if not any(k == "source" and v.strip().upper() != "ALL" for k, v in query):
            return status, body
        anywhere = [(k, "ALL" if k == "source" else v) for k, v in query]
        if rerun(operation_id, request, with_query(params, anywhere))[0] != 200:
            return status, body  # nobody by that identifier: not this entry's case
        message = "Customer is not registered in this source"
        return status, error_body(operation_id, b.err_source, message)

    return h.then(response_hook=respond(LEDGER_OPERATIONS, source_error))


@reading(
    "ledger-alternate-nets-partial",
    discrepancy="D-065",
    description="netAlternateCurrenciesOnEvent leaves out one of the currencies the event's rows "
    "carry (the object is absent when that was its only one)",
)
def _alternate_nets_partial(b: Behaviour, h: Hooks) -> FaultResult:
    def partial(entry: dict[str, Any]) -> None:
        nets = entry.get("netAlternateCurrenciesOnEvent")
        if not isinstance(nets, dict) or not nets:
            return
        nets.pop(sorted(nets)[-1])
        if not nets:
            del entry["netAlternateCurrenciesOnEvent"]

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, partial))


reading(
    "ledger-filters-keep-other-rows",
    discrepancy="D-067",
    description="ledgerEntryType, pointCategoryType and programId select events: a selected event "
    "shows all its rows, matching or not",
)(switch(ledger_filters_drop_rows=False))


reading(
    "ledger-program-by-source-program",
    discrepancy="D-068",
    description="programId also selects the events whose sourceProgramId it names, with every "
    "row they have",
)(switch(ledger_program_matches_source=True))


reading(
    "ledger-total-before-row-filters",
    discrepancy="D-070",
    description="with a row filter, totalEntries and pageCount count the unfiltered ledger while "
    "the pages hold the filtered events (the last pages empty)",
)(switch(ledger_total_counts_filtered=False))


reading(
    "ledger-filters-after-paging",
    discrepancy="D-070",
    description="with a row filter, each page is cut from the unfiltered ledger and then drops "
    "the events that do not match, so a page may be short or empty while a later one matches",
)(switch(ledger_filters_after_paging=True))


@reading(
    "ledger-dates-twelve-hours-ahead",
    discrepancy="D-069",
    description="startDate and endDate are read on a clock 12 hours ahead of "
    "ledgerCreatedDate's (UTC+12 beside UTC)",
)
def _ledger_dates_shifted(b: Behaviour, h: Hooks) -> FaultResult:
    def earlier(value: str) -> str:
        try:
            moment = datetime.strptime(value, b.ledger_date_format)
        except ValueError:
            return value
        if moment.strftime(b.ledger_date_format) != value:
            return value
        return (moment - timedelta(hours=12)).strftime(b.ledger_date_format)

    def shift(params: dict[str, Any]) -> dict[str, Any]:
        dates = ("startDate", "endDate")
        pairs = query_pairs(params)
        return with_query(params, [(k, earlier(v) if k in dates else v) for k, v in pairs])

    return h.then(params_hook=rewrite_params(LEDGER_OPERATIONS, shift))
