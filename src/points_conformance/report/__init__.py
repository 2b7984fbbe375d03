"""Conformance reports: per-requirement results as JSON, HTML, Markdown and JUnit XML.

`Collector` gathers them from test records (the pytest plugin's `plugin.report` drives it);
`write_all` writes the four files;
`merge_reports` joins CI shards; `diff_reports` compares a run against a baseline.
"""

from __future__ import annotations

from points_conformance.report.diff import Change, Diff, diff_reports
from points_conformance.report.merge import merge_reports
from points_conformance.report.model import ReportFormatError, load_report
from points_conformance.report.output import write_all

__all__ = [
    "Change",
    "Diff",
    "ReportFormatError",
    "diff_reports",
    "load_report",
    "merge_reports",
    "write_all",
]
