"""Finds, among recorded exchanges, the complete walks over the pages of one query.

A client that reads a paginated list asks for its first page, then the next, until the page
count the first page gave: the same operation and query but the page index. `Walks` follows
such runs as the exchanges stream past and hands back each one that reached its last page, for
`checks.walk_pages`. A run broken off (a page skipped, an error, another first page) is dropped;
so is the oldest run once `MAX_OPEN` are open, and a run longer than `MAX_PAGES` pages, so
that memory stays bounded on any recording.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from points_conformance.checks.readers import has_param, int_param
from points_conformance.checks.walks import WALKS
from points_conformance.model import Exchange

# The parameter that names the page asked for, per paginated operation.
INDEX_PARAMS = {
    "getCustomerLedgerInfo": "offset",
    "getCustomerLedgerInfoConnectedOrgs": "offset",
    "getCustomerLedgerBalance": "offset",
    "getCrossMemberLedger": "pageNumber",
}
MAX_OPEN = 64
MAX_PAGES = 200

_Key = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass
class _Run:
    pages: list[Exchange] = field(default_factory=list)
    page_count: int = 0


@dataclass
class Walks:
    """The open runs of pages, by query; `add` returns the walks an exchange completed."""

    open: OrderedDict[_Key, _Run] = field(default_factory=OrderedDict)
    dropped: int = 0

    def add(self, ex: Exchange) -> list[list[Exchange]]:
        index_param = INDEX_PARAMS.get(ex.operation)
        walk = WALKS.get(ex.operation)
        if index_param is None or walk is None:
            return []
        index = int_param(ex, index_param) if has_param(ex, index_param) else walk.first_index
        key = _query_key(ex, index_param)
        page = walk.read(ex)
        run = self.open.pop(key, None)
        if index is None or page is None:
            self._drop(run)
            return []
        if index == walk.first_index:
            self._drop(run)
            if page.page_count is None or page.page_count < 1:
                return []
            run = _Run([ex], page.page_count)
        elif run is not None and index == walk.first_index + len(run.pages):
            run.pages.append(ex)
        else:
            self._drop(run)
            return []
        if len(run.pages) >= run.page_count:
            return [run.pages]
        if len(run.pages) >= MAX_PAGES:
            self._drop(run)
            return []
        self.open[key] = run
        while len(self.open) > MAX_OPEN:
            self._drop(self.open.popitem(last=False)[1])
        return []

    def close(self) -> None:
        """Drop the runs still open: a recording that ends mid-walk holds no whole walk."""
        for run in self.open.values():
            self._drop(run)
        self.open.clear()

    def _drop(self, run: _Run | None) -> None:
        if run is not None:
            self.dropped += 1


def _query_key(ex: Exchange, index_param: str) -> _Key:
    """The query a page belongs to: operation, path and every parameter but the page index."""
    params = tuple(sorted((k, v) for k, v in ex.request.params if k != index_param))
    return (ex.operation, ex.request.path, params)
