"""`points-conformance report merge|diff|render`: work with conformance.json files after a run.

merge   several shards' reports into one, and write its four files
diff    a baseline against a current report; exit 1 when a requirement regressed
render  the HTML, Markdown and JUnit files again from a conformance.json
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from points_conformance.locations import DEFAULT_REPORT_DIR
from points_conformance.report.diff import diff_reports
from points_conformance.report.merge import merge_reports
from points_conformance.report.model import ReportFormatError, load_report
from points_conformance.report.output import write_all
from points_conformance.settings import OPTIONS

PROG = "points-conformance report"
REPORT_DIR_ENV = OPTIONS["report_dir"][1]


def _default_dir() -> str:
    return os.environ.get(REPORT_DIR_ENV) or str(DEFAULT_REPORT_DIR)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="{merge,diff,render}")
    merge = sub.add_parser("merge", help="merge shard reports into one and write its files")
    merge.add_argument("reports", nargs="+", type=Path, metavar="REPORT.json")
    merge.add_argument(
        "-o",
        "--out",
        type=Path,
        default=None,
        metavar="OUT_DIR",
        help=f"directory for the merged files (default: ${REPORT_DIR_ENV} or {DEFAULT_REPORT_DIR})",
    )
    diff = sub.add_parser("diff", help="compare a baseline report with a current one")
    diff.add_argument("baseline", type=Path, metavar="BASELINE.json")
    diff.add_argument("current", type=Path, metavar="CURRENT.json")
    render = sub.add_parser("render", help="write the HTML, Markdown and JUnit files again")
    render.add_argument("report", type=Path, metavar="REPORT.json")
    render.add_argument(
        "-o",
        "--out",
        type=Path,
        default=None,
        metavar="OUT_DIR",
        help="directory for the files (default: the report's own directory)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else 2
    try:
        if args.command == "merge":
            reports = [load_report(path) for path in args.reports]
            merged = merge_reports(reports, [str(p) for p in args.reports])
            paths = write_all(merged, args.out or _default_dir())
            c = merged["counts"]
            print(
                f"merged {len(reports)} reports: {merged['verdict']} - {c['failed']} failed, "
                f"{c['passed']} passed, {c['skipped']} skipped, {c['not_exercised']} not exercised"
            )
            print(f"wrote {', '.join(str(p) for p in paths.values())}")
            return 0
        if args.command == "diff":
            baseline = load_report(args.baseline)
            current = load_report(args.current)
            result = diff_reports(baseline, current)
            print(result.to_text())
            return 1 if result.has_regressions else 0
        report = load_report(args.report)
        paths = write_all(report, args.out or args.report.parent)
        print(f"wrote {', '.join(str(p) for p in paths.values())}")
        return 0
    except ReportFormatError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{PROG}: cannot write: {exc}", file=sys.stderr)
        return 2
