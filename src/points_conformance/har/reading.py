"""Reads HAR 1.2 files entry by entry, in constant memory, into the suite's request and response.

`ijson` parses the file as a stream, so only one entry is in memory at a time whatever the
file's size. Each entry becomes a `Recorded`: the request and response as the checks read them,
with Authorization keeping its scheme but not its value and cookies masked, so no credential
goes further than this module. The credentials seen on the way (`Credentials`) are kept only to
scrub them from anything a server echoed. A file that is not JSON or has no `log.entries` raises
`HarError` with one line.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson
from ijson.common import ObjectBuilder

from points_conformance.har.bodies import BodyUnreadable, body_text
from points_conformance.har.headers import shown_headers
from points_conformance.model import RequestInfo, ResponseInfo
from points_conformance.redaction import SECRET_HEADERS

_ENTRIES = "log.entries"
_ENTRY = "log.entries.item"


class HarError(ValueError):
    """A file that is not a readable HAR; the message is one line and names the file."""


@dataclass(frozen=True)
class Recorded:
    """One entry of a HAR file, as the checks read an exchange; `index` counts from 0."""

    index: int
    request: RequestInfo
    response: ResponseInfo


@dataclass(frozen=True)
class Skipped:
    """An entry that holds no exchange to judge (no response, an unreadable body), and why."""

    index: int
    method: str
    url: str
    reason: str


@dataclass
class Credentials:
    """Credential values seen in the recording, to scrub from whatever a server echoed."""

    values: set[str] = field(default_factory=set)

    def note(self, headers: list[tuple[str, str]]) -> None:
        for key, value in headers:
            low = key.lower()
            if low == "authorization":
                scheme, _, secret = value.partition(" ")
                self._add(secret.strip())
                if scheme.lower() == "basic":
                    self._add_basic(secret.strip())
            elif low in SECRET_HEADERS:
                for part in value.split(";"):
                    self._add(part.partition("=")[2].strip())

    def _add(self, value: str) -> None:
        # A masked value (or nothing) is no secret; "****" would otherwise mask itself.
        if value and "*" not in value:
            self.values.add(value)

    def _add_basic(self, token: str) -> None:
        try:
            pair = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return
        self._add(pair)
        self._add(pair.partition(":")[2])


def _pairs(raw: Any) -> list[tuple[str, str]]:
    """A HAR name/value list as pairs; HTTP/2 pseudo-headers (`:authority`) are left out."""
    pairs: list[tuple[str, str]] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        name, value = item.get("name"), item.get("value")
        if isinstance(name, str) and name and not name.startswith(":"):
            pairs.append((name, "" if value is None else str(value)))
    return pairs


def _headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Pairs as one mapping; repeated names (Set-Cookie) are joined as HTTP folds them."""
    merged: dict[str, str] = {}
    for key, value in pairs:
        existing = next((k for k in merged if k.lower() == key.lower()), None)
        if existing is None:
            merged[key] = value
        else:
            merged[existing] = f"{merged[existing]}, {value}"
    return merged


def _request_body(text: str | None) -> Any:
    """The JSON value a request sent, its text when it is not JSON, None when it sent none."""
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _elapsed(entry: Mapping[str, Any]) -> float:
    """Seconds the exchange took: `time` (milliseconds), else the sum of the known timings."""
    total = entry.get("time")
    if isinstance(total, int | float) and total >= 0:
        return float(total) / 1000
    timings = entry.get("timings")
    if not isinstance(timings, Mapping):
        return 0.0
    parts = [v for v in timings.values() if isinstance(v, int | float) and v > 0]
    return float(sum(parts)) / 1000


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _status(response: Mapping[str, Any]) -> int | None:
    raw = response.get("status")
    try:
        status = int(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else 0
    except ValueError:
        return None
    # 0: the browser got no answer (blocked, aborted, failed); nothing was answered to judge.
    return status if 100 <= status <= 599 else None


def exchange_of(index: int, entry: Any, base: Path, credentials: Credentials) -> Recorded | Skipped:
    """The exchange of one HAR entry, or why it holds none."""
    if not isinstance(entry, Mapping):
        return Skipped(index, "", "", "the entry is not an object")
    request = _object(entry.get("request"))
    response = _object(entry.get("response"))
    method = str(request.get("method") or "").upper()
    url = str(request.get("url") or "")
    if not method or not url:
        return Skipped(index, method, url, "the request has no method or URL")
    request_pairs = _pairs(request.get("headers"))
    response_pairs = _pairs(response.get("headers"))
    credentials.note(request_pairs)
    credentials.note(response_pairs)
    status = _status(response)
    if status is None:
        return Skipped(index, method, url, "no response was recorded")
    request_headers = _headers(request_pairs)
    response_headers = _headers(response_pairs)
    post = request.get("postData")
    content = response.get("content")
    try:
        sent = (
            body_text(post, request_headers, base, mime_key="mimeType")
            if isinstance(post, Mapping)
            else None
        )
        text = (
            body_text(content, response_headers, base, mime_key="mimeType")
            if isinstance(content, Mapping)
            else None
        )
    except BodyUnreadable as exc:
        return Skipped(index, method, url, str(exc))
    if text is None and status != 204 and _declared_length(response_headers, content) != 0:
        return Skipped(index, method, url, "the response body was not recorded")
    return Recorded(
        index,
        RequestInfo(
            method,
            url,
            shown_headers(request_headers),
            _request_body(sent),
        ),
        ResponseInfo.from_parts(
            status, shown_headers(response_headers), text or "", _elapsed(entry)
        ),
    )


def _declared_length(headers: Mapping[str, str], content: Any) -> int | None:
    """The body size the recording states (Content-Length, else content.size); None: unknown."""
    for key, value in headers.items():
        if key.lower() == "content-length" and value.strip().isdigit():
            return int(value.strip())
    size = content.get("size") if isinstance(content, Mapping) else None
    return size if isinstance(size, int) and size >= 0 else None


def entries(handle: IO[bytes], name: str) -> Iterator[Any]:
    """The items of `log.entries`, one at a time; `HarError` when the file is no HAR."""
    saw_log = saw_entries = False
    builder: ObjectBuilder | None = None
    try:
        for prefix, event, value in ijson.parse(handle, use_float=True):
            if builder is not None:
                builder.event(event, value)
                if prefix == _ENTRY and event in ("end_map", "end_array"):
                    yield builder.value
                    builder = None
            elif prefix == _ENTRY:
                if event in ("start_map", "start_array"):
                    builder = ObjectBuilder()
                    builder.event(event, value)
                else:
                    yield value
            elif prefix == "log" and event == "start_map":
                saw_log = True
            elif prefix == _ENTRIES and event == "start_array":
                saw_entries = True
    except ijson.JSONError as exc:
        raise HarError(f"{name}: not a HAR file: the JSON is invalid ({_one_line(exc)})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HarError(f"{name}: cannot read: {_one_line(exc)}") from None
    if not saw_log:
        raise HarError(f'{name}: not a HAR file: no "log" object')
    if not saw_entries:
        raise HarError(f'{name}: not a HAR file: "log" has no "entries" list')


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def read_har(path: Path, credentials: Credentials) -> Iterator[Recorded | Skipped]:
    """Every entry of the HAR file at `path`, in file order."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise HarError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        for index, entry in enumerate(entries(handle, str(path))):
            yield exchange_of(index, entry, path.parent, credentials)
