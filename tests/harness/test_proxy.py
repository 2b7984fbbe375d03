"""`points-conformance proxy`: traffic forwarded unchanged, and judged as `validate` judges it.

The proxy runs in a thread on a loopback port in front of either a small echo server (which
answers with what it received, to see what was forwarded) or the reference server (faultless,
and with a pagination fault, to see what is judged).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from points_conformance.embedded import EmbeddedServer, start_embedded
from points_conformance.proxy import watching
from points_conformance.proxy.command import Proxy, listening_socket, main
from points_conformance.proxy.forwarding import Captured
from points_conformance.settings import Settings, resolve_settings

LEDGER = "/v2/pointsLedger/getCustomerLedgerInfo"
COOKIE = "session=cookie-value-never-shown"


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers 418 with what it received as JSON; /slow answers after two seconds."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/slow":
        await asyncio.sleep(2)
    seen = {
        "method": scope["method"],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
        "body": body.decode(),
    }
    payload = json.dumps(seen).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"x-upstream", b"echo"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": 418, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


@contextmanager
def _echo_server() -> Iterator[str]:
    sock = listening_socket("127.0.0.1", 0)
    config = uvicorn.Config(
        _echo, log_level="warning", lifespan="off", server_header=False, date_header=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class Running:
    proxy: Proxy
    url: str
    out: io.StringIO
    log: io.StringIO
    findings: io.StringIO
    status: list[int] = field(default_factory=list)

    def stop(self, thread: threading.Thread) -> int:
        self.proxy.stop()
        thread.join(30)
        assert not thread.is_alive()
        return self.status[0]


@contextmanager
def _proxy(upstream: str, settings: Settings, **options: Any) -> Iterator[tuple[Running, Any]]:
    out, log, findings = io.StringIO(), io.StringIO(), io.StringIO()
    proxy = Proxy(upstream, settings, out=out, log=log, findings=findings, **options)
    sock = listening_socket("127.0.0.1", 0)
    running = Running(proxy, f"http://127.0.0.1:{sock.getsockname()[1]}", out, log, findings)

    def serve() -> None:
        running.status.append(asyncio.run(proxy.serve(sock)))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    while proxy.server is None or not proxy.server.started:
        assert thread.is_alive(), log.getvalue()
        time.sleep(0.01)
    try:
        yield running, thread
    finally:
        proxy.stop()
        thread.join(30)
        sock.close()


def _settings(tmp_path: Path, server: EmbeddedServer | None = None) -> Settings:
    settings = resolve_settings({"report_dir": str(tmp_path / "report")}, {})
    if server is None:
        return settings
    return settings.with_embedded(
        base_url=server.url,
        username=server.username,
        password=server.password,
        target_data=server.target_data,
        target_file=server.target_file,
    )


def _ledger_query(server: EmbeddedServer) -> dict[str, Any]:
    customer = server.target_data.customer("rich")
    assert customer is not None
    return {"identifierName": "id", "identifierValue": customer.id, "source": "INSTORE"}


def test_an_exchange_is_forwarded_unchanged_both_ways(tmp_path: Path) -> None:
    with _echo_server() as upstream, _proxy(upstream, _settings(tmp_path)) as (running, _):
        headers = [("X-Trace", "t-1"), ("X-Trace", "t-2"), ("Content-Type", "text/plain")]
        via = httpx.post(
            running.url + "/a%2Fb/c?x=1&x=2&y=%20",
            content=b"the body",
            headers=[*headers, ("Connection", "keep-alive, x-hop"), ("X-Hop", "h")],
        )
        direct = httpx.post(
            upstream + "/a%2Fb/c?x=1&x=2&y=%20", content=b"the body", headers=headers
        )
    assert via.status_code == direct.status_code == 418
    # The echoes differ in length only: the direct request also carried its Connection header.
    assert [h for h in via.headers.multi_items() if h[0] != "content-length"] == [
        h for h in direct.headers.multi_items() if h[0] != "content-length"
    ]
    assert int(via.headers["content-length"]) == len(via.content)
    assert via.headers.get_list("set-cookie") == ["a=1", "b=2"]
    seen, expected = via.json(), direct.json()
    assert (seen["method"], seen["raw_path"], seen["query"], seen["body"]) == (
        "POST",
        "/a%2Fb/c",
        "x=1&x=2&y=%20",
        "the body",
    )
    # Hop-by-hop headers (and those Connection names) stop at the proxy; the rest go on as
    # they came, in their order, Host naming the upstream.
    assert seen["headers"] == [h for h in expected["headers"] if h[0] != "connection"]
    assert [v for k, v in seen["headers"] if k == "x-trace"] == ["t-1", "t-2"]


def test_a_request_body_goes_on_as_it_arrives_chunked_or_with_its_length(tmp_path: Path) -> None:
    def parts() -> Iterator[bytes]:
        yield b"first, "
        yield b"second"

    with _echo_server() as upstream, _proxy(upstream, _settings(tmp_path)) as (running, thread):
        chunked = httpx.post(running.url + "/c", content=parts()).json()
        sized = httpx.post(running.url + "/s", content=b"x" * 200_000).json()
        running.stop(thread)
    assert chunked["body"] == "first, second"
    assert ["transfer-encoding", "chunked"] in chunked["headers"]
    assert all(k != "content-length" for k, _ in chunked["headers"])
    assert sized["body"] == "x" * 200_000
    assert ["content-length", "200000"] in sized["headers"]
    assert all(k != "transfer-encoding" for k, _ in sized["headers"])
    assert "matched no operation" in running.out.getvalue()


def test_an_upstream_that_is_down_or_slow_is_a_502_or_504_of_one_line(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with _proxy(f"http://127.0.0.1:{port}", _settings(tmp_path)) as (running, thread):
        down = httpx.get(running.url + LEDGER)
        status = running.stop(thread)
    assert down.status_code == 502
    assert down.text.count("\n") == 1 and "could not be reached" in down.text
    assert "Traceback" not in down.text + running.log.getvalue()
    assert status == 3
    with (
        _echo_server() as upstream,
        _proxy(upstream, _settings(tmp_path), timeout=0.3) as (
            running,
            _,
        ),
    ):
        slow = httpx.get(running.url + "/slow")
    assert slow.status_code == 504
    assert slow.text.count("\n") == 1 and "did not answer in time" in slow.text


@pytest.fixture(scope="module")
def faultless() -> Iterator[EmbeddedServer]:
    with start_embedded() as server:
        yield server


@pytest.fixture(scope="module")
def page_count_floor() -> Iterator[EmbeddedServer]:
    with start_embedded(faults=["ledger-page-count-floor"]) as server:
        yield server


def _walk(running: Running, server: EmbeddedServer) -> list[httpx.Response]:
    """A ledger walked from its first page to its last, in pages of 100, through the proxy."""
    query = {**_ledger_query(server), "limit": 100}
    auth = (server.username, server.password)
    with httpx.Client(base_url=running.url, auth=auth, headers={"Cookie": COOKIE}) as client:
        first = client.get(LEDGER, params={**query, "offset": 0})
        count = first.json()["ledgerDetails"]["pageCount"]
        rest = [client.get(LEDGER, params={**query, "offset": n}) for n in range(1, count)]
    return [first, *rest]


def test_the_traffic_of_a_faultless_server_is_judged_without_finding(
    tmp_path: Path, faultless: EmbeddedServer
) -> None:
    with _proxy(faultless.url, _settings(tmp_path, faultless)) as (running, thread):
        pages = _walk(running, faultless)
        direct = httpx.get(
            faultless.url + LEDGER,
            params={**_ledger_query(faultless), "limit": 100, "offset": 0},
            auth=(faultless.username, faultless.password),
        )
        status = running.stop(thread)
    assert pages[0].content == direct.content
    assert status == 0, running.out.getvalue()
    assert running.findings.getvalue() == ""
    report = json.loads((tmp_path / "report" / "conformance.json").read_text())
    assert report["recorded"]["judged"] == len(pages)
    assert report["recorded"]["walks_judged"] == 1
    assert "verdict: the proxied traffic conforms" in running.out.getvalue()


def test_a_faulty_server_is_named_and_no_secret_reaches_a_line_report_or_recording(
    tmp_path: Path, page_count_floor: EmbeddedServer
) -> None:
    server = page_count_floor
    record = tmp_path / "traffic.har"
    with _proxy(server.url, _settings(tmp_path, server), record=record) as (running, thread):
        _walk(running, server)
        status = running.stop(thread)
    assert status == 1
    lines = [json.loads(line) for line in running.findings.getvalue().splitlines()]
    assert lines and {line["requirement"] for line in lines} >= {"LEDGER-PAGE-COUNT"}
    assert all(line["operation"] == "getCustomerLedgerInfo" for line in lines)
    report = json.loads((tmp_path / "report" / "conformance.json").read_text())
    assert report["requirements"]["LEDGER-PAGE-COUNT"]["status"] == "failed"
    pair = f"{server.username}:{server.password}"
    secrets = [server.password, base64.b64encode(pair.encode()).decode(), COOKIE.split("=")[1]]
    shown = [running.findings.getvalue(), running.log.getvalue(), running.out.getvalue()]
    shown += [p.read_text() for p in (tmp_path / "report").iterdir()]
    shown.append(record.read_text())
    for text in shown:
        for secret in secrets:
            assert secret not in text
    entries = json.loads(record.read_text())["log"]["entries"]
    assert {e["_operation"] for e in entries} == {"getCustomerLedgerInfo"}
    assert {"name": "authorization", "value": "Basic ****"} in entries[0]["request"]["headers"]


def test_sigterm_ends_the_proxy_cleanly_with_its_report(tmp_path: Path) -> None:
    busy = listening_socket("127.0.0.1", 0)
    port = busy.getsockname()[1]
    upstream = "http://127.0.0.1:9"
    assert main(["--upstream", upstream, "--port", str(port)]) == 2
    busy.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    command = [sys.executable, "-m", "points_conformance.cli", "proxy", "--upstream", upstream]
    command += ["--port", str(port), "--report-dir", str(tmp_path / "report")]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/nothing")
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 3, err
    assert b"nothing to judge" in out and b"Traceback" not in err
    assert (tmp_path / "report" / "conformance.json").is_file()


def test_judging_that_falls_behind_is_counted_and_never_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watching, "MAX_QUEUED", 0)
    watcher = watching.Watcher(_settings(tmp_path), io.StringIO())
    for _ in range(3):
        watcher.submit(Captured("GET", "http://127.0.0.1:9/nothing", [], b""))
    watcher.close()
    assert watcher.tally.entries == 3
    assert watcher.tally.skipped[watching.BEHIND] == 3
    assert watcher.tally.judged == 0
