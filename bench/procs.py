"""Child processes of the benchmarks: bench servers, pytest and other commands, all bounded.

Every child gets the same environment: the checkout on PYTHONPATH, no POINTS_CONFORMANCE_*
settings but the credentials of the bench server, and bytecode cached in the bench's own work
directory, so that each measured run starts the way it starts on a developer's machine after
the first run, even where the environment switches bytecode writing off.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.server import request_count
from points_conformance.reference.serve import DEFAULT_PASSWORD, DEFAULT_USER
from points_conformance.variables import PASSWORD_ENV, USER_ENV

REPO = Path(__file__).resolve().parents[1]
STOP_GRACE_SECONDS = 10.0


class BenchError(RuntimeError):
    """A benchmark step could not run; the message says which and why, in one line."""


def child_env(workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POINTS_CONFORMANCE_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    paths = [str(REPO / "src"), str(REPO)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env[USER_ENV] = DEFAULT_USER
    env[PASSWORD_ENV] = DEFAULT_PASSWORD
    env.update(extra or {})
    return env


@dataclass
class CommandResult:
    """How a bounded command ended."""

    argv: list[str]
    returncode: int
    wall: float
    log: Path
    timed_out: bool = False
    cpu: float = 0.0

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


def run_command(
    argv: list[str],
    *,
    workdir: Path,
    log: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> CommandResult:
    """Run `argv` from the checkout with output to `log`; killed after `timeout` seconds."""
    with log.open("wb") as out:
        before = _children_cpu()
        started = time.perf_counter()
        process = subprocess.Popen(
            argv,
            cwd=cwd or REPO,
            env=env if env is not None else child_env(workdir),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = False
        try:
            returncode = process.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _stop_group(process)
            returncode = process.wait(STOP_GRACE_SECONDS)
        wall = time.perf_counter() - started
        cpu = _children_cpu() - before
    return CommandResult(argv, returncode, wall, log, timed_out, cpu)


def _children_cpu() -> float:
    """CPU seconds of every child reaped so far (a child's own reaped children included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds a running process has used so far (0.0 when that cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a child started in its own session, and whatever it started."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, STOP_GRACE_SECONDS)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class BenchServer:
    """A running `bench.server` child: URL, credentials, target file and its parsed data."""

    url: str
    target_file: Path
    target: dict[str, Any]
    process: subprocess.Popen[bytes]
    startup: float
    username: str = DEFAULT_USER
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    record: Path | None = None

    def requests(self) -> int:
        return request_count(self.url)

    def cpu(self) -> float:
        """CPU seconds the server has used so far."""
        return process_cpu(self.process.pid)

    def stop(self) -> None:
        _stop_group(self.process)

    def __enter__(self) -> BenchServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def customer(self, role: str) -> dict[str, Any] | None:
        customers: dict[str, Any] = self.target.get("customers") or {}
        found = customers.get(role)
        return found if isinstance(found, dict) else None

    def customers(self) -> dict[str, dict[str, Any]]:
        customers: dict[str, dict[str, Any]] = self.target.get("customers") or {}
        return customers


def start_server(
    workdir: Path,
    name: str,
    *,
    size: str = "small",
    seed: int = 0,
    record: bool = False,
    profile: Path | None = None,
    db: Path | None = None,
    timeout: float = 120.0,
    workers: int = 1,
) -> BenchServer:
    """Start a fresh bench server on 127.0.0.1 and return once it has written its target file."""
    base = workdir / name
    base.mkdir(parents=True, exist_ok=True)
    target_file = base / "target.toml"
    target_file.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "bench.server",
        "--size",
        str(size),
        "--seed",
        str(seed),
        "--target-out",
        str(target_file),
    ]
    recording = base / "requests.jsonl" if record else None
    if recording is not None:
        recording.unlink(missing_ok=True)
        argv += ["--record", str(recording)]
    if profile is not None:
        argv += ["--profile", str(profile)]
    if db is not None:
        argv += ["--db", str(db)]
    if workers > 1:
        argv += ["--workers", str(workers)]
    log = base / "server.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            env=child_env(workdir),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not target_file.exists():
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
            raise BenchError(
                f"bench server {name} exited with status {process.returncode}: " + " | ".join(tail)
            )
        if time.monotonic() > deadline:
            _stop_group(process)
            raise BenchError(f"bench server {name} did not start within {timeout:g} s")
        time.sleep(0.05)
    data = tomllib.loads(target_file.read_text(encoding="utf-8"))
    url = str(data["target"]["base_url"])
    return BenchServer(
        url=url,
        target_file=target_file,
        target=data,
        process=process,
        startup=time.perf_counter() - started,
        record=recording,
    )


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
