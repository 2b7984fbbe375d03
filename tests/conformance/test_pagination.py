"""Pagination walks of the ledger operations: every page, for several page sizes.

Each walk (cases/ledger_walks.yaml) reads pages 0 .. pageCount-1, hands them to `walk_pages`
(union equals totalEntries, no duplicates or gaps, full pages but the last, pageCount identity,
one order throughout, first page 0), then asks for the page past the last. Ledgers whose size
the target file gives are also held to it. The page edges (a full last page, a page plus one)
are made from whatever totalEntries the ledger has, by choosing the page size.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from points_conformance.checks import CheckContext, walk_pages
from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, Finding
from points_conformance.plugin.fixtures import FindingsRecorder
from points_conformance.target import TargetData

from ._cases import Case, load_table
from ._ledger import details, edge_page_size, judge, page_count, rows

# A walk stops before it starts when it would need more pages than this: a slow or very large
# ledger must not turn one test into thousands of requests.
MAX_PAGES = 120


def _walks() -> list[Any]:
    params = []
    for case in load_table("ledger_walks"):
        ids = [*case.requirements]
        if case.extra.get("past_requirement"):
            ids.append(case.extra["past_requirement"])
        if "events" in case.extra:
            ids.append(case.extra["events_requirement"])
        # A walk rests on its ledger not changing between pages.
        marks = [pytest.mark.requirement(*dict.fromkeys(ids)), pytest.mark.reads(*case.named())]
        if case.extra.get("boundary"):
            params.append(pytest.param(case, None, id=case.id, marks=marks))
            continue
        for size in case.extra.get("sizes") or [None]:
            params.append(
                pytest.param(
                    case,
                    size,
                    id=f"{case.id}-{size if size is not None else 'default'}",
                    marks=marks,
                )
            )
    return params


def _page(case: Case, size: int | None, offset: int) -> Case:
    params = dict(case.params)
    if size is not None:
        params["limit"] = size
    params["offset"] = offset
    return dataclasses.replace(case, params=params)


def _log_ids(ex: Exchange) -> list[Any]:
    return [e.get("eventLogId") for e in rows(ex) if isinstance(e, dict)]


def _reads_offset_as_index(first: Exchange, second: Exchange) -> bool:
    """offset=1 started at the second entry of page 0: a starting index, not a page number."""
    head, nxt = _log_ids(first), _log_ids(second)
    return len(head) > 1 and bool(nxt) and nxt[0] == head[1] and nxt[:1] != head[-1:]


@pytest.mark.parametrize(("case", "size"), _walks())
def test_walk(
    case: Case,
    size: int | None,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    case = case.resolve(target)
    strict = bool(check_context.strict)
    if case.extra.get("boundary"):
        findings.add(_edge(case, client, check_context, strict=strict))
        return
    events = case.extra.get("events")
    if isinstance(events, int) and size and page_count(events, size) > MAX_PAGES:
        pytest.skip(f"{events} events in pages of {size} exceed the cap of {MAX_PAGES} pages")
    first_case = _page(case, size, 0)
    first = first_case.send(client)
    if case.extra.get("empty"):
        findings.add(_empty_ledger(first_case, first, check_context, strict=strict))
        return
    found = judge(check_context, first_case, first, strict=strict)
    count = details(first).get("pageCount")
    if first.response.status != 200 or not isinstance(count, int) or count < 1:
        findings.add(found or [_no_pages(case, first, count)])
        return
    if count > MAX_PAGES:
        findings.add(found)
        pytest.skip(f"pageCount {count} exceeds the cap of {MAX_PAGES} pages")
    step = 1
    pages = [first]
    for number in range(1, count):
        page_case = _page(case, size, number * step)
        page = page_case.send(client)
        if number == 1 and case.extra.get("group") and not strict:
            if _reads_offset_as_index(first, page):
                # D-004, lenient: this server reads a group's offset as a starting index, so
                # the walk steps by the page size and pageNumber is not held to the page number.
                step = len(rows(first))
                page_case = _page(case, size, step)
                page = page_case.send(client)
        found += judge(check_context, page_case, page, strict=strict)
        pages.append(page)
    walked = walk_pages(check_context, pages, operation=case.operation)
    if step != 1:
        walked = [f for f in walked if not f.requirement.endswith("-PAGE-INDEX")]
    found += walked
    found += _events(case, first, strict=strict)
    if case.extra.get("past_requirement"):
        past_case = dataclasses.replace(
            _page(case, size, count * step),
            requirements=(case.extra["past_requirement"],),
            expect=case.extra.get("past_expect", "empty"),
        )
        found += judge(check_context, past_case, past_case.send(client), strict=strict)
    findings.add(found)


def _edge(
    case: Case, client: ConformanceClient, ctx: CheckContext, *, strict: bool
) -> list[Finding]:
    """The page edge `case.extra["boundary"]` of this ledger: page 0 at the default size tells
    totalEntries, then page 0, the last page and the page past it at the size that makes the edge.
    """
    probe_case = _page(case, None, 0)
    probe = probe_case.send(client)
    found = judge(ctx, probe_case, probe, strict=strict)
    total = details(probe).get("totalEntries")
    if probe.response.status != 200 or not isinstance(total, int):
        return found or [_no_pages(case, probe, total)]
    size = edge_page_size(total, case.extra["boundary"])
    if size is None:
        pytest.skip(f"no page size from 1 to 100 makes a {case.id} of {total} entries")
    first_case = _page(case, size, 0)
    first = first_case.send(client)
    found += judge(ctx, first_case, first, strict=strict)
    count = details(first).get("pageCount")
    if first.response.status != 200 or not isinstance(count, int) or count < 1:
        return found or [_no_pages(case, first, count)]
    if count > 1:
        last_case = _page(case, size, count - 1)
        found += judge(ctx, last_case, last_case.send(client), strict=strict)
    past_case = dataclasses.replace(
        _page(case, size, count),
        requirements=(case.extra["past_requirement"],),
        expect=case.extra.get("past_expect", "empty"),
    )
    found += judge(ctx, past_case, past_case.send(client), strict=strict)
    return found


def _empty_ledger(case: Case, ex: Exchange, ctx: CheckContext, *, strict: bool) -> list[Finding]:
    """A ledger without entries: 11003 (strict), or a 200 that says so in its counts."""
    found = judge(ctx, dataclasses.replace(case, expect="empty"), ex, strict=strict)
    if ex.response.status == 200:
        found += walk_pages(ctx, [ex], operation=case.operation)
        found += _events(case, ex, strict=strict)
    return found


def _events(case: Case, first: Exchange, *, strict: bool) -> list[Finding]:
    """totalEntries equals the number of events the target file says the ledger holds.

    Only a query that asks for the whole history says so by default: without dates 000 and 001
    return it, 003 seven days (D-039), while isFilterBasedOnDate=false is plain on every page.
    """
    if not strict and str(case.params.get("isFilterBasedOnDate")).lower() != "false":
        return []
    events = case.extra.get("events")
    total = details(first).get("totalEntries")
    if not isinstance(events, int) or total == events:
        return []
    return [
        Finding(
            case.extra["events_requirement"],
            f"totalEntries of the whole ledger ({case.id}) differs from the target file",
            expected=f"{events} entries (the target file's events for this ledger)",
            actual=f"totalEntries = {total!r}",
            exchange=first,
        )
    ]


def _no_pages(case: Case, ex: Exchange, count: Any) -> Finding:
    return Finding(
        case.requirements[0],
        f"the first page of {case.id} gives no page count to walk",
        expected="ledgerDetails.pageCount, a positive integer",
        actual=f"pageCount = {count!r}",
        exchange=ex,
    )
