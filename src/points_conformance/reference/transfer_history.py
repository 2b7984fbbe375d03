"""getPointsTransfers: the transfers a customer or group sent and received."""

from __future__ import annotations

from typing import Any

from points_conformance.reference.context import Ctx, Result
from points_conformance.reference.params import Query, parse_int
from points_conformance.reference.store_schema import OWNER_CUSTOMER, OWNER_GROUP
from points_conformance.reference.transfers import (
    GROUP_CUSTOMER_NAMES,
    located,
    ok_data,
    transfer_json,
    well_formed,
)


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
        canonical = GROUP_CUSTOMER_NAMES.get(name.lower())
        if canonical is not None and not well_formed(canonical, value):
            raise invalid
        account = (q.get("accountId") or "").strip() or None
        customer = located(
            ctx,
            ctx.store.find_customer(ctx.org_id, canonical, value, source, account)
            if canonical
            else None,
        )
        kind, entity_id = OWNER_CUSTOMER, int(customer["customer_id"])
    transfers = [
        t
        for t in ctx.store.transfers_of(kind, entity_id, incoming=b.history_lists_incoming)
        if program_filter is None or int(t["program_id"]) == program_filter
    ]
    items = [transfer_json(ctx.store, t, group_style=True) for t in transfers]
    return Result(200, ok_data(items), {})
