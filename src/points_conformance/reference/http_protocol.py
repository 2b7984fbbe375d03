"""How the reference server speaks HTTP: uvicorn on uvloop and httptools, one write per answer.

uvicorn writes an answer's head (status line and headers) as soon as the application starts
it, and the body on the next message: two writes, so two TCP segments and two wake-ups of the
client on every request (TCP_NODELAY is on, so nothing joins them). The protocol here holds the
head back until the body follows, in the same turn of the event loop, and writes both at once;
anything else (a head the loop moves on from, a close) lets the head out first.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD_START = b"HTTP/1.1 "
_HEAD_END = b"\r\n\r\n"


class _JoinedWrites:
    """A transport that joins an answer's head to the write after it."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held = b""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held:
            data, self._held = self._held + bytes(data), b""
        elif isinstance(data, bytes) and data.startswith(_HEAD_START) and data.endswith(_HEAD_END):
            self._held = data
            asyncio.get_running_loop().call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._held:
            data, self._held = self._held, b""
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class JoinedWritesProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a transport that writes each answer in one piece."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        joined: Any = _JoinedWrites(cast(asyncio.Transport, transport))
        super().connection_made(joined)


def uvicorn_config(app: Any, log_level: str) -> Any:
    """The uvicorn settings of every reference server process: no access log, no lifespan.

    uvloop is not built for Windows, where asyncio's own loop runs instead.
    """
    import uvicorn

    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        loop="asyncio" if sys.platform == "win32" else "uvloop",
        http=JoinedWritesProtocol,
    )
