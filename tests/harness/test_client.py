"""The HTTP client: auth, rate limit, 429 handling, redirects, body cap, failures, dry run.

Most tests use httpx.MockTransport (nothing leaves the process); the transport-failure tests use
small socket servers on 127.0.0.1 so that the messages come from real network conditions.
"""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import itertools
import json
import socket
import threading
import time
import unittest
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from points_conformance.client import ConformanceClient, DryRunSkip, WritesNotAllowed
from points_conformance.pacing import (
    DOWN_AFTER,
    PROBE_EVERY,
    Breaker,
    RateLimiter,
    TargetDown,
    TargetUnreachable,
    Throttled,
    TransportFailure,
    parse_retry_after,
)
from points_conformance.settings import Settings, resolve_settings

PASSWORD = "pa55-Secret-word"
BEARER = "bearer-Token-0123456789"
LEDGER = "/v2/pointsLedger/getCustomerLedgerInfo"


class FakeClock:
    """A clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.append(seconds)
            self.now += seconds


def make_settings(**fields: Any) -> Settings:
    base = resolve_settings({"base_url": "http://127.0.0.1:9", "auth": f"alice:{PASSWORD}"}, {})
    return dataclasses.replace(base, **fields)


def make_client(
    handler: Callable[[httpx.Request], httpx.Response],
    settings: Settings | None = None,
    clock: FakeClock | None = None,
    **kwargs: Any,
) -> ConformanceClient:
    clock = clock or FakeClock()
    return ConformanceClient(
        settings or make_settings(),
        operation_resolver=lambda method, path: "resolvedOp",
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleep=clock.sleep,
        **kwargs,
    )


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True, "path": request.url.path})


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- auth ----------------------------------------------------------------------------------------


def test_basic_auth_is_sent_and_masked_in_the_exchange() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(request)

    with make_client(handler) as client:
        exchange = client.request(None, "GET", LEDGER, params={"limit": 5, "flag": True})
    assert seen[0].headers["authorization"] == basic("alice", PASSWORD)
    assert seen[0].url.params["limit"] == "5" and seen[0].url.params["flag"] == "true"
    assert exchange.operation == "resolvedOp"
    assert exchange.response.status == 200 and exchange.response.json["ok"] is True
    assert exchange.request.param("limit") == "5"
    assert exchange.request.headers["authorization"] == "Basic ****"
    assert PASSWORD not in repr(exchange)
    assert basic("alice", PASSWORD).split()[1] not in repr(exchange)
    assert '-u "$POINTS_CONFORMANCE_USER:$POINTS_CONFORMANCE_PASSWORD"' in (
        exchange.request.to_curl()
    )


def test_bearer_none_and_explicit_credentials() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(request)

    settings = make_settings(username=None, password=None, bearer=BEARER)
    with make_client(handler, settings) as client:
        client.get("op", LEDGER)
        client.get("op", LEDGER, auth=False)
        client.get("op", LEDGER, auth=("nobody", "wrong"))
        exchange = client.get("op", LEDGER, auth="other-token")
    assert seen[0].headers["authorization"] == f"Bearer {BEARER}"
    assert "authorization" not in seen[1].headers
    assert seen[2].headers["authorization"] == basic("nobody", "wrong")
    assert seen[3].headers["authorization"] == "Bearer other-token"
    assert exchange.operation == "op"
    assert exchange.request.headers["authorization"] == "Bearer ****"


def test_json_body_and_write_is_recorded() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"entity": {}})

    with make_client(handler) as client:
        exchange = client.post("transferPoints", "/v2/points/transfer", json={"points": 5})
        client.get("getPointsTransfers", "/v2/points/transfer")
    assert bodies == [{"points": 5}]
    assert exchange.request.body == {"points": 5}
    assert [w.to_dict() for w in client.writes] == [
        {
            "operation": "transferPoints",
            "method": "POST",
            "url": "http://127.0.0.1:9/v2/points/transfer",
            "status": 200,
        }
    ]
    assert client.stats().requests == 2 and client.stats().writes == 1


def test_writes_to_a_remote_target_need_allow_writes() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return ok(request)

    remote = make_settings(base_url="https://api.example.com")
    with make_client(handler, remote) as client:
        with pytest.raises(WritesNotAllowed, match="--allow-writes"):
            client.post("transferPoints", "/v2/points/transfer", json={})
        client.get("op", LEDGER)
    assert [c.method for c in calls] == ["GET"]
    allowed = make_settings(base_url="https://api.example.com", allow_writes=True)
    with make_client(handler, allowed) as client:
        client.post("transferPoints", "/v2/points/transfer", json={})
    assert calls[-1].method == "POST"


# -- rate limit ----------------------------------------------------------------------------------


def test_rate_limiter_spaces_requests_with_a_fake_clock() -> None:
    clock = FakeClock()
    stamps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        stamps.append(clock.now)
        return ok(request)

    with make_client(handler, make_settings(rate_limit=5.0), clock) as client:
        for _ in range(11):
            client.get("op", LEDGER)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) == 11
    assert all(gap >= 0.2 - 1e-9 for gap in gaps)
    # 11 requests at 5/s take 2 s: never more than 5 in any 1-second window (+1 at its edge).
    assert stamps[-1] - stamps[0] == pytest.approx(2.0)
    for start in stamps:
        assert sum(1 for s in stamps if start <= s < start + 1.0) <= 5


def test_rate_limiter_holds_across_threads_in_real_time() -> None:
    limiter = RateLimiter(100.0)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert len(stamps) == 40
    # 40 slots 10 ms apart: the last starts at least 390 ms after the first.
    assert elapsed >= 0.385
    stamps.sort()
    assert stamps[-1] - stamps[0] >= 0.385


def test_no_rate_limit_means_no_waiting() -> None:
    clock = FakeClock()
    with make_client(ok, make_settings(rate_limit=None), clock) as client:
        for _ in range(20):
            client.get("op", LEDGER)
    assert clock.sleeps == []


# -- 429 -----------------------------------------------------------------------------------------


def throttling(responses: list[httpx.Response]) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return queue.pop(0) if queue else ok(request)

    return handler


def test_429_without_retry_after_backs_off_and_is_counted() -> None:
    clock = FakeClock()
    handler = throttling([httpx.Response(429), httpx.Response(429)])
    with make_client(handler, clock=clock) as client:
        exchange = client.get("op", LEDGER)
    assert exchange.response.status == 200
    assert clock.sleeps == [1.0, 2.0]
    assert client.stats().throttled == 2 and client.stats().requests == 3
    assert [e.gave_up for e in client.throttle_events] == [False, False]


def test_429_honours_retry_after_seconds_and_http_dates() -> None:
    clock = FakeClock()
    in_five = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    handler = throttling(
        [
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429, headers={"Retry-After": in_five}),
        ]
    )
    with make_client(handler, clock=clock) as client:
        assert client.get("op", LEDGER).response.status == 200
    assert clock.sleeps[0] == 3.0
    assert 3.5 <= clock.sleeps[1] <= 5.0
    assert client.throttle_events[0].retry_after == 3.0


def test_429_retry_after_above_the_cap_gives_up_at_once() -> None:
    clock = FakeClock()
    handler = throttling([httpx.Response(429, headers={"Retry-After": "120"})])
    with make_client(handler, clock=clock) as client:
        with pytest.raises(Throttled) as info:
            client.get("op", LEDGER)
    assert clock.sleeps == []
    assert str(info.value) == (
        f"GET {LEDGER}: HTTP 429 asking to retry after 120 s, more than the 30 s cap"
    )
    assert client.throttle_events[0].gave_up is True
    # A lower cap applies the same way.
    clock = FakeClock()
    capped = make_settings(retry_after_cap=2.0)
    handler = throttling([httpx.Response(429, headers={"Retry-After": "3"})])
    with make_client(handler, capped, clock) as client, pytest.raises(Throttled):
        client.get("op", LEDGER)


def test_429_retries_are_bounded() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, headers={"Retry-After": "1"})

    with make_client(handler, clock=clock) as client:
        with pytest.raises(Throttled, match="still HTTP 429 after 3 retries"):
            client.get("op", LEDGER)
    assert len(calls) == 4
    assert clock.sleeps == [1.0, 1.0, 1.0]
    assert client.stats().throttled == 4
    with make_client(handler, make_settings(max_retries=0), FakeClock()) as client:
        with pytest.raises(Throttled, match="after 0 retries"):
            client.get("op", LEDGER)


def test_parse_retry_after() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


# -- redirects -----------------------------------------------------------------------------------


def test_cross_host_redirect_is_returned_not_followed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "127.0.0.1":
            return httpx.Response(302, headers={"Location": "http://evil.example.com/steal"})
        return ok(request)

    with make_client(handler) as client:
        exchange = client.get("op", LEDGER)
    assert exchange.response.status == 302
    assert [r.url.host for r in seen] == ["127.0.0.1"]
    assert client.redirects[0].location == "http://evil.example.com/steal"


@pytest.mark.parametrize(
    "location",
    ["http://127.0.0.1:10/elsewhere", "https://127.0.0.1:9/elsewhere", "//other.example/x"],
)
def test_redirect_to_another_port_or_scheme_is_not_followed(location: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(307, headers={"Location": location})

    with make_client(handler) as client:
        assert client.get("op", LEDGER).response.status == 307
    assert len(seen) == 1


def test_same_origin_redirect_is_followed_with_credentials() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == LEDGER:
            return httpx.Response(301, headers={"Location": "/v2/moved?x=1"})
        return ok(request)

    with make_client(handler) as client:
        exchange = client.get("op", LEDGER)
    assert exchange.response.status == 200
    assert [r.url.path for r in seen] == [LEDGER, "/v2/moved"]
    assert seen[1].headers["authorization"] == basic("alice", PASSWORD)
    assert exchange.request.url == "http://127.0.0.1:9/v2/moved?x=1"
    assert client.redirects == []


def test_redirect_loop_is_a_transport_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "/again"})

    with make_client(handler) as client, pytest.raises(TransportFailure, match="redirects"):
        client.get("op", LEDGER)


# -- body cap and transport failures -------------------------------------------------------------


def test_body_larger_than_the_cap_by_content_length() -> None:
    big = b"x" * (10 * 1024 * 1024 + 1)
    with make_client(lambda r: httpx.Response(200, content=big)) as client:
        with pytest.raises(TransportFailure) as info:
            client.get("op", LEDGER)
    assert str(info.value) == f"GET {LEDGER}: response body larger than 10 MB"


def test_body_larger_than_the_cap_while_streaming() -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"y" * 100

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())

    with make_client(handler, max_body_bytes=1000) as client:
        with pytest.raises(TransportFailure, match="larger than"):
            client.get("op", LEDGER)
    with make_client(handler, max_body_bytes=20_000) as client:
        assert len(client.get("op", LEDGER).response.text) == 10_000


def test_non_json_body_is_kept_as_text() -> None:
    handler = lambda r: httpx.Response(502, text="<html>bad gateway</html>")  # noqa: E731
    with make_client(handler) as client:
        response = client.get("op", LEDGER).response
    assert response.status == 502 and response.json is None
    assert response.json_error is not None and "not JSON" in response.json_error
    assert response.elapsed >= 0


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ReadTimeout("timed out"), "no response within 10.0 s"),
        (httpx.ConnectTimeout("timed out"), "no connection to http://127.0.0.1:9 within 10.0 s"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused by"),
        (
            httpx.ConnectError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                "self-signed certificate (_ssl.c:1006)"
            ),
            "TLS certificate verify failed (self-signed certificate)",
        ),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            "connection closed before a response",
        ),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), "connection reset"),
    ],
)
def test_transport_errors_become_one_line_messages(error: Exception, expected: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with make_client(handler) as client, pytest.raises(TransportFailure) as info:
        client.get("op", LEDGER)
    message = str(info.value)
    assert message.startswith(f"GET {LEDGER}: ")
    assert expected in message
    assert "\n" not in message
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        assert isinstance(info.value, TargetUnreachable)


def test_secrets_never_appear_in_exception_strings() -> None:
    token = basic("alice", PASSWORD).split()[1]

    def handler(request: httpx.Request) -> httpx.Response:
        # A transport that quotes the request headers in its error text.
        raise httpx.ConnectError(f"odd: sent {request.headers['authorization']} {PASSWORD}")

    with make_client(handler) as client, pytest.raises(TransportFailure) as info:
        client.get("op", LEDGER)
    assert PASSWORD not in str(info.value) and token not in str(info.value)
    assert "****" in str(info.value)

    bearer = make_settings(username=None, password=None, bearer=BEARER)

    def leaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError(f"bad {request.headers['authorization']}")

    with make_client(leaky, bearer) as client, pytest.raises(TransportFailure) as info:
        client.get("op", LEDGER)
    assert BEARER not in str(info.value)


# -- real sockets on 127.0.0.1 -------------------------------------------------------------------


class TinyServer:
    """A one-shot TCP server on 127.0.0.1 whose behaviour per connection is a function."""

    def __init__(self, behaviour: Callable[[socket.socket], object]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.behaviour = behaviour
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            self.behaviour(conn)

    def close(self) -> None:
        self.sock.close()


def real_client(port: int, timeout: float = 0.5) -> ConformanceClient:
    settings = make_settings(base_url=f"http://127.0.0.1:{port}", timeout=timeout)
    return ConformanceClient(settings, operation_resolver=lambda m, p: None)


def test_real_timeout_message() -> None:
    release = threading.Event()
    server = TinyServer(lambda conn: release.wait(5))
    try:
        with real_client(server.port, timeout=0.3) as client:
            with pytest.raises(TransportFailure) as info:
                client.get(None, LEDGER)
    finally:
        release.set()
        server.close()
    assert str(info.value) == f"GET {LEDGER}: no response within 0.3 s"


def test_real_connection_refused() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with real_client(port) as client, pytest.raises(TargetUnreachable) as info:
        client.get(None, LEDGER)
    assert str(info.value) == f"GET {LEDGER}: connection refused by http://127.0.0.1:{port}"
    assert PASSWORD not in str(info.value)


def test_real_connection_closed_mid_body() -> None:
    def half(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n")
        conn.sendall(b"only ten b")

    server = TinyServer(half)
    try:
        with real_client(server.port) as client, pytest.raises(TransportFailure) as info:
            client.get(None, LEDGER)
    finally:
        server.close()
    assert str(info.value) == f"GET {LEDGER}: connection closed mid-body"


def test_real_response_is_read_with_unknown_operation() -> None:
    def answer(conn: socket.socket) -> None:
        body = b'{"errors":[{"code":8015,"message":"Customer not found"}]}'
        conn.sendall(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )

    server = TinyServer(answer)
    try:
        with real_client(server.port) as client:
            exchange = client.get(None, LEDGER, params={"identifierName": "mobile"})
    finally:
        server.close()
    assert exchange.operation == "unknown"
    assert exchange.response.status == 400
    assert exchange.response.json["errors"][0]["code"] == 8015
    assert exchange.response.elapsed > 0


# -- dry run -------------------------------------------------------------------------------------


def test_dry_run_records_and_sends_nothing() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return ok(request)

    with make_client(handler, make_settings(dry_run=True)) as client:
        with pytest.raises(DryRunSkip) as get_info:
            client.get("getCustomerLedgerInfo", LEDGER, params={"limit": 1})
        with pytest.raises(DryRunSkip):
            client.post("transferPoints", "/v2/points/transfer", json={"points": 1})
    assert calls == []
    assert [p.to_dict() for p in client.planned] == [
        {
            "operation": "getCustomerLedgerInfo",
            "method": "GET",
            "url": f"http://127.0.0.1:9{LEDGER}?limit=1",
            "writes": False,
        },
        {
            "operation": "transferPoints",
            "method": "POST",
            "url": "http://127.0.0.1:9/v2/points/transfer",
            "writes": True,
        },
    ]
    assert client.writes == [] and client.stats().requests == 0
    # The standard library's skip, which pytest and hypothesis both take as a skip: a test that
    # hits it is skipped, not failed, and the client needs nothing of pytest.
    assert isinstance(get_info.value, unittest.SkipTest)
    assert "dry run: would send GET" in str(get_info.value)


def test_a_client_needs_a_base_url() -> None:
    from points_conformance.settings import SettingsError

    with pytest.raises(SettingsError, match="no base URL"):
        ConformanceClient(Settings())


def test_breaker_stops_sending_to_a_target_that_answers_nothing() -> None:
    now = [100.0]
    breaker = Breaker(lambda: now[0])
    for _ in range(DOWN_AFTER):
        breaker.admit("GET /x")
        breaker.unanswered(TransportFailure("GET /x: no response within 1.0 s"))
    with pytest.raises(TargetDown, match=r"not sent: .* last 3 requests .*no response within"):
        breaker.admit("GET /y")
    now[0] += PROBE_EVERY
    breaker.admit("GET /y")  # one probe is let through
    with pytest.raises(TargetDown):
        breaker.admit("GET /z")
    breaker.answered()  # the probe got an answer: the target is back
    breaker.admit("GET /z")


def test_breaker_counts_only_consecutive_failures() -> None:
    breaker = Breaker(lambda: 0.0)
    for _ in range(5):
        for _ in range(DOWN_AFTER - 1):
            breaker.unanswered(TransportFailure("GET /x: connection refused by http://h"))
        breaker.answered()
        breaker.admit("GET /x")
