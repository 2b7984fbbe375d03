"""Rules for one page of the group points ledger (GET /v2/customers/{id}/crossMemberLedger, 002).

This module reads the body (with or without 002's `entity` wrapper) and checks its paging and
its sums; what redemption and reversal entries must say is in cross_member_events.py, and which
entries the query selects, in what order, in cross_member_query.py.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from points_conformance.checks.context import CheckContext
from points_conformance.checks.discrepancies import (
    D_CML_DEFAULT_SIZE,
    D_CML_MEMBERS,
    D_CML_PAGE_SIZE,
    D_CML_USER_SCOPE,
    D_CML_WRAPPED,
    D_DISPLAY_ROUNDING,
)
from points_conformance.checks.findings import finding, problems_finding
from points_conformance.checks.paging import (
    Page,
    identity_size,
    page_count_findings,
    read_page,
    requested_size,
)
from points_conformance.checks.readers import (
    as_dict,
    as_int,
    dicts,
    has_param,
    int_param,
    param,
    success_object,
    to_decimal,
)
from points_conformance.checks.registry import check, credit
from points_conformance.checks.rounding import sum_agrees
from points_conformance.model import Exchange, Finding

CML_OPERATION = "getCrossMemberLedger"
OPS = (CML_OPERATION,)
MAX_PAGE_SIZE = 100
STRICT_DEFAULT_PAGE_SIZE = 20  # the sample request's size; 002 states no default
FIRST_PAGE = 1
REDEMPTION = "CROSS_MEMBER_REDEMPTION"
REVERSAL = "CROSS_MEMBER_REDEMPTION_REVERSAL"
EVENT_NAMES = frozenset({REDEMPTION, REVERSAL})
_CALLER = re.compile(r"/customers/([^/]+)/crossMemberLedger")


def cml_body(ex: Exchange) -> dict[str, Any] | None:
    """The response object, unwrapped from `entity` (002's quick-reference tree shows one)."""
    data = success_object(ex)
    if data is None:
        return None
    inner = as_dict(data.get("entity"))
    if inner is not None and not any(k in data for k in ("groupDetails", "pageDetails", "entries")):
        return inner
    return data


@check(
    "cml.unwrapped",
    requirements=("CML-SCHEMA-UNWRAPPED",),
    operations=OPS,
)
def unwrapped(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    """Strict (D-013): the examples' top-level body, not the quick-reference tree's `entity`."""
    data = success_object(ex)
    if not ctx.strict or data is None:
        return []
    credit("CML-SCHEMA-UNWRAPPED")
    if cml_body(ex) is data:
        return []
    return [
        finding(
            "CML-SCHEMA-UNWRAPPED",
            "the body is wrapped in an entity object",
            expected="groupDetails, pageDetails, entries and warnings at the top level",
            actual=f"top-level keys: {', '.join(sorted(map(str, data)))}",
            exchange=ex,
            discrepancy=D_CML_WRAPPED,
        )
    ]


def cml_page(ex: Exchange) -> Page | None:
    data = cml_body(ex)
    return read_page(data, "pageDetails", "entries") if data is not None else None


def cml_entries(ex: Exchange) -> list[dict[str, Any]]:
    data = cml_body(ex)
    return dicts(data.get("entries")) if data is not None else []


def caller_id(ex: Exchange) -> str | None:
    match = _CALLER.search(ex.request.path)
    return unquote(match.group(1)) if match else None


def scope(ex: Exchange) -> str | None:
    """`user` or `group` as sent (default `user`); None for any other value."""
    value = param(ex, "scope")
    if value is None:
        return "user"
    return value if value in ("user", "group") else None


def entry_label(entry: dict[str, Any], index: int) -> str:
    log_id = entry.get("eventLogId")
    if isinstance(log_id, int | str) and not isinstance(log_id, bool):
        return f"eventLogId {log_id}"
    return f"entries[{index}]"


def present(item: dict[str, Any], key: str) -> bool:
    """Whether a field carries a value."""
    return item.get(key) is not None


def shown_where_absent(item: dict[str, Any], key: str, strict: bool) -> bool:
    """Whether a field 002 says is only present elsewhere shows here.

    Lenient counts a null as absent; strict wants the key gone.
    """
    return key in item if strict else item.get(key) is not None


def null_only(problems: list[tuple[str, Any]]) -> bool:
    return bool(problems) and all(value is None for _, value in problems)


# --------------------------------------------------------------------------------------------
# paging


@check(
    "cml.paging",
    requirements=(
        "CML-PAGE-COUNT",
        "CML-PAGE-INDEX",
        "CML-PAGE-SIZE",
        "CML-LIMIT-MAX",
        "CML-DEFAULT-PAGE",
        "CML-DEFAULT-PAGE-SIZE",
    ),
    operations=OPS,
)
def paging(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    page = cml_page(ex)
    if page is None:
        return []
    found: list[Finding] = []
    count = page.item_count
    requested = requested_size(ex, "pageSize", None, MAX_PAGE_SIZE)
    sent_number, sent_size = has_param(ex, "pageNumber"), has_param(ex, "pageSize")
    index = int_param(ex, "pageNumber") if sent_number else FIRST_PAGE
    if index is not None and index >= FIRST_PAGE and page.page_number not in (None, index):
        found.append(
            finding(
                "CML-PAGE-INDEX" if sent_number else "CML-DEFAULT-PAGE",
                "pageDetails.pageNumber does not echo the requested page"
                if sent_number
                else "without pageNumber the first page (1) is not returned",
                expected=f"pageNumber {index} (1-based, default 1)",
                actual=f"pageNumber {page.page_number}",
                exchange=ex,
            )
        )
    found += _size_findings(ctx, ex, page, count, requested)
    if not sent_size:
        found += _default_size(ctx, ex, page, count)

    size = identity_size(page, requested, strict=ctx.strict)
    # pageSize 0 is out of range here (1003), not a size the identity can use.
    found += page_count_findings(ex, "CML-PAGE-COUNT", page, size if size else None)
    return found


def _size_findings(
    ctx: CheckContext, ex: Exchange, page: Page, count: int | None, requested: int | None
) -> list[Finding]:
    """pageSize within 1–100, no more entries than asked for, and the size echoed in pageDetails."""
    found: list[Finding] = []
    asked = int_param(ex, "pageSize")
    if asked is not None and not 1 <= asked <= MAX_PAGE_SIZE:
        found.append(
            finding(
                "CML-LIMIT-MAX",
                f"pageSize={asked} was accepted although it must be 1 to {MAX_PAGE_SIZE}",
                expected="error 1003 (pageSize outside 1–100)",
                actual=f"HTTP {ex.response.status} with {count} entries",
                exchange=ex,
            )
        )
    if count is not None and count > MAX_PAGE_SIZE:
        found.append(
            finding(
                "CML-LIMIT-MAX",
                f"a page holds more than {MAX_PAGE_SIZE} entries",
                expected=f"at most {MAX_PAGE_SIZE} entries (pageSize is 1–100)",
                actual=f"{count} entries",
                exchange=ex,
            )
        )
    elif requested is not None and count is not None and count > requested:
        found.append(
            finding(
                "CML-PAGE-SIZE",
                "the page holds more entries than the requested pageSize",
                expected=f"at most {requested} entries",
                actual=f"{count} entries",
                exchange=ex,
            )
        )
    if requested is not None and page.page_size not in (None, requested):
        counted = page.page_size == count
        if ctx.strict or not counted:
            found.append(
                finding(
                    "CML-PAGE-SIZE",
                    "pageDetails.pageSize is not the requested pageSize"
                    + ("" if ctx.strict else " nor the number of entries on the page"),
                    expected=f"pageSize {requested}"
                    + ("" if ctx.strict else f" (or {count}, the entries on the page)"),
                    actual=f"pageSize {page.page_size} with {count} entries",
                    exchange=ex,
                    discrepancy=D_CML_PAGE_SIZE if counted else None,
                )
            )
    return found


def _default_size(ctx: CheckContext, ex: Exchange, page: Page, count: int | None) -> list[Finding]:
    """002 names no default pageSize: strict takes the sample request's 20."""
    if count is None:
        return []
    if ctx.strict and (page.page_size != STRICT_DEFAULT_PAGE_SIZE or count > page.page_size):
        return [
            finding(
                "CML-DEFAULT-PAGE-SIZE",
                f"without pageSize the page size is not {STRICT_DEFAULT_PAGE_SIZE}",
                expected=f"pageDetails.pageSize {STRICT_DEFAULT_PAGE_SIZE} and at most "
                f"{STRICT_DEFAULT_PAGE_SIZE} entries",
                actual=f"pageSize {page.page_size} with {count} entries",
                exchange=ex,
                discrepancy=D_CML_DEFAULT_SIZE,
            )
        ]
    if not ctx.strict and page.page_size is not None and count > page.page_size:
        return [
            finding(
                "CML-DEFAULT-PAGE-SIZE",
                "without pageSize the page holds more entries than the pageSize it reports",
                expected=f"at most {page.page_size} entries (the reported default)",
                actual=f"{count} entries",
                exchange=ex,
            )
        ]
    return []


# --------------------------------------------------------------------------------------------
# arithmetic


@check(
    "cml.arithmetic",
    requirements=("CML-ARITH-NET", "CML-ARITH-GROUP-BALANCE", "CML-ARITH-MEMBER-COUNT"),
    operations=OPS,
)
def arithmetic(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    data = cml_body(ex)
    if data is None:
        return []
    found = _net_findings(ctx, ex, data)
    group = as_dict(data.get("groupDetails"))
    if group is not None and isinstance(group.get("members"), list):
        found += _group_findings(ctx, ex, group)
    return found


def _tolerance(ctx: CheckContext) -> str:
    return "exactly" if ctx.strict else "up to display rounding of each shown number"


def _net_findings(ctx: CheckContext, ex: Exchange, data: dict[str, Any]) -> list[Finding]:
    """netPointsOnEvent is the sum of the rows. With scope=user 002 does not say whether the
    rows are every member's or the caller's, nor whose net is shown (D-092): strict only."""
    if scope(ex) != "group" and not ctx.strict:
        return []
    bad: list[str] = []
    rounding_only = True
    for index, entry in enumerate(dicts(data.get("entries"))):
        net = to_decimal(entry.get("netPointsOnEvent"))
        points = [to_decimal(row.get("points")) for row in dicts(entry.get("entryDetails"))]
        if net is None or any(p is None for p in points):
            continue
        parts = [p for p in points if p is not None]
        credit("CML-ARITH-NET")
        if not sum_agrees(net, parts, strict=ctx.strict):
            bad.append(
                f"{entry_label(entry, index)}: rows sum to {sum(parts, Decimal(0))}, "
                f"netPointsOnEvent {net}"
            )
            rounding_only &= sum_agrees(net, parts, strict=False)
    return problems_finding(
        ex,
        "CML-ARITH-NET",
        "netPointsOnEvent is not the sum of the entry's entryDetails points",
        f"netPointsOnEvent = sum of entryDetails[].points as signed, {_tolerance(ctx)}",
        bad,
        discrepancy=D_DISPLAY_ROUNDING
        if ctx.strict and rounding_only
        else (D_CML_USER_SCOPE if scope(ex) != "group" else None),
    )


def _group_findings(ctx: CheckContext, ex: Exchange, group: dict[str, Any]) -> list[Finding]:
    """002: groupBalance sums the *active* members and memberCount counts them; `members` is
    "Per-member balance list", which may also list inactive ones (D-093). The default run asks
    for no more active members than listed, and the sum only when the list is the active set."""
    found: list[Finding] = []
    members = dicts(group.get("members"))
    member_count = as_int(group.get("memberCount"))
    if member_count is not None:
        credit("CML-ARITH-MEMBER-COUNT")
        if member_count != len(members) and (ctx.strict or member_count > len(members)):
            found.append(
                finding(
                    "CML-ARITH-MEMBER-COUNT",
                    "memberCount is not the number of members listed"
                    if ctx.strict
                    else "memberCount counts more active members than are listed",
                    expected=f"memberCount {len(members)} (the length of members)"
                    if ctx.strict
                    else f"memberCount at most {len(members)} (the members listed)",
                    actual=f"memberCount {member_count}",
                    exchange=ex,
                    discrepancy=D_CML_MEMBERS if member_count < len(members) else None,
                )
            )
    balance = to_decimal(group.get("groupBalance"))
    shares = [to_decimal(m.get("balance")) for m in members]
    parts = [s for s in shares if s is not None]
    if balance is None or len(parts) != len(shares):
        return found
    if not ctx.strict and member_count != len(members):
        return found
    credit("CML-ARITH-GROUP-BALANCE")
    if not sum_agrees(balance, parts, strict=ctx.strict):
        found.append(
            finding(
                "CML-ARITH-GROUP-BALANCE",
                "groupBalance is not the sum of the members' balances",
                expected=f"groupBalance = sum of members[].balance "
                f"({sum(parts, Decimal(0))}), {_tolerance(ctx)}",
                actual=f"groupBalance {balance}",
                exchange=ex,
                discrepancy=D_DISPLAY_ROUNDING
                if ctx.strict and sum_agrees(balance, parts, strict=False)
                else (D_CML_MEMBERS if member_count != len(members) else None),
            )
        )
    return found
