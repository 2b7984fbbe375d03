"""Faulty variants of the reference server: the ways an implementer could misread the pages.

Each fault is a small function registered with `@fault(name, requirement=..., description=...)`
that takes the current `Behaviour` and `Hooks` and returns a changed `Behaviour`
(`dataclasses.replace`), hooks that run after the existing ones (`hooks.then(...)`), or both;
a fault that only changes `Behaviour` fields is registered as `fault(...)(switch(field=value))`.
Faults therefore compose: `apply(["a", "b"], Behaviour(), Hooks())` gives a server with both.
Every fault names the one catalogue requirement (specs/requirements.yaml) it breaks; the
self-test (`points-conformance selftest`) checks that the suite catches each of them there.

Hooks that need a second answer of the same operation (a filter that is ignored, a page that
overlaps the previous one) call the operation's handler again through `rerun`, with the
request as the route finally saw it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from starlette.requests import Request

from points_conformance.reference.behaviour import Behaviour, Hooks, ResponseHook
from points_conformance.reference.formatting import error_body, fmt_points
from points_conformance.reference.variants import (
    Registry,
    VariantFunction,
    VariantResult,
    as_number,
    details_of,
    entries_of,
    error_codes,
    group_details_of,
    on_success,
    query_pairs,
    rerun,
    respond,
    rewrite_params,
    seen_params,
    switch,
    with_query,
)

FaultResult = VariantResult
FaultFunction = VariantFunction

LEDGER = "getCustomerLedgerInfo"
CONNECTED = "getCustomerLedgerInfoConnectedOrgs"
CML = "getCrossMemberLedger"
BALANCE = "getCustomerLedgerBalance"
CHECK = "isTransferrable"
CHECK_GROUP = "isTransferrableUserGroup"
TRANSFER = "transferPoints"
TRANSFER_GROUP = "transferPointsUserGroup"
HISTORY = "getPointsTransfers"
REVERSE = "reversePoints"
LEDGERS = (LEDGER, CONNECTED)
POINTS_OPERATIONS = (CHECK, CHECK_GROUP, TRANSFER, TRANSFER_GROUP, HISTORY, REVERSE)


@dataclass(frozen=True)
class Fault:
    """One registered fault. `operations` are those it changes (empty: its requirement's)."""

    name: str
    requirement: str
    description: str
    function: FaultFunction
    operations: tuple[str, ...] = ()


_FAULTS: Registry[Fault] = Registry("fault", "--list-faults")
registry = _FAULTS.view  # every fault by name, in registration order
get_fault = _FAULTS.get
apply = _FAULTS.apply  # the rules and hooks of a server with every named fault


def fault(
    name: str, *, requirement: str, description: str, operations: Sequence[str] = ()
) -> Callable[[FaultFunction], FaultFunction]:
    """Register the decorated function as the fault `name`, breaking `requirement`."""

    def register(function: FaultFunction) -> FaultFunction:
        _FAULTS.add(Fault(name, requirement, description, function, tuple(operations)))
        return function

    return register


def list_faults() -> list[tuple[str, str, str]]:
    """(name, requirement, description) of every fault, in registration order."""
    return [(f.name, f.requirement, f.description) for f in registry().values()]


# -- hook building blocks --------------------------------------------------------------------


def _present(params: dict[str, Any], names: Collection[str]) -> bool:
    return any(k in names for k, _ in query_pairs(params))


def _value(params: dict[str, Any], name: str) -> str | None:
    return next((v for k, v in query_pairs(params) if k == name), None)


def _ignoring(operations: Collection[str], names: Collection[str]) -> ResponseHook:
    """The parameters are validated as documented, then the answer is the one without them."""

    def hook(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        if status != 200 or params is None or not _present(params, names):
            return status, body
        query = [(k, v) for k, v in query_pairs(params) if k not in names]
        again_status, again = rerun(operation_id, request, with_query(params, query))
        return (again_status, again) if again_status == 200 else (status, body)

    return respond(operations, hook)


def _milli(text: Any) -> int | None:
    try:
        return int(Decimal(str(text)) * 1000)
    except (InvalidOperation, ValueError):
        return None


def _floor_page_count(body: dict[str, Any], request: Request) -> None:
    details = details_of(body)
    total, size = details.get("totalEntries"), details.get("pageSize")
    if isinstance(total, int) and isinstance(size, int) and size > 0:
        details["pageCount"] = total // size


# -- getCustomerLedgerInfo (v2; most also reach v2.1, which shares the handler) -----------------


@fault(
    "ledger-page-count-floor",
    requirement="LEDGER-PAGE-COUNT",
    description="pageCount is totalEntries / pageSize rounded down (a last partial page is lost)",
)
def _ledger_page_count_floor(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=on_success(LEDGERS, _floor_page_count))


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

    return h.then(response_hook=respond(LEDGERS, overlap))


_LEDGER_ROW_FILTERS = ("ledgerEntryType", "pointCategoryType", "programId", "startDate", "endDate")


@fault(
    "ledger-total-unfiltered",
    requirement="LEDGER-PAGE-WALK",
    description="totalEntries and pageCount count the ledger without its entry-type, category, "
    "program and date filters",
)
def _ledger_total_unfiltered(b: Behaviour, h: Hooks) -> FaultResult:
    def count_all(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        if status != 200 or params is None or not _present(params, _LEDGER_ROW_FILTERS):
            return status, body
        query = [(k, v) for k, v in query_pairs(params) if k not in _LEDGER_ROW_FILTERS]
        all_status, unfiltered = rerun(operation_id, request, with_query(params, query))
        if all_status != 200 or not isinstance(unfiltered, dict):
            return status, body
        wide = details_of(unfiltered)
        details_of(body).update({k: wide[k] for k in ("totalEntries", "pageCount") if k in wide})
        return status, body

    return h.then(response_hook=respond(LEDGERS, count_all))


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
    return h.then(response_hook=_ignoring(LEDGERS, {"ledgerEntryType"}))


@fault(
    "ledger-program-ignored",
    requirement="LEDGER-FILTER-PROGRAM",
    description="programId is validated but does not filter the rows",
)
def _ledger_program_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=_ignoring(LEDGERS, {"programId"}))


@fault(
    "ledger-dates-ignored",
    requirement="LEDGER-FILTER-DATE",
    description="startDate and endDate are validated but the whole history is returned",
)
def _ledger_dates_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=_ignoring(LEDGERS, {"startDate", "endDate"}))


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
    description="netPointsOnEvent also adds the alternate-currency rows",
)
def _ledger_altcur_in_net(b: Behaviour, h: Hooks) -> FaultResult:
    def add_all(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            rows = [r for r in entry.get("entryDetails") or [] if isinstance(r, dict)]
            if not any("alternateCurrencyName" in r for r in rows):
                continue
            net = 0
            for row in rows:
                milli = _milli(row.get("points")) or 0
                net += -milli if row.get("ledgerEntryType") == "DEBIT" else milli
            entry["netPointsOnEvent"] = fmt_points(net, b.points_decimals)

    return h.then(response_hook=on_success(LEDGERS, add_all))


@fault(
    "ledger-exclude-points-ignored",
    requirement="LEDGER-FILTER-ALTCUR-ROW3",
    description="excludePointCategories=true is ignored: points rows come with the "
    "alternate-currency rows",
    operations=(LEDGER,),
)
def _ledger_exclude_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=_ignoring((LEDGER,), {"excludePointCategories"}))


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

    return h.then(params_hook=rewrite_params(LEDGERS, swap))


fault(
    "ledger-default-ascending",
    requirement="LEDGER-SORT-DEFAULT",
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
    description="startDate and endDate may be at most 30 days apart (not 90)",
)(switch(ledger_window_days=30))


fault(
    "ledger-one-sided-30-days",
    requirement="LEDGER-FILTER-DATE-ONE-SIDED",
    description="a single startDate or endDate spans 30 days (not 90)",
)(switch(ledger_one_date_days=30))


@fault(
    "ledger-last-year-ignored",
    requirement="LEDGER-FILTER-DATE-ONE-YEAR",
    description="includeLastOneYearData=true is ignored: a single date still spans 90 days",
)
def _ledger_last_year_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return replace(b, ledger_one_year_days=b.ledger_one_date_days)


@fault(
    "ledger-points-as-numbers",
    requirement="LEDGER-FORMAT-DECIMAL",
    description="points and netPointsOnEvent are JSON numbers, not decimal strings",
)
def _ledger_points_as_numbers(b: Behaviour, h: Hooks) -> FaultResult:
    def numbers(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            entry["netPointsOnEvent"] = as_number(entry.get("netPointsOnEvent"))
            for row in entry.get("entryDetails") or []:
                if isinstance(row, dict):
                    row["points"] = as_number(row.get("points"))
            nets = entry.get("netAlternateCurrenciesOnEvent")
            if isinstance(nets, dict):
                entry["netAlternateCurrenciesOnEvent"] = {k: as_number(v) for k, v in nets.items()}

    return h.then(response_hook=on_success(LEDGERS, numbers))


@fault(
    "ledger-orgid-renamed",
    requirement="LEDGER-SCHEMA-ORGID",
    description="entries carry orgID (as in the 000 table) instead of orgId",
)
def _ledger_orgid_renamed(b: Behaviour, h: Hooks) -> FaultResult:
    def rename(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            if "orgId" in entry:
                entry["orgID"] = entry.pop("orgId")

    return h.then(response_hook=on_success(LEDGERS, rename))


@fault(
    "ledger-created-date-iso",
    requirement="LEDGER-FORMAT-CREATED-DATE",
    description="ledgerCreatedDate is ISO 8601 (2024-01-31T10:00:00), not YYYY-MM-DD HH:MM:SS.s",
)
def _ledger_created_date_iso(b: Behaviour, h: Hooks) -> FaultResult:
    def iso(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            created = entry.get("ledgerCreatedDate")
            if isinstance(created, str):
                entry["ledgerCreatedDate"] = created.split(".")[0].replace(" ", "T")

    return h.then(response_hook=on_success(LEDGERS, iso))


fault(
    "ledger-empty-is-200",
    requirement="LEDGER-ERR-11003",
    description="no entries (or an offset past the last page) is a 200 with an empty list, "
    "never 11003",
)(switch(ledger_empty_is_error=False, ledger_past_last_page_is_error=False))


_TILL_FILTERS = ("tillId", "tillIds", "storeId", "storeCode")


@fault(
    "ledger-first-till-filter-wins",
    requirement="LEDGER-ERR-11028",
    description="with several of tillId, tillIds, storeId, storeCode the first one is used "
    "instead of refusing with 11028",
)
def _ledger_first_till_filter(b: Behaviour, h: Hooks) -> FaultResult:
    def first_only(params: dict[str, Any]) -> dict[str, Any]:
        query = query_pairs(params)
        first = next((k for k, _ in query if k in _TILL_FILTERS), None)
        return with_query(
            params, [(k, v) for k, v in query if k not in _TILL_FILTERS or k == first]
        )

    return h.then(params_hook=rewrite_params(LEDGERS, first_only))


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
        if status == 401 or params is None or _value(params, "programId") is None:
            return status, body
        if (_value(params, "includeTillConceptEvents") or "").strip().lower() != "true":
            return status, body
        return b.internal_status, error_body(operation_id, b.err_internal, "Internal server error")

    return h.then(response_hook=respond((LEDGER,), crash))


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
    description="role does not restrict a group's entries to members of that role",
)
def _corg_role_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=_ignoring(LEDGERS, {"role"}))


# -- getCrossMemberLedger ----------------------------------------------------------------------


fault(
    "cml-page-zero-based",
    requirement="CML-PAGE-INDEX",
    description="pageNumber counts from 0 (0 is the first page, the default is 0)",
)(switch(cml_page_base=0))


@fault(
    "cml-userrole-in-group",
    requirement="CML-USERROLE-PRESENCE",
    description="userRole is also given under scope=group (relative to the path's customer)",
)
def _cml_userrole_in_group(b: Behaviour, h: Hooks) -> FaultResult:
    def add_role(body: dict[str, Any], request: Request) -> None:
        if request.query_params.get("scope") != "group":
            return
        caller = str(request.path_params.get("id", ""))
        for entry in entries_of(body):
            transacting = str(entry.get("transactingCustomerId")) == caller
            rows = entry.get("entryDetails") or []
            source = any(isinstance(r, dict) and str(r.get("customerId")) == caller for r in rows)
            role = "BOTH" if transacting and source else "TRANSACTING" if transacting else "SOURCE"
            entry["userRole"] = role

    return h.then(response_hook=on_success((CML,), add_role))


@fault(
    "cml-status-from-first-row",
    requirement="CML-STATUS-AGGREGATE",
    description="an event's status is its first row's status",
)
def _cml_status_first_row(b: Behaviour, h: Hooks) -> FaultResult:
    def first_row(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            rows = [r for r in entry.get("entryDetails") or [] if isinstance(r, dict)]
            if "status" in entry and rows and "status" in rows[0]:
                entry["status"] = rows[0]["status"]

    return h.then(response_hook=on_success((CML,), first_row))


@fault(
    "cml-row-status-ignores-reversal",
    requirement="CML-STATUS-ROW",
    description="row (and so event) status is ACTIVE whatever the reversedAmount",
)
def _cml_row_status(b: Behaviour, h: Hooks) -> FaultResult:
    def active(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            for row in entry.get("entryDetails") or []:
                if isinstance(row, dict) and "status" in row:
                    row["status"] = "ACTIVE"
            if "status" in entry:
                entry["status"] = "ACTIVE"

    return h.then(response_hook=on_success((CML,), active))


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
    def utc(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            iso = entry.get("createdDateISO")
            if isinstance(iso, str) and len(iso) >= 19:
                entry["createdDate"] = iso[:19].replace("T", " ")

    return h.then(response_hook=on_success((CML,), utc))


@fault(
    "cml-1003-as-1004",
    requirement="CML-ERR-1003",
    description="a pageSize or pageNumber out of range is answered with the neighbouring 1004",
)
def _cml_1003_as_1004(b: Behaviour, h: Hooks) -> FaultResult:
    return replace(b, err_cml_page=b.err_cml_enum)


@fault(
    "cml-eventname-ignored",
    requirement="CML-FILTER-EVENTNAME",
    description="eventName is validated but both kinds of event are returned",
)
def _cml_eventname_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=_ignoring((CML,), {"eventName"}))


@fault(
    "cml-transactionref-ignored",
    requirement="CML-FILTER-TXREF",
    description="transactionRef does not filter the events",
)
def _cml_txref_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=_ignoring((CML,), {"transactionRef"}))


fault(
    "cml-default-window-90-days",
    requirement="CML-DEFAULT-WINDOW",
    description="without startDate the window starts 90 days back (the ledger's window), not 30",
)(switch(cml_default_window_days=90))


fault(
    "cml-default-page-size-10",
    requirement="CML-DEFAULT-PAGE-SIZE",
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
    description="the body is wrapped in an entity object, as the quick-reference tree shows",
)(switch(cml_wrap_in_entity=True))


@fault(
    "cml-reversal-sign",
    requirement="CML-ARITH-SIGN",
    description="reversal events show negative points like the redemptions they undo",
)
def _cml_reversal_sign(b: Behaviour, h: Hooks) -> FaultResult:
    def negative(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            if entry.get("eventName") != "CROSS_MEMBER_REDEMPTION_REVERSAL":
                continue
            for row in entry.get("entryDetails") or []:
                if isinstance(row, dict) and _milli(row.get("points")) is not None:
                    row["points"] = fmt_points(-abs(_milli(row["points"]) or 0))
            net = _milli(entry.get("netPointsOnEvent"))
            if net is not None:
                entry["netPointsOnEvent"] = fmt_points(-abs(net))

    return h.then(response_hook=on_success((CML,), negative))


fault(
    "cml-default-scope-group",
    requirement="CML-DEFAULT-SCOPE",
    description="without scope, the whole group's view is returned",
)(switch(cml_default_scope="group"))


@fault(
    "cml-error-envelope-flat",
    requirement="COMMON-ERR-ENVELOPE",
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


# -- getCustomerLedgerBalance ------------------------------------------------------------------


fault(
    "balance-limit-100",
    requirement="BAL-LIMIT-MAX",
    description="limit may be up to 100 as on the ledger page (limit=11 is answered)",
)(switch(balance_max_limit=100))


@fault(
    "balance-page-count-floor",
    requirement="BAL-PAGE-COUNT",
    description="pageCount is totalEntries / pageSize rounded down",
)
def _balance_page_count_floor(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=on_success((BALANCE,), _floor_page_count))


fault(
    "balance-offset-one-based",
    requirement="BAL-PAGE-INDEX",
    description="offset counts pages from 1",
)(switch(balance_offset_base=1))


@fault(
    "balance-closing-as-number",
    requirement="BAL-FORMAT-DECIMAL",
    description="closingBalance is a JSON number, not a decimal string",
)
def _balance_closing_number(b: Behaviour, h: Hooks) -> FaultResult:
    def numbers(body: dict[str, Any], request: Request) -> None:
        for row in details_of(body).get("ledgerClosingBalance") or []:
            if isinstance(row, dict):
                row["closingBalance"] = as_number(row.get("closingBalance"))

    return h.then(response_hook=on_success((BALANCE,), numbers))


@fault(
    "balance-category-ignored",
    requirement="BAL-FILTER-CATEGORY",
    description="pointCategoryType is validated but balances of every category are returned",
)
def _balance_category_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=_ignoring((BALANCE,), {"pointCategoryType"}))


@fault(
    "balance-entrytype-ignored",
    requirement="BAL-FILTER-ENTRYTYPE",
    description="ledgerEntryType is validated but balances count every row",
)
def _balance_entrytype_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=_ignoring((BALANCE,), {"ledgerEntryType"}))


@fault(
    "balance-enddate-ignored",
    requirement="BAL-FILTER-ENDDATE",
    description="endDate is validated but the balances are today's",
)
def _balance_enddate_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=_ignoring((BALANCE,), {"endDate"}))


@fault(
    "balance-warnings-missing",
    requirement="COMMON-SCHEMA-WARNINGS",
    description="successful ledger-balance answers have no warnings list",
    operations=(BALANCE,),
)
def _balance_warnings_missing(b: Behaviour, h: Hooks) -> FaultResult:
    def drop(body: dict[str, Any], request: Request) -> None:
        body.pop("warnings", None)

    return h.then(response_hook=on_success((BALANCE,), drop))


# -- isTransferrable (customer and group) ------------------------------------------------------


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
    description="insufficient points are refused with the neighbouring 803",
)(switch(err_insufficient_points=803))


fault(
    "transfer-points-invalid-400",
    requirement="PTS-ERR-801",
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


@fault(
    "points-errors-http-200",
    requirement="COMMON-ERR-STATUS",
    description="the points operations of page 003 send their errors with HTTP 200",
    operations=POINTS_OPERATIONS,
)
def _points_errors_200(b: Behaviour, h: Hooks) -> FaultResult:
    def ok_status(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        return (200, body) if status == b.error_status and error_codes(body) else (status, body)

    return h.then(response_hook=respond(POINTS_OPERATIONS, ok_status))


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
        return with_query(params, [(k, v) for k, v in query_pairs(params) if k != "userEntityType"])

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
    description="pointsToBeReversed is mandatory: without it the reversal is refused with 901",
)(switch(reverse_whole_remainder_by_default=False))
