"""Several uvicorn processes answering on one listening socket, over one SQLite file.

`serve --workers N` (and the bench server) use this: the socket is bound and the application
built in the parent, which then forks N children that each run uvicorn on the inherited socket
(the kernel hands each new connection to one of them). The store's connections are closed
before the fork and every child opens its own (a SQLite connection must not cross a fork); the
database is in WAL mode, each write is one BEGIN IMMEDIATE transaction under a busy timeout,
and the count caches follow other processes' commits (`StoreConnection.caches_checked`), so
the processes share the data exactly as threads of one process do.

The parent only waits: it returns once every child has stopped, and on SIGTERM or SIGINT it
passes SIGTERM on to the children first.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

from points_conformance.reference.http_protocol import uvicorn_config
from points_conformance.reference.store import Store

STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0
ORPHAN_CHECK_SECONDS = 1.0


class _Stop(Exception):
    """SIGTERM arrived at the parent."""


class WorkersFailed(Exception):
    """A worker process exited before it listened, or did not start listening in time."""


class WorkerDied(Exception):
    """A worker process that had been serving exited on its own (the others were stopped)."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


def run_forked(
    store: Store,
    app: Any,
    sock: socket.socket,
    workers: int,
    log_level: str,
    on_ready: Callable[[], None],
) -> None:
    """Serve `app` from `workers` child processes; `on_ready` once every one of them listens."""
    store.close()
    ready_read, ready_write = os.pipe()
    children: list[int] = []
    try:
        for _ in range(workers):
            pid = os.fork()
            if pid == 0:
                os.close(ready_read)
                _child(app, sock, log_level, ready_write)
            children.append(pid)
        os.close(ready_write)
        if not _await_ready(ready_read, children, workers):
            raise WorkersFailed(
                f"not every one of the {workers} worker processes started listening"
                f" within {STARTUP_SECONDS:g} s"
            )
        on_ready()
        died = _wait(children)
        if died:
            raise WorkerDied("; ".join(died) + "; the other workers were stopped")
    finally:
        os.close(ready_read)
        _stop(children)


def _child(app: Any, sock: socket.socket, log_level: str, ready: int) -> None:
    """One worker: uvicorn on the inherited socket, then out without the parent's clean-up."""
    import uvicorn

    status = 0
    parent = os.getppid()
    servers: list[Any] = []
    stopping = threading.Event()

    # Only a flag: uvicorn takes these signals over while it serves and raises the one it caught
    # again on its way out, into this handler; an exception raised here then lands inside the
    # event loop's own shutdown.
    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        for server in servers:
            server.should_exit = True

    try:
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        server = uvicorn.Server(uvicorn_config(app, log_level))
        servers.append(server)
        server.should_exit = stopping.is_set()

        def announce() -> None:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not server.started and not server.should_exit:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.01)
            if server.started:
                os.write(ready, b".")

        def orphaned() -> None:
            # A parent killed outright (SIGKILL) cannot pass a signal on: stop with it.
            while os.getppid() == parent and not server.should_exit:
                time.sleep(ORPHAN_CHECK_SECONDS)
            server.should_exit = True

        threading.Thread(target=announce, name="announce", daemon=True).start()
        threading.Thread(target=orphaned, name="orphaned", daemon=True).start()
        server.run(sockets=[sock])
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        # Never return into the parent's code: its finally blocks close the store and remove
        # the temporary database, which belong to the parent alone.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _await_ready(ready: int, children: list[int], workers: int) -> bool:
    """True once every child said it listens; False when one died or time ran out."""
    seen = 0
    deadline = time.monotonic() + STARTUP_SECONDS
    while seen < workers:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        readable, _, _ = select.select([ready], [], [], min(left, 0.5))
        if readable:
            chunk = os.read(ready, workers)
            if not chunk:
                return False
            seen += len(chunk)
        elif any(os.waitpid(pid, os.WNOHANG)[0] for pid in children):
            return False
    return True


def _wait(children: list[int]) -> list[str]:
    """Until every child has exited; a signal to the parent is passed on to them. Returns how
    each child that exited on its own with a failure ended."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    died: list[str] = []
    stopping = False
    try:
        while children:
            try:
                pid, status = os.wait()
            except (_Stop, KeyboardInterrupt):
                stopping = True
                _signal(children, signal.SIGTERM)
                continue
            except ChildProcessError:
                children.clear()
                break
            if pid in children:
                children.remove(pid)
                if status != 0 and not stopping:
                    died.append(f"worker process {pid} exited (wait status {status})")
                # One worker gone means the server is no longer what was asked for.
                stopping = True
                _signal(children, signal.SIGTERM)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    return died


def _signal(children: list[int], signum: int) -> None:
    for pid in children:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _stop(children: list[int]) -> None:
    """Children still running (the parent is leaving early): TERM, then KILL."""
    _signal(children, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while children and time.monotonic() < deadline:
        for pid in list(children):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    children.remove(pid)
            except ChildProcessError:
                children.remove(pid)
        time.sleep(0.05)
    _signal(children, signal.SIGKILL)
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    children.clear()
