"""Runs the plans: a reference server per plan, the suite against it in a subprocess, and the
verdict read from the run's report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from points_conformance.catalogue import load_catalogue
from points_conformance.locations import REPORT_JSON
from points_conformance.selftest.plan import (
    CAUGHT,
    DISTINGUISHED,
    ERROR,
    FALSE_ALARM,
    MISSED,
    NOT_DISTINGUISHED,
    PASSED,
    STRICT_ONLY,
    UNRELATED,
    Outcome,
    Plan,
    related,
)
from points_conformance.variables import ENV_PREFIX, PASSWORD_ENV, PROGRESS_ENV, USER_ENV


@dataclass(frozen=True)
class RunOptions:
    """How every plan's run goes: its time limit, its pytest-xdist workers (None: serial) and
    the seed of its reference server's data."""

    timeout: float
    workers: int | None = None
    seed: int = 0


def suite_location() -> tuple[list[str], Path | None]:
    """pytest arguments selecting the suite, and the directory to run pytest in."""
    from points_conformance.runner import suite_args

    args = suite_args([])
    if args and args[0] != "--pyargs":
        location = Path(args[0])
        return args, location.parent.parent
    return args, None


def child_environment(username: str, password: str) -> dict[str, str]:
    """The environment of a suite run: credentials in the variables the embedded server's target
    file names."""
    # Nothing of the caller's own settings or pytest session (a harness run under xdist,
    # PYTEST_ADDOPTS) may change how the suite runs or whom it logs in as.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(ENV_PREFIX) and not k.startswith("PYTEST_")
    }
    env[USER_ENV] = username
    env[PASSWORD_ENV] = password
    env[PROGRESS_ENV] = "off"
    return env


def _slug(label: str) -> str:
    kept = "".join(c if c.isalnum() or c in "-_" else " " for c in label)
    return "-".join(kept.split())


def run_plan(
    plan: Plan, workdir: Path, catalogue: Mapping[str, tuple[str, ...]], options: RunOptions
) -> Outcome:
    from points_conformance.embedded import EmbeddedServerError, start_embedded

    outcome = Outcome(plan.label, plan.fault, plan.requirement, plan.strict, list(plan.selection))
    outcome.reading, outcome.discrepancy = plan.reading, plan.discrepancy
    workers, timeout = options.workers, options.timeout
    outcome.workers, outcome.seed = workers or 0, options.seed
    report_dir = workdir / _slug(plan.label)
    shutil.rmtree(report_dir, ignore_errors=True)
    report_dir.mkdir(parents=True)
    outcome.report_dir = str(report_dir)
    started = time.monotonic()
    try:
        server = start_embedded(
            seed=options.seed,
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
            *(["--conformance-strict"] if plan.strict else []),
            "--report-dir",
            str(report_dir),
            "-p",
            "no:cacheprovider",
            "-q",
            *(["-n", str(workers)] if workers else []),
            *plan.selection,
        ]
        env = child_environment(server.username, server.password)
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
    report = _load_json(report_dir / REPORT_JSON)
    if report is not None:
        _first_failure(outcome, report)
    if not outcome.error:
        if outcome.exit_status == 5:
            outcome.error = "the selection matched no test"
        elif outcome.exit_status not in (0, 1):
            outcome.error = f"pytest exited with status {outcome.exit_status}: " + _tail(log_path)
        elif report is None:
            outcome.error = f"no report at {report_dir / REPORT_JSON}"
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
    if plan.fault is not None and plan.discrepancy is not None:
        # A fault of a strict reading only, in the default stance: a reading the stance allows.
        outcome.verdict = FALSE_ALARM if outcome.failed else STRICT_ONLY
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


def _first_failure(outcome: Outcome, report: Mapping[str, Any]) -> None:
    """The earliest failing test of the run, and how long after the start it failed."""
    tests = report.get("tests") or {}
    times = [
        (float(test["failed_after"]), nodeid)
        for nodeid, test in tests.items()
        if isinstance(test, dict) and isinstance(test.get("failed_after"), int | float)
    ]
    if times:
        outcome.first_failure, outcome.first_failing_test = min(times)


def _judge_reading(outcome: Outcome, plan: Plan) -> None:
    affects = set(load_catalogue().discrepancies[plan.discrepancy or ""].affects)
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
    options: RunOptions,
    *,
    jobs: int,
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
            pool.submit(run_plan, plans[i], workdir, catalogue, options): i for i in order
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
