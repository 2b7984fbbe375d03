"""The suite against a server tens of milliseconds away: the remote section of `python -m bench`.

A staging server is reached over a network, where every exchange waits for the round trip; on
loopback it does not. `DelayProxy` stands in for that distance: a TCP forwarder on 127.0.0.1 in
front of a bench server that holds every chunk a client sends for `delay` seconds before
passing it on, in order, so each HTTP exchange (one request on a kept-alive connection) takes
that much longer and nothing else changes. The suite is then run through it serially and with
several workers, each run on a fresh server (the suite transfers and reverses points), next to
the bound the exchanges set: requests × delay ÷ workers, plus what the suite's own work costs
the cores (the CPU seconds of the loopback serial run, spread over the workers the cores can
hold). `python -m bench.remote` runs the section alone.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import run_suite
from bench.procs import BenchError, remove, start_server

DEFAULT_DELAY_MS = 50.0
# The worker count of `python -m bench.remote` without -n (the one the speed-up target is about).
DEFAULT_WORKERS = 8
CHUNK = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy `reader` to `writer`, each chunk `delay` seconds after it arrived, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await sender
    except (ConnectionError, asyncio.CancelledError):
        sender.cancel()
    finally:
        writer.close()


class DelayProxy:
    """A TCP forwarder on 127.0.0.1 adding `delay_ms` to everything a client sends upstream.

    It runs its own event loop in a daemon thread; `url` is the proxied base URL.
    """

    def __init__(self, upstream_host: str, upstream_port: int, delay_ms: float) -> None:
        self.delay = delay_ms / 1000.0
        self._upstream = (upstream_host, upstream_port)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_writer.close()
            return
        pipes = [
            asyncio.ensure_future(_pipe(client_reader, up_writer, self.delay)),
            asyncio.ensure_future(_pipe(up_reader, client_writer, 0.0)),
        ]
        try:
            await asyncio.wait(pipes)
        except asyncio.CancelledError:
            # The proxy is stopping; ending quietly keeps asyncio's stream callback from
            # reporting the cancellation as an error.
            pass
        finally:
            for pipe in pipes:
                pipe.cancel()
            client_writer.close()
            up_writer.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def start(self) -> DelayProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _host_port(url: str) -> tuple[str, int]:
    rest = url.split("://", 1)[1].split("/", 1)[0]
    host, _, port = rest.rpartition(":")
    return host, int(port)


def _proxied_run(
    workdir: Path,
    name: str,
    paths: Sequence[str],
    args: Sequence[str],
    delay_ms: float,
    timeout: float,
) -> dict[str, Any]:
    with start_server(workdir, name) as server:
        with DelayProxy(*_host_port(server.url), delay_ms) as proxy:
            far = dataclasses.replace(server, url=proxy.url)
            run = run_suite(workdir, name, far, paths, args, timeout)
    run.pop("_tests", None)
    return run


def _bound(requests: int, delay_s: float, workers: int, cpu_s: float | None) -> float | None:
    """The fastest the run could be: its exchanges' waits spread over the workers, plus the
    CPU time of the loopback run spread over the cores the workers can use."""
    if cpu_s is None:
        return None
    cores = max(1, min(workers, os.cpu_count() or 1))
    return round(requests * delay_s / workers + cpu_s / cores, 1)


def measure(
    workdir: Path,
    paths: Sequence[str],
    *,
    delay_ms: float,
    workers: Sequence[int],
    timeout: float,
    loopback_cpu_s: float | None,
) -> dict[str, Any]:
    """The suite through a `delay_ms` proxy, serially and on each worker count of `workers`.

    `loopback_cpu_s` is the CPU time (pytest and server) of the loopback serial run, which the
    bounds add to the exchanges' waits; without it the bounds are left out.
    """
    delay = delay_ms / 1000.0
    runs: dict[str, Any] = {}
    for count in (1, *workers):
        name = "serial" if count == 1 else f"n{count}"
        extra = [] if count == 1 else ["-n", str(count)]
        run = _proxied_run(workdir, f"remote-{name}", paths, extra, delay_ms, timeout)
        keep = ("command", "wall_s", "requests", "exit_status", "outcomes", "cpu_s")
        part: dict[str, Any] = {k: run[k] for k in keep}
        part.update(server_cpu_s=run["server_cpu_s"], cores_busy=run["cores_busy"])
        part["processes"] = run["processes"]
        part["bound_s"] = _bound(int(run["requests"]), delay, count, loopback_cpu_s)
        if "log_tail" in run:
            part["log_tail"] = run["log_tail"]
        runs[name] = part
    serial_wall = float(runs["serial"]["wall_s"])
    speedups = {
        name: round(serial_wall / float(part["wall_s"]), 3)
        for name, part in runs.items()
        if name != "serial" and float(part["wall_s"]) > 0
    }
    outcomes = {name: part["outcomes"] for name, part in runs.items()}
    if len({json.dumps(o, sort_keys=True) for o in outcomes.values()}) > 1:
        raise BenchError(f"the proxied runs ended differently: {outcomes}")
    result: dict[str, Any] = {
        "delay_ms": delay_ms,
        "runs": runs,
        "loopback_cpu_s": loopback_cpu_s,
        "speedup": speedups,
    }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.remote", description=__doc__)
    parser.add_argument("paths", nargs="*", default=["tests/conformance"])
    parser.add_argument("--delay-ms", type=float, default=DEFAULT_DELAY_MS)
    parser.add_argument("-n", dest="workers", type=int, action="append")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="points-bench-remote-"))
    try:
        result = measure(
            workdir,
            args.paths,
            delay_ms=args.delay_ms,
            workers=args.workers or [DEFAULT_WORKERS],
            timeout=args.timeout,
            loopback_cpu_s=None,
        )
    finally:
        remove(workdir)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
