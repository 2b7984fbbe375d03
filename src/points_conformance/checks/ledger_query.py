"""Rules that one ledger page holds what its query asked for: the filters and the order.

Written once for 001 and 000, like ledger.py, whose prefixes and entry readers they use. Each
filter names the rows it lets through; a row of another kind is filed under that filter's
requirement, whatever else the page shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from points_conformance.checks.context import CheckContext
from points_conformance.checks.cross_member_query import NAIVE_DATE_SLACK
from points_conformance.checks.discrepancies import (
    D_ALTCUR_ABSENT,
    D_CATEGORY_MAP,
    D_DATE_ZONE,
    D_DEFAULT_ORDER_LEDGER,
    D_GROUP_TYPE,
    D_PROGRAM_FIELD,
    D_ROW_FILTERING,
)
from points_conformance.checks.findings import finding, problems_finding
from points_conformance.checks.ledger import (
    CATEGORIES_OF,
    CATEGORY_OF,
    ENTRY_TYPES,
    V2,
    entries,
    entry_label,
    is_currency_row,
    is_group_form,
    prefix_of,
    rule_ids,
)
from points_conformance.checks.ledger_window import date_window, outside
from points_conformance.checks.ordering import order_finding
from points_conformance.checks.readers import (
    as_dict,
    bool_param,
    csv_param,
    dicts,
    has_param,
    int_param,
    param,
    parse_local_datetime,
    same_id,
    success_object,
)
from points_conformance.checks.registry import check, declare
from points_conformance.model import Exchange, Finding
from points_conformance.operations import LEDGER_OPERATIONS

# Store and till filters: the parameter present selects the requirement.
STORE_FILTERS = {
    "tillId": "FILTER-TILL",
    "tillIds": "FILTER-TILLS",
    "storeId": "FILTER-STORE-ID",
    "storeCode": "FILTER-STORE-CODE",
}


# --------------------------------------------------------------------------------------------
# filters


def _row_violations(
    ex: Exchange, wrong: Callable[[dict[str, Any]], str | None], *, per_event: bool = False
) -> list[str]:
    """`wrong(row)` describes a row that breaks a filter; rows are named by their event.

    With `per_event`, an event one of whose rows passes is let through whole (D-067: no page
    says whether a filter removes the other rows of a matching event).
    """
    found: list[str] = []
    for index, entry in enumerate(entries(ex)):
        rows = dicts(entry.get("entryDetails"))
        problems = [p for p in map(wrong, rows) if p is not None]
        if per_event and len(problems) < len(rows):
            continue
        found += [f"{entry_label(entry, index)}: {problem}" for problem in problems]
    return found


def _row_filter_finding(
    ctx: CheckContext,
    ex: Exchange,
    requirement: str,
    message: str,
    expected: str,
    wrong: Callable[[dict[str, Any]], str | None],
    discrepancy: str | None = None,
) -> list[Finding]:
    """A row filter: every row matches (strict), or some row of every event (default run)."""
    problems = _row_violations(ex, wrong, per_event=not ctx.strict)
    found = problems_finding(ex, requirement, message, expected, problems)
    if ctx.strict and found and not _row_violations(ex, wrong, per_event=True):
        discrepancy = D_ROW_FILTERING
    return [dataclasses.replace(f, discrepancy=f.discrepancy or discrepancy) for f in found]


@check(
    "ledger.filter_entry_type",
    requirements=rule_ids("FILTER-ENTRYTYPE"),
    operations=LEDGER_OPERATIONS,
)
def filter_entry_type(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    wanted = param(ex, "ledgerEntryType")
    if wanted not in ENTRY_TYPES:
        return []
    return _row_filter_finding(
        ctx,
        ex,
        f"{prefix_of(ex)}-FILTER-ENTRYTYPE",
        f"rows of other entry types came back for ledgerEntryType={wanted}",
        f"only rows with ledgerEntryType {wanted}"
        + ("" if ctx.strict else " (or events with at least one such row)"),
        lambda row: (
            None
            if row.get("ledgerEntryType") == wanted
            else f"ledgerEntryType {row.get('ledgerEntryType')!r}"
        ),
    )


@dataclass(frozen=True)
class CurrencyParams:
    """includeAlternateCurrencies, pointCategoryType, excludePointCategories and names as sent.

    `include` is None when includeAlternateCurrencies is not sent: 001's table has no row for
    that (D-063), so only strict reads it as false.
    """

    include: bool | None
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
        return cls(include, category, bool(exclude), csv_param(ex, "alternateCurrencyNames"))


@check(
    "ledger.filter_category",
    requirements=rule_ids("FILTER-CATEGORY", "FILTER-ALTCUR-ROW1"),
    operations=LEDGER_OPERATIONS,
)
def filter_category(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    params = CurrencyParams.of(ex)
    if params is None or params.category is None:
        return []
    # 001's behaviour table, rows 3 and 4: excludePointCategories=true ignores the category.
    if params.include and params.exclude:
        return []
    mapped = {CATEGORY_OF[params.category]} if ctx.strict else CATEGORIES_OF[params.category]
    names = " or ".join(sorted(mapped))
    prefix = prefix_of(ex)

    def wrong(currency: bool) -> Callable[[dict[str, Any]], str | None]:
        def test(row: dict[str, Any]) -> str | None:
            if is_currency_row(row) != currency or row.get("pointsCategory") in mapped:
                return None
            return f"pointsCategory {row.get('pointsCategory')!r}"

        return test

    found = _row_filter_finding(
        ctx,
        ex,
        f"{prefix}-FILTER-CATEGORY",
        f"point rows of other categories came back for pointCategoryType={params.category}",
        f"only rows with pointsCategory {names}",
        wrong(False),
        discrepancy=D_CATEGORY_MAP if _lenient_category_only(ex, params.category) else None,
    )
    # 001's behaviour table is the v2 page's; 000 (v2.1) has none.
    if params.include and ex.operation == V2:
        row1 = problems_finding(
            ex,
            f"{prefix}-FILTER-ALTCUR-ROW1",
            "alternate-currency rows of other categories came back for "
            f"includeAlternateCurrencies=true&pointCategoryType={params.category}",
            f"points and alternate-currency rows only with pointsCategory {names}"
            + ("" if ctx.strict else " (or events with at least one row of it)"),
            _currency_rows_outside(ex, mapped, per_event=not ctx.strict),
        )
        if row1 and not _currency_rows_outside(ex, mapped, per_event=True):
            row1 = [dataclasses.replace(f, discrepancy=D_ROW_FILTERING) for f in row1]
        found += row1
    return found


def _currency_rows_outside(ex: Exchange, mapped: Collection[str], *, per_event: bool) -> list[str]:
    """Alternate-currency rows whose pointsCategory is not in `mapped`.

    001's table shows "Only points and alternate currencies entries with the provided category
    types": with `per_event`, an event with a row (of either kind) in `mapped` keeps its other
    rows, as for the other row filters (D-067).
    """
    found: list[str] = []
    for index, entry in enumerate(entries(ex)):
        rows = dicts(entry.get("entryDetails"))
        if per_event and any(row.get("pointsCategory") in mapped for row in rows):
            continue
        found += [
            f"{entry_label(entry, index)}: pointsCategory {row.get('pointsCategory')!r}"
            for row in rows
            if is_currency_row(row) and row.get("pointsCategory") not in mapped
        ]
    return found


def _lenient_category_only(ex: Exchange, category: str) -> bool:
    """Whether every row the strict mapping refuses is one the default run's mapping allows."""
    shown = {
        row.get("pointsCategory")
        for entry in entries(ex)
        for row in dicts(entry.get("entryDetails"))
        if not is_currency_row(row)
    }
    return shown <= CATEGORIES_OF[category] and not shown <= {CATEGORY_OF[category]}


@check(
    "ledger.filter_alternate_currencies",
    requirements=rule_ids(
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
    # 001's behaviour table (rows 3-6) is the v2 page's; 000 (v2.1) has none.
    table = ex.operation == V2
    # D-063: the table has no row for includeAlternateCurrencies not sent; strict reads false.
    include_false = params.include is False or (params.include is None and ctx.strict)
    if table and params.include and params.exclude:
        row = "ROW4" if params.category else "ROW3"
        found += problems_finding(
            ex,
            f"{prefix}-FILTER-ALTCUR-{row}",
            f"points rows came back for {sent}",
            "only alternate-currency rows",
            points_rows,
        )
    elif table and include_false and not params.exclude and not params.names:
        row = "ROW6" if params.category else "ROW5"
        found += [
            dataclasses.replace(f, discrepancy=D_ALTCUR_ABSENT if params.include is None else None)
            for f in problems_finding(
                ex,
                f"{prefix}-FILTER-ALTCUR-{row}",
                f"alternate-currency rows came back for {sent}",
                "only points rows, no rows with alternateCurrencyName",
                currency_rows,
            )
        ]
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
    include = {True: "true", False: "false", None: "absent"}[params.include]
    parts = [f"includeAlternateCurrencies={include}"]
    parts.append(f"pointCategoryType={params.category or 'absent'}")
    parts.append(f"excludePointCategories={'true' if params.exclude else 'false/absent'}")
    if params.names:
        parts.append(f"alternateCurrencyNames={','.join(params.names)}")
    return "&".join(parts)


@check(
    "ledger.filter_program",
    requirements=rule_ids("FILTER-PROGRAM"),
    operations=LEDGER_OPERATIONS,
)
def filter_program(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    program = int_param(ex, "programId")
    if program is None:
        return []
    till_concept = bool_param(ex, "includeTillConceptEvents") is True
    # D-068: no page says whether programId selects the rows' programId or the event's
    # sourceProgramId (001's example shows 973 beside 983); strict reads the rows'.
    by_source = {
        index
        for index, entry in enumerate(entries(ex))
        if not ctx.strict and same_id(entry.get("sourceProgramId"), program)
    }

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
    if not ctx.strict:
        expected += " (or events with such a row, or with sourceProgramId " + str(program) + ")"
    kept = [(i, e) for i, e in enumerate(entries(ex)) if i not in by_source]
    problems: list[str] = []
    for index, entry in kept:
        rows = dicts(entry.get("entryDetails"))
        bad = [p for p in map(wrong, rows) if p is not None]
        if not ctx.strict and len(bad) < len(rows):
            continue
        problems += [f"{entry_label(entry, index)}: {p}" for p in bad]
    return problems_finding(
        ex,
        f"{prefix_of(ex)}-FILTER-PROGRAM",
        f"rows of other programs came back for programId={program}",
        expected,
        problems,
        discrepancy=D_PROGRAM_FIELD
        if any(same_id(e.get("sourceProgramId"), program) for e in entries(ex))
        else None,
    )


@check(
    "ledger.filter_date",
    requirements=rule_ids("FILTER-DATE", "FILTER-DATE-ONE-SIDED", "FILTER-DATE-ONE-YEAR"),
    operations=LEDGER_OPERATIONS,
)
def filter_date(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    window = date_window(ex, strict=ctx.strict)
    if window is None:
        return []
    start, end, slug = window
    beyond: list[str] = []
    far: list[str] = []
    for index, entry in enumerate(entries(ex)):
        created = parse_local_datetime(entry.get("ledgerCreatedDate"))
        if created is None or not outside(created, start, end, timedelta(0)):
            continue
        label = f"{entry_label(entry, index)}: ledgerCreatedDate {created}"
        beyond.append(label)
        # D-069: no page gives the zone of the request dates or of ledgerCreatedDate.
        if outside(created, start, end, NAIVE_DATE_SLACK):
            far.append(label)
    bounds = f"between {start or '(open)'} and {end or '(open)'}"
    if not ctx.strict:
        bounds += f", give or take {NAIVE_DATE_SLACK} of time zone"
    return problems_finding(
        ex,
        f"{prefix_of(ex)}-{slug}",
        "entries outside the requested date window came back",
        f"ledgerCreatedDate {bounds}",
        beyond if ctx.strict else far,
        discrepancy=D_DATE_ZONE if ctx.strict and not far else None,
    )


GROUP_TYPES = frozenset({"USERGROUP2", "FLEET"})


@check(
    "ledger.filter_type",
    requirements=rule_ids("FILTER-TYPE"),
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


declare("check_store_filter", rule_ids(*STORE_FILTERS.values()))


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
    requirements=rule_ids("FILTER-STORE-CODE"),
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


def sort_requirement(ctx: CheckContext, ex: Exchange) -> tuple[str, bool] | None:
    """(requirement, descending) for the order a ledger request asks for, or None.

    `sort` is a parameter of the user-group tables only (001, 000); sent to the customer form it
    is not documented, so nothing is held to it. Without `sort` no page states an order (000's
    and 001's examples are newest first, 003's oldest first): only strict holds pages to
    newest first (D-073).
    """
    prefix = prefix_of(ex)
    sort = param(ex, "sort")
    if sort is None:
        # The sample URL's sortOrder may or may not be honoured as an alias; either is allowed.
        if has_param(ex, "sortOrder") or not ctx.strict:
            return None
        return f"{prefix}-SORT-DEFAULT", True
    if sort.upper() not in ("ASC", "DESC") or not is_group_form(ex):
        return None
    return f"{prefix}-SORT", sort.upper() == "DESC"


def created_dates(items: Iterable[dict[str, Any]]) -> list[datetime | None]:
    return [parse_local_datetime(item.get("ledgerCreatedDate")) for item in items]


@check(
    "ledger.sort",
    requirements=rule_ids("SORT", "SORT-DEFAULT"),
    operations=LEDGER_OPERATIONS,
)
def sort_order(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    rule = sort_requirement(ctx, ex)
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
        discrepancy=D_DEFAULT_ORDER_LEDGER if rule[0].endswith("-SORT-DEFAULT") else None,
    )


declare(
    "expect_currency_rows",
    (*rule_ids("FILTER-ALTCUR-ROW2", "FILTER-ALTCUR-NAMES"), "CORG-FILTER-ALTCUR-ALL"),
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
