"""summary.md: a short summary for a CI job page or a pull-request comment.

Server text (messages, URLs) is escaped so that it cannot add markup, links or mentions to the
page it is posted on.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from points_conformance.locations import DRY_RUN_FILE, REPORT_HTML, REPORT_JSON
from points_conformance.report.confirmation import summary_line
from points_conformance.report.model import (
    CONFORMS,
    DOES_NOT_CONFORM,
    FAILED,
    LABELS,
    NOT_EXERCISED,
    PASSED,
    SKIPPED,
    STATUSES,
    waiver_label,
)
from points_conformance.report.traffic import statuses_text, write_groups

# Beyond this, a comment stops being short; the rest are named on one line.
MAX_DETAILED = 20
MAX_NAMED = 200

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_text(value: Any, limit: int = 240) -> str:
    """One line of plain text, safe inside Markdown (and a table cell)."""
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = html.escape(text, quote=False).replace("@", "&#64;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def code_span(value: Any) -> str:
    text = " ".join(str(value or "").split()).replace("|", "¦")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def code_block(value: Any, lang: str = "") -> str:
    text = str(value or "")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _first_curl(record: Mapping[str, Any]) -> str:
    for finding in record.get("findings", []):
        curl = ((finding.get("exchange") or {}).get("request") or {}).get("curl")
        if curl:
            return str(curl)
    return ""


def render_markdown(report: dict[str, Any]) -> str:
    counts = report["counts"]
    verdict = str(report.get("verdict", ""))
    kind = str(report.get("verdict_kind") or verdict)
    mark = {CONFORMS: "PASS", DOES_NOT_CONFORM: "FAIL"}.get(kind, "INCOMPLETE")
    lines = [
        f"## Points API conformance: **{mark}**, {md_text(verdict)} ({md_text(report.get('stance'))} stance)",
        "",
        f"Target {code_span(report.get('target') or '(not set)')} · "
        f"harness {md_text(report.get('versions', {}).get('harness', ''))} · "
        f"spec {code_span(str(report.get('versions', {}).get('spec', ''))[:19])} · "
        f"{md_text(report.get('finished', ''))}",
        "",
        "| " + " | ".join(LABELS[s] for s in STATUSES) + " | total |",
        "|" + "---:|" * (len(STATUSES) + 1),
        "| "
        + " | ".join(str(counts.get(s, 0)) for s in STATUSES)
        + f" | {counts.get('total', 0)} |",
        "",
    ]
    confirmed = summary_line(report)
    if confirmed:
        lines += [md_text(confirmed, 400), ""]
    if report.get("incomplete"):
        lines += ["The run was incomplete (interrupted, or tests failed to collect).", ""]
    lines += _unchecked_and_waivers(report)
    operations = report.get("operations", {})
    if operations:
        lines += [
            "| operation | " + " | ".join(LABELS[s] for s in STATUSES) + " |",
            "|---|" + "---:|" * len(STATUSES),
        ]
        for op, row in operations.items():
            lines.append(
                f"| {md_text(op)} | " + " | ".join(str(row.get(s, 0)) for s in STATUSES) + " |"
            )
        lines.append("")
    failed = [r for r in report["requirements"].values() if r["status"] == FAILED]
    lines += _failed_lines(failed)
    disc = report.get("discrepancies", [])
    depending = [d for d in disc if d.get("findings") or d.get("failed_requirements")]
    stance_line = (
        f"Stance: **{md_text(report.get('stance'))}** "
        f"({len(disc)} entries in the discrepancy register"
    )
    if depending:
        stance_line += "; findings depend on " + ", ".join(md_text(d.get("id")) for d in depending)
    lines += [stance_line + ").", ""]
    if not failed:
        settled = counts.get(PASSED, 0)
        lines += [
            f"{settled} requirements passed; {counts.get(SKIPPED, 0)} skipped, "
            f"{counts.get(NOT_EXERCISED, 0)} not exercised"
            + (
                f" ({len(report.get('untestable') or [])} of them untestable from outside)."
                if report.get("untestable")
                else "."
            ),
            "",
        ]
    lines += _traffic(report)
    lines.append(f"Details: `{REPORT_HTML}` (open in a browser), data: `{REPORT_JSON}`.")
    return "\n".join(lines) + "\n"


def _failed_lines(failed: list[dict[str, Any]]) -> list[str]:
    """The failed requirements, the first few with a reason and a curl repro."""
    lines: list[str] = []
    if failed:
        lines += [f"### Failed requirements ({len(failed)})", ""]
        for record in failed[:MAX_DETAILED]:
            failed_ops = [op for op, s in record.get("by_operation", {}).items() if s == FAILED]
            ops = ", ".join(failed_ops or record.get("operations", []))
            where = f" ({md_text(ops)})" if ops else ""
            label = f" \\[{record['confirmation']}\\]" if record.get("confirmation") else ""
            lines.append(
                f"- **{md_text(record['id'])}**{where}: {md_text(record.get('reason'))}{label}"
            )
            curl = _first_curl(record)
            if curl:
                lines += ["", "  " + code_block(curl, "sh").replace("\n", "\n  "), ""]
        rest = failed[MAX_DETAILED:]
        if rest:
            named = ", ".join(md_text(r["id"]) for r in rest[:MAX_NAMED])
            more = f" and {len(rest) - MAX_NAMED} more" if len(rest) > MAX_NAMED else ""
            lines += ["", f"Also failed: {named}{more}."]
        lines.append("")
    return lines


def _unchecked_and_waivers(report: Mapping[str, Any]) -> list[str]:
    """Why the verdict is incomplete, what would let each unchecked requirement run, and what
    the waivers did."""
    lines: list[str] = []
    reasons = report.get("verdict_reasons") or []
    if reasons:
        lines += ["Incomplete: " + md_text("; ".join(reasons)) + ".", ""]
    rows = report.get("unchecked") or []
    if rows:
        lines += [f"### Unchecked requirements ({len(rows)})", ""]
        for row in rows[:MAX_DETAILED]:
            needs = "; ".join(row.get("unlock") or [])
            why = f"needs {needs}" if needs else row.get("reason", "")
            lines.append(
                f"- **{md_text(row['id'])}** ({md_text(LABELS.get(row['status']))}): {md_text(why)}"
            )
        if len(rows) > MAX_DETAILED:
            lines.append(f"- … and {len(rows) - MAX_DETAILED} more.")
        lines.append("")
    section = report.get("waivers") or {}
    for title, key in (
        ("Waived", "applied"),
        ("Expired waivers", "expired"),
        ("Stale waivers", "stale"),
    ):
        entries = section.get(key) or []
        if entries:
            lines += [f"### {title} ({len(entries)})", ""]
            lines += [f"- {md_text(waiver_label(w))}: {md_text(w.get('reason'))}" for w in entries]
            lines.append("")
    return lines


def _traffic(report: dict[str, Any]) -> list[str]:
    """What the run did to the target: requests, writes, throttling, redirects, dry run."""
    writes = report.get("writes") or []
    throttling = report.get("throttling") or {}
    responses = int(throttling.get("responses") or report.get("throttled") or 0)
    lines = [f"### Traffic: {int(report.get('requests') or 0)} requests sent", ""]
    if responses:
        lines.append(
            f"- Throttled: the target answered HTTP 429 {responses} times; "
            f"{float(throttling.get('waited') or 0):g} s spent waiting as it asked, "
            f"{int(throttling.get('gave_up') or 0)} requests given up."
        )
    else:
        lines.append("- Throttled: never (no HTTP 429).")
    groups = write_groups(writes)
    lines.append(
        f"- Writes sent (state-changing requests): {len(writes)}"
        + (", by operation:" if groups else ".")
    )
    for group in groups[:MAX_DETAILED]:
        request = f"{group['method']} {group['path']}"
        statuses = statuses_text(group)
        lines.append(
            f"  - {md_text(group['operation'] or '(operation not recorded)')} "
            f"{code_span(request)}: {group['count']}"
            + (f" (status {md_text(statuses)})" if statuses else "")
        )
    if len(groups) > MAX_DETAILED:
        rest = sum(g["count"] for g in groups[MAX_DETAILED:])
        lines.append(f"  - … and {rest} more (see `{REPORT_JSON}`).")
    redirects = report.get("redirects") or []
    if redirects:
        lines.append(
            f"- Redirects to another host, not followed (credentials stay with the target): "
            f"{len(redirects)}."
        )
    dry_run = report.get("dry_run")
    if dry_run is not None:
        planned = dry_run.get("requests") or []
        lines.append(
            f"- Dry run: no request was sent; {len(planned)} planned requests are listed in "
            f"`{DRY_RUN_FILE}`."
        )
    return [*lines, ""]
