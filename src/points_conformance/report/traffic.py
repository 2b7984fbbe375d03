"""The writes a run sent, grouped by operation for the reports that people read.

A run against the reference server sends hundreds of writes, most of them the same request to
the same operation; listed one by one they bury the one line that says where the writes went.
`conformance.json` keeps every write; summary.md and the HTML page show these groups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from points_conformance.report.model import operation_order


def _path(url: Any) -> str:
    try:
        return urlsplit(str(url or "")).path or "/"
    except ValueError:
        return str(url or "")


def write_groups(writes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One group per operation, method and path: how many writes, and the statuses they got.

    Groups come in the operations table's order, the largest first within an operation; a
    write from a report that predates the `operation` field is grouped by method and path.
    """
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for write in writes:
        operation = str(write.get("operation") or "")
        method = str(write.get("method") or "")
        path = _path(write.get("url"))
        group = groups.setdefault(
            (operation, method, path),
            {"operation": operation, "method": method, "path": path, "count": 0, "statuses": {}},
        )
        group["count"] += 1
        status = write.get("status")
        if status is not None:
            group["statuses"][str(status)] = group["statuses"].get(str(status), 0) + 1
    order = {op: i for i, op in enumerate(operation_order(op for op, _, _ in groups))}
    ranked = sorted(
        groups.values(),
        key=lambda g: (order.get(g["operation"], len(order)), -g["count"], g["method"], g["path"]),
    )
    for group in ranked:
        group["statuses"] = dict(sorted(group["statuses"].items()))
    return ranked


def statuses_text(group: Mapping[str, Any]) -> str:
    """`200 ×3, 400 ×1`, or "" when the writes carry no status."""
    return ", ".join(f"{code} ×{n}" for code, n in (group.get("statuses") or {}).items())
