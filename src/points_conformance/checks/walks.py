"""Rules that only a walk over every page of a paginated list can check.

A walk is the pages of one query asked for one after another, first page first, with a fixed
page size. Together they must hold every entry once: as many as totalEntries (at most that for
crossMemberLedger filtered by eventName), no entry twice, the same totals on every page,
every page but the last full, and the requested order continuing across page boundaries.
Each page is also checked on its own by `run_checks`; the walk reports only what no single
page shows. The balance's walk is checked in the strict stance only (D-079).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from points_conformance.checks import balance, cross_member, cross_member_query, ledger
from points_conformance.checks.context import CheckContext
from points_conformance.checks.discrepancies import D_BALANCE_PAGING, D_TOTAL_WITH_FILTERS
from points_conformance.checks.findings import capped, finding
from points_conformance.checks.ledger_query import created_dates, sort_requirement
from points_conformance.checks.ordering import order_finding
from points_conformance.checks.paging import Page, page_share, requested_size
from points_conformance.checks.readers import has_param
from points_conformance.checks.registry import declare
from points_conformance.model import Exchange, Finding

declare(
    "walk_pages",
    (
        *(f"{p}-PAGE-WALK" for p in (*ledger.PREFIXES, "CML", "BAL")),
        *(f"{p}-PAGE-INDEX" for p in (*ledger.PREFIXES, "CML", "BAL")),
        "CML-EVENTLOG-SHARED",
    ),
)


@dataclass(frozen=True)
class _Walk:
    """How one operation pages, and which walk rules apply to it."""

    read: Callable[[Exchange], Page | None]
    first_index: int
    size_param: str
    max_size: int
    # The ledger is held to full pages one page at a time (LEDGER-PAGE-SIZE).
    fullness: bool
    key: Callable[[dict[str, Any]], str]
    order: Callable[[CheckContext, Exchange], tuple[str, bool] | None] | None
    moment: Callable[[dict[str, Any]], datetime | None] | None
    date_field: str = ""


def content_key(item: dict[str, Any]) -> str:
    """An entry's identity: all of its content, eventLogId included (002 shares eventLogIds)."""
    return json.dumps(item, sort_keys=True, default=str)


def balance_key(item: dict[str, Any]) -> str:
    """A closing balance is one (programId, pointsCategory)."""
    return json.dumps([item.get("programId"), item.get("pointsCategory")], default=str)


def _ledger_moment(item: dict[str, Any]) -> datetime | None:
    return created_dates([item])[0]


def _cml_moment(item: dict[str, Any]) -> datetime | None:
    return cross_member_query.iso_moment(item.get("createdDateISO"))


_LEDGER_WALK = _Walk(
    ledger.ledger_page,
    0,
    "limit",
    ledger.MAX_LIMIT,
    False,
    content_key,
    sort_requirement,
    _ledger_moment,
    "ledgerCreatedDate",
)
WALKS: dict[str, _Walk] = {
    "getCustomerLedgerInfo": _LEDGER_WALK,
    "getCustomerLedgerInfoConnectedOrgs": _LEDGER_WALK,
    "getCustomerLedgerBalance": _Walk(
        balance.balance_page, 0, "limit", balance.MAX_LIMIT, True, balance_key, None, None
    ),
    "getCrossMemberLedger": _Walk(
        cross_member.cml_page,
        cross_member.FIRST_PAGE,
        "pageSize",
        cross_member.MAX_PAGE_SIZE,
        True,
        content_key,
        lambda ctx, ex: cross_member_query.sort_rule(ex),
        _cml_moment,
        "createdDateISO",
    ),
}

_Pages = list[tuple[Exchange, Page]]


def _prefix(operation: str) -> str:
    return (
        ledger.RULE_PREFIX.get(operation)
        or {
            "getCrossMemberLedger": "CML",
            "getCustomerLedgerBalance": "BAL",
        }[operation]
    )


def _label(item: dict[str, Any]) -> str:
    log_id = item.get("eventLogId")
    if log_id is not None:
        return f"eventLogId {log_id}"
    return json.dumps(item, sort_keys=True, default=str)[:80]


def walk_pages(
    ctx: CheckContext, exchanges: Sequence[Exchange], *, operation: str
) -> list[Finding]:
    """Findings about a whole walk; `exchanges` are its pages in the order they were asked for.

    Pages that are not readable 2xx bodies of `operation` are left out.
    """
    walk = WALKS.get(operation)
    if walk is None:
        return []
    prefix = _prefix(operation)
    if prefix == "BAL" and not ctx.strict:
        # D-079: 003 never says what a balance's totals count, nor that its rows are paged.
        return []
    pages: _Pages = []
    for ex in exchanges:
        page = walk.read(ex) if ex.operation == operation else None
        if page is not None:
            pages.append((ex, page))
    if not pages:
        return []
    requirement = f"{prefix}-PAGE-WALK"
    found: list[Finding] = []
    if not any(ledger.offset_reading_open(ctx, ex) for ex, _ in pages):
        found += _numbering(prefix, walk, pages)
    found += _stable(requirement, pages)
    found += _unique_and_union(ctx, requirement, prefix, walk, pages)
    if walk.fullness:
        found += _full_pages(requirement, prefix, walk, pages)
    found += _order_across(ctx, requirement, walk, pages)
    if operation == cross_member.CML_OPERATION:
        items = [
            (n, f"page {p.page_number} entries[{i}]", item)
            for n, (_, p) in enumerate(pages)
            for i, item in enumerate(p.items or [])
        ]
        found += cross_member_query.eventlog_finding(
            pages[0][0], cross_member_query.eventlog_conflicts(items, across_pages=True)
        )
    return found


def _numbering(prefix: str, walk: _Walk, pages: _Pages) -> list[Finding]:
    numbers = [p.page_number for _, p in pages]
    expected = list(range(walk.first_index, walk.first_index + len(pages)))
    if all(n is None or n == e for n, e in zip(numbers, expected, strict=True)):
        return []
    return [
        finding(
            f"{prefix}-PAGE-INDEX",
            f"the pages of a walk are not numbered from {walk.first_index} in turn",
            expected=f"pageNumber {', '.join(str(e) for e in expected)}",
            actual=f"pageNumber {', '.join(str(n) for n in numbers)}",
            exchange=pages[0][0],
        )
    ]


def _stable(requirement: str, pages: _Pages) -> list[Finding]:
    first_ex, first = pages[0]
    changed = [
        f"page {p.page_number}: totalEntries {p.total}, pageCount {p.page_count}"
        for _, p in pages[1:]
        if (p.total, p.page_count) != (first.total, first.page_count)
    ]
    if not changed:
        return []
    return [
        finding(
            requirement,
            "totalEntries or pageCount changes from page to page of one query",
            expected=f"totalEntries {first.total} and pageCount {first.page_count} on every page "
            f"(as on page {first.page_number})",
            actual=capped(changed),
            exchange=first_ex,
        )
    ]


def _unique_and_union(
    ctx: CheckContext, requirement: str, prefix: str, walk: _Walk, pages: _Pages
) -> list[Finding]:
    found: list[Finding] = []
    seen: dict[str, int | None] = {}
    repeated: list[str] = []
    for _, page in pages:
        for item in page.items or []:
            key = walk.key(item)
            if key in seen:
                repeated.append(
                    f"{_label(item)} on page {seen[key]} and again on page {page.page_number}"
                )
            else:
                seen[key] = page.page_number
    if repeated:
        found.append(
            finding(
                requirement,
                f"{len(repeated)} entr{'y appears' if len(repeated) == 1 else 'ies appear'} "
                "on more than one page",
                expected="every entry on exactly one page of the walk",
                actual=capped(repeated),
                exchange=pages[-1][0],
            )
        )
    first_ex, first = pages[0]
    if first.total is None or first.page_count is None or len(pages) < first.page_count:
        return found
    upper_bound = _total_is_upper_bound(ctx, prefix, first_ex)
    distinct = len(seen)
    if distinct == first.total or (upper_bound and distinct <= first.total):
        return found
    if prefix in ledger.PREFIXES and not ctx.strict and first.total == _rows_over(walk, pages):
        return found  # D-070: totalEntries may count entryDetails rows rather than events
    found.append(
        finding(
            requirement,
            f"the {len(pages)} pages hold {distinct} distinct entries, not the "
            f"{first.total} totalEntries announces",
            expected=f"{'at most ' if upper_bound else ''}{first.total} distinct entries over all "
            "pages",
            actual=f"{distinct} distinct entries over {len(pages)} pages",
            exchange=first_ex,
            discrepancy=D_BALANCE_PAGING
            if prefix == "BAL"
            else D_TOTAL_WITH_FILTERS
            if prefix in ledger.PREFIXES and ledger.narrowed(first_ex)
            else None,
        )
    )
    return found


def _total_is_upper_bound(ctx: CheckContext, prefix: str, first: Exchange) -> bool:
    """002 lets eventName leave totalEntries alone; for the ledger no page says whether a row
    filter narrows it (D-070), so only strict holds a filtered ledger's total exact."""
    if prefix == "CML":
        return has_param(first, "eventName")
    return prefix in ledger.PREFIXES and not ctx.strict and ledger.narrowed(first)


def _rows_over(walk: _Walk, pages: _Pages) -> int:
    """entryDetails rows over the distinct entries of a walk."""
    distinct = {walk.key(item): item for _, page in pages for item in page.items or []}
    return sum(
        len(item["entryDetails"])
        for item in distinct.values()
        if isinstance(item.get("entryDetails"), list)
    )


def _full_pages(requirement: str, prefix: str, walk: _Walk, pages: _Pages) -> list[Finding]:
    first_ex, first = pages[0]
    if prefix == "CML" and has_param(first_ex, "eventName"):
        return []  # totalEntries is only an upper bound there
    size = requested_size(first_ex, walk.size_param, None, walk.max_size)
    size = size or first.page_size
    if size is None or size <= 0 or first.total is None:
        return []
    wrong = []
    for position, (_, page) in enumerate(pages):
        count = len(page.items or [])
        expected = page_share(first.total, size, position)
        if count != expected:
            wrong.append(f"page {page.page_number}: {count} entries, expected {expected}")
    if not wrong:
        return []
    return [
        finding(
            requirement,
            "pages of the walk are not full up to the last, which holds the remainder",
            expected=f"{size} entries on every page but the last, {first.total} in all",
            actual=capped(wrong),
            exchange=first_ex,
            discrepancy=D_BALANCE_PAGING if prefix == "BAL" else None,
        )
    ]


def _order_across(ctx: CheckContext, requirement: str, walk: _Walk, pages: _Pages) -> list[Finding]:
    if walk.order is None or walk.moment is None:
        return []
    rule = walk.order(ctx, pages[0][0])
    if rule is None:
        return []
    found: list[Finding] = []
    for (_, before), (ex, after) in itertools.pairwise(pages):
        if not before.items or not after.items:
            continue
        edge = [before.items[-1], after.items[0]]
        labels = [
            f"last of page {before.page_number} ({_label(edge[0])})",
            f"first of page {after.page_number} ({_label(edge[1])})",
        ]
        found += order_finding(
            ex,
            requirement,
            rule[1],
            labels,
            [walk.moment(edge[0]), walk.moment(edge[1])],
            walk.date_field,
            " across a page boundary",
        )
    return found
