"""From the facts the reads gave to the roles of a target file.

Each role takes the customer or group whose facts fit it best (see `target.CUSTOMER_ROLES` for
what each role means). The customers the suite writes to (the transfer roles) need a mobile
first, since most cases name them by it; among those, ones no other role or group reads come
first. A run keeps its writes apart from its reads (the plugin's write lock), so a transfer
customer that is also walked page by page costs time, not correctness.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from points_conformance.discover.probe import (
    NOT_IN_CROSS_MEMBER_GROUP,
    OTHER_ORG,
    CustomerFacts,
    GroupFacts,
)
from points_conformance.discover.zone import offset_text, org_zone

# The transfer history's refusal of a customer merged into another.
MERGED = 419
IDENTIFIER_FIELDS = ("id", "mobile", "email", "external_id", "cardnumber")
# reversePoints' identifier types (003: "Supported values: mobile, email, externalId"), by the
# customer field that holds each.
REVERSE_IDENTIFIERS = (("mobile", "mobile"), ("email", "email"), ("external_id", "externalId"))


@dataclass
class Discovery:
    """The target file's sections, and a note on each value the reads could not tell."""

    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def section(self, name: str) -> dict[str, Any]:
        return self.sections.setdefault(name, {})


def customer_table(facts: CustomerFacts, *, ledger: bool = True) -> dict[str, Any]:
    """The [customers.<role>] table of one customer (its ledger's facts when `ledger`)."""
    table: dict[str, Any] = {
        k: facts.identifiers[k] for k in IDENTIFIER_FIELDS if k in facts.identifiers
    }
    if ledger:
        table["events"] = facts.events
        table["program_ids"] = sorted(facts.program_ids) or None
        table["store_codes"] = sorted(facts.store_codes) or None
        table["alternate_currencies"] = sorted(facts.alternate_currencies) or None
    return table


def _pick(candidates: Iterable[CustomerFacts], taken: set[int]) -> CustomerFacts | None:
    for facts in candidates:
        if id(facts) not in taken:
            return facts
    return None


def assign(
    customers: list[CustomerFacts], groups: list[GroupFacts], target: Mapping[str, Any]
) -> Discovery:
    """The roles the facts fill; `target` is the [target] table (base URL, source, ...)."""
    found = [c for c in customers if c.found]
    out = Discovery()
    orgs: Counter[int] = Counter()
    for facts in found:
        orgs.update(facts.org_ids)
    out.sections["target"] = {**target, "org_id": orgs.most_common(1)[0][0] if orgs else None}
    customers_section = out.section("customers")
    taken: set[int] = set()

    with_events = [c for c in found if c.events]
    rich = max(with_events, key=lambda c: (c.events or 0, len(c.program_ids)), default=None)
    if rich is not None:
        customers_section["rich"] = customer_table(rich)
        taken.add(id(rich))
    currencies = sorted(
        (c for c in found if c.alternate_currencies),
        key=lambda c: (id(c) in taken, -len(c.alternate_currencies)),
    )
    if currencies:
        customers_section["alt_currency"] = customer_table(currencies[0])
        taken.add(id(currencies[0]))
    _transfer_roles(found, groups, customers_section, taken)
    _redeemer(found, customers_section, out)
    merged = next((c for c in customers if c.history_code == MERGED), None)
    if merged is not None:
        customers_section["merged"] = customer_table(merged, ledger=False)
    _groups(groups, out)
    _cross_member(found, out)
    if orgs:
        out.section("connected_orgs")["own_org_id"] = orgs.most_common(1)[0][0]
    return out


def _transfer_roles(
    found: list[CustomerFacts],
    groups: list[GroupFacts],
    section: dict[str, Any],
    taken: set[int],
) -> None:
    """transfer_from (with points) and transfer_to: customers with a mobile (most cases name
    them by it), and among those the ones no other role or group reads, if any."""
    in_groups = {m for g in groups for m in g.members}
    primaries = {g.primary_user_id for g in groups}

    def apart(c: CustomerFacts) -> tuple[bool, bool, bool, bool, bool, bool]:
        return (
            "mobile" not in c.identifiers,
            id(c) in taken,
            c.identifiers.get("id") in primaries,
            c.identifiers.get("id") in in_groups,
            c.cross_member_code == 200,
            not c.given,
        )

    ordered = sorted(found, key=apart)
    source = next((c for c in ordered if (c.balance or 0) > 0), None)
    if source is None:
        return
    destination = next((c for c in ordered if c is not source), None)
    section["transfer_from"] = customer_table(source, ledger=False)
    if destination is not None:
        section["transfer_to"] = customer_table(destination, ledger=False)


def _redeemer(found: list[CustomerFacts], customers: dict[str, Any], out: Discovery) -> None:
    """[redemptions] identifier_type and identifier_value: a customer whose ledger shows
    redemptions, one outside the transfer roles first, since a transfer moves the ledger a
    reversal test reads before and after. No read shows a redemption's id, so the ids are
    left for the user to give."""
    writers = {customers[r].get("id") for r in ("transfer_from", "transfer_to") if r in customers}
    redeemers = [
        c
        for c in found
        if c.redemptions and any(name in c.identifiers for name, _ in REVERSE_IDENTIFIERS)
    ]
    if not redeemers:
        return
    best = min(redeemers, key=lambda c: (c.identifiers.get("id") in writers, -c.redemptions))
    name, kind = next((n, k) for n, k in REVERSE_IDENTIFIERS if n in best.identifiers)
    out.section("redemptions").update(identifier_type=kind, identifier_value=best.identifiers[name])
    out.notes.append(
        f"redemptions: {kind} {best.identifiers[name]} is a customer whose ledger shows "
        f"{best.redemptions} redemption events; no read shows a redemption's id, so "
        "reversible_ids and reversed_id (that customer's redemptions) are left to be given"
    )


def _groups(groups: list[GroupFacts], out: Discovery) -> None:
    for role, gtype in (("usergroup2", "USERGROUP2"), ("fleet", "FLEET")):
        facts = next((g for g in groups if g.type == gtype and g.events), None)
        if facts is None:
            continue
        out.section("groups")[role] = {
            "id": facts.identifiers.get("id"),
            "external_id": facts.identifiers.get("external_id"),
            "primary_user_id": facts.primary_user_id or facts.identifiers.get("primary_user_id"),
            "type": gtype,
            "member_ids": sorted(facts.members, key=lambda m: (len(m), m)) or None,
        }


def _cross_member(found: list[CustomerFacts], out: Discovery) -> None:
    member = next((c for c in found if c.cross_member_code == 200), None)
    outside = next((c for c in found if c.cross_member_code == NOT_IN_CROSS_MEMBER_GROUP), None)
    other = next((c for c in found if c.cross_member_code == OTHER_ORG), None)
    table = out.section("cross_member")
    if member is not None:
        table["member_id"] = member.identifiers.get("id")
        table["group_id"] = member.cross_member_group
        table["member_ids"] = member.cross_member_ids or None
        samples = [s for c in found for s in c.zone_samples]
        zone = org_zone(samples)
        if zone is not None:
            out.sections["target"]["timezone"] = zone
            out.notes.append(
                f"target.timezone: {zone} agrees with createdDate and createdDateISO on the "
                f"{len(samples)} cross-member entries read; any zone it names does the same"
            )
        elif samples:
            shown = ", ".join(sorted({offset_text(off) for _, off in samples}))
            out.notes.append(
                f"target.timezone is left out: createdDate is createdDateISO {shown} on the "
                "entries read, which more than one zone fits; name the org's zone by hand"
            )
    if outside is not None:
        table["not_in_group_id"] = outside.identifiers.get("id")
    if other is not None:
        table["other_org_id"] = other.identifiers.get("id")
