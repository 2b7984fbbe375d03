"""reversePoints: reverse (part of) a redemption."""

from __future__ import annotations

from typing import Any

from points_conformance.reference.context import Ctx, Result
from points_conformance.reference.formatting import points_number
from points_conformance.reference.params import canonical_names, json_number, text_value, to_milli
from points_conformance.reference.store_schema import StoreError
from points_conformance.reference.transfers import body_object


def reverse_points(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    store = ctx.store
    body = body_object(ctx, params)
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
    types = canonical_names(b.reverse_identifier_types)
    if not isinstance(id_type, str) or id_type.strip().lower() not in types or id_value is None:
        raise mismatch
    canonical = types[id_type.strip().lower()]
    registered = {
        str(r["value"])
        for r in store.identifiers_of(int(redemption["customer_id"]))
        if r["name"] == canonical
    }
    if id_value not in registered:
        unknown = b.err_reverse_unknown_customer
        if (
            unknown is not None
            and store.find_customer(ctx.org_id, canonical, id_value, "ALL") is None
        ):
            raise ctx.error(unknown, "Unable to find customer in this organization")
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
            b.err_over_reversal, "Invalid points or points redemption Id passed."
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
