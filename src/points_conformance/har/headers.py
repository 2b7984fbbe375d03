"""How a recorded exchange shows its headers, read from a HAR file or written to one.

Kept apart from `reading` so that a run's HAR writer (loaded with the pytest plugin) needs
nothing of the streaming parser.
"""

from __future__ import annotations

from collections.abc import Mapping

from points_conformance.redaction import masked_headers, without_credentials


def shown_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as an exchange may show them: Authorization keeps its scheme (a repro needs
    it) but not its value, and every other secret header (`SECRET_HEADERS`) is masked."""
    kept = without_credentials(headers.items())
    return {
        k: (v if k.lower() == "authorization" else masked_headers({k: v})[k])
        for k, v in kept.items()
    }
