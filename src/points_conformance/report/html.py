"""conformance.html: one self-contained page (inline CSS and JS, nothing fetched) for people.

Response bodies, messages and URLs come from the server under test, so every piece of report
text is escaped, and a Content-Security-Policy forbids loading anything at all. Filters read and
write the URL fragment (`#status=failed&op=transferPoints&q=otp`, `#open=REQ-ID`), so a link can
point a colleague at exactly the failures to look at.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from typing import Any

from points_conformance.locations import REPORT_JSON
from points_conformance.report.confirmation import LABEL_TEXT, summary_line
from points_conformance.report.html_page import CSP, CSS, JS
from points_conformance.report.model import (
    FAILED,
    LABELS,
    NOT_EXERCISED,
    PASSED,
    SKIPPED,
    STATUSES,
    UNTESTABLE_LABEL,
    WAIVED,
    operation_order,
    unlock,
    waiver_label,
)
from points_conformance.report.traffic import statuses_text, write_groups

# A requirement every test touches would otherwise list hundreds of tests.
MAX_TESTS_SHOWN = 30

# Shown in cells next to the colour, so that status never rests on colour alone.
SYMBOLS = {PASSED: "✓", FAILED: "✗", WAIVED: "w", SKIPPED: "–", NOT_EXERCISED: "·"}


def e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _source(record: Mapping[str, Any]) -> str:
    source = record.get("source") or {}
    page, heading = source.get("page", ""), source.get("heading", "")
    if page and heading:
        return f"{page} § {heading}"
    return str(page or heading)


def _search_text(record: Mapping[str, Any]) -> str:
    parts = [
        record["id"],
        record.get("statement", ""),
        _source(record),
        record.get("reason", ""),
        " ".join(record.get("operations", [])),
        # Each test once without its parameters: every test of a rule that all answers are
        # checked against, listed in two places per rule, made most of the page.
        " ".join(
            dict.fromkeys(str(t.get("nodeid", "")).split("[")[0] for t in record.get("tests", []))
        ),
    ]
    return " ".join(" ".join(str(p) for p in parts).split()).lower()


def _item_attrs(record: Mapping[str, Any], ops: Iterable[str]) -> str:
    return (
        f'data-req="" data-status="{e(record["status"])}" data-ops="{e(" ".join(ops))}" '
        f'data-search="{e(_search_text(record))}"'
    )


def _badge(status: str) -> str:
    return f'<span class="badge s-{e(status)}">{e(LABELS.get(status, status))}</span>'


def _all_operations(report: Mapping[str, Any]) -> list[str]:
    ops: set[str] = set(report.get("operations", {}))
    for record in report["requirements"].values():
        ops.update(record.get("by_operation", {}))
        ops.update(record.get("operations", []))
    return operation_order(ops)


def _header(report: Mapping[str, Any]) -> str:
    verdict = str(report.get("verdict", ""))
    kind = str(report.get("verdict_kind") or verdict)
    versions = report.get("versions", {})
    spec = str(versions.get("spec", ""))
    meta = [
        ("Target", report.get("target") or "(not set)"),
        ("Stance", report.get("stance", "")),
        ("Started", report.get("started", "")),
        ("Finished", report.get("finished", "")),
        ("Harness", versions.get("harness", "")),
        ("Spec", spec[:23] + "…" if len(spec) > 24 else spec),
    ]
    items = "".join(f"<span>{e(k)}: <b>{e(v)}</b></span>" for k, v in meta)
    warn = ""
    reasons = report.get("verdict_reasons") or []
    if reasons:
        warn += f'<p class="small">Incomplete: {e("; ".join(reasons))}.</p>'
    if report.get("incomplete"):
        warn += '<p class="small">The run did not finish every test, or some tests could not be collected: figures are partial.</p>'
    if report.get("catalogue_error"):
        warn += f'<p class="small">{e(report["catalogue_error"])}</p>'
    if report.get("sources"):
        warn += f'<p class="small">Merged from {len(report["sources"])} reports: {e(", ".join(report["sources"]))}</p>'
    return (
        f"<header><h1>{e(report.get('title', 'Conformance report'))}</h1>"
        f'<span class="verdict v-{e(kind.replace(" ", "-"))}">{e(verdict)}</span>'
        f'<div class="meta">{items}</div>{warn}</header>'
    )


def _summary(report: Mapping[str, Any]) -> str:
    counts = report["counts"]
    confirmed = summary_line(report)
    total = counts.get("total", 0) or 0
    parts = []
    bar = []
    for status in STATUSES:
        n = counts.get(status, 0)
        parts.append(
            f'<span class="count s-{status}" data-count="{status}"><b>{n}</b>{e(LABELS[status])}</span>'
        )
        if total and n:
            width = 100.0 * n / total
            bar.append(
                f'<span class="s-{status}" style="width:{width:.3f}%" '
                f'title="{e(LABELS[status])}: {n} of {total}"></span>'
            )
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<div class="counts">{"".join(parts)}<span class="count"><b>{total}</b>requirements</span></div>'
        f'<div class="bar" role="img" aria-label="requirement statuses">{"".join(bar)}</div>'
        + (f'<p class="confirmation">{e(confirmed)}</p>' if confirmed else "")
        + "</section>"
    )


def _filters(operations: list[str]) -> str:
    boxes = "".join(
        f'<label><input type="checkbox" name="status" value="{s}" checked> {e(LABELS[s])}</label>'
        for s in STATUSES
    )
    options = '<option value="">all operations</option>' + "".join(
        f'<option value="{e(op)}">{e(op)}</option>' for op in operations
    )
    return (
        '<div class="filters" id="filters">'
        f"<span>{boxes}</span>"
        f'<label>Operation <select id="f-op">{options}</select></label>'
        '<label>Search <input type="search" id="f-q" placeholder="ID, text, page, test"></label>'
        '<button type="button" id="f-reset">Reset</button>'
        '<button type="button" id="f-expand">Open shown failures</button>'
        '<span id="f-shown"></span></div>'
    )


def _matrix(report: Mapping[str, Any], operations: list[str]) -> str:
    head = "".join(f'<th class="op" data-op="{e(op)}">{e(op)}</th>' for op in operations)
    rows = []
    for rid, record in report["requirements"].items():
        cells_by_op = record.get("by_operation", {})
        ops = [op for op in operations if op in cells_by_op]
        cells = []
        for op in operations:
            status = cells_by_op.get(op)
            if status is None:
                cells.append(f'<td class="cell na" data-op="{e(op)}"></td>')
            else:
                cells.append(
                    f'<td class="cell s-{e(status)}" data-op="{e(op)}" '
                    f'title="{e(rid)} · {e(op)}: {e(LABELS.get(status, status))}">'
                    f"{SYMBOLS.get(status, '?')}</td>"
                )
        rows.append(
            f'<tr {_item_attrs(record, ops)}><th><a href="#req-{e(rid)}">{e(rid)}</a></th>'
            f"<td>{_badge(record['status'])}</td>{''.join(cells)}</tr>"
        )
    return (
        '<section id="matrix"><h2>Requirements × operations</h2>'
        '<p class="small">Each cell is the requirement\'s status for that operation; an empty '
        "cell means the requirement does not concern it.</p>"
        '<div class="matrix-wrap"><table class="matrix"><thead><tr><th>Requirement</th>'
        f"<th>Status</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _finding(finding: Mapping[str, Any], note: bool = False) -> str:
    out = [f'<div class="finding{" note" if note else ""}">']
    prefix = "<em>Error:</em> " if finding.get("error") else ""
    out.append(f'<p class="msg">{prefix}{e(finding.get("message", ""))}</p>')
    if finding.get("expected") or finding.get("actual"):
        out.append(
            '<table class="ea">'
            f"<tr><th>Expected</th><td>{e(finding.get('expected', ''))}</td></tr>"
            f"<tr><th>Actual</th><td>{e(finding.get('actual', ''))}</td></tr></table>"
        )
    if finding.get("discrepancy"):
        out.append(
            f'<p class="small">Depends on discrepancy <a href="#disc-{e(finding["discrepancy"])}">'
            f"{e(finding['discrepancy'])}</a></p>"
        )
    exchange = finding.get("exchange") or {}
    if exchange:
        request = exchange.get("request") or {}
        response = exchange.get("response") or {}
        out.append(
            f'<p class="small">Operation <b>{e(exchange.get("operation", ""))}</b> · '
            f"{e(request.get('method', ''))} {e(request.get('url', ''))}</p>"
        )
        if request.get("curl"):
            out.append(f'<h4>Repro</h4><pre class="curl"><code>{e(request["curl"])}</code></pre>')
        if response:
            out.append(
                f"<p>Response <b>{e(response.get('status', ''))}</b> "
                f"{e(response.get('content_type', ''))}"
                f'<span class="small"> · {e(response.get("elapsed", ""))} s</span></p>'
            )
            if response.get("json_error"):
                out.append(f'<p class="small">{e(response["json_error"])}</p>')
            if response.get("body_excerpt"):
                out.append(f'<pre class="body">{e(response["body_excerpt"])}</pre>')
    recheck = finding.get("recheck") or {}
    if recheck.get("sent"):
        out.append(
            f'<p class="small">Sent again {e(recheck["sent"])} times: failed the same way '
            f"{e(recheck.get('reproduced', 0))} times (judged by {e(recheck.get('judged_by', ''))}"
            f"; answers: {e(', '.join(recheck.get('answers') or []))})</p>"
        )
    if finding.get("test"):
        out.append(f'<p class="small">Test <code>{e(finding["test"])}</code></p>')
    out.append("</div>")
    return "".join(out)


def _confirmation_badge(record: Mapping[str, Any]) -> str:
    label = record.get("confirmation")
    return f' <span class="badge c-{e(label)}">{e(label)}</span>' if label else ""


def _requirement(record: Mapping[str, Any]) -> str:
    rid = record["id"]
    ops = list(record.get("by_operation", {}))
    statement = str(record.get("statement", ""))
    short = statement if len(statement) <= 160 else statement[:159] + "…"
    body = []
    source = _source(record)
    body.append(f"<p><b>Source:</b> {e(source) if source else '(not in the catalogue)'}</p>")
    if statement:
        body.append(f"<p><b>Statement:</b> {e(statement)}</p>")
    if record.get("check"):
        body.append(f'<p class="small"><b>Check:</b> {e(record["check"])}</p>')
    if record.get("operations"):
        body.append(f'<p class="small"><b>Operations:</b> {e(", ".join(record["operations"]))}</p>')
    if record.get("discrepancy"):
        body.append(
            f'<p class="small"><b>Discrepancy:</b> <a href="#disc-{e(record["discrepancy"])}">'
            f"{e(record['discrepancy'])}</a></p>"
        )
    if record.get("strict_only"):
        body.append('<p class="small">Checked under the strict reading only.</p>')
    if record.get("reason"):
        body.append(
            f"<p><b>Why {e(LABELS.get(record['status'], ''))}:</b> {e(record['reason'])}</p>"
        )
    if record.get("waiver"):
        was = LABELS.get(str(record["waiver"].get("was")), "")
        body.append(
            f"<p><b>Waiver:</b> {e(waiver_label(record['waiver']))}; without it: {e(was)}</p>"
        )
    elif unlock(record) and record["status"] in (SKIPPED, NOT_EXERCISED):
        body.append(f"<p><b>Would run with:</b> {e('; '.join(unlock(record)))}</p>")
    if record.get("confirmation"):
        body.append(
            f'<p class="confirmation"><b>Re-check:</b> '
            f"{e(LABEL_TEXT.get(record['confirmation'], record['confirmation']))}</p>"
        )
    findings = record.get("findings", [])
    if findings:
        total = record.get("findings_total", len(findings))
        more = f" (first {len(findings)} of {total})" if total > len(findings) else ""
        body.append(f"<h3>Findings{e(more)}</h3>")
        body.extend(_finding(f) for f in findings)
    notes = record.get("notes", [])
    if notes:
        body.append("<h3>Notes (tolerated under this stance)</h3>")
        body.extend(_finding(f, note=True) for f in notes)
    tests = record.get("tests", [])
    if tests:
        shown = tests[:MAX_TESTS_SHOWN]
        more = (
            f'<li class="small">and {len(tests) - len(shown)} more (see {REPORT_JSON})</li>'
            if len(tests) > len(shown)
            else ""
        )
        items = "".join(
            f"<li>{_badge(t.get('verdict', ''))} <code>{e(t.get('nodeid', ''))}</code> "
            f'<span class="small">({e(t.get("outcome", ""))}, {e(t.get("duration", ""))} s)</span></li>'
            for t in shown
        )
        body.append(f'<h3>Tests ({len(tests)})</h3><ul class="tests plain">{items}{more}</ul>')
    return (
        f'<details class="req" id="req-{e(rid)}" {_item_attrs(record, ops)}>'
        f"<summary>{_badge(record['status'])}{_confirmation_badge(record)} <code>{e(rid)}</code> "
        f'<span class="stmt">{e(short)}</span></summary>'
        f'<div class="body">{"".join(body)}</div></details>'
    )


def _requirements(report: Mapping[str, Any]) -> str:
    order = {s: i for i, s in enumerate(STATUSES)}
    records = sorted(
        report["requirements"].values(), key=lambda r: (order.get(r["status"], 9), r["id"])
    )
    return (
        '<section id="requirements"><h2>Requirements</h2>'
        '<p class="small">Failures first. Open one for its findings: the request as curl, '
        "expected against actual, the response, and the sentence of the docs it rests on.</p>"
        + "".join(_requirement(r) for r in records)
        + "</section>"
    )


def _waivers(report: Mapping[str, Any]) -> str:
    """The waiver file's effect: applied, expired (fails the gate), stale."""
    section = report.get("waivers") or {}
    parts = []
    for title, key in (("Applied", "applied"), ("Expired", "expired"), ("Stale", "stale")):
        entries = section.get(key) or []
        if entries:
            items = "".join(
                f"<li>{e(waiver_label(w))}: {e(w.get('reason', ''))}"
                f"{e(' -> ' + ', '.join(w['requirements'])) if w.get('requirements') else ''}</li>"
                for w in entries
            )
            parts.append(f"<h3>{title} ({len(entries)})</h3><ul>{items}</ul>")
    if not parts:
        return ""
    return f'<section id="waivers"><h2>Waivers ({e(section.get("file") or "")})</h2>{"".join(parts)}</section>'


def _untestable(report: Mapping[str, Any]) -> str:
    entries = report.get("untestable", [])
    if not entries:
        return ""
    items = "".join(
        f'<li><a href="#req-{e(u["id"])}"><code>{e(u["id"])}</code></a> {e(u.get("reason", ""))}</li>'
        for u in entries
    )
    return (
        f'<section id="untestable"><h2>{e(UNTESTABLE_LABEL.capitalize())}</h2>'
        f'<ul class="plain">{items}</ul></section>'
    )


def _reading(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)


def _discrepancies(report: Mapping[str, Any]) -> str:
    entries = report.get("discrepancies", [])
    if not entries:
        body = "<p>The register is empty.</p>"
    else:
        rows = []
        for d in entries:
            reqs = sorted(
                {f["requirement"] for f in d.get("findings", [])}
                | set(d.get("failed_requirements", []))
            )
            links = ", ".join(f'<a href="#req-{e(r)}">{e(r)}</a>' for r in reqs) or "none"
            rows.append(
                f'<tr id="disc-{e(d.get("id", ""))}"><td><code>{e(d.get("id", ""))}</code></td>'
                f"<td>{e(d.get('title', ''))}</td><td><b>{e(d.get('applied', ''))}</b>: "
                f"{e(_reading(d.get('applied_reading')))}</td>"
                f"<td>{len(d.get('findings', []))} findings; {links}</td></tr>"
            )
        body = (
            "<table><thead><tr><th>ID</th><th>Where the pages disagree</th>"
            "<th>Reading applied</th><th>Depending on it</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    return (
        '<section id="discrepancies"><h2>Discrepancy register</h2>'
        f"<p>Stance of this run: <b>{e(report.get('stance', ''))}</b>.</p>{body}</section>"
    )


def _operations_table(report: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{e(op)}</td><td>{row.get('requirements', 0)}</td>"
        + "".join(f"<td>{row.get(s, 0)}</td>" for s in STATUSES)
        + f"<td>{row.get('tests', 0)}</td></tr>"
        for op, row in report.get("operations", {}).items()
    )
    head = "".join(f"<th>{e(LABELS[s])}</th>" for s in STATUSES)
    return (
        '<section id="operations"><h2>Per operation</h2><table><thead><tr><th>Operation</th>'
        f"<th>Requirements</th>{head}<th>Tests</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _share(value: Any) -> str:
    return "" if value is None else f"{100 * float(value):.1f}%"


def _traffic(report: Mapping[str, Any]) -> list[str]:
    """What the run did to the target: writes, throttling, redirects, a dry run's plan."""
    parts: list[str] = []
    writes = report.get("writes", [])
    rows = "".join(
        f"<tr><td>{e(g['operation'])}</td><td><code>{e(g['method'])} {e(g['path'])}</code></td>"
        f"<td>{e(g['count'])}</td><td>{e(statuses_text(g))}</td></tr>"
        for g in write_groups(writes)
    )
    parts.append(
        f"<details><summary>{len(writes)} state-changing requests sent</summary>"
        "<table><thead><tr><th>Operation</th><th>Request</th><th>Sent</th><th>Statuses</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        f'<p class="small">Each write, with its test: {e(REPORT_JSON)}.</p></details>'
    )
    throttling = report.get("throttling") or {}
    events = throttling.get("events") or []
    if events:
        items = "".join(
            f"<li><code>{e(t.get('method', ''))} {e(t.get('url', ''))}</code>: Retry-After "
            f"{e(t.get('retry_after') if t.get('retry_after') is not None else 'absent')}, "
            f"waited {e(t.get('waited', 0))} s{', gave up' if t.get('gave_up') else ''}</li>"
            for t in events
        )
        parts.append(
            f"<details><summary>HTTP 429 {e(throttling.get('responses', len(events)))} times; "
            f"{e(throttling.get('waited', 0))} s waited; {e(throttling.get('gave_up', 0))} "
            f"requests given up</summary><ol>{items}</ol></details>"
        )
    redirects = report.get("redirects") or []
    if redirects:
        items = "".join(
            f"<li><code>{e(r.get('method', ''))} {e(r.get('url', ''))}</code> → "
            f"<code>{e(r.get('location', ''))}</code></li>"
            for r in redirects
        )
        parts.append(
            f"<details><summary>{len(redirects)} redirects to another host, not followed"
            f"</summary><ol>{items}</ol></details>"
        )
    dry_run = report.get("dry_run")
    if dry_run is not None:
        planned = dry_run.get("requests") or []
        items = "".join(
            f"<li><code>{e(d.get('method', ''))} {e(d.get('url', ''))}</code> "
            f'<span class="small">{e(d.get("test", ""))}</span></li>'
            for d in planned
        )
        parts.append(
            f"<details open><summary>Dry run: nothing sent; {len(planned)} requests planned"
            f"</summary><ol>{items}</ol></details>"
        )
    return parts


def _run(report: Mapping[str, Any]) -> str:
    parts = ['<section id="run"><h2>Run</h2>']
    parts.append(
        f"<p>{e(report.get('requests', 0))} requests sent; {e(report.get('throttled', 0))} "
        f"answered 429 (throttled); {len(report.get('tests', {}))} tests; "
        f"{e(report.get('duration', ''))} s.</p>"
    )
    fuzz = report.get("fuzz", {})
    if fuzz:
        rows = "".join(
            f"<tr><td>{e(op)}</td><td>{e(f.get('requests', 0))}</td><td>{e(f.get('answered_200', 0))}</td>"
            f"<td>{_share(f.get('share_200'))}</td></tr>"
            for op, f in fuzz.items()
        )
        parts.append(
            "<h3>Fuzzing: share of generated requests answered 200</h3><table><thead><tr>"
            "<th>Operation</th><th>Requests</th><th>Answered 200</th><th>Share</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    parts += _traffic(report)
    untested = [n for n, t in report.get("tests", {}).items() if not t.get("requirements")]
    if untested:
        items = "".join(f"<li><code>{e(n)}</code></li>" for n in untested)
        parts.append(
            f"<details><summary>{len(untested)} tests name no requirement</summary>"
            f"<ul>{items}</ul></details>"
        )
    errors = report.get("collection_errors", [])
    if errors:
        items = "".join(
            f"<li><code>{e(c.get('nodeid', ''))}</code>: {e(c.get('message', ''))}</li>"
            for c in errors
        )
        parts.append(f"<h3>Collection errors</h3><ul>{items}</ul>")
    versions = report.get("versions", {})
    parts.append(
        "<details><summary>Versions and settings (credentials masked)</summary>"
        f"<pre>{e(json.dumps({'versions': versions, 'settings': report.get('settings', {})}, indent=2, ensure_ascii=False, default=str))}</pre>"
        "</details></section>"
    )
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    operations = _all_operations(report)
    title = f"{report.get('title', 'Conformance report')}: {report.get('target', '')}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f"{_header(report)}<main>{_summary(report)}{_filters(operations)}"
        f"{_matrix(report, operations)}{_requirements(report)}{_waivers(report)}{_untestable(report)}"
        f"{_discrepancies(report)}{_operations_table(report)}{_run(report)}</main>"
        f"<script>{JS}</script></body></html>\n"
    )
