"""A small HTTP server on a loopback address that misbehaves on purpose, in one of several modes.

It speaks HTTP/1.1 over plain sockets (so that it can also break the protocol), answers each
request on its own thread and closes the connection after every answer. Every request it reads
is recorded with its arrival time, so that a test can count them, measure their spacing, or
check which headers arrived. Some modes forward to an upstream server (the reference server)
and change one thing about its answer. `Recorder` is a listener that answers 404 and only
records: the "other host" a redirect points to.
"""

from __future__ import annotations

import http.client
import json
import random
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

# mode -> what the server does with every request.
MODES: dict[str, str] = {
    "proxy": "forwards to the upstream server unchanged",
    "hang": "reads the request and never answers",
    "slow": "answers correctly, but only after a long delay",
    "drip": "sends the headers at once, then the body one byte at a time",
    "midbody": "announces a body, sends part of it and closes the connection",
    "invalid-json": "200 application/json with a body that is not JSON",
    "wrong-content-type": "the upstream's answer, labelled text/html",
    "huge": "a 50 MB body without a Content-Length",
    "error-500": "HTTP 500 to every request",
    "throttle": "HTTP 429 with Retry-After: 1 to every request",
    "throttle-no-header": "HTTP 429 without Retry-After to every request",
    "throttle-over-cap": "HTTP 429 with Retry-After: 3600 to every request",
    "throttle-once": "HTTP 429 with Retry-After: 1 to every other request, else the upstream",
    "redirect": "HTTP 307 to the same path on another host",
    "login-page": "HTTP 200 with an HTML login page",
    "echo-credentials": "HTTP 400 whose body repeats the Authorization header, decoded too",
    "flaky": "the upstream's answer, its body cut short (not JSON) one request in three at random",
    "flaky-502": "HTTP 502 one request in three at random, else the upstream's answer",
    "flaky-midbody": "closes the connection mid-body one request in three at random, else proxies",
}
NEEDS_UPSTREAM = frozenset(
    {"proxy", "wrong-content-type", "throttle-once", "flaky", "flaky-502", "flaky-midbody"}
)
# The flaky modes draw from a seeded generator, so that a serial run meets the same failures
# every time; `seed=` picks another sequence.
FLAKY_SEED = 0
FLAKY_SHARE = 1 / 3

SLOW_SECONDS = 3.0
DRIP_INTERVAL = 0.3
HUGE_BYTES = 50 * 1024 * 1024
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    '<form method="post" action="/login"><input name="user"><input name="password" '
    'type="password"><button>Sign in</button></form></body></html>'
)
_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te", "upgrade"}
)


@dataclass(frozen=True)
class Seen:
    """One request as the server read it; header names are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class _Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


class Listener:
    """Base of both servers: a thread serving on `host`, recording every request."""

    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.requests: list[Seen] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ssl = ssl_context
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                owner._serve(self.connection, self.rfile)

        self._server = _Server((host, 0), Handler)
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self.requests)

    def _serve(self, connection: socket.socket, rfile: Any) -> None:
        with self._lock:
            self.connections += 1
        try:
            request = _read_request(rfile)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
            self.respond(request, connection)
        except (OSError, ValueError):
            # The client gave up (timeout, body cap): exactly what several modes provoke.
            return

    def respond(self, request: Seen, connection: socket.socket) -> None:
        _send(connection, _Answer(404, {"Content-Type": "application/json"}, b'{"errors": []}'))

    def wait_for_stop(self, seconds: float) -> bool:
        return self._stop.wait(seconds)


class Recorder(Listener):
    """Answers 404 to everything and keeps what arrived: the other end of a redirect."""


class MisbehavingServer(Listener):
    """Serves `mode` (a key of MODES); `upstream` is the base URL forwarding modes talk to."""

    def __init__(
        self,
        mode: str,
        *,
        host: str = "127.0.0.1",
        upstream: str | None = None,
        redirect_to: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        seed: int = FLAKY_SEED,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
        if mode in NEEDS_UPSTREAM and not upstream:
            raise ValueError(f"mode {mode!r} needs an upstream")
        if mode == "redirect" and not redirect_to:
            raise ValueError("mode 'redirect' needs redirect_to")
        super().__init__(host, ssl_context)
        self.mode = mode
        self.upstream = upstream
        self.redirect_to = redirect_to
        self._count = 0
        self._random = random.Random(seed)
        self.flaked = 0  # requests the flaky modes broke

    def respond(self, request: Seen, connection: socket.socket) -> None:
        handler: Callable[[Seen, socket.socket], None] = getattr(
            self, "_" + self.mode.replace("-", "_")
        )
        handler(request, connection)

    # -- modes ------------------------------------------------------------------------------------

    def _proxy(self, request: Seen, connection: socket.socket) -> None:
        _send(connection, self._forward(request))

    def _hang(self, request: Seen, connection: socket.socket) -> None:
        self.wait_for_stop(3600)

    def _slow(self, request: Seen, connection: socket.socket) -> None:
        if self.wait_for_stop(SLOW_SECONDS):
            return
        body = json.dumps({"data": [], "warnings": []}).encode()
        _send(connection, _Answer(200, {"Content-Type": "application/json"}, body))

    def _drip(self, request: Seen, connection: socket.socket) -> None:
        body = json.dumps({"data": [], "warnings": []}).encode() * 40
        head = _head(_Answer(200, {"Content-Type": "application/json"}), len(body))
        connection.sendall(head)
        for index in range(len(body)):
            if self.wait_for_stop(DRIP_INTERVAL):
                return
            connection.sendall(body[index : index + 1])

    def _midbody(self, request: Seen, connection: socket.socket) -> None:
        connection.sendall(_head(_Answer(200, {"Content-Type": "application/json"}), 1000))
        connection.sendall(b'{"data": [{"id": 1, "points": "10.0"}, ')
        connection.shutdown(socket.SHUT_RDWR)

    def _invalid_json(self, request: Seen, connection: socket.socket) -> None:
        body = b'{"data": [{"id": 1, "points": 10.0,}], "warnings": ['
        _send(connection, _Answer(200, {"Content-Type": "application/json"}, body))

    def _wrong_content_type(self, request: Seen, connection: socket.socket) -> None:
        answer = self._forward(request)
        answer.headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-type"}
        answer.headers["Content-Type"] = "text/html; charset=utf-8"
        _send(connection, answer)

    def _huge(self, request: Seen, connection: socket.socket) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
        )
        chunk = b'{"pad": "' + b"x" * 65500 + b'"}\n'
        sent = 0
        while sent < HUGE_BYTES and not self._stop.is_set():
            connection.sendall(chunk)
            sent += len(chunk)

    def _error_500(self, request: Seen, connection: socket.socket) -> None:
        body = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
        _send(connection, _Answer(500, {"Content-Type": "text/html"}, body))

    def _throttle(self, request: Seen, connection: socket.socket) -> None:
        _send(connection, _too_many({"Retry-After": "1"}))

    def _throttle_no_header(self, request: Seen, connection: socket.socket) -> None:
        _send(connection, _too_many({}))

    def _throttle_over_cap(self, request: Seen, connection: socket.socket) -> None:
        _send(connection, _too_many({"Retry-After": "3600"}))

    def _throttle_once(self, request: Seen, connection: socket.socket) -> None:
        with self._lock:
            self._count += 1
            throttle = self._count % 2 == 1
        _send(connection, _too_many({"Retry-After": "1"}) if throttle else self._forward(request))

    def _redirect(self, request: Seen, connection: socket.socket) -> None:
        location = f"{self.redirect_to}{request.path}"
        _send(connection, _Answer(307, {"Location": location, "Content-Length": "0"}))

    def _login_page(self, request: Seen, connection: socket.socket) -> None:
        _send(connection, _Answer(200, {"Content-Type": "text/html"}, LOGIN_PAGE.encode()))

    def _echo_credentials(self, request: Seen, connection: socket.socket) -> None:
        import base64

        given = request.headers.get("authorization", "")
        decoded = ""
        if given.lower().startswith("basic "):
            decoded = base64.b64decode(given.split(" ", 1)[1]).decode("utf-8", "replace")
        body = json.dumps(
            {
                "errors": [{"code": 400, "message": f"bad request from {decoded} ({given})"}],
                "received": {"authorization": given, "decoded": decoded},
            }
        ).encode()
        _send(connection, _Answer(400, {"Content-Type": "application/json"}, body))

    def _flakes(self) -> bool:
        with self._lock:
            broken = self._random.random() < FLAKY_SHARE
            self.flaked += broken
        return broken

    def _flaky(self, request: Seen, connection: socket.socket) -> None:
        answer = self._forward(request)
        if self._flakes():
            answer.body = answer.body[: len(answer.body) // 2] or b"{"
        _send(connection, answer)

    def _flaky_502(self, request: Seen, connection: socket.socket) -> None:
        if self._flakes():
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            _send(connection, _Answer(502, {"Content-Type": "text/html"}, body))
        else:
            _send(connection, self._forward(request))

    def _flaky_midbody(self, request: Seen, connection: socket.socket) -> None:
        if self._flakes():
            self._midbody(request, connection)
        else:
            _send(connection, self._forward(request))

    # -- forwarding -------------------------------------------------------------------------------

    def _forward(self, request: Seen) -> _Answer:
        assert self.upstream is not None
        parts = urlsplit(self.upstream)
        upstream = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            headers = {k: v for k, v in request.headers.items() if k not in _HOP_HEADERS}
            upstream.request(
                request.method, request.path, body=request.body or None, headers=headers
            )
            response = upstream.getresponse()
            body = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_HEADERS}
            return _Answer(response.status, kept, body)
        finally:
            upstream.close()


def _read_request(rfile: Any) -> Seen | None:
    line = rfile.readline(65537)
    if not line:
        return None
    method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = rfile.readline(65537)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    body = rfile.read(length) if length else b""
    return Seen(method, target, headers, body, time.monotonic())


def _too_many(headers: dict[str, str]) -> _Answer:
    body = json.dumps({"errors": [{"code": 429, "message": "Too Many Requests"}]}).encode()
    return _Answer(429, {"Content-Type": "application/json", **headers}, body)


def _head(answer: _Answer, length: int | None) -> bytes:
    reason = http.client.responses.get(answer.status, "Unknown")
    lines = [f"HTTP/1.1 {answer.status} {reason}"]
    lines += [f"{k}: {v}" for k, v in answer.headers.items() if k.lower() != "content-length"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _send(connection: socket.socket, answer: _Answer) -> None:
    connection.sendall(_head(answer, len(answer.body)) + answer.body)


# -- TLS ------------------------------------------------------------------------------------------


def self_signed_context(directory: Path) -> ssl.SSLContext | None:
    """A server-side TLS context with a fresh self-signed certificate for 127.0.0.1.

    Made with the `cryptography` package when it is installed, else with the openssl command;
    None when neither is available.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    if not (_with_cryptography(cert, key) or _with_openssl(cert, key)):
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _with_cryptography(cert: Path, key: Path) -> bool:
    try:
        import datetime
        import ipaddress

        from cryptography import x509  # type: ignore[import-not-found, unused-ignore]
        from cryptography.hazmat.primitives import (  # type: ignore[import-not-found, unused-ignore]
            hashes,
            serialization,
        )
        from cryptography.hazmat.primitives.asymmetric import (  # type: ignore[import-not-found, unused-ignore]
            ec,
        )
        from cryptography.x509.oid import NameOID  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return False
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return True


def _with_openssl(cert: Path, key: Path) -> bool:
    openssl = shutil.which("openssl")
    if openssl is None:
        return False
    command = [
        openssl,
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(cert),
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
    ]
    done = subprocess.run(command, capture_output=True, check=False, timeout=60)
    return done.returncode == 0 and cert.exists() and key.exists()
