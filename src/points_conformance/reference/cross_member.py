"""getCrossMemberLedger: a group member's cross-member redemptions and their reversals."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from points_conformance.reference.context import Ctx, Result
from points_conformance.reference.formatting import (
    fmt_points,
    org_zone,
    parse_stored,
    points_number,
)
from points_conformance.reference.params import Query, parse_int
from points_conformance.reference.store_schema import OWNER_CUSTOMER, fmt_ts


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


@dataclass(frozen=True)
class _Filters:
    scope: str
    event_names: tuple[str, ...] | None
    start: datetime
    end: datetime
    page_number: int
    page_size: int
    sort: str
    ref: str | None


def _date(ctx: Ctx, q: Query, name: str) -> datetime | None:
    b = ctx.behaviour
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


def _page_param(ctx: Ctx, q: Query, name: str, default: int, low: int, high: int | None) -> int:
    raw = q.get(name)
    if raw is None:
        return default
    value = parse_int(raw.strip())
    if value is None or value < low or (high is not None and value > high):
        raise ctx.error(
            ctx.behaviour.err_cml_page,
            "pageSize is outside the allowed range (1-100), or pageNumber is less than 1.",
        )
    return value


def _filters(ctx: Ctx, q: Query) -> _Filters:
    """The query parameters, checked in the order the documented errors are given."""
    b = ctx.behaviour
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
    start_given, end_given = _date(ctx, q, "startDate"), _date(ctx, q, "endDate")
    if start_given is not None and end_given is not None and end_given < start_given:
        raise ctx.error(b.err_cml_date_order, "endDate is before startDate.")
    end = end_given if end_given is not None else ctx.now
    start = (
        start_given
        if start_given is not None
        else ctx.now - timedelta(days=b.cml_default_window_days)
    )
    page_number = _page_param(ctx, q, "pageNumber", b.cml_page_base, b.cml_page_base, None)
    page_size = _page_param(
        ctx, q, "pageSize", b.cml_default_page_size, b.cml_min_page_size, b.cml_max_page_size
    )
    sort = q.get("sort")
    sort = b.cml_default_sort if sort is None else sort.strip()
    if sort not in b.cml_sort_values:
        raise ctx.invalid("sort must be createdDate:desc or createdDate:asc")
    ref = q.get("transactionRef")
    return _Filters(
        scope, event_names, start, end, page_number, page_size, sort, ref if ref else None
    )


def _member_group(ctx: Ctx, params: dict[str, Any]) -> tuple[int, sqlite3.Row, int]:
    """The customer of the path, its org and its cross-member group; or the documented error."""
    b, store = ctx.behaviour, ctx.store
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
    return customer_id, org, int(group["group_id"])


def _entry(
    ctx: Ctx,
    ev: sqlite3.Row,
    ev_rows: list[sqlite3.Row],
    zone: tzinfo,
    scope: str,
    customer_id: int,
) -> dict[str, Any]:
    decimals = ctx.behaviour.points_decimals
    is_redemption = ev["event_name"] == "CROSS_MEMBER_REDEMPTION"
    created = parse_stored(ev["created"])
    entry: dict[str, Any] = {
        "eventLogId": int(ev["event_log_id"]),
        "eventName": ev["event_name"],
        "transactingCustomerId": int(ev["transacting_customer_id"]),
        "transactionRef": ev["transaction_ref"],
        "createdDate": created.replace(tzinfo=UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
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
    return entry


def _group_details(ctx: Ctx, group_id: int) -> dict[str, Any]:
    store = ctx.store
    members = store.group_members(group_id, active_only=True)
    category = ctx.behaviour.cml_balance_category
    balances = [
        (
            int(m["customer_id"]),
            store.category_balance(OWNER_CUSTOMER, int(m["customer_id"]), category),
        )
        for m in members
    ]
    return {
        "groupId": group_id,
        "groupBalance": points_number(sum(bal for _, bal in balances)),
        "memberCount": len(members),
        "members": [{"customerId": cid, "balance": points_number(bal)} for cid, bal in balances],
    }


def cross_member_ledger(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    store = ctx.store
    f = _filters(ctx, Query(params["query"]))
    customer_id, org, group_id = _member_group(ctx, params)
    member_filter = customer_id if f.scope == "user" else None
    start_s, end_s = fmt_ts(f.start), fmt_ts(f.end)
    total = 0
    if start_s <= end_s:
        total = store.cml_count(group_id, start_s, end_s, member_filter, f.event_names, f.ref)
    offset = (f.page_number - b.cml_page_base) * f.page_size
    events: list[sqlite3.Row] = []
    if offset < total:
        events = store.cml_page(
            group_id,
            start_s,
            end_s,
            member_filter,
            f.event_names,
            f.ref,
            limit=f.page_size,
            offset=offset,
            ascending=f.sort.endswith(":asc"),
        )
    rows = store.cml_rows([int(e["event_log_id"]) for e in events])
    zone = org_zone(str(org["timezone"]))
    entries = [
        _entry(ctx, ev, rows[int(ev["event_log_id"])], zone, f.scope, customer_id) for ev in events
    ]
    payload: dict[str, Any] = {
        "groupDetails": _group_details(ctx, group_id),
        "pageDetails": {
            "pageNumber": f.page_number,
            "pageSize": f.page_size if b.cml_page_size_echoes_request else len(entries),
            "totalEntries": total,
            "pageCount": math.ceil(total / f.page_size),
        },
        "entries": entries,
    }
    body = (
        {"entity": payload, "warnings": []} if b.cml_wrap_in_entity else {**payload, "warnings": []}
    )
    return Result(200, body, {})
