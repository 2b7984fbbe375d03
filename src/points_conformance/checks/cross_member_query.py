"""Rules for which entries a cross-member page shows, and in what order.

The caller's scope (user or group) decides whose entries come back and the role each shows;
eventName and transactionRef filter them, startDate and endDate (30 days by default) bound
them, and sort orders them. The entries' two dates must name one moment, and entries sharing
an eventLogId must belong to one event; walks.py applies the last rule across pages too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from points_conformance.checks.context import CheckContext
from points_conformance.checks.cross_member import (
    EVENT_NAMES,
    MAX_PAGE_SIZE,
    OPS,
    REVERSAL,
    caller_id,
    cml_body,
    cml_entries,
    entry_label,
    null_only,
    present,
    scope,
    shown_where_absent,
)
from points_conformance.checks.discrepancies import (
    D_CML_USER_SCOPE,
    D_CML_USERROLE,
    D_NULL_AS_ABSENT,
)
from points_conformance.checks.errors import refusal_codes
from points_conformance.checks.findings import capped, finding, problems_finding
from points_conformance.checks.ordering import order_finding
from points_conformance.checks.readers import (
    body,
    csv_param,
    dicts,
    has_param,
    int_param,
    is_success,
    param,
    parse_datetime,
    parse_local_datetime,
    refused_in_body,
    response_date,
    same_id,
)
from points_conformance.checks.registry import check, credit, declare
from points_conformance.model import Exchange, Finding

DEFAULT_WINDOW = timedelta(days=30)
# The default window is relative to the request time, which the client only knows to within
# the response's Date header; a day either side keeps a correct server clear of that doubt.
DEFAULT_WINDOW_SLACK = timedelta(days=1)
# A date sent without an offset may be read in any timezone.
NAIVE_DATE_SLACK = timedelta(hours=14)

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
    reversal_values_only = True
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
        # 002 says what userRole means for the redemption; on a reversal, who transacted and
        # whose rows are listed is not said (D-092): strict only.
        reversal = entry.get("eventName") == REVERSAL
        if reversal and not ctx.strict:
            continue
        if role is not None and isinstance(shown, str) and shown != role:
            values.append(f"{label}: userRole {shown}, expected {role}")
            reversal_values_only &= reversal
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
            discrepancy=D_NULL_AS_ABSENT if null_only(group_roles) else D_CML_USERROLE,
        ),
        *problems_finding(
            ex,
            "CML-USERROLE-VALUE",
            f"userRole does not describe customer {caller}'s part in the entry",
            "TRANSACTING when the caller is transactingCustomerId and not among entryDetails, "
            "SOURCE when among entryDetails and not transacting, BOTH when both",
            values,
            discrepancy=D_CML_USER_SCOPE if reversal_values_only else None,
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
    """The org's zone as the target file names it; None when it names none (002 says only "org
    timezone", so no zone is assumed)."""
    if not ctx.timezone:
        return None
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


# --------------------------------------------------------------------------------------------
# refusal codes the request alone decides

# 002's error table ties these codes to the request: "1003 | pageSize is outside the allowed
# range (1–100), or pageNumber is less than 1." and "1004 | Invalid value for scope (allowed:
# user, group) or eventName (allowed: CROSS_MEMBER_REDEMPTION, …_REVERSAL)."
SCOPES = frozenset({"user", "group"})


def stated_refusal(ex: Exchange) -> str | None:
    """The one code 002 gives for what is wrong with this request (None: none, or several)."""
    wrong: set[str] = set()
    size, number = int_param(ex, "pageSize"), int_param(ex, "pageNumber")
    if (size is not None and not 1 <= size <= MAX_PAGE_SIZE) or (number is not None and number < 1):
        wrong.add("CML-ERR-1003")
    asked_scope = param(ex, "scope")
    names = csv_param(ex, "eventName")
    # Case is not stated: only a value that matches no allowed one in any case is invalid.
    if (asked_scope is not None and asked_scope.strip().lower() not in SCOPES) or (
        names and not {n.upper() for n in names} <= EVENT_NAMES
    ):
        wrong.add("CML-ERR-1004")
    return wrong.pop() if len(wrong) == 1 else None


# A full date-time with its offset, as 002's examples write it; anything else may be what a
# server calls an invalid date (1001).
_FULL_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def _dates_plainly_valid(ex: Exchange) -> bool:
    return all(
        raw is None or (_FULL_DATE_TIME.match(raw) is not None and parse_datetime(raw) is not None)
        for raw in (param(ex, "startDate"), param(ex, "endDate"))
    )


def _dates_plainly_ordered(ex: Exchange) -> bool:
    # With one date left to its default, the other may fall on the wrong side of it.
    start, end = param(ex, "startDate"), param(ex, "endDate")
    if start is None and end is None:
        return True
    low, high = in_utc(parse_datetime(start)), in_utc(parse_datetime(end))
    return low is not None and high is not None and high >= low


def _paging_plainly_valid(ex: Exchange) -> bool:
    size, number = int_param(ex, "pageSize"), int_param(ex, "pageNumber")
    return (
        not has_param(ex, "pageSize") or (size is not None and 1 <= size <= MAX_PAGE_SIZE)
    ) and (not has_param(ex, "pageNumber") or (number is not None and number >= 1))


def _values_plainly_valid(ex: Exchange) -> bool:
    asked_scope = param(ex, "scope")
    names = csv_param(ex, "eventName")
    return (asked_scope is None or asked_scope.strip().lower() in SCOPES) and (
        not names or {n.upper() for n in names} <= EVENT_NAMES
    )


# 002's codes whose condition the request alone can rule out; the others (3301, 3401, 500 and
# codes of no table) depend on data the request does not show.
_RULED_OUT_BY_REQUEST = {
    1001: _dates_plainly_valid,
    1002: _dates_plainly_ordered,
    1003: _paging_plainly_valid,
    1004: _values_plainly_valid,
}


def _cannot_have_earned(ex: Exchange, code: int) -> bool:
    rule = _RULED_OUT_BY_REQUEST.get(code)
    return rule is not None and rule(ex)


@check("cml.refusal_code", requirements=("CML-ERR-1003", "CML-ERR-1004"), operations=OPS)
def refusal_code(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    """A refusal of a request 002 gives one code for carries that code.

    002 does not say which of several faults a server reports first, so a refusal that names
    another fault the request may have (a malformed date, an unknown customer) is not blamed.
    """
    requirement = stated_refusal(ex)
    refused = not is_success(ex) or refused_in_body(ex, strict=ctx.strict)
    codes = refusal_codes(body(ex)) if refused else []
    if requirement is None or not codes:
        return []
    credit(requirement)
    wanted = int(requirement.rsplit("-", 1)[1])
    if wanted in codes or not all(_cannot_have_earned(ex, code) for code in codes):
        return []
    return [
        finding(
            requirement,
            f"the request was refused with code {', '.join(map(str, codes))} instead of {wanted}",
            expected=f"error {wanted} (002's error table)",
            actual=f"HTTP {ex.response.status} with code {', '.join(map(str, codes))}",
            exchange=ex,
        )
    ]
