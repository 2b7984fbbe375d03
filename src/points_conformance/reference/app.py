"""The reference server's HTTP layer: the ten documented operations on top of `Store`.

Every route goes through the same wrapper: the request becomes a params dict, `params_hook`
may rewrite it, Basic credentials are checked, the operation runs in a worker thread and its
(status, body) passes through `response_hook`. Rules come from `Behaviour` only. Input is never
validated by the framework: each bad value is answered with the documented code in the error
envelope, and anything unexpected becomes a logged 500 envelope, never a traceback.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import math
import re
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from points_conformance.reference.behaviour import BODY_INVALID, NO_BODY, Behaviour, Hooks
from points_conformance.reference.store import (
    CATEGORIES,
    ENTRY_TYPES,
    OWNER_CUSTOMER,
    OWNER_GROUP,
    Entity,
    LedgerQuery,
    Store,
    StoreError,
    fits_int64,
    fmt_ts,
    row_bit,
)

log = logging.getLogger("points_conformance.reference")

DEFAULT_CREDENTIALS = ("conformance", "conformance-secret")
DEFAULT_ORG = 50406

# operationId -> (method, path)
OPERATIONS: dict[str, tuple[str, str]] = {
    "getCustomerLedgerInfo": ("GET", "/v2/pointsLedger/getCustomerLedgerInfo"),
    "getCustomerLedgerInfoConnectedOrgs": ("GET", "/v2.1/pointsLedger/getCustomerLedgerInfo"),
    "getCrossMemberLedger": ("GET", "/v2/customers/{id}/crossMemberLedger"),
    "getCustomerLedgerBalance": ("GET", "/v2/pointsLedger/getCustomerLedgerBalance"),
    "isTransferrable": ("POST", "/v2/points/isTransferrable"),
    "isTransferrableUserGroup": ("POST", "/v2/points/userGroup2/isTransferrable"),
    "transferPoints": ("POST", "/v2/points/transfer"),
    "transferPointsUserGroup": ("POST", "/v2/points/userGroup2/transfer"),
    "getPointsTransfers": ("GET", "/v2/points/transfer"),
    "reversePoints": ("POST", "/v2/points/reverse"),
}
# The operations of page 003, whose error bodies also carry "data": [].
DATA_ENVELOPE_OPERATIONS = frozenset(
    {
        "isTransferrable",
        "isTransferrableUserGroup",
        "transferPoints",
        "transferPointsUserGroup",
        "getPointsTransfers",
        "reversePoints",
    }
)

_INT_RE = re.compile(r"-?[0-9]+", re.ASCII)
_MAX_BODY = 1_000_000


class ApiError(Exception):
    """A documented error: answered as the envelope with `code`."""

    def __init__(self, code: int, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Result:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Ctx:
    store: Store
    behaviour: Behaviour
    org_id: int
    till_id: int | None
    now: datetime  # naive UTC, fixed for the request

    def error(self, code: int, message: str) -> ApiError:
        return ApiError(code, message, self.behaviour.error_status)

    def invalid(self, message: str) -> ApiError:
        return self.error(self.behaviour.err_validation, message)


Handler = Callable[[Ctx, dict[str, Any]], Result]


# -- formatting --------------------------------------------------------------------------------


def fmt_points(milli: int, decimals: int = 3, *, signed: bool = True) -> str:
    """Milli-points as a decimal string: 155500 -> "155.500", -10540 -> "-10.540"."""
    value = milli if signed else abs(milli)
    if decimals == 3:
        sign = "-" if value < 0 else ""
        whole, frac = divmod(abs(value), 1000)
        return f"{sign}{whole}.{frac:03d}"
    quant = Decimal(1).scaleb(-decimals) if decimals > 0 else Decimal(1)
    return str((Decimal(value) / 1000).quantize(quant, rounding=ROUND_HALF_UP))


def points_number(milli: int) -> float:
    return milli / 1000


def ledger_date(stored: str) -> str:
    return f"{stored}.0"


def org_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # the one zone the seed uses has no daylight saving, so a fixed offset is exact
        if name == "Asia/Kolkata":
            return timezone(timedelta(hours=5, minutes=30))
        return UTC


def parse_stored(stored: str) -> datetime:
    return datetime.strptime(stored, "%Y-%m-%d %H:%M:%S")


# -- input helpers -----------------------------------------------------------------------------


class Query:
    """Query parameters in order; a repeated name reads as its first value."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = [(str(k), str(v)) for k, v in pairs]

    def get(self, name: str) -> str | None:
        for key, value in self.pairs:
            if key == name:
                return value
        return None

    def present(self, name: str) -> bool:
        return any(key == name for key, _ in self.pairs)


def parse_int(text: str | None) -> int | None:
    """A plain base-10 integer (no spaces, underscores or non-ASCII digits), else None."""
    if text is None or not _INT_RE.fullmatch(text):
        return None
    return int(text)


def parse_bool(text: str | None) -> bool | None:
    if text is None:
        return None
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(text)


def json_number(value: Any) -> float | int | None:
    """A JSON number that is finite (bool is not a number), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_milli(value: float | int) -> int:
    if isinstance(value, int):
        return value * 1000
    return int((Decimal(repr(value)) * 1000).to_integral_value(rounding=ROUND_HALF_UP))


def text_value(value: Any) -> str | None:
    """A non-empty identifier value given as a string or an integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _canonical(names: Sequence[str]) -> dict[str, str]:
    return {n.lower(): n for n in names}


# -- credentials -------------------------------------------------------------------------------


def credentials_ok(header: str | None, user: str, password: str) -> bool:
    if not header or not header[:6].lower() == "basic ":
        return False
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    given_user, sep, given_password = decoded.partition(":")
    if not sep:
        return False
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return user_ok and password_ok


# -- ledger (v2, v2.1) -------------------------------------------------------------------------


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


def _validate_identity(ctx: Ctx, q: Query, *, group_form: bool) -> tuple[str, str, str, str]:
    """identifierName (canonical), identifierValue, source, accountId; or the documented error."""
    b = ctx.behaviour
    raw_name = q.get("identifierName")
    names = _canonical(b.ledger_group_identifier_names if group_form else b.ledger_identifier_names)
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
    name, value, source, account = _validate_identity(ctx, q, group_form=group_form)
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


def _till_filter(ctx: Ctx, q: Query, orgs: list[int]) -> tuple[int, ...] | None:
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


def _bool_param(ctx: Ctx, q: Query, name: str, default: bool) -> bool:
    try:
        value = parse_bool(q.get(name))
    except ValueError:
        raise ctx.invalid(f"{name} must be true or false") from None
    return default if value is None else value


def _ledger_dates(ctx: Ctx, q: Query) -> tuple[str | None, str | None]:
    b = ctx.behaviour
    # A malformed date is refused even when the date filter is off: the value is still invalid.
    filtering = _bool_param(ctx, q, "isFilterBasedOnDate", b.ledger_is_filter_based_on_date_default)
    one_year = _bool_param(ctx, q, "includeLastOneYearData", False)

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
    ctx: Ctx, entry_type: str | None, category: str | None, points: bool, currency: bool
) -> int:
    """The (currency?, entry type, category) combinations a ledger request lets through."""
    types = [entry_type] if entry_type else list(ctx.behaviour.ledger_entry_types)
    categories = [category] if category else list(CATEGORIES)
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


def _page_numbers(
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
    shown = [r for r in rows if q.row_passes(r, till_id)]
    details: list[dict[str, Any]] = []
    net = 0
    currencies: dict[str, int] = {}
    for r in shown:
        item: dict[str, Any] = {
            "ledgerEntryType": r["entry_type"],
            "points": fmt_points(int(r["points"]), decimals, signed=False),
            "pointsCategory": r["category"],
            "programName": programs.get(int(r["program_id"]), ""),
            "programId": int(r["program_id"]),
        }
        signed = -int(r["points"]) if r["entry_type"] == "DEBIT" else int(r["points"])
        if r["currency"] is not None:
            item["alternateCurrencyName"] = r["currency"]
            currencies[r["currency"]] = currencies.get(r["currency"], 0) + signed
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
    entry["eventDetails"] = event_details
    source_program = ev["source_program_id"]
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


def ledger_info(ctx: Ctx, params: dict[str, Any], *, connected: bool) -> Result:
    b = ctx.behaviour
    store = ctx.store
    q = Query(params["query"])
    orgs = _scope_orgs(ctx, params["headers"]) if connected else [ctx.org_id]
    group_form = _is_group_form(ctx, q)
    _validate_identity(ctx, q, group_form=group_form)
    limit, offset = _page_numbers(
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
    include_currencies = _bool_param(ctx, q, "includeAlternateCurrencies", False)
    exclude_points = _bool_param(ctx, q, "excludePointCategories", False)
    till_concept = _bool_param(ctx, q, "includeTillConceptEvents", False)
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
    till_ids = _till_filter(ctx, q, orgs)
    owner = _resolve_owner(ctx, q, orgs, group_form)
    member_ids: tuple[int, ...] | None = None
    role = q.get("role")
    if owner.group_id is not None and role is not None and role.strip():
        member_ids = store.member_ids_with_role(owner.group_id, role.strip())

    currency_allowed = include_currencies or bool(currency_names)
    if (
        category_type is not None
        and not (exclude_points and currency_allowed)
        and b.ledger_category_needs_summary
        and not store.has_points_category(owner.kind, owner.ids, b.category_map[category_type])
    ):
        raise ctx.error(b.err_no_points_summary, "No CPS entry for the given points type.")
    currency_only = exclude_points and currency_allowed
    category = None
    if category_type is not None and not currency_only:
        category = b.category_map[category_type]
    mask = _row_mask(ctx, entry_type, category, not currency_only, currency_allowed)
    lq = LedgerQuery(
        owner_kind=owner.kind,
        owner_ids=owner.ids,
        start=start,
        end=end,
        till_ids=till_ids,
        member_ids=member_ids,
        mask=mask,
        program_id=program_id if program_id is None or fits_int64(program_id) else -1,
        concept_till_ids=(
            store.concept_till_ids(program_id) if till_concept and program_id is not None else ()
        ),
        currency_names=None if include_currencies or not currency_allowed else currency_names,
    )
    no_rows = (
        (member_ids is not None and not member_ids)
        or (till_ids is not None and not till_ids)
        or mask == 0
    )
    total = 0 if no_rows else store.ledger_count(lq)
    page_count = math.ceil(total / limit)
    page_index = offset - b.ledger_offset_base
    no_entries = "There are no ledger entries present for the given parameters. Try removing parameters to widen the search"
    if total == 0 and b.ledger_empty_is_error:
        raise ctx.error(b.err_no_entries, no_entries)
    if page_index >= page_count and total > 0 and b.ledger_past_last_page_is_error:
        raise ctx.error(b.err_no_entries, no_entries)
    events: list[sqlite3.Row] = []
    if page_index < page_count:
        events = store.ledger_page(
            lq, limit=limit, offset=page_index * limit, ascending=sort == "ASC"
        )
    ids = [int(e["event_log_id"]) for e in events]
    rows = store.rows_of_events(ids)
    programs = store.program_names()
    tills = store.till_details(int(e["till_id"]) for e in events if e["till_id"] is not None)
    members = _member_details(ctx, owner.group_id) if owner.group_id is not None else None
    entries = [
        _entry_json(ctx, e, rows[int(e["event_log_id"])], lq, programs, tills, members)
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


# -- ledger balance ----------------------------------------------------------------------------


def ledger_balance(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    store = ctx.store
    q = Query(params["query"])
    name, value, source, account = _validate_identity(ctx, q, group_form=False)
    limit, offset = _page_numbers(
        ctx,
        q,
        default_limit=b.balance_default_limit,
        max_limit=b.balance_max_limit,
        min_limit=b.balance_min_limit,
        base=b.balance_offset_base,
    )
    entry_type = q.get("ledgerEntryType")
    if entry_type is not None and entry_type not in b.ledger_entry_types:
        raise ctx.error(b.err_entry_type, "Invalid ledgerEntryType passed in request")
    category_type = q.get("pointCategoryType")
    if category_type is not None and category_type not in b.category_map:
        raise ctx.error(b.err_category, "Invalid pointCategoryType passed in request")
    till_concept = _bool_param(ctx, q, "includeTillConceptEvents", False)
    program_id: int | None = None
    if q.get("programId") is not None:
        program_id = parse_int((q.get("programId") or "").strip())
        if program_id is None:
            raise ctx.invalid("programId must be an integer")
    raw_end = q.get("endDate")
    end = ctx.now
    if raw_end is not None:
        try:
            end = datetime.strptime(raw_end, b.ledger_date_format)
        except ValueError:
            raise ctx.invalid("endDate must be in YYYY-MM-DDThh:mm:ss format") from None
        if end.strftime(b.ledger_date_format) != raw_end:
            raise ctx.invalid("endDate must be in YYYY-MM-DDThh:mm:ss format")
    till_ids = None
    if q.present("tillId"):
        till_ids = _till_filter(ctx, Query([("tillId", q.get("tillId") or "")]), [ctx.org_id])
    customer = store.find_customer(ctx.org_id, name, value, source, account or None)
    if customer is None:
        if name == "id":
            raise ctx.error(b.err_unknown_user_id, "Invalid userId passed in request")
        raise ctx.error(b.err_unknown_customer, "Identifier value missing or incorrect")
    cid = int(customer["customer_id"])
    if program_id is not None and not fits_int64(program_id):
        program_id = -1
    balances = store.closing_balances(
        cid,
        fmt_ts(end),
        till_ids=till_ids,
        entry_type=entry_type,
        category=b.category_map[category_type] if category_type else None,
        program_id=program_id,
        concept_till_ids=(
            store.concept_till_ids(program_id) if till_concept and program_id is not None else ()
        ),
    )
    total = len(balances)
    page_index = offset - b.balance_offset_base
    page = balances[page_index * limit : page_index * limit + limit] if page_index < total else []
    programs = store.program_names()
    details: dict[str, Any] = {"userId": cid}
    external = store.identifier(cid, "externalId")
    if external:
        details["externalId"] = external
    details["entityType"] = "CUSTOMER"
    body = {
        "customerDetails": details,
        "ledgerDetails": {
            "pageNumber": offset,
            "pageSize": limit,
            "totalEntries": total,
            "pageCount": math.ceil(total / limit),
            "ledgerClosingBalance": [
                {
                    "pointsCategory": category,
                    "programName": programs.get(program, ""),
                    "programId": program,
                    "closingBalance": fmt_points(balance, b.points_decimals),
                }
                for program, category, balance in page
            ],
        },
        "warnings": [],
    }
    return Result(200, body, {})


# -- cross-member ledger -----------------------------------------------------------------------


def _iso_utc(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _row_status(points: int, reversed_amount: int) -> str:
    if reversed_amount <= 0:
        return "ACTIVE"
    if reversed_amount >= abs(points):
        return "REVERSED"
    return "PARTIALLY_REVERSED"


def _aggregate_status(statuses: list[str]) -> str:
    if statuses and all(s == "ACTIVE" for s in statuses):
        return "ACTIVE"
    if statuses and all(s == "REVERSED" for s in statuses):
        return "REVERSED"
    return "PARTIALLY_REVERSED" if statuses else "ACTIVE"


def cross_member_ledger(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    store = ctx.store
    q = Query(params["query"])
    scope = q.get("scope")
    scope = b.cml_default_scope if scope is None else scope
    if scope not in b.cml_scopes:
        raise ctx.error(b.err_cml_enum, "Invalid value for scope (allowed: user, group)")
    event_names: tuple[str, ...] | None = None
    raw_names = q.get("eventName")
    if raw_names is not None:
        names = [n.strip() for n in raw_names.split(",")]
        if not names or any(n not in b.cml_event_names for n in names):
            raise ctx.error(
                b.err_cml_enum,
                "Invalid value for eventName (allowed: CROSS_MEMBER_REDEMPTION,"
                " CROSS_MEMBER_REDEMPTION_REVERSAL)",
            )
        event_names = tuple(dict.fromkeys(names))

    def parse_date(name: str) -> datetime | None:
        raw = q.get(name)
        if raw is None:
            return None
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ctx.error(
                b.err_cml_date_format,
                "Invalid date format. Use ISO 8601 (e.g. 2026-03-25T11:00:00+05:30).",
            ) from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ctx.error(b.err_cml_date_format, "Invalid date format.") from None

    start_given, end_given = parse_date("startDate"), parse_date("endDate")
    if start_given is not None and end_given is not None and end_given < start_given:
        raise ctx.error(b.err_cml_date_order, "endDate is before startDate.")
    end = end_given if end_given is not None else ctx.now
    start = (
        start_given
        if start_given is not None
        else ctx.now - timedelta(days=b.cml_default_window_days)
    )

    def page_param(name: str, default: int, low: int, high: int | None) -> int:
        raw = q.get(name)
        if raw is None:
            return default
        value = parse_int(raw.strip())
        if value is None or value < low or (high is not None and value > high):
            raise ctx.error(
                b.err_cml_page,
                "pageSize is outside the allowed range (1-100), or pageNumber is less than 1.",
            )
        return value

    page_number = page_param("pageNumber", b.cml_page_base, b.cml_page_base, None)
    page_size = page_param(
        "pageSize", b.cml_default_page_size, b.cml_min_page_size, b.cml_max_page_size
    )
    sort = q.get("sort")
    sort = b.cml_default_sort if sort is None else sort.strip()
    if sort not in b.cml_sort_values:
        raise ctx.invalid("sort must be createdDate:desc or createdDate:asc")
    ref = q.get("transactionRef")
    ref = ref if ref else None

    raw_id = str(params["path"].get("id", "")).strip()
    customer_id = parse_int(raw_id)
    customer = store.customer(customer_id) if customer_id is not None else None
    if customer is None or int(customer["org_id"]) != ctx.org_id or customer_id is None:
        raise ctx.error(b.err_cml_other_org, "The customer does not belong to this org.")
    org = store.org(ctx.org_id)
    group = store.cross_member_group_of(customer_id)
    if group is None or org is None or not org["cross_member_enabled"]:
        raise ctx.error(
            b.err_cml_not_in_group, "The customer is not enrolled in a cross-member-eligible group."
        )
    group_id = int(group["group_id"])
    member_filter = customer_id if scope == "user" else None
    start_s, end_s = fmt_ts(start), fmt_ts(end)
    total = 0
    if start_s <= end_s:
        total = store.cml_count(group_id, start_s, end_s, member_filter, event_names, ref)
    offset = (page_number - b.cml_page_base) * page_size
    events: list[sqlite3.Row] = []
    if offset < total:
        events = store.cml_page(
            group_id,
            start_s,
            end_s,
            member_filter,
            event_names,
            ref,
            limit=page_size,
            offset=offset,
            ascending=sort.endswith(":asc"),
        )
    rows = store.cml_rows([int(e["event_log_id"]) for e in events])
    zone = org_zone(str(org["timezone"]))
    decimals = b.points_decimals
    entries: list[dict[str, Any]] = []
    for ev in events:
        ev_rows = rows[int(ev["event_log_id"])]
        is_redemption = ev["event_name"] == "CROSS_MEMBER_REDEMPTION"
        created = parse_stored(ev["created"])
        entry: dict[str, Any] = {
            "eventLogId": int(ev["event_log_id"]),
            "eventName": ev["event_name"],
            "transactingCustomerId": int(ev["transacting_customer_id"]),
            "transactionRef": ev["transaction_ref"],
            "createdDate": created.replace(tzinfo=UTC)
            .astimezone(zone)
            .strftime("%Y-%m-%d %H:%M:%S"),
            "createdDateISO": _iso_utc(created),
            "netPointsOnEvent": fmt_points(sum(int(r["points"]) for r in ev_rows), decimals),
        }
        details: list[dict[str, Any]] = []
        statuses: list[str] = []
        for r in ev_rows:
            item: dict[str, Any] = {
                "customerId": int(r["customer_id"]),
                "points": fmt_points(int(r["points"]), decimals),
            }
            if is_redemption:
                item["reversedAmount"] = fmt_points(int(r["reversed"]), decimals)
            item["expiryBatchDate"] = r["expiry_batch_date"]
            if is_redemption:
                status = _row_status(int(r["points"]), int(r["reversed"]))
                item["status"] = status
                statuses.append(status)
            details.append(item)
        if is_redemption:
            entry["status"] = _aggregate_status(statuses)
        if scope == "user":
            transacting = int(ev["transacting_customer_id"]) == customer_id
            source = any(int(r["customer_id"]) == customer_id for r in ev_rows)
            entry["userRole"] = (
                "BOTH" if transacting and source else "TRANSACTING" if transacting else "SOURCE"
            )
        entry["entryDetails"] = details
        entries.append(entry)
    members = store.group_members(group_id, active_only=True)
    balances = [
        (
            int(m["customer_id"]),
            store.category_balance(OWNER_CUSTOMER, int(m["customer_id"]), b.cml_balance_category),
        )
        for m in members
    ]
    payload: dict[str, Any] = {
        "groupDetails": {
            "groupId": group_id,
            "groupBalance": points_number(sum(bal for _, bal in balances)),
            "memberCount": len(members),
            "members": [
                {"customerId": cid, "balance": points_number(bal)} for cid, bal in balances
            ],
        },
        "pageDetails": {
            "pageNumber": page_number,
            "pageSize": page_size if b.cml_page_size_echoes_request else len(entries),
            "totalEntries": total,
            "pageCount": math.ceil(total / page_size),
        },
        "entries": entries,
    }
    body = (
        {"entity": payload, "warnings": []} if b.cml_wrap_in_entity else {**payload, "warnings": []}
    )
    return Result(200, body, {})


# -- transfers ---------------------------------------------------------------------------------


def _body_object(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    body = params.get("body")
    if body is BODY_INVALID:
        raise ctx.invalid("The request body is not valid JSON")
    if not isinstance(body, dict):
        raise ctx.invalid("The request body must be a JSON object")
    return body


def _points_field(ctx: Ctx, body: dict[str, Any], name: str) -> tuple[int, float | int]:
    value = json_number(body.get(name))
    if value is None or value <= 0:
        raise ctx.error(
            ctx.behaviour.err_points_invalid, "Points you are trying to redeem are invalid"
        )
    milli = to_milli(value)
    if milli <= 0:
        raise ctx.error(
            ctx.behaviour.err_points_invalid, "Points you are trying to redeem are invalid"
        )
    return milli, value


def _program_field(ctx: Ctx, body: dict[str, Any], org_id: int) -> sqlite3.Row:
    raw = body.get("programId")
    if raw is None or raw == "":
        program = ctx.store.default_program(org_id)
    else:
        program_id = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        if isinstance(raw, str):
            program_id = parse_int(raw.strip())
        program = ctx.store.program(program_id) if program_id is not None else None
        if program is not None and int(program["org_id"]) != org_id:
            program = None
    if program is None:
        raise ctx.invalid("Loyalty program is not configured for your organization")
    return program


_TRANSFER_TYPES = {"ID": "id", "MOBILE": "mobile", "EXTERNAL_ID": "externalId", "EMAIL": "email"}
_MOBILE_RE = re.compile(r"\+?[0-9]{7,15}", re.ASCII)
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def well_formed(name: str, value: str) -> bool:
    """Whether an identifier value has the form of its type (802 when it has not)."""
    if name == "id":
        number = parse_int(value)
        return number is not None and 0 < number
    if name == "mobile":
        return _MOBILE_RE.fullmatch(value) is not None
    if name == "email":
        return _EMAIL_RE.fullmatch(value) is not None
    return bool(value)


def _transfer_customer(ctx: Ctx, ident: Any) -> sqlite3.Row:
    b = ctx.behaviour
    if not isinstance(ident, dict):
        raise ctx.error(b.err_identifier_invalid, "Mobile number/email id/external id is invalid")
    raw_type = ident.get("type")
    value = text_value(ident.get("value"))
    allowed = {t.upper() for t in b.transfer_customer_id_types}
    if not isinstance(raw_type, str) or raw_type.strip().upper() not in allowed or value is None:
        raise ctx.error(b.err_identifier_invalid, "Mobile number/email id/external id is invalid")
    name = _TRANSFER_TYPES.get(raw_type.strip().upper(), raw_type.strip())
    if not well_formed(name, value):
        raise ctx.error(b.err_identifier_invalid, "Mobile number/email id/external id is invalid")
    return _located(ctx, ctx.store.find_customer(ctx.org_id, name, value))


def _located(ctx: Ctx, customer: sqlite3.Row | None) -> sqlite3.Row:
    """The customer a points operation looked up: 816 when there is none, 419 (naming the
    surviving customer's user id) when it was merged into another."""
    b = ctx.behaviour
    if customer is None:
        raise ctx.error(b.err_customer_not_found, "Unable to find customer in this organization")
    if customer["merged_into"] is not None:
        raise ctx.error(
            b.err_merged_customer, f"Merged customer found with id: {customer['merged_into']}"
        )
    return customer


def _check_parties(ctx: Ctx, source: sqlite3.Row | None, destination: sqlite3.Row | None) -> None:
    b = ctx.behaviour
    if source is not None and source["fraud"]:
        raise ctx.error(
            b.err_source_fraud,
            "Source customer status is fraud. Points cannot be transferred by customers with"
            " fraud status.",
        )
    if destination is not None and destination["fraud"]:
        raise ctx.error(
            b.err_destination_fraud,
            "Destination customer status is fraud. Points cannot be transferred to customers"
            " with fraud status.",
        )
    for party in (source, destination):
        if party is not None and not party["loyalty_enrolled"]:
            raise ctx.error(
                b.err_not_enrolled, "Customer is not registered into the loyalty program."
            )


def _iso_local(ctx: Ctx, stored: str) -> str:
    org = ctx.store.org(ctx.org_id)
    zone = org_zone(str(org["timezone"])) if org is not None else UTC
    return parse_stored(stored).replace(tzinfo=UTC).astimezone(zone).isoformat()


def _profile(ctx: Ctx, customer: sqlite3.Row) -> dict[str, Any]:
    cid = int(customer["customer_id"])
    idents = ctx.store.identifiers_of(cid)
    till = ctx.store.till_details([ctx.till_id] if ctx.till_id is not None else [])
    till_row = till.get(ctx.till_id) if ctx.till_id is not None else None
    actor = {
        "id": ctx.till_id or 0,
        "code": till_row["till_code"] if till_row else "",
        "name": till_row["till_code"] if till_row else "",
        "type": "TILL",
    }
    created = _iso_local(ctx, customer["created"])
    attribution = {
        "createDate": created,
        "createdBy": actor,
        "modifiedBy": actor,
        "modifiedDate": created,
    }
    seen: dict[str, str] = {}
    for ident in idents:
        if ident["name"] in ("mobile", "email", "externalId") and ident["name"] not in seen:
            seen[ident["name"]] = ident["value"]
    source = idents[0]["source"] if idents else "INSTORE"
    account = idents[0]["account_id"] if idents else ""
    return {
        "id": cid,
        "profiles": [
            {
                "firstName": customer["first_name"],
                "lastName": customer["last_name"],
                "attribution": attribution,
                "fields": {},
                "identifiers": [{"type": k, "value": v} for k, v in seen.items()],
                "commChannels": [
                    {
                        "type": k,
                        "value": v,
                        "primary": True,
                        "verified": False,
                        "meta": {"residence": False, "office": False},
                        "attributes": {},
                    }
                    for k, v in seen.items()
                    if k in ("mobile", "email")
                ],
                "source": source,
                "userId": cid,
                "accountId": account,
                "conflictingProfileList": [],
                "autoUpdateTime": created,
            }
        ],
        "loyaltyInfo": {
            "loyaltyType": "loyalty" if customer["loyalty_enrolled"] else "non_loyalty",
            "attributionV2": attribution,
        },
        "segments": {},
        "extendedFields": {},
    }


def _ok_data(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": items, "warnings": [], "errors": []}


def is_transferrable(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    body = _body_object(ctx, params)
    milli, echoed = _points_field(ctx, body, "pointsTobeTransferred")
    source = _transfer_customer(ctx, body.get("fromCustomerIdentifier"))
    destination = _transfer_customer(ctx, body.get("toCustomerIdentifier"))
    if source["customer_id"] == destination["customer_id"]:
        raise ctx.error(b.err_same_customer, "From and To customers are same.")
    _check_parties(ctx, source, destination)
    program = _program_field(ctx, body, ctx.org_id)
    _notes(ctx, body)
    available = ctx.store.balance(
        OWNER_CUSTOMER, int(source["customer_id"]), int(program["program_id"]), b.transfer_category
    )
    if milli > available:
        raise ctx.error(b.err_insufficient_points, "Insufficient current points.")
    headers: dict[str, str] = {}
    issue = body.get("issueOtp")
    if issue is True or (isinstance(issue, str) and issue.strip().lower() == "true"):
        headers[b.otp_header] = ctx.store.issue_otp(
            int(source["customer_id"]), b.otp_ttl_seconds, b.otp_length
        )
    item = {
        "pointsTobeTransferred": echoed,
        "transferFrom": _profile(ctx, source),
        "transferTo": _profile(ctx, destination),
        "transferrable": True,
    }
    return Result(200, _ok_data([item]), headers)


def _party(store: Store, kind: int, entity_id: int) -> dict[str, Any]:
    if kind == OWNER_CUSTOMER:
        c = store.customer(entity_id)
        return {
            "userId": entity_id,
            "firstName": c["first_name"] if c else "",
            "lastName": c["last_name"] if c else "",
        }
    return _group_json(store, entity_id)


def _group_json(store: Store, group_id: int) -> dict[str, Any]:
    g = store.group(group_id)
    members = store.group_members(group_id)
    created = parse_stored(g["created"]).replace(tzinfo=UTC).isoformat() if g else ""
    return {
        "id": group_id,
        "groupStatus": g["status"] if g else "ACTIVE",
        "fleetGroupUsers": [
            {
                "userId": int(m["customer_id"]),
                "groupId": group_id,
                "defaultGroup": bool(m["default_group"]),
                "active": bool(m["active"]),
                "primaryMember": bool(m["is_primary"]),
            }
            for m in members
        ],
        "createdBy": int(g["created_by"]) if g and g["created_by"] is not None else 0,
        "createdOn": created,
        "lifeTimePurchases": float(g["lifetime_purchases"]) if g else 0.0,
    }


def _transfer_json(
    store: Store, t: sqlite3.Row, *, group_style: bool, breakup: bool = False
) -> dict[str, Any]:
    programs = store.program_names()
    kind_name = {OWNER_CUSTOMER: "CUSTOMER", OWNER_GROUP: "USERGROUP2"}
    item: dict[str, Any] = {}
    if group_style:
        item.update(
            {
                "toEntityId": int(t["to_id"]),
                "toEntityType": kind_name[int(t["to_kind"])],
                "fromEntityId": int(t["from_id"]),
                "fromEntityType": kind_name[int(t["from_kind"])],
            }
        )
    item.update(
        {
            "pointsTransferDate": t["created"],
            "pointsTransferred": points_number(int(t["points"])),
            "transferId": int(t["transfer_id"]),
            "transferType": "DEDUCTION",
        }
    )
    if int(t["from_kind"]) == OWNER_CUSTOMER:
        item["transferredFrom"] = _party(store, OWNER_CUSTOMER, int(t["from_id"]))
    if int(t["to_kind"]) == OWNER_CUSTOMER:
        item["transferredTo"] = _party(store, OWNER_CUSTOMER, int(t["to_id"]))
    else:
        item["transferredToUserGroup2"] = _group_json(store, int(t["to_id"]))
    if int(t["from_kind"]) == OWNER_GROUP:
        item["transferredFromUserGroup2"] = _group_json(store, int(t["from_id"]))
    item["notes"] = t["notes"]
    item["programName"] = programs.get(int(t["program_id"]), "")
    if breakup:
        left = store.balance(int(t["from_kind"]), int(t["from_id"]), int(t["program_id"]))
        item["pointsTransferBreakupByEarningPrograms"] = [
            {
                "programId": int(t["program_id"]),
                "deductedPoints": points_number(int(t["points"])),
                "programCurrentPoints": points_number(left),
            }
        ]
    return item


def _notes(ctx: Ctx, body: dict[str, Any]) -> str:
    """The optional notes: a string (003 types it so), refused as anything else."""
    notes = body.get("notes")
    if notes is None:
        return ""
    if not isinstance(notes, str):
        raise ctx.invalid("notes must be a string")
    return notes


def transfer_points(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    body = _body_object(ctx, params)
    milli, _ = _points_field(ctx, body, "pointsTobeTransferred")
    source = _transfer_customer(ctx, body.get("fromCustomerIdentifier"))
    destination = _transfer_customer(ctx, body.get("toCustomerIdentifier"))
    if source["customer_id"] == destination["customer_id"]:
        raise ctx.error(b.err_same_customer, "From and To customers are same.")
    _check_parties(ctx, source, destination)
    program = _program_field(ctx, body, ctx.org_id)
    code = body.get("code")
    code_text = code if isinstance(code, str) else str(code) if isinstance(code, int) else None
    if b.transfer_requires_otp and not code_text:
        raise ctx.error(b.err_otp, "Unable to redeem. Validation code is invalid.")
    try:
        transfer = ctx.store.transfer(
            source=Entity(OWNER_CUSTOMER, int(source["customer_id"]), ctx.org_id),
            destination=Entity(OWNER_CUSTOMER, int(destination["customer_id"]), ctx.org_id),
            program_id=int(program["program_id"]),
            points=milli,
            notes=_notes(ctx, body),
            otp=code_text,
            otp_customer_id=int(source["customer_id"]) if b.transfer_requires_otp else None,
            category=b.transfer_category,
            check_apart=b.transfer_check_apart,
            otp_single_use=b.otp_single_use,
            till_id=ctx.till_id,
        )
    except StoreError as exc:
        if exc.reason == "otp":
            raise ctx.error(b.err_otp, "Unable to redeem. Validation code is invalid.") from None
        raise ctx.error(b.err_insufficient_points, "Insufficient current points.") from None
    return Result(200, _ok_data([_transfer_json(ctx.store, transfer, group_style=False)]), {})


_GROUP_CUSTOMER_NAMES = {
    "mobile": "mobile",
    "email": "email",
    "externalid": "externalId",
    "cardnumber": "cardnumber",
    "id": "id",
}


def _group_entity(ctx: Ctx, raw: Any, *, allow_group: bool) -> tuple[int, sqlite3.Row]:
    """(kind, row) of a fromEntity / toEntity / transferredBy object."""
    b = ctx.behaviour
    invalid = ctx.error(b.err_identifier_invalid, "Mobile number/email id/external id is invalid")
    if not isinstance(raw, dict):
        raise invalid
    kind_name = raw.get("type", "CUSTOMER") if allow_group else "CUSTOMER"
    if not isinstance(kind_name, str) or kind_name.strip().upper() not in b.transfer_entity_types:
        raise invalid
    id_type = raw.get("identifierType")
    value = text_value(raw.get("identifierValue"))
    if not isinstance(id_type, str) or value is None:
        raise invalid
    id_type = id_type.strip()
    not_found = ctx.error(b.err_customer_not_found, "Unable to find customer in this organization")
    if kind_name.strip().upper() == "USERGROUP2":
        if id_type not in b.transfer_group_id_types:
            raise invalid
        group = ctx.store.find_group(ctx.org_id, id_type, value)
        if group is None:
            raise not_found
        return OWNER_GROUP, group
    if id_type.lower() not in {t.lower() for t in b.transfer_group_customer_id_types}:
        raise invalid
    source = raw.get("source")
    source_name = source.strip().upper() if isinstance(source, str) and source.strip() else None
    if source_name is not None and source_name not in b.sources:
        raise invalid
    name = _GROUP_CUSTOMER_NAMES.get(id_type.lower())
    if name is not None and not well_formed(name, value):
        raise invalid
    account = raw.get("accountId")
    customer = (
        ctx.store.find_customer(
            ctx.org_id,
            name,
            value,
            source_name,
            account.strip() if isinstance(account, str) and account.strip() else None,
        )
        if name is not None
        else None
    )
    return OWNER_CUSTOMER, _located(ctx, customer)


def _group_transfer_parties(
    ctx: Ctx, body: dict[str, Any]
) -> tuple[int, tuple[int, sqlite3.Row], tuple[int, sqlite3.Row], sqlite3.Row]:
    b = ctx.behaviour
    milli, _ = _points_field(ctx, body, "pointsTobeTransferred")
    _notes(ctx, body)
    _group_entity(ctx, body.get("transferredBy"), allow_group=False)
    source = _group_entity(ctx, body.get("fromEntity"), allow_group=True)
    destination = _group_entity(ctx, body.get("toEntity"), allow_group=True)
    key = "customer_id"
    src_id = int(source[1][key] if source[0] == OWNER_CUSTOMER else source[1]["group_id"])
    dst_id = int(
        destination[1][key] if destination[0] == OWNER_CUSTOMER else destination[1]["group_id"]
    )
    if source[0] == destination[0] and src_id == dst_id:
        raise ctx.error(b.err_same_customer, "From and To customers are same.")
    _check_parties(
        ctx,
        source[1] if source[0] == OWNER_CUSTOMER else None,
        destination[1] if destination[0] == OWNER_CUSTOMER else None,
    )
    program = _program_field(ctx, body, ctx.org_id)
    return milli, (source[0], source[1]), (destination[0], destination[1]), program


def _entity_id(party: tuple[int, sqlite3.Row]) -> int:
    return int(party[1]["customer_id"] if party[0] == OWNER_CUSTOMER else party[1]["group_id"])


def is_transferrable_group(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    body = _body_object(ctx, params)
    milli, source, _, program = _group_transfer_parties(ctx, body)
    available = ctx.store.balance(
        source[0], _entity_id(source), int(program["program_id"]), b.transfer_category
    )
    if milli > available:
        raise ctx.error(b.err_insufficient_points, "Insufficient current points.")
    item = {"pointsTobeTransferred": points_number(milli), "transferrable": True}
    return Result(200, _ok_data([item]), {})


def transfer_points_group(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    body = _body_object(ctx, params)
    milli, source, destination, program = _group_transfer_parties(ctx, body)
    try:
        transfer = ctx.store.transfer(
            source=Entity(source[0], _entity_id(source), ctx.org_id),
            destination=Entity(destination[0], _entity_id(destination), ctx.org_id),
            program_id=int(program["program_id"]),
            points=milli,
            notes=_notes(ctx, body),
            otp=None,
            otp_customer_id=None,
            category=b.transfer_category,
            check_apart=b.transfer_check_apart,
            till_id=ctx.till_id,
        )
    except StoreError:
        raise ctx.error(b.err_insufficient_points, "Insufficient current points.") from None
    item = _transfer_json(ctx.store, transfer, group_style=True, breakup=True)
    return Result(200, _ok_data([item]), {})


def points_transfers(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    q = Query(params["query"])
    # An empty value is not one of the enum's values; only an absent parameter takes the default.
    raw_type = q.get("userEntityType")
    entity_type = "CUSTOMER" if raw_type is None else raw_type.strip().upper()
    if entity_type not in b.transfer_entity_types:
        raise ctx.invalid("userEntityType must be CUSTOMER or USERGROUP2")
    name = (q.get("identifierName") or "").strip()
    value = (q.get("identifierValue") or "").strip()
    invalid = ctx.error(b.err_identifier_invalid, "Mobile number/email id/external id is invalid")
    not_found = ctx.error(b.err_customer_not_found, "Unable to find customer in this organization")
    if not name or not value:
        raise invalid
    program_filter: int | None = None
    if q.get("programId") is not None:
        program_filter = parse_int((q.get("programId") or "").strip())
        if program_filter is None:
            raise ctx.invalid("programId must be an integer")
    if entity_type == "USERGROUP2":
        if name not in ("id", "externalId"):
            raise invalid
        group = ctx.store.find_group(ctx.org_id, name, value)
        if group is None:
            raise not_found
        kind, entity_id = OWNER_GROUP, int(group["group_id"])
    else:
        if name.lower() not in {t.lower() for t in b.transfer_group_customer_id_types}:
            raise invalid
        source = (q.get("source") or "").strip().upper() or None
        if source is None and b.history_customer_requires_source:
            raise ctx.invalid("source is required for a customer")
        if source is not None and source not in b.sources:
            raise ctx.invalid("source is not supported")
        canonical = _GROUP_CUSTOMER_NAMES.get(name.lower())
        if canonical is not None and not well_formed(canonical, value):
            raise invalid
        account = (q.get("accountId") or "").strip() or None
        customer = _located(
            ctx,
            ctx.store.find_customer(ctx.org_id, canonical, value, source, account)
            if canonical
            else None,
        )
        kind, entity_id = OWNER_CUSTOMER, int(customer["customer_id"])
    transfers = [
        t
        for t in ctx.store.transfers_from(kind, entity_id)
        if program_filter is None or int(t["program_id"]) == program_filter
    ]
    items = [_transfer_json(ctx.store, t, group_style=True) for t in transfers]
    return Result(200, _ok_data(items), {})


# -- reverse -----------------------------------------------------------------------------------


def reverse_points(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    store = ctx.store
    body = _body_object(ctx, params)
    raw_id = body.get("redemptionId")
    redemption_id = text_value(raw_id)
    if redemption_id is None:
        raise ctx.error(b.err_reverse_invalid, "Invalid points or points redemption Id passed.")
    redemption = store.redemption(redemption_id)
    if redemption is None or int(redemption["org_id"]) != ctx.org_id:
        raise ctx.error(b.err_redemption_not_found, "Redemption ID does not exist.")
    ident = body.get("identifier", body.get("Identifier"))
    mismatch = ctx.error(b.err_reverse_identifier, "Invalid customer details passed.")
    if not isinstance(ident, dict):
        raise mismatch
    id_type, id_value = ident.get("type"), text_value(ident.get("value"))
    types = _canonical(b.reverse_identifier_types)
    if not isinstance(id_type, str) or id_type.strip().lower() not in types or id_value is None:
        raise mismatch
    canonical = types[id_type.strip().lower()]
    registered = {
        str(r["value"])
        for r in store.identifiers_of(int(redemption["customer_id"]))
        if r["name"] == canonical
    }
    if id_value not in registered:
        raise mismatch
    requested: int | None = None
    echoed: float | None = None
    raw_points = body.get("pointsToBeReversed")
    if raw_points is not None or not b.reverse_whole_remainder_by_default:
        number = json_number(raw_points)
        if number is None or number <= 0:
            raise ctx.error(b.err_reverse_invalid, "Invalid points or points redemption Id passed.")
        requested = to_milli(number)
        if requested <= 0:
            raise ctx.error(b.err_reverse_invalid, "Invalid points or points redemption Id passed.")
        echoed = float(number)
    try:
        reversal, amount = store.reverse(redemption_id, requested, till_id=ctx.till_id)
    except StoreError as exc:
        if exc.reason == "already_reversed":
            raise ctx.error(
                b.err_already_reversed, "Points reversal redeemed points already reversed."
            ) from None
        if exc.reason == "not_found":
            raise ctx.error(b.err_redemption_not_found, "Redemption ID does not exist.") from None
        raise ctx.error(
            b.err_reverse_invalid, "Invalid points or points redemption Id passed."
        ) from None
    body_out = {
        "redemptionId": redemption_id,
        "pointsToBeReversed": echoed if echoed is not None else points_number(amount),
        "orgId": ctx.org_id,
        "identifier": {"type": canonical, "value": id_value},
        "customerId": int(redemption["customer_id"]),
        "pointsReversed": points_number(amount),
        "reversalId": reversal["reversal_id"],
        "warnings": [],
    }
    return Result(200, body_out, {})


# -- the application ---------------------------------------------------------------------------

HANDLERS: dict[str, Handler] = {
    "getCustomerLedgerInfo": lambda c, p: ledger_info(c, p, connected=False),
    "getCustomerLedgerInfoConnectedOrgs": lambda c, p: ledger_info(c, p, connected=True),
    "getCrossMemberLedger": cross_member_ledger,
    "getCustomerLedgerBalance": ledger_balance,
    "isTransferrable": is_transferrable,
    "isTransferrableUserGroup": is_transferrable_group,
    "transferPoints": transfer_points,
    "transferPointsUserGroup": transfer_points_group,
    "getPointsTransfers": points_transfers,
    "reversePoints": reverse_points,
}


def error_body(operation_id: str, code: int, message: str) -> dict[str, Any]:
    body: dict[str, Any] = {"errors": [{"code": code, "message": message}], "warnings": []}
    if operation_id in DATA_ENVELOPE_OPERATIONS:
        body["data"] = []
    return body


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=lambda c: float(c.lower()))
    except (ValueError, RecursionError, UnicodeDecodeError):
        return BODY_INVALID


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class _SlashCollapse:
    """Treats `//` in a path as `/` (one page writes its URLs as `/v2//pointsLedger/...`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope.get("path", ""):
            path = re.sub("/{2,}", "/", scope["path"])
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


def create_app(
    store: Store,
    behaviour: Behaviour | None = None,
    hooks: Hooks | None = None,
    credentials: tuple[str, str] = DEFAULT_CREDENTIALS,
    *,
    org_id: int | None = None,
) -> Starlette:
    """The ASGI application serving `store` with the given rules, hooks and credentials."""
    rules = behaviour if behaviour is not None else Behaviour()
    taps = hooks if hooks is not None else Hooks()
    user, password = credentials
    caller: dict[str, Any] = {}

    def caller_org() -> tuple[int, int | None]:
        if not caller:
            org = org_id
            if org is None:
                try:
                    org = int(store.seed_info().get("org_id", DEFAULT_ORG))
                except (LookupError, sqlite3.Error):
                    org = DEFAULT_ORG
            row = (
                store.conn()
                .execute("SELECT MIN(till_id) FROM tills WHERE org_id = ?", (org,))
                .fetchone()
            )
            caller["org"] = org
            caller["till"] = int(row[0]) if row and row[0] is not None else None
        return int(caller["org"]), caller["till"]

    def run(operation_id: str, params: dict[str, Any]) -> Result:
        handler = HANDLERS[operation_id]
        headers = params.get("headers") or {}
        if not credentials_ok(headers.get("authorization"), user, password):
            return Result(
                rules.auth_status,
                error_body(
                    operation_id, rules.err_auth, "Unauthorized: invalid or missing credentials"
                ),
                {"WWW-Authenticate": 'Basic realm="points"'},
            )
        org, till = caller_org()
        ctx = Ctx(store, rules, org, till, store.now())
        try:
            return handler(ctx, params)
        except ApiError as exc:
            status = exc.status if exc.status is not None else rules.error_status
            return Result(status, error_body(operation_id, exc.code, exc.message), {})

    def endpoint(operation_id: str) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            status: int
            body: Any
            headers: dict[str, str] = {}
            try:
                raw = await request.body() if request.method == "POST" else b""
                params: dict[str, Any] = {
                    "query": list(request.query_params.multi_items()),
                    "path": dict(request.path_params),
                    "headers": {k.lower(): v for k, v in request.headers.items()},
                    "body": _parse_json(raw) if len(raw) <= _MAX_BODY else BODY_INVALID,
                }
                params = taps.params_hook(operation_id, params)
                result = await run_in_threadpool(run, operation_id, params)
                status, body, headers = result.status, result.body, result.headers
            except Exception:
                log.exception("unexpected error in %s", operation_id)
                status = rules.internal_status
                body = error_body(operation_id, rules.err_internal, "Internal server error")
            try:
                status, body = taps.response_hook(operation_id, request, status, body)
                content = b"" if body is NO_BODY else _dumps(body)
            except Exception:
                log.exception("unexpected error answering %s", operation_id)
                status = rules.internal_status
                content = _dumps(
                    error_body(operation_id, rules.err_internal, "Internal server error")
                )
            media_type = "application/json" if content else None
            return Response(content, status_code=status, headers=headers, media_type=media_type)

        return handle

    async def http_error(request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else rules.internal_status
        if code == 404:
            body = error_body("", rules.err_not_found, f"No such resource: {request.url.path}")
            code = rules.not_found_status
        elif code == 405:
            body = error_body("", rules.err_method, f"Method {request.method} is not allowed here")
            code = rules.method_status
        else:
            body = error_body("", code, "Request failed")
        return Response(_dumps(body), status_code=code, media_type="application/json")

    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        body = error_body("", rules.err_internal, "Internal server error")
        return Response(
            _dumps(body), status_code=rules.internal_status, media_type="application/json"
        )

    routes = [
        Route(path, endpoint(op), methods=[method], name=op)
        for op, (method, path) in OPERATIONS.items()
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: crash},
        middleware=[Middleware(_SlashCollapse)],
    )
    app.state.store = store
    app.state.behaviour = rules
    app.state.hooks = taps
    return app
