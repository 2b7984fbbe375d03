"""schemathesis's own CLI against the harness's fuzz tests, on the same example budget.

Both run as child processes against fresh bench servers; the server counts the requests each
sends, and the rate is that count over the process's wall time. The CLI runs only its fuzzing
phase (the harness's fuzz tests also only generate, then shrink on failure), in one worker,
with `--max-examples` equal to the harness's `--fuzz-examples`, and goes on after a failure
(as the harness's fuzz tests do), so that both spend the whole budget.

A first run of each, with one example per operation, is not measured: it fills the bytecode
cache and hypothesis' Unicode tables (about two seconds to derive, once per machine for the
harness and once per working directory for the CLI), as any later run finds them.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from bench.harness import run_suite
from bench.procs import run_command, start_server
from points_conformance.locations import SPEC_FILE, specs_dir

SPEC = specs_dir() / SPEC_FILE
FUZZ_TESTS = "tests/conformance/fuzz"


def schemathesis_command() -> list[str]:
    beside = Path(sys.executable).with_name("schemathesis")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("schemathesis")
    return [found] if found else [sys.executable, "-m", "schemathesis.cli"]


def _harness_run(workdir: Path, name: str, examples: int, timeout: float) -> dict[str, Any]:
    with start_server(workdir, name) as server:
        return run_suite(
            workdir,
            name,
            server,
            [FUZZ_TESTS],
            ["--fuzz-examples", str(examples), "--fuzz-seed", "0"],
            timeout,
        )


def measure(workdir: Path, examples: int, timeout: float) -> dict[str, Any]:
    _harness_run(workdir, "fuzz-harness-warmup", 1, timeout)
    harness = _harness_run(workdir, "fuzz-harness", examples, timeout)
    harness_result = {
        k: harness[k]
        for k in (
            "command",
            "exit_status",
            "timed_out",
            "outcomes",
            "requests",
            "wall_s",
            "session_s",
            "rps_session",
        )
    }
    harness_result["rps"] = harness["rps_wall"]
    if "log_tail" in harness:
        harness_result["log_tail"] = harness["log_tail"]

    base = workdir / "fuzz-schemathesis"
    base.mkdir(parents=True, exist_ok=True)
    _cli_run(workdir, base, "fuzz-schemathesis-warmup", 1, timeout)
    cli = _cli_run(workdir, base, "fuzz-schemathesis", examples, timeout)
    ratio = harness_result["rps"] / cli["rps"] if cli["rps"] else 0.0
    return {
        "examples": examples,
        "harness": harness_result,
        "schemathesis_cli": cli,
        "ratio": round(ratio, 3),
    }


def _cli_run(workdir: Path, base: Path, name: str, examples: int, timeout: float) -> dict[str, Any]:
    with start_server(workdir, name) as server:
        options = [
            "--max-examples",
            str(examples),
            "--phases",
            "fuzzing",
            "--continue-on-failure",
            "--workers",
            "1",
            "--seed",
            "0",
            "--generation-database",
            "none",
            "--no-color",
        ]
        argv = [
            *schemathesis_command(),
            "run",
            str(SPEC),
            "--url",
            server.url,
            "--auth",
            f"{server.username}:{server.password}",
            *options,
        ]
        before = server.requests()
        # run from its own directory: the CLI keeps a cache (.schemathesis/) where it runs
        result = run_command(
            argv, workdir=workdir, log=base / f"{name}.log", timeout=timeout, cwd=base
        )
        requests = server.requests() - before
    shown = ["schemathesis", "run", "specs/points-api.openapi.yaml", "--url", "URL"]
    shown += ["--auth", "USER:PASSWORD", *options]
    cli: dict[str, Any] = {
        "command": " ".join(shown),
        "exit_status": result.returncode,
        "timed_out": result.timed_out,
        "requests": requests,
        "wall_s": round(result.wall, 3),
        "rps": round(requests / result.wall, 1) if result.wall > 0 else 0.0,
    }
    if result.returncode not in (0, 1) or result.timed_out or not requests:
        cli["log_tail"] = result.tail()
    return cli
