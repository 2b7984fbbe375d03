"""The lines a console shows under a run's verdict: what went unchecked and what would let it
run, and what the waivers did. The pytest summary and `points-conformance run` both print them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from points_conformance.report.model import KEY_PREFIX, LABELS, gate_problems, waiver_label

MAX_LISTED = 12


def unchecked_lines(report: Mapping[str, Any], limit: int = MAX_LISTED) -> list[str]:
    """The unchecked requirements, each with what would let it run."""
    rows = report.get("unchecked") or []
    if not rows:
        return []
    lines = [f"unchecked requirements ({len(rows)}), and what would let them run:"]
    for row in rows[:limit]:
        needs = "; ".join(row.get("unlock") or [])
        why = f"needs {needs}" if needs else row.get("reason", "")
        lines.append(f"  {row['id']}  [{LABELS.get(row['status'], row['status'])}]  {why}")
    if len(rows) > limit:
        more = "more " if limit else ""
        lines.append(f"  … {len(rows) - limit} {more}listed in the report")
    keys = sorted(
        {
            u.removeprefix(KEY_PREFIX)
            for r in rows
            for u in r.get("unlock") or []
            if u.startswith(KEY_PREFIX)
        }
    )
    if keys:
        lines.append("  target-file keys that would unlock them: " + ", ".join(keys))
    lines.append("  (or a waiver for each: --waivers FILE)")
    return lines


def waiver_lines(report: Mapping[str, Any]) -> list[str]:
    """What the run's waivers did: applied, expired, stale."""
    section = report.get("waivers") or {}
    lines: list[str] = []
    titles = (
        ("waived", "applied"),
        ("expired, so waiving nothing", "expired"),
        ("stale: the requirement passes, or nothing needed the data", "stale"),
    )
    for title, key in titles:
        entries = section.get(key) or []
        if not entries:
            continue
        lines.append(f"{title} ({len(entries)}):")
        for entry in entries:
            covered = entry.get("requirements") or []
            extra = f" -> {', '.join(covered)}" if covered and not entry.get("requirement") else ""
            lines.append(f"  {waiver_label(entry)}{extra}")
    problems = gate_problems(report)
    if problems:
        lines.append("waiver problems that fail the gate: " + "; ".join(problems))
    return lines
