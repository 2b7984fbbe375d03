"""Value types shared by every layer: one HTTP exchange, and one finding about it.

Checks are pure functions of exchanges that return findings; both engines (matrix tests and
schemathesis) build exchanges and hand them to the same checks, and reports read findings.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from points_conformance.redaction import MASK, SECRET_HEADERS, masked_headers
from points_conformance.variables import BEARER_ENV, PASSWORD_ENV, USER_ENV


@dataclass(frozen=True)
class RequestInfo:
    """What was sent. `url` is absolute; `params` are the decoded query pairs in order."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # the JSON value sent, or None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @cached_property
    def params(self) -> list[tuple[str, str]]:
        # Checks read parameters a dozen times per exchange; parsing the URL once is enough.
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, or None when absent."""
        for key, value in self.params:
            if key == name:
                return value
        return None

    def to_curl(self) -> str:
        """A shell command that repeats the request, with every secret header masked.

        Basic credentials become `-u "$POINTS_CONFORMANCE_USER:$POINTS_CONFORMANCE_PASSWORD"`
        so that the command works once the reader exports their own credentials.
        """
        parts = ["curl", "-sS", "-X", self.method.upper(), shlex.quote(self.url)]
        for key, value in self.headers.items():
            low = key.lower()
            if low == "authorization" and value.lower().startswith("basic "):
                parts += ["-u", f'"${USER_ENV}:${PASSWORD_ENV}"']
            elif low == "authorization":
                parts += ["-H", f'"Authorization: Bearer ${BEARER_ENV}"']
            elif low in SECRET_HEADERS:
                parts += ["-H", shlex.quote(f"{key}: {MASK}")]
            elif low in ("host", "content-length", "accept-encoding", "connection", "user-agent"):
                continue
            else:
                parts += ["-H", shlex.quote(f"{key}: {value}")]
        if self.body is not None:
            parts += ["--data", shlex.quote(json.dumps(self.body, separators=(",", ":")))]
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": masked_headers(self.headers),
            "body": self.body,
            "curl": self.to_curl(),
        }


@dataclass(frozen=True)
class ResponseInfo:
    """What came back. `json` is the parsed body, or None when it is not JSON (see `json_error`)."""

    status: int
    headers: dict[str, str]
    text: str
    json: Any = None
    json_error: str | None = None
    elapsed: float = 0.0

    @classmethod
    def from_parts(
        cls, status: int, headers: dict[str, str], text: str, elapsed: float = 0.0
    ) -> ResponseInfo:
        try:
            parsed = json.loads(text) if text else None
            error = None if text else "empty body"
        except ValueError as exc:
            parsed, error = None, f"body is not JSON: {exc}"
        except RecursionError:
            # A hostile body can nest deeper than the parser's stack; that is a finding, not a crash.
            parsed, error = None, "body is JSON nested too deeply to parse"
        return cls(status, headers, text, parsed, error, elapsed)

    @property
    def content_type(self) -> str:
        for k, v in self.headers.items():
            if k.lower() == "content-type":
                return v
        return ""

    def excerpt(self, limit: int = 2000) -> str:
        return (
            self.text
            if len(self.text) <= limit
            else self.text[:limit] + f"… ({len(self.text)} chars)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "content_type": self.content_type,
            "body_excerpt": self.excerpt(),
            "json_error": self.json_error,
            "elapsed": round(self.elapsed, 4),
        }


@dataclass(frozen=True)
class Exchange:
    """One request and its response, tagged with the OpenAPI operationId it exercised."""

    operation: str
    request: RequestInfo
    response: ResponseInfo

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "request": self.request.to_dict(),
            "response": self.response.to_dict(),
        }


@dataclass(frozen=True)
class Finding:
    """A requirement that an exchange did not meet.

    `requirement` is a catalogue ID (specs/requirements.yaml); `expected` and `actual` say, in
    words a server developer understands, what the docs require and what the server did.
    `discrepancy` names the register entry (specs/discrepancies.yaml) the finding depends on,
    when it only holds under one reading of the docs.
    """

    requirement: str
    message: str
    expected: str = ""
    actual: str = ""
    exchange: Exchange | None = None
    discrepancy: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, used to carry findings across pytest-xdist workers and into reports."""
        data = asdict(self)
        data["exchange"] = self.exchange.to_dict() if self.exchange else None
        return data

    def summary(self) -> str:
        text = f"[{self.requirement}] {self.message}"
        if self.expected or self.actual:
            text += f" (expected: {self.expected}; actual: {self.actual})"
        return text
