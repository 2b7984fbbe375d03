"""Rules for one page of the points ledger (getCustomerLedgerInfo, v2 and v2.1 connected orgs).

001 and 000 describe the same response, so every rule here is written once for both forms and
files its findings under the prefix `RULE_PREFIX` gives the operation it sees.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from points_conformance.checks.base import (
    D_DEFAULT_ORDER,
    D_DISPLAY_ROUNDING,
    D_GROUP_TYPE,
    D_LEDGER_PAGE_SIZE,
    D_PAST_END,
    D_SHORT_PAGES,
    CheckContext,
    capped,
    check,
    credit,
    declare,
    finding,
    problems_finding,
)
from points_conformance.checks.shared import (
    expected_page_count,
    order_breaks,
    sum_agrees,
    sum_tolerance,
)
from points_conformance.checks.values import (
    as_dict,
    as_int,
    bool_param,
    csv_param,
    dicts,
    has_param,
    int_param,
    param,
    parse_local_datetime,
    same_id,
    success_object,
    to_decimal,
)
from points_conformance.model import Exchange, Finding

LEDGER_OPERATIONS = ("getCustomerLedgerInfo", "getCustomerLedgerInfoConnectedOrgs")
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
# Only one date given: the window it opens (001: 90 days; a year with includeLastOneYearData).
ONE_DATE_WINDOW = timedelta(days=90)
ONE_YEAR_WINDOW = timedelta(days=366)  # a leap year's "last year" is 366 days
# Store and till filters: the parameter present selects the requirement.
STORE_FILTERS = {
    "tillId": "FILTER-TILL",
    "tillIds": "FILTER-TILLS",
    "storeId": "FILTER-STORE-ID",
    "storeCode": "FILTER-STORE-CODE",
}


# The requirement-ID prefix each ledger operation's findings are filed under. The catalogue
# files the rules v2.1 shares with v2 under LEDGER IDs that name both operations; CORG IDs are
# for what only the connected-orgs form has (data scope). One entry here moves them.
RULE_PREFIX: dict[str, str] = {
    "getCustomerLedgerInfo": "LEDGER",
    "getCustomerLedgerInfoConnectedOrgs": "LEDGER",
}
PREFIXES = tuple(dict.fromkeys(RULE_PREFIX.values()))


def _ids(*slugs: str) -> tuple[str, ...]:
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


@dataclass(frozen=True)
class LedgerPage:
    """The paging fields and entries of a ledger-shaped body; None where unreadable."""

    page_number: int | None
    page_size: int | None
    total: int | None
    page_count: int | None
    items: list[dict[str, Any]] | None


def read_page(body: dict[str, Any], details_key: str, items_key: str) -> LedgerPage:
    details = as_dict(body.get(details_key)) or {}
    container = body if items_key in body else details
    raw_items = container.get(items_key)
    return LedgerPage(
        page_number=as_int(details.get("pageNumber")),
        page_size=as_int(details.get("pageSize")),
        total=as_int(details.get("totalEntries")),
        page_count=as_int(details.get("pageCount")),
        items=dicts(raw_items) if isinstance(raw_items, list) else None,
    )


def page_count_findings(
    ex: Exchange, requirement: str, page: LedgerPage, size: int | None
) -> list[Finding]:
    """The page-count identity, pageCount = ceil(totalEntries / pageSize), with `size` the page
    size it is computed with (None when the page leaves it unknown; 0 has no pages)."""
    if size is None or page.total is None or page.page_count is None:
        return []
    credit(requirement)
    pages = expected_page_count(page.total, size)
    if page.page_count == pages:
        return []
    return [
        finding(
            requirement,
            "pageCount is not ceil(totalEntries / pageSize)",
            expected=f"pageCount {pages} = ceil({page.total} / {size})",
            actual=f"pageCount {page.page_count}",
            exchange=ex,
        )
    ]


def ledger_page(ex: Exchange) -> LedgerPage | None:
    data = success_object(ex)
    if data is None:
        return None
    return read_page(data, "ledgerDetails", "ledgerEntries")


def entries(ex: Exchange) -> list[dict[str, Any]]:
    data = success_object(ex)
    return dicts(data.get("ledgerEntries")) if data is not None else []


def requested_size(ex: Exchange, name: str, default: int | None, maximum: int) -> int | None:
    """The page size a request asked for: its default when absent, None when not usable."""
    if not has_param(ex, name):
        return default
    value = int_param(ex, name)
    if value is None or not 1 <= value <= maximum:
        return None
    return value


def requested_index(ex: Exchange, name: str, default: int) -> int | None:
    if not has_param(ex, name):
        return default
    value = int_param(ex, name)
    return value if value is not None and value >= 0 else None


def offset_reading_open(ctx: CheckContext, ex: Exchange) -> bool:
    """Whether a user-group request's offset may be a starting index rather than a page.

    001 calls the user-group offset "the starting index for data retrieval" and the customer
    offset a page number; the default run accepts either for groups, so a group page asked
    for with a non-zero offset is not held to a page number.
    """
    if ctx.strict or not has_param(ex, "type"):
        return False
    return requested_index(ex, "offset", 0) not in (None, 0)


def identity_size(reported: int | None, requested: int | None, count: int | None) -> int | None:
    """The page size the page-count identity is computed with.

    000 and 003 call pageSize the "number of entries shown on the current page", 001 the page
    size; when a page shows its count there, the identity still uses the requested size.
    """
    if requested is not None and reported in (requested, count):
        return requested
    return reported


# --------------------------------------------------------------------------------------------
# paging


@check(
    "ledger.paging",
    requirements=_ids(
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


def _fullness(
    prefix: str, ex: Exchange, page: LedgerPage | None, size: int, count: int
) -> list[Finding]:
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


def page_share(total: int, size: int, index: int) -> int:
    """Entries on the 0-based page `index`: a full page, the remainder on the last, else none."""
    if index < 0:
        return 0
    return max(0, min(size, total - index * size))


@check(
    "ledger.limit_max",
    requirements=_ids("LIMIT-MAX"),
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
    requirements=_ids("ARITH-NET", "ARITH-NET-ALT"),
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


# --------------------------------------------------------------------------------------------
# filters


def _row_violations(ex: Exchange, wrong: Callable[[dict[str, Any]], str | None]) -> list[str]:
    """`wrong(row)` describes a row that breaks a filter; rows are named by their event."""
    found: list[str] = []
    for index, entry in enumerate(entries(ex)):
        for row in dicts(entry.get("entryDetails")):
            problem = wrong(row)
            if problem is not None:
                found.append(f"{entry_label(entry, index)}: {problem}")
    return found


@check(
    "ledger.filter_entry_type",
    requirements=_ids("FILTER-ENTRYTYPE"),
    operations=LEDGER_OPERATIONS,
)
def filter_entry_type(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    wanted = param(ex, "ledgerEntryType")
    if wanted not in ENTRY_TYPES:
        return []
    problems = _row_violations(
        ex,
        lambda row: (
            None
            if row.get("ledgerEntryType") == wanted
            else f"ledgerEntryType {row.get('ledgerEntryType')!r}"
        ),
    )
    return problems_finding(
        ex,
        f"{prefix_of(ex)}-FILTER-ENTRYTYPE",
        f"rows of other entry types came back for ledgerEntryType={wanted}",
        f"only rows with ledgerEntryType {wanted}",
        problems,
    )


@dataclass(frozen=True)
class CurrencyParams:
    """includeAlternateCurrencies, pointCategoryType, excludePointCategories and names as sent."""

    include: bool
    category: str | None
    exclude: bool
    names: list[str] | None

    @classmethod
    def of(cls, ex: Exchange) -> CurrencyParams | None:
        """None when a parameter has a value the pages do not list (that request is an error)."""
        include = bool_param(ex, "includeAlternateCurrencies")
        exclude = bool_param(ex, "excludePointCategories")
        category = param(ex, "pointCategoryType")
        if has_param(ex, "includeAlternateCurrencies") and include is None:
            return None
        if has_param(ex, "excludePointCategories") and exclude is None:
            return None
        if category is not None and category not in CATEGORY_OF:
            return None
        return cls(bool(include), category, bool(exclude), csv_param(ex, "alternateCurrencyNames"))


@check(
    "ledger.filter_category",
    requirements=_ids("FILTER-CATEGORY", "FILTER-ALTCUR-ROW1"),
    operations=LEDGER_OPERATIONS,
)
def filter_category(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    params = CurrencyParams.of(ex)
    if params is None or params.category is None:
        return []
    # 001's behaviour table, rows 3 and 4: excludePointCategories=true ignores the category.
    if params.include and params.exclude:
        return []
    mapped = CATEGORY_OF[params.category]
    prefix = prefix_of(ex)

    def wrong(currency: bool) -> Callable[[dict[str, Any]], str | None]:
        def test(row: dict[str, Any]) -> str | None:
            if is_currency_row(row) != currency or row.get("pointsCategory") == mapped:
                return None
            return f"pointsCategory {row.get('pointsCategory')!r}"

        return test

    found = problems_finding(
        ex,
        f"{prefix}-FILTER-CATEGORY",
        f"point rows of other categories came back for pointCategoryType={params.category}",
        f"only rows with pointsCategory {mapped}",
        _row_violations(ex, wrong(False)),
    )
    if params.include:
        found += problems_finding(
            ex,
            f"{prefix}-FILTER-ALTCUR-ROW1",
            "alternate-currency rows of other categories came back for "
            f"includeAlternateCurrencies=true&pointCategoryType={params.category}",
            f"points and alternate-currency rows only with pointsCategory {mapped}",
            _row_violations(ex, wrong(True)),
        )
    return found


@check(
    "ledger.filter_alternate_currencies",
    requirements=_ids(
        "FILTER-ALTCUR-ROW3",
        "FILTER-ALTCUR-ROW4",
        "FILTER-ALTCUR-ROW5",
        "FILTER-ALTCUR-ROW6",
        "FILTER-ALTCUR-NAMES",
    ),
    operations=LEDGER_OPERATIONS,
)
def filter_alternate_currencies(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    params = CurrencyParams.of(ex)
    if params is None or success_object(ex) is None:
        return []
    prefix = prefix_of(ex)
    sent = _describe_currency_params(params)
    found: list[Finding] = []
    points_rows = _row_violations(
        ex, lambda row: None if is_currency_row(row) else "a points row (no alternateCurrencyName)"
    )
    currency_rows = _row_violations(
        ex,
        lambda row: (
            f"alternate-currency row {row.get('alternateCurrencyName')!r}"
            if is_currency_row(row)
            else None
        ),
    )
    if params.include and params.exclude:
        row = "ROW4" if params.category else "ROW3"
        found += problems_finding(
            ex,
            f"{prefix}-FILTER-ALTCUR-{row}",
            f"points rows came back for {sent}",
            "only alternate-currency rows",
            points_rows,
        )
    elif not params.include and not params.exclude and not params.names:
        row = "ROW6" if params.category else "ROW5"
        found += problems_finding(
            ex,
            f"{prefix}-FILTER-ALTCUR-{row}",
            f"alternate-currency rows came back for {sent}",
            "only points rows, no rows with alternateCurrencyName",
            currency_rows,
        )
    if params.names and not params.include:
        allowed = {n.casefold() for n in params.names}
        found += problems_finding(
            ex,
            f"{prefix}-FILTER-ALTCUR-NAMES",
            f"rows of other alternate currencies came back for alternateCurrencyNames="
            f"{','.join(params.names)}",
            f"alternate-currency rows only of {', '.join(params.names)}",
            _row_violations(
                ex,
                lambda row: (
                    f"alternate-currency row {row.get('alternateCurrencyName')!r}"
                    if is_currency_row(row)
                    and str(row.get("alternateCurrencyName")).casefold() not in allowed
                    else None
                ),
            ),
        )
    return found


def _describe_currency_params(params: CurrencyParams) -> str:
    parts = [f"includeAlternateCurrencies={'true' if params.include else 'false/absent'}"]
    parts.append(f"pointCategoryType={params.category or 'absent'}")
    parts.append(f"excludePointCategories={'true' if params.exclude else 'false/absent'}")
    if params.names:
        parts.append(f"alternateCurrencyNames={','.join(params.names)}")
    return "&".join(parts)


@check(
    "ledger.filter_program",
    requirements=_ids("FILTER-PROGRAM"),
    operations=LEDGER_OPERATIONS,
)
def filter_program(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    program = int_param(ex, "programId")
    if program is None:
        return []
    till_concept = bool_param(ex, "includeTillConceptEvents") is True

    def wrong(row: dict[str, Any]) -> str | None:
        if same_id(row.get("programId"), program):
            return None
        # includeTillConceptEvents adds deductions of other programs at the concept's tills.
        if till_concept and row.get("ledgerEntryType") == "DEBIT":
            return None
        return f"programId {row.get('programId')!r} ({row.get('ledgerEntryType')!r})"

    expected = f"only rows with programId {program}"
    if till_concept:
        expected += ", plus DEBIT rows of other programs (includeTillConceptEvents=true)"
    return problems_finding(
        ex,
        f"{prefix_of(ex)}-FILTER-PROGRAM",
        f"rows of other programs came back for programId={program}",
        expected,
        _row_violations(ex, wrong),
    )


def date_window(ex: Exchange) -> tuple[datetime, datetime, str] | None:
    """The [from, to] window the date parameters ask for and the rule that sets it, or None."""
    if bool_param(ex, "isFilterBasedOnDate") is False:
        return None
    start_raw, end_raw = param(ex, "startDate"), param(ex, "endDate")
    start = parse_local_datetime(start_raw) if start_raw is not None else None
    end = parse_local_datetime(end_raw) if end_raw is not None else None
    if (start_raw is not None and start is None) or (end_raw is not None and end is None):
        return None
    if end is not None and end_raw is not None and len(end_raw.strip()) <= 10:
        # A date without a time reads as the whole day.
        end = end.replace(hour=23, minute=59, second=59)
    if start is None and end is None:
        return None
    one_year = bool_param(ex, "includeLastOneYearData") is True
    span = ONE_YEAR_WINDOW if one_year else ONE_DATE_WINDOW
    slug = "FILTER-DATE-ONE-YEAR" if one_year else "FILTER-DATE-ONE-SIDED"
    try:
        # A window counted in days may be taken to whole days; the edges allow for that.
        if end is None and start is not None:
            end = datetime.combine(start.date() + span, datetime.max.time()).replace(microsecond=0)
        elif start is None and end is not None:
            start = datetime.combine(end.date() - span, datetime.min.time())
    except OverflowError:
        return None
    if start is not None and end is not None and start_raw is not None and end_raw is not None:
        slug = "FILTER-DATE"
    if start is None or end is None:
        return None
    return start, end, slug


@check(
    "ledger.filter_date",
    requirements=_ids("FILTER-DATE", "FILTER-DATE-ONE-SIDED", "FILTER-DATE-ONE-YEAR"),
    operations=LEDGER_OPERATIONS,
)
def filter_date(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    window = date_window(ex)
    if window is None:
        return []
    start, end, slug = window
    problems: list[str] = []
    for index, entry in enumerate(entries(ex)):
        created = parse_local_datetime(entry.get("ledgerCreatedDate"))
        if created is None:
            continue
        if not start <= created <= end:
            problems.append(f"{entry_label(entry, index)}: ledgerCreatedDate {created}")
    return problems_finding(
        ex,
        f"{prefix_of(ex)}-{slug}",
        "entries outside the requested date window came back",
        f"ledgerCreatedDate between {start} and {end}",
        problems,
    )


GROUP_TYPES = frozenset({"USERGROUP2", "FLEET"})


@check(
    "ledger.filter_type",
    requirements=_ids("FILTER-TYPE"),
    operations=LEDGER_OPERATIONS,
)
def filter_type(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    wanted = param(ex, "type")
    data = success_object(ex)
    if wanted is None or data is None:
        return []
    details = as_dict(data.get("customerDetails"))
    shown = details.get("entityType") if details is not None else None
    if not isinstance(shown, str) or shown.casefold() == wanted.casefold():
        return []
    # D-028: the pages give a group either group type; only strict holds it to the one asked.
    either_group = {wanted.upper(), shown.upper()} <= GROUP_TYPES
    if either_group and not ctx.strict:
        return []
    return [
        finding(
            f"{prefix_of(ex)}-FILTER-TYPE",
            f"a ledger asked for with type={wanted} describes a {shown}",
            expected=f"customerDetails.entityType {wanted}",
            actual=f"customerDetails.entityType {shown}",
            exchange=ex,
            discrepancy=D_GROUP_TYPE if either_group else None,
        )
    ]


declare("check_store_filter", _ids(*STORE_FILTERS.values()))


def check_store_filter(
    ctx: CheckContext,
    ex: Exchange,
    *,
    allowed_till_codes: Collection[str] | None = None,
    allowed_store_codes: Collection[str] | None = None,
    requirement: str | None = None,
) -> list[Finding]:
    """Every entry's tillCode / storeCode is one of those the target says the filter selects.

    The requirement follows from the filter parameter sent (tillId, tillIds, storeId or
    storeCode) unless given. Codes compare without regard to case.
    """
    if requirement is None:
        sent = next((name for name in STORE_FILTERS if has_param(ex, name)), None)
        if sent is None or ex.operation not in LEDGER_OPERATIONS:
            return []
        requirement = f"{prefix_of(ex)}-{STORE_FILTERS[sent]}"
    checks: list[tuple[str, set[str]]] = []
    if allowed_till_codes is not None:
        checks.append(("tillCode", {c.casefold() for c in allowed_till_codes}))
    if allowed_store_codes is not None:
        checks.append(("storeCode", {c.casefold() for c in allowed_store_codes}))
    problems: list[str] = []
    for index, entry in enumerate(entries(ex)):
        for field_name, allowed in checks:
            value = entry.get(field_name)
            if isinstance(value, str) and value.casefold() not in allowed:
                problems.append(f"{entry_label(entry, index)}: {field_name} {value!r}")
    wanted = "; ".join(
        f"{name} one of {', '.join(sorted(codes)) or '(none)'}" for name, codes in checks
    )
    return problems_finding(
        ex,
        requirement,
        "entries from other tills or stores came back for a till/store filter",
        f"only entries with {wanted}",
        problems,
    )


@check(
    "ledger.filter_store_code",
    requirements=_ids("FILTER-STORE-CODE"),
    operations=LEDGER_OPERATIONS,
)
def filter_store_code(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    # storeCode names the code entries carry, so it needs no data from the target.
    code = param(ex, "storeCode")
    if code is None or any(has_param(ex, name) for name in ("tillId", "tillIds", "storeId")):
        return []
    return check_store_filter(
        ctx,
        ex,
        allowed_store_codes=[code],
        requirement=f"{prefix_of(ex)}-FILTER-STORE-CODE",
    )


# --------------------------------------------------------------------------------------------
# order


def sort_requirement(ex: Exchange) -> tuple[str, bool] | None:
    """(requirement, descending) for the order a ledger request asks for, or None."""
    prefix = prefix_of(ex)
    sort = param(ex, "sort")
    if sort is None:
        # The sample URL's sortOrder may or may not be honoured as an alias; either is allowed.
        if has_param(ex, "sortOrder"):
            return None
        return f"{prefix}-SORT-DEFAULT", True
    if sort.upper() not in ("ASC", "DESC"):
        return None
    return f"{prefix}-SORT", sort.upper() == "DESC"


def created_dates(items: Iterable[dict[str, Any]]) -> list[datetime | None]:
    return [parse_local_datetime(item.get("ledgerCreatedDate")) for item in items]


def order_finding(
    ex: Exchange,
    requirement: str,
    descending: bool,
    labels: list[str],
    moments: list[datetime | None],
    field_name: str,
    where: str = "",
    discrepancy: str | None = None,
) -> list[Finding]:
    breaks = order_breaks(moments, descending=descending)
    if not breaks:
        return []
    direction = "newest first" if descending else "oldest first"
    shown = [f"{labels[i]} ({moments[i]}) then {labels[j]} ({moments[j]})" for i, j in breaks]
    return [
        finding(
            requirement,
            f"entries are not ordered {direction} by {field_name}{where}",
            expected=f"{field_name} {'non-increasing' if descending else 'non-decreasing'} "
            "from one entry to the next (ties allowed)",
            actual=capped(shown, 3),
            exchange=ex,
            discrepancy=discrepancy,
        )
    ]


@check(
    "ledger.sort",
    requirements=_ids("SORT", "SORT-DEFAULT"),
    operations=LEDGER_OPERATIONS,
)
def sort_order(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    rule = sort_requirement(ex)
    items = entries(ex)
    if rule is None or len(items) < 2:
        return []
    labels = [entry_label(e, i) for i, e in enumerate(items)]
    # 003's abridged example is oldest first; 000's and 001's are newest first.
    return order_finding(
        ex,
        rule[0],
        rule[1],
        labels,
        created_dates(items),
        "ledgerCreatedDate",
        discrepancy=D_DEFAULT_ORDER if rule[0].endswith("-SORT-DEFAULT") else None,
    )


declare(
    "expect_currency_rows",
    (*_ids("FILTER-ALTCUR-ROW2", "FILTER-ALTCUR-NAMES"), "CORG-FILTER-ALTCUR-ALL"),
)


def expect_currency_rows(
    ctx: CheckContext,
    exchanges: Sequence[Exchange],
    *,
    currencies: Collection[str],
    requirement: str,
) -> list[Finding]:
    """Over the pages of one query, every currency in `currencies` shows in some row.

    For a customer the target says holds those currencies, asked for them with
    includeAlternateCurrencies=true (001's row 2) or alternateCurrencyNames.
    """
    shown: set[str] = set()
    readable = [ex for ex in exchanges if success_object(ex) is not None]
    if not readable:
        return []
    for ex in readable:
        for entry in entries(ex):
            for row in dicts(entry.get("entryDetails")):
                if is_currency_row(row):
                    shown.add(str(row.get("alternateCurrencyName")).casefold())
    missing = sorted(c for c in currencies if c.casefold() not in shown)
    if not missing:
        return []
    return [
        finding(
            requirement,
            f"no rows of alternate currenc{'y' if len(missing) == 1 else 'ies'} "
            f"{', '.join(missing)} came back",
            expected=f"rows with alternateCurrencyName {', '.join(sorted(currencies))} "
            "(the target holds them for this customer)",
            actual="alternate currencies shown: " + (", ".join(sorted(shown)) or "none"),
            exchange=readable[0],
        )
    ]
