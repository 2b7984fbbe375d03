"""Plain httpx loops: the baseline the harness is compared with, and the latency probes.

Every loop stops at a request count or a deadline, whichever comes first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

# Hop-by-hop and per-connection headers: httpx sets its own for the connection it sends on.
_DROPPED_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})
CLIENT_TIMEOUT = 10.0
FUZZ_HEADER = "x-schemathesis-testcaseid"


@dataclass(frozen=True)
class Replayable:
    """One request as it can be sent again to any base URL."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def url(self, base: str) -> str:
        return base.rstrip("/") + self.path + (f"?{self.query}" if self.query else "")

    @property
    def kind(self) -> str:
        """`fuzz` for a request a fuzz test generated (schemathesis tags those), else `matrix`."""
        generated = any(k.lower() == FUZZ_HEADER for k, _ in self.headers)
        return "fuzz" if generated else "matrix"


def replayables(entries: Sequence[dict[str, Any]]) -> list[Replayable]:
    """Requests from a bench server's recording."""
    return [
        Replayable(
            method=str(e["method"]),
            path=str(e["path"]),
            query=str(e["query"]),
            headers=tuple(
                (str(k), str(v)) for k, v in e["headers"] if str(k).lower() not in _DROPPED_HEADERS
            ),
            body=bytes(e["body"]),
        )
        for e in entries
    ]


def bounded(count: int, seconds: float) -> Iterator[int]:
    """0, 1, ... up to `count` values, stopping early once `seconds` have passed."""
    deadline = time.perf_counter() + seconds
    for index in range(count):
        if index and time.perf_counter() > deadline:
            return
        yield index


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (0 < fraction <= 1) of `values`; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def new_client() -> httpx.Client:
    """A client built like the harness's: one pool, HTTP/1.1, keep-alive, no redirects."""
    return httpx.Client(timeout=CLIENT_TIMEOUT, follow_redirects=False, http1=True, http2=False)


@dataclass
class ReplayResult:
    sent: int
    wall: float
    statuses: dict[int, int]
    errors: int
    by_kind: dict[str, list[float]]

    @property
    def rps(self) -> float:
        return self.sent / self.wall if self.wall > 0 else 0.0


def replay(
    requests: Sequence[Replayable], base: str, *, seconds: float, repeat: int = 1
) -> ReplayResult:
    """Send `requests` in order (`repeat` times) on one client, single-threaded, like pytest."""
    statuses: dict[int, int] = {}
    by_kind: dict[str, list[float]] = {}
    errors = 0
    sent = 0
    total = len(requests) * repeat
    with new_client() as client:
        started = time.perf_counter()
        for index in bounded(total, seconds):
            item = requests[index % len(requests)]
            begun = time.perf_counter()
            try:
                response = client.request(
                    item.method,
                    item.url(base),
                    headers=list(item.headers),
                    content=item.body or None,
                )
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            except httpx.HTTPError:
                errors += 1
            by_kind.setdefault(item.kind, []).append(time.perf_counter() - begun)
            sent += 1
        wall = time.perf_counter() - started
    return ReplayResult(sent, wall, statuses, errors, by_kind)


@dataclass
class Timings:
    """Latencies in seconds of one kind of request, and the wall time they took together."""

    latencies: list[float]
    errors: int = 0
    statuses: dict[int, int] | None = None

    def summary(self) -> dict[str, Any]:
        lat = self.latencies
        total = sum(lat)
        return {
            "requests": len(lat),
            "errors": self.errors,
            "p50_ms": round(percentile(lat, 0.50) * 1000, 3),
            "p99_ms": round(percentile(lat, 0.99) * 1000, 3),
            "mean_ms": round(total / len(lat) * 1000, 3) if lat else 0.0,
            "max_ms": round(max(lat) * 1000, 3) if lat else 0.0,
            "sequential_rps": round(len(lat) / total, 1) if total > 0 else 0.0,
            "statuses": {str(k): v for k, v in sorted((self.statuses or {}).items())},
        }


Send = Callable[[httpx.Client], httpx.Response]


def interleaved(
    kinds: dict[str, Send], *, count: int, warmup: int, seconds: float
) -> dict[str, Timings]:
    """Latency of each kind of request, sent in turn on one connection.

    Taking turns spreads any background noise of the machine over every kind alike.
    """
    results = {name: Timings([], 0, {}) for name in kinds}
    with new_client() as client:
        for _ in bounded(warmup, seconds / 4):
            for send in kinds.values():
                try:
                    send(client)
                except httpx.HTTPError:
                    pass
        for _ in bounded(count, seconds):
            for name, send in kinds.items():
                timing = results[name]
                started = time.perf_counter()
                try:
                    response = send(client)
                except httpx.HTTPError:
                    timing.errors += 1
                    continue
                timing.latencies.append(time.perf_counter() - started)
                assert timing.statuses is not None
                timing.statuses[response.status_code] = (
                    timing.statuses.get(response.status_code, 0) + 1
                )
    return results
