"""getCustomerLedgerBalance: the balance per program of a customer or group."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from points_conformance.reference.context import Ctx, Result
from points_conformance.reference.formatting import fmt_points
from points_conformance.reference.ledger import (
    bool_param,
    page_numbers,
    till_filter,
    validate_identity,
)
from points_conformance.reference.params import Query, parse_int
from points_conformance.reference.store_schema import fits_int64, fmt_ts


def _end_date(ctx: Ctx, q: Query) -> datetime:
    b = ctx.behaviour
    raw_end = q.get("endDate")
    if raw_end is None:
        return ctx.now
    try:
        end = datetime.strptime(raw_end, b.ledger_date_format)
    except ValueError:
        raise ctx.invalid("endDate must be in YYYY-MM-DDThh:mm:ss format") from None
    if end.strftime(b.ledger_date_format) != raw_end:
        raise ctx.invalid("endDate must be in YYYY-MM-DDThh:mm:ss format")
    return end


def _customer_id(ctx: Ctx, name: str, value: str, source: str, account: str) -> int:
    b = ctx.behaviour
    customer = ctx.store.find_customer(ctx.org_id, name, value, source, account or None)
    if customer is None:
        if name == "id":
            raise ctx.error(b.err_unknown_user_id, "Invalid userId passed in request")
        raise ctx.error(b.err_unknown_customer, "Identifier value missing or incorrect")
    return int(customer["customer_id"])


def ledger_balance(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    store = ctx.store
    q = Query(params["query"])
    name, value, source, account = validate_identity(ctx, q, group_form=False)
    limit, offset = page_numbers(
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
    till_concept = bool_param(ctx, q, "includeTillConceptEvents", False)
    program_id: int | None = None
    if q.get("programId") is not None:
        program_id = parse_int((q.get("programId") or "").strip())
        if program_id is None:
            raise ctx.invalid("programId must be an integer")
    end = _end_date(ctx, q)
    till_ids = None
    if q.present("tillId"):
        till_ids = till_filter(ctx, Query([("tillId", q.get("tillId") or "")]), [ctx.org_id])
    cid = _customer_id(ctx, name, value, source, account)
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
