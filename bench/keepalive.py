"""A light load generator: raw keep-alive HTTP/1.1 over sockets, one process per connection.

httpx in threads of one process spends more CPU per request than a fast server does, and on
two cores its GIL caps the rate near a few hundred requests a second, which hides the server's
speed. Here each connection is a process of its own (forked, so the clock starts only once all
are connected and warm) that writes requests built once as bytes and reads each answer by its
Content-Length (or its chunks) before sending the next, so one request is in flight per
connection, as with a client library. Every server under comparison gets the same generator.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bench.loops import Replayable, percentile

CONNECT_TIMEOUT = 10.0
BARRIER_SECONDS = 60.0
WARMUP = 20


def workers_for(connections: int) -> int:
    """The server processes to pair with `connections`: one per core, at most one each."""
    return max(1, min(connections, os.cpu_count() or 1))


@dataclass(frozen=True)
class Plan:
    """What one connection process sends: the requests as bytes, how many, until when."""

    host: str
    port: int
    requests: tuple[bytes, ...]
    first: int
    count: int
    seconds: float


def encode(item: Replayable, host: str, port: int) -> bytes:
    """`item` as the bytes of one HTTP/1.1 request on a kept-alive connection."""
    target = item.path + (f"?{item.query}" if item.query else "")
    lines = [f"{item.method} {target} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in item.headers]
    if item.body or item.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(item.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + item.body


class _Connection:
    """One kept-alive connection that sends a request and reads its whole answer."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock = self._open()
        self.buffer = b""

    def _open(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=CONNECT_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def close(self) -> None:
        self.sock.close()

    def exchange(self, request: bytes) -> int:
        """Send `request`, read the answer; its status. Reconnects when the server closed."""
        self.sock.sendall(request)
        head = self._until(b"\r\n\r\n")
        status = int(head[9:12])
        length = -1
        chunked = False
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        if chunked:
            self._chunks()
        elif length > 0:
            self._take(length)
        if close:
            self.sock.close()
            self.sock = self._open()
            self.buffer = b""
        return status

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data

    def _until(self, mark: bytes) -> bytes:
        while True:
            end = self.buffer.find(mark)
            if end >= 0:
                found, self.buffer = self.buffer[:end], self.buffer[end + len(mark) :]
                return found
            self._fill()

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        return taken

    def _chunks(self) -> None:
        while True:
            size = int(self._until(b"\r\n").split(b";")[0], 16)
            self._take(size + 2)
            if size == 0:
                return


def _run(plan: Plan, barrier: Any, results: Any) -> None:
    """One connection process: connect, warm up, wait for the others, send, report."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    started = finished = 0.0
    requests = plan.requests
    try:
        connection = _Connection(plan.host, plan.port)
        for index in range(min(WARMUP, len(requests))):
            connection.exchange(requests[(plan.first + index) % len(requests)])
    except (OSError, ValueError):
        barrier.abort()
        results.put({"latencies": [], "statuses": {}, "errors": 1, "span": (0.0, 0.0)})
        return
    try:
        barrier.wait(BARRIER_SECONDS)
    except Exception:  # BrokenBarrierError: another connection failed
        connection.close()
        results.put({"latencies": [], "statuses": {}, "errors": 0, "span": (0.0, 0.0)})
        return
    started = time.perf_counter()
    deadline = started + plan.seconds
    for index in range(plan.count):
        request = requests[(plan.first + index) % len(requests)]
        begun = time.perf_counter()
        try:
            status = connection.exchange(request)
        except (OSError, ValueError):
            errors += 1
            try:
                connection.close()
                connection = _Connection(plan.host, plan.port)
            except OSError:
                break
            continue
        now = time.perf_counter()
        latencies.append(now - begun)
        statuses[status] = statuses.get(status, 0) + 1
        if now > deadline:
            break
    finished = time.perf_counter()
    connection.close()
    results.put(
        {
            "latencies": latencies,
            "statuses": statuses,
            "errors": errors,
            "span": (started, finished),
        }
    )


def load(
    requests: Sequence[Replayable], base: str, *, connections: int, count: int, seconds: float
) -> dict[str, Any]:
    """Send `count` requests in all over `connections` connections at once; rate and latencies.

    Connection k starts at request k * len(requests) / connections and takes the requests in
    order from there, so the connections do not send the same request at the same moment.
    """
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    encoded = tuple(encode(item, host, port) for item in requests)
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(connections + 1)
    results = context.Queue()
    share, extra = divmod(count, connections)
    processes = [
        context.Process(
            target=_run,
            args=(
                Plan(
                    host,
                    port,
                    encoded,
                    first=slot * len(encoded) // connections,
                    count=share + (1 if slot < extra else 0),
                    seconds=seconds,
                ),
                barrier,
                results,
            ),
            daemon=True,
        )
        for slot in range(connections)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(BARRIER_SECONDS)
    except Exception:  # BrokenBarrierError: a connection could not be opened
        pass
    reports = [results.get(timeout=seconds + BARRIER_SECONDS) for _ in processes]
    for process in processes:
        process.join(10)
    latencies = [value for report in reports for value in report["latencies"]]
    statuses: dict[int, int] = {}
    for report in reports:
        for status, number in report["statuses"].items():
            statuses[status] = statuses.get(status, 0) + number
    spans = [report["span"] for report in reports if report["span"][1] > 0]
    wall = max(end for _, end in spans) - min(start for start, _ in spans) if spans else 0.0
    return {
        "generator": "keep-alive HTTP/1.1 over sockets, one process per connection",
        "connections": connections,
        "requests": len(latencies),
        "errors": sum(int(report["errors"]) for report in reports),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "wall_s": round(wall, 3),
        "rps": round(len(latencies) / wall, 1) if wall > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
    }
