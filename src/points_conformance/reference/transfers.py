"""isTransferrable and transferPoints, for customers and for USERGROUP2 groups."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC
from typing import Any

from points_conformance.reference.behaviour import BODY_INVALID
from points_conformance.reference.context import Ctx, Result
from points_conformance.reference.formatting import org_zone, parse_stored, points_number
from points_conformance.reference.params import json_number, parse_int, text_value, to_milli
from points_conformance.reference.store import Store
from points_conformance.reference.store_schema import (
    OWNER_CUSTOMER,
    OWNER_GROUP,
    Entity,
    StoreError,
)


def body_object(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
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
    return located(ctx, ctx.store.find_customer(ctx.org_id, name, value))


def located(ctx: Ctx, customer: sqlite3.Row | None) -> sqlite3.Row:
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


def ok_data(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": items, "warnings": [], "errors": []}


def _transfer_parties(
    ctx: Ctx, body: dict[str, Any]
) -> tuple[sqlite3.Row, sqlite3.Row, sqlite3.Row]:
    """The two customers and the program of a transfer body, checked in the documented order."""
    source = _transfer_customer(ctx, body.get("fromCustomerIdentifier"))
    destination = _transfer_customer(ctx, body.get("toCustomerIdentifier"))
    same = source["customer_id"] == destination["customer_id"]
    if same and ctx.behaviour.refuse_same_customer:
        raise ctx.error(ctx.behaviour.err_same_customer, "From and To customers are same.")
    _check_parties(ctx, source, destination)
    return source, destination, _program_field(ctx, body, ctx.org_id)


def is_transferrable(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    body = body_object(ctx, params)
    milli, echoed = _points_field(ctx, body, "pointsTobeTransferred")
    source, destination, program = _transfer_parties(ctx, body)
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
    return Result(200, ok_data([item]), headers)


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


def transfer_json(
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
    body = body_object(ctx, params)
    milli, _ = _points_field(ctx, body, "pointsTobeTransferred")
    source, destination, program = _transfer_parties(ctx, body)
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
    return Result(200, ok_data([transfer_json(ctx.store, transfer, group_style=False)]), {})


GROUP_CUSTOMER_NAMES = {
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
    name = GROUP_CUSTOMER_NAMES.get(id_type.lower())
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
    return OWNER_CUSTOMER, located(ctx, customer)


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
    if source[0] == destination[0] and src_id == dst_id and b.refuse_same_customer:
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
    body = body_object(ctx, params)
    milli, source, _, program = _group_transfer_parties(ctx, body)
    available = ctx.store.balance(
        source[0], _entity_id(source), int(program["program_id"]), b.transfer_category
    )
    if milli > available:
        raise ctx.error(b.err_insufficient_points, "Insufficient current points.")
    item = {"pointsTobeTransferred": points_number(milli), "transferrable": True}
    return Result(200, ok_data([item]), {})


def transfer_points_group(ctx: Ctx, params: dict[str, Any]) -> Result:
    b = ctx.behaviour
    body = body_object(ctx, params)
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
    item = transfer_json(ctx.store, transfer, group_style=True, breakup=True)
    return Result(200, ok_data([item]), {})
