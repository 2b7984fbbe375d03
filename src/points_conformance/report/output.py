"""Writes a report's four files side by side, and the list of a dry run's requests."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from points_conformance.locations import (
    DRY_RUN_FILE,
    REPORT_HTML,
    REPORT_JSON,
    REPORT_JUNIT,
    REPORT_MARKDOWN,
)
from points_conformance.report.html import render_html
from points_conformance.report.json_report import render_json
from points_conformance.report.junit import render_junit
from points_conformance.report.markdown import render_markdown

FILES: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "json": (REPORT_JSON, render_json),
    "html": (REPORT_HTML, render_html),
    "markdown": (REPORT_MARKDOWN, render_markdown),
    "junit": (REPORT_JUNIT, render_junit),
}


def render_dry_run(report: dict[str, Any]) -> str:
    """One line per request a dry run would have sent: method, URL, operation, test."""
    planned = (report.get("dry_run") or {}).get("requests") or []
    writes = sum(1 for p in planned if p.get("writes"))
    lines = [
        f"# dry run against {report.get('target') or '(no target)'}: no request was sent.",
        f"# {len(planned)} requests would have been sent ({writes} of them writes), the first "
        "of each test; a test's later requests depend on the answers to its first.",
    ]
    for p in planned:
        mark = "  (write)" if p.get("writes") else ""
        lines.append(
            f"{p.get('method', '')} {p.get('url', '')}  [{p.get('operation', '')}]  "
            f"{p.get('test', '')}{mark}"
        )
    return "\n".join(lines) + "\n"


def write_all(report: dict[str, Any], out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write conformance.json, conformance.html, summary.md and junit.xml into `out_dir`.

    Creates the directory. Each file is replaced atomically, so a CI step that reads a file
    while a run ends never sees half of it. A dry run's report also gets dry-run.txt (and any
    other report loses a stale one, which would describe another run). Returns kind -> path.
    """
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind, (name, render) in FILES.items():
        path = directory / name
        _write_atomic(path, render(report))
        paths[kind] = path
    dry_run = directory / DRY_RUN_FILE
    if report.get("dry_run") is not None:
        _write_atomic(dry_run, render_dry_run(report))
        paths["dry_run"] = dry_run
    else:
        dry_run.unlink(missing_ok=True)
    return paths


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # A server's JSON may decode to lone surrogates, which no UTF-8 file can hold.
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="\n") as handle:
            handle.write(text)
        # mkstemp creates owner-only files; reports are meant to be shared as CI artifacts.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
