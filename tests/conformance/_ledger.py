"""What the ledger matrices share: judging a case's response, rows of a page, date anchors.

`judge` reads a case's `expect` field, which is one of:

- `ok`: HTTP 200; the response goes through every single-exchange check.
- `auth`: the credentials are rejected (HTTP 401, envelope code 401).
- `empty`: no rows match; strict: error 11003; lenient: also a 200 without rows (D-030).
- a mapping with one of `ok: true`, `error: [codes]` (an empty list: any code, for failures the
  pages name no code for), `ok_or_error: [codes]`, `empty: [codes]`; plus, for a 200, `rows:
  some` (the target promises matching rows), `rows: none`, or `rows: maybe` (nothing promises a
  match: rows, or else the `empty` outcome); plus `lenient: {...}`, keys that replace the others
  when the run is not strict.

`run_case` also reads these keys of a case: `filter` (a till or store parameter whose rows are
compared with the codes that till or store shows), `currencies` (alternate currencies whose
rows must show), `skip_when: {value, reason}` (skip the case when `value`, usually an
optional placeholder, has a value), `strict_only: <reason>` (skip the case unless the run is
strict: it asks what only one reading of the pages answers) and `lowercase: [names]` (send
those parameters in lower case, as 000 spells its sources).

The date anchors come from the newest `ledgerCreatedDate` over the ledger's pages: `sort` is a
parameter of the user-group form only, so the customer form is not asked for an order.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from points_conformance.checks import (
    CheckContext,
    check_store_filter,
    expect_auth_rejected,
    expect_currency_rows,
    expect_error,
    run_checks,
    walk_pages,
)
from points_conformance.checks.ledger import NARROWING
from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, Finding
from points_conformance.operations import PATHS
from points_conformance.target import TargetData

from ._cases import Case

LEDGER_INFO = "getCustomerLedgerInfo"
CONNECTED_ORGS = "getCustomerLedgerInfoConnectedOrgs"
BALANCE = "getCustomerLedgerBalance"
NO_ENTRIES = 11003
_OUTCOMES = ("ok", "auth", "error", "ok_or_error", "empty")
_NAMED: dict[str, dict[str, Any]] = {
    "ok": {"ok": True},
    "auth": {"auth": True},
    "empty": {"empty": [NO_ENTRIES]},
}
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
_CREATED = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def body(ex: Exchange) -> dict[str, Any]:
    data = ex.response.json
    return data if isinstance(data, dict) else {}


def rows(ex: Exchange) -> list[Any]:
    """The paginated list of a page: ledger entries, or the balance's closing-balance rows."""
    data = body(ex)
    if ex.operation == BALANCE:
        found = (data.get("ledgerDetails") or {}).get("ledgerClosingBalance")
    else:
        found = data.get("ledgerEntries")
    return found if isinstance(found, list) else []


NARROWING_PARAMS = frozenset(NARROWING)


def details(ex: Exchange) -> dict[str, Any]:
    found = body(ex).get("ledgerDetails")
    return found if isinstance(found, dict) else {}


def expectation(case: Case, *, strict: bool) -> dict[str, Any]:
    """The case's `expect` as a mapping, with lenient overrides applied when not strict."""
    raw = case.expect if case.expect is not None else "ok"
    base: dict[str, Any]
    if isinstance(raw, str):
        base = dict(_NAMED[raw])
    else:
        base = dict(raw)
    lenient = base.pop("lenient", None)
    if lenient and not strict:
        if any(key in lenient for key in _OUTCOMES):
            base = {k: v for k, v in base.items() if k not in _OUTCOMES}
        base.update(lenient)
    return base


def judge(ctx: CheckContext, case: Case, ex: Exchange, *, strict: bool) -> list[Finding]:
    """Findings for one response against the case's expectation (see the module docstring)."""
    want = expectation(case, strict=strict)
    requirement = case.requirements
    status = ex.response.status
    if want.get("auth"):
        return list(expect_auth_rejected(ctx, ex))
    if "error" in want:
        return list(expect_error(ctx, ex, codes=set(want["error"]), requirement=requirement))
    if "ok_or_error" in want:
        if status == 200:
            return _success(ctx, case, ex, want, strict=strict)
        return list(expect_error(ctx, ex, codes=set(want["ok_or_error"]), requirement=requirement))
    if "empty" in want:
        codes = set(want["empty"])
        if not strict and status == 200:
            return [*run_checks(ctx, ex), *_row_count(case, ex, "none")]
        return list(expect_error(ctx, ex, codes=codes, requirement=requirement))
    return _success(ctx, case, ex, want, strict=strict)


def _success(
    ctx: CheckContext, case: Case, ex: Exchange, want: dict[str, Any], *, strict: bool
) -> list[Finding]:
    status = ex.response.status
    if want.get("rows") == "maybe" and (status != 200 or not rows(ex)):
        return judge(ctx, dataclasses.replace(case, expect="empty"), ex, strict=strict)
    if status != 200:
        refused = [
            Finding(
                rid,
                f"{case.operation} rejected a valid request ({case.id})",
                expected="HTTP 200 with the ledger",
                actual=f"HTTP {status}: {ex.response.excerpt(300)}",
                exchange=ex,
            )
            for rid in case.requirements
        ]
        return [*refused, *run_checks(ctx, ex)]
    return [*run_checks(ctx, ex), *_row_count(case, ex, want.get("rows", "any"))]


def _row_count(case: Case, ex: Exchange, rule: str) -> list[Finding]:
    count = len(rows(ex))
    if rule == "some" and count == 0:
        return [
            Finding(
                case.requirements[0],
                f"no rows for a request the target's data must match ({case.id})",
                expected="at least one row (the target file describes matching data)",
                actual="an empty page",
                exchange=ex,
            )
        ]
    if rule == "none" and count:
        return [
            Finding(
                case.requirements[0],
                f"rows returned where none can match ({case.id})",
                expected="no rows",
                actual=f"{count} rows",
                exchange=ex,
            )
        ]
    return []


def created(entry: Any) -> datetime | None:
    """`ledgerCreatedDate` of an entry, to the second, or None when absent or unreadable."""
    text = entry.get("ledgerCreatedDate") if isinstance(entry, dict) else None
    match = _CREATED.match(text) if isinstance(text, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def date_windows(newest: datetime) -> dict[str, str]:
    """Request dates around the newest event, so every window below holds at least that event.

    `end` is one second after it; `start_90d` makes a window of exactly 90 days with `end`,
    `start_90d_1s` one a second longer; `start_60d` to `start_30d` is a window of 30 days,
    which 003's narrower limit allows too (D-002); `day_before` lies before `end`.
    """
    end = newest.replace(microsecond=0) + timedelta(seconds=1)
    points = {
        "end": end,
        "start_90d": end - timedelta(days=90),
        "start_90d_1s": end - timedelta(days=90, seconds=1),
        "start_30d": end - timedelta(days=30),
        "start_60d": end - timedelta(days=60),
        "start_200d": end - timedelta(days=200),
        "day_before": end - timedelta(days=1),
    }
    return {name: moment.strftime(DATE_FORMAT) for name, moment in points.items()}


def page_count(total: int, size: int) -> int:
    return math.ceil(total / size) if size > 0 else 0


def edge_page_size(total: int, boundary: str) -> int | None:
    """A page size that leaves `total` entries an exactly full last page ("full") or a last page
    of one entry ("plus_one"); None when no size from 1 to 100 does.

    Sizes up to 10 come first: every stance honours them (D-001), so the edge is where it was
    aimed; a larger one may be answered in pages of 10, which the checks follow.
    """
    remainder = 0 if boundary == "full" else 1
    sizes: list[int] = [*range(10, 0, -1), *range(11, 101)]
    fitting = [s for s in sizes if s <= total - remainder and total % s == remainder]
    return fitting[0] if total > remainder and fitting else None


# The rich customer named by mobile: the query of the tests that build their own ledger case.
RICH_CUSTOMER: dict[str, Any] = {
    "identifierName": "mobile",
    "identifierValue": "{customers.rich.mobile}",
    "source": "{target.source}",
    "accountId": "{target.account_id?}",
}
# Parameters that name whose ledger is read; probes keep only these.
IDENTITY = ("type", "identifierName", "identifierValue", "source", "accountId")
# Newest event per ledger and server: one probe per worker process, not one per case.
_ANCHORS: dict[tuple[Any, ...], datetime | None] = {}


def run_case(
    case: Case, *, client: ConformanceClient, target: TargetData, ctx: CheckContext
) -> list[Finding]:
    """Resolve, send and judge one case; the findings of every exchange it needed."""
    strict = bool(ctx.strict)
    if case.extra.get("strict_only") and not strict:
        pytest.skip(f"case {case.table}:{case.id}: strict only ({case.extra['strict_only']})")
    found: list[Finding] = []
    sections: dict[str, Any] = {}
    if case.uses("dates"):
        newest, probe_findings = newest_event(case, client=client, target=target, ctx=ctx)
        found += probe_findings
        if newest is None:
            return found
        sections["dates"] = date_windows(newest)
    if case.uses("paging"):
        paging, probe_findings = _paging(case, client=client, target=target, ctx=ctx, **sections)
        found += probe_findings
        if paging is None:
            return found
        sections["paging"] = paging
    resolved = case.resolve(target, **sections)
    skip_when = resolved.extra.get("skip_when") or {}
    if "value" in skip_when:
        pytest.skip(f"case {case.table}:{case.id}: {skip_when.get('reason', 'not applicable')}")
    lower = {
        name: str(resolved.params[name]).lower() for name in resolved.extra.get("lowercase") or []
    }
    if lower:
        resolved = dataclasses.replace(resolved, params={**resolved.params, **lower})
    ex = resolved.send(client)
    if not strict:
        ex = _first_page_with_rows(resolved, ex, client=client)
    found += judge(ctx, resolved, ex, strict=strict)
    if ex.response.status == 200 and resolved.extra.get("filter"):
        found += _store_filter(resolved, ex, client=client, ctx=ctx)
    if ex.response.status == 200 and resolved.extra.get("currencies"):
        currencies = resolved.extra["currencies"]
        found += expect_currency_rows(
            ctx, [ex], currencies=[str(c) for c in currencies], requirement=resolved.requirements[0]
        )
    return found


# Pages read after an empty first one, looking for the rows a row filter must show.
FILTERED_PAGES_MAX = 20


def _first_page_with_rows(case: Case, first: Exchange, *, client: ConformanceClient) -> Exchange:
    """The first page that shows rows, when a row-filtered query's first page is empty.

    Whether a row filter narrows the ledger before it is paged or each page after is open
    (D-070), so in the default run the rows the target promises may be on any page of the query;
    the first page that shows some stands for it, and is judged like the first.
    """
    if expectation(case, strict=False).get("rows") != "some" or "offset" in case.params:
        return first
    if first.response.status != 200 or rows(first) or not NARROWING_PARAMS & set(case.params):
        return first
    count = details(first).get("pageCount")
    if not isinstance(count, int):
        return first
    for offset in range(1, min(count, FILTERED_PAGES_MAX)):
        page = dataclasses.replace(case, params={**case.params, "offset": offset}).send(client)
        if page.response.status != 200:
            return first
        if rows(page):
            return page
    return first


def _probe(case: Case, params: dict[str, Any], *, operation: str | None = None) -> Case:
    op = operation or case.operation
    return dataclasses.replace(
        case, operation=op, path=PATHS[op], params=params, expect="ok", extra={}
    )


# The anchor probe reads at most this many pages of ANCHOR_PAGE entries (newest-first or not).
ANCHOR_PAGE = 100
ANCHOR_MAX_PAGES = 20


def newest_event(
    case: Case, *, client: ConformanceClient, target: TargetData, ctx: CheckContext
) -> tuple[Any, list[Finding]]:
    """The newest event of the ledger the case reads: the latest ledgerCreatedDate over its pages.

    No order is asked for (the customer form documents none), and isFilterBasedOnDate=false asks
    for the whole history (D-039), so the pages are read until the last or the cap.
    """
    operation = LEDGER_INFO if case.operation == BALANCE else case.operation
    identity = {k: v for k, v in case.params.items() if k in IDENTITY}
    params = {**identity, "isFilterBasedOnDate": False, "limit": ANCHOR_PAGE}
    probe = _probe(case, params, operation=operation).resolve(target)
    key = (
        getattr(client, "base_url", None),
        probe.path,
        tuple(sorted(probe.query().items())),
        tuple(sorted(probe.headers.items())),
    )
    if key in _ANCHORS:
        return _ANCHORS[key], []
    found: list[Finding] = []
    moments: list[datetime] = []
    last: Exchange | None = None
    for offset in range(ANCHOR_MAX_PAGES):
        page_case = dataclasses.replace(probe, params={**probe.params, "offset": offset})
        last = page_case.send(client)
        found += judge(ctx, page_case, last, strict=bool(ctx.strict))
        moments += [m for m in map(created, rows(last)) if m is not None]
        count = details(last).get("pageCount")
        if last.response.status != 200 or not isinstance(count, int) or offset + 1 >= count:
            break
    newest = max(moments) if moments else None
    if newest is None and not found and last is not None:
        found.append(
            Finding(
                case.requirements[0],
                "no ledger entry has a readable ledgerCreatedDate, so no date window can be "
                f"built for {case.id}",
                expected="ledgerCreatedDate as YYYY-MM-DD HH:MM:SS[.s] on the entries",
                actual=last.response.excerpt(300),
                exchange=last,
            )
        )
    if newest is not None:
        _ANCHORS[key] = newest
    return newest, found


def _paging(
    case: Case, *, client: ConformanceClient, target: TargetData, ctx: CheckContext, **sections: Any
) -> tuple[dict[str, int] | None, list[Finding]]:
    """Page count of the case's own query, from its first page."""
    params = {k: v for k, v in case.params.items() if k != "offset"}
    probe = _probe(case, {**params, "offset": 0}).resolve(target, **sections)
    ex = probe.send(client)
    found = judge(ctx, probe, ex, strict=bool(ctx.strict))
    count = details(ex).get("pageCount")
    if found or not isinstance(count, int) or count < 1:
        if not found:
            found.append(
                Finding(
                    case.requirements[0],
                    f"no usable pageCount on the first page, so {case.id} cannot pick its offset",
                    expected="ledgerDetails.pageCount, a positive integer",
                    actual=repr(count),
                    exchange=ex,
                )
            )
        return None, found
    return {"last": count - 1, "past": count, "beyond": count + 1, "count": count}, found


def _codes(ex: Exchange, name: str) -> set[str]:
    return {str(e.get(name)) for e in rows(ex) if isinstance(e, dict) and e.get(name) is not None}


def _store_filter(
    case: Case, ex: Exchange, *, client: ConformanceClient, ctx: CheckContext
) -> list[Finding]:
    """Rows of a till or store filter come from that till or store.

    The target file knows till and store ids, rows show codes: a single till or store must show
    one code throughout, a till list the codes its tills show one by one. (storeCode names the
    code itself, which the single-exchange checks already compare.)
    """
    kind = case.extra["filter"]
    value = case.params.get(kind)
    requirement = case.requirements[0]
    if kind == "storeCode":
        return []
    first = [e for e in rows(ex)[:1] if isinstance(e, dict)]
    if kind == "storeId":
        shown = {str(e.get("storeCode")) for e in first}
        if not shown:
            return []
        return check_store_filter(ctx, ex, allowed_store_codes=shown, requirement=requirement)
    if kind == "tillId":
        shown = {str(e.get("tillCode")) for e in first}
        if not shown:
            return []
        return check_store_filter(ctx, ex, allowed_till_codes=shown, requirement=requirement)
    allowed: set[str] = set()
    found: list[Finding] = []
    tills = value if isinstance(value, list) else str(value).split(",")
    for till in tills:
        params = {k: v for k, v in case.params.items() if k != "tillIds"}
        single = dataclasses.replace(case, params={**params, "tillId": till}, expect="ok")
        one = single.send(client)
        found += judge(ctx, single, one, strict=bool(ctx.strict))
        allowed |= _codes(one, "tillCode")
    return found + check_store_filter(ctx, ex, allowed_till_codes=allowed, requirement=requirement)


def read_all(
    case: Case, *, client: ConformanceClient, ctx: CheckContext, size: int, max_pages: int
) -> tuple[list[Exchange], list[Finding]]:
    """Every page of a resolved case's query in pages of `size`; skips past `max_pages` pages."""
    pages: list[Exchange] = []
    found: list[Finding] = []
    for offset in range(max_pages):
        page_case = dataclasses.replace(
            case, params={**case.params, "limit": size, "offset": offset}
        )
        page = page_case.send(client)
        found += judge(ctx, page_case, page, strict=bool(ctx.strict))
        pages.append(page)
        count = details(page).get("pageCount")
        if page.response.status != 200 or not isinstance(count, int) or offset + 1 >= count:
            return pages, found
    pytest.skip(f"case {case.table}:{case.id}: more than {max_pages} pages of {size}")


def reading_gaps(
    ctx: CheckContext, pages: Sequence[Exchange], found: Sequence[Finding]
) -> list[Finding] | None:
    """None when the pages of one reading hold the whole query as far as the paging rules can
    tell; else the findings of the walk over them. A comparison of that reading with another
    answer would blame the other answer for what the paging lost, so it is not made."""
    walked = walk_pages(ctx, pages, operation=pages[0].operation) if pages else []
    if any("-PAGE-" in f.requirement for f in [*found, *walked]):
        return walked
    return None
