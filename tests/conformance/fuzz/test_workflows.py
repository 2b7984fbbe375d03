"""Stateful workflows: sequences of explicit schemathesis cases whose later answers must agree
with what the earlier ones did.

Each request goes through the fuzzer (the shared client, schemathesis's checks and the suite's
own), and the sequence is judged by the state functions of `points_conformance.checks`:

- isTransferrable with issueOtp=true, the transfer with the issued code, both parties' ledgers
  and the source's transfer history;
- a reversal of a reversible redemption, the redeemer's ledger, and a second reversal (3802);
- the cross-member ledger of every member under scope=user, within the group's scope=group view.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from points_conformance.checks import (
    CheckContext,
    check_reversal_ledger,
    check_reversal_twice,
    check_scope_group,
    check_transfer_history,
    check_transfer_ledger,
)
from points_conformance.checks.cross_member import cml_body, cml_entries
from points_conformance.checks.readers import answered
from points_conformance.fuzz.fuzzer import Fuzzer
from points_conformance.fuzz.outcomes import Step
from points_conformance.model import Exchange, Finding
from points_conformance.plugin.fixtures import FindingsRecorder, skip_missing
from points_conformance.target import Customer, TargetData

from .._points import RedemptionPool, customer_query, fixed_otp, otp_header_name

LEDGER = "getCustomerLedgerInfo"
CML = "getCrossMemberLedger"
CHECK = "isTransferrable"
TRANSFER = "transferPoints"
HISTORY = "getPointsTransfers"
REVERSE = "reversePoints"
# A cross-member view longer than this many pages of 100 is not walked to the end.
MAX_PAGES = 20
# redemptions.identifier_type (reverse's identifier types) -> ledger identifierName.
REDEEMER_NAMES = {"mobile": "mobile", "email": "email", "externalid": "externalId"}


def refused(requirement: str, what: str, step: Step) -> Finding:
    return Finding(
        requirement,
        f"{what} was not answered with HTTP 200",
        expected="HTTP 200 with the documented body",
        actual=f"HTTP {step.status}: {step.exchange.response.excerpt(300)}",
        exchange=step.exchange,
    )


def ledger_pages(fuzzer: Fuzzer, query: dict[str, Any]) -> list[Step]:
    """Every page of a customer's whole ledger (isFilterBasedOnDate=false, 001). No `sort` is
    sent: 001 documents it for the user-group form only, and before/after readings are compared
    by eventLogId, whatever the order."""
    base = {**query, "limit": 100, "isFilterBasedOnDate": "false"}
    first = fuzzer.step(LEDGER, query={**base, "offset": 0})
    pages = [first]
    details = first.exchange.response.json if first.status == 200 else None
    count = 1
    if isinstance(details, dict) and isinstance(details.get("ledgerDetails"), dict):
        raw = details["ledgerDetails"].get("pageCount")
        count = raw if isinstance(raw, int) and not isinstance(raw, bool) else 1
    pages += [fuzzer.step(LEDGER, query={**base, "offset": n}) for n in range(1, min(count, 20))]
    return pages


def _exchanges(steps: list[Step]) -> list[Exchange]:
    return [step.exchange for step in steps]


def _findings(*readings: list[Step]) -> list[Finding]:
    return [found for steps in readings for step in steps for found in step.findings]


@pytest.mark.requirement(
    "XFERCHK-OTP-ISSUE", "XFER-OTP-REQUIRED", "XFER-STATE-LEDGER", "XFER-STATE-HISTORY"
)
@pytest.mark.touches("customers.transfer_from", "customers.transfer_to")
def test_transfer_with_issued_otp(
    fuzzer: Fuzzer,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    require_customer: Callable[[str], Customer],
    writes_allowed: bool,
) -> None:
    """isTransferrable issues an OTP, the transfer with it succeeds, both ledgers show it and
    the source's transfer history lists it."""
    source: Customer = require_customer("transfer_from")
    destination: Customer = require_customer("transfer_to")
    header = otp_header_name(target)
    fixed = fixed_otp(target)
    if header is None and fixed is None:
        skip_missing("transfer.otp_header", "transfer.otp_env", detail="either: no OTP to use")
    if not source.mobile or not destination.id:
        skip_missing("customers.transfer_from.mobile", "customers.transfer_to.id", detail="both")
    source_query = customer_query(target, source)
    destination_query = customer_query(target, destination)
    parties: dict[str, Any] = {
        "pointsTobeTransferred": 1,
        "fromCustomerIdentifier": {"type": "MOBILE", "value": source.mobile},
        "toCustomerIdentifier": {"type": "ID", "value": destination.id},
        "notes": "points-conformance workflow",
    }
    if source.program_ids:
        parties["programId"] = source.program_ids[0]

    source_before = ledger_pages(fuzzer, source_query)
    destination_before = ledger_pages(fuzzer, destination_query)
    check = fuzzer.step(CHECK, body={**parties, "issueOtp": True})
    findings.add(_findings(source_before, destination_before) + check.findings)
    if not answered(check.exchange, strict=check_context.strict):
        findings.add(refused("XFERCHK-OTP-ISSUE", "isTransferrable with issueOtp=true", check))
        return
    code = fixed or (check.header(header) if header else None)
    if not code:
        findings.add(
            Finding(
                "XFERCHK-OTP-ISSUE",
                "isTransferrable with issueOtp=true issued no OTP",
                expected=f"the issued OTP in response header {header} (transfer.otp_header)",
                actual=f"no {header} header",
                exchange=check.exchange,
            )
        )
        return

    transfer = fuzzer.step(TRANSFER, body={**parties, "code": code})
    findings.add(transfer.findings)
    if not answered(transfer.exchange, strict=check_context.strict):
        findings.add(refused("XFER-OTP-REQUIRED", "a transfer with the issued OTP", transfer))
        return
    source_after = ledger_pages(fuzzer, source_query)
    destination_after = ledger_pages(fuzzer, destination_query)
    history = fuzzer.step(HISTORY, query=source_query)
    findings.add(_findings(source_after, destination_after) + history.findings)
    findings.add(
        check_transfer_ledger(
            check_context,
            transfer=transfer.exchange,
            source_after=_exchanges(source_after),
            destination_after=_exchanges(destination_after),
            source_before=_exchanges(source_before),
            destination_before=_exchanges(destination_before),
        )
    )
    findings.add(
        check_transfer_history(check_context, transfer=transfer.exchange, history=history.exchange)
    )


@pytest.mark.requirement("REV-STATE-LEDGER", "REV-STATE-TWICE")
@pytest.mark.touches("redemptions")
def test_reversal_then_again(
    request: pytest.FixtureRequest,
    fuzzer: Fuzzer,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
    writes_allowed: bool,
) -> None:
    """A whole reversal shows in the redeemer's ledger; reversing the same redemption again is
    refused with 3802. The redemption is the next of the reversal tests' pool (passing over
    those an earlier run reversed in full)."""
    # The ids test_reverse.py also takes from: each reversal in a run its own.
    pool = RedemptionPool.of(request, target)
    kind = str(target.redemptions.get("identifier_type") or "")
    value = target.redemptions.get("identifier_value")
    name = REDEEMER_NAMES.get(kind.lower())
    if name is None or not value:
        skip_missing("redemptions.identifier_type", "redemptions.identifier_value")
    ledger_query: dict[str, Any] = {
        "identifierName": name,
        "identifierValue": str(value),
        "source": target.source,
    }
    if target.account_id:
        ledger_query["accountId"] = target.account_id
    identifier = {"type": kind, "value": str(value)}

    before = ledger_pages(fuzzer, ledger_query)
    redemption, first = pool.first_reversal(
        check_context,
        lambda r: fuzzer.step(REVERSE, body={"redemptionId": r, "identifier": identifier}),
        lambda step: step.exchange,
    )
    body = {"redemptionId": redemption, "identifier": identifier}
    findings.add(_findings(before) + first.findings)
    if not answered(first.exchange, strict=False) and not check_context.strict:
        # 003 gives pointsToBeReversed no default: a server may refuse a reversal without it.
        pytest.skip(
            "a reversal without pointsToBeReversed was refused (open outside --conformance-strict, D-091)"
        )
    if not answered(first.exchange, strict=check_context.strict):
        findings.add(refused("REV-STATE-LEDGER", f"the reversal of {redemption}", first))
        return
    after = ledger_pages(fuzzer, ledger_query)
    findings.add(_findings(after))
    findings.add(
        check_reversal_ledger(
            check_context,
            reversal=first.exchange,
            after=_exchanges(after),
            before=_exchanges(before),
        )
    )
    if check_context.strict:
        # Only the strict reading reverses the whole remainder without pointsToBeReversed, so
        # only there must the same reversal then be refused (D-091).
        second = fuzzer.step(REVERSE, body=body)
        findings.add(second.findings + check_reversal_twice(check_context, second.exchange))


def walk(fuzzer: Fuzzer, member: str, scope: str, window: dict[str, str]) -> list[Step]:
    """Every page of a member's cross-member ledger view, 100 entries at a time."""
    steps: list[Step] = []
    number, count = 1, 1
    while number <= min(count, MAX_PAGES):
        step = fuzzer.step(
            CML,
            path_parameters={"id": int(member)},
            query={**window, "scope": scope, "pageNumber": number, "pageSize": 100},
        )
        steps.append(step)
        body = cml_body(step.exchange)
        details = body.get("pageDetails") if body is not None else None
        shown = details.get("pageCount") if isinstance(details, dict) else None
        if not isinstance(shown, int) or isinstance(shown, bool):
            break
        count = shown
        number += 1
    return steps


@pytest.mark.requirement("CML-SCOPE-GROUP", "CML-PARAM-ID")
def test_cross_member_views_agree(
    fuzzer: Fuzzer,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    """Every member's scope=user view lies within the group's scope=group view, and every
    member's id yields the same scope=group view."""
    cross = target.cross_member
    members = [str(m) for m in cross.get("member_ids") or () if str(m).isdigit()]
    if cross.get("member_id") and str(cross["member_id"]) not in members:
        members.insert(0, str(cross["member_id"]))
    if not members:
        skip_missing("cross_member.member_id", "cross_member.member_ids", detail="either")
    # One explicit window for every view, so that none depends on when it was asked for.
    end = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    window = {"startDate": "2000-01-01T00:00:00Z", "endDate": end}

    groups: dict[str, list[Step]] = {}
    for member in members:
        group_pages = walk(fuzzer, member, "group", window)
        user_pages = walk(fuzzer, member, "user", window)
        for step in group_pages + user_pages:
            findings.add(step.findings)
        if any(step.status != 200 for step in group_pages + user_pages):
            failed = next(s for s in group_pages + user_pages if s.status != 200)
            findings.add(refused("CML-PARAM-ID", f"the view of member {member}", failed))
            continue
        groups[member] = group_pages
        findings.add(
            check_scope_group(
                check_context,
                group_pages=[s.exchange for s in group_pages],
                user_pages=[s.exchange for s in user_pages],
            )
        )
    views = {
        member: sorted(str(e.get("eventLogId")) for s in pages for e in cml_entries(s.exchange))
        for member, pages in groups.items()
    }
    if len({tuple(v) for v in views.values()}) > 1:
        first = next(iter(groups))
        findings.add(
            Finding(
                "CML-PARAM-ID",
                "members of one group see different scope=group views",
                expected="the same events from every member's id",
                actual="; ".join(f"member {m}: {len(v)} events" for m, v in views.items()),
                exchange=groups[first][0].exchange,
            )
        )
