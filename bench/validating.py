"""How fast `points-conformance validate` judges a large recording, and the memory it needs.

The suite is run once against a bench server with `--record-har`; that real recording is then
repeated, each exchange with an `X-Request-Id` of its own, into one HAR file of at least the
asked number of exchanges, written entry by entry. `validate` judges it in a child process, so
that its wall time and its peak resident memory (ru_maxrss of that child) are its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import harness
from bench.procs import REPO, BenchError, child_env, start_server


def _seed(workdir: Path, paths: Sequence[str], timeout: float) -> list[dict[str, Any]]:
    """The entries of one recorded run of the suite at `paths`."""
    har = workdir / "validate-record" / "suite.har"
    with start_server(workdir, "validate-record") as server:
        run = harness.run_suite(
            workdir, "validate-record", server, paths, ["--record-har", str(har)], timeout
        )
    if not har.is_file():
        raise BenchError(f"the recording run wrote no HAR (pytest exit {run['exit_status']})")
    entries: list[dict[str, Any]] = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    if not entries:
        raise BenchError("the recording run recorded no exchange")
    return entries


def write_repeated(seed: list[dict[str, Any]], exchanges: int, path: Path) -> tuple[int, int]:
    """Write `seed` repeated up to `exchanges` entries into `path`; entries and bytes written."""
    copies = -(-exchanges // len(seed))
    written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{"log": {"version": "1.2", "creator": {"name": "bench", "version": "1"},')
        out.write(' "entries": [\n')
        for copy in range(copies):
            for number, entry in enumerate(seed):
                marked = dict(entry)
                request = dict(entry["request"])
                request["headers"] = [
                    *entry["request"]["headers"],
                    {"name": "X-Request-Id", "value": f"bench-{copy}-{number}"},
                ]
                marked["request"] = request
                if written:
                    out.write(",\n")
                out.write(json.dumps(marked, separators=(",", ":")))
                written += 1
        out.write("\n]}}\n")
    return written, path.stat().st_size


def _judge(workdir: Path, har: Path, target: Path, timeout: float) -> dict[str, Any]:
    """`validate` on `har` in a child: exit status, wall time, peak memory and the report."""
    report_dir = workdir / "validate-report"
    argv = [sys.executable, "-m", "points_conformance.cli", "validate", str(har)]
    argv += ["--target", str(target), "--report-dir", str(report_dir)]
    log = workdir / "validate.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        child = subprocess.Popen(
            argv, cwd=REPO, env=child_env(workdir), stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            child.kill()
            child.wait()
            raise BenchError(f"validate did not finish within {timeout:g} s")
        time.sleep(0.05)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    child.returncode = code  # reaped by wait4: Popen must not wait for it again
    report_file = report_dir / "conformance.json"
    if not report_file.is_file():
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
        raise BenchError(f"validate exited {code} without a report: " + " | ".join(tail))
    report = json.loads(report_file.read_text(encoding="utf-8"))
    return {
        "exit_status": code,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        # Linux reports ru_maxrss in KiB.
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "report": report,
    }


def measure(workdir: Path, paths: Sequence[str], exchanges: int, timeout: float) -> dict[str, Any]:
    seed = _seed(workdir, paths, timeout)
    har = workdir / "validate-large.har"
    written, size = write_repeated(seed, exchanges, har)
    # The bench server wrote the target file the recording was made against; validate reads its
    # org and timezone from it, as it would for the recorded server.
    target = workdir / "validate-record" / "target.toml"
    judged = _judge(workdir, har, target, timeout)
    report = judged.pop("report")
    recorded = report["recorded"]
    har.unlink()
    return {
        "seed_exchanges": len(seed),
        "exchanges": written,
        "file_mib": round(size / 2**20, 1),
        **judged,
        "judged": recorded["judged"],
        "walks_judged": recorded["walks_judged"],
        "exchanges_per_s": round(recorded["judged"] / judged["wall_s"], 1),
        "failed": sorted(
            rid for rid, r in report["requirements"].items() if r["status"] == "failed"
        ),
    }
