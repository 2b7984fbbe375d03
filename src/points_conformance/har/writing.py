"""Writes exchanges as a HAR 1.2 file, one entry at a time, credentials masked.

A suite run given `--record-har FILE` hands every exchange its client returns to a
`HarWriter`, so the traffic of a run can be judged again later by `validate`, or opened in a
browser's network panel. Exchanges never hold a credential (Authorization keeps its scheme
only); cookies are masked here too. Entries are appended as they come and the file is closed
at the end, so a long run holds no entry in memory.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from points_conformance import __version__
from points_conformance.har.headers import shown_headers
from points_conformance.model import Exchange

HAR_VERSION = "1.2"
CREATOR = "points-conformance"


def _pairs(headers: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in shown_headers(headers).items()]


def _content_type(headers: dict[str, str]) -> str:
    for key, value in headers.items():
        if key.lower() == "content-type":
            return value
    return ""


def har_entry(ex: Exchange, finished: datetime | None = None) -> dict[str, Any]:
    """The HAR entry of one exchange; `finished` is when its answer came (default: now)."""
    request, response = ex.request, ex.response
    millis = round(response.elapsed * 1000, 3)
    started = (finished or datetime.now(UTC)) - timedelta(seconds=response.elapsed)
    entry_request: dict[str, Any] = {
        "method": request.method,
        "url": request.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _pairs(request.headers),
        "queryString": [{"name": k, "value": v} for k, v in request.params],
        "headersSize": -1,
        "bodySize": -1,
    }
    if request.body is not None:
        text = (
            request.body
            if isinstance(request.body, str)
            else json.dumps(request.body, separators=(",", ":"))
        )
        entry_request["postData"] = {
            "mimeType": _content_type(request.headers) or "application/json",
            "text": text,
        }
    return {
        "startedDateTime": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "time": millis,
        "request": entry_request,
        "response": {
            "status": response.status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(response.headers),
            "content": {
                "size": len(response.text.encode("utf-8", "replace")),
                "mimeType": response.content_type,
                "text": response.text,
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": millis, "receive": 0},
        "_operation": ex.operation,
    }


class HarWriter:
    """Appends entries to a HAR file as they come; thread-safe; `close` ends the document."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[str] | None = path.open("w", encoding="utf-8")
        self._lock = threading.Lock()
        self.count = 0
        head = {"version": HAR_VERSION, "creator": {"name": CREATOR, "version": __version__}}
        self._handle.write('{"log": ' + json.dumps(head)[:-1] + ', "entries": [\n')

    def add(self, ex: Exchange) -> None:
        line = json.dumps(har_entry(ex), ensure_ascii=False)
        with self._lock:
            if self._handle is None:
                return
            self._handle.write((",\n" if self.count else "") + line)
            self.count += 1

    def close(self) -> None:
        with self._lock:
            if self._handle is None:
                return
            self._handle.write("\n]}}\n")
            self._handle.close()
            self._handle = None


def worker_path(path: Path, worker: str | None) -> Path:
    """The file a pytest-xdist worker writes (`run.gw0.har`); the path itself without workers."""
    if not worker:
        return path
    return path.with_name(f"{path.stem}.{worker}{path.suffix or '.har'}")
