"""`points-conformance serve`: run the reference server on 127.0.0.1.

Seeds a database (a temporary one unless --db names a file to keep), listens, prints the URL
and the credentials it accepts, and with --describe-out writes a description of itself (JSON:
its URL and what the seed recorded about its data) once it is listening, so a parent process
can poll for that file. Stops cleanly on SIGINT and SIGTERM. With --workers N it answers from N
processes over the one database (`points_conformance.reference.workers`). Faults (--fault NAME) come from
`points_conformance.reference.faults` and readings (--reading NAME: the other documented reading
of a contradiction) from `points_conformance.reference.readings`, each imported only when asked
for.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, NoReturn

from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.http_protocol import uvicorn_config
from points_conformance.reference.seed import SeedSizeError, parse_size, seed_database
from points_conformance.reference.store import Store, open_store
from points_conformance.reference.workers import WorkerDied, WorkersFailed, run_forked

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_USER = "conformance"
DEFAULT_PASSWORD = "conformance-secret"
PROG = "points-conformance serve"


class UsageError(Exception):
    """A bad option or an environment problem, reported as one line with exit status 2."""


class _Stop(Exception):
    """SIGTERM arrived."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Run the reference Points / Points Ledger server.")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="port (8080; 0 = any free port)"
    )
    parser.add_argument(
        "--db", help="SQLite file to keep the data in (seeded when new); default a temporary file"
    )
    parser.add_argument("--seed", type=_int, default=0, help="random seed of the test data (0)")
    parser.add_argument(
        "--size", type=_size, default="small", help="small, large or a number of ledger rows"
    )
    parser.add_argument(
        "--describe-out", help="write a JSON description of this server here once it listens"
    )
    parser.add_argument("--user", default=DEFAULT_USER, help="Basic auth user to accept")
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Basic auth password")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="NAME", help="inject a fault (repeatable)"
    )
    parser.add_argument("--list-faults", action="store_true", help="list the faults and exit")
    parser.add_argument(
        "--reading",
        action="append",
        default=[],
        metavar="NAME",
        help="follow another documented reading of a contradiction (repeatable)",
    )
    parser.add_argument("--list-readings", action="store_true", help="list the readings and exit")
    parser.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="server processes over the one database (1; more answer more requests at once)",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug")
    )
    return parser


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _port(text: str) -> int:
    value = _int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, not {value}")
    return value


def _workers(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"workers must be at least 1, not {value}")
    if value > 1 and not hasattr(os, "fork"):
        raise argparse.ArgumentTypeError("more than one worker needs fork(), which is missing here")
    return value


def _size(text: str) -> str:
    try:
        parse_size(text)
    except SeedSizeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


# -- pieces shared with embedded.py ------------------------------------------------------------


def faults_module() -> ModuleType:
    from points_conformance.reference import faults

    return faults


def readings_module() -> ModuleType:
    from points_conformance.reference import readings

    return readings


def _apply(
    load: Callable[[], ModuleType],
    kind: str,
    names: Sequence[str],
    behaviour: Behaviour,
    hooks: Hooks,
) -> tuple[Behaviour, Hooks]:
    if not names:
        return behaviour, hooks
    try:
        result: tuple[Behaviour, Hooks] = load().apply(list(names), behaviour, hooks)
    except (KeyError, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        raise UsageError(f"unknown or invalid {kind}: {message}") from None
    return result


def apply_faults(
    names: Sequence[str], behaviour: Behaviour, hooks: Hooks
) -> tuple[Behaviour, Hooks]:
    return _apply(faults_module, "fault", names, behaviour, hooks)


def apply_readings(
    names: Sequence[str], behaviour: Behaviour, hooks: Hooks
) -> tuple[Behaviour, Hooks]:
    return _apply(readings_module, "reading", names, behaviour, hooks)


def prepare_store(
    db: str | None, seed: int, size: str, *, quiet: bool = False
) -> tuple[Store, Path | None]:
    """An open, seeded store; the temporary directory to delete afterwards, if any."""
    tmpdir: Path | None = None
    if db:
        path = Path(db)
        if path.parent and not path.parent.exists():
            raise UsageError(f"--db: directory {path.parent} does not exist")
    else:
        tmpdir = Path(tempfile.mkdtemp(prefix="points-reference-"))
        path = tmpdir / "points.db"
    try:
        store = open_store(path)
    except Exception as exc:  # sqlite3 errors and OSError alike
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise UsageError(f"cannot open database {path}: {exc}") from None
    if not store.is_seeded():
        started = time.perf_counter()
        try:
            if store.has_data():
                # a seed that never finished: its partial data would collide with a new one
                store.reset()
            seed_database(store, seed=seed, size=size)
        except sqlite3.Error as exc:
            store.close()
            if tmpdir:
                shutil.rmtree(tmpdir, ignore_errors=True)
            raise UsageError(f"cannot seed database {path}: {exc}") from None
        if not quiet:
            elapsed = time.perf_counter() - started
            print(f"seeded {path} (seed {seed}, size {size}) in {elapsed:.1f} s", flush=True)
    elif not quiet:
        info = store.seed_info()
        print(
            f"using existing data in {path} (seed {info.get('seed')}, size {info.get('size')})",
            flush=True,
        )
    return store, tmpdir


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says TCP, and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def describe(store: Store, url: str) -> dict[str, Any]:
    """The description of a listening server: its URL and what the seed recorded (`data`)."""
    return {"base_url": url, "data": store.seed_info()}


def write_description(path: str | Path, description: dict[str, Any]) -> None:
    """Write atomically: a reader polling for the file never sees half of it."""
    final = Path(path)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(description, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, final)


# -- the command -------------------------------------------------------------------------------


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


# Called once the server listens, with the parsed options and the server's description.
OnReady = Callable[[argparse.Namespace, dict[str, Any]], None]


def main(
    argv: Sequence[str] | None = None,
    *,
    parser: argparse.ArgumentParser | None = None,
    on_ready: OnReady | None = None,
) -> int:
    """The command; a caller may pass a `build_parser()` with options of its own and `on_ready`."""
    try:
        return _main(
            list(sys.argv[1:] if argv is None else argv), parser or build_parser(), on_ready
        )
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except WorkerDied as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1


def _main(argv: list[str], parser: argparse.ArgumentParser, on_ready: OnReady | None) -> int:
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if args.list_faults:
        for name, requirement, description in faults_module().list_faults():
            print(f"{name:<32} {requirement:<28} {description}")
        return 0
    if args.list_readings:
        for name, entry, description in readings_module().list_readings():
            print(f"{name:<36} {entry:<6} {description}")
        return 0
    behaviour, hooks = apply_faults(args.fault, Behaviour(), Hooks())
    behaviour, hooks = apply_readings(args.reading, behaviour, hooks)
    previous = signal.getsignal(signal.SIGTERM)
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.signal(signal.SIGTERM, _on_sigterm)
    store: Store | None = None
    tmpdir: Path | None = None
    try:
        store, tmpdir = prepare_store(args.db, args.seed, args.size)
        sock = bind_socket(args.host, args.port)
        _serve(store, sock, behaviour, hooks, args, on_ready)
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        if store is not None:
            store.close()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    print("reference server stopped", flush=True)
    return 0


def _serve(
    store: Store,
    sock: socket.socket,
    behaviour: Behaviour,
    hooks: Hooks,
    args: argparse.Namespace,
    on_ready: OnReady | None,
) -> None:
    import uvicorn

    from points_conformance.reference.app import create_app

    port = int(sock.getsockname()[1])
    url = base_url(args.host, port)
    app = create_app(store, behaviour, hooks, (args.user, args.password))

    def ready() -> None:
        description = describe(store, url)
        if args.describe_out:
            write_description(args.describe_out, description)
        if on_ready is not None:
            on_ready(args, description)
        print(f"reference server listening on {url}", flush=True)
        print(f"credentials: user {args.user!r}, password {args.password!r}", flush=True)
        if args.fault:
            print(f"faults: {', '.join(args.fault)}", flush=True)
        if args.reading:
            print(f"readings: {', '.join(args.reading)}", flush=True)
        if args.workers > 1:
            print(f"workers: {args.workers} processes", flush=True)

    try:
        if args.workers > 1:
            try:
                run_forked(store, app, sock, args.workers, args.log_level, ready)
            except WorkersFailed as exc:
                raise UsageError(str(exc)) from None
            return
        server = uvicorn.Server(uvicorn_config(app, args.log_level))

        def announce() -> None:
            while not server.started:
                if server.should_exit:
                    return
                time.sleep(0.02)
            ready()

        threading.Thread(target=announce, name="announce", daemon=True).start()
        server.run(sockets=[sock])
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
