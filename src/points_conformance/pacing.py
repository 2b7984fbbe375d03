"""How the client paces its requests and when it stops sending: the rate limiter shared by every
thread, Retry-After parsing, the breaker for a target that has stopped answering, and the
one-line transport failures the client raises.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from points_conformance.settings import Settings, SettingsError


class TransportFailure(Exception):
    """The target could not be talked to properly; the message says what happened, in one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self.args[0])


class TargetUnreachable(TransportFailure):
    """No connection could be made (refused, unknown host, connect timeout, TLS failure)."""


class Throttled(TransportFailure):
    """The target kept answering HTTP 429 beyond the retries or the Retry-After cap."""


class TargetDown(TransportFailure):
    """Not sent: the target has not answered the last requests at all (see `Breaker`)."""


# A target that dies mid-run would otherwise make every remaining request wait out its timeout.
DOWN_AFTER = 3  # consecutive requests without any answer
PROBE_EVERY = 30.0  # seconds: while down, one request is still sent this often


class Breaker:
    """Stops sending to a target that answered none of the last `DOWN_AFTER` requests.

    Only failures that got no answer at all count (no connection, no response within the
    timeout); any answer, even a 500, resets the count. While the target is down, one request
    is let through every `PROBE_EVERY` seconds, so a target that comes back is noticed.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._last_failure = ""
        self._last_try = 0.0

    def admit(self, where: str) -> None:
        """Raise TargetDown instead of sending, unless the target may be up or a probe is due."""
        with self._lock:
            if self._failures < DOWN_AFTER:
                return
            now = self._clock()
            if now - self._last_try >= PROBE_EVERY:
                self._last_try = now
                return
            raise TargetDown(
                f"{where}: not sent: the target answered none of the last {self._failures} "
                f"requests (last: {self._last_failure})"
            )

    def answered(self) -> None:
        with self._lock:
            self._failures = 0

    def unanswered(self, failure: TransportFailure) -> None:
        with self._lock:
            self._failures += 1
            self._last_failure = failure.message
            self._last_try = self._clock()


class RateLimiter:
    """A token bucket of depth one: consecutive requests start at least 1/rate seconds apart.

    Slots are reserved under a lock and waited for outside it, so concurrent callers queue up
    in order and the rate holds across threads.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for the next slot; returns how long was waited."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        wait = start - now
        if wait > 0:
            self._sleep(wait)
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP date), None if unusable."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:
        return None
    return max(0.0, seconds)


DEFAULT_PORTS = {"http": 80, "https": 443}


# In this module rather than the client's: it talks to the target before any client exists,
# and fails with the same one-line transport failures.
def probe(settings: Settings) -> None:
    """Open one connection to the target (and do the TLS handshake), sending no request.

    Raises `TargetUnreachable` with a one-line message when nothing accepts the connection, the
    host name does not resolve, or the TLS handshake fails: a run against such a target could
    only fail every test with the same message. Does nothing when the connection would go
    through a proxy from the environment, which only the proxy can vouch for.
    """
    if not settings.base_url:
        raise SettingsError(
            "no base URL: give --base-url, POINTS_CONFORMANCE_BASE_URL or a target file"
        )
    url = httpx.URL(settings.base_url)
    host = url.host
    port = url.port or DEFAULT_PORTS.get(url.scheme, 80)
    origin = f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"
    if url.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(host):
        return
    timeout = settings.timeout
    try:
        connection = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror:
        raise TargetUnreachable(f"host {host} not found") from None
    except TimeoutError:
        raise TargetUnreachable(f"no connection to {origin} within {float(timeout)} s") from None
    except ConnectionRefusedError:
        raise TargetUnreachable(
            f"connection refused by {origin} (is a server listening there?)"
        ) from None
    except OSError as exc:
        raise TargetUnreachable(f"cannot connect to {origin}: {exc.strerror or exc}") from None
    try:
        if url.scheme == "https":
            # The same verification the client's requests get, so that the probe and the
            # tests never disagree about a certificate.
            context = httpx.create_ssl_context()
            try:
                with context.wrap_socket(connection, server_hostname=host):
                    pass
            except ssl.SSLCertVerificationError as exc:
                detail = exc.verify_message or exc.reason or ""
                raise TargetUnreachable(
                    f"TLS certificate verify failed for {origin}"
                    + (f" ({detail})" if detail else "")
                ) from None
            except (ssl.SSLError, OSError) as exc:
                reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
                raise TargetUnreachable(f"TLS handshake with {origin} failed: {reason}") from None
    finally:
        connection.close()
