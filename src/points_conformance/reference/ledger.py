"""getCustomerLedgerInfo (v2) and its connected-orgs form (v2.1): owner, filters, pages, entries."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from points_conformance.reference.context import Ctx, Result
from points_conformance.reference.formatting import fmt_points, ledger_date
from points_conformance.reference.params import Query, canonical_names, parse_bool, parse_int
from points_conformance.reference.store_schema import (
    CATEGORIES,
    ENTRY_TYPES,
    OWNER_CUSTOMER,
    OWNER_GROUP,
    LedgerQuery,
    fits_int64,
    fmt_ts,
    row_bit,
)


@dataclass
class _Owner:
    kind: int
    ids: tuple[int, ...]
    details: dict[str, Any]
    group_id: int | None = None


def _scope_orgs(ctx: Ctx, headers: dict[str, str]) -> list[int]:
    b = ctx.behaviour
    message = "Connected Orgs not set properly in Headers"
    scope = headers.get("data-scope")
    if scope is None:
        if b.data_scope_required:
            raise ctx.error(b.err_connected_orgs, message + ": DATA-SCOPE is missing")
        return [ctx.org_id]
    scope = scope.strip()
    if scope not in b.data_scope_values:
        raise ctx.error(b.err_connected_orgs, message + f": DATA-SCOPE {scope!r} is not supported")
    if scope == "SELF":
        return [ctx.org_id]
    raw = (headers.get("data-scope-org") or "").strip().strip("[]")
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise ctx.error(b.err_connected_orgs, message + ": DATA-SCOPE-ORG names no organisation")
    connected = ctx.store.connected_org_ids(ctx.org_id)
    orgs: list[int] = []
    for part in parts:
        org = parse_int(part)
        if org is None or org not in connected:
            raise ctx.error(
                b.err_connected_orgs, message + f": {part} is not a connected organisation"
            )
        if org not in orgs:
            orgs.append(org)
    return orgs


def validate_identity(ctx: Ctx, q: Query, *, group_form: bool) -> tuple[str, str, str, str]:
    """identifierName (canonical), identifierValue, source, accountId; or the documented error."""
    b = ctx.behaviour
    raw_name = q.get("identifierName")
    names = canonical_names(
        b.ledger_group_identifier_names if group_form else b.ledger_identifier_names
    )
    if raw_name is None or raw_name.strip().lower() not in names:
        raise ctx.error(b.err_identifier_name, "Lookup, Invalid identifier passed")
    name = names[raw_name.strip().lower()]
    value = (q.get("identifierValue") or "").strip()
    if not value:
        raise ctx.error(b.err_identifier_value, "Identifier value missing or incorrect")
    source = (q.get("source") or "").strip().upper()
    if source not in b.sources:
        raise ctx.error(b.err_source, "Source is missing or incorrect")
    account = (q.get("accountId") or q.get("acountId") or "").strip()
    return name, value, source, account


def _is_group_form(ctx: Ctx, q: Query) -> bool:
    b = ctx.behaviour
    raw_type = q.get("type")
    if raw_type is not None:
        if raw_type.strip().upper() not in b.ledger_group_types:
            raise ctx.invalid(f"Invalid type {raw_type!r}; supported: USERGROUP2, FLEET")
        return True
    name = (q.get("identifierName") or "").strip().lower()
    return name in ("groupid", "primaryuserid")


def _customer_details(row: sqlite3.Row, external_id: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "userId": int(row["customer_id"]),
    }
    if external_id:
        details["externalId"] = external_id
    details["entityType"] = "CUSTOMER"
    return details


def _resolve_owner(ctx: Ctx, q: Query, orgs: list[int], group_form: bool) -> _Owner:
    b = ctx.behaviour
    store = ctx.store
    name, value, source, account = validate_identity(ctx, q, group_form=group_form)
    if group_form:
        wanted_type = (q.get("type") or "").strip().upper() or None
        lookup = {"groupId": "id", "id": "id"}.get(name, name)
        for org in orgs:
            group = store.find_group(org, lookup, value)
            if group is not None and (wanted_type is None or group["type"] == wanted_type):
                details: dict[str, Any] = {
                    "firstName": group["name"],
                    "lastName": "",
                    "userId": int(group["group_id"]),
                }
                if group["external_id"]:
                    details["externalId"] = group["external_id"]
                details["entityType"] = group["type"]
                gid = int(group["group_id"])
                return _Owner(OWNER_GROUP, (gid,), details, gid)
        raise ctx.error(b.err_unknown_customer, "Identifier value missing or incorrect")
    found: list[sqlite3.Row] = []
    for org in orgs:
        customer = store.find_customer(org, name, value, source, account or None)
        if customer is not None:
            found.append(customer)
    if not found:
        if name == "id":
            raise ctx.error(b.err_unknown_user_id, "Invalid userId passed in request")
        raise ctx.error(b.err_unknown_customer, "Identifier value missing or incorrect")
    first = found[0]
    details = _customer_details(first, store.identifier(int(first["customer_id"]), "externalId"))
    return _Owner(OWNER_CUSTOMER, tuple(int(c["customer_id"]) for c in found), details)


def till_filter(ctx: Ctx, q: Query, orgs: list[int]) -> tuple[int, ...] | None:
    b = ctx.behaviour
    store = ctx.store
    given = [n for n in ("tillId", "tillIds", "storeId", "storeCode") if q.present(n)]
    if len(given) > 1:
        raise ctx.error(
            b.err_multiple_till_filters,
            "Multiple input parameters set. Please provide only one of the following:"
            " tillId, tillIds, storeCode or storeId",
        )
    if not given:
        return None
    name = given[0]
    raw = (q.get(name) or "").strip()
    if name in ("tillId", "tillIds"):
        parts = [p.strip() for p in raw.split(",")] if name == "tillIds" else [raw]
        ids: list[int] = []
        for part in parts:
            till = parse_int(part)
            if till is None:
                raise ctx.error(
                    b.err_till_format, f'Till id format exception:For input string: "{part}"'
                )
            ids.append(till)
        unknown = [t for t in ids if not any(store.till(org, t) is not None for org in orgs)]
        if unknown:
            listed = ",".join(str(t) for t in unknown)
            raise ctx.error(b.err_invalid_till_ids, f"Invalid tillIds: {listed}")
        return tuple(dict.fromkeys(ids))
    tills: list[int] = []
    if name == "storeId":
        store_id = parse_int(raw)
        if store_id is not None:
            for org in orgs:
                tills.extend(store.tills_of_store_id(org, store_id))
        if not tills:
            raise ctx.error(b.err_no_tills, f"No tills found for store with store id: {raw}")
    else:
        for org in orgs:
            tills.extend(store.tills_of_store_code(org, raw))
        if not tills:
            raise ctx.error(b.err_no_tills, f"No tills found for store with store code: {raw}")
    return tuple(dict.fromkeys(tills))


def bool_param(ctx: Ctx, q: Query, name: str, default: bool) -> bool:
    try:
        value = parse_bool(q.get(name))
    except ValueError:
        raise ctx.invalid(f"{name} must be true or false") from None
    return default if value is None else value


def _ledger_dates(ctx: Ctx, q: Query) -> tuple[str | None, str | None]:
    b = ctx.behaviour
    # A malformed date is refused even when the date filter is off: the value is still invalid.
    filtering = bool_param(ctx, q, "isFilterBasedOnDate", b.ledger_is_filter_based_on_date_default)
    one_year = bool_param(ctx, q, "includeLastOneYearData", False)

    def parse(name: str) -> datetime | None:
        raw = q.get(name)
        if raw is None:
            return None
        try:
            value = datetime.strptime(raw, b.ledger_date_format)
        except ValueError:
            raise ctx.invalid(f"{name} must be in YYYY-MM-DDThh:mm:ss format") from None
        if value.strftime(b.ledger_date_format) != raw:
            raise ctx.invalid(f"{name} must be in YYYY-MM-DDThh:mm:ss format")
        return value

    start, end = parse("startDate"), parse("endDate")
    span = timedelta(days=b.ledger_one_year_days if one_year else b.ledger_one_date_days)
    if start is not None and end is not None:
        if start > end:
            raise ctx.invalid("startDate must not be after endDate")
        if end - start > timedelta(days=b.ledger_window_days):
            raise ctx.invalid(
                f"The difference between startDate and endDate must not exceed"
                f" {b.ledger_window_days} days"
            )
    elif start is not None:
        end = start + span
    elif end is not None:
        start = end - span
    if not filtering:
        return None, None
    return (fmt_ts(start) if start else None, fmt_ts(end) if end else None)


def _row_mask(
    ctx: Ctx, entry_type: str | None, chosen: tuple[str, ...], points: bool, currency: bool
) -> int:
    """The (currency?, entry type, category) combinations a ledger request lets through."""
    types = [entry_type] if entry_type else list(ctx.behaviour.ledger_entry_types)
    categories = list(chosen) if chosen else list(CATEGORIES)
    mask = 0
    for t in types:
        for c in categories:
            if t not in ENTRY_TYPES or c not in CATEGORIES:
                continue  # a value no stored row can have selects nothing
            if points:
                mask |= 1 << row_bit(t, c, None)
            if currency:
                mask |= 1 << row_bit(t, c, "currency")
    return mask


def page_numbers(
    ctx: Ctx, q: Query, *, default_limit: int, max_limit: int, min_limit: int, base: int
) -> tuple[int, int]:
    b = ctx.behaviour
    raw_limit = q.get("limit")
    if raw_limit is None:
        limit = default_limit
    else:
        parsed = parse_int(raw_limit.strip())
        if parsed is None:
            raise ctx.invalid("limit must be an integer")
        if parsed > max_limit:
            raise ctx.error(b.err_limit, f"Limit cannot be greater than {max_limit}")
        if parsed < min_limit:
            raise ctx.invalid(f"limit must be at least {min_limit}")
        limit = parsed
    raw_offset = q.get("offset")
    if raw_offset is None:
        offset = base
    else:
        parsed_offset = parse_int(raw_offset.strip())
        if parsed_offset is None:
            raise ctx.invalid("offset must be an integer")
        if parsed_offset < base:
            raise ctx.invalid(f"offset must be at least {base}")
        offset = parsed_offset
    return limit, offset


def _event_details(ev: sqlite3.Row) -> dict[str, Any]:
    event_details: dict[str, Any] = {}
    if ev["promotion_id"] is not None:
        event_details.update(
            {
                "eventDisplayName": ev["promo_display_name"],
                "promotionName": ev["promo_name"],
                "promotionDescription": ev["promo_description"],
                "promotionIdentifier": ev["promo_identifier"],
                "promotionId": int(ev["promotion_id"]),
            }
        )
    if ev["reason"]:
        event_details["reason"] = ev["reason"]
    event_details["eventDate"] = ledger_date(ev["created"])
    return event_details


def _entry_json(
    ctx: Ctx,
    ev: sqlite3.Row,
    rows: list[sqlite3.Row],
    q: LedgerQuery,
    programs: dict[int, str],
    tills: dict[int, sqlite3.Row],
    members: dict[int, dict[str, Any]] | None,
) -> dict[str, Any]:
    decimals = ctx.behaviour.points_decimals
    till_id = ev["till_id"]
    source_program = ev["source_program_id"]
    details: list[dict[str, Any]] = []
    net = 0
    currencies: dict[str, int] = {}
    # Every page builds one of these per row: each column is read from the row once.
    for r in rows:
        if not q.row_passes(r, till_id, source_program):
            continue
        points, program_id, entry_type = int(r["points"]), int(r["program_id"]), r["entry_type"]
        item: dict[str, Any] = {
            "ledgerEntryType": entry_type,
            "points": fmt_points(points, decimals, signed=False),
            "pointsCategory": r["category"],
            "programName": programs.get(program_id, ""),
            "programId": program_id,
        }
        signed = -points if entry_type == "DEBIT" else points
        currency = r["currency"]
        if currency is not None:
            item["alternateCurrencyName"] = currency
            currencies[currency] = currencies.get(currency, 0) + signed
        else:
            net += signed
        details.append(item)
    entry: dict[str, Any] = {
        "eventLogId": int(ev["event_log_id"]),
        "eventName": ev["event_name"],
        "customerId": int(ev["customer_id"]),
        "ledgerCreatedDate": ledger_date(ev["created"]),
        "customerDetails": None,
        "entryDetails": details,
        "netPointsOnEvent": fmt_points(net, decimals),
    }
    if members is not None:
        entry["customerDetails"] = members.get(int(ev["customer_id"]))
    elif ctx.behaviour.ledger_customer_details_on_customer_entries:
        entry["customerDetails"] = {"userId": 0}
    if currencies:
        entry["netAlternateCurrenciesOnEvent"] = {
            name: fmt_points(value, decimals) for name, value in currencies.items()
        }
    if ev["tx_id"] is not None:
        entry["transactionDetails"] = {
            "transactionId": int(ev["tx_id"]),
            "transactionNumber": ev["tx_number"],
            "date": ledger_date(ev["tx_date"]),
            "amount": float(ev["tx_amount"]),
            "grossBillAmount": float(ev["tx_gross"]),
            "source": ev["tx_source"],
        }
    else:
        entry["transactionDetails"] = {}
    till = tills.get(int(till_id)) if till_id is not None else None
    entry["store"] = till["store_name"] if till else ""
    entry["storeCode"] = till["store_code"] if till else ""
    entry["tillCode"] = till["till_code"] if till else ""
    entry["eventDetails"] = _event_details(ev)
    entry["sourceProgramId"] = int(source_program) if source_program is not None else None
    entry["sourceProgramName"] = (
        programs.get(int(source_program), "") if source_program is not None else None
    )
    entry["orgId"] = int(ev["org_id"])
    return entry


def _member_details(ctx: Ctx, group_id: int) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for m in ctx.store.group_members(group_id):
        cid = int(m["customer_id"])
        mobile = ctx.store.identifier(cid, "mobile")
        email = ctx.store.identifier(cid, "email")
        identifier = (
            {"type": "mobile", "value": mobile}
            if mobile
            else {"type": "email", "value": email or ""}
        )
        out[cid] = {
            "firstName": m["first_name"],
            "lastName": m["last_name"],
            "identifier": identifier,
            "role": m["role"],
            "userId": cid,
        }
    return out


@dataclass(frozen=True)
class _Filters:
    limit: int
    offset: int
    sort: str
    entry_type: str | None
    category_type: str | None
    include_currencies: bool
    exclude_points: bool
    till_concept: bool
    currency_names: tuple[str, ...]
    program_id: int | None
    start: str | None
    end: str | None


def _filters(ctx: Ctx, q: Query) -> _Filters:
    """Paging, sort and filters, checked in the order the documented errors are given."""
    b = ctx.behaviour
    limit, offset = page_numbers(
        ctx,
        q,
        default_limit=b.ledger_default_limit,
        max_limit=b.ledger_max_limit,
        min_limit=b.ledger_min_limit,
        base=b.ledger_offset_base,
    )
    sort_raw = next((q.get(a) for a in b.ledger_sort_aliases if q.present(a)), None)
    sort = b.ledger_default_sort if sort_raw is None else sort_raw.strip().upper()
    if sort not in b.ledger_sort_values:
        raise ctx.invalid("sort must be ASC or DESC")
    entry_type = q.get("ledgerEntryType")
    if entry_type is not None and entry_type not in b.ledger_entry_types:
        raise ctx.error(b.err_entry_type, "Invalid ledgerEntryType passed in request")
    category_type = q.get("pointCategoryType")
    if category_type is not None and category_type not in b.category_map:
        raise ctx.error(b.err_category, "Invalid pointCategoryType passed in request")
    include_currencies = bool_param(ctx, q, "includeAlternateCurrencies", False)
    exclude_points = bool_param(ctx, q, "excludePointCategories", False)
    till_concept = bool_param(ctx, q, "includeTillConceptEvents", False)
    raw_names = q.get("alternateCurrencyNames")
    currency_names = (
        tuple(n.strip() for n in raw_names.split(",") if n.strip()) if raw_names else ()
    )
    program_id: int | None = None
    if q.get("programId") is not None:
        program_id = parse_int((q.get("programId") or "").strip())
        if program_id is None:
            raise ctx.invalid("programId must be an integer")
    if till_concept and program_id is None and b.ledger_till_concept_needs_program:
        raise ctx.invalid(
            "includeTillConceptEvents=true needs programId: invalid input combination"
        )
    start, end = _ledger_dates(ctx, q)
    return _Filters(
        limit,
        offset,
        sort,
        entry_type,
        category_type,
        include_currencies,
        exclude_points,
        till_concept,
        currency_names,
        program_id,
        start,
        end,
    )


def _ledger_query(
    ctx: Ctx,
    f: _Filters,
    owner: _Owner,
    till_ids: tuple[int, ...] | None,
    member_ids: tuple[int, ...] | None,
) -> LedgerQuery:
    """The rows the filters select; a category the owner never earned is the documented error."""
    b, store = ctx.behaviour, ctx.store
    currency_allowed = f.include_currencies or bool(f.currency_names)
    if (
        f.category_type is not None
        and not (f.exclude_points and currency_allowed)
        and b.ledger_category_needs_summary
        and not store.has_points_category(owner.kind, owner.ids, b.category_map[f.category_type])
    ):
        raise ctx.error(b.err_no_points_summary, "No CPS entry for the given points type.")
    currency_only = f.exclude_points and currency_allowed
    categories: tuple[str, ...] = ()
    if f.category_type is not None and not currency_only:
        categories = (b.category_map[f.category_type],)
        if f.category_type == "PROMISED" and b.ledger_promised_includes_trigger_based:
            categories += (b.category_map["TRIGGER_BASED"],)
    program_id = f.program_id
    return LedgerQuery(
        owner_kind=owner.kind,
        owner_ids=owner.ids,
        start=f.start,
        end=f.end,
        till_ids=till_ids,
        member_ids=member_ids,
        mask=_row_mask(ctx, f.entry_type, categories, not currency_only, currency_allowed),
        program_id=program_id if program_id is None or fits_int64(program_id) else -1,
        concept_till_ids=(
            store.concept_till_ids(program_id) if f.till_concept and program_id is not None else ()
        ),
        currency_names=(None if f.include_currencies or not currency_allowed else f.currency_names),
        program_or_source=b.ledger_program_matches_source,
    )


def _narrowed(f: _Filters) -> bool:
    """Whether a parameter that removes rows is given (what D-070 leaves totalEntries open for)."""
    given = (f.entry_type, f.category_type, f.program_id, f.currency_names)
    return any(v is not None and v != () for v in given) or (
        f.exclude_points or f.include_currencies or f.till_concept
    )


def ledger_info(ctx: Ctx, params: dict[str, Any], *, connected: bool) -> Result:
    b = ctx.behaviour
    store = ctx.store
    q = Query(params["query"])
    orgs = _scope_orgs(ctx, params["headers"]) if connected else [ctx.org_id]
    group_form = _is_group_form(ctx, q)
    validate_identity(ctx, q, group_form=group_form)
    f = _filters(ctx, q)
    limit, offset = f.limit, f.offset
    till_ids = till_filter(ctx, q, orgs)
    owner = _resolve_owner(ctx, q, orgs, group_form)
    member_ids: tuple[int, ...] | None = None
    role = q.get("role")
    if owner.group_id is not None and role is not None and role.strip():
        member_ids = store.member_ids_with_role(owner.group_id, role.strip())
    lq = _ledger_query(ctx, f, owner, till_ids, member_ids)
    shown_q = lq
    if not b.ledger_filters_drop_rows:
        unfiltered = replace(f, entry_type=None, category_type=None, program_id=None)
        shown_q = _ledger_query(ctx, unfiltered, owner, till_ids, member_ids)
    no_rows = (
        (member_ids is not None and not member_ids)
        or (till_ids is not None and not till_ids)
        or lq.mask == 0
    )
    total = 0 if no_rows else store.ledger_count(lq)
    whole = LedgerQuery(owner.kind, owner.ids, f.start, f.end, till_ids, member_ids)
    paged_q = lq
    if total and b.ledger_filters_after_paging and _narrowed(f):
        paged_q = whole
    if total and _narrowed(f) and (paged_q is whole or not b.ledger_total_counts_filtered):
        total = store.ledger_count(whole)
    page_count = math.ceil(total / limit)
    page_index = offset - b.ledger_offset_base
    no_entries = "There are no ledger entries present for the given parameters. Try removing parameters to widen the search"
    if total == 0 and b.ledger_empty_is_error:
        raise ctx.error(b.err_no_entries, no_entries)
    past_last = page_index > page_count or (
        page_index == page_count and b.ledger_at_page_count_is_error
    )
    if past_last and total > 0 and b.ledger_past_last_page_is_error:
        raise ctx.error(b.err_no_entries, no_entries)
    events: list[sqlite3.Row] = []
    if page_index < page_count:
        events = store.ledger_page(
            paged_q, limit=limit, offset=page_index * limit, ascending=f.sort == "ASC"
        )
    if paged_q is whole and events:
        everything = store.ledger_page(lq, limit=total, offset=0, ascending=False)
        matching = {int(e["event_log_id"]) for e in everything}
        events = [e for e in events if int(e["event_log_id"]) in matching]
    rows = store.rows_of_events([int(e["event_log_id"]) for e in events])
    programs = store.program_names()
    tills = store.till_details(int(e["till_id"]) for e in events if e["till_id"] is not None)
    members = _member_details(ctx, owner.group_id) if owner.group_id is not None else None
    entries = [
        _entry_json(ctx, e, rows[int(e["event_log_id"])], shown_q, programs, tills, members)
        for e in events
    ]
    ledger_details: dict[str, Any] = {
        "pageNumber": offset if b.ledger_page_number_echoes_offset else page_index,
        "pageSize": limit if b.ledger_page_size_is_limit else len(entries),
        "totalEntries": total,
        "pageCount": page_count,
    }
    if connected:
        ledger_details["ledgerClosingBalance"] = []
    body: dict[str, Any] = {
        "customerDetails": owner.details,
        "ledgerDetails": ledger_details,
        "ledgerEntries": entries,
        "warnings": [],
    }
    return Result(200, body, {})
