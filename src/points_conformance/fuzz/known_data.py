"""The target file's test data laid over generated cases, so that most of them reach real data.

`KnownData.feed` is schemathesis's `flatmap_case` hook (attached in `schema.load_schema`): one
feeder per operation rebuilds a generated case around a real customer, group or member. What
the feeders draw from (owners, members, parties and their strategies) is built once, with the
`KnownData`; per case a feeder only draws from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from schemathesis import Case

from points_conformance.fuzz.exchanges import operation_id_of
from points_conformance.fuzz.generated_case import (
    BODY,
    HEADER,
    PATH,
    QUERY,
    Snapshot,
    flag_of,
    int_in,
    query_date,
    settle,
)
from points_conformance.fuzz.owners import (
    BALANCE_NAMES,
    CONNECTED_NAMES,
    GROUP_CUSTOMER_TYPES,
    HISTORY_NAMES,
    LEDGER_NAMES,
    TRANSFER_TYPES,
    Owner,
    customer_owner,
    group_owner,
    has_events,
)
from points_conformance.target import Customer, TargetData

# Percentage of cases that get the target's known data laid over them (the rest keep what the
# generator drew).
KNOWN_SHARE = 90
# Flags of a ledger query that never turn a request for a real ledger into an error, and the
# values they take.
LEDGER_FLAGS: dict[str, tuple[str, ...]] = {
    "sort": ("ASC", "DESC"),
    "isFilterBasedOnDate": ("true", "false"),
    "includeLastOneYearData": ("true", "false"),
}
# Parameters of a ledger query that never turn a request for a real ledger into an error.
LEDGER_KEEP = frozenset(
    {"sort", "sortOrder", "isFilterBasedOnDate", "includeLastOneYearData", "ledgerEntryType"}
)
# Each flag of LEDGER_FLAGS left out (None) or set.
FLAG_CHOICES = {flag: st.sampled_from((None, *values)) for flag, values in LEDGER_FLAGS.items()}
CONCEPT_CHOICES = st.sampled_from((None, True, False))
TRANSFER_KINDS = st.sampled_from(sorted(TRANSFER_TYPES))
GROUP_KINDS = st.sampled_from(sorted(GROUP_CUSTOMER_TYPES))
AMOUNTS = st.integers(1, 5)

Lay = Callable[[st.DrawFn], Case[Any]]
T = TypeVar("T")


@st.composite
def _laid(draw: st.DrawFn, lay: Lay) -> Case[Any]:
    # One composite for every case: decorating a new one per case cost more than its draws.
    return lay(draw)


def _pool(items: Sequence[T]) -> st.SearchStrategy[T] | None:
    """A strategy drawing from `items`, built once; None when there is nothing to draw."""
    return st.sampled_from(items) if items else None


class KnownData:
    """Lays the target file's test data over generated cases, so that most reach real data.

    Where the generator left a part of the request valid, it is rebuilt around a real customer
    or group so that the target's data can answer it (filters it holds, a page that exists);
    where it made a part invalid, only the real identity is laid over what it did not touch,
    so that the invalid value meets a real ledger. Writes never touch the ledgers whose
    contents other tests count, and never a redemption the reversal tests need.
    """

    def __init__(self, data: TargetData) -> None:
        self.data = data
        connected_role = str(data.connected_orgs.get("connected_customer") or "")
        connected = data.customer(connected_role.removeprefix("customers."))
        self.connected = customer_owner(connected, LEDGER_NAMES) if connected else None
        # The connected customer's ledger lives in another organisation.
        customers = [c for c in data.customers.values() if connected is None or c is not connected]
        self.ledger_customers = [
            customer_owner(c, LEDGER_NAMES) for c in customers if has_events(c)
        ]
        self.groups = [group_owner(g) for g in data.groups.values() if g.id]
        self.ledgers = [o for o in self.ledger_customers + self.groups if o.identifiers]
        self.own_customers = [customer_owner(c, LEDGER_NAMES) for c in customers]
        self.connected_orgs = [
            str(o) for o in data.connected_orgs.get("connected_org_ids") or () if str(o)
        ]
        cross = data.cross_member
        members = [str(cross.get("member_id") or "")] + [
            str(m) for m in cross.get("member_ids") or ()
        ]
        self.cross_members = [m for m in dict.fromkeys(members) if m.isdigit()]
        self.transfer_from = data.customer("transfer_from")
        self.transfer_to = data.customer("transfer_to")
        self.pair_ids = [str(p) for p in data.transfer.get("pair_ids") or () if str(p).isdigit()]
        self.redeemer = {
            "type": str(data.redemptions.get("identifier_type") or ""),
            "value": str(data.redemptions.get("identifier_value") or ""),
        }
        self.reversed_id = data.redemptions.get("reversed_id")
        self._ledger_owners = {c: _pool(self._ledger_pool(connected=c)) for c in (False, True)}
        self._balance_owners = _pool(
            [(o, n) for o in self.own_customers for n in BALANCE_NAMES if n in o.identifiers]
        )
        history: list[tuple[Owner, str]] = [
            (o, n) for o in self.own_customers for n in HISTORY_NAMES if n in o.identifiers
        ]
        history += [(g, "id") for g in self.groups if "groupId" in g.identifiers]
        self._history_owners = _pool(history)
        self._members = _pool(self.cross_members)
        self._parties = _pool(self._transfer_parties())
        self._group2 = _pool([g for g in self.groups if g.group_type == "USERGROUP2"])
        self._scratch = _pool(self._scratch_pairs())
        source = self.transfer_from
        self._group_transfer_kinds = _pool(
            [k for k, f in sorted(GROUP_CUSTOMER_TYPES.items()) if source and getattr(source, f)]
        )
        self._by_operation: dict[str, Callable[[Case[Any], Snapshot], Any]] = {
            "getCustomerLedgerInfo": lambda c, s: self._ledger(c, s, connected=False),
            "getCustomerLedgerInfoConnectedOrgs": lambda c, s: self._ledger(c, s, connected=True),
            "getCrossMemberLedger": self._cross_member,
            "getCustomerLedgerBalance": self._balance,
            "getPointsTransfers": self._history,
            "isTransferrable": self._transfer_check,
            "isTransferrableUserGroup": self._group_check,
            "transferPoints": self._transfer,
            "transferPointsUserGroup": self._group_transfer,
            "reversePoints": self._reverse,
        }

    def feed(self, case: Case[Any]) -> st.SearchStrategy[Case[Any]]:
        """A strategy of `case` with known data laid over it (or untouched, now and then)."""
        feeder = self._by_operation.get(operation_id_of(case))
        if feeder is None:
            return st.just(case)
        snap = Snapshot.of(case)
        if snap.share() >= KNOWN_SHARE:
            return st.just(case)
        fed: st.SearchStrategy[Case[Any]] = feeder(case, snap).map(settle)
        return fed

    def _identity(self, owner: Owner, name: str) -> dict[str, Any]:
        query: dict[str, Any] = {
            "identifierName": name,
            "identifierValue": owner.identifiers[name],
            "source": self.data.source,
        }
        if self.data.account_id:
            query["accountId"] = self.data.account_id
        return query

    # -- ledgers ------------------------------------------------------------------------------

    def _ledger_pool(self, *, connected: bool) -> list[tuple[Owner, str, bool]]:
        pool: list[tuple[Owner, str, bool]] = []
        for owner in self.ledgers:
            if connected and owner.is_group:
                # v2.1 has no `type`; only these names select the group form.
                names = [n for n in owner.identifiers if n in ("groupId", "primaryUserId")]
            elif connected:
                names = [n for n in owner.identifiers if n in CONNECTED_NAMES]
            else:
                names = list(owner.identifiers)
            pool += [(owner, name, False) for name in names]
        if connected and self.connected is not None and self.connected_orgs:
            other = self.connected
            pool += [(other, n, True) for n in other.identifiers if n in CONNECTED_NAMES]
        return pool

    def _ledger(
        self, case: Case[Any], snap: Snapshot, *, connected: bool
    ) -> st.SearchStrategy[Case[Any]]:
        owners = self._ledger_owners[connected]
        if owners is None:
            return st.just(case)

        def fed(draw: st.DrawFn) -> Case[Any]:
            owner, name, other_org = draw(owners)
            identity = self._identity(owner, name)
            if owner.is_group and not connected:
                identity["type"] = owner.group_type
            if connected:
                headers = dict(snap.headers)
                scope = {"DATA-SCOPE": "OTHER" if other_org else "SELF"}
                if other_org:
                    scope["DATA-SCOPE-ORG"] = ",".join(self.connected_orgs)
                elif snap.valid(HEADER):
                    headers.pop("DATA-SCOPE-ORG", None)
                case.headers = CaseInsensitiveDict(snap.overlay(HEADER, headers, scope))
            if snap.valid(QUERY):
                tidy = self._tidy_ledger(draw, snap.query, owner, connected)
                case.query = {**tidy, **identity}
            else:
                case.query = snap.overlay(QUERY, snap.query, identity)
            return case

        return _laid(fed)

    def _tidy_ledger(
        self, draw: st.DrawFn, generated: dict[str, Any], owner: Owner, connected: bool
    ) -> dict[str, Any]:
        query = {k: v for k, v in generated.items() if k in LEDGER_KEEP}
        for flag, choices in FLAG_CHOICES.items():
            # The generator leaves most optional flags out; real ledgers see them all.
            if flag not in query:
                chosen = draw(choices)
                if chosen is not None:
                    query[flag] = chosen
        if owner.role != "rich":
            # Only the rich customer is promised rows of every entry type.
            query.pop("ledgerEntryType", None)
        limit = int_in(generated.get("limit"), 1, 100)
        if limit is not None:
            query["limit"] = limit
        filters: list[tuple[str, Any]] = [("", None), ("", None)]
        filters += [("programId", p) for p in owner.program_ids]
        filters += [("tillId", t) for t in owner.till_ids]
        if owner.role == "rich":
            filters += [("pointCategoryType", c) for c in ("REGULAR", "PROMISED", "TRIGGER_BASED")]
        filters += [("alternateCurrencyNames", c) for c in owner.currencies]
        if not connected:
            filters += [("storeId", s) for s in owner.store_ids]
            filters += [("storeCode", s) for s in owner.store_codes]
            if len(owner.till_ids) > 1:
                filters.append(("tillIds", owner.till_ids))
        name, value = draw(st.sampled_from(filters))
        if name == "tillIds":
            tills = draw(st.lists(st.sampled_from(value), min_size=1, unique=True))
            query["tillIds"] = ",".join(str(t) for t in tills)
        elif name:
            query[name] = value
        if name == "programId":
            # Only meaningful, and only valid when true, together with programId.
            concept = flag_of(generated.get("includeTillConceptEvents"))
            if concept is None:
                concept = draw(CONCEPT_CHOICES)
            if concept is not None:
                query["includeTillConceptEvents"] = "true" if concept else "false"
        if name == "alternateCurrencyNames":
            for key in ("includeAlternateCurrencies", "excludePointCategories"):
                if key in generated:
                    query[key] = generated[key]
        elif flag_of(generated.get("includeAlternateCurrencies")) is False:
            query["includeAlternateCurrencies"] = "false"
        if name or query.get("ledgerEntryType") or not owner.events:
            # A filter may leave fewer pages than the whole ledger has.
            query["offset"] = 0
        else:
            pages = -(-owner.events // (limit or 10))
            query["offset"] = draw(st.integers(0, max(0, pages - 1)))
        return query

    def _balance(self, case: Case[Any], snap: Snapshot) -> st.SearchStrategy[Case[Any]]:
        owners = self._balance_owners
        if owners is None:
            return st.just(case)
        kept = ("ledgerEntryType", "pointCategoryType", "includeTillConceptEvents")

        def fed(draw: st.DrawFn) -> Case[Any]:
            owner, name = draw(owners)
            identity = self._identity(owner, name)
            if not snap.valid(QUERY):
                case.query = snap.overlay(QUERY, snap.query, identity)
                return case
            query = {k: v for k, v in snap.query.items() if k in kept}
            limit = int_in(snap.query.get("limit"), 1, 10)
            if limit is not None:
                query["limit"] = limit
            offset = int_in(snap.query.get("offset"), 0, 3)
            if offset is not None:
                query["offset"] = offset
            end = query_date(snap.query.get("endDate"))
            if end is not None:
                query["endDate"] = end
            if "tillId" in snap.query and owner.till_ids:
                query["tillId"] = draw(st.sampled_from(owner.till_ids))
            case.query = {**query, **identity}
            return case

        return _laid(fed)

    def _cross_member(self, case: Case[Any], snap: Snapshot) -> st.SearchStrategy[Case[Any]]:
        members = self._members
        if members is None:
            return st.just(case)

        def fed(draw: st.DrawFn) -> Case[Any]:
            member = int(draw(members))
            case.path_parameters = snap.overlay(PATH, snap.path, {"id": member})
            query = dict(snap.query)
            if snap.valid(QUERY) and draw(st.integers(0, 3)) > 0:
                # Random dates are mostly in the wrong order; the default window is not.
                query = {k: v for k, v in query.items() if k not in ("startDate", "endDate")}
            case.query = query
            return case

        return _laid(fed)

    def _history(self, case: Case[Any], snap: Snapshot) -> st.SearchStrategy[Case[Any]]:
        owners = self._history_owners
        if owners is None:
            return st.just(case)

        def fed(draw: st.DrawFn) -> Case[Any]:
            owner, name = draw(owners)
            if owner.is_group:
                identity: dict[str, Any] = {
                    "identifierName": "id",
                    "identifierValue": owner.identifiers["groupId"],
                    "userEntityType": "USERGROUP2",
                }
            else:
                identity = self._identity(owner, name)
            query = dict(snap.query)
            if snap.valid(QUERY):
                for key in ("userEntityType", "source", "accountId"):
                    query.pop(key, None)
            case.query = snap.overlay(QUERY, query, identity)
            return case

        return _laid(fed)

    # -- points (003) -------------------------------------------------------------------------

    def _transfer_parties(self) -> list[tuple[Customer, Customer]]:
        pairs: list[tuple[Customer, Customer]] = []
        if self.transfer_from and self.transfer_to:
            pairs.append((self.transfer_from, self.transfer_to))
        rich = self.data.customer("rich")
        if rich and self.transfer_to:
            pairs.append((rich, self.transfer_to))
        return pairs

    @staticmethod
    def _identifier(customer: Customer, kind: str) -> dict[str, str] | None:
        value = getattr(customer, TRANSFER_TYPES[kind])
        return {"type": kind, "value": str(value)} if value else None

    def _body_fed(
        self,
        case: Case[Any],
        snap: Snapshot,
        build: Callable[[st.DrawFn], tuple[dict[str, Any], dict[str, Any]]],
    ) -> st.SearchStrategy[Case[Any]]:
        """Lay `build`'s parties (always) and amounts (valid bodies only) over the body."""
        if not isinstance(snap.body, dict) or snap.negated.get(BODY, frozenset()) is None:
            return st.just(case)

        def fed(draw: st.DrawFn) -> Case[Any]:
            parties, amounts = build(draw)
            body = snap.body_object() or {}
            if snap.valid(BODY):
                body.update(amounts)
                body = {k: v for k, v in body.items() if v is not None}
            case.body = snap.overlay(BODY, body, parties)
            return case

        return _laid(fed)

    def _transfer_check(self, case: Case[Any], snap: Snapshot) -> st.SearchStrategy[Case[Any]]:
        pairs = self._parties
        if pairs is None:
            return st.just(case)

        def build(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
            source, destination = draw(pairs)
            parties: dict[str, Any] = {}
            for key, who in (
                ("fromCustomerIdentifier", source),
                ("toCustomerIdentifier", destination),
            ):
                ident = self._identifier(who, draw(TRANSFER_KINDS))
                if ident is not None:
                    parties[key] = ident
            amounts = {
                "pointsTobeTransferred": draw(AMOUNTS),
                "programId": source.program_ids[0] if source.program_ids else None,
            }
            return parties, amounts

        return self._body_fed(case, snap, build)

    def _group_party(self, customer: Customer, kind: str) -> dict[str, Any] | None:
        value = getattr(customer, GROUP_CUSTOMER_TYPES[kind])
        if not value:
            return None
        return {
            "type": "CUSTOMER",
            "identifierType": kind,
            "identifierValue": str(value),
            "source": self.data.source,
        }

    def _group_check(self, case: Case[Any], snap: Snapshot) -> st.SearchStrategy[Case[Any]]:
        pairs, groups = self._parties, self._group2
        if pairs is None:
            return st.just(case)

        def build(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
            source, destination = draw(pairs)
            kind = draw(GROUP_KINDS)
            parties: dict[str, Any] = {}
            actor = self._group_party(source, kind)
            if actor is not None:
                parties["transferredBy"] = {k: v for k, v in actor.items() if k != "type"}
                parties["fromEntity"] = actor
            use_group: bool = draw(st.booleans()) if groups is not None else False
            if use_group and groups is not None:
                group = draw(groups)
                parties["fromEntity"] = {
                    "type": "USERGROUP2",
                    "identifierType": "id",
                    "identifierValue": group.identifiers["groupId"],
                }
            receiver = self._group_party(destination, kind)
            if receiver is not None:
                parties["toEntity"] = receiver
            return parties, {"pointsTobeTransferred": draw(AMOUNTS), "programId": None}

        return self._body_fed(case, snap, build)

    def _scratch_pairs(self) -> list[tuple[str, str]]:
        ids = self.pair_ids
        return [(ids[i], ids[i + 1]) for i in range(0, len(ids) - 1, 2)]

    def _transfer(self, case: Case[Any], snap: Snapshot) -> st.SearchStrategy[Case[Any]]:
        pairs = self._scratch
        if pairs is None:
            return st.just(case)

        def build(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
            source, destination = draw(pairs)
            # The generated `code` stays: no OTP was issued for it, so nothing moves.
            parties = {
                "fromCustomerIdentifier": {"type": "ID", "value": source},
                "toCustomerIdentifier": {"type": "ID", "value": destination},
            }
            return parties, {"pointsTobeTransferred": draw(AMOUNTS), "programId": None}

        return self._body_fed(case, snap, build)

    def _group_transfer(self, case: Case[Any], snap: Snapshot) -> st.SearchStrategy[Case[Any]]:
        source, destination = self.transfer_from, self.transfer_to
        kinds = self._group_transfer_kinds
        if source is None or destination is None or kinds is None:
            return st.just(case)

        def build(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
            kind = draw(kinds)
            parties: dict[str, Any] = {}
            actor = self._group_party(source, kind)
            if actor is not None:
                parties["transferredBy"] = {k: v for k, v in actor.items() if k != "type"}
                parties["fromEntity"] = actor
            receiver = self._group_party(destination, kind)
            if receiver is not None:
                parties["toEntity"] = receiver
            # Small amounts between the two transfer customers: the transfer tests read their
            # balances only before and after their own transfers.
            return parties, {"pointsTobeTransferred": draw(AMOUNTS), "programId": None}

        return self._body_fed(case, snap, build)

    def _reverse(self, case: Case[Any], snap: Snapshot) -> st.SearchStrategy[Case[Any]]:
        if not self.redeemer["type"] or not self.redeemer["value"]:
            return st.just(case)

        def build(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
            parties: dict[str, Any] = {"identifier": dict(self.redeemer)}
            # Never a reversible redemption: those belong to the reversal tests. The one
            # already reversed can only be refused.
            if self.reversed_id is not None and draw(st.booleans()):
                parties["redemptionId"] = str(self.reversed_id)
            return parties, {}

        return self._body_fed(case, snap, build)
