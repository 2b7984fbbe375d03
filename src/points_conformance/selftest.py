"""`points-conformance selftest`: does the suite catch every fault of the reference server?

Each fault of `points_conformance.reference.faults` gets its own reference server (started with
`start_embedded(faults=[name])` on a free loopback port, so every run starts from fresh data)
and its own run of the conformance suite in a subprocess, in strict mode, with its own report
directory. A fault is caught when its run fails at least one requirement that concerns an
operation the fault changes; the table says whether the requirement the fault claims to break
is among those. The faultless server is run too, strict and lenient: any failure there is a
false alarm. Runs go N at a time (--jobs).

To keep the whole run bounded, each fault's run selects only the tests of the operations its
requirement belongs to, through the operation markers the plugin derives (`-m ledger`, ...),
and leaves the property-based tests out; `-m` and `-k` replace or narrow that selection.

With --readings it runs the reading variants of `points_conformance.reference.readings`
instead: servers that took another documented reading of a contradiction, one the register
entry's stance allows. Each is run in the default stance, where any failed requirement is a
false alarm, and, when the entry is enforced by --strict, in the strict stance, which should
fail a requirement the entry affects ("not distinguished" otherwise: a warning, since some
readings only show on data the seed may not have). Each run selects the tests of the
operations the entry's requirements concern.

Loaded into the suite's pytest process with `-p points_conformance.selftest`, this module also
records the moment the first test fails, for the time-to-first-failure column.

Exit statuses: 0 every fault caught and no false alarm; 1 a fault missed, caught only by
unrelated requirements, a run that did not complete, or a false alarm (with --readings: a
default-stance run that failed a requirement, or a run that did not complete); 2 a usage
problem.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TextIO

PROG = "points-conformance selftest"
DEFAULT_JOBS = 2
RUN_TIMEOUT = 1800.0
REPORT_NAME = "conformance.json"
TIMING_NAME = "first-failure.json"
TIMING_ENV = "POINTS_CONFORMANCE_SELFTEST_TIMING"
ENV_PREFIX = "POINTS_CONFORMANCE_"

# The representative subset for CI: one fault for each kind of rule (pagination, filter, sort,
# arithmetic, format, state, credentials, error code), spread over every operation family but
# the v2 ledger, whose handler the connected-orgs fault goes through and whose tests are the
# slowest to select.
FAST_FAULTS: tuple[str, ...] = (
    "balance-page-count-floor",  # balance, pagination
    "corg-role-ignored",  # connected orgs, filter
    "cml-default-ascending",  # cross-member ledger, sort
    "cml-group-balance-drops-member",  # cross-member ledger, arithmetic
    "group-check-transferrable-text",  # transfer check, format
    "transfer-credit-not-written",  # transfer, state
    "history-without-credentials",  # transfer history, credentials
    "reverse-3802-as-3801",  # reverse, error code
)

# Verdicts of a fault's run.
CAUGHT = "caught"
MISSED = "missed"
UNRELATED = "unrelated"
ERROR = "error"
# Verdicts of a reading's runs: default stance, then strict.
PASSED = "pass"
FALSE_ALARM = "false alarm"
DISTINGUISHED = "distinguished"
NOT_DISTINGUISHED = "not distinguished"


class UsageError(Exception):
    """A bad option; reported as one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Run the conformance suite against every fault of the reference server "
        "and against the faultless server; print the mutation score and the false alarms.",
    )
    parser.add_argument(
        "--fault", action="append", default=[], metavar="NAME", help="only this fault (repeatable)"
    )
    parser.add_argument(
        "--fast", action="store_true", help="the representative subset of faults (for CI)"
    )
    parser.add_argument(
        "--readings",
        action="store_true",
        help="run the reading variants instead of the faults: the default stance must pass, "
        "the strict one should notice them",
    )
    parser.add_argument(
        "--reading",
        action="append",
        default=[],
        metavar="NAME",
        help="only this reading (repeatable; implies --readings)",
    )
    parser.add_argument(
        "--jobs", type=_positive, default=DEFAULT_JOBS, metavar="N", help="runs at a time (2)"
    )
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON here")
    parser.add_argument(
        "-m",
        dest="markexpr",
        metavar="EXPR",
        help="pytest -m for every run (default per fault: the markers of its operations)",
    )
    parser.add_argument("-k", dest="keyword", metavar="EXPR", help="pytest -k for every run")
    parser.add_argument(
        "--report-dir",
        metavar="DIR",
        help="keep every run's reports and pytest output here (default: a temporary directory)",
    )
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=RUN_TIMEOUT,
        metavar="S",
        help=f"seconds one suite run may take ({RUN_TIMEOUT:g})",
    )
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


# -- what to run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One suite run: against a fault or a reading (or neither), strict or lenient, with a test
    selection."""

    label: str
    fault: str | None
    requirement: str | None
    operations: tuple[str, ...]
    strict: bool
    selection: tuple[str, ...]
    reading: str | None = None
    discrepancy: str | None = None


@dataclass
class Outcome:
    """What one run showed."""

    label: str
    fault: str | None
    requirement: str | None
    strict: bool
    selection: list[str]
    verdict: str = ""
    failed: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    claimed_caught: bool = False
    first_failure: float | None = None
    first_failing_test: str | None = None
    wall: float = 0.0
    exit_status: int | None = None
    tests: int = 0
    error: str = ""
    report_dir: str = ""
    reading: str | None = None
    discrepancy: str | None = None


def operation_markers() -> Mapping[str, str]:
    from points_conformance.operations import MARKERS

    return MARKERS


# Property-based tests are left out of the default selections: each is marked with
# requirements of every operation, so it would join every fault's run at the cost of hundreds of
# requests. `-m` brings them back.
WITHOUT_FUZZ = "not fuzz"


def marker_expression(operations: Sequence[str]) -> str:
    """`-m` for the tests of these operations (and no property-based test)."""
    markers = operation_markers()
    names = list(dict.fromkeys(markers[op] for op in operations if op in markers))
    if not names:
        return WITHOUT_FUZZ
    return f"({' or '.join(names)}) and {WITHOUT_FUZZ}"


def requirement_operations() -> dict[str, tuple[str, ...]]:
    from points_conformance.catalogue import load_catalogue

    return {rid: tuple(r.operations) for rid, r in load_catalogue().requirements.items()}


def fault_operations(fault: Any, catalogue: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(fault.operations) or catalogue.get(fault.requirement, ())


def related(claim: str, requirement: str, operations: Sequence[str], catalogue: Any) -> bool:
    """Whether a failed requirement speaks about what the fault changed.

    The claimed requirement always does; otherwise one that concerns an operation the fault
    changes, except that requirements of every operation (COMMON-*) only count for faults that
    claim one of them.
    """
    if requirement == claim:
        return True
    if requirement.startswith("COMMON-") and not claim.startswith("COMMON-"):
        return False
    return bool(set(catalogue.get(requirement, ())) & set(operations))


def make_plans(
    names: Sequence[str],
    catalogue: Mapping[str, tuple[str, ...]],
    *,
    markexpr: str | None,
    keyword: str | None,
    whole_suite_faultless: bool,
) -> list[Plan]:
    from points_conformance.reference.faults import get_fault

    def selection(expression: str | None) -> tuple[str, ...]:
        return _selection(expression, keyword)

    plans: list[Plan] = []
    every_operation: list[str] = []
    for name in names:
        chosen = get_fault(name)
        ops = fault_operations(chosen, catalogue)
        every_operation += ops
        own = markexpr if markexpr is not None else marker_expression(ops)
        plans.append(Plan(name, name, chosen.requirement, ops, True, selection(own)))
    if markexpr is not None:
        baseline = markexpr
    elif whole_suite_faultless:
        baseline = WITHOUT_FUZZ
    else:
        baseline = marker_expression(list(dict.fromkeys(every_operation)))
    for strict in (True, False):
        label = f"faultless ({'strict' if strict else 'lenient'})"
        plans.append(Plan(label, None, None, (), strict, selection(baseline)))
    return plans


def _selection(expression: str | None, keyword: str | None) -> tuple[str, ...]:
    args: list[str] = []
    if expression:
        args += ["-m", expression]
    if keyword:
        args += ["-k", keyword]
    return tuple(args)


def make_reading_plans(
    names: Sequence[str], *, markexpr: str | None, keyword: str | None
) -> list[Plan]:
    """For each reading a default-stance run, and a strict one when its entry is enforced."""
    from points_conformance.reference.readings import get_reading

    plans: list[Plan] = []
    for name in names:
        chosen = get_reading(name)
        entry = chosen.entry()
        ops = chosen.operations
        own = _selection(markexpr if markexpr is not None else marker_expression(ops), keyword)
        stances = (False, True) if entry.enforced_by_strict else (False,)
        for strict in stances:
            label = f"{name} ({'strict' if strict else 'default'})"
            plans.append(Plan(label, None, None, ops, strict, own, name, entry.id))
    return plans


# -- running -------------------------------------------------------------------------------------


def suite_location() -> tuple[list[str], Path | None]:
    """pytest arguments selecting the suite, and the directory to run pytest in."""
    from points_conformance.runner import suite_args

    args = suite_args([])
    if args and args[0] != "--pyargs":
        location = Path(args[0])
        return args, location.parent.parent
    return args, None


def child_environment(target_file: Path, username: str, password: str) -> dict[str, str]:
    """The environment of a suite run: credentials in the variables the target file names."""
    # Nothing of the caller's own settings or pytest session (a harness run under xdist,
    # PYTEST_ADDOPTS) may change how the suite runs or whom it logs in as.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(ENV_PREFIX) and not k.startswith("PYTEST_")
    }
    target = tomllib.loads(target_file.read_text(encoding="utf-8")).get("target", {})
    user_env, password_env = target.get("username_env"), target.get("password_env")
    if isinstance(user_env, str) and user_env:
        env[user_env] = username
    if isinstance(password_env, str) and password_env:
        env[password_env] = password
    env["POINTS_CONFORMANCE_PROGRESS"] = "off"
    return env


def _slug(label: str) -> str:
    kept = "".join(c if c.isalnum() or c in "-_" else " " for c in label)
    return "-".join(kept.split())


def run_plan(
    plan: Plan, workdir: Path, catalogue: Mapping[str, tuple[str, ...]], timeout: float
) -> Outcome:
    from points_conformance.embedded import EmbeddedServerError, start_embedded

    outcome = Outcome(plan.label, plan.fault, plan.requirement, plan.strict, list(plan.selection))
    outcome.reading, outcome.discrepancy = plan.reading, plan.discrepancy
    report_dir = workdir / _slug(plan.label)
    shutil.rmtree(report_dir, ignore_errors=True)
    report_dir.mkdir(parents=True)
    outcome.report_dir = str(report_dir)
    started = time.monotonic()
    try:
        server = start_embedded(
            faults=[plan.fault] if plan.fault else [],
            readings=[plan.reading] if plan.reading else [],
        )
    except EmbeddedServerError as exc:
        outcome.verdict, outcome.error = ERROR, f"the reference server did not start: {exc}"
        outcome.wall = time.monotonic() - started
        return outcome
    with server:
        suite, cwd = suite_location()
        command = [
            sys.executable,
            "-m",
            "pytest",
            *suite,
            "--base-url",
            server.url,
            "--target",
            str(server.target_file),
            *(["--strict"] if plan.strict else []),
            "--report-dir",
            str(report_dir),
            "-p",
            "no:cacheprovider",
            "-p",
            __name__,
            "-q",
            *plan.selection,
        ]
        env = child_environment(server.target_file, server.username, server.password)
        env[TIMING_ENV] = str(report_dir / TIMING_NAME)
        log_path = report_dir / "pytest.log"
        with log_path.open("wb") as log:
            try:
                process = subprocess.run(
                    command,
                    cwd=cwd or workdir,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
                outcome.exit_status = process.returncode
            except subprocess.TimeoutExpired:
                outcome.error = f"the suite did not finish within {timeout:g} s"
    outcome.wall = time.monotonic() - started
    _read_results(outcome, plan, report_dir, log_path, catalogue)
    return outcome


def _read_results(
    outcome: Outcome,
    plan: Plan,
    report_dir: Path,
    log_path: Path,
    catalogue: Mapping[str, tuple[str, ...]],
) -> None:
    report = _load_json(report_dir / REPORT_NAME)
    timing = _load_json(report_dir / TIMING_NAME)
    if timing is not None and isinstance(timing.get("seconds"), int | float):
        outcome.first_failure = float(timing["seconds"])
        outcome.first_failing_test = str(timing.get("test") or "")
    if not outcome.error:
        if outcome.exit_status == 5:
            outcome.error = "the selection matched no test"
        elif outcome.exit_status not in (0, 1):
            outcome.error = f"pytest exited with status {outcome.exit_status}: " + _tail(log_path)
        elif report is None:
            outcome.error = f"no report at {report_dir / REPORT_NAME}"
        elif report.get("incomplete"):
            errors = report.get("collection_errors") or []
            detail = errors[0].get("message", "") if errors else ""
            outcome.error = "the run was incomplete" + (f": {detail}" if detail else "")
    if report is not None:
        records = report.get("requirements") or {}
        outcome.failed = sorted(
            rid for rid, r in records.items() if isinstance(r, dict) and r.get("status") == "failed"
        )
        outcome.tests = len(report.get("tests") or {})
    if outcome.error:
        outcome.verdict = ERROR
        return
    if plan.reading is not None:
        _judge_reading(outcome, plan)
        return
    if plan.fault is None or plan.requirement is None:
        outcome.verdict = "false alarm" if outcome.failed else "clean"
        return
    outcome.related = [
        rid for rid in outcome.failed if related(plan.requirement, rid, plan.operations, catalogue)
    ]
    outcome.claimed_caught = plan.requirement in outcome.failed
    if not outcome.failed:
        outcome.verdict = MISSED
    elif outcome.related:
        outcome.verdict = CAUGHT
    else:
        outcome.verdict = UNRELATED


def _judge_reading(outcome: Outcome, plan: Plan) -> None:
    from points_conformance.reference.readings import get_reading

    affects = set(get_reading(plan.reading or "").requirements)
    outcome.related = [rid for rid in outcome.failed if rid in affects]
    if not plan.strict:
        outcome.verdict = FALSE_ALARM if outcome.failed else PASSED
    else:
        outcome.verdict = DISTINGUISHED if outcome.related else NOT_DISTINGUISHED


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def run_all(
    plans: Sequence[Plan],
    workdir: Path,
    catalogue: Mapping[str, tuple[str, ...]],
    *,
    jobs: int,
    timeout: float,
    progress: Callable[[Outcome, int, int], None],
) -> list[Outcome]:
    """Every plan, `jobs` at a time; results in the order of `plans`."""

    # The faultless runs select the most tests: started first, they end with the others. Of
    # the readings, those of more operations select more tests.
    def weight(i: int) -> tuple[bool, int]:
        plan = plans[i]
        if plan.reading is not None:
            return True, -len(plan.operations)
        return plan.fault is not None, 0

    order = sorted(range(len(plans)), key=weight)
    results: dict[int, Outcome] = {}
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="selftest") as pool:
        futures: dict[Future[Outcome], int] = {
            pool.submit(run_plan, plans[i], workdir, catalogue, timeout): i for i in order
        }
        try:
            for future in as_completed(futures):
                outcome = future.result()
                with lock:
                    results[futures[future]] = outcome
                    progress(outcome, len(results), len(plans))
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            raise
    return [results[i] for i in range(len(plans))]


# -- output --------------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def progress_line(out: TextIO) -> Callable[[Outcome, int, int], None]:
    width = 0

    def show(outcome: Outcome, done: int, total: int) -> None:
        nonlocal width
        width = max(width, len(str(total)))
        if outcome.verdict == ERROR:
            what = f"error: {outcome.error}"
        elif outcome.reading is not None:
            what = _reading_progress(outcome)
        elif outcome.fault is None:
            what = (
                f"{len(outcome.failed)} false alarm(s): {', '.join(outcome.failed)}"
                if outcome.failed
                else "no false alarm"
            )
        elif outcome.verdict == MISSED:
            what = "MISSED"
        else:
            shown = ", ".join(outcome.failed[:4]) + (" …" if len(outcome.failed) > 4 else "")
            what = f"{outcome.verdict} by {shown}"
        out.write(
            f"[{done:>{width}}/{total}] {outcome.label}: {what} ({outcome.wall:.0f} s, "
            f"{outcome.tests} tests)\n"
        )
        out.flush()

    return show


def _reading_progress(outcome: Outcome) -> str:
    if not outcome.strict:
        if outcome.failed:
            return f"FALSE ALARM in the default stance: {', '.join(outcome.failed)}"
        return "passes in the default stance"
    if outcome.related:
        return f"strict: distinguished by {', '.join(outcome.related)}"
    shown = f" (failed only {', '.join(outcome.failed)})" if outcome.failed else ""
    return f"strict: not distinguished{shown}"


def print_table(outcomes: Sequence[Outcome], out: TextIO) -> None:
    rows = [o for o in outcomes if o.fault is not None]
    if not rows:
        return
    headers = ("fault", "requirement", "result", "claimed", "first failure", "run", "caught by")
    table = [
        (
            o.label,
            o.requirement or "",
            o.verdict,
            "yes" if o.claimed_caught else "no",
            _seconds(o.first_failure),
            f"{o.wall:.0f} s",
            ", ".join(o.failed) if o.verdict != ERROR else o.error,
        )
        for o in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers[:-1])]
    out.write("\n" + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)))
    out.write("  " + headers[-1] + "\n")
    for row in table:
        cells = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
        out.write(f"{cells}  {row[-1]}\n")


def summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    faults = [o for o in outcomes if o.fault is not None]
    baselines = [o for o in outcomes if o.fault is None]
    caught = [o for o in faults if o.verdict == CAUGHT]
    return {
        "faults": len(faults),
        "caught": len(caught),
        "caught_by_claimed_requirement": sum(1 for o in faults if o.claimed_caught),
        "missed": [o.label for o in faults if o.verdict == MISSED],
        "unrelated": [o.label for o in faults if o.verdict == UNRELATED],
        "errors": [o.label for o in outcomes if o.verdict == ERROR],
        "mutation_score": round(len(caught) / len(faults), 4) if faults else None,
        "false_alarms": sum(len(o.failed) for o in baselines),
        "false_alarm_requirements": {
            ("strict" if o.strict else "lenient"): o.failed for o in baselines
        },
    }


def print_summary(facts: Mapping[str, Any], out: TextIO) -> None:
    total = facts["faults"]
    if total:
        score = facts["mutation_score"] or 0.0
        out.write(
            f"\nmutation score: {facts['caught']}/{total} caught ({score:.0%}); "
            f"{facts['caught_by_claimed_requirement']}/{total} by the requirement they break\n"
        )
        for key, label in (
            ("missed", "missed"),
            ("unrelated", "caught only by unrelated requirements"),
        ):
            if facts[key]:
                out.write(f"{label}: {', '.join(facts[key])}\n")
    alarms = facts["false_alarm_requirements"]
    out.write(f"false alarms on the faultless server: {facts['false_alarms']}")
    listed = [f"{mode}: {', '.join(ids)}" for mode, ids in alarms.items() if ids]
    out.write(f" ({'; '.join(listed)})\n" if listed else "\n")
    if facts["errors"]:
        out.write(f"runs that did not complete: {', '.join(facts['errors'])}\n")


def _reading_rows(outcomes: Sequence[Outcome]) -> dict[str, dict[bool, Outcome]]:
    rows: dict[str, dict[bool, Outcome]] = {}
    for o in outcomes:
        if o.reading is not None:
            rows.setdefault(o.reading, {})[o.strict] = o
    return rows


def _stance_cell(outcome: Outcome | None) -> str:
    if outcome is None:
        return "-"
    if outcome.verdict == NOT_DISTINGUISHED:
        return "NOT DISTINGUISHED"
    if outcome.verdict == FALSE_ALARM:
        return "FALSE ALARM"
    return outcome.verdict


def print_reading_table(outcomes: Sequence[Outcome], out: TextIO) -> None:
    headers = ("reading", "entry", "default stance", "strict", "run", "requirements")
    table: list[tuple[str, ...]] = []
    for name, runs in _reading_rows(outcomes).items():
        default, strict = runs.get(False), runs.get(True)
        notes: list[str] = []
        for o in (default, strict):
            if o is None:
                continue
            stance = "strict" if o.strict else "default"
            if o.verdict == ERROR:
                notes.append(f"{stance}: {o.error}")
            elif o.strict and o.related:
                others = [rid for rid in o.failed if rid not in o.related]
                notes.append(
                    f"strict: {', '.join(o.related)}"
                    + (f" (also {', '.join(others)})" if others else "")
                )
            elif o.failed:
                notes.append(f"{stance}: {', '.join(o.failed)}")
        any_run = default or strict
        wall = sum(o.wall for o in (default, strict) if o is not None)
        table.append(
            (
                name,
                (any_run.discrepancy or "") if any_run is not None else "",
                _stance_cell(default),
                _stance_cell(strict) if strict is not None else "not enforced",
                f"{wall:.0f} s",
                "; ".join(notes),
            )
        )
    if not table:
        return
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers[:-1])]
    out.write("\n" + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)))
    out.write("  " + headers[-1] + "\n")
    for row in table:
        cells = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
        out.write(f"{cells}  {row[-1]}\n".rstrip() + "\n")


def reading_summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    rows = _reading_rows(outcomes)
    defaults = [runs[False] for runs in rows.values() if False in runs]
    stricts = [runs[True] for runs in rows.values() if True in runs]
    return {
        "readings": len(rows),
        "passed": [o.reading for o in defaults if o.verdict == PASSED],
        "false_alarms": sum(len(o.failed) for o in defaults if o.verdict == FALSE_ALARM),
        "false_alarm_requirements": {
            o.reading: o.failed for o in defaults if o.verdict == FALSE_ALARM
        },
        "distinguished": {o.reading: o.related for o in stricts if o.verdict == DISTINGUISHED},
        "not_distinguished": [o.reading for o in stricts if o.verdict == NOT_DISTINGUISHED],
        "strict_not_enforced": [name for name, runs in rows.items() if True not in runs],
        "errors": [o.label for o in outcomes if o.verdict == ERROR],
    }


def print_reading_summary(facts: Mapping[str, Any], out: TextIO) -> None:
    total = facts["readings"]
    out.write(
        f"\nreadings: {len(facts['passed'])}/{total} pass in the default stance; "
        f"{len(facts['distinguished'])} told apart by --strict\n"
    )
    alarms = facts["false_alarm_requirements"]
    out.write(f"false alarms in the default stance: {facts['false_alarms']}")
    listed = [f"{name}: {', '.join(ids)}" for name, ids in alarms.items()]
    out.write(f" ({'; '.join(listed)})\n" if listed else "\n")
    for name in facts["not_distinguished"]:
        out.write(
            f"warning: --strict did not distinguish {name} (no failed requirement of its "
            "entry; the seed may hold no data that shows it)\n"
        )
    if facts["errors"]:
        out.write(f"runs that did not complete: {', '.join(facts['errors'])}\n")


# -- the command ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    try:
        return _main(list(sys.argv[1:] if argv is None else argv), stream)
    except UsageError as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


def _main(argv: list[str], out: TextIO) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if args.readings or args.reading:
        return _main_readings(args, out)
    from points_conformance.reference.faults import registry

    known = registry()
    unknown = [name for name in args.fault if name not in known]
    if unknown:
        raise UsageError(f"unknown fault {unknown[0]!r} (points-conformance serve --list-faults)")
    if args.fault and args.fast:
        raise UsageError("--fault and --fast cannot be combined")
    if args.fault:
        names = list(dict.fromkeys(args.fault))
    elif args.fast:
        names = list(FAST_FAULTS)
    else:
        names = list(known)
    catalogue = requirement_operations()
    plans = make_plans(
        names,
        catalogue,
        markexpr=args.markexpr,
        keyword=args.keyword,
        whole_suite_faultless=not args.fault and not args.fast,
    )
    if args.markexpr is None:
        out.write(
            f"selftest: {len(names)} faults and the faultless server (strict and lenient), "
            f"{args.jobs} at a time. Each fault's run selects only the tests of the operation(s) "
            "its requirement belongs to (-m '(<operation markers>) and not fuzz'; property-based "
            "tests are left out; -m/-k change the selection).\n"
        )
    else:
        out.write(
            f"selftest: {len(names)} faults and the faultless server, {args.jobs} at a time, "
            f"every run with -m {args.markexpr!r}.\n"
        )
    out.flush()
    outcomes = _run_plans(args, plans, catalogue, out)
    print_table(outcomes, out)
    facts = summary(outcomes)
    print_summary(facts, out)
    _write_json(args, outcomes, facts)
    bad = facts["missed"] or facts["unrelated"] or facts["errors"] or facts["false_alarms"]
    return 1 if bad else 0


def _main_readings(args: argparse.Namespace, out: TextIO) -> int:
    from points_conformance.reference.readings import registry

    if args.fault or args.fast:
        raise UsageError(
            f"{'--fault' if args.fault else '--fast'} cannot be combined with --readings"
        )
    known = registry()
    unknown = [name for name in args.reading if name not in known]
    if unknown:
        raise UsageError(
            f"unknown reading {unknown[0]!r} (points-conformance serve --list-readings)"
        )
    names = list(dict.fromkeys(args.reading)) if args.reading else list(known)
    plans = make_reading_plans(names, markexpr=args.markexpr, keyword=args.keyword)
    selection = (
        "the tests of the operations its register entry affects (-m '(<operation markers>) "
        "and not fuzz'; -m/-k change the selection)"
        if args.markexpr is None
        else f"-m {args.markexpr!r}"
    )
    out.write(
        f"selftest: {len(names)} readings in {len(plans)} runs, {args.jobs} at a time. Each "
        "reading runs in the default stance (any failure is a false alarm) and, when its "
        "register entry is enforced by --strict, in the strict stance (it should fail a "
        f"requirement the entry affects). Every run selects {selection}.\n"
    )
    out.flush()
    outcomes = _run_plans(args, plans, requirement_operations(), out)
    print_reading_table(outcomes, out)
    facts = reading_summary(outcomes)
    print_reading_summary(facts, out)
    _write_json(args, outcomes, facts)
    return 1 if facts["false_alarms"] or facts["errors"] else 0


def _run_plans(
    args: argparse.Namespace,
    plans: Sequence[Plan],
    catalogue: Mapping[str, tuple[str, ...]],
    out: TextIO,
) -> list[Outcome]:
    """Every plan's run, in --report-dir when given (else a temporary directory)."""
    keep = Path(args.report_dir) if args.report_dir else None
    workdir = keep or Path(tempfile.mkdtemp(prefix="points-selftest-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return run_all(
            plans,
            workdir.resolve(),
            catalogue,
            jobs=args.jobs,
            timeout=args.run_timeout,
            progress=progress_line(out),
        )
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def _write_json(
    args: argparse.Namespace, outcomes: list[Outcome], facts: Mapping[str, Any]
) -> None:
    """--json: the summary and every run (report directories only when they are kept)."""
    if not args.json:
        return
    runs = [asdict(o) for o in outcomes]
    if not args.report_dir:
        for run in runs:
            run["report_dir"] = ""
    document = {"summary": facts, "runs": runs}
    Path(args.json).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


# -- pytest plugin side (loaded into each suite run with -p points_conformance.selftest) ---------

_timing: dict[str, Any] = {}


def pytest_sessionstart(session: Any) -> None:
    _timing.clear()
    _timing["started"] = time.monotonic()


def pytest_runtest_logreport(report: Any) -> None:
    path = os.environ.get(TIMING_ENV)
    if not path or "written" in _timing or not getattr(report, "failed", False):
        return
    _timing["written"] = True
    seconds = time.monotonic() - float(_timing.get("started", time.monotonic()))
    Path(path).write_text(
        json.dumps({"seconds": round(seconds, 3), "test": str(getattr(report, "nodeid", ""))}),
        encoding="utf-8",
    )


if __name__ == "__main__":
    sys.exit(main())
