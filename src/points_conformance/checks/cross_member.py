"""Rules for one page of the group points ledger (GET /v2/customers/{id}/crossMemberLedger, 002)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from points_conformance.checks.base import (
    D_CML_DEFAULT_SIZE,
    D_CML_PAGE_SIZE,
    D_CML_USERROLE,
    D_CML_WRAPPED,
    D_DISPLAY_ROUNDING,
    D_NULL_AS_ABSENT,
    CheckContext,
    capped,
    check,
    credit,
    declare,
    finding,
    problems_finding,
)
from points_conformance.checks.ledger import (
    LedgerPage,
    identity_size,
    order_finding,
    page_count_findings,
    read_page,
    requested_size,
)
from points_conformance.checks.shared import sum_agrees
from points_conformance.checks.values import (
    as_dict,
    as_int,
    csv_param,
    dicts,
    has_param,
    int_param,
    param,
    parse_datetime,
    parse_local_datetime,
    response_date,
    same_id,
    success_object,
    to_decimal,
)
from points_conformance.model import Exchange, Finding

CML_OPERATION = "getCrossMemberLedger"
OPS = (CML_OPERATION,)
MAX_PAGE_SIZE = 100
STRICT_DEFAULT_PAGE_SIZE = 20  # the sample request's size; 002 states no default
FIRST_PAGE = 1
REDEMPTION = "CROSS_MEMBER_REDEMPTION"
REVERSAL = "CROSS_MEMBER_REDEMPTION_REVERSAL"
EVENT_NAMES = frozenset({REDEMPTION, REVERSAL})
DEFAULT_WINDOW = timedelta(days=30)
# The default window is relative to the request time, which the client only knows to within
# the response's Date header; a day either side keeps a correct server clear of that doubt.
DEFAULT_WINDOW_SLACK = timedelta(days=1)
# A date sent without an offset may be read in any timezone.
NAIVE_DATE_SLACK = timedelta(hours=14)
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


def cml_page(ex: Exchange) -> LedgerPage | None:
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


def _null_only(problems: list[tuple[str, Any]]) -> bool:
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
    count = len(page.items) if page.items is not None else None
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
    if not sent_size:
        found += _default_size(ctx, ex, page, count)

    size: int | None
    if requested is not None:
        size = identity_size(page.page_size, requested, count)
    elif ctx.strict or page.page_size != count:
        size = page.page_size
    else:
        # No size was sent and the page shows its count: the size the identity needs is unknown.
        size = None
    # pageSize 0 is out of range here (1003), not a size the identity can use.
    found += page_count_findings(ex, "CML-PAGE-COUNT", page, size if size else None)
    return found


def _default_size(
    ctx: CheckContext, ex: Exchange, page: LedgerPage, count: int | None
) -> list[Finding]:
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
    found: list[Finding] = []
    tolerance = "exactly" if ctx.strict else "up to display rounding of each shown number"
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
    found += problems_finding(
        ex,
        "CML-ARITH-NET",
        "netPointsOnEvent is not the sum of the entry's entryDetails points",
        f"netPointsOnEvent = sum of entryDetails[].points as signed, {tolerance}",
        bad,
        discrepancy=D_DISPLAY_ROUNDING if ctx.strict and rounding_only else None,
    )

    group = as_dict(data.get("groupDetails"))
    if group is None:
        return found
    members = group.get("members")
    member_list = dicts(members)
    balance = to_decimal(group.get("groupBalance"))
    shares = [to_decimal(m.get("balance")) for m in member_list]
    if isinstance(members, list) and balance is not None and all(s is not None for s in shares):
        parts = [s for s in shares if s is not None]
        credit("CML-ARITH-GROUP-BALANCE")
        if not sum_agrees(balance, parts, strict=ctx.strict):
            found.append(
                finding(
                    "CML-ARITH-GROUP-BALANCE",
                    "groupBalance is not the sum of the members' balances",
                    expected=f"groupBalance = sum of members[].balance "
                    f"({sum(parts, Decimal(0))}), {tolerance}",
                    actual=f"groupBalance {balance}",
                    exchange=ex,
                    discrepancy=D_DISPLAY_ROUNDING
                    if ctx.strict and sum_agrees(balance, parts, strict=False)
                    else None,
                )
            )
    member_count = as_int(group.get("memberCount"))
    if isinstance(members, list) and member_count is not None:
        credit("CML-ARITH-MEMBER-COUNT")
    if isinstance(members, list) and member_count is not None and member_count != len(members):
        found.append(
            finding(
                "CML-ARITH-MEMBER-COUNT",
                "memberCount is not the number of members listed",
                expected=f"memberCount {len(members)} (the length of members)",
                actual=f"memberCount {member_count}",
                exchange=ex,
            )
        )
    return found


# --------------------------------------------------------------------------------------------
# reversal status


def row_status(points: Decimal, reversed_amount: Decimal) -> str | None:
    """The per-row status 002 implies for a row's reversed amount; None when it is undefined."""
    magnitude = abs(points)
    if magnitude == 0:
        return None
    if reversed_amount == 0:
        return "ACTIVE"
    if reversed_amount == magnitude:
        return "REVERSED"
    return "PARTIALLY_REVERSED"


def aggregate_status(statuses: Iterable[str]) -> str:
    listed = list(statuses)
    if all(s == "ACTIVE" for s in listed):
        return "ACTIVE"
    if all(s == "REVERSED" for s in listed):
        return "REVERSED"
    return "PARTIALLY_REVERSED"


@check(
    "cml.reversal_status",
    requirements=("CML-REVERSED-BOUNDS", "CML-STATUS-ROW", "CML-STATUS-AGGREGATE"),
    operations=OPS,
)
def reversal_status(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    bounds: list[str] = []
    rows_bad: list[str] = []
    aggregate_bad: list[str] = []
    for index, entry in enumerate(cml_entries(ex)):
        label = entry_label(entry, index)
        rows = dicts(entry.get("entryDetails"))
        for row_index, row in enumerate(rows):
            points = to_decimal(row.get("points"))
            reversed_amount = to_decimal(row.get("reversedAmount"))
            if points is None or reversed_amount is None:
                continue
            where = f"{label} row {row_index} (customerId {row.get('customerId')})"
            credit("CML-REVERSED-BOUNDS")
            if not 0 <= reversed_amount <= abs(points):
                bounds.append(f"{where}: reversedAmount {reversed_amount}, points {points}")
                continue
            implied = row_status(points, reversed_amount)
            shown = row.get("status")
            if implied is not None and isinstance(shown, str):
                credit("CML-STATUS-ROW")
            if implied is not None and isinstance(shown, str) and shown != implied:
                rows_bad.append(
                    f"{where}: status {shown}, but reversedAmount {reversed_amount} "
                    f"of {abs(points)} means {implied}"
                )
        statuses = [row.get("status") for row in rows]
        shown = entry.get("status")
        if (
            isinstance(shown, str)
            and statuses
            and all(
                isinstance(s, str) and s in ("ACTIVE", "REVERSED", "PARTIALLY_REVERSED")
                for s in statuses
            )
        ):
            implied = aggregate_status(s for s in statuses if isinstance(s, str))
            credit("CML-STATUS-AGGREGATE")
            if shown != implied:
                aggregate_bad.append(
                    f"{label}: status {shown}, rows {', '.join(str(s) for s in statuses)}"
                )
    return [
        *problems_finding(
            ex,
            "CML-REVERSED-BOUNDS",
            "reversedAmount outside 0 … |points|",
            "0 ≤ reversedAmount ≤ |points| on every row",
            bounds,
        ),
        *problems_finding(
            ex,
            "CML-STATUS-ROW",
            "row status does not match its reversedAmount",
            "ACTIVE when reversedAmount is 0, REVERSED when it equals |points|, "
            "PARTIALLY_REVERSED in between",
            rows_bad,
        ),
        *problems_finding(
            ex,
            "CML-STATUS-AGGREGATE",
            "entry status does not match its rows' statuses",
            "ACTIVE when every row is ACTIVE, REVERSED when every row is REVERSED, "
            "else PARTIALLY_REVERSED",
            aggregate_bad,
        ),
    ]


@check(
    "cml.conditional_fields",
    requirements=("CML-FIELDS-CONDITIONAL",),
    operations=OPS,
)
def conditional_fields(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    missing: list[str] = []
    extra: list[tuple[str, Any]] = []
    for index, entry in enumerate(cml_entries(ex)):
        label = entry_label(entry, index)
        name = entry.get("eventName")
        rows = dicts(entry.get("entryDetails"))
        places = [(entry, "status", label)] + [
            (row, key, f"{label} row {i}")
            for i, row in enumerate(rows)
            for key in ("reversedAmount", "status")
        ]
        if name in (REDEMPTION, REVERSAL):
            credit("CML-FIELDS-CONDITIONAL")
        for item, key, where in places:
            if name == REDEMPTION and not present(item, key):
                missing.append(f"{where}: no {key}")
            elif name == REVERSAL and shown_where_absent(item, key, ctx.strict):
                extra.append((f"{where}: {key} {item[key]!r}", item[key]))
    return [
        *problems_finding(
            ex,
            "CML-FIELDS-CONDITIONAL",
            f"{REDEMPTION} entries lack status or reversedAmount",
            f"status on every {REDEMPTION} entry; reversedAmount and status on each of its rows",
            missing,
        ),
        *problems_finding(
            ex,
            "CML-FIELDS-CONDITIONAL",
            f"{REVERSAL} entries carry fields 002 shows only on redemptions",
            f"no status on {REVERSAL} entries, no reversedAmount or status on their rows",
            [text for text, _ in extra],
            discrepancy=D_NULL_AS_ABSENT if _null_only(extra) else None,
        ),
    ]


@check(
    "cml.sign",
    requirements=("CML-ARITH-SIGN",),
    operations=OPS,
)
def sign(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    problems: list[str] = []
    for index, entry in enumerate(cml_entries(ex)):
        name = entry.get("eventName")
        if name not in EVENT_NAMES:
            continue
        # Redemptions draw points (negative), reversals restore them (positive); zero is
        # neither and is left alone.
        wrong_sign = 1 if name == REDEMPTION else -1
        label = entry_label(entry, index)
        values = [("netPointsOnEvent", entry.get("netPointsOnEvent"))] + [
            (f"row {i} points", row.get("points"))
            for i, row in enumerate(dicts(entry.get("entryDetails")))
        ]
        credit("CML-ARITH-SIGN")
        for what, raw in values:
            number = to_decimal(raw)
            if number is not None and number * wrong_sign > 0:
                problems.append(f"{label} ({name}): {what} {number}")
    return problems_finding(
        ex,
        "CML-ARITH-SIGN",
        "points with the wrong sign for their event",
        f"netPointsOnEvent and points negative on {REDEMPTION}, positive on {REVERSAL}",
        problems,
    )


# --------------------------------------------------------------------------------------------
# scope and the caller's role


def involvement(entry: dict[str, Any], caller: str) -> tuple[bool, bool]:
    """(caller transacted, caller's wallet is among the entry's rows)."""
    transacting = same_id(entry.get("transactingCustomerId"), caller)
    source = any(same_id(row.get("customerId"), caller) for row in dicts(entry.get("entryDetails")))
    return transacting, source


def expected_role(transacting: bool, source: bool) -> str | None:
    if transacting and source:
        return "BOTH"
    if transacting:
        return "TRANSACTING"
    if source:
        return "SOURCE"
    return None


@check(
    "cml.scope_and_role",
    requirements=(
        "CML-USERROLE-PRESENCE",
        "CML-USERROLE-VALUE",
        "CML-SCOPE-USER",
        "CML-DEFAULT-SCOPE",
    ),
    operations=OPS,
)
def scope_and_role(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    view = scope(ex)
    caller = caller_id(ex)
    if view is None or cml_body(ex) is None:
        return []
    defaulted = not has_param(ex, "scope")
    presence: list[str] = []
    group_roles: list[tuple[str, Any]] = []
    values: list[str] = []
    outsiders: list[str] = []
    for index, entry in enumerate(cml_entries(ex)):
        label = entry_label(entry, index)
        if view == "user" and not present(entry, "userRole"):
            presence.append(f"{label}: no userRole")
        # scope=group with userRole is tolerated in the default run
        if view == "group" and ctx.strict and shown_where_absent(entry, "userRole", True):
            group_roles.append((f"{label}: userRole {entry['userRole']!r}", entry["userRole"]))
        if caller is None:
            continue
        transacting, source = involvement(entry, caller)
        role = expected_role(transacting, source)
        if view == "user" and role is None:
            outsiders.append(
                f"{label}: transactingCustomerId {entry.get('transactingCustomerId')!r}, "
                "caller not among entryDetails"
            )
        shown = entry.get("userRole")
        if role is not None and isinstance(shown, str) and shown != role:
            values.append(f"{label}: userRole {shown}, expected {role}")
    scope_text = "scope=user (the default)" if view == "user" else "scope=group"
    return [
        *problems_finding(
            ex,
            "CML-DEFAULT-SCOPE" if defaulted else "CML-USERROLE-PRESENCE",
            f"userRole presence does not follow {scope_text}",
            "userRole on every entry with scope=user (the default)",
            presence,
        ),
        *problems_finding(
            ex,
            "CML-USERROLE-PRESENCE",
            "scope=group entries carry userRole",
            "no userRole key on any entry with scope=group",
            [text for text, _ in group_roles],
            discrepancy=D_NULL_AS_ABSENT if _null_only(group_roles) else D_CML_USERROLE,
        ),
        *problems_finding(
            ex,
            "CML-USERROLE-VALUE",
            f"userRole does not describe customer {caller}'s part in the entry",
            "TRANSACTING when the caller is transactingCustomerId and not among entryDetails, "
            "SOURCE when among entryDetails and not transacting, BOTH when both",
            values,
        ),
        *problems_finding(
            ex,
            "CML-DEFAULT-SCOPE" if defaulted else "CML-SCOPE-USER",
            f"{scope_text} returned entries customer {caller} took no part in",
            "only entries where the caller is transactingCustomerId or in entryDetails",
            outsiders,
        ),
    ]


# --------------------------------------------------------------------------------------------
# filters, dates and order


@check(
    "cml.filters",
    requirements=("CML-FILTER-EVENTNAME", "CML-FILTER-TXREF"),
    operations=OPS,
)
def filters(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    found: list[Finding] = []
    names = csv_param(ex, "eventName")
    items = cml_entries(ex)
    if names and set(names) <= EVENT_NAMES:
        found += problems_finding(
            ex,
            "CML-FILTER-EVENTNAME",
            f"entries of other events came back for eventName={','.join(names)}",
            f"only entries with eventName {' or '.join(names)}",
            [
                f"{entry_label(e, i)}: eventName {e.get('eventName')!r}"
                for i, e in enumerate(items)
                if e.get("eventName") not in names
            ],
        )
    ref = param(ex, "transactionRef")
    if ref:
        found += problems_finding(
            ex,
            "CML-FILTER-TXREF",
            f"entries of other transactions came back for transactionRef={ref}",
            f"only entries with transactionRef {ref!r}",
            [
                f"{entry_label(e, i)}: transactionRef {e.get('transactionRef')!r}"
                for i, e in enumerate(items)
                if e.get("transactionRef") != ref
            ],
        )
    return found


def in_utc(moment: datetime | None) -> datetime | None:
    """An aware moment in UTC (a bare one read as UTC); None at the edge of the calendar."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def iso_moment(value: Any) -> datetime | None:
    """createdDateISO as a UTC moment; 002 says it is UTC, so a bare value reads as UTC."""
    return in_utc(parse_datetime(value))


def request_moment(raw: str | None) -> tuple[datetime | None, timedelta]:
    """A startDate/endDate parameter as a UTC moment, with the doubt it carries."""
    moment = parse_datetime(raw)
    slack = NAIVE_DATE_SLACK if moment is not None and moment.tzinfo is None else timedelta(0)
    return in_utc(moment), slack


def _window_breaks(
    items: list[dict[str, Any]], low: datetime | None, high: datetime | None
) -> list[str]:
    problems: list[str] = []
    for index, entry in enumerate(items):
        moment = iso_moment(entry.get("createdDateISO"))
        if moment is None:
            continue
        if (low is not None and moment < low) or (high is not None and moment > high):
            problems.append(
                f"{entry_label(entry, index)}: createdDateISO {entry['createdDateISO']}"
            )
    return problems


@check(
    "cml.filter_date",
    requirements=("CML-FILTER-DATE", "CML-DEFAULT-WINDOW"),
    operations=OPS,
)
def filter_date(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    items = cml_entries(ex)
    if not items:
        return []
    start_raw, end_raw = param(ex, "startDate"), param(ex, "endDate")
    start, start_slack = request_moment(start_raw)
    end, end_slack = request_moment(end_raw)
    if (start_raw is not None and start is None) or (end_raw is not None and end is None):
        return []
    found: list[Finding] = []
    if start is not None or end is not None:
        try:
            low = start - start_slack if start is not None else None
            high = end + end_slack if end is not None else None
        except OverflowError:
            return []
        found += problems_finding(
            ex,
            "CML-FILTER-DATE",
            "entries outside the requested startDate/endDate came back",
            f"createdDateISO from {start_raw or '(30 days back)'} to {end_raw or '(now)'}",
            _window_breaks(items, low, high),
        )
    if start is not None and end is not None:
        return found
    now = in_utc(response_date(ex) or ctx.now or datetime.now(UTC))
    if now is None:
        return found
    try:
        default_low = now - DEFAULT_WINDOW - DEFAULT_WINDOW_SLACK if start is None else None
        default_high = now + DEFAULT_WINDOW_SLACK if end is None else None
    except OverflowError:
        return found
    sides = " and ".join(
        side
        for side, missing in (("startDate", start is None), ("endDate", end is None))
        if missing
    )
    found += problems_finding(
        ex,
        "CML-DEFAULT-WINDOW",
        f"without {sides}, entries outside the default window came back",
        f"createdDateISO within the 30 days before the request ({now.isoformat()}, a day's "
        "allowance either side)",
        _window_breaks(items, default_low, default_high),
    )
    return found


def sort_rule(ex: Exchange) -> tuple[str, bool] | None:
    """(requirement, newest first) for the sort sent, or None for a value 002 does not list."""
    value = param(ex, "sort")
    if value is None:
        return "CML-SORT-DEFAULT", True
    descending = {"createdDate:desc": True, "createdDate:asc": False}.get(value)
    return None if descending is None else ("CML-SORT", descending)


@check(
    "cml.sort",
    requirements=("CML-SORT", "CML-SORT-DEFAULT"),
    operations=OPS,
)
def sort_order(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    rule = sort_rule(ex)
    items = cml_entries(ex)
    if rule is None or len(items) < 2:
        return []
    labels = [entry_label(e, i) for i, e in enumerate(items)]
    moments = [iso_moment(e.get("createdDateISO")) for e in items]
    return order_finding(ex, rule[0], rule[1], labels, moments, "createdDateISO")


def org_zone(ctx: CheckContext) -> ZoneInfo | None:
    try:
        return ZoneInfo(ctx.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@check(
    "cml.dates_consistent",
    requirements=("CML-DATES-CONSISTENT",),
    operations=OPS,
)
def dates_consistent(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    zone = org_zone(ctx)
    if zone is None:
        return []
    problems: list[str] = []
    for index, entry in enumerate(cml_entries(ex)):
        local = parse_local_datetime(entry.get("createdDate"))
        moment = iso_moment(entry.get("createdDateISO"))
        if local is None or moment is None:
            continue
        try:
            expected = moment.astimezone(zone).replace(tzinfo=None, microsecond=0)
        except (OverflowError, ValueError):
            continue
        credit("CML-DATES-CONSISTENT")
        if local != expected:
            problems.append(
                f"{entry_label(entry, index)}: createdDate {entry['createdDate']}, "
                f"createdDateISO {entry['createdDateISO']} is {expected} in {ctx.timezone}"
            )
    return problems_finding(
        ex,
        "CML-DATES-CONSISTENT",
        "createdDate and createdDateISO name different moments",
        f"createdDate = createdDateISO shown in the org timezone ({ctx.timezone})",
        problems,
    )


def eventlog_conflicts(
    items: Iterable[tuple[int, str, dict[str, Any]]], *, across_pages: bool = False
) -> list[str]:
    """Entries sharing an eventLogId but not its transactionRef and eventName.

    `items` are (page, position text, entry); with `across_pages` only pairs seen on
    different pages are compared, since each page is also checked on its own.
    """
    first: dict[str, tuple[int, str, dict[str, Any]]] = {}
    conflicts: list[str] = []
    for page, where, entry in items:
        log_id = entry.get("eventLogId")
        if isinstance(log_id, bool) or not isinstance(log_id, int | str):
            continue
        key = str(log_id)
        if key not in first:
            first[key] = (page, where, entry)
            continue
        seen_page, seen_where, seen = first[key]
        if across_pages and seen_page == page:
            continue
        for name in ("transactionRef", "eventName"):
            if seen.get(name) != entry.get(name):
                conflicts.append(
                    f"eventLogId {key}: {name} {seen.get(name)!r} at {seen_where}, "
                    f"{entry.get(name)!r} at {where}"
                )
    return conflicts


def eventlog_finding(ex: Exchange | None, conflicts: list[str]) -> list[Finding]:
    if not conflicts:
        return []
    return [
        finding(
            "CML-EVENTLOG-SHARED",
            "entries sharing an eventLogId belong to different events",
            expected="one eventLogId per redemption or reversal: entries that share it share "
            "transactionRef and eventName",
            actual=capped(conflicts),
            exchange=ex,
        )
    ]


@check(
    "cml.eventlog_shared",
    requirements=("CML-EVENTLOG-SHARED",),
    operations=OPS,
)
def eventlog_shared(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    items = [(0, f"entries[{i}]", e) for i, e in enumerate(cml_entries(ex))]
    if len(items) > 1:
        credit("CML-EVENTLOG-SHARED")
    return eventlog_finding(ex, eventlog_conflicts(items))


declare("check_scope_group", ("CML-SCOPE-GROUP",))


def _event_key(entry: dict[str, Any]) -> tuple[str, str]:
    return str(entry.get("eventLogId")), str(entry.get("eventName"))


def check_scope_group(
    ctx: CheckContext, *, group_pages: Sequence[Exchange], user_pages: Sequence[Exchange]
) -> list[Finding]:
    """scope=group holds every event of a member's scope=user view (same window and filters).

    Both walks must be complete: every page of each view, asked for with the same
    startDate, endDate, eventName and transactionRef.
    """
    group = {_event_key(e) for ex in group_pages for e in cml_entries(ex)}
    readable = [ex for ex in group_pages if cml_body(ex) is not None]
    if not readable:
        return []
    missing = [
        f"eventLogId {e.get('eventLogId')} ({e.get('eventName')})"
        for ex in user_pages
        for e in cml_entries(ex)
        if _event_key(e) not in group
    ]
    if not missing:
        return []
    return [
        finding(
            "CML-SCOPE-GROUP",
            f"scope=group lacks {len(missing)} event(s) that a member's scope=user view shows",
            expected="every event of each member's scope=user view also in scope=group",
            actual=capped(missing),
            exchange=readable[0],
        )
    ]
