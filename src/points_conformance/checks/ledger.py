"""Rules for one page of the points ledger (getCustomerLedgerInfo, v2 and v2.1 connected orgs).

001 and 000 describe the same response, so every rule here is written once for both forms and
files its findings under the prefix `RULE_PREFIX` gives the operation it sees. This module holds
what a ledger page is (its entries and rows), its paging and its arithmetic; the rules that
compare a page with what the query asked for (filters, order) are in ledger_query.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from points_conformance.checks.context import CheckContext
from points_conformance.checks.discrepancies import (
    D_DISPLAY_ROUNDING,
    D_LEDGER_PAGE_SIZE,
    D_PAST_END,
    D_SHORT_PAGES,
)
from points_conformance.checks.findings import capped, finding
from points_conformance.checks.paging import (
    Page,
    expected_page_count,
    identity_size,
    page_count_findings,
    page_share,
    read_page,
    requested_index,
    requested_size,
)
from points_conformance.checks.readers import (
    as_dict,
    dicts,
    has_param,
    int_param,
    success_object,
    to_decimal,
)
from points_conformance.checks.registry import check, credit
from points_conformance.checks.rounding import sum_agrees, sum_tolerance
from points_conformance.model import Exchange, Finding
from points_conformance.operations import LEDGER_OPERATIONS

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
ENTRY_TYPES = frozenset({"CREDIT", "DEBIT", "OPENING_BALANCE"})
ADDING_TYPES = frozenset({"CREDIT", "OPENING_BALANCE"})
CATEGORY_OF = {
    "REGULAR": "Main",
    "PROMISED": "DelayedAccrualPointCategory",
    "TRIGGER_BASED": "ExternalTriggerBasedPointCategory",
}
# Parameters that remove rows from an event, after which its net may count rows not shown.
ROW_FILTERS = ("ledgerEntryType", "pointCategoryType", "programId", "excludePointCategories")


# The requirement-ID prefix each ledger operation's findings are filed under. The catalogue
# files the rules v2.1 shares with v2 under LEDGER IDs that name both operations; CORG IDs are
# for what only the connected-orgs form has (data scope). One entry here moves them.
RULE_PREFIX: dict[str, str] = {
    "getCustomerLedgerInfo": "LEDGER",
    "getCustomerLedgerInfoConnectedOrgs": "LEDGER",
}
PREFIXES = tuple(dict.fromkeys(RULE_PREFIX.values()))


def rule_ids(*slugs: str) -> tuple[str, ...]:
    """The requirement IDs of rule `slugs` under every prefix the ledger operations use."""
    return tuple(f"{prefix}-{slug}" for prefix in PREFIXES for slug in slugs)


def prefix_of(ex: Exchange) -> str:
    return RULE_PREFIX[ex.operation]


def is_currency_row(row: dict[str, Any]) -> bool:
    return row.get("alternateCurrencyName") not in (None, "")


def entry_label(entry: dict[str, Any], index: int) -> str:
    log_id = entry.get("eventLogId")
    if isinstance(log_id, int | str) and not isinstance(log_id, bool):
        return f"eventLogId {log_id}"
    return f"ledgerEntries[{index}]"


def ledger_page(ex: Exchange) -> Page | None:
    data = success_object(ex)
    if data is None:
        return None
    return read_page(data, "ledgerDetails", "ledgerEntries")


def entries(ex: Exchange) -> list[dict[str, Any]]:
    data = success_object(ex)
    return dicts(data.get("ledgerEntries")) if data is not None else []


def offset_reading_open(ctx: CheckContext, ex: Exchange) -> bool:
    """Whether a user-group request's offset may be a starting index rather than a page.

    001 calls the user-group offset "the starting index for data retrieval" and the customer
    offset a page number; the default run accepts either for groups, so a group page asked
    for with a non-zero offset is not held to a page number.
    """
    if ctx.strict or not has_param(ex, "type"):
        return False
    return requested_index(ex, "offset", 0) not in (None, 0)


# --------------------------------------------------------------------------------------------
# paging


@check(
    "ledger.paging",
    requirements=rule_ids(
        "PAGE-COUNT", "PAGE-INDEX", "PAGE-SIZE", "DEFAULT-OFFSET", "DEFAULT-LIMIT", "ERR-11003"
    ),
    operations=LEDGER_OPERATIONS,
)
def paging(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    page = ledger_page(ex)
    if page is None:
        return []
    prefix = prefix_of(ex)
    found: list[Finding] = []
    limit = requested_size(ex, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    count = len(page.items) if page.items is not None else None
    offset = requested_index(ex, "offset", 0)
    if offset_reading_open(ctx, ex):
        offset = None

    sent_offset, sent_limit = has_param(ex, "offset"), has_param(ex, "limit")
    if page.page_number is not None and offset is not None and page.page_number != offset:
        found.append(
            finding(
                f"{prefix}-PAGE-INDEX" if sent_offset else f"{prefix}-DEFAULT-OFFSET",
                "ledgerDetails.pageNumber does not echo the requested offset"
                if sent_offset
                else "without offset the first page (pageNumber 0) is not returned",
                expected=f"pageNumber {offset} (the 0-based page asked for with offset, default 0)",
                actual=f"pageNumber {page.page_number}",
                exchange=ex,
            )
        )

    if limit is not None and page.page_size is not None and page.page_size != limit:
        lenient_reading = page.page_size == count
        if ctx.strict or not lenient_reading:
            found.append(
                finding(
                    f"{prefix}-PAGE-SIZE" if sent_limit else f"{prefix}-DEFAULT-LIMIT",
                    "ledgerDetails.pageSize is not the requested limit"
                    if sent_limit
                    else f"without limit the page size is not the default {DEFAULT_LIMIT}",
                    expected=f"pageSize {limit} (the limit, default {DEFAULT_LIMIT})",
                    actual=f"pageSize {page.page_size} with {count} entries on the page",
                    exchange=ex,
                    discrepancy=D_LEDGER_PAGE_SIZE if lenient_reading else None,
                )
            )

    size = identity_size(page.page_size, limit, count)
    found += page_count_findings(ex, f"{prefix}-PAGE-COUNT", page, size)

    if ctx.strict and count == 0 and page.total is not None and page.page_number is not None:
        if page.total == 0 or (size and page.page_number >= expected_page_count(page.total, size)):
            found.append(
                finding(
                    f"{prefix}-ERR-11003",
                    "an empty page was answered with 200 instead of error 11003",
                    expected="error 11003 (no ledger entries for the given parameters, or an "
                    "offset past the last page)",
                    actual=f"HTTP {ex.response.status} with no entries (pageNumber "
                    f"{page.page_number}, totalEntries {page.total})",
                    exchange=ex,
                    discrepancy=D_PAST_END,
                )
            )

    if size is not None and size > 0 and count is not None:
        found.extend(_fullness(prefix, ex, page if offset is not None else None, size, count))
    return found


def _fullness(prefix: str, ex: Exchange, page: Page | None, size: int, count: int) -> list[Finding]:
    """At most `size` entries; with a known page number, exactly its share of the total."""
    if count > size:
        return [
            finding(
                f"{prefix}-PAGE-SIZE",
                "the page holds more entries than the page size",
                expected=f"at most {size} entries",
                actual=f"{count} entries",
                exchange=ex,
            )
        ]
    if page is None or page.total is None or page.page_number is None:
        return []
    expected = page_share(page.total, size, page.page_number)
    if count == expected:
        return []
    return [
        finding(
            f"{prefix}-PAGE-SIZE",
            "the number of entries on the page does not follow from totalEntries and pageSize",
            expected=f"{expected} entries on page {page.page_number} of "
            f"{expected_page_count(page.total, size)} ({page.total} entries, {size} a page)",
            actual=f"{count} entries",
            exchange=ex,
            discrepancy=D_SHORT_PAGES if count < expected else None,
        )
    ]


@check(
    "ledger.limit_max",
    requirements=rule_ids("LIMIT-MAX"),
    operations=LEDGER_OPERATIONS,
)
def limit_max(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    page = ledger_page(ex)
    if page is None:
        return []
    prefix = prefix_of(ex)
    found: list[Finding] = []
    limit = int_param(ex, "limit")
    if limit is not None and limit > MAX_LIMIT:
        found.append(
            finding(
                f"{prefix}-LIMIT-MAX",
                f"limit={limit} was accepted although the maximum is {MAX_LIMIT}",
                expected=f"error 11029 (limit cannot be greater than {MAX_LIMIT})",
                actual=f"HTTP {ex.response.status} with {len(page.items or [])} entries",
                exchange=ex,
            )
        )
    if page.items is not None and len(page.items) > MAX_LIMIT:
        found.append(
            finding(
                f"{prefix}-LIMIT-MAX",
                f"a page holds more than {MAX_LIMIT} entries",
                expected=f"at most {MAX_LIMIT} entries a page",
                actual=f"{len(page.items)} entries",
                exchange=ex,
            )
        )
    return found


# --------------------------------------------------------------------------------------------
# arithmetic


def signed_points(row: dict[str, Any]) -> Decimal | None:
    """A row's contribution to its event: credits and opening balances add, debits subtract."""
    kind = row.get("ledgerEntryType")
    points = to_decimal(row.get("points"))
    if points is None or kind not in ENTRY_TYPES:
        return None
    return points if kind in ADDING_TYPES else -points


def _mismatch_text(label: str, parts: list[Decimal], shown: Decimal, strict: bool) -> str:
    total = sum(parts, Decimal(0))
    text = f"{label}: rows give {total}, shown {shown}"
    if not strict:
        text += f" (allowed difference {sum_tolerance(shown, parts)})"
    return text


def _arith_applies(ctx: CheckContext, ex: Exchange) -> bool:
    """The identity holds on unfiltered responses; strict also holds filtered ones to it."""
    return ctx.strict or not any(has_param(ex, name) for name in ROW_FILTERS)


@check(
    "ledger.arithmetic",
    requirements=rule_ids("ARITH-NET", "ARITH-NET-ALT"),
    operations=LEDGER_OPERATIONS,
)
def arithmetic(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    if not _arith_applies(ctx, ex):
        return []
    prefix = prefix_of(ex)
    net_bad: list[str] = []
    alt_bad: list[str] = []
    rounding_only = True
    for index, entry in enumerate(entries(ex)):
        rows = dicts(entry.get("entryDetails"))
        label = entry_label(entry, index)
        groups: dict[str, list[Decimal]] = {}
        readable = True
        for row in rows:
            value = signed_points(row)
            if value is None:
                readable = False
                break
            name = row.get("alternateCurrencyName")
            key = "" if not is_currency_row(row) else str(name)
            groups.setdefault(key, []).append(value)
        if not readable:
            continue
        net = to_decimal(entry.get("netPointsOnEvent"))
        if net is not None:
            credit(f"{prefix}-ARITH-NET")
            parts = groups.get("", [])
            if not sum_agrees(net, parts, strict=ctx.strict):
                net_bad.append(_mismatch_text(label, parts, net, ctx.strict))
                rounding_only &= sum_agrees(net, parts, strict=False)
        nets = as_dict(entry.get("netAlternateCurrenciesOnEvent"))
        if nets is None:
            continue
        for name, parts in groups.items():
            if name == "":
                continue
            credit(f"{prefix}-ARITH-NET-ALT")
            if name not in nets:
                alt_bad.append(f"{label}: currency {name!r} has rows but no net")
                rounding_only = False
                continue
            shown = to_decimal(nets[name])
            if shown is None:
                continue
            if not sum_agrees(shown, parts, strict=ctx.strict):
                alt_bad.append(_mismatch_text(f"{label} {name!r}", parts, shown, ctx.strict))
                rounding_only &= sum_agrees(shown, parts, strict=False)
    tolerance = "exactly" if ctx.strict else "up to display rounding of each shown number"
    discrepancy = D_DISPLAY_ROUNDING if ctx.strict and rounding_only else None
    found: list[Finding] = []
    if net_bad:
        found.append(
            finding(
                f"{prefix}-ARITH-NET",
                f"netPointsOnEvent disagrees with its rows on {len(net_bad)} entr"
                + ("y" if len(net_bad) == 1 else "ies"),
                expected="netPointsOnEvent = credits + opening balances − debits over rows "
                f"without alternateCurrencyName, {tolerance}",
                actual=capped(net_bad),
                exchange=ex,
                discrepancy=discrepancy,
            )
        )
    if alt_bad:
        found.append(
            finding(
                f"{prefix}-ARITH-NET-ALT",
                f"netAlternateCurrenciesOnEvent disagrees with the currency rows on {len(alt_bad)} "
                "entr" + ("y" if len(alt_bad) == 1 else "ies"),
                expected="netAlternateCurrenciesOnEvent[name] = credits + opening balances − "
                f"debits over that currency's rows, for every currency shown, {tolerance}",
                actual=capped(alt_bad),
                exchange=ex,
                discrepancy=discrepancy,
            )
        )
    return found
