"""The reference server against Stoplight Prism's mock server on the same description.

Prism comes from the npm registry (`npm install --prefix DIR @stoplight/prism-cli`, DIR outside
the checkout unless given) and runs as `prism mock specs/points-api.openapi.yaml -p PORT -h
127.0.0.1` with request logging off (the reference server logs no request either). Both get
the same requests: the suite's successful read requests (recorded at the server), cycled in
order by `bench.keepalive` (raw keep-alive HTTP/1.1, one process per connection), first on one
connection and then on several at once (the headline figures). The reference server runs with
as many worker processes as the machine has cores, at most one per connection; Prism is one
Node.js process. When Prism cannot be installed or does not start, the section says why
instead.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from bench import keepalive
from bench.loops import Replayable, new_client, replayables
from bench.procs import REPO, BenchError, run_command, start_server

SPEC = REPO / "specs" / "points-api.openapi.yaml"
PACKAGE = "@stoplight/prism-cli"
INSTALL_TIMEOUT = 600.0
START_TIMEOUT = 120.0
STOP_GRACE_SECONDS = 10.0
MAX_RESTARTS = 5


def default_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "points-conformance" / "prism"


def ensure_prism(directory: Path, workdir: Path) -> tuple[Path, str]:
    """The prism executable (installed into `directory` when missing) and its version."""
    binary = directory / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise BenchError("npm is not on PATH, so Prism cannot be installed")
        directory.mkdir(parents=True, exist_ok=True)
        result = run_command(
            [npm, "install", "--prefix", str(directory), "--no-audit", "--no-fund", PACKAGE],
            workdir=workdir,
            log=workdir / "prism-install.log",
            timeout=INSTALL_TIMEOUT,
            env=dict(os.environ),
        )
        if result.returncode != 0 or not binary.exists():
            raise BenchError(
                f"npm install {PACKAGE} failed (status {result.returncode}): "
                + " | ".join(result.tail(3).splitlines())
            )
    try:
        version = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"prism --version failed: {exc}") from None
    return binary, version


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(binary: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], str, float, Path]:
    port = _free_port()
    log = workdir / "prism.log"
    argv = [str(binary), "mock", str(SPEC), "-p", str(port), "-h", "127.0.0.1", "-v", "warn"]
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            raise BenchError(
                f"prism mock exited with status {process.returncode}: " + " | ".join(tail)
            )
        try:
            httpx.get(url + "/", timeout=2.0)
            break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            _stop(process)
            raise BenchError(f"prism mock did not answer within {START_TIMEOUT:g} s")
        time.sleep(0.2)
    return process, url, time.perf_counter() - started, log


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, 15)
        process.wait(STOP_GRACE_SECONDS)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, 9)
        except ProcessLookupError:
            return
        process.wait(STOP_GRACE_SECONDS)


def _drive(
    requests: list[Replayable], base: str, count: int, seconds: float, connections: int
) -> dict[str, dict[str, Any]]:
    """The same requests on one connection, then on `connections` at once."""
    return {
        str(n): keepalive.load(requests, base, connections=n, count=count, seconds=seconds)
        for n in sorted({1, connections})
    }


def _ratio(reference: dict[str, Any], prism: dict[str, Any]) -> float:
    return round(reference["rps"] / prism["rps"], 3) if prism["rps"] else 0.0


def _kind(item: Replayable) -> str:
    return f"{item.method} {re.sub(r'/[0-9]+(?=/|$)', '/{id}', item.path)}"


def _shape(item: Replayable) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Operation, header names and query names: requests of one shape fare alike on a mock."""
    headers = tuple(sorted({k.lower() for k, _ in item.headers}))
    names = tuple(sorted({pair.split("=", 1)[0] for pair in item.query.split("&") if pair}))
    return _kind(item), headers, names


def _survivors(
    requests: list[Replayable], binary: Path, base: Path
) -> tuple[
    list[Replayable], list[dict[str, Any]], tuple[subprocess.Popen[bytes], str, float, Path]
]:
    """The requests whose shape Prism answers without dying, what killed it, and a live Prism.

    One request of each shape is sent first; when Prism exits on it, that shape (and every
    shape with the same operation and headers) is left out and Prism is started again.
    """
    shapes: dict[tuple[str, tuple[str, ...], tuple[str, ...]], Replayable] = {}
    for item in requests:
        shapes.setdefault(_shape(item), item)
    crashed: list[dict[str, Any]] = []
    fatal: set[tuple[str, tuple[str, ...]]] = set()
    bad: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = set()
    running = _start(binary, base)
    for shape, item in shapes.items():
        if (shape[0], shape[1]) in fatal:
            bad.add(shape)
            continue
        process, url, _, log = running
        try:
            with new_client() as client:
                client.request(
                    item.method,
                    item.url(url),
                    headers=list(item.headers),
                    content=item.body or None,
                )
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
        if process.poll() is None:
            continue
        bad.add(shape)
        fatal.add((shape[0], shape[1]))
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        message = next((line.strip() for line in tail if "Error" in line), tail[-1] if tail else "")
        crashed.append(
            {
                "request": f"{item.method} {item.path}" + (f"?{item.query}" if item.query else ""),
                "headers": [k for k, _ in item.headers if k.lower() != "authorization"],
                "exit_status": process.returncode,
                "error": message,
            }
        )
        if len(crashed) >= MAX_RESTARTS:
            raise BenchError(f"prism mock exited on {len(crashed)} kinds of request: {crashed}")
        running = _start(binary, base)
    return [r for r in requests if _shape(r) not in bad], crashed, running


def measure(
    workdir: Path,
    reads: list[dict[str, Any]],
    *,
    directory: Path,
    count: int,
    seconds: float,
    connections: int = 4,
) -> dict[str, Any]:
    base = workdir / "prism"
    base.mkdir(parents=True, exist_ok=True)
    section: dict[str, Any] = {
        "install": f"npm install --prefix {directory} {PACKAGE}",
        "command": "prism mock specs/points-api.openapi.yaml -p PORT -h 127.0.0.1 -v warn",
    }
    if not reads:
        raise BenchError("the suite's recording holds no successful read request to send")
    recorded = replayables(reads)
    binary, version = ensure_prism(directory, base)
    section["version"] = version
    requests, crashed, (process, url, startup, log) = _survivors(recorded, binary, base)
    section["requests"] = {
        "recorded": len(recorded),
        "used": len(requests),
        "sent": count,
        "operations": sorted({_kind(r) for r in requests}),
    }
    if crashed:
        kept = set(requests)
        section["prism_crashes"] = crashed
        section["requests"]["left_out"] = {
            "requests": sum(1 for r in recorded if r not in kept),
            "operations": sorted({_kind(r) for r in recorded if r not in kept}),
        }
    try:
        if not requests:
            raise BenchError("Prism exits on every kind of request the suite sends")
        section["startup_s"] = round(startup, 2)
        prism_runs = _drive(requests, url, count, seconds, connections)
        if process.poll() is not None:
            # Prism's figures then cover only what it answered before it died; say so.
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            for run in prism_runs.values():
                run["exited"] = process.returncode
                run["log_tail"] = tail
    finally:
        _stop(process)
    workers = keepalive.workers_for(connections)
    section["reference_workers"] = workers
    with start_server(workdir, "prism-reference", workers=workers) as server:
        reference_runs = _drive(requests, server.url, count, seconds, connections)
    one, many = "1", str(connections)
    section["one_connection"] = {
        "reference": reference_runs[one],
        "prism": prism_runs[one],
        "reference_over_prism": _ratio(reference_runs[one], prism_runs[one]),
    }
    section["connections"] = connections
    section["reference"] = reference_runs[many]
    section["prism"] = prism_runs[many]
    section["reference_over_prism"] = _ratio(reference_runs[many], prism_runs[many])
    return section
