"""The harness against a plain loop, and the suite's wall time serially and on two workers.

Each measured run gets a fresh bench server, so every run sees the same seeded data (the suite
transfers and reverses points). A first run records the suite's requests at the server and
warms the bytecode cache; it is not measured. The harness's rate is the requests the server
counted divided by the pytest process's wall time (and, for comparison, by the session time
the conformance report gives); the baseline is the same requests sent again by one httpx
client in one thread.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import timeline
from bench.loops import FUZZ_HEADER, ReplayResult, replay, replayables
from bench.procs import BenchError, BenchServer, child_env, run_command, start_server
from bench.server import read_recording

_OUTCOME = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)")


@dataclass(frozen=True)
class SuiteOptions:
    paths: tuple[str, ...]
    extra_args: tuple[str, ...]
    timeout: float
    replay_seconds: float


def _outcomes(log: str) -> dict[str, int]:
    found: dict[str, int] = {}
    lines = [line for line in log.splitlines() if " in " in line and _OUTCOME.search(line)]
    if lines:
        for number, word in _OUTCOME.findall(lines[-1]):
            found["errors" if word.startswith("error") else word] = int(number)
    return found


def run_suite(
    workdir: Path,
    name: str,
    server: BenchServer,
    paths: Sequence[str],
    args: Sequence[str],
    timeout: float,
) -> dict[str, Any]:
    """One pytest run of `paths` against `server`; its wall time and the requests it sent."""
    base = workdir / name
    base.mkdir(parents=True, exist_ok=True)
    report_dir = base / "report"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *paths,
        "-q",
        "-p",
        "no:cacheprovider",
        "--base-url",
        server.url,
        "--target",
        str(server.target_file),
        "--report-dir",
        str(report_dir),
        "-p",
        "bench.timeline",
        *args,
    ]
    timeline_dir = base / "timeline"
    env = child_env(workdir, {timeline.ENV: str(timeline_dir)})
    before = server.requests()
    server_cpu = server.cpu()
    launched = time.time()
    result = run_command(argv, workdir=workdir, log=base / "pytest.log", timeout=timeout, env=env)
    after = server.requests()
    server_cpu = server.cpu() - server_cpu
    report: dict[str, Any] = {}
    report_file = report_dir / "conformance.json"
    if report_file.exists():
        try:
            report = json.loads(report_file.read_text(encoding="utf-8"))
        except ValueError:
            report = {}
    log = result.log.read_text(encoding="utf-8", errors="replace")
    requests = after - before
    wall = result.wall
    session = float(report.get("duration") or 0.0)
    shown = ["python", "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider"]
    shown += ["--base-url", "URL", "--target", "TARGET", "--report-dir", "DIR", *args]
    summary: dict[str, Any] = {
        "command": " ".join(shown),
        "exit_status": result.returncode,
        "timed_out": result.timed_out,
        "outcomes": _outcomes(log),
        "requests": requests,
        "requests_in_report": int(report.get("requests") or 0),
        "wall_s": round(wall, 3),
        "session_s": round(session, 3),
        "rps_wall": round(requests / wall, 1) if wall > 0 else 0.0,
        "rps_session": round(requests / session, 1) if session > 0 else 0.0,
        "cpu_s": round(result.cpu, 2),
        "server_cpu_s": round(server_cpu, 2),
        # how many cores pytest (with its workers) and the server kept busy on average
        "cores_busy": round((result.cpu + server_cpu) / wall, 2) if wall > 0 else 0.0,
    }
    if result.returncode not in (0, 1) or result.timed_out:
        summary["log_tail"] = result.tail()
    summary["processes"] = timeline.summarize(timeline_dir, launched)
    summary["_tests"] = report.get("tests") or {}
    return summary


def measure(workdir: Path, options: SuiteOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """The harness section and the scaling section."""
    paths = list(options.paths)
    args = list(options.extra_args)

    with start_server(workdir, "harness-record", record=True) as server:
        warmup = run_suite(workdir, "harness-record", server, paths, args, options.timeout)
        assert server.record is not None
        recording_path = server.record
    entries = read_recording(recording_path)
    if not entries:
        raise BenchError(
            "the recording run sent no request "
            f"(pytest exit status {warmup['exit_status']}): {warmup.get('log_tail', '')}"
        )

    with start_server(workdir, "harness-serial") as server:
        serial = run_suite(workdir, "harness-serial", server, paths, args, options.timeout)

    requests = replayables(entries)
    with start_server(workdir, "harness-loop") as server:
        before = server.requests()
        looped = replay(requests, server.url, seconds=options.replay_seconds)
        counted = server.requests() - before

    with start_server(workdir, "harness-n2") as server:
        parallel = run_suite(
            workdir, "harness-n2", server, paths, [*args, "-n", "2"], options.timeout
        )

    serial_tests = serial.pop("_tests")
    parallel.pop("_tests")
    warmup.pop("_tests")
    loop_rps = counted / looped.wall if looped.wall > 0 else 0.0
    ratio_wall = serial["rps_wall"] / loop_rps if loop_rps else 0.0
    ratio_session = serial["rps_session"] / loop_rps if loop_rps else 0.0
    overhead_ms = (
        (serial["session_s"] - looped.wall) / serial["requests"] * 1000
        if serial["requests"]
        else 0.0
    )
    harness: dict[str, Any] = {
        "suite": serial,
        "recording_run": {
            "requests": len(entries),
            "wall_s": warmup["wall_s"],
            "exit_status": warmup["exit_status"],
        },
        "loop": {
            "requests": counted,
            "wall_s": round(looped.wall, 3),
            "rps": round(loop_rps, 1),
            "errors": looped.errors,
            "statuses": {str(k): v for k, v in sorted(looped.statuses.items())},
            "how": "the recorded requests, in order, on one httpx.Client in one thread",
        },
        "ratio_wall": round(ratio_wall, 3),
        "ratio_session": round(ratio_session, 3),
        "harness_overhead_ms_per_request": round(overhead_ms, 3),
        "by_kind": _by_kind(serial_tests, looped),
    }
    serial_wall = float(serial["wall_s"])
    parallel_wall = float(parallel["wall_s"])
    scaling_ratio = serial_wall / parallel_wall if parallel_wall > 0 else 0.0
    scaling: dict[str, Any] = {
        "serial": {
            k: serial[k]
            for k in (
                "wall_s",
                "session_s",
                "requests",
                "exit_status",
                "cpu_s",
                "server_cpu_s",
                "cores_busy",
                "processes",
            )
        },
        "n2": {
            k: parallel[k]
            for k in (
                "command",
                "wall_s",
                "session_s",
                "requests",
                "exit_status",
                "outcomes",
                "cpu_s",
                "server_cpu_s",
                "cores_busy",
                "processes",
            )
        },
        "cpus": os.cpu_count() or 0,
        "ratio": round(scaling_ratio, 3),
    }
    if "log_tail" in parallel:
        scaling["n2"]["log_tail"] = parallel["log_tail"]
    return harness, scaling


def _by_kind(tests: dict[str, Any], looped: ReplayResult) -> dict[str, Any]:
    """Matrix tests and fuzz tests apart: their requests over their test time, against the loop.

    Test time is the sum of each test's setup, call and teardown (from the conformance report),
    so it leaves out pytest's start-up and collection; the loop's time is what it spent on the
    same kind of request.
    """
    found: dict[str, Any] = {}
    for kind in ("matrix", "fuzz"):
        chosen = [t for node, t in tests.items() if ("/fuzz/" in node) == (kind == "fuzz")]
        requests = sum(int(t.get("requests") or 0) for t in chosen)
        seconds = sum(float(t.get("duration") or 0.0) for t in chosen)
        lat = looped.by_kind.get(kind, [])
        loop_s = sum(lat)
        rps = requests / seconds if seconds > 0 else 0.0
        loop_rps = len(lat) / loop_s if loop_s > 0 else 0.0
        found[kind] = {
            "tests": len(chosen),
            "requests": requests,
            "test_time_s": round(seconds, 3),
            "rps": round(rps, 1),
            "loop_requests": len(lat),
            "loop_s": round(loop_s, 3),
            "loop_rps": round(loop_rps, 1),
            "ratio": round(rps / loop_rps, 3) if loop_rps else 0.0,
            "harness_ms_per_request": round(
                (seconds - loop_s) / requests * 1000 if requests else 0.0, 3
            ),
        }
    return found


def recorded_reads(workdir: Path) -> list[dict[str, Any]]:
    """The matrix tests' successful requests, from the recording run, that change nothing.

    Requests of the fuzz tests (they carry schemathesis's test case header) are left out: they
    are generated, not chosen, and the comparison is about ordinary valid traffic.
    """
    entries = read_recording(workdir / "harness-record" / "requests.jsonl")
    return [
        e
        for e in entries
        if 200 <= int(e["status"]) < 300
        and (e["method"] == "GET" or str(e["path"]).endswith("/isTransferrable"))
        and not any(str(k).lower() == FUZZ_HEADER for k, _ in e["headers"])
    ]
