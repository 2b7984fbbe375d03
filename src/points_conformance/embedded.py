"""Start the reference server from Python: the suite's default target and the self-test oracle.

`start_embedded()` runs `python -m points_conformance.reference.serve` as a child process (so
the server has a core of its own and the caller's event loop and GIL stay free) and waits until
the server has written its description; `in_process=True` runs uvicorn in a daemon thread
instead. Either way the description becomes a target file (`reference_target`) and the result is
an `EmbeddedServer` with the URL, the credentials and the parsed target data, usable as a
context manager. `main` is `points-conformance serve`: the reference server's own command plus
`--target-out FILE`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from points_conformance.reference import serve
from points_conformance.reference.serve import (
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    UsageError,
    apply_faults,
    apply_readings,
    base_url,
    bind_socket,
    describe,
    prepare_store,
)
from points_conformance.target import TargetData, parse_target, write_target
from points_conformance.variables import PASSWORD_ENV, USER_ENV

HOST = "127.0.0.1"
STOP_GRACE_SECONDS = 10.0
# The variables the reference server's target files read its credentials from.
TARGET_COMMENTS = (
    "Target file written by the points-conformance reference server.",
    f"Credentials are read from ${USER_ENV} and ${PASSWORD_ENV}.",
)
# The sections of the seed's record that a target file carries as they are.
_SECTIONS = ("connected_orgs", "cross_member", "redemptions", "transfer", "stores")


def reference_target(description: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The target file (format of points_conformance.target) of a reference server's description."""
    info = description["data"]
    target = {
        "base_url": description["base_url"],
        "username_env": USER_ENV,
        "password_env": PASSWORD_ENV,
        **{key: info[key] for key in ("org_id", "source", "account_id", "timezone")},
    }
    return {
        "target": target,
        "customers": info["customers"],
        "groups": info["groups"],
        **{section: info[section] for section in _SECTIONS},
        "reference": {**info.get("special", {}), "seed": info["seed"]},
    }


def write_reference_target(path: str | Path, description: dict[str, Any]) -> None:
    write_target(path, reference_target(description), TARGET_COMMENTS)


def main(argv: Sequence[str] | None = None) -> int:
    """`points-conformance serve`: the reference server, which can also write a target file."""
    parser = serve.build_parser()
    parser.add_argument("--target-out", help="write a target file describing this server here")

    def on_ready(args: argparse.Namespace, description: dict[str, Any]) -> None:
        if args.target_out:
            write_reference_target(args.target_out, description)

    return serve.main(argv, parser=parser, on_ready=on_ready)


class EmbeddedServerError(RuntimeError):
    """The reference server did not start; the message carries what it printed on stderr."""


@dataclass
class EmbeddedServer:
    """A running reference server. `stop()` is idempotent; `with` stops it on exit."""

    url: str
    username: str = field(repr=False)
    password: str = field(repr=False)
    target_file: Path
    target_data: TargetData
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _server: Any = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _store: Any = field(default=None, repr=False)
    _cleanup: list[Path] = field(default_factory=list, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def running(self) -> bool:
        if self._stopped:
            return False
        if self._process is not None:
            return self._process.poll() is None
        return self._thread is not None and self._thread.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._process is not None:
            _terminate(self._process)
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_GRACE_SECONDS)
        if self._store is not None:
            self._store.close()
        for path in self._cleanup:
            shutil.rmtree(path, ignore_errors=True)

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        # a forgotten server must not outlive the interpreter that started it
        try:
            if not self._stopped and self._process is not None:
                _terminate(self._process)
        except Exception:
            pass


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_GRACE_SECONDS)


def _load(target_file: Path, username: str, password: str) -> TargetData:
    data = tomllib.loads(target_file.read_text(encoding="utf-8"))
    return parse_target(data, {USER_ENV: username, PASSWORD_ENV: password})


def start_embedded(
    *,
    seed: int = 0,
    size: str = "small",
    faults: Sequence[str] = (),
    db_path: str | None = None,
    port: int = 0,
    in_process: bool = False,
    startup_timeout: float = 30.0,
    username: str = DEFAULT_USER,
    password: str = DEFAULT_PASSWORD,
    readings: Sequence[str] = (),
) -> EmbeddedServer:
    """Start a reference server on 127.0.0.1 and return once it answers requests.

    `faults` and `readings` name entries of the fault and reading registries to apply.
    """
    start = _start_thread if in_process else _start_process
    return start(seed, size, faults, readings, db_path, port, startup_timeout, username, password)


def _start_process(
    seed: int,
    size: str,
    faults: Sequence[str],
    readings: Sequence[str],
    db_path: str | None,
    port: int,
    startup_timeout: float,
    username: str,
    password: str,
) -> EmbeddedServer:
    workdir = Path(tempfile.mkdtemp(prefix="points-embedded-"))
    target = workdir / "target.toml"
    description = workdir / "description.json"
    stderr_path = workdir / "stderr.txt"
    command = [
        sys.executable,
        "-m",
        "points_conformance.reference.serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--describe-out",
        str(description),
        "--seed",
        str(seed),
        "--size",
        str(size),
        "--user",
        username,
        "--password",
        password,
    ]
    if db_path:
        command += ["--db", str(db_path)]
    for name in faults:
        command += ["--fault", name]
    for name in readings:
        command += ["--reading", name]
    with stderr_path.open("wb") as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)

    def failure(reason: str) -> EmbeddedServerError:
        _terminate(process)
        text = stderr_path.read_text(encoding="utf-8", errors="replace").strip()
        shutil.rmtree(workdir, ignore_errors=True)
        tail = "\n".join(text.splitlines()[-20:])
        return EmbeddedServerError(f"{reason}" + (f"; its stderr:\n{tail}" if tail else ""))

    deadline = time.monotonic() + startup_timeout
    while not description.exists():
        status = process.poll()
        if status is not None:
            raise failure(f"the reference server exited with status {status} before listening")
        if time.monotonic() > deadline:
            raise failure(f"the reference server did not start within {startup_timeout:g} s")
        time.sleep(0.02)
    write_reference_target(target, json.loads(description.read_text(encoding="utf-8")))
    data = _load(target, username, password)
    return EmbeddedServer(
        url=data.base_url or "",
        username=username,
        password=password,
        target_file=target,
        target_data=data,
        _process=process,
        _cleanup=[workdir],
    )


def _start_thread(
    seed: int,
    size: str,
    faults: Sequence[str],
    readings: Sequence[str],
    db_path: str | None,
    port: int,
    startup_timeout: float,
    username: str,
    password: str,
) -> EmbeddedServer:
    import uvicorn

    from points_conformance.reference.app import create_app
    from points_conformance.reference.behaviour import Behaviour, Hooks
    from points_conformance.reference.http_protocol import uvicorn_config

    try:
        behaviour, hooks = apply_faults(faults, Behaviour(), Hooks())
        behaviour, hooks = apply_readings(readings, behaviour, hooks)
        store, tmpdir = prepare_store(db_path, seed, size, quiet=True)
    except UsageError as exc:
        raise EmbeddedServerError(str(exc)) from None
    workdir = Path(tempfile.mkdtemp(prefix="points-embedded-"))
    cleanup = [workdir] + ([tmpdir] if tmpdir else [])
    try:
        sock = bind_socket(HOST, port)
    except UsageError as exc:
        store.close()
        for path in cleanup:
            shutil.rmtree(path, ignore_errors=True)
        raise EmbeddedServerError(str(exc)) from None
    url = base_url(HOST, int(sock.getsockname()[1]))
    app = create_app(store, behaviour, hooks, (username, password))
    server = uvicorn.Server(uvicorn_config(app, "warning"))

    def run() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

    thread = threading.Thread(target=run, name="reference-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(STOP_GRACE_SECONDS)
            store.close()
            for path in cleanup:
                shutil.rmtree(path, ignore_errors=True)
            raise EmbeddedServerError("the in-process reference server did not start")
        time.sleep(0.01)
    target = workdir / "target.toml"
    write_reference_target(target, describe(store, url))
    return EmbeddedServer(
        url=url,
        username=username,
        password=password,
        target_file=target,
        target_data=_load(target, username, password),
        _server=server,
        _thread=thread,
        _store=store,
        _cleanup=cleanup,
    )
