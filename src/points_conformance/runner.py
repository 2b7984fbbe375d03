"""`points-conformance run [pytest args]`: run the suite, then say in one screen whether it conforms.

The suite runs in-process through `pytest.main`, from the checkout's tests/conformance when
there is one (so the repository's pytest configuration applies), otherwise as the installed
package `points_conformance_suite`. The run asks the plugin for a report and takes the built
report back in-process. Exit statuses: 0 the target conforms (or a dry run listed its requests),
1 it does not (or a waiver expired, or is stale under --fail-on-stale-waivers), 2 a usage
problem (including a target that refuses connections or fails TLS before any test, pytest's
own usage and internal errors, a bad waiver or baseline file, and a selection that collected no
test), 3 the run is incomplete: nothing failed but testable requirements went unchecked.
With `--baseline OLD.json` the gate is what got worse since that report (`report.baseline`):
1 when something did, else 0.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import pytest

from points_conformance.locations import DEFAULT_REPORT_DIR, DRY_RUN_FILE, SUITE_PACKAGE
from points_conformance.operations import OPERATIONS
from points_conformance.report.diff import Diff, diff_reports
from points_conformance.report.model import (
    CONFORMS,
    DOES_NOT_CONFORM,
    ReportFormatError,
    gate_problems,
    let_through,
    load_report,
    verdict_line,
)
from points_conformance.report.verdict_text import unchecked_lines, waiver_lines
from points_conformance.settings import OPTIONS, Settings, SettingsError, resolve_settings

USAGE_PREFIX = "points-conformance:"
EXIT_CONFORMS, EXIT_FAILED, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
# "untestable": not exercised, and the catalogue says it cannot be checked from outside.
STATUSES = ("passed", "failed", "waived", "skipped", "not_exercised", "untestable")
MAX_LISTED = 12
# Arguments after which pytest prints something other than a test run.
_NO_SUMMARY = frozenset(
    {"-h", "--help", "--version", "-V", "--co", "--collect-only", "--markers", "--fixtures"}
)
# The options that are switches; the others take a value.
_SWITCHES = frozenset({"strict", "allow_writes", "dry_run", "fail_on_stale_waivers"})
BASELINE_FLAG = "--baseline"


class RunHooks:
    """Asks the run for a report and takes it back, with the settings the run ended with, and
    notes when the plugin already ended the run with its own one-line explanation."""

    def __init__(self) -> None:
        self.report: dict[str, Any] | None = None
        self.settings: Settings | None = None
        self.explained = False

    # The plugin's modules are imported here, once pytest has loaded them as a plugin: imported
    # before, they escape pytest's assert rewriting and every run warned about it.
    def pytest_configure(self, config: pytest.Config) -> None:
        from points_conformance.plugin.session import conformance_run

        if not config.getoption("help", False):
            conformance_run(config)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from points_conformance.plugin.session import get_settings, report_plugin

        self.settings = get_settings(config)
        plugin = report_plugin(config)
        self.report = plugin.report if plugin is not None else None

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # pytest.exit() arrives here too; the plugin's usage exits carry its prefix.
        if isinstance(excinfo.value, pytest.exit.Exception):
            self.explained = str(excinfo.value.msg).startswith(USAGE_PREFIX)


def resolve_run_settings(user_args: Sequence[str]) -> Settings | None:
    """The settings the arguments ask for; None when they are wrong (the run then says why)."""
    parser = argparse.ArgumentParser(add_help=False)
    for name, (flag, _) in OPTIONS.items():
        if name in _SWITCHES:
            parser.add_argument(flag, dest=name, action="store_true", default=None)
        else:
            parser.add_argument(flag, dest=name, default=None)
    known, _ = parser.parse_known_args(list(user_args))
    try:
        return resolve_settings(vars(known))
    except SettingsError:
        return None


def suite_args(user_args: Sequence[str]) -> list[str]:
    """The pytest arguments that select the suite, unless the user already named part of it."""
    try:
        suite = importlib.import_module(SUITE_PACKAGE)
        location = Path(str(suite.__file__)).resolve().parent
    except (ImportError, TypeError):
        return ["--pyargs", SUITE_PACKAGE]
    for arg in user_args:
        base = arg.split("::", 1)[0]
        if base.split(".")[0] == SUITE_PACKAGE:
            return [] if "--pyargs" in user_args else ["--pyargs"]
        path = Path(base)
        if path.exists():
            resolved = path.resolve()
            if resolved == location or location in resolved.parents:
                return []
    checkout = (
        location.parent.name == "tests" and (location.parent.parent / "pyproject.toml").is_file()
    )
    return [str(location)] if checkout else ["--pyargs", SUITE_PACKAGE]


def summarize(report: dict[str, Any], out: TextIO) -> int:
    """Print the per-operation table; return the number of failed requirements."""
    requirements: dict[str, Any] = report.get("requirements") or {}
    table: dict[str, dict[str, int]] = {}
    failed: list[tuple[str, list[str]]] = []
    totals = dict.fromkeys(STATUSES, 0)
    for rid, entry in sorted(requirements.items()):
        if not isinstance(entry, dict):
            continue
        status = str(entry.get("status", "not_exercised"))
        if status not in totals:
            status = "not_exercised"
        if status == "not_exercised" and entry.get("testable") is False:
            status = "untestable"
        totals[status] += 1
        operations = [str(op) for op in entry.get("operations") or []] or ["(all operations)"]
        for op in operations:
            table.setdefault(op, dict.fromkeys(STATUSES, 0))[status] += 1
        if status == "failed":
            failed.append((rid, operations))

    order = {op: i for i, op in enumerate(OPERATIONS)}
    width = max([len(op) for op in table] + [len("operation")])
    out.write(
        f"\n{'operation':<{width}}  passed  failed  waived  skipped  not exercised  untestable\n"
    )
    rows = [(op, table[op]) for op in sorted(table, key=lambda o: (order.get(o, len(order)), o))]
    for op, row in [*rows, ("requirements", totals)]:
        out.write(
            f"{op:<{width}}  {row['passed']:>6}  {row['failed']:>6}  {row['waived']:>6}  "
            f"{row['skipped']:>7}  {row['not_exercised']:>13}  {row['untestable']:>10}\n"
        )
    if failed:
        out.write("\nfailed requirements:\n")
        for rid, operations in failed[:MAX_LISTED]:
            out.write(f"  {rid}  ({', '.join(operations)})\n")
        if len(failed) > MAX_LISTED:
            out.write(f"  … and {len(failed) - MAX_LISTED} more (see the report)\n")
    return len(failed)


def split_baseline(user_args: Sequence[str]) -> tuple[list[str], str | None]:
    """The arguments without `--baseline FILE`, and that file (None when not given)."""
    rest: list[str] = []
    baseline: str | None = None
    args = list(user_args)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == BASELINE_FLAG and i + 1 < len(args):
            baseline, i = args[i + 1], i + 2
            continue
        if arg.startswith(BASELINE_FLAG + "="):
            baseline = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return rest, baseline


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    user_args, baseline_path = split_baseline(sys.argv[1:] if argv is None else argv)
    baseline: dict[str, Any] | None = None
    if baseline_path is not None:
        try:
            baseline = load_report(baseline_path)
        except ReportFormatError as exc:
            stream.write(f"{USAGE_PREFIX} {BASELINE_FLAG} {exc}\n")
            return EXIT_USAGE
    resolved = resolve_run_settings(user_args)
    hooks = RunHooks()
    args = user_args + suite_args(user_args)
    code = int(pytest.main(args, plugins=[hooks]))
    stream.flush()

    # Exact names only: a prefix test for --co (--collect-only) also caught --conformance-strict.
    if _NO_SUMMARY.intersection(user_args):
        return 0 if code == 0 else EXIT_USAGE
    if code == 5:
        stream.write(
            "points-conformance: no test was collected - the -k/-m selection or the given paths "
            "match no conformance test\n"
        )
        return EXIT_USAGE
    if code in (2, 3, 4) or code not in (0, 1):
        if not hooks.explained:
            stream.write(
                f"points-conformance: the run did not complete (pytest exit status {code})\n"
            )
        return EXIT_USAGE

    # The run's own settings name the embedded server it started; the resolved ones, the rest.
    settings = hooks.settings or resolved
    report_dir = settings.report_dir if settings is not None else DEFAULT_REPORT_DIR
    report = hooks.report
    if settings is not None:
        stream.write(f"\npoints-conformance: {settings.describe()}\n")
    if report is None:
        stream.write("points-conformance: the run made no report\n")
        if code == 1:
            stream.write("\nverdict: the target does NOT conform\n")
            return EXIT_FAILED
        stream.write("\nverdict: incomplete (no report to judge)\n")
        return EXIT_INCOMPLETE
    if settings is not None and settings.dry_run:
        planned = (report.get("dry_run") or {}).get("requests") or []
        stream.write(
            f"dry run: no request was sent; the {len(planned)} requests the run would send "
            f"are listed above and in {report_dir / DRY_RUN_FILE}\n"
        )
        return 0 if code == 0 else 1
    failed = summarize(report, stream)
    # A failed test fails the requirements it names, which a waiver may cover; one that fails
    # with neither is a problem of the run itself.
    waived = sum(
        1 for r in (report.get("requirements") or {}).values() if r.get("status") == "waived"
    )
    unexplained = code == 1 and not failed and not waived
    if unexplained:
        stream.write("\ntests failed without a failed requirement: see the pytest output above\n")
    # Failed requirements the run tolerates (--tolerate) do not fail the verdict.
    tolerated = let_through(report)
    if tolerated:
        stream.write(f"\n{tolerated} failed requirements let through (--tolerate)\n")
    return _judge(report, failed > tolerated or unexplained, baseline, stream)


def _judge(
    report: dict[str, Any], tests_failed: bool, baseline: dict[str, Any] | None, stream: TextIO
) -> int:
    """Print the verdict, the unchecked requirements and the waivers; return the exit status."""
    extra = [*unchecked_lines(report), *waiver_lines(report)]
    if extra:
        stream.write("\n" + "\n".join(extra) + "\n")
    kind = DOES_NOT_CONFORM if tests_failed else str(report.get("verdict_kind", ""))
    if kind == DOES_NOT_CONFORM:
        stream.write("\nverdict: the target does NOT conform\n")
    elif kind == CONFORMS:
        stream.write(f"\nverdict: the target {report.get('verdict', kind)}\n")
    else:
        stream.write(f"\nverdict: {verdict_line(report)}\n")
    problems = gate_problems(report)
    if baseline is not None:
        return _baseline_gate(diff_reports(baseline, report), problems, stream)
    if problems:
        stream.write("gate: fails on " + "; ".join(problems) + "\n")
        return EXIT_FAILED
    if kind == DOES_NOT_CONFORM:
        return EXIT_FAILED
    return EXIT_CONFORMS if kind == CONFORMS else EXIT_INCOMPLETE


def _baseline_gate(diff: Diff, problems: list[str], stream: TextIO) -> int:
    """Against a baseline the gate fails only on what got worse (and on waiver problems)."""
    stream.write("\nagainst the baseline:\n")
    for change in diff.regressed:
        before = change.before or "absent"
        stream.write(f"  worse: {change.requirement} ({before} -> failed): {change.reason}\n")
    for change in diff.fixed:
        stream.write(f"  improved: {change.requirement} (failed -> {change.after})\n")
    for change in diff.changed:
        if change.before == "failed":
            stream.write(f"  improved: {change.requirement} (failed -> {change.after})\n")
    if not diff.regressed:
        stream.write("  nothing got worse\n")
    if problems:
        stream.write("gate: fails on " + "; ".join(problems) + "\n")
    return EXIT_FAILED if diff.regressed or problems else EXIT_CONFORMS
