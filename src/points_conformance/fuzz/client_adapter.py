"""Sending schemathesis's requests through the suite's `ConformanceClient`.

schemathesis calls a `requests.Session`; mounting `ClientAdapter` on it makes every fuzzed
request go out the way every other test's does, and count where theirs count.
"""

from __future__ import annotations

import http
from datetime import timedelta
from typing import Any

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPHeaderDict, HTTPResponse

from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange
from points_conformance.pacing import TransportFailure

# Headers the transport adds for itself; the shared client sets its own.
_TRANSPORT_HEADERS = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "authorization"}
)


class ClientAdapter(requests.adapters.BaseAdapter):
    """A requests adapter that sends through the suite's `ConformanceClient`.

    schemathesis serialises a case into a `requests` call; mounting this adapter makes that call
    go out with the client's credentials, rate limit, timeout and 429 handling, and come back
    as a `requests.Response` schemathesis can judge. The request it carries is the one sent,
    with the Authorization value masked.
    """

    def __init__(self, client: ConformanceClient) -> None:
        super().__init__()
        self.client = client
        self.operation: str | None = None
        # False while a case that leaves out or spoils the credentials is sent: its own
        # Authorization header (or none) goes out instead of the configured one.
        self.credentials = True

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        dropped = _TRANSPORT_HEADERS if self.credentials else _TRANSPORT_HEADERS - {"authorization"}
        headers = {
            k: v.decode("latin-1") if isinstance(v, bytes) else v
            for k, v in request.headers.items()
            if k.lower() not in dropped
        }
        body = request.body
        content: bytes | None
        if body is None:
            content = None
        else:
            content = body if isinstance(body, bytes) else str(body).encode()
        exchange = self.client.request(
            self.operation,
            str(request.method or "GET"),
            self._relative(str(request.url)),
            headers=headers,
            content=content,
            auth=self.credentials,
        )
        return self._response(request, exchange)

    def _relative(self, url: str) -> str:
        # The client only ever sends to its own base URL, so the case's URL must lie under it.
        base = self.client.base_url.rstrip("/")
        if url != base and not url.startswith(base + "/") and not url.startswith(base + "?"):
            raise TransportFailure(f"{url}: not under the target's base URL {base}")
        return url[len(base) :] or "/"

    def _response(self, request: requests.PreparedRequest, exchange: Exchange) -> requests.Response:
        sent = request.copy()
        sent.url = exchange.request.url
        sent.headers = CaseInsensitiveDict(exchange.request.headers)
        status = exchange.response.status
        content = exchange.response.text.encode("utf-8")
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(exchange.response.headers)
        response._content = content
        response.encoding = "utf-8"
        response.url = exchange.request.url
        try:
            response.reason = http.HTTPStatus(status).phrase
        except ValueError:
            response.reason = ""
        response.elapsed = timedelta(seconds=exchange.response.elapsed)
        response.request = sent
        response.raw = HTTPResponse(
            body=b"",
            headers=HTTPHeaderDict(exchange.response.headers),
            status=status,
            version=11,
            preload_content=False,
        )
        response.connection = self  # type: ignore[assignment]
        return response

    def close(self) -> None:
        return None
