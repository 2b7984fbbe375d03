"""The benchmark command: options, the order of the sections, bench.json and the table.

Sections: harness (the suite against a plain httpx loop), scaling (the suite serially and on
two workers), remote (the suite through a proxy adding `--delay-ms` to every exchange, serially
and on 4 and 8 workers; smoke: 2), fuzz (the harness's fuzz tests against schemathesis's CLI),
reference (ledger page latency on a small and a large store), prism (the reference server
against Prism's mock), proxy (what `points-conformance proxy` adds to an exchange) and validate
(`validate`'s throughput and memory on a large recording). A section that cannot run records
why and the others still run. Exit status 0 when every section ran (whether or not its target
was met), 1 when one could not, 2 on bad options.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import fuzzing, harness, ledger, machine, prism, proxy, remote, validating
from bench.procs import REPO, BenchError, remove
from bench.table import render

FORMAT = "points-conformance-bench/1"
SMOKE_SUITE = ("tests/conformance/test_auth.py", "tests/conformance/test_ledger_balance.py")
FULL_SUITE = ("tests/conformance",)
SMOKE_LARGE_SIZE = "20000"
REMOTE_WORKERS = (4, 8)
SMOKE_REMOTE_WORKERS = (2,)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the conformance harness and the reference server on 127.0.0.1.",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, seconds: checks that it works"
    )
    parser.add_argument(
        "--out", help="where to write the JSON (default reports/bench.json in the checkout)"
    )
    parser.add_argument("--skip-large", action="store_true", help="no large store")
    parser.add_argument("--skip-prism", action="store_true", help="no Prism comparison")
    parser.add_argument(
        "--skip-remote", action="store_true", help="no runs of the suite through a delay proxy"
    )
    parser.add_argument(
        "--delay-ms",
        type=float,
        default=remote.DEFAULT_DELAY_MS,
        help=f"what the remote section's proxy adds to each exchange ({remote.DEFAULT_DELAY_MS:g})",
    )
    parser.add_argument(
        "--large-size", help="ledger rows of the large store (large = 1,000,000; smoke 20000)"
    )
    parser.add_argument(
        "--suite",
        action="append",
        metavar="PATH",
        help="suite paths of the harness section (repeatable; default tests/conformance)",
    )
    parser.add_argument(
        "--fuzz-examples", type=int, help="examples per operation (default 50; smoke 2)"
    )
    parser.add_argument(
        "--requests", type=int, help="ledger requests per page kind (default 500; smoke 20)"
    )
    parser.add_argument(
        "--prism-requests", type=int, help="requests to each mock (default 1000; smoke 30)"
    )
    parser.add_argument(
        "--proxy-requests", type=int, help="requests of each kind, proxied (default 500; smoke 20)"
    )
    parser.add_argument(
        "--validate-exchanges",
        type=int,
        help="exchanges in the recording validate judges (default 100000; smoke 2000)",
    )
    parser.add_argument("--threads", type=int, default=4, help="connections for throughput (4)")
    parser.add_argument("--timeout", type=float, help="seconds per child run (1800; smoke 300)")
    parser.add_argument("--prism-dir", help=f"where Prism is installed ({prism.default_dir()})")
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep logs and recordings of the run"
    )
    return parser


def _positive(parser: argparse.ArgumentParser, name: str, value: float | None) -> None:
    if value is not None and value <= 0:
        parser.error(f"{name} must be positive")


def main(argv: Sequence[str] | None = None) -> int:  # the sections in order, read top to bottom
    parser = build_parser()
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code or 0)
    numbers = ("fuzz_examples", "requests", "prism_requests", "proxy_requests", "threads")
    for name in (*numbers, "validate_exchanges", "timeout", "delay_ms"):
        try:
            _positive(parser, "--" + name.replace("_", "-"), getattr(args, name))
        except SystemExit as exc:
            return int(exc.code or 0)
    smoke = bool(args.smoke)
    timeout = args.timeout or (300.0 if smoke else 1800.0)
    examples = args.fuzz_examples or (2 if smoke else 50)
    count = args.requests or (20 if smoke else 500)
    prism_count = args.prism_requests or (30 if smoke else 1000)
    proxy_count = args.proxy_requests or (20 if smoke else 500)
    validate_count = args.validate_exchanges or (2000 if smoke else 100_000)
    loop_seconds = 30.0 if smoke else 300.0
    suite = tuple(args.suite or (SMOKE_SUITE if smoke else FULL_SUITE))
    large_size = args.large_size or (SMOKE_LARGE_SIZE if smoke else "large")
    out = Path(args.out) if args.out else REPO / "reports" / "bench.json"
    problem = unwritable(out)
    if problem is not None:
        # Said before the first section, not after a run of many minutes.
        print(f"python -m bench: error: --out {out}: {problem}", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="points-bench-"))
    results: dict[str, Any] = {
        "format": FORMAT,
        "started": _now(),
        "command": "python -m bench " + " ".join(shlex.quote(a) for a in args_list),
        "smoke": smoke,
        "machine": machine.describe(),
        "options": {
            "suite": list(suite),
            "fuzz_examples": examples,
            "ledger_requests": count,
            "prism_requests": prism_count,
            "proxy_requests": proxy_count,
            "validate_exchanges": validate_count,
            "threads": args.threads,
            "large_size": None if args.skip_large else large_size,
            "delay_ms": None if args.skip_remote else args.delay_ms,
            "bytecode": "cached in the run's work directory; the first (recording) run warms it",
        },
    }
    failed = False

    def section(name: str, step: Callable[[], Any]) -> Any:
        nonlocal failed
        print(f"bench: {name} ...", flush=True)
        started = time.perf_counter()
        try:
            value = step()
        except BenchError as exc:
            failed = True
            value = {"error": str(exc)}
        except Exception as exc:
            failed = True
            value = {
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc().splitlines()[-6:],
            }
        if isinstance(value, dict):
            value.setdefault("section_s", round(time.perf_counter() - started, 1))
        return value

    try:
        suite_options = harness.SuiteOptions(suite, (), timeout, loop_seconds)
        pair = section("harness and scaling", lambda: harness.measure(workdir, suite_options))
        if isinstance(pair, tuple):
            results["harness"], results["scaling"] = pair
        else:
            results["harness"] = pair
            results["scaling"] = {"error": "not measured: the harness section failed"}
        if args.skip_remote:
            results["remote"] = {"skipped": True, "reason": "--skip-remote"}
        else:
            results["remote"] = section(
                f"remote ({args.delay_ms:g} ms away)",
                lambda: remote.measure(
                    workdir,
                    suite,
                    delay_ms=args.delay_ms,
                    workers=SMOKE_REMOTE_WORKERS if smoke else REMOTE_WORKERS,
                    timeout=timeout,
                    loopback_cpu_s=_loopback_cpu(results.get("scaling")),
                ),
            )
        results["fuzz"] = section("fuzz", lambda: fuzzing.measure(workdir, examples, timeout))
        ledger_options = ledger.LedgerOptions(
            count=count,
            warmup=max(5, count // 10),
            seconds=loop_seconds,
            threads=args.threads,
            per_thread=max(10, count // args.threads),
            startup_timeout=timeout,
        )
        reference: dict[str, Any] = {
            "small": section(
                "reference server, small store",
                lambda: ledger.measure_store(workdir, "small", "small", ledger_options),
            )
        }
        if args.skip_large:
            reference["large"] = {"skipped": True, "reason": "--skip-large"}
        else:
            reference["large"] = section(
                f"reference server, large store ({large_size} rows)",
                lambda: ledger.measure_store(workdir, "large", large_size, ledger_options),
            )
        results["reference"] = reference
        if args.skip_prism:
            results["prism"] = {"skipped": True, "reason": "--skip-prism"}
        else:
            directory = Path(args.prism_dir) if args.prism_dir else prism.default_dir()
            results["prism"] = section(
                "prism",
                lambda: prism.measure(
                    workdir,
                    harness.recorded_reads(workdir),
                    directory=directory,
                    count=prism_count,
                    seconds=loop_seconds,
                    connections=args.threads,
                ),
            )
        results["proxy"] = section(
            "proxy", lambda: proxy.measure(workdir, proxy_count, loop_seconds)
        )
        results["validate"] = section(
            f"validate ({validate_count} exchanges)",
            lambda: validating.measure(workdir, suite, validate_count, timeout),
        )
    finally:
        results["machine"]["load_average_end"] = machine.load_average()
        results["finished"] = _now()
        results["targets"] = targets(results)
        if args.keep_workdir:
            results["workdir"] = str(workdir)
        else:
            remove(workdir)
        out = write_results(out, json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"bench: wrote {out}")
    return 1 if failed else 0


def unwritable(out: Path) -> str | None:
    """Why the results could not be written to `out`, or None when they can."""
    if out.is_dir():
        return "is a directory"
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a directory"
    if out.exists() and not os.access(out, os.W_OK):
        return "cannot be written"
    if not out.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot create files in {parent}"
    return None


def write_results(out: Path, text: str) -> Path:
    """Write the results to `out`; if that fails after all, to a new file under the temporary
    directory, so that a run's figures are never lost. Returns where they went."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        return out
    except OSError as exc:
        handle, name = tempfile.mkstemp(prefix="points-bench-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as fallback:
            fallback.write(text)
        print(
            f"bench: could not write {out} ({exc.strerror or exc}); wrote {name}", file=sys.stderr
        )
        return Path(name)


def _loopback_cpu(scaling: Any) -> float | None:
    """CPU seconds (pytest and server) of the loopback serial run, when it was measured."""
    serial = scaling.get("serial") if isinstance(scaling, dict) else None
    if not isinstance(serial, dict) or "cpu_s" not in serial:
        return None
    return round(float(serial["cpu_s"]) + float(serial.get("server_cpu_s") or 0.0), 2)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Every figure the benchmark is held to: its name, where it lies in the results, and its bound
# (at least, or at most).
TARGETS: tuple[tuple[str, str, str, float], ...] = (
    ("matrix tests rps / plain loop rps", "harness.by_kind.matrix.ratio", ">=", 0.8),
    ("suite wall time serial / -n 2", "scaling.ratio", ">=", 1.6),
    ("suite wall time 50 ms away: serial / -n 8", "remote.speedup.n8", ">=", 4.0),
    ("fuzz tests rps / schemathesis CLI rps", "fuzz.ratio", ">=", 2.0),
    ("reference rps / Prism rps, 4 connections", "prism.reference_over_prism", ">=", 3.0),
    ("ledger deep page p99 ms (large store)", "reference.large.deep_page.p99_ms", "<=", 10.0),
    ("ledger first page p99 ms (large store)", "reference.large.first_page.p99_ms", "<=", 10.0),
    (
        "deep page p50 / first page p50 (small store)",
        "reference.small.deep_over_first_p50",
        "<=",
        2.0,
    ),
    (
        "deep page p50 / first page p50 (large store)",
        "reference.large.deep_over_first_p50",
        "<=",
        2.0,
    ),
)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the benchmark whose section ran: the figure, the bound, whether it holds."""
    found: list[dict[str, Any]] = []
    for name, path, sense, bound in TARGETS:
        value: Any = results
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        met = value >= bound if sense == ">=" else value <= bound
        found.append({"name": name, "value": value, "target": f"{sense} {bound:g}", "met": met})
    return found
