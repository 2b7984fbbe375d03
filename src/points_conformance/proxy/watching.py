"""Judges the proxied exchanges on a thread of their own, the way `validate` judges a recording.

Each `Captured` exchange is made into the HAR entry a recording tool would have written and read
back with `har.reading.exchange_of`, so bodies, credentials and reasons not to judge are
handled exactly as for a file; it is then matched (`har.matching`) and judged (`har.judging`,
page walks and pairs included: the balances and ledgers read around a transfer or reversal,
judged on the assumption that nothing outside the proxied traffic wrote to those customers in
between, and a repeated reversal). Every finding goes out at once as one JSON line, every exchange to the HAR
recording when one is kept. Nothing here runs on the request path: `submit` only queues.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
from pathlib import Path
from typing import Any, TextIO

from points_conformance.checks.context import context_for
from points_conformance.har.command import Tally
from points_conformance.har.judging import Judge
from points_conformance.har.matching import Matcher
from points_conformance.har.reading import Credentials, Recorded, exchange_of
from points_conformance.har.writing import HarWriter
from points_conformance.model import Exchange, Finding, RequestInfo, ResponseInfo
from points_conformance.proxy.forwarding import Captured
from points_conformance.redaction import leak_forms, redact
from points_conformance.settings import Settings
from points_conformance.spec import load_spec

# The name the report gives the proxied traffic (its tests read "proxy::<operation>").
SOURCE = "proxy"
# Exchanges waiting to be judged; past it, traffic faster than the judging is counted, not
# kept, so that memory stays bounded and the forwarding never waits.
MAX_QUEUED = 10_000
BEHIND = "the judging was more than 10,000 exchanges behind"


def har_entry_of(captured: Captured) -> dict[str, Any]:
    """The HAR entry of a captured exchange, bodies kept as the bytes that went by (base64)."""

    def pairs(headers: list[tuple[str, str]]) -> list[dict[str, str]]:
        return [{"name": k, "value": v} for k, v in headers]

    def media(headers: list[tuple[str, str]]) -> str:
        return next((v for k, v in headers if k.lower() == "content-type"), "")

    request: dict[str, Any] = {
        "method": captured.method,
        "url": captured.url,
        "headers": pairs(captured.request_headers),
    }
    if captured.request_body:
        request["postData"] = {
            "mimeType": media(captured.request_headers),
            "text": base64.b64encode(captured.request_body).decode("ascii"),
            "encoding": "base64",
        }
    content: dict[str, Any] = {"mimeType": media(captured.response_headers)}
    if captured.response_body is not None:
        content["text"] = base64.b64encode(captured.response_body).decode("ascii")
        content["encoding"] = "base64"
    return {
        "time": captured.elapsed * 1000,
        "request": request,
        "response": {
            "status": captured.status,
            "headers": pairs(captured.response_headers),
            "content": content,
        },
    }


def finding_line(finding: Finding, ex: Exchange) -> dict[str, Any]:
    """What a finding's JSON line holds: the finding, and which exchange it was found in."""
    data = finding.to_dict()
    data.pop("exchange", None)
    data.update(
        operation=ex.operation,
        method=ex.request.method,
        url=ex.request.url,
        status=ex.response.status,
    )
    return data


def masked(ex: Exchange, secrets: list[str]) -> Exchange:
    """`ex` with every secret scrubbed from its URL and bodies, as a recording keeps it."""
    request, response = ex.request, ex.response
    body = request.body
    if body is not None:
        text = redact(json.dumps(body, ensure_ascii=False), secrets)
        try:
            body = json.loads(text)
        except ValueError:
            # A secret that held a character JSON escapes; the masked text is kept as it is.
            body = text
    return Exchange(
        ex.operation,
        RequestInfo(request.method, redact(request.url, secrets), request.headers, body),
        ResponseInfo.from_parts(
            response.status, response.headers, redact(response.text, secrets), response.elapsed
        ),
    )


class Watcher:
    """Judges queued exchanges on one thread; `close` waits for the queue to drain."""

    def __init__(
        self, settings: Settings, findings: TextIO, recorder: HarWriter | None = None
    ) -> None:
        self.judge = Judge(context_for(settings))
        self.matcher = Matcher(load_spec())
        self.tally = Tally()
        self.credentials = Credentials()
        self.findings = findings
        self.recorder = recorder
        self._configured = settings.secrets()
        self._secrets: list[str] = list(self._configured)
        self._seen = 0
        self._behind = 0
        self._queue: queue.SimpleQueue[Captured | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="proxy-judge", daemon=True)
        self._thread.start()

    def submit(self, captured: Captured) -> None:
        if self._queue.qsize() >= MAX_QUEUED:
            self._behind += 1
            return
        self._queue.put(captured)

    def close(self) -> None:
        """Judge what is still queued, end the walks and the pair still open and the HAR
        recording."""
        self._queue.put(None)
        self._thread.join()
        if self._behind:
            self.tally.entries += self._behind
            self.tally.skipped[BEHIND] += self._behind
        self.judge.file_ended()
        if self.recorder is not None:
            self.recorder.close()

    def secrets(self) -> list[str]:
        """The configured secrets and every credential the traffic carried, longest first."""
        if len(self.credentials.values) != self._seen:
            self._seen = len(self.credentials.values)
            found = {*self._configured, *leak_forms(self.credentials.values)}
            self._secrets = sorted(found, key=len, reverse=True)
        return self._secrets

    def _work(self) -> None:
        while (captured := self._queue.get()) is not None:
            try:
                self._take(captured)
            except Exception as exc:  # a check that breaks must not stop the rest being judged
                self.tally.skip(f"judging failed: {type(exc).__name__}")

    def _take(self, captured: Captured) -> None:
        self.tally.entries += 1
        if captured.response_body is None:
            self.tally.skip("the response body was larger than 10 MB or cut short")
            return
        if captured.request_body is None:
            self.tally.skip("the request body was larger than 10 MB")
            return
        item = exchange_of(
            self.tally.entries - 1, har_entry_of(captured), Path("."), self.credentials
        )
        if not isinstance(item, Recorded):
            self.tally.skip(item.reason)
            return
        operation = self.matcher.operation(item.request.method, item.request.url)
        if self.recorder is not None:
            self.recorder.add(
                masked(Exchange(operation or "", item.request, item.response), self.secrets())
            )
        if operation is None:
            self.tally.unmatched.add(item.request.method, item.request.url)
            return
        self.tally.judged += 1
        ex = Exchange(operation, item.request, item.response)
        found = self.judge.judge(SOURCE, ex)
        if found:
            secrets = self.secrets()
            for finding in found:
                line = json.dumps(finding_line(finding, finding.exchange or ex), ensure_ascii=False)
                self.findings.write(redact(line, secrets) + "\n")
            self.findings.flush()
