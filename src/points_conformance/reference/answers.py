"""Whole answers of the reference server's reads, kept while nothing that decides them changes.

A read's answer is decided by the request (method, path, query, headers, body), the rules and
credentials of the application (fixed once it is built), the data, and, for the routes that
read it, the clock. `AnswerCache` keys each answer on the whole request and keeps it, as the
bytes it was sent as, while the data stays as it was: any commit that changes what a read can
answer, by this process or another one on the same database file (or any other program),
moves the database's `data_changes` value on (`store_schema.change_triggers`), and that
empties the cache. An answer whose route read the clock is kept with that reading and used
again only while the clock still reads the same (the default clock has whole seconds).

Only the route knows whether its answer may be kept: it says so in the request's `AnswerSlot`
(a read, answered without an unexpected error). The cache is used only by an application whose
hooks change nothing: a fault's or a reading's hook may answer differently to the same request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from points_conformance.reference.store import Store

SLOT = "points_conformance.answer_slot"
MAX_ANSWERS = 4096
MAX_ANSWER_BYTES = 1 << 20
MAX_TOTAL_BYTES = 64 << 20


class AnswerSlot:
    """What the route says about the answer it is giving: whether it may be kept, and the clock
    reading it depends on (None when it did not read the clock)."""

    __slots__ = ("clock", "keep")

    def __init__(self) -> None:
        self.keep = False
        self.clock: datetime | None = None


@dataclass(frozen=True)
class _Answer:
    start: Message
    body: bytes
    clock: datetime | None


class AnswerCache:
    """ASGI middleware answering a request again from the answer it got last time."""

    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store
        self.changes: int | None = None
        self.answers: dict[tuple[Any, ...], _Answer] = {}
        self.total = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        if scope["method"] == "POST":
            whole, receive = await _whole_body(receive)
            if whole is None:
                await self.app(scope, receive, send)
                return
            body = whole
        store = self.store
        changes = store.data_changes()
        if changes != self.changes:
            self.answers.clear()
            self.total = 0
            self.changes = changes
        writes = store.writes
        key = (
            scope["method"],
            scope["path"],
            scope["query_string"],
            tuple(scope["headers"]),
            body,
        )
        found = self.answers.get(key)
        if found is not None and (found.clock is None or found.clock == store.now()):
            await send(found.start)
            await send({"type": "http.response.body", "body": found.body})
            return
        slot = AnswerSlot()
        scope = {**scope, SLOT: slot}
        start: list[Message] = []
        chunks: list[bytes] = []

        async def keeping(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.append(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keeping)
        # A write through this store while the route ran (an issued one-time password, say)
        # leaves the answer unkept, whatever it changed; so does a request that, while this one
        # waited to send, found the data changed (the cache now holds answers to newer data).
        fresh = self.changes == changes and store.writes == writes
        if slot.keep and len(start) == 1 and fresh:
            self._keep(key, _Answer(start[0], b"".join(chunks), slot.clock))

    def _keep(self, key: tuple[Any, ...], answer: _Answer) -> None:
        size = len(answer.body) + len(key[4])
        if size > MAX_ANSWER_BYTES:
            return
        if len(self.answers) >= MAX_ANSWERS or self.total + size > MAX_TOTAL_BYTES:
            self.answers.clear()
            self.total = 0
        previous = self.answers.pop(key, None)
        if previous is not None:
            self.total -= len(previous.body) + len(key[4])
        self.answers[key] = answer
        self.total += size


async def _whole_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The request's body, and a `receive` that hands it to the application again (None, when
    the client left before its body was complete, and a `receive` that says so)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, _saying(message)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, again


def _saying(message: Message) -> Receive:
    """A `receive` that hands `message` on (a disconnect, which it says again and again)."""

    async def said() -> Message:
        return message

    return said
