"""Rules for one page of the points ledger (getCustomerLedgerInfo, v2 and v2.1 connected orgs).

001 and 000 describe the same response, so every rule here is written once for both forms and
files its findings under the prefix `RULE_PREFIX` gives the operation it sees. This module holds
what a ledger page is (its entries and rows), its paging and its arithmetic; the rules that
compare a page with what the query asked for (filters, order) are in ledger_query.py, and the
date window a query asks for in ledger_window.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from points_conformance.checks.context import CheckContext
from points_conformance.checks.discrepancies import (
    D_DEFAULT_LIMIT,
    D_DISPLAY_ROUNDING,
    D_EMPTY_PAGE_COUNT,
    D_LEDGER_LIMIT,
    D_LEDGER_PAGE_SIZE,
    D_NET_ALT_COMPLETE,
    D_NET_PARTS,
    D_PAST_END,
    D_SHORT_PAGES,
    D_TOTAL_WITH_FILTERS,
)
from points_conformance.checks.findings import capped, finding
from points_conformance.checks.paging import (
    Page,
    expected_page_count,
    identity_size,
    ledger_details_page,
    page_count_findings,
    page_share,
    requested_index,
    requested_size,
)
from points_conformance.checks.readers import (
    as_dict,
    dicts,
    has_param,
    int_param,
    param,
    success_object,
    to_decimal,
)
from points_conformance.checks.registry import check, credit
from points_conformance.checks.rounding import sum_agrees, sum_tolerance
from points_conformance.model import Exchange, Finding
from points_conformance.operations import LEDGER_OPERATIONS

V2 = "getCustomerLedgerInfo"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
ENTRY_TYPES = frozenset({"CREDIT", "DEBIT", "OPENING_BALANCE"})
ADDING_TYPES = frozenset({"CREDIT", "OPENING_BALANCE"})
CATEGORY_OF = {
    "REGULAR": "Main",
    "PROMISED": "DelayedAccrualPointCategory",
    "TRIGGER_BASED": "ExternalTriggerBasedPointCategory",
}
# D-066: no page maps the query's categories to the rows' pointsCategory; 000 and 003 call both
# delayed-accrual and trigger-based points "promised", so the default run lets PROMISED show both.
CATEGORIES_OF: dict[str, frozenset[str]] = {
    "REGULAR": frozenset({"Main"}),
    "PROMISED": frozenset({"DelayedAccrualPointCategory", "ExternalTriggerBasedPointCategory"}),
    "TRIGGER_BASED": frozenset({"ExternalTriggerBasedPointCategory"}),
}
# Parameters that remove rows from an event, after which its net may count rows not shown.
ROW_FILTERS = ("ledgerEntryType", "pointCategoryType", "programId", "excludePointCategories")
# Parameters after which totalEntries may or may not count only the events that still match.
NARROWING = (
    *ROW_FILTERS,
    "includeAlternateCurrencies",
    "alternateCurrencyNames",
    "includeTillConceptEvents",
)
# identifierName values only the user-group tables list (v2.1 has no `type` parameter).
GROUP_IDENTIFIERS = frozenset({"groupid", "primaryuserid"})


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


def is_group_form(ex: Exchange) -> bool:
    """Whether a ledger request is of the user-group form (001 and 000 table each apart)."""
    name = param(ex, "identifierName")
    return has_param(ex, "type") or (name is not None and name.casefold() in GROUP_IDENTIFIERS)


def is_v2_customer_form(ex: Exchange) -> bool:
    """The v2 customer form: the one 001's customer table, error table and 003 describe."""
    return ex.operation == V2 and not is_group_form(ex)


def narrowed(ex: Exchange) -> bool:
    return any(has_param(ex, name) for name in NARROWING)


def is_currency_row(row: dict[str, Any]) -> bool:
    return row.get("alternateCurrencyName") not in (None, "")


def entry_label(entry: dict[str, Any], index: int) -> str:
    log_id = entry.get("eventLogId")
    if isinstance(log_id, int | str) and not isinstance(log_id, bool):
        return f"eventLogId {log_id}"
    return f"ledgerEntries[{index}]"


def ledger_page(ex: Exchange) -> Page | None:
    return ledger_details_page(ex, "ledgerEntries")


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
    limit = requested_size(ex, "limit", default_limit(ctx, ex), MAX_LIMIT)
    count = page.item_count
    offset = requested_index(ex, "offset", 0)
    if offset_reading_open(ctx, ex):
        offset = None
    if limit is not None and _capped_at_default(ctx, ex, limit, page.page_size, count):
        limit = DEFAULT_LIMIT

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
                    discrepancy=_page_size_reading(ex, lenient_reading, limit, page.page_size),
                )
            )

    size = identity_size(page, limit, strict=ctx.strict)
    found += page_count_findings(
        ex,
        f"{prefix}-PAGE-COUNT",
        page,
        size,
        empty_pages=(0,) if ctx.strict else (0, 1),
        discrepancy=D_EMPTY_PAGE_COUNT,
    )
    found += _past_end(ctx, ex, prefix, page, size, count)
    if size is not None and size > 0 and count is not None:
        share_known = offset is not None and (ctx.strict or not narrowed(ex))
        found.extend(_fullness(prefix, ex, page if share_known else None, size, count))
    return found


def _page_size_reading(
    ex: Exchange, shows_count: bool, limit: int, page_size: int | None
) -> str | None:
    """The register entry a pageSize other than the limit depends on, if any."""
    if shows_count:
        return D_LEDGER_PAGE_SIZE
    if not has_param(ex, "limit"):
        return None if is_v2_customer_form(ex) else D_DEFAULT_LIMIT
    return D_LEDGER_LIMIT if page_size == DEFAULT_LIMIT and limit > DEFAULT_LIMIT else None


def default_limit(ctx: CheckContext, ex: Exchange) -> int | None:
    """The page size a request without limit gets: 003 states 10 for the v2 customer form only."""
    return DEFAULT_LIMIT if ctx.strict or is_v2_customer_form(ex) else None


def _capped_at_default(
    ctx: CheckContext, ex: Exchange, limit: int, page_size: int | None, count: int | None
) -> bool:
    """D-001, default run: 003's maximum of 10 is a reading of v2, so a limit up to 100 may be
    answered in pages of 10."""
    if ctx.strict or ex.operation != V2 or limit <= DEFAULT_LIMIT:
        return False
    return page_size == DEFAULT_LIMIT and (count is None or count <= DEFAULT_LIMIT)


def _past_end(
    ctx: CheckContext, ex: Exchange, prefix: str, page: Page, size: int | None, count: int | None
) -> list[Finding]:
    """11003 for an empty 200: 001 states it for an offset greater than pageCount (v2 customer
    form); strict also for offset == pageCount and for queries that match nothing (D-030)."""
    if count:
        return _entries_past_end(ctx, ex, prefix, page, count)
    if count != 0 or page.total is None or page.page_number is None:
        return []
    pages = page.page_count
    if pages is None and size:
        pages = expected_page_count(page.total, size)
    offset = requested_index(ex, "offset", 0) if has_param(ex, "offset") else None
    stated = is_v2_customer_form(ex) and offset is not None and pages is not None
    if stated and offset is not None and pages is not None and offset > pages:
        return [
            finding(
                f"{prefix}-ERR-11003",
                "an offset greater than pageCount was answered with 200 instead of error 11003",
                expected="error 11003 (the offset value is greater than the total number of pages)",
                actual=f"HTTP {ex.response.status} with no entries (offset {offset}, pageCount "
                f"{pages})",
                exchange=ex,
            )
        ]
    if not ctx.strict:
        return []
    if page.total == 0 or (size and page.page_number >= expected_page_count(page.total, size)):
        return [
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
        ]
    return []


def _entries_past_end(
    ctx: CheckContext, ex: Exchange, prefix: str, page: Page, count: int
) -> list[Finding]:
    """Entries on a page its own pageCount puts past the last: pages count from 0, so from
    offset pageCount on there is none (D-030: 11003, or a 200 without entries), whatever the
    pageCount's own error. A group's offset may be a starting index (D-004) unless strict."""
    offset = requested_index(ex, "offset", 0) if has_param(ex, "offset") else None
    pages = page.page_count
    if ex.operation != V2 or offset is None or pages is None or offset < max(pages, 1):
        return []
    if not ctx.strict and not is_v2_customer_form(ex):
        return []
    credit(f"{prefix}-ERR-11003")
    beyond = offset > pages
    return [
        finding(
            f"{prefix}-ERR-11003",
            "a page past the last one its pageCount states carries entries",
            expected="error 11003 (the offset value is greater than the total number of pages)"
            if beyond or ctx.strict
            else "error 11003, or a 200 with no entries (offset = pageCount is past the last page)",
            actual=f"HTTP {ex.response.status} with {count} entries (offset {offset}, pageCount "
            f"{pages})",
            exchange=ex,
            discrepancy=None if beyond else D_PAST_END,
        )
    ]


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
            discrepancy=D_TOTAL_WITH_FILTERS
            if narrowed(ex)
            else D_SHORT_PAGES
            if count < expected
            else None,
        )
    ]


# 000 states no maximum for v2.1 and lists no 11029; 001 states 100 for both v2 forms.
@check(
    "ledger.limit_max",
    requirements=rule_ids("LIMIT-MAX"),
    operations=(V2,),
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


def net_readings(rows: list[dict[str, Any]], *, strict: bool) -> list[list[Decimal]] | None:
    """The row values a shown netPointsOnEvent may be the sum of, one list per reading.

    Strict (D-064): credits and opening balances add, debits subtract, over the points rows.
    000 states only "adding credits and subtracting debits", so the default run also takes the
    sum without opening balances, with alternate-currency rows, and debits as -|points|.
    None when a row is unreadable.
    """
    values: list[tuple[str, bool, Decimal]] = []
    for row in rows:
        value = signed_points(row)
        if value is None:
            return None
        kind = str(row.get("ledgerEntryType"))
        if kind == "DEBIT" and not strict:
            value = -abs(value)
        values.append((kind, is_currency_row(row), value))
    readings = [[v for kind, currency, v in values if not currency]]
    if strict:
        return readings
    for with_opening in (True, False):
        for with_currency in (False, True):
            readings.append(
                [
                    v
                    for kind, currency, v in values
                    if (with_opening or kind != "OPENING_BALANCE")
                    and (with_currency or not currency)
                ]
            )
    return readings


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
    rounding_only, alt_missing = True, False
    for index, entry in enumerate(entries(ex)):
        rows = dicts(entry.get("entryDetails"))
        label = entry_label(entry, index)
        readings = net_readings(rows, strict=ctx.strict)
        if readings is None:
            continue
        net = to_decimal(entry.get("netPointsOnEvent"))
        if net is not None:
            credit(f"{prefix}-ARITH-NET")
            if not any(sum_agrees(net, parts, strict=ctx.strict) for parts in readings):
                net_bad.append(_mismatch_text(label, readings[0], net, ctx.strict))
                rounding_only &= sum_agrees(net, readings[0], strict=False)
        problems, exact_only, missing = _currency_nets(ctx, prefix, entry, rows, label)
        alt_bad += problems
        rounding_only &= exact_only
        alt_missing |= missing
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
                f"without alternateCurrencyName, {tolerance}"
                + (
                    ""
                    if ctx.strict
                    else " (or without opening balances, or with alternate-currency rows)"
                ),
                actual=capped(net_bad),
                exchange=ex,
                discrepancy=discrepancy or (D_NET_PARTS if ctx.strict else None),
            )
        )
    if alt_bad:
        found.append(
            finding(
                f"{prefix}-ARITH-NET-ALT",
                f"netAlternateCurrenciesOnEvent disagrees with the currency rows on {len(alt_bad)} "
                "entr" + ("y" if len(alt_bad) == 1 else "ies"),
                expected="netAlternateCurrenciesOnEvent[name] = credits + opening balances − "
                f"debits over that currency's rows, for every currency it names, {tolerance}"
                + ("; every currency with rows is named" if ctx.strict else ""),
                actual=capped(alt_bad),
                exchange=ex,
                discrepancy=D_NET_ALT_COMPLETE if alt_missing else discrepancy,
            )
        )
    return found


def _currency_nets(
    ctx: CheckContext, prefix: str, entry: dict[str, Any], rows: list[dict[str, Any]], label: str
) -> tuple[list[str], bool, bool]:
    """Problems of one entry's netAlternateCurrenciesOnEvent, whether all are rounding, and
    whether a currency with rows is missing from it."""
    nets = as_dict(entry.get("netAlternateCurrenciesOnEvent"))
    if nets is None:
        return [], True, False
    groups: dict[str, list[Decimal]] = {}
    for row in rows:
        value = signed_points(row)
        if value is None or not is_currency_row(row):
            continue
        if not ctx.strict and row.get("ledgerEntryType") == "DEBIT":
            value = -abs(value)
        groups.setdefault(str(row.get("alternateCurrencyName")), []).append(value)
    problems: list[str] = []
    rounding_only, missing = True, False
    for name, parts in groups.items():
        credit(f"{prefix}-ARITH-NET-ALT")
        if name not in nets:
            # D-065: 001 says only that the object holds "details of alternate currencies
            # transacted"; strict reads that as every currency of the event.
            if ctx.strict:
                problems.append(f"{label}: currency {name!r} has rows but no net")
                rounding_only, missing = False, True
            continue
        shown = to_decimal(nets[name])
        if shown is None:
            continue
        if not sum_agrees(shown, parts, strict=ctx.strict):
            problems.append(_mismatch_text(f"{label} {name!r}", parts, shown, ctx.strict))
            rounding_only &= sum_agrees(shown, parts, strict=False)
    return problems, rounding_only, missing
