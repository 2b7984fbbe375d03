"""What `points-conformance proxy` adds to each exchange: the proxy section of `python -m bench`.

A bench server and a proxy in front of it (both child processes, as a team would run them);
getCustomerLedgerInfo (first page of 10, and a request over the limit that is refused) is sent
straight and through the proxy in turn, on one connection each, so that any noise of the
machine falls on both alike. The proxy judges every exchange while the next ones go by, as it
does in use. Then it is stopped with SIGINT and its exit status and report are read.
`python -m bench.proxy` runs this section alone.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.ledger import PATH
from bench.loops import interleaved
from bench.procs import REPO, BenchError, child_env, remove, start_server

STARTUP_SECONDS = 60.0


def _start_proxy(workdir: Path, upstream: str, target: Path) -> tuple[subprocess.Popen[bytes], str]:
    err = workdir / "proxy.err"
    argv = [sys.executable, "-m", "points_conformance.cli", "proxy", "--upstream", upstream]
    argv += ["--port", "0", "--target", str(target), "--report-dir", str(workdir / "report")]
    argv += ["--findings", str(workdir / "findings.jsonl")]
    with err.open("wb") as log, (workdir / "proxy.out").open("wb") as out:
        process = subprocess.Popen(argv, cwd=REPO, env=child_env(workdir), stdout=out, stderr=log)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        for line in err.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("points-conformance proxy: http://"):
                return process, line.split()[2]
        if process.poll() is not None:
            raise BenchError(f"the proxy exited with status {process.returncode}")
        time.sleep(0.05)
    process.kill()
    raise BenchError(f"the proxy did not start within {STARTUP_SECONDS:g} s")


def measure(workdir: Path, count: int, seconds: float) -> dict[str, Any]:
    with start_server(workdir, "proxy-upstream") as server:
        customer = server.customer("rich")
        if customer is None:
            raise BenchError("the target file names no rich customer")
        params = {"identifierName": "id", "identifierValue": str(customer["id"])}
        params["source"] = str(server.target.get("target", {}).get("source", "INSTORE"))
        auth = (server.username, server.password)
        proxy, proxy_url = _start_proxy(workdir, server.url, server.target_file)
        try:

            def send(base: str, limit: int) -> Any:
                def go(client: httpx.Client) -> httpx.Response:
                    return client.get(base + PATH, params={**params, "limit": limit}, auth=auth)

                return go

            kinds = {
                "direct_page": send(server.url, 10),
                "proxied_page": send(proxy_url, 10),
                "direct_refused": send(server.url, 101),
                "proxied_refused": send(proxy_url, 101),
            }
            timings = interleaved(kinds, count=count, warmup=max(5, count // 10), seconds=seconds)
        finally:
            proxy.send_signal(signal.SIGINT)
            status = proxy.wait(STARTUP_SECONDS)
    summary = {name: t.summary() for name, t in timings.items()}
    report = json.loads((workdir / "report" / "conformance.json").read_text(encoding="utf-8"))
    overhead = {
        kind: {
            q: round(summary[f"proxied_{kind}"][q] - summary[f"direct_{kind}"][q], 3)
            for q in ("p50_ms", "p99_ms")
        }
        for kind in ("page", "refused")
    }
    return {
        "latency": summary,
        "overhead_ms": overhead,
        "proxy_exit_status": status,
        "proxy_judged": report["recorded"]["judged"],
        "proxy_failed": sorted(
            rid for rid, r in report["requirements"].items() if r["status"] == "failed"
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy", description=__doc__)
    parser.add_argument("--requests", type=int, default=500, help="requests per kind (500)")
    parser.add_argument("--seconds", type=float, default=300.0, help="time bound (300 s)")
    parser.add_argument("--out", help="where to write the JSON (default: stdout only)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="points-bench-proxy-"))
    try:
        results = measure(workdir, args.requests, args.seconds)
    except BenchError as exc:
        print(f"bench.proxy: {exc}", file=sys.stderr)
        return 1
    finally:
        remove(workdir)
    text = json.dumps(results, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
