"""The client of `discover`: the suite's client, able to send nothing but GET.

Discovery runs against servers that hold real data, often without anyone watching, so the
refusal is structural rather than a convention: every request the client builds goes through
`request`, and every request it sends (redirects included) through `_send_once`; both refuse
anything but GET, and `request` refuses the operations the table marks as writing.
"""

from __future__ import annotations

from typing import Any

import httpx

from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, ResponseInfo
from points_conformance.operations import BY_ID, WRITE_OPERATIONS


class WriteRefused(RuntimeError):
    """Discovery tried to send something that is not a read; nothing was sent."""


class ReadOnlyClient(ConformanceClient):
    """A `ConformanceClient` that refuses, before sending, every request but a GET of a read."""

    def request(self, operation_id: str | None, method: str, path: str, **kwargs: Any) -> Exchange:
        if method.upper() != "GET":
            raise WriteRefused(f"discover sends only GET requests, not {method.upper()} {path}")
        if operation_id in WRITE_OPERATIONS or (
            operation_id in BY_ID and BY_ID[operation_id].method != "GET"
        ):
            raise WriteRefused(f"discover never calls {operation_id}, which is not a read")
        return super().request(operation_id, method, path, **kwargs)

    def _send_once(self, request: httpx.Request) -> ResponseInfo:
        if request.method != "GET":
            raise WriteRefused(f"discover sends only GET requests, not {request.method}")
        return super()._send_once(request)
