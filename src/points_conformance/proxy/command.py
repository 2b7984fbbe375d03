"""`points-conformance proxy --upstream URL`: a reverse proxy that judges the traffic it forwards.

Put between a team's clients (or end-to-end tests) and a staging server, it forwards every
exchange unchanged (`forwarding`) and judges each one after its answer was sent, with the checks
`validate` applies to a recording (`watching`). Findings go out as they are found, one JSON line
each (stderr, or `--findings FILE`); `--record FILE.har` keeps the traffic. On SIGINT or SIGTERM
the proxy stops taking connections, finishes the exchanges under way, judges what is queued and
writes the run's reports into `--report-dir`.

Exit statuses, as `validate`'s: 0 no finding; 1 a finding; 2 a usage problem (bad option, port
in use, unreadable target file; one line, no report); 3 nothing was judged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Sequence
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import httpx
import uvicorn

from points_conformance.har.command import Judged, ReportNotWritten, conclude
from points_conformance.har.writing import HarWriter
from points_conformance.proxy.forwarding import create_app
from points_conformance.proxy.watching import SOURCE, Watcher
from points_conformance.redaction import redact
from points_conformance.report.build import now
from points_conformance.settings import OPTIONS, Settings, SettingsError, resolve_settings
from points_conformance.spec import SpecError

DEFAULT_PORT = 8081
DEFAULT_TIMEOUT = 30.0
# The run's options that mean something to the proxy: stance, target file, secrets, folder.
_OPTIONS = ("strict", "target", "auth", "bearer", "report_dir")
_HELPS = {
    "strict": (None, "enforce the strict readings of specs/discrepancies.yaml"),
    "target": ("FILE", "target file (TOML): org, timezone and connected orgs of the upstream"),
    "auth": ("USER:PASSWORD", "Basic credentials the clients use (scrubbed from reports)"),
    "bearer": ("TOKEN", "bearer token the clients use (scrubbed from reports)"),
    "report_dir": ("DIR", "where the reports are written when stopped (default: reports)"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise SettingsError(f"proxy: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="points-conformance proxy",
        description="Forward traffic to a server unchanged and judge it with the checks.",
    )
    add = parser.add_argument
    add("--upstream", required=True, metavar="URL", help="the server to forward to")
    add("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    add("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)")
    add("--record", metavar="FILE.har", help="keep the traffic as HAR 1.2 (secrets masked)")
    add("--findings", metavar="FILE", help="write the findings' JSON lines here (default stderr)")
    add(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"the upstream's time to answer before a 504 (default {DEFAULT_TIMEOUT:g})",
    )
    for name in _OPTIONS:
        flag, variable = OPTIONS[name]
        metavar, text = _HELPS[name]
        text = f"{text} [env {variable}]"
        if metavar is None:
            add(flag, dest=name, action="store_true", default=None, help=text)
        else:
            add(flag, dest=name, metavar=metavar, default=None, help=text)
    return parser


class _Server(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A stop signal is the proxy's normal end: its status is the verdict's, not the signal's.
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


class Proxy:
    """One proxy run: `serve` forwards until `stop`, then writes the reports; the exit status."""

    def __init__(
        self,
        upstream: str,
        settings: Settings,
        *,
        out: TextIO,
        log: TextIO,
        findings: TextIO | None = None,
        record: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.upstream = upstream
        self.settings = settings
        self.out = out
        self.log = log
        self.timeout = timeout
        recorder = HarWriter(record) if record is not None else None
        self.watcher = Watcher(settings, findings or log, recorder)
        self.server: _Server | None = None
        self.report: dict[str, Any] | None = None

    def say(self, line: str) -> None:
        self.log.write(redact(line, self.watcher.secrets()) + "\n")
        self.log.flush()

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True

    async def serve(self, sock: socket.socket) -> int:
        started = now()
        # The clients' cookies pass through as they are; the proxy keeps none of its own.
        jar = CookieJar(DefaultCookiePolicy(allowed_domains=[]))
        client = httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            cookies=jar,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        app = create_app(self.upstream, client, self.watcher.submit, self.say)
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=10,
        )
        self.server = _Server(config)
        host, port = sock.getsockname()[:2]
        self.say(f"points-conformance proxy: http://{host}:{port} -> {self.upstream}")
        try:
            await self.server.serve(sockets=[sock])
        finally:
            await client.aclose()
            self.watcher.close()
        judged = Judged(
            "proxy", "proxied traffic", [SOURCE], f"proxied traffic: {self.upstream}", started
        )
        status, self.report = conclude(
            judged,
            self.watcher.judge,
            self.watcher.tally,
            self.settings,
            self.watcher.credentials,
            self.out,
        )
        return status


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound and listening on `host:port`; `SettingsError` in one line when it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, so that asyncio turns Nagle off on each connection (40 ms otherwise).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise SettingsError(
            f"proxy: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    sock.setblocking(False)
    return sock


def _upstream(url: str) -> str:
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise SettingsError(f"proxy: --upstream {url!r} is not an http(s) URL")
    return url


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    with contextlib.ExitStack() as stack:
        try:
            known = _parser().parse_args(args)
            upstream = _upstream(known.upstream)
            settings = resolve_settings({name: getattr(known, name) for name in _OPTIONS})
            sock = stack.enter_context(listening_socket(known.host, known.port))
            findings = (
                stack.enter_context(Path(known.findings).open("a", encoding="utf-8"))
                if known.findings
                else None
            )
            proxy = Proxy(
                upstream,
                settings,
                out=sys.stdout,
                log=sys.stderr,
                findings=findings,
                record=Path(known.record) if known.record else None,
                timeout=known.timeout,
            )
            return asyncio.run(proxy.serve(sock))
        except (SettingsError, SpecError, ReportNotWritten, OSError) as exc:
            print(f"points-conformance: {exc}", file=sys.stderr)
            return 2
