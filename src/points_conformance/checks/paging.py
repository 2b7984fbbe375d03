"""The paging fields of one page of a paginated list, and the rules every such list shares.

The ledger (001, 000), the ledger balance (003) and the cross-member ledger (002) page their
lists alike: a details object with pageNumber, pageSize, totalEntries and pageCount beside the
page's items. Reading a page, the page size a request asked for and the page-count identity are
written once here; each area's paging check (its defaults and limits) sits with its other
rules, and rules over every page of a query are in walks.py.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from points_conformance.checks.findings import finding
from points_conformance.checks.readers import (
    as_dict,
    as_int,
    dicts,
    has_param,
    int_param,
    success_object,
)
from points_conformance.checks.registry import credit
from points_conformance.model import Exchange, Finding


@dataclass(frozen=True)
class Page:
    """The paging fields and items of a paginated body; None where unreadable."""

    page_number: int | None
    page_size: int | None
    total: int | None
    page_count: int | None
    items: list[dict[str, Any]] | None

    @property
    def item_count(self) -> int | None:
        """How many items the page carries; None where its items are unreadable."""
        return len(self.items) if self.items is not None else None


def read_page(body: dict[str, Any], details_key: str, items_key: str) -> Page:
    details = as_dict(body.get(details_key)) or {}
    container = body if items_key in body else details
    raw_items = container.get(items_key)
    return Page(
        page_number=as_int(details.get("pageNumber")),
        page_size=as_int(details.get("pageSize")),
        total=as_int(details.get("totalEntries")),
        page_count=as_int(details.get("pageCount")),
        items=dicts(raw_items) if isinstance(raw_items, list) else None,
    )


def ledger_details_page(ex: Exchange, items_key: str) -> Page | None:
    """The page of a successful ledger or balance response (001, 000, 003); None otherwise."""
    data = success_object(ex)
    return read_page(data, "ledgerDetails", items_key) if data is not None else None


def expected_page_count(total: int, size: int) -> int:
    """ceil(total / size); a page size of zero has no pages."""
    if size <= 0:
        return 0
    return -(-total // size)


def page_share(total: int, size: int, index: int) -> int:
    """Entries on the 0-based page `index`: a full page, the remainder on the last, else none."""
    if index < 0:
        return 0
    return max(0, min(size, total - index * size))


def page_count_findings(
    ex: Exchange,
    requirement: str,
    page: Page,
    size: int | None,
    *,
    empty_pages: Collection[int] = (0,),
    discrepancy: str | None = None,
) -> list[Finding]:
    """The page-count identity, pageCount = ceil(totalEntries / pageSize), with `size` the page
    size it is computed with (None when the page leaves it unknown; 0 has no pages).

    `empty_pages` are the page counts accepted when totalEntries is 0: a list whose pages state
    no formula may count its one empty page; `discrepancy` is named on a finding then.
    """
    if size is None or page.total is None or page.page_count is None:
        return []
    credit(requirement)
    pages = expected_page_count(page.total, size)
    if page.page_count == pages or (page.total == 0 and page.page_count in empty_pages):
        return []
    return [
        finding(
            requirement,
            "pageCount is not ceil(totalEntries / pageSize)",
            expected=f"pageCount {pages} = ceil({page.total} / {size})",
            actual=f"pageCount {page.page_count}",
            exchange=ex,
            discrepancy=discrepancy if page.total == 0 else None,
        )
    ]


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


def identity_size(page: Page, requested: int | None, *, strict: bool) -> int | None:
    """The page size the page-count identity is computed with (None when no size can be).

    000 and 003 call pageSize the "number of entries shown on the current page", 001 the page
    size (D-057); when a page shows its count there, the identity still uses the requested size.
    Where no size was asked for and the page shows its count, the default run takes the size
    that makes the page consistent: the count itself on a full page, or on the last of
    pageCount pages (totalEntries - count) / (pageCount - 1), when that is a whole number no
    smaller than the count. Failing both, the count stands, and the identity fails with it.
    """
    reported, count = page.page_size, page.item_count
    if requested is not None:
        return requested if reported in (requested, count) else reported
    if strict or reported != count or not count or page.total is None or not page.page_count:
        return reported
    if expected_page_count(page.total, count) == page.page_count or page.page_count == 1:
        return count
    rest, earlier = page.total - count, page.page_count - 1
    if rest > 0 and rest % earlier == 0 and rest // earlier >= count:
        return rest // earlier
    return count
