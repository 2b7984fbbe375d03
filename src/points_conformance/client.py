"""The one HTTP client every test talks to the target through.

It adds the credentials, keeps the request rate under the configured limit (across threads),
waits out HTTP 429 within bounds, follows redirects only within the target's origin so that
credentials never reach another host, caps response bodies, and turns every transport problem
into a one-line `TransportFailure` that contains no credential. Each call returns a
`model.Exchange` tagged with its operationId, so checks never see httpx objects.
"""

from __future__ import annotations

import base64
import json as jsonlib
import threading
import time
import unittest
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from points_conformance import __version__
from points_conformance.model import Exchange, RequestInfo, ResponseInfo
from points_conformance.operations import WRITE_OPERATIONS
from points_conformance.pacing import (
    DEFAULT_PORTS,
    Breaker,
    RateLimiter,
    TargetUnreachable,
    Throttled,
    TransportFailure,
    parse_retry_after,
)
from points_conformance.records import PlannedRequest, RedirectRecord, ThrottleEvent, WriteRecord
from points_conformance.redaction import without_credentials
from points_conformance.settings import Settings, SettingsError

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNKNOWN_OPERATION = "unknown"
# Requests kept for `resend`: a re-check looks only at those of the test just run.
MAX_REMEMBERED = 4096
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Auth = bool | tuple[str, str] | str
OperationResolver = Callable[[str, str], str | None]
Params = Mapping[str, Any] | Sequence[tuple[str, Any]]


# Skips rather than plain exceptions: pytest and hypothesis both take the standard library's
# SkipTest as a skip, so a dry run or a refused write skips a fuzz test as cleanly as a matrix
# one, and the client needs nothing of pytest.
class DryRunSkip(unittest.SkipTest):
    """Raised instead of sending when the run is a dry run; the request has been recorded."""

    def __init__(self, planned: PlannedRequest) -> None:
        super().__init__(f"dry run: would send {planned.method} {planned.url}")
        self.planned = planned


class WritesNotAllowed(unittest.SkipTest):
    """A write was about to go to a non-loopback target without --allow-writes."""

    def __init__(self, method: str, url: str) -> None:
        super().__init__(
            f"writes need --allow-writes against non-loopback targets ({method} {url} not sent)"
        )


@dataclass(frozen=True)
class ClientStats:
    """Counters at one moment; the plugin subtracts two of them to attribute work to a test."""

    requests: int = 0
    throttled: int = 0
    writes: int = 0
    planned: int = 0
    redirects: int = 0


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port or DEFAULT_PORTS.get(url.scheme))


def _spec_resolver() -> OperationResolver:
    """Resolve operationIds from the OpenAPI description, loaded on first use."""
    loaded: list[Any] = []

    def resolve(method: str, path: str) -> str | None:
        if not loaded:
            try:
                from points_conformance.spec import load_spec
            except ImportError:
                loaded.append(None)
            else:
                loaded.append(load_spec())
        spec = loaded[0]
        if spec is None:
            return None
        operation = spec.operation_for(method, path)
        if operation is None:
            return None
        return str(getattr(operation, "operation_id", operation))

    return resolve


class ConformanceClient:
    """Sends requests to the target described by `settings` and returns Exchanges.

    Thread-safe: one instance (one connection pool) is shared by every test of a process.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        operation_resolver: OperationResolver | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if not settings.base_url:
            raise SettingsError(
                "no base URL: give --base-url, POINTS_CONFORMANCE_BASE_URL or a target file"
            )
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self._resolve = operation_resolver or _spec_resolver()
        self._sleep = sleep
        self.max_body_bytes = max_body_bytes
        self.limiter = RateLimiter(settings.rate_limit, clock=clock, sleep=sleep)
        self.breaker = Breaker(clock)
        self._http = httpx.Client(
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=False,
            http1=True,
            http2=False,
            transport=transport,
            headers={"User-Agent": f"points-conformance/{__version__}"},
        )
        self._lock = threading.Lock()
        self.requests_sent = 0
        self.writes: list[WriteRecord] = []
        self.planned: list[PlannedRequest] = []
        self.throttle_events: list[ThrottleEvent] = []
        self.redirects: list[RedirectRecord] = []
        # Called with every exchange the client returns (a run's HAR recording listens here).
        self.listeners: list[Callable[[Exchange], None]] = []
        # For `resend`: id(an exchange's RequestInfo, or a TransportFailure) -> (it, the
        # operation, the request as built with its credentials, json, content); the key object
        # is held so that its id is not reused while kept.
        self._kept: OrderedDict[int, tuple[object, str, httpx.Request, Any, Any]] = OrderedDict()

    # -- public ---------------------------------------------------------------------------------

    def get(self, operation_id: str | None, path: str, **kwargs: Any) -> Exchange:
        return self.request(operation_id, "GET", path, **kwargs)

    def post(self, operation_id: str | None, path: str, **kwargs: Any) -> Exchange:
        return self.request(operation_id, "POST", path, **kwargs)

    def request(
        self,
        operation_id: str | None,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: str | bytes | None = None,
        auth: Auth = True,
    ) -> Exchange:
        """Send one request; 429s are retried and same-origin redirects followed.

        `path` is relative to the base URL. `auth` is True (the configured credentials), False
        (none), a (user, password) pair, or a bearer token string. `content` sends a raw body
        (for malformed-body tests) instead of `json`.
        """
        method = method.upper()
        operation = (
            operation_id or self._resolve(method, path.split("?", 1)[0]) or UNKNOWN_OPERATION
        )
        request = self._build(method, path, params, headers, json, content, auth)
        writes = method in WRITE_METHODS
        url = str(request.url)
        if self.settings.dry_run:
            planned = PlannedRequest(operation, method, url, writes)
            with self._lock:
                self.planned.append(planned)
            raise DryRunSkip(planned)
        if writes and not self.settings.writes_permitted:
            raise WritesNotAllowed(method, url)
        try:
            exchange = self._exchange(operation, request, json, content)
        except TransportFailure as exc:
            self._keep(exc, operation, request, json, content)
            raise
        self._keep(exchange.request, operation, request, json, content)
        return exchange

    def resend(self, sent: Exchange | TransportFailure) -> Exchange:
        """Send again, exactly as first sent (credentials, headers, body, pacing, 429 waits,
        redirect rules), the request of an exchange or the one a transport failure ended.

        Kept only while re-checks are on, and never for an operation that writes (a transfer
        sent twice moves points twice): KeyError for a request this client did not keep.
        """
        key = sent.request if isinstance(sent, Exchange) else sent
        with self._lock:
            kept, operation, request, json, content = self._kept[id(key)]
        if kept is not key:
            raise KeyError("this client did not send that request")
        return self._exchange(operation, request, json, content)

    def _keep(self, key: object, operation: str, request: httpx.Request, *body: Any) -> None:
        if self.settings.rechecks and operation not in WRITE_OPERATIONS:
            with self._lock:
                self._kept[id(key)] = (key, operation, request, *body)
                while len(self._kept) > MAX_REMEMBERED:
                    self._kept.popitem(last=False)

    def _exchange(
        self, operation: str, request: httpx.Request, json: Any, content: str | bytes | None
    ) -> Exchange:
        method = request.method
        url = str(request.url)
        writes = method in WRITE_METHODS
        attempt = 0
        while True:
            response, sent = self._send_following(request, operation)
            if response.status != 429:
                break
            delay = parse_retry_after(_header(response.headers, "retry-after"))
            cap = self.settings.retry_after_cap
            over_cap = delay is not None and delay > cap
            exhausted = attempt >= self.settings.max_retries
            wait = (
                0.0
                if (over_cap or exhausted)
                else (delay if delay is not None else min(cap, 2.0**attempt))
            )
            self._record_throttle(
                ThrottleEvent(operation, method, url, delay, wait, over_cap or exhausted)
            )
            if over_cap:
                raise Throttled(
                    f"{method} {request.url.path}: HTTP 429 asking to retry after {delay:g} s, "
                    f"more than the {cap:g} s cap"
                )
            if exhausted:
                raise Throttled(
                    f"{method} {request.url.path}: still HTTP 429 after "
                    f"{self.settings.max_retries} retries"
                )
            self._sleep(wait)
            attempt += 1

        if writes:
            with self._lock:
                self.writes.append(WriteRecord(operation, method, url, response.status))
        exchange = Exchange(operation, self._request_info(sent, json, content), response)
        for listener in self.listeners:
            listener(exchange)
        return exchange

    def stats(self) -> ClientStats:
        with self._lock:
            return ClientStats(
                requests=self.requests_sent,
                throttled=len(self.throttle_events),
                writes=len(self.writes),
                planned=len(self.planned),
                redirects=len(self.redirects),
            )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ConformanceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ConformanceClient({self.base_url!r})"

    # -- building -------------------------------------------------------------------------------

    def _auth_header(self, auth: Auth) -> str | None:
        if auth is True:
            if self.settings.bearer:
                return f"Bearer {self.settings.bearer}"
            if self.settings.username is not None and self.settings.password is not None:
                return _basic(self.settings.username, self.settings.password)
            return None
        if auth is False:
            return None
        if isinstance(auth, tuple):
            return _basic(auth[0], auth[1])
        return f"Bearer {auth}"

    def _build(
        self,
        method: str,
        path: str,
        params: Params | None,
        headers: Mapping[str, str] | None,
        json: Any,
        content: str | bytes | None,
        auth: Auth,
    ) -> httpx.Request:
        # Always relative to the base URL: credentials are only ever sent to the target.
        url = self.base_url + (path if path.startswith("/") else "/" + path)
        merged: dict[str, str] = {"Accept": "application/json"}
        if json is not None or content is not None:
            merged["Content-Type"] = "application/json"
        merged.update(headers or {})
        authorization = self._auth_header(auth)
        if authorization is not None:
            merged["Authorization"] = authorization
        query = _query(params)
        try:
            if content is not None:
                return self._http.build_request(
                    method, url, params=query, headers=merged, content=content
                )
            return self._http.build_request(method, url, params=query, headers=merged, json=json)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise TransportFailure(
                self.settings.redact(f"{method} {path}: invalid request URL: {exc}")
            ) from None

    def _request_info(
        self, sent: httpx.Request, json: Any, content: str | bytes | None
    ) -> RequestInfo:
        # Credentials never enter an Exchange, so no report, repr or assertion message can
        # show them.
        headers = without_credentials(sent.headers.items())
        body: Any = json
        if content is not None:
            text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
            try:
                body = jsonlib.loads(text)
            except ValueError:
                body = text
        return RequestInfo(sent.method, str(sent.url), headers, body)

    # -- sending --------------------------------------------------------------------------------

    def _send_following(
        self, request: httpx.Request, operation: str
    ) -> tuple[ResponseInfo, httpx.Request]:
        current = request
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send_once(current)
            location = _header(response.headers, "location")
            if response.status not in _REDIRECTS or not location:
                return response, current
            try:
                target = current.url.join(location)
            except httpx.InvalidURL:
                return response, current
            if _origin(target) != _origin(request.url):
                with self._lock:
                    self.redirects.append(
                        RedirectRecord(operation, current.method, str(current.url), str(target))
                    )
                return response, current
            current = _redirected(current, target, response.status)
        raise TransportFailure(
            f"{request.method} {request.url.path}: more than {MAX_REDIRECTS} redirects"
        )

    def _send_once(self, request: httpx.Request) -> ResponseInfo:
        self.breaker.admit(f"{request.method} {request.url.path}")
        self.limiter.acquire()
        with self._lock:
            self.requests_sent += 1
        timeout = self.settings.timeout
        started = time.perf_counter()
        phase = "connect"
        try:
            response = self._http.send(request, stream=True)
            phase = "body"
            try:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
                    raise self._too_large(request)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        raise self._too_large(request)
                    chunks.append(chunk)
                    # httpx's read timeout is per chunk; a target that drips bytes must still
                    # finish within the timeout as a whole.
                    if time.perf_counter() - started > timeout:
                        raise TransportFailure(
                            f"{request.method} {request.url.path}: response body not complete "
                            f"within {float(timeout)} s"
                        )
            finally:
                response.close()
        except TransportFailure as exc:
            self.breaker.answered()
            raise type(exc)(self.settings.redact(exc.message)) from None
        except httpx.TransportError as exc:
            failure = self._describe(exc, request, phase)
            if phase == "connect" and isinstance(
                exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ReadTimeout
            ):
                self.breaker.unanswered(failure)
            else:
                self.breaker.answered()
            raise failure from None
        self.breaker.answered()
        elapsed = time.perf_counter() - started
        data = b"".join(chunks)
        text = data.decode(response.charset_encoding or "utf-8", errors="replace")
        headers = {key: value for key, value in response.headers.items()}
        return ResponseInfo.from_parts(response.status_code, headers, text, elapsed)

    def _too_large(self, request: httpx.Request) -> TransportFailure:
        limit = self.max_body_bytes / (1024 * 1024)
        return TransportFailure(
            f"{request.method} {request.url.path}: response body larger than {limit:g} MB"
        )

    def _record_throttle(self, event: ThrottleEvent) -> None:
        with self._lock:
            self.throttle_events.append(event)

    def _describe(
        self, exc: httpx.TransportError, request: httpx.Request, phase: str
    ) -> TransportFailure:
        """A one-line account of a transport error, in the words of someone running the suite."""
        t = f"{float(self.settings.timeout)} s"
        where = f"{request.method} {request.url.path}"
        origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii', 'replace')}"
        text = str(exc) or type(exc).__name__
        low = text.lower()
        failure: TransportFailure
        if isinstance(exc, httpx.ConnectTimeout):
            failure = TargetUnreachable(f"{where}: no connection to {origin} within {t}")
        elif isinstance(exc, httpx.ReadTimeout):
            failure = TransportFailure(
                f"{where}: no response within {t}"
                if phase == "connect"
                else f"{where}: response body not complete within {t}"
            )
        elif isinstance(exc, httpx.WriteTimeout):
            failure = TransportFailure(f"{where}: request not sent within {t}")
        elif isinstance(exc, httpx.PoolTimeout):
            failure = TransportFailure(f"{where}: no free connection within {t}")
        elif isinstance(exc, httpx.ConnectError):
            if "certificate verify failed" in low:
                detail = low.split("certificate verify failed", 1)[1].strip(" :").split("(")[0]
                failure = TargetUnreachable(
                    f"{where}: TLS certificate verify failed"
                    + (f" ({detail.strip()})" if detail.strip() else "")
                )
            elif "ssl" in low or "tls" in low:
                failure = TargetUnreachable(f"{where}: TLS handshake with {origin} failed: {text}")
            elif "refused" in low:
                failure = TargetUnreachable(f"{where}: connection refused by {origin}")
            elif any(
                s in low for s in ("name or service", "nodename", "getaddrinfo", "name resolution")
            ):
                failure = TargetUnreachable(f"{where}: host {request.url.host} not found")
            else:
                failure = TargetUnreachable(f"{where}: cannot connect to {origin}: {text}")
        elif isinstance(exc, httpx.RemoteProtocolError):
            if phase == "body":
                failure = TransportFailure(f"{where}: connection closed mid-body")
            elif "without sending" in low or "disconnected" in low:
                failure = TransportFailure(f"{where}: connection closed before a response")
            else:
                failure = TransportFailure(f"{where}: HTTP protocol error: {text}")
        elif isinstance(exc, httpx.ReadError):
            failure = TransportFailure(
                f"{where}: connection reset mid-body"
                if phase == "body"
                else f"{where}: connection reset before a response"
            )
        elif isinstance(exc, httpx.WriteError):
            failure = TransportFailure(f"{where}: connection closed while sending the request")
        elif isinstance(exc, httpx.DecodingError):
            failure = TransportFailure(f"{where}: response body could not be decoded: {text}")
        else:
            failure = TransportFailure(f"{where}: {type(exc).__name__}: {text}")
        return type(failure)(self.settings.redact(failure.message))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query(params: Params | None) -> httpx.QueryParams | None:
    if params is None:
        return None
    pairs = params.items() if isinstance(params, Mapping) else params
    query: list[tuple[str, str | int | float | bool | None]] = []
    for key, value in pairs:
        if value is None:
            continue
        if isinstance(value, list | tuple):
            query.extend((key, _text(v)) for v in value)
        else:
            query.append((key, _text(value)))
    return httpx.QueryParams(query)


def _redirected(request: httpx.Request, url: httpx.URL, status: int) -> httpx.Request:
    """The follow-up request of a same-origin redirect, with the browser's method rules."""
    method = request.method
    if status == 303 and method != "HEAD":
        method = "GET"
    elif status in (301, 302) and method == "POST":
        method = "GET"
    headers = httpx.Headers(request.headers)
    headers.pop("host", None)
    if method != request.method:
        headers.pop("content-type", None)
        headers.pop("content-length", None)
        headers.pop("transfer-encoding", None)
        return httpx.Request(method, url, headers=headers)
    return httpx.Request(method, url, headers=headers, content=request.content)
