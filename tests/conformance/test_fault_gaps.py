"""Rules whose breach no single response shows: a filter's effect, compared with the answer
without it, and the `warnings` list of successful answers.

- LEDGER-FILTER-DATE: a window that ends a month before the newest entry holds none of the
  newest entries (a window around them cannot tell a filter from none). It spans 30 days, which
  003's limit allows as well as 000's and 001's 90 (D-002).
- CORG-FILTER-ROLE: with role=R a group's entries are all triggered by members of role R, and
  fewer than without it when other roles triggered some.
- BAL-FILTER-ENTRYTYPE (strict, D-081): the CREDIT, DEBIT and OPENING_BALANCE balances, debits
  negative, add up to the unfiltered one, and are not all the unfiltered one.
- BAL-FILTER-ENDDATE: as of two days before the customer's first event (more than any zone
  offset, D-082), every balance is zero or absent.
- COMMON-SCHEMA-WARNINGS: a successful read carries `warnings`, a list (strict); the default run
  asks only that a v2 or v2.1 ledger's `warnings`, when present, be the list or object 000 and
  001 type it as (D-095).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from points_conformance.checks import CheckContext
from points_conformance.checks.balance import end_date_now, new_balance_rows
from points_conformance.checks.discrepancies import D_WARNINGS
from points_conformance.checks.readers import dicts, success_object
from points_conformance.checks.transfer_state import ledger_entries
from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, Finding
from points_conformance.operations import PATHS
from points_conformance.plugin.fixtures import FindingsRecorder, skip_missing
from points_conformance.target import Customer, Group, TargetData

from ._cases import Case
from ._ledger import RICH_CUSTOMER, created, reading_gaps, run_case
from ._points import (
    BALANCE,
    CHECK,
    CML,
    HISTORY,
    LEDGER_INFO,
    MAX_BALANCE_PAGES,
    check_body,
    cml_path,
    customer_query,
    ok,
    read_ledger,
)

CONNECTED = "getCustomerLedgerInfoConnectedOrgs"
CONNECTED_PATH = "/v2.1/pointsLedger/getCustomerLedgerInfo"
ENTRY_TYPES = ("CREDIT", "DEBIT", "OPENING_BALANCE")
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
# More than any zone offset (±14 h) either way: no reading of endDate's zone puts the first
# event before a moment this far ahead of it (D-082).
ZONE_SLACK = timedelta(days=2)

Balances = dict[tuple[str, str], Decimal]


@pytest.mark.requirement("LEDGER-FILTER-DATE")
@pytest.mark.reads("customers.rich")
def test_window_before_the_newest_entries(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    case = Case(
        id="window-ending-30-days-before-newest",
        requirements=("LEDGER-FILTER-DATE",),
        operation=LEDGER_INFO,
        path=PATHS[LEDGER_INFO],
        params={
            **RICH_CUSTOMER,
            "startDate": "{dates.start_60d}",
            "endDate": "{dates.start_30d}",
            "limit": 100,
        },
        expect={"ok": True, "rows": "maybe"},
        table="test_fault_gaps",
    )
    findings.add(run_case(case, client=client, target=target, ctx=check_context))


def _entries(ex: Exchange) -> list[dict[str, Any]]:
    return dicts((success_object(ex) or {}).get("ledgerEntries"))


def _total(ex: Exchange) -> int | None:
    details = (success_object(ex) or {}).get("ledgerDetails")
    total = details.get("totalEntries") if isinstance(details, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _role(entry: Mapping[str, Any]) -> str | None:
    """The role of the member who triggered a group entry (customerDetails or its identifier)."""
    details = entry.get("customerDetails")
    if not isinstance(details, dict):
        return None
    identifier = details.get("identifier")
    role = details.get("role")
    if role is None and isinstance(identifier, dict):
        role = identifier.get("role")
    return str(role) if role else None


@pytest.mark.requirement("CORG-FILTER-ROLE")
@pytest.mark.reads("groups.usergroup2")
def test_role_restricts_a_groups_entries(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    require_group: Callable[[str], Group],
) -> None:
    if not check_context.strict:
        # 000 names the roles ("defined by the brands for members in a user group") but not what
        # filtering by one does to the entries or the totals.
        pytest.skip("what role= does to a group's entries is a strict reading (D-075)")
    group = require_group("usergroup2")
    if not group.id:
        skip_missing("groups.usergroup2.id")
    base = {
        "type": group.type or "USERGROUP2",
        "identifierName": "groupId",
        "identifierValue": group.id,
        "source": target.source,
        "limit": 100,
    }
    if target.account_id:
        base["accountId"] = target.account_id
    headers = {"DATA-SCOPE": "SELF"}
    whole = client.request(CONNECTED, "GET", CONNECTED_PATH, params=base, headers=headers)
    findings.add(ok(check_context, "CORG-FILTER-ROLE", "the group's ledger", whole))
    if whole.response.status != 200:
        return
    roles = Counter(r for r in (_role(e) for e in _entries(whole)) if r)
    if not roles:
        pytest.skip("the group's entries name no member role")
    whole_total = _total(whole)
    for role in sorted(roles):
        ex = client.request(
            CONNECTED, "GET", CONNECTED_PATH, params={**base, "role": role}, headers=headers
        )
        findings.add(ok(check_context, "CORG-FILTER-ROLE", f"the group's ledger, role={role}", ex))
        if ex.response.status != 200:
            continue
        others = [e.get("eventLogId") for e in _entries(ex) if _role(e) != role]
        if others:
            findings.add(
                [
                    Finding(
                        "CORG-FILTER-ROLE",
                        f"role={role} returned entries triggered by members of another role",
                        expected=f"only entries whose member has role {role}",
                        actual=f"{len(others)} other entries, eventLogId {others[:5]}",
                        exchange=ex,
                    )
                ]
            )
        total = _total(ex)
        if len(roles) > 1 and total is not None and whole_total is not None:
            if total >= whole_total:
                findings.add(
                    [
                        Finding(
                            "CORG-FILTER-ROLE",
                            f"role={role} did not narrow a ledger that other roles share",
                            expected=f"totalEntries below {whole_total} (entries of "
                            f"{', '.join(sorted(set(roles) - {role}))} left out)",
                            actual=f"totalEntries {total}",
                            exchange=ex,
                        )
                    ]
                )


def _balances(
    client: ConformanceClient, ctx: CheckContext, base: dict[str, Any], what: str, requirement: str
) -> tuple[Balances | None, list[Finding], Exchange | None]:
    """closingBalance by (programId, pointsCategory) over the pages of the balance, each pair
    once (a server may repeat them on every page, D-079); as of now unless `base` has endDate."""
    base = {"endDate": end_date_now(), **base}
    values: Balances = {}
    found: list[Finding] = []
    first: Exchange | None = None
    page, pages = 0, 1
    while page < pages:
        ex = client.request(BALANCE, "GET", PATHS[BALANCE], params={**base, "offset": page})
        first = first or ex
        found += ok(ctx, requirement, what, ex)
        if ex.response.status != 200:
            return None, found, first
        fresh = new_balance_rows(values, ex)
        if page > 0 and not fresh:
            break
        values.update(fresh)
        details = (success_object(ex) or {}).get("ledgerDetails") or {}
        count = details.get("pageCount") if isinstance(details, dict) else None
        if isinstance(count, int) and not isinstance(count, bool):
            if count > MAX_BALANCE_PAGES:
                pytest.skip(f"{what}: {count} balance pages (cap {MAX_BALANCE_PAGES})")
            pages = count
        page += 1
    return values, found, first


@pytest.mark.requirement("BAL-FILTER-ENTRYTYPE")
@pytest.mark.reads("customers.rich")
def test_entry_type_balances_add_up_to_the_balance(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    require_customer: Callable[[str], Customer],
) -> None:
    if not check_context.strict:
        pytest.skip("what a balance filtered by ledgerEntryType is, is a strict reading (D-081)")
    base = customer_query(target, require_customer("rich"))
    rid = "BAL-FILTER-ENTRYTYPE"
    whole, found, whole_ex = _balances(client, check_context, base, "the rich balance", rid)
    findings.add(found)
    parts: dict[str, Balances] = {}
    last: Exchange | None = None
    for kind in ENTRY_TYPES:
        part, found, last = _balances(
            client, check_context, {**base, "ledgerEntryType": kind}, f"{kind} balance", rid
        )
        findings.add(found)
        if part is None:
            return
        parts[kind] = part
    if whole is None or not any(whole.values()):
        return
    keys = set(whole).union(*parts.values())
    broken = []
    for key in sorted(keys):
        credit, opening, debit = (parts[k].get(key, Decimal(0)) for k in ENTRY_TYPES)
        total = whole.get(key, Decimal(0))
        if total != credit + opening + debit:
            broken.append(f"{key}: {total} vs credit {credit}, opening {opening}, debit {debit}")
    if broken:
        findings.add(
            [
                Finding(
                    rid,
                    "the entry-type balances do not add up to the unfiltered balance",
                    expected="closingBalance = CREDIT + OPENING_BALANCE + DEBIT (debits negative) "
                    "for every program and category",
                    actual="; ".join(broken[:4]),
                    exchange=last,
                )
            ]
        )
    if all(parts[k] == whole for k in ENTRY_TYPES):
        findings.add(
            [
                Finding(
                    rid,
                    "ledgerEntryType does not change the balances",
                    expected="CREDIT, DEBIT and OPENING_BALANCE balances computed from their "
                    "rows only",
                    actual="each equals the unfiltered balance",
                    exchange=last or whole_ex,
                )
            ]
        )


@pytest.mark.requirement("BAL-FILTER-ENDDATE")
@pytest.mark.reads("customers.rich")
def test_balance_before_the_first_event_is_zero(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    require_customer: Callable[[str], Customer],
) -> None:
    base = customer_query(target, require_customer("rich"))
    rid = "BAL-FILTER-ENDDATE"
    # The oldest entry of the whole ledger: the customer form documents no `sort`.
    ledger = read_ledger(client, base)
    read = ok(check_context, rid, "the customer's whole ledger", ledger)
    findings.add(read)
    # The first event is known only from pages that hold the whole ledger.
    gaps = reading_gaps(check_context, ledger, read)
    if gaps is not None:
        findings.add(gaps)
        return
    moments = [m for m in (created(e) for e in ledger_entries(ledger)) if m is not None]
    if not moments:
        return
    first = min(moments)
    end = (first - ZONE_SLACK).strftime(DATE_FORMAT)
    values, found, ex = _balances(client, check_context, {**base, "endDate": end}, "balance", rid)
    findings.add(found)
    if values is None:
        return
    nonzero = {k: v for k, v in values.items() if v != 0}
    if nonzero:
        findings.add(
            [
                Finding(
                    rid,
                    "balances as of two days before the customer's first event are not zero",
                    expected=f"no balance, or closingBalance 0, as of {end} (first event "
                    f"{first.strftime(DATE_FORMAT)})",
                    actual="; ".join(f"{k}: {v}" for k, v in sorted(nonzero.items())[:4]),
                    exchange=ex,
                )
            ]
        )


def _read(client: ConformanceClient, target: TargetData, operation: str) -> Exchange:
    rich = target.customer("rich")
    source = target.customer("transfer_from")
    destination = target.customer("transfer_to")
    if operation in (LEDGER_INFO, BALANCE, CONNECTED):
        if rich is None:
            skip_missing("customers.rich")
        path = CONNECTED_PATH if operation == CONNECTED else PATHS[operation]
        headers = {"DATA-SCOPE": "SELF"} if operation == CONNECTED else None
        params = customer_query(target, rich)
        return client.request(operation, "GET", path, params=params, headers=headers)
    if operation == CML:
        member = target.cross_member.get("member_id")
        if not member:
            skip_missing("cross_member.member_id")
        return client.request(CML, "GET", cml_path(str(member)))
    if source is None or destination is None:
        skip_missing("customers.transfer_from", "customers.transfer_to", detail="both")
    if operation == HISTORY:
        return client.request(HISTORY, "GET", PATHS[HISTORY], params=customer_query(target, source))
    body = check_body(target, source, destination, 1, issue=False)
    return client.request(CHECK, "POST", PATHS[CHECK], json=body)


# The operations whose pages type `warnings` (001: Object; 000: an array of messages).
TYPED_WARNINGS = (LEDGER_INFO, CONNECTED)


@pytest.mark.requirement("COMMON-SCHEMA-WARNINGS")
@pytest.mark.parametrize("operation", [LEDGER_INFO, CONNECTED, CML, BALANCE, CHECK, HISTORY])
def test_successful_answers_carry_warnings(
    operation: str,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    ex = _read(client, target, operation)
    findings.add(ok(check_context, "COMMON-SCHEMA-WARNINGS", operation, ex))
    body = success_object(ex)
    if ex.response.status != 200 or body is None:
        return
    warnings = body.get("warnings")
    if check_context.strict:
        wrong, expected = not isinstance(warnings, list), '"warnings": [...] (empty when none)'
    else:
        # 001: "warnings | Object | Warnings, if any."; 000: "An array containing any warning
        # messages." Presence when there are none, and the other pages, are examples only.
        wrong = operation in TYPED_WARNINGS and "warnings" in body
        wrong = wrong and not isinstance(warnings, list | dict)
        expected = "warnings, when present, a list or an object (001, 000)"
    if wrong:
        findings.add(
            Finding(
                "COMMON-SCHEMA-WARNINGS",
                "a successful answer has no warnings list"
                if check_context.strict
                else "a ledger answer's warnings is neither a list nor an object",
                expected=expected,
                actual=f"warnings = {body.get('warnings', '(absent)')!r}",
                exchange=ex,
                discrepancy=D_WARNINGS if check_context.strict else None,
            )
        )
