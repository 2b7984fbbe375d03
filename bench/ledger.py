"""Reference-server latency and throughput of getCustomerLedgerInfo, first page and deep page.

The customer is the one with the most ledger events (the seed's bulk customer on a large
store). The page size is 10 and the deep page is offset 10,000 (`offset` is a page number), or
the last page when the customer has fewer pages; the result says which. First and deep pages
are requested in turn on one httpx connection for latency, then by several connections at
once for throughput (`bench.keepalive`, against a server with one worker process per core, at
most one per connection).

Every request carries its own `X-Bench-Request` number, so that the reference server's kept
answers (`reference/answers.py`) never answer one: these figures are the store's query and the
route, not a repeated answer.
"""

from __future__ import annotations

import base64
import itertools
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bench import keepalive
from bench.loops import Replayable, interleaved, new_client
from bench.procs import BenchError, BenchServer, start_server

PATH = "/v2/pointsLedger/getCustomerLedgerInfo"
PAGE_SIZE = 10
DEEP_OFFSET = 10_000
# A header no route reads, numbered per request so that no two requests are the same.
NUMBER_HEADER = "X-Bench-Request"


@dataclass(frozen=True)
class LedgerOptions:
    count: int
    warmup: int
    seconds: float
    threads: int
    per_thread: int
    startup_timeout: float


def _pick_customer(server: BenchServer) -> tuple[str, dict[str, Any]]:
    customers = server.customers()
    if "bulk" in customers:
        return "bulk", customers["bulk"]
    with_events = [(int(c.get("events") or 0), role) for role, c in customers.items()]
    if not with_events:
        raise BenchError("the target file names no customer")
    _, role = max(with_events)
    return role, customers[role]


def _rows(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = int(conn.execute("SELECT COUNT(*) FROM ledger_rows").fetchone()[0])
        events = int(conn.execute("SELECT COUNT(*) FROM ledger_events").fetchone()[0])
    finally:
        conn.close()
    return rows, events


def measure_store(workdir: Path, label: str, size: str, options: LedgerOptions) -> dict[str, Any]:
    db = workdir / f"ledger-{label}.db"
    with start_server(
        workdir, f"ledger-{label}", size=size, db=db, timeout=options.startup_timeout
    ) as server:
        role, customer = _pick_customer(server)
        params = {
            "identifierName": "mobile",
            "identifierValue": str(customer["mobile"]),
            "source": str(server.target.get("target", {}).get("source", "INSTORE")),
            "limit": str(PAGE_SIZE),
        }
        auth = (server.username, server.password)
        url = server.url + PATH
        numbers = itertools.count()

        def page(offset: int) -> Any:
            def send(client: httpx.Client) -> httpx.Response:
                response = client.get(
                    url,
                    params={**params, "offset": str(offset)},
                    auth=auth,
                    headers={NUMBER_HEADER: str(next(numbers))},
                )
                if response.status_code != 200:
                    raise httpx.HTTPStatusError(
                        f"HTTP {response.status_code}", request=response.request, response=response
                    )
                return response

            return send

        with new_client() as client:
            first = page(0)(client)
            details = first.json().get("ledgerDetails") or {}
            page_count = int(details.get("pageCount") or 0)
            total = int(details.get("totalEntries") or 0)
            first_cold = first.elapsed.total_seconds()
            deep_offset = max(0, min(DEEP_OFFSET, page_count - 1))
            deep_cold = page(deep_offset)(client).elapsed.total_seconds()
        kinds = {"first_page": page(0), "deep_page": page(deep_offset)}
        timings = interleaved(
            kinds, count=options.count, warmup=options.warmup, seconds=options.seconds
        )
        seed_s = server.startup
    workers = keepalive.workers_for(options.threads)
    with start_server(
        workdir, f"ledger-{label}-workers", db=db, timeout=options.startup_timeout, workers=workers
    ) as server:
        auth_header = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        sent = options.threads * options.per_thread
        throughput = {
            name: {
                **keepalive.load(
                    [
                        Replayable(
                            "GET",
                            PATH,
                            urlencode({**params, "offset": str(offset)}),
                            (("Authorization", auth_header), (NUMBER_HEADER, str(number))),
                            b"",
                        )
                        for number in range(sent)
                    ],
                    server.url,
                    connections=options.threads,
                    count=sent,
                    seconds=options.seconds,
                ),
                "threads": options.threads,
                "workers": workers,
            }
            for name, offset in (("first_page", 0), ("deep_page", deep_offset))
        }
    rows, events = _rows(db)
    first_summary = timings["first_page"].summary()
    deep_summary = timings["deep_page"].summary()
    ratio = deep_summary["p50_ms"] / first_summary["p50_ms"] if first_summary["p50_ms"] else 0.0
    return {
        "size": size,
        "ledger_rows": rows,
        "ledger_events": events,
        "startup_s": round(seed_s, 2),
        "customer": {
            "role": role,
            "id": str(customer.get("id", "")),
            "events": total,
            "pages": page_count,
        },
        "page_size": PAGE_SIZE,
        "deep_offset": deep_offset,
        "deep_offset_note": (
            f"offset {DEEP_OFFSET} (page number) of {page_count} pages"
            if deep_offset == DEEP_OFFSET
            else f"the customer has {page_count} pages of {PAGE_SIZE}: the last page, "
            f"offset {deep_offset}, is the deepest the store allows"
        ),
        "first_page": {**first_summary, "cold_ms": round(first_cold * 1000, 3)},
        "deep_page": {**deep_summary, "cold_ms": round(deep_cold * 1000, 3)},
        "throughput": throughput,
        "deep_over_first_p50": round(ratio, 3),
    }
