"""`python -m bench.server`: the reference server with a request counter, for the benchmarks.

It is the reference application exactly as `points-conformance serve` builds it (same store,
socket and uvicorn settings), wrapped in one ASGI layer that counts the requests it answers,
so every client (the suite, the fuzz tests, schemathesis, a plain httpx loop) is counted the
same way. `GET /__bench__/requests` answers the count and is not counted itself. With
`--record FILE` every request (method, path, query, headers, body, status) is appended to FILE
as one JSON line, so that the same requests can be replayed by a plain loop. `--workers N`
serves from N processes as `serve --workers N` does (the count is then shared memory).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import multiprocessing
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from points_conformance.embedded import write_reference_target
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.http_protocol import uvicorn_config
from points_conformance.reference.serve import (
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    base_url,
    bind_socket,
    describe,
    prepare_store,
)
from points_conformance.reference.workers import WorkerDied, run_forked

HOST = "127.0.0.1"
STATS_PATH = "/__bench__/requests"


class CountingApp:
    """Counts (and optionally records) every HTTP request before handing it to `app`."""

    def __init__(self, app: ASGIApp, record: IO[str] | None = None) -> None:
        self.app = app
        # Shared memory, so that worker processes forked from this one count together.
        self.counter = multiprocessing.Value("q", 0)
        self.record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == STATS_PATH:
            await self._stats(send)
            return
        with self.counter.get_lock():
            self.counter.value += 1
        if self.record is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        status: list[int] = []

        async def tap_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def tap_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, tap_receive, tap_send)
        entry = {
            "method": scope["method"],
            "path": scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
            "query": scope.get("query_string", b"").decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            "body": base64.b64encode(b"".join(chunks)).decode("ascii"),
            "status": status[0] if status else 0,
        }
        self.record.write(json.dumps(entry, separators=(",", ":")) + "\n")

    async def _stats(self, send: Send) -> None:
        body = json.dumps({"requests": self.counter.value}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _Stop(Exception):
    """SIGTERM arrived."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__)
    parser.add_argument("--size", default="small", help="small, large or a number of ledger rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", help="SQLite file to keep (seeded when new); default temporary")
    parser.add_argument("--target-out", required=True, help="target file, written once listening")
    parser.add_argument("--record", help="append every request to this file (JSON lines)")
    parser.add_argument("--profile", help="write a cProfile of the server to this file on exit")
    parser.add_argument("--workers", type=int, default=1, help="server processes (1)")
    parser.add_argument("--user", default=DEFAULT_USER)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers > 1 and (args.record or args.profile):
        parser.error("--record and --profile need one worker")
    import uvicorn

    from points_conformance.reference import app as reference_app

    if args.profile:
        # cProfile sees only the thread it was enabled in, so the handlers run on the event
        # loop's thread while profiling; the profile then covers the whole request.
        async def inline(func: Callable[..., Any], *fargs: Any, **kwargs: Any) -> Any:
            return func(*fargs, **kwargs)

        reference_app.run_in_threadpool = inline  # type: ignore[attr-defined]
    # uvicorn re-raises the SIGTERM it caught once it has shut down; this handler turns that
    # into an exception, so the store is closed and its temporary copy removed.
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        store, tmpdir = prepare_store(args.db, args.seed, args.size, quiet=True)
    except _Stop:
        return 0
    record = open(args.record, "a", encoding="utf-8", buffering=1) if args.record else None
    profiler = cProfile.Profile() if args.profile else None
    try:
        sock = bind_socket(HOST, 0)
        url = base_url(HOST, int(sock.getsockname()[1]))
        app = CountingApp(
            reference_app.create_app(store, Behaviour(), Hooks(), (args.user, args.password)),
            record,
        )
        if args.workers > 1:
            try:
                run_forked(
                    store,
                    app,
                    sock,
                    args.workers,
                    "warning",
                    lambda: write_reference_target(args.target_out, describe(store, url)),
                )
            except (_Stop, KeyboardInterrupt):
                pass
            except WorkerDied as exc:
                print(f"bench server: {exc}", file=sys.stderr)
                return 1
            finally:
                sock.close()
            return 0
        server = uvicorn.Server(uvicorn_config(app, "warning"))

        def announce() -> None:
            deadline = time.monotonic() + 60
            while not server.started and not server.should_exit:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.01)
            if server.started:
                write_reference_target(args.target_out, describe(store, url))

        threading.Thread(target=announce, name="announce", daemon=True).start()
        if profiler is not None:
            profiler.enable()
        try:
            server.run(sockets=[sock])
        except (_Stop, KeyboardInterrupt):
            pass
        finally:
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
            sock.close()
    finally:
        if record is not None:
            record.close()
        store.close()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


def request_count(url: str, timeout: float = 10.0) -> int:
    """The number of requests a bench server has answered so far."""
    import httpx

    response = httpx.get(url.rstrip("/") + STATS_PATH, timeout=timeout)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return int(data["requests"])


def read_recording(path: Path) -> list[dict[str, Any]]:
    """The requests a `--record` file holds, in the order they were answered."""
    entries: list[dict[str, Any]] = []
    if not path.exists():
        return entries
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                entry = json.loads(line)
                entry["body"] = base64.b64decode(entry["body"])
                entries.append(entry)
    return entries


if __name__ == "__main__":
    sys.exit(main())
