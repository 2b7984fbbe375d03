"""`points-conformance selftest`: does the suite catch every fault of the reference server?

Each fault of `points_conformance.reference.faults` gets its own reference server (started with
`start_embedded(faults=[name])` on a free loopback port, so every run starts from fresh data)
and its own run of the conformance suite in a subprocess, in the strict stance (or, with
`--stance default`, the default one), with its own report directory. A fault is caught when its
run fails at least one requirement that concerns an operation the fault changes; the table says
whether the requirement the fault claims to break is among those. The faultless server is run
too, strict and lenient: any failure there is a false alarm. Runs go N at a time (--jobs), each
serially or on pytest-xdist workers (--workers), which must make no difference, and every server
holds the data of one seed (--seed, 0 by default), which must not either. A
fault that breaks only the strict reading of a register entry (`strict_reading` in the fault
registry) follows a reading the entry's stance allows: in the default stance its run must fail
nothing (the table says "strict only"; a failure there is a false alarm).

To keep the whole run bounded, each fault's run selects only the tests of the operations its
requirement belongs to, through the operation markers the plugin derives (`-m ledger`, ...),
and leaves the property-based tests out; `-m` and `-k` replace or narrow that selection.

With --readings it runs the reading variants of `points_conformance.reference.readings`
instead: servers that took another documented reading of a contradiction, one the register
entry's stance allows. Each is run in the default stance, where any failed requirement is a
false alarm, and, when the entry is enforced by --conformance-strict, in the strict stance, which should
fail a requirement the entry affects ("not distinguished" otherwise: a warning, since some
readings only show on data the seed may not have). Each run selects the tests of the
operations the entry's requirements concern.

The time to the first failure comes from each run's report (`failed_after` of its tests).
`plan` decides the runs, `run` runs them, `output` prints and writes what they showed.

Exit statuses: 0 every fault caught and no false alarm; 1 a fault missed, caught only by
unrelated requirements, a run that did not complete, or a false alarm (with --readings: a
default-stance run that failed a requirement, or a run that did not complete); 2 a usage
problem.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from points_conformance.selftest.output import (
    print_reading_summary,
    print_reading_table,
    print_summary,
    print_table,
    progress_line,
    reading_summary,
    summary,
    write_json,
)
from points_conformance.selftest.plan import (
    FAST_FAULTS,
    Outcome,
    Plan,
    make_plans,
    make_reading_plans,
    requirement_operations,
)
from points_conformance.selftest.run import RunOptions, run_all

PROG = "points-conformance selftest"
STANCES = ("strict", "default")
DEFAULT_JOBS = 2
RUN_TIMEOUT = 1800.0


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
        "--stance",
        choices=STANCES,
        help="the stance of every fault's run (strict); in the default stance a fault that "
        "breaks only a register entry's strict reading must fail nothing",
    )
    parser.add_argument(
        "--jobs", type=_at_least(1), default=DEFAULT_JOBS, metavar="N", help="runs at a time (2)"
    )
    parser.add_argument(
        "--workers",
        type=_at_least(1),
        metavar="N",
        help="run every suite on N pytest-xdist workers (-n N), to show that a parallel run "
        "catches and passes what a serial one does (default: serial runs)",
    )
    parser.add_argument(
        "--seed",
        type=_at_least(0),
        default=0,
        metavar="N",
        help="seed of every reference server's data (0); another seed varies the data's values "
        "and shapes, to show that the verdicts do not depend on seed 0's",
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


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number no smaller than `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


def _pace(args: argparse.Namespace) -> str:
    pace = f"{args.jobs} at a time"
    if args.workers:
        pace += f", each suite on {args.workers} pytest-xdist workers"
    if args.seed:
        pace += f", the reference data of seed {args.seed}"
    return pace


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
        if args.stance:
            raise UsageError("--stance applies to the faults; --readings runs both stances")
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
    stance = args.stance or "strict"
    held = [name for name in names if stance not in known[name].stances]
    catalogue = requirement_operations()
    plans = make_plans(
        names,
        catalogue,
        markexpr=args.markexpr,
        keyword=args.keyword,
        whole_suite_faultless=not args.fault and not args.fast,
        strict=stance == "strict",
    )
    if args.markexpr is None:
        out.write(
            f"selftest: {len(names)} faults in the {stance} stance and the faultless server "
            f"(strict and lenient), {_pace(args)}. Each fault's run selects only the "
            "tests of the operation(s) its requirement belongs to (-m '(<operation markers>) "
            "and not fuzz'; property-based tests are left out; -m/-k change the selection).\n"
        )
    else:
        out.write(
            f"selftest: {len(names)} faults in the {stance} stance and the faultless server, "
            f"{_pace(args)}, every run with -m {args.markexpr!r}.\n"
        )
    if held:
        out.write(
            f"{len(held)} of them break only a register entry's strict reading: the default "
            "run must fail nothing against them.\n"
        )
    out.flush()
    outcomes = _run_plans(args, plans, catalogue, out)
    print_table(outcomes, out)
    facts = summary(outcomes, stance)
    print_summary(facts, out)
    write_json(args.json, bool(args.report_dir), outcomes, facts)
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
        f"selftest: {len(names)} readings in {len(plans)} runs, {_pace(args)}. Each "
        "reading runs in the default stance (any failure is a false alarm) and, when its "
        "register entry is enforced by --conformance-strict, in the strict stance (it should fail a "
        f"requirement the entry affects). Every run selects {selection}.\n"
    )
    out.flush()
    outcomes = _run_plans(args, plans, requirement_operations(), out)
    print_reading_table(outcomes, out)
    facts = reading_summary(outcomes)
    print_reading_summary(facts, out)
    write_json(args.json, bool(args.report_dir), outcomes, facts)
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
            RunOptions(args.run_timeout, args.workers, args.seed),
            jobs=args.jobs,
            progress=progress_line(out),
        )
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
