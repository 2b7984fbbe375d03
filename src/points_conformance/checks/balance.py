"""Rules for one page of the ledger balance (getCustomerLedgerBalance, 003).

The paginated list is `ledgerDetails.ledgerClosingBalance`: one closing balance per program and
points category. Whole walks (full pages, totalEntries balances) are checked in walks.py, in the
strict stance only: 003 never says what a balance's totalEntries and pageCount count (D-079).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from points_conformance.checks.context import CheckContext
from points_conformance.checks.discrepancies import (
    D_BALANCE_ARITHMETIC,
    D_BALANCE_LIMIT,
    D_CATEGORY_MAP,
    D_DISPLAY_ROUNDING,
    D_EMPTY_PAGE_COUNT,
    D_LEDGER_PAGE_SIZE,
)
from points_conformance.checks.findings import capped, finding
from points_conformance.checks.ledger import (
    CATEGORIES_OF,
    CATEGORY_OF,
    entries,
    is_currency_row,
    signed_points,
)
from points_conformance.checks.ledger_query import created_dates
from points_conformance.checks.paging import (
    Page,
    identity_size,
    ledger_details_page,
    page_count_findings,
    requested_size,
)
from points_conformance.checks.readers import (
    dicts,
    has_param,
    int_param,
    param,
    success_object,
    to_decimal,
)
from points_conformance.checks.registry import check, declare
from points_conformance.checks.rounding import sum_agrees
from points_conformance.model import Exchange, Finding

BALANCE_OPERATION = "getCustomerLedgerBalance"
DEFAULT_LIMIT = 10
MAX_LIMIT = 10
# 003's endDate format; its default ("startDate plus 7 days") names a parameter the operation does
# not have (D-025), so a balance meant as of now is asked for with an explicit endDate.
END_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
# A day past the reader's clock: whatever zone the server reads endDate in, it is not yet then.
NOW_SLACK = timedelta(days=1)

BalanceKey = tuple[str, str]


def balance_page(ex: Exchange) -> Page | None:
    return ledger_details_page(ex, "ledgerClosingBalance")


def balances(ex: Exchange) -> list[dict[str, Any]]:
    page = balance_page(ex)
    return (page.items or []) if page is not None else []


def end_date_now(now: datetime | None = None) -> str:
    """An endDate that asks for the balance as of now, whatever zone the server reads it in."""
    moment = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0) + NOW_SLACK
    return moment.strftime(END_DATE_FORMAT)


def program_category(row: dict[str, Any]) -> BalanceKey:
    return (str(row.get("programId")), str(row.get("pointsCategory")))


def new_balance_rows(seen: dict[BalanceKey, Decimal], ex: Exchange) -> dict[BalanceKey, Decimal]:
    """The closing balances of one page whose (programId, pointsCategory) `seen` lacks.

    A server may show every balance on every page (003's example: pageCount 2 beside all six
    balances on page 0, D-079), so a pair already read is never added again; a page that brings
    no new pair ends a reading.
    """
    fresh: dict[BalanceKey, Decimal] = {}
    for row in balances(ex):
        key = program_category(row)
        value = to_decimal(row.get("closingBalance"))
        if key in seen or key in fresh or value is None:
            continue
        fresh[key] = value
    return fresh


def balance_rows(pages: Sequence[Exchange]) -> dict[BalanceKey, Decimal]:
    """closingBalance by (programId, pointsCategory) over the pages of one balance query, each
    pair once (see `new_balance_rows`)."""
    seen: dict[BalanceKey, Decimal] = {}
    for ex in pages:
        seen.update(new_balance_rows(seen, ex))
    return seen


@check(
    "balance.paging",
    requirements=("BAL-PAGE-COUNT", "BAL-PAGE-INDEX", "BAL-DEFAULT-LIMIT"),
    operations=(BALANCE_OPERATION,),
)
def paging(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    page = balance_page(ex)
    if page is None:
        return []
    found: list[Finding] = []
    count = page.item_count
    limit = requested_size(ex, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    if not has_param(ex, "offset") and page.page_number not in (None, 0):
        found.append(
            finding(
                "BAL-PAGE-INDEX",
                "the first page (no offset sent) is not numbered 0",
                expected="ledgerDetails.pageNumber 0 (offset defaults to 0)",
                actual=f"pageNumber {page.page_number}",
                exchange=ex,
            )
        )
    if not has_param(ex, "limit") and page.page_size not in (None, DEFAULT_LIMIT):
        lenient_reading = page.page_size == count
        if ctx.strict or not lenient_reading:
            found.append(
                finding(
                    "BAL-DEFAULT-LIMIT",
                    f"without limit the page size is not the default {DEFAULT_LIMIT}",
                    expected=f"ledgerDetails.pageSize {DEFAULT_LIMIT}",
                    actual=f"pageSize {page.page_size} with {count} balances on the page",
                    exchange=ex,
                    discrepancy=D_LEDGER_PAGE_SIZE if lenient_reading else None,
                )
            )
    size = identity_size(page, limit, strict=ctx.strict)
    # 003's "according to the page size" gives no count for no entries, as for the ledger.
    found += page_count_findings(
        ex,
        "BAL-PAGE-COUNT",
        page,
        size,
        empty_pages=(0,) if ctx.strict else (0, 1),
        discrepancy=D_EMPTY_PAGE_COUNT,
    )
    return found


@check(
    "balance.limit_max",
    requirements=("BAL-LIMIT-MAX",),
    operations=(BALANCE_OPERATION,),
)
def limit_max(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    page = balance_page(ex)
    if page is None:
        return []
    found: list[Finding] = []
    limit = int_param(ex, "limit")
    count = len(page.items) if page.items is not None else 0
    # D-047: the default run also takes a page capped at the maximum as the answer.
    capped_page = page.page_size is not None and page.page_size <= MAX_LIMIT
    if limit is not None and limit > MAX_LIMIT and (ctx.strict or not capped_page):
        found.append(
            finding(
                "BAL-LIMIT-MAX",
                f"limit={limit} was accepted although the maximum is {MAX_LIMIT}",
                expected=f"error 11029 (the maximum limit is {MAX_LIMIT})"
                if ctx.strict
                else f"a refusal, or a page of at most {MAX_LIMIT} (pageSize ≤ {MAX_LIMIT})",
                actual=f"HTTP {ex.response.status} with pageSize {page.page_size} and {count} "
                "balances",
                exchange=ex,
                discrepancy=D_BALANCE_LIMIT if capped_page else None,
            )
        )
    if count > MAX_LIMIT:
        found.append(
            finding(
                "BAL-LIMIT-MAX",
                f"a page holds more than {MAX_LIMIT} balances",
                expected=f"at most {MAX_LIMIT} entries in ledgerClosingBalance",
                actual=f"{count} entries",
                exchange=ex,
            )
        )
    return found


@check(
    "balance.filter_category",
    requirements=("BAL-FILTER-CATEGORY",),
    operations=(BALANCE_OPERATION,),
)
def filter_category(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    asked = param(ex, "pointCategoryType") or ""
    if asked not in CATEGORY_OF:
        return []
    # D-066: 003's table calls delayed-accrual and trigger-based points both "promised".
    wanted = {CATEGORY_OF[asked]} if ctx.strict else CATEGORIES_OF[asked]
    rows = [row for row in balances(ex) if row.get("pointsCategory") not in wanted]
    if not rows:
        return []
    lenient_only = all(row.get("pointsCategory") in CATEGORIES_OF[asked] for row in rows)
    return [
        finding(
            "BAL-FILTER-CATEGORY",
            f"balances of other categories came back for pointCategoryType={asked}",
            expected=f"only balances with pointsCategory {' or '.join(sorted(wanted))}",
            actual=capped(
                f"programId {row.get('programId')!r}: pointsCategory {row.get('pointsCategory')!r}"
                for row in rows
            ),
            exchange=ex,
            discrepancy=D_CATEGORY_MAP if lenient_only else None,
        )
    ]


declare("check_closing_balances", ("BAL-ARITH-CLOSING",))

# Parameters that make a balance or a ledger cover less than the whole history of the customer.
# endDate always narrows a ledger, and a balance only when it lies before the newest ledger entry
# (see `_as_of_now`).
_NARROWING = (
    "tillId",
    "tillIds",
    "storeId",
    "storeCode",
    "programId",
    "startDate",
    "includeTillConceptEvents",
    "ledgerEntryType",
    "pointCategoryType",
    "includeAlternateCurrencies",
    "alternateCurrencyNames",
    "excludePointCategories",
)


def _as_of_now(balance_pages: Sequence[Exchange], ledger_pages: Sequence[Exchange]) -> bool:
    """Whether every balance page was read as of a moment no ledger entry comes after."""
    sent = {param(ex, "endDate") for ex in balance_pages if has_param(ex, "endDate")}
    if not sent:
        return True
    newest = max(
        (m for ex in ledger_pages for m in created_dates(entries(ex)) if m is not None),
        default=None,
    )
    for text in sent:
        try:
            end = datetime.strptime(text or "", END_DATE_FORMAT)
        except ValueError:
            return False
        if newest is not None and end < newest:
            return False
    return True


def check_closing_balances(
    ctx: CheckContext, *, balance_pages: Sequence[Exchange], ledger_pages: Sequence[Exchange]
) -> list[Finding]:
    """Each closingBalance is the signed sum of its (program, category) rows over the ledger.

    `ledger_pages` must be the customer's whole ledger (every page, no filter) and
    `balance_pages` every page of its balances as of now, both read with no activity in
    between. Strict only: 003 never ties a closing balance to the ledger rows (D-080).
    """
    if not ctx.strict:
        return []
    exchanges = [*balance_pages, *ledger_pages]
    if any(has_param(ex, name) for ex in exchanges for name in _NARROWING):
        return []
    if any(has_param(ex, "endDate") for ex in ledger_pages):
        return []
    if not _as_of_now(balance_pages, ledger_pages):
        return []
    if not ledger_pages or any(success_object(ex) is None for ex in exchanges):
        return []
    sums: dict[tuple[str, str], list[Decimal]] = {}
    for ex in ledger_pages:
        for item in entries(ex):
            for row in dicts(item.get("entryDetails")):
                if is_currency_row(row):
                    continue
                value = signed_points(row)
                if value is None:
                    return []
                key = (str(row.get("programId")), str(row.get("pointsCategory")))
                sums.setdefault(key, []).append(value)
    wrong: list[str] = []
    rounding_only = True
    for (program, category), shown in balance_rows(balance_pages).items():
        parts = sums.get((program, category), [])
        if not sum_agrees(shown, parts, strict=True):
            wrong.append(
                f"programId {program} {category}: "
                f"closingBalance {shown}, ledger rows sum to {sum(parts, Decimal(0))}"
            )
            rounding_only &= sum_agrees(shown, parts, strict=False)
    if not wrong:
        return []
    return [
        finding(
            "BAL-ARITH-CLOSING",
            "closing balances disagree with the customer's ledger",
            expected="closingBalance = credits + opening balances − debits over the ledger rows "
            "of that program and category, exactly",
            actual=capped(wrong),
            exchange=balance_pages[0],
            discrepancy=D_DISPLAY_ROUNDING if rounding_only else D_BALANCE_ARITHMETIC,
        )
    ]
