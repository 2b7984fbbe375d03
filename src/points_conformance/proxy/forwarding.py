"""The reverse proxy's request path: each exchange forwarded as it is, and a copy kept for judging.

A request goes to the upstream with its method, path, query, body and headers (less the
hop-by-hop ones, RFC 9110 7.6.1), its body streamed on as it arrives (with its Content-Length,
or chunked as it came); the upstream's status, headers and body bytes come back as they are,
the body streamed chunk by chunk. A copy of both sides (`Captured`) is handed to
`sink` only once the answer has been sent (a Starlette background task), so judging never
delays an exchange. An upstream that cannot be reached or does not answer in time becomes a
502 or 504 whose body is one line saying why.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from points_conformance.har.bodies import MAX_BODY_BYTES

# Meaningful for one connection only, so never forwarded (RFC 9110 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


@dataclass
class Captured:
    """One exchange as it went through the proxy: both sides' headers and bodies, in bytes.

    `request_body` is None when the request's body was larger than `MAX_BODY_BYTES`, and
    `response_body` when the answer was, or was cut short by the upstream (each was still
    forwarded whole).
    """

    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: bytes | None = b""
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes | None = None
    elapsed: float = 0.0


def _hop_by_hop(headers: Iterable[tuple[str, str]]) -> set[str]:
    """The hop-by-hop names, with those a Connection header lists."""
    named = set(HOP_BY_HOP)
    for key, value in headers:
        if key.lower() == "connection":
            named.update(part.strip().lower() for part in value.split(",") if part.strip())
    return named


def end_to_end(headers: Iterable[tuple[str, str]], *also: str) -> list[tuple[str, str]]:
    """`headers` without the hop-by-hop ones (and the names in `also`), order and case kept."""
    pairs = list(headers)
    dropped = _hop_by_hop(pairs) | set(also)
    return [(k, v) for k, v in pairs if k.lower() not in dropped]


def forwarded_headers(headers: Iterable[tuple[str, str]], host: str) -> list[tuple[str, str]]:
    """The request's end-to-end headers in their order, Host naming the upstream.

    The body goes on as it arrives: with the Content-Length it came with, or, when it came
    chunked (a hop-by-hop framing), chunked again on the upstream's connection.
    """
    pairs = list(headers)
    sent = [(k, host if k.lower() == "host" else v) for k, v in end_to_end(pairs)]
    names = {k.lower() for k, _ in sent}
    if "host" not in names:
        sent.insert(0, ("host", host))
    chunked = any(k.lower() == "transfer-encoding" for k, _ in pairs)
    if chunked and "content-length" not in names:
        sent.append(("transfer-encoding", "chunked"))
    return sent


async def _request_body(request: Request, captured: Captured) -> AsyncIterator[bytes]:
    """The request's body chunk by chunk as it arrives, a copy kept in `captured` up to
    `MAX_BODY_BYTES`."""
    kept: list[bytes] | None = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if kept is not None and size <= MAX_BODY_BYTES:
            kept.append(chunk)
        else:
            kept = None
        if chunk:
            yield chunk
    captured.request_body = b"".join(kept) if kept is not None else None


def upstream_url(upstream: httpx.URL, request: Request) -> httpx.URL:
    """The upstream's URL for `request`: its path under the upstream's, the query as it came."""
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode("ascii")
    query: bytes = request.scope.get("query_string") or b""
    prefix = upstream.raw_path.split(b"?", 1)[0].rstrip(b"/")
    return upstream.copy_with(raw_path=prefix + raw_path + (b"?" + query if query else b""))


def _upstream_failure(exc: httpx.HTTPError, url: httpx.URL) -> Response:
    status = 504 if isinstance(exc, httpx.TimeoutException) else 502
    what = "did not answer in time" if status == 504 else "could not be reached"
    reason = " ".join(str(exc).split()) or type(exc).__name__
    line = f"points-conformance proxy: upstream {url.host}:{url.port} {what} ({reason})\n"
    return PlainTextResponse(line, status_code=status)


def create_app(
    upstream: str,
    client: httpx.AsyncClient,
    sink: Callable[[Captured], None],
    on_failure: Callable[[str], None] = lambda line: None,
) -> Starlette:
    """The proxy as an ASGI app; `sink` gets each exchange after its answer was sent."""
    base = httpx.URL(upstream)

    async def forward(request: Request) -> Response:
        url = upstream_url(base, request)
        sent = forwarded_headers(request.headers.items(), url.netloc.decode("ascii"))
        captured = Captured(request.method, str(url), sent)
        outgoing = client.build_request(
            request.method, url, content=_request_body(request, captured)
        )
        outgoing.headers = httpx.Headers(sent)
        started = time.perf_counter()
        try:
            answer = await client.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            failure = _upstream_failure(exc, url)
            on_failure(bytes(failure.body).decode().strip())
            return failure
        captured.status = answer.status_code
        captured.response_headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers.raw
        ]

        async def relay() -> AsyncIterator[bytes]:
            kept: list[bytes] | None = []
            size = 0
            try:
                async for chunk in answer.aiter_raw():
                    size += len(chunk)
                    if kept is not None and size <= MAX_BODY_BYTES:
                        kept.append(chunk)
                    else:
                        kept = None
                    yield chunk
            except httpx.HTTPError as exc:
                kept = None
                on_failure(f"points-conformance proxy: upstream answer cut short: {exc}")
            finally:
                await answer.aclose()
                captured.elapsed = time.perf_counter() - started
            captured.response_body = b"".join(kept) if kept is not None else None

        response = StreamingResponse(relay(), status_code=answer.status_code)
        response.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in end_to_end(captured.response_headers)
        ]

        async def hand_over() -> None:
            sink(captured)

        response.background = BackgroundTask(hand_over)
        return response

    return Starlette(routes=[Route("/{path:path}", forward, methods=METHODS)])
