"""Builds the report dict from a `Collector`: what a suite run and `validate` both write.

The pytest plugin feeds the collector with the run's test reports, `validate` with the records
of the exchanges it judged from recorded traffic; the report they build is the same format,
with secrets scrubbed.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import points_conformance
from points_conformance.redaction import leak_forms, masked_settings, scrub, secret_values
from points_conformance.report.catalogue_meta import load_catalogue_meta, spec_version
from points_conformance.report.collect import Collector
from points_conformance.report.model import FORMAT, finalize
from points_conformance.settings import environment


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def target_of(settings: Any) -> str:
    return str(getattr(settings, "base_url", None) or "")


def build_report(
    collector: Collector,
    settings: Any,
    *,
    started: datetime,
    finished: datetime,
    incomplete: bool = False,
    exit_status: int | None = None,
    catalogue: Any = None,
    collection_errors: Iterable[Mapping[str, str]] = (),
    tools: Mapping[str, str] | None = None,
    target: str | None = None,
    extra_secrets: Iterable[str] = (),
    sections: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report dict for everything `collector` has seen (secrets already scrubbed).

    `tools` adds the versions of what produced the records (pytest for a run); `sections`
    adds top-level sections of the producer's own; `extra_secrets` are scrubbed besides the
    settings' credentials.
    """
    collector.finish_pending()
    strict = bool(getattr(settings, "strict", False))
    errors = [dict(e) for e in collection_errors]
    catalogue_data, discrepancies, catalogue_error = load_catalogue_meta(catalogue, strict)
    records, tests = collector.records(catalogue_data)
    writes, fuzz, requests, throttled = collector.run_figures()
    report: dict[str, Any] = {
        "format": FORMAT,
        "title": "Points API conformance",
        "target": target_of(settings) if target is None else target,
        "started": iso(started),
        "finished": iso(finished),
        "duration": round((finished - started).total_seconds(), 3),
        "stance": "strict" if strict else "lenient",
        "versions": {
            "harness": points_conformance.__version__,
            "spec": spec_version(),
            "python": platform.python_version(),
            **dict(tools or {}),
        },
        "settings": masked_settings(settings),
        "incomplete": incomplete or bool(errors),
        "exit_status": exit_status,
        "collection_errors": errors,
        "catalogue_error": catalogue_error,
        "requirements": records,
        "tests": tests,
        "discrepancies": discrepancies,
        "fuzz": fuzz,
        "writes": writes,
        "requests": requests,
        "throttled": throttled,
        **collector.run_events(bool(getattr(settings, "dry_run", False))),
        "sources": [],
        "selection": {"partial": False, "by": []},
        "waivers": {
            "file": str(getattr(settings, "waivers_file", None) or "") or None,
            "checked_on": finished.date().isoformat(),
            "fail_on_stale": bool(getattr(settings, "fail_on_stale_waivers", False)),
            "entries": [w.to_dict() for w in getattr(settings, "waivers", ())],
        },
        **dict(sections or {}),
    }
    report = json.loads(json.dumps(report, default=str))
    finalize(report)
    secrets = sorted(
        {*secret_values(settings, environment()), *leak_forms(extra_secrets)}, key=len, reverse=True
    )
    scrubbed: dict[str, Any] = scrub(report, secrets)
    return scrubbed
