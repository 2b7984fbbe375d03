"""What the server's read operations say about each given customer and group.

Each question is one or a few GETs through the read-only client: a customer's ledger (its
size, programs, stores, organisation), its alternate-currency rows, its balance, and its
cross-member ledger; a group's ledger (its type, identifiers and members). Answers are kept as
facts; `roles` decides what they make the customer or group good for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from points_conformance.discover.inputs import CustomerInput, GroupInput
from points_conformance.discover.readonly import ReadOnlyClient
from points_conformance.model import Exchange
from points_conformance.operations import PATHS

PAGE = 100  # the largest ledger page the pages allow
GROUP_TYPES = ("USERGROUP2", "FLEET")
# identifier kind (target file) -> the ledger's identifierName
LEDGER_NAMES = {"id": "id", "mobile": "mobile", "email": "email", "external_id": "externalId"}
GROUP_NAMES = {"id": "groupId", "external_id": "externalId", "primary_user_id": "primaryUserId"}
NOT_IN_CROSS_MEMBER_GROUP = 3301
OTHER_ORG = 3401
# The ledger's eventName for a redemption (003's "Get Customer Ledger Information" example).
REDEMPTION_EVENT = "PointsRedemption"


class CredentialsRefused(RuntimeError):
    """The server answered 401 or 403 to a read: the credentials are wrong or lack rights."""


@dataclass
class CustomerFacts:
    """What the reads showed about one customer; `given` when the user named it."""

    given: bool
    identifiers: dict[str, str] = field(default_factory=dict)
    found: bool = False
    refusal: str = ""  # why the ledger answered no customer, when it did not
    history_code: int | None = None  # the transfer history's refusal of such a customer
    events: int | None = None
    program_ids: set[int] = field(default_factory=set)
    store_codes: set[str] = field(default_factory=set)
    org_ids: Counter[int] = field(default_factory=Counter)
    alternate_currencies: set[str] = field(default_factory=set)
    redemptions: int = 0  # redemption events among the ledger entries read
    balance: float | None = None
    cross_member_code: int | None = None  # 200 when a member, else the refusal's code
    cross_member_group: str | None = None
    cross_member_ids: list[str] = field(default_factory=list)
    # (UTC moment, minutes the org's createdDate is ahead of it) per cross-member entry read
    zone_samples: list[tuple[datetime, int]] = field(default_factory=list)
    groups: set[str] = field(default_factory=set)


@dataclass
class GroupFacts:
    """What the group ledger showed about one group."""

    type: str | None = None
    events: int | None = None
    identifiers: dict[str, str] = field(default_factory=dict)
    primary_user_id: str | None = None
    members: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> identifiers


def error_codes(exchange: Exchange) -> list[int]:
    """The codes of an error body (`errors[].code`, numbers or digit strings)."""
    body = exchange.response.json
    errors = body.get("errors") if isinstance(body, dict) else None
    codes: list[int] = []
    for error in errors if isinstance(errors, list) else []:
        code = error.get("code") if isinstance(error, dict) else None
        if isinstance(code, int) or (isinstance(code, str) and code.isdigit()):
            codes.append(int(code))
    return codes


def _refused(exchange: Exchange) -> None:
    if exchange.response.status in (401, 403):
        raise CredentialsRefused(
            f"the server answered HTTP {exchange.response.status} to "
            f"{exchange.request.method} {exchange.request.path}: check --auth or --bearer"
        )


def _body(exchange: Exchange) -> dict[str, Any] | None:
    body = exchange.response.json
    return body if exchange.response.status == 200 and isinstance(body, dict) else None


class Prober:
    """Asks the server about customers and groups, `pages` ledger pages at most per ledger."""

    def __init__(
        self,
        client: ReadOnlyClient,
        *,
        source: str,
        account_id: str,
        pages: int,
    ) -> None:
        self.client = client
        self.source = source
        self.account_id = account_id
        self.pages = pages

    def _ledger(self, params: dict[str, Any]) -> Exchange:
        query = {"source": self.source, "accountId": self.account_id or None, **params}
        exchange = self.client.get(
            "getCustomerLedgerInfo", PATHS["getCustomerLedgerInfo"], params=query
        )
        _refused(exchange)
        return exchange

    # -- customers ------------------------------------------------------------------------------

    def customer(self, given: CustomerInput, *, is_given: bool, full: bool) -> CustomerFacts:
        """The facts of one customer; `full` reads up to `pages` ledger pages, else one."""
        facts = CustomerFacts(is_given, dict(given.identifiers))
        first = self._find(given, facts)
        if first is None:
            tries = [(k, v) for k, v in given.identifiers if k in LEDGER_NAMES]
            if tries:
                facts.history_code = self.transfer_history_code(*tries[0])
            return facts
        name, value, body = first
        facts.found = True
        self._details(facts, body)
        total = facts.events or 0
        for page in range(1, min(self.pages if full else 1, -(-total // PAGE))):
            more = _body(self._ledger(self._who(name, value, limit=PAGE, offset=page)))
            if more is None:
                break
            self._entries(facts, more.get("ledgerEntries"))
        self._alternate_currencies(facts, name, value)
        self._balance(facts, name, value)
        self._cross_member(facts)
        return facts

    def _who(self, name: str, value: str, **params: Any) -> dict[str, Any]:
        return {"identifierName": LEDGER_NAMES[name], "identifierValue": value, **params}

    def _find(
        self, given: CustomerInput, facts: CustomerFacts
    ) -> tuple[str, str, dict[str, Any]] | None:
        tries = [(k, v) for k, v in given.identifiers if k in LEDGER_NAMES]
        if not tries:
            facts.refusal = "no identifier the ledger looks customers up by"
            return None
        if given.guessed and tries[0][0] in ("id", "mobile"):
            other = "mobile" if tries[0][0] == "id" else "id"
            tries.append((other, tries[0][1]))
        for name, value in tries:
            exchange = self._ledger(self._who(name, value, limit=PAGE, offset=0))
            body = _body(exchange)
            if body is not None and isinstance(body.get("ledgerDetails"), dict):
                if given.guessed and name != given.identifiers[0][0]:
                    facts.identifiers = {name: value}
                return name, value, body
            codes = error_codes(exchange)
            facts.refusal = (
                f"codes {', '.join(map(str, codes))}"
                if codes
                else f"HTTP {exchange.response.status}"
            )
        return None

    def _details(self, facts: CustomerFacts, body: dict[str, Any]) -> None:
        details = body.get("customerDetails")
        if isinstance(details, dict):
            if details.get("userId") is not None:
                facts.identifiers.setdefault("id", str(details["userId"]))
            if details.get("externalId"):
                facts.identifiers.setdefault("external_id", str(details["externalId"]))
        ledger = body.get("ledgerDetails") or {}
        total = ledger.get("totalEntries")
        facts.events = total if isinstance(total, int) else None
        self._entries(facts, body.get("ledgerEntries"))

    def _entries(self, facts: CustomerFacts, entries: Any) -> None:
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            if isinstance(entry.get("sourceProgramId"), int):
                facts.program_ids.add(entry["sourceProgramId"])
            if isinstance(entry.get("storeCode"), str) and entry["storeCode"]:
                facts.store_codes.add(entry["storeCode"])
            if isinstance(entry.get("orgId"), int):
                facts.org_ids[entry["orgId"]] += 1
            if entry.get("eventName") == REDEMPTION_EVENT:
                facts.redemptions += 1
            for row in entry.get("entryDetails") or []:
                if not isinstance(row, dict):
                    continue
                if isinstance(row.get("programId"), int):
                    facts.program_ids.add(row["programId"])
                if isinstance(row.get("alternateCurrencyName"), str):
                    facts.alternate_currencies.add(row["alternateCurrencyName"])

    def _alternate_currencies(self, facts: CustomerFacts, name: str, value: str) -> None:
        params = self._who(name, value, limit=PAGE, offset=0, includeAlternateCurrencies="true")
        body = _body(self._ledger(params))
        if body is not None:
            programs, redemptions = set(facts.program_ids), facts.redemptions
            self._entries(facts, body.get("ledgerEntries"))
            # alternate-currency rows may name programs of their own; the ledger's are wanted
            facts.program_ids = programs or facts.program_ids
            facts.redemptions = redemptions  # the first page again, counted already

    def _balance(self, facts: CustomerFacts, name: str, value: str) -> None:
        op = "getCustomerLedgerBalance"
        params = {"source": self.source, "accountId": self.account_id or None}
        exchange = self.client.get(op, PATHS[op], params={**params, **self._who(name, value)})
        _refused(exchange)
        body = _body(exchange)
        rows = ((body or {}).get("ledgerDetails") or {}).get("ledgerClosingBalance")
        if isinstance(rows, list):
            total = 0.0
            for row in rows:
                try:
                    total += float(row.get("closingBalance"))
                except (TypeError, ValueError, AttributeError):
                    continue
            facts.balance = total

    def _cross_member(self, facts: CustomerFacts) -> None:
        customer_id = facts.identifiers.get("id")
        if not customer_id:
            return
        op = "getCrossMemberLedger"
        path = PATHS[op].replace("{id}", customer_id)
        exchange = self.client.get(op, path, params={"pageSize": 20})
        _refused(exchange)
        body = _body(exchange)
        if body is None:
            codes = error_codes(exchange)
            facts.cross_member_code = codes[0] if codes else exchange.response.status
            return
        facts.cross_member_code = 200
        group = body.get("groupDetails") or {}
        if group.get("groupId") is not None:
            facts.cross_member_group = str(group["groupId"])
        members = group.get("members") or []
        facts.cross_member_ids = [
            str(m["customerId"]) for m in members if isinstance(m, dict) and "customerId" in m
        ]
        for entry in body.get("entries") or []:
            sample = _zone_sample(entry)
            if sample is not None:
                facts.zone_samples.append(sample)

    def has_entries(self, name: str, value: str, param: str, candidate: Any) -> bool:
        """Whether the customer's ledger answers entries when filtered by `param=candidate`.

        A till or store it answers entries for exists and holds that customer's events; one it
        refuses is unknown to the server.
        """
        params = self._who(name, value, limit=1, offset=0, **{param: candidate})
        body = _body(self._ledger(params))
        return body is not None and bool(body.get("ledgerEntries"))

    def transfer_history_code(self, name: str, value: str) -> int | None:
        """The error code the transfer history answers for a customer (419: merged), if any."""
        op = "getPointsTransfers"
        params = {"identifierName": LEDGER_NAMES[name], "identifierValue": value}
        exchange = self.client.get(op, PATHS[op], params={"source": self.source, **params})
        _refused(exchange)
        codes = error_codes(exchange)
        return codes[0] if codes else None

    # -- groups ---------------------------------------------------------------------------------

    def group(self, given: GroupInput) -> GroupFacts:
        """The facts of one group: the first of USERGROUP2 and FLEET whose ledger knows it."""
        facts = GroupFacts()
        name = GROUP_NAMES[given.kind]
        for gtype in GROUP_TYPES:
            params = {"type": gtype, "identifierName": name, "identifierValue": given.value}
            body = _body(self._ledger({**params, "limit": PAGE, "offset": 0}))
            if body is None or not isinstance(body.get("ledgerDetails"), dict):
                continue
            facts.type = gtype
            total = body["ledgerDetails"].get("totalEntries")
            facts.events = total if isinstance(total, int) else None
            details = body.get("customerDetails") or {}
            if details.get("userId") is not None:
                facts.identifiers["id"] = str(details["userId"])
            if details.get("externalId"):
                facts.identifiers["external_id"] = str(details["externalId"])
            facts.identifiers.setdefault(given.kind, given.value)
            self._members(facts, body.get("ledgerEntries"))
            for page in range(1, min(self.pages, -(-(facts.events or 0) // PAGE))):
                more = _body(self._ledger({**params, "limit": PAGE, "offset": page}))
                if more is None:
                    break
                self._members(facts, more.get("ledgerEntries"))
            break
        return facts

    def _members(self, facts: GroupFacts, entries: Any) -> None:
        for entry in entries if isinstance(entries, list) else []:
            details = entry.get("customerDetails") if isinstance(entry, dict) else None
            if not isinstance(details, dict) or details.get("userId") is None:
                continue
            member = str(details["userId"])
            known = facts.members.setdefault(member, {"id": member})
            identifier = details.get("identifier")
            if isinstance(identifier, dict) and identifier.get("type") in LEDGER_NAMES:
                kind = str(identifier["type"])
                kind = "external_id" if kind == "externalId" else kind
                known.setdefault(kind, str(identifier.get("value")))
            if str(details.get("role", "")).upper() == "PRIMARY":
                facts.primary_user_id = member


def _zone_sample(entry: Any) -> tuple[datetime, int] | None:
    """An entry's createdDateISO (UTC) and the minutes its createdDate (org time) is ahead."""
    if not isinstance(entry, dict):
        return None
    local, iso = entry.get("createdDate"), entry.get("createdDateISO")
    if not isinstance(local, str) or not isinstance(iso, str):
        return None
    try:
        shown = datetime.fromisoformat(local.replace(" ", "T"))
        utc = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if utc.tzinfo is None or shown.tzinfo is not None:
        return None
    return utc, round((shown - utc.replace(tzinfo=None)).total_seconds() / 60)
