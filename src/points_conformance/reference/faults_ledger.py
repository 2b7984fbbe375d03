"""Faults of getCustomerLedgerInfo (v2; most also reach v2.1, which shares the handler) and of
its connected-orgs form (v2.1).
"""

from __future__ import annotations

import json
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from starlette.requests import Request

from points_conformance.operations import LEDGER_OPERATIONS
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.fault_registry import (
    CONNECTED,
    LEDGER,
    FaultResult,
    fault,
    floor_page_count,
    ignoring,
    parse_milli,
    query_value,
    rerun_without,
)
from points_conformance.reference.formatting import error_body, fmt_points
from points_conformance.reference.variants import (
    details_of,
    entries_of,
    on_each_entry,
    on_success,
    points_as_numbers,
    query_pairs,
    rerun,
    respond,
    rewrite_params,
    seen_params,
    switch,
    with_query,
)


@fault(
    "ledger-page-count-floor",
    requirement="LEDGER-PAGE-COUNT",
    description="pageCount is totalEntries / pageSize rounded down (a last partial page is lost)",
)
def _ledger_page_count_floor(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=on_success(LEDGER_OPERATIONS, floor_page_count))


fault(
    "ledger-offset-one-based",
    requirement="LEDGER-PAGE-INDEX",
    description="offset counts pages from 1 (offset=0 is refused, the default is 1)",
)(switch(ledger_offset_base=1))


@fault(
    "ledger-last-page-overlap",
    requirement="LEDGER-PAGE-WALK",
    description="the last page starts with the last entry of the page before it",
)
def _ledger_last_page_overlap(b: Behaviour, h: Hooks) -> FaultResult:
    def overlap(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        if status != 200 or not isinstance(body, dict) or params is None:
            return status, body
        details = details_of(body)
        number, count, size = (details.get(k) for k in ("pageNumber", "pageCount", "pageSize"))
        if not (isinstance(number, int) and isinstance(count, int) and isinstance(size, int)):
            return status, body
        if number < 1 or number != count - 1:
            return status, body
        query = [(k, v) for k, v in query_pairs(params) if k != "offset"]
        query.append(("offset", str(number - 1)))
        prev_status, previous = rerun(operation_id, request, with_query(params, query))
        if prev_status != 200 or not isinstance(previous, dict) or not entries_of(previous):
            return status, body
        shown = [entries_of(previous)[-1], *entries_of(body)][:size]
        return status, {**body, "ledgerEntries": shown}

    return h.then(response_hook=respond(LEDGER_OPERATIONS, overlap))


_LEDGER_ROW_FILTERS = ("ledgerEntryType", "pointCategoryType", "programId", "startDate", "endDate")


@fault(
    "ledger-total-unfiltered",
    requirement="LEDGER-PAGE-WALK",
    description="totalEntries and pageCount count the ledger without its entry-type, category, "
    "program and date filters",
)
def _ledger_total_unfiltered(b: Behaviour, h: Hooks) -> FaultResult:
    def count_all(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        again = rerun_without(operation_id, request, status, _LEDGER_ROW_FILTERS)
        if again is None or again[0] != 200 or not isinstance(again[1], dict):
            return status, body
        wide = details_of(again[1])
        details_of(body).update({k: wide[k] for k in ("totalEntries", "pageCount") if k in wide})
        return status, body

    return h.then(response_hook=respond(LEDGER_OPERATIONS, count_all))


fault(
    "ledger-limit-capped-at-10",
    requirement="LEDGER-LIMIT-MAX",
    description="limit is capped at 10 as on the older page 003 (limit=100 is refused with 11029)",
)(switch(ledger_max_limit=10))


fault(
    "ledger-limit-uncapped",
    requirement="LEDGER-ERR-11029",
    description="limit has no maximum: limit=101 is answered instead of refused with 11029",
)(switch(ledger_max_limit=1_000_000))


fault(
    "ledger-default-limit-20",
    requirement="LEDGER-DEFAULT-LIMIT",
    description="without limit, pages hold 20 entries (the cross-member ledger's default)",
)(switch(ledger_default_limit=20))


@fault(
    "ledger-entrytype-ignored",
    requirement="LEDGER-FILTER-ENTRYTYPE",
    description="ledgerEntryType is validated but does not filter the rows",
)
def _ledger_entrytype_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring(LEDGER_OPERATIONS, {"ledgerEntryType"}))


@fault(
    "ledger-program-ignored",
    requirement="LEDGER-FILTER-PROGRAM",
    description="programId is validated but does not filter the rows",
)
def _ledger_program_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring(LEDGER_OPERATIONS, {"programId"}))


@fault(
    "ledger-dates-ignored",
    requirement="LEDGER-FILTER-DATE",
    description="startDate and endDate are validated but the whole history is returned",
)
def _ledger_dates_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring(LEDGER_OPERATIONS, {"startDate", "endDate"}))


@fault(
    "ledger-category-swapped",
    requirement="LEDGER-FILTER-CATEGORY",
    description="pointCategoryType PROMISED and TRIGGER_BASED select each other's category",
)
def _ledger_category_swapped(b: Behaviour, h: Hooks) -> FaultResult:
    mapping = dict(b.category_map)
    mapping["PROMISED"], mapping["TRIGGER_BASED"] = mapping["TRIGGER_BASED"], mapping["PROMISED"]
    return replace(b, category_map=MappingProxyType(mapping))


@fault(
    "ledger-altcur-in-net",
    requirement="LEDGER-ARITH-NET",
    strict_reading="D-064",
    description="netPointsOnEvent also adds the alternate-currency rows",
)
def _ledger_altcur_in_net(b: Behaviour, h: Hooks) -> FaultResult:
    def add_all(entry: dict[str, Any]) -> None:
        rows = [r for r in entry.get("entryDetails") or [] if isinstance(r, dict)]
        if not any("alternateCurrencyName" in r for r in rows):
            return
        net = 0
        for row in rows:
            milli = parse_milli(row.get("points")) or 0
            net += -milli if row.get("ledgerEntryType") == "DEBIT" else milli
        entry["netPointsOnEvent"] = fmt_points(net, b.points_decimals)

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, add_all))


@fault(
    "ledger-exclude-points-ignored",
    requirement="LEDGER-FILTER-ALTCUR-ROW3",
    description="excludePointCategories=true is ignored: points rows come with the "
    "alternate-currency rows",
    operations=(LEDGER,),
)
def _ledger_exclude_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring((LEDGER,), {"excludePointCategories"}))


@fault(
    "ledger-sort-reversed",
    requirement="LEDGER-SORT",
    description="sort=ASC returns newest first and sort=DESC oldest first",
)
def _ledger_sort_reversed(b: Behaviour, h: Hooks) -> FaultResult:
    flip = {"ASC": "DESC", "DESC": "ASC"}

    def swap(params: dict[str, Any]) -> dict[str, Any]:
        query = [
            (k, flip.get(v.strip().upper(), v) if k in b.ledger_sort_aliases else v)
            for k, v in query_pairs(params)
        ]
        return with_query(params, query)

    return h.then(params_hook=rewrite_params(LEDGER_OPERATIONS, swap))


fault(
    "ledger-default-ascending",
    requirement="LEDGER-SORT-DEFAULT",
    strict_reading="D-073",
    description="without sort, entries come oldest first",
)(switch(ledger_default_sort="ASC"))


fault(
    "ledger-11027-as-11026",
    requirement="LEDGER-ERR-11027",
    description="an unknown till in tillIds is answered with the neighbouring code 11026",
)(switch(err_invalid_till_ids=11026))


fault(
    "ledger-window-30-days",
    requirement="LEDGER-FILTER-DATE-WINDOW",
    strict_reading="D-002",
    description="startDate and endDate may be at most 30 days apart (not 90)",
)(switch(ledger_window_days=30))


fault(
    "ledger-one-sided-30-days",
    requirement="LEDGER-FILTER-DATE-ONE-SIDED",
    strict_reading="D-039",
    description="a single startDate or endDate spans 30 days (not 90)",
)(switch(ledger_one_date_days=30))


@fault(
    "ledger-last-year-ignored",
    requirement="LEDGER-FILTER-DATE-ONE-YEAR",
    strict_reading="D-039",
    description="includeLastOneYearData=true is ignored: a single date still spans 90 days",
)
def _ledger_last_year_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return replace(b, ledger_one_year_days=b.ledger_one_date_days)


@fault(
    "ledger-points-as-numbers",
    requirement="LEDGER-FORMAT-DECIMAL",
    strict_reading="D-006",
    description="points and netPointsOnEvent are JSON numbers, not decimal strings",
)
def _ledger_points_as_numbers(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, points_as_numbers))


@fault(
    "ledger-orgid-renamed",
    requirement="LEDGER-SCHEMA-ORGID",
    strict_reading="D-007",
    description="entries carry orgID (as in the 000 table) instead of orgId",
)
def _ledger_orgid_renamed(b: Behaviour, h: Hooks) -> FaultResult:
    def rename(entry: dict[str, Any]) -> None:
        if "orgId" in entry:
            entry["orgID"] = entry.pop("orgId")

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, rename))


@fault(
    "ledger-created-date-iso",
    requirement="LEDGER-FORMAT-CREATED-DATE",
    strict_reading="D-034",
    description="ledgerCreatedDate is ISO 8601 (2024-01-31T10:00:00), not YYYY-MM-DD HH:MM:SS.s",
)
def _ledger_created_date_iso(b: Behaviour, h: Hooks) -> FaultResult:
    def iso(entry: dict[str, Any]) -> None:
        created = entry.get("ledgerCreatedDate")
        if isinstance(created, str):
            entry["ledgerCreatedDate"] = created.split(".")[0].replace(" ", "T")

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, iso))


fault(
    "ledger-empty-is-200",
    requirement="LEDGER-ERR-11003",
    description="no entries (or an offset past the last page) is a 200 with an empty list, "
    "never 11003",
)(switch(ledger_empty_is_error=False, ledger_past_last_page_is_error=False))


# The till and store filters, of which a request may give one (LEDGER-FILTER-EXCLUSIVE).
TILL_FILTERS = ("tillId", "tillIds", "storeId", "storeCode")


@fault(
    "ledger-first-till-filter-wins",
    requirement="LEDGER-ERR-11028",
    description="with several of tillId, tillIds, storeId, storeCode the first one is used "
    "instead of refusing with 11028",
)
def _ledger_first_till_filter(b: Behaviour, h: Hooks) -> FaultResult:
    def first_only(params: dict[str, Any]) -> dict[str, Any]:
        query = query_pairs(params)
        first = next((k for k, _ in query if k in TILL_FILTERS), None)
        return with_query(params, [(k, v) for k, v in query if k not in TILL_FILTERS or k == first])

    return h.then(params_hook=rewrite_params(LEDGER_OPERATIONS, first_only))


@fault(
    "ledger-storeid-as-tillid",
    requirement="LEDGER-FILTER-STORE-ID",
    description="storeId is read as a till id",
    operations=(LEDGER,),
)
def _ledger_storeid_as_tillid(b: Behaviour, h: Hooks) -> FaultResult:
    def as_till(params: dict[str, Any]) -> dict[str, Any]:
        query = query_pairs(params)
        if any(k == "tillId" for k, _ in query):
            return params
        return with_query(params, [("tillId" if k == "storeId" else k, v) for k, v in query])

    return h.then(params_hook=rewrite_params((LEDGER,), as_till))


fault(
    "ledger-entry-customer-not-null",
    requirement="LEDGER-SCHEMA-ENTRY-CUSTOMER",
    strict_reading="D-015",
    description="entries of a customer's own ledger carry customerDetails instead of null",
)(switch(ledger_customer_details_on_customer_entries=True))


@fault(
    "ledger-tillconcept-crash",
    requirement="COMMON-SERVER-ERROR",
    description="includeTillConceptEvents=true together with programId answers HTTP 500",
    operations=(LEDGER,),
)
def _ledger_tillconcept_crash(b: Behaviour, h: Hooks) -> FaultResult:
    def crash(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        if status == 401 or params is None or query_value(params, "programId") is None:
            return status, body
        if (query_value(params, "includeTillConceptEvents") or "").strip().lower() != "true":
            return status, body
        return b.internal_status, error_body(operation_id, b.err_internal, "Internal server error")

    return h.then(response_hook=respond((LEDGER,), crash))


@fault(
    "ledger-till-ignored",
    requirement="LEDGER-FILTER-TILL",
    description="tillId is validated but does not filter the rows",
)
def _ledger_till_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring(LEDGER_OPERATIONS, {"tillId"}))


@fault(
    "ledger-tills-ignored",
    requirement="LEDGER-FILTER-TILLS",
    description="tillIds is validated but does not filter the rows",
    operations=(LEDGER,),
)
def _ledger_tills_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring((LEDGER,), {"tillIds"}))


@fault(
    "ledger-currency-names-ignored",
    requirement="LEDGER-FILTER-ALTCUR-NAMES",
    description="alternateCurrencyNames is read but every alternate currency's rows are returned",
)
def _ledger_currency_names_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring(LEDGER_OPERATIONS, {"alternateCurrencyNames"}))


@fault(
    "ledger-exclude-yields-to-category",
    requirement="LEDGER-FILTER-ALTCUR-ROW4",
    description="with pointCategoryType, excludePointCategories=true is ignored: the category's "
    "points rows come with the alternate-currency rows",
    operations=(LEDGER,),
)
def _ledger_exclude_yields_to_category(b: Behaviour, h: Hooks) -> FaultResult:
    def keep_points(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        if params is None or query_value(params, "pointCategoryType") is None:
            return status, body
        again = rerun_without(operation_id, request, status, {"excludePointCategories"})
        return again if again is not None and again[0] == 200 else (status, body)

    return h.then(response_hook=respond((LEDGER,), keep_points))


@fault(
    "ledger-default-offset-second-page",
    requirement="LEDGER-DEFAULT-OFFSET",
    description="without offset, the second page (offset=1) is returned",
)
def _ledger_default_offset_second_page(b: Behaviour, h: Hooks) -> FaultResult:
    def second(params: dict[str, Any]) -> dict[str, Any]:
        if query_value(params, "offset") is not None:
            return params
        return with_query(params, [*query_pairs(params), ("offset", str(b.ledger_offset_base + 1))])

    return h.then(params_hook=rewrite_params(LEDGER_OPERATIONS, second))


@fault(
    "ledger-eventname-empty",
    requirement="LEDGER-SCHEMA-EVENTNAME",
    description="eventName is an empty string",
)
def _ledger_eventname_empty(b: Behaviour, h: Hooks) -> FaultResult:
    def empty(entry: dict[str, Any]) -> None:
        if "eventName" in entry:
            entry["eventName"] = ""

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, empty))


@fault(
    "ledger-event-details-as-text",
    requirement="LEDGER-SCHEMA-EVENT-DETAILS",
    description="eventDetails is its JSON object serialised into a string",
)
def _ledger_event_details_as_text(b: Behaviour, h: Hooks) -> FaultResult:
    def as_text(entry: dict[str, Any]) -> None:
        if isinstance(entry.get("eventDetails"), dict):
            entry["eventDetails"] = json.dumps(entry["eventDetails"])

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, as_text))


@fault(
    "ledger-transaction-details-list",
    requirement="LEDGER-SCHEMA-TRANSACTION",
    description="transactionDetails of an event without a transaction is an empty list, not {}",
)
def _ledger_transaction_details_list(b: Behaviour, h: Hooks) -> FaultResult:
    def as_list(entry: dict[str, Any]) -> None:
        if entry.get("transactionDetails") == {}:
            entry["transactionDetails"] = []

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, as_list))


@fault(
    "ledger-currency-net-debits-added",
    requirement="LEDGER-ARITH-NET-ALT",
    description="netAlternateCurrenciesOnEvent adds a currency's debit rows instead of subtracting",
)
def _ledger_currency_net_debits_added(b: Behaviour, h: Hooks) -> FaultResult:
    def add_debits(entry: dict[str, Any]) -> None:
        nets = entry.get("netAlternateCurrenciesOnEvent")
        if not isinstance(nets, dict):
            return
        rows = [r for r in entry.get("entryDetails") or [] if isinstance(r, dict)]
        for name in nets:
            shown = [r for r in rows if r.get("alternateCurrencyName") == name]
            milli = sum(abs(parse_milli(r.get("points")) or 0) for r in shown)
            nets[name] = fmt_points(milli, b.points_decimals)

    return h.then(response_hook=on_each_entry(LEDGER_OPERATIONS, add_debits))


# -- getCustomerLedgerInfoConnectedOrgs (v2.1) ---------------------------------------------------


@fault(
    "corg-data-scope-ignored",
    requirement="CORG-SCOPE-OTHER",
    description="DATA-SCOPE and DATA-SCOPE-ORG are ignored: every request reads the caller's org",
)
def _corg_scope_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    def self_only(params: dict[str, Any]) -> dict[str, Any]:
        headers = {k: v for k, v in (params.get("headers") or {}).items() if k != "data-scope-org"}
        headers["data-scope"] = "SELF"
        return {**params, "headers": headers}

    return h.then(params_hook=rewrite_params((CONNECTED,), self_only))


fault(
    "corg-310144-generic",
    requirement="CORG-ERR-310144",
    description="bad DATA-SCOPE headers are refused with a generic code 400 instead of 310144",
)(switch(err_connected_orgs=400))


@fault(
    "corg-role-ignored",
    requirement="CORG-FILTER-ROLE",
    strict_reading="D-075",
    description="role does not restrict a group's entries to members of that role",
)
def _corg_role_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring(LEDGER_OPERATIONS, {"role"}))


@fault(
    "corg-named-currencies-only",
    requirement="CORG-FILTER-ALTCUR-ALL",
    description="includeAlternateCurrencies=true with alternateCurrencyNames returns only the "
    "named currencies' rows",
    operations=(CONNECTED,),
)
def _corg_named_currencies_only(b: Behaviour, h: Hooks) -> FaultResult:
    def named_only(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        if params is None or query_value(params, "alternateCurrencyNames") is None:
            return status, body
        again = rerun_without(operation_id, request, status, {"includeAlternateCurrencies"})
        return again if again is not None and again[0] == 200 else (status, body)

    return h.then(response_hook=respond((CONNECTED,), named_only))
