"""Which operation of the OpenAPI description a recorded request exercised.

A request matches by method and path (`Spec.operation_for`). A server behind a gateway may
serve the API under a prefix (`/api/v2/pointsLedger/...`), so a path that matches nothing is
tried again without its leading segments. Requests that match no operation (a browser's own
traffic, CORS preflights, other APIs) are tallied, not judged: `Unmatched` keeps how many there
were of each method and path, up to a bound, so a recording of any size tallies in bounded
memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from points_conformance.spec import Spec

# Distinct method and path pairs listed; the rest are counted together.
MAX_LISTED = 200


def path_of(url: str) -> str:
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return url


class Matcher:
    """Finds the operationId for a method and URL, remembering answers per path."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._known: dict[tuple[str, str], str | None] = {}

    def operation(self, method: str, url: str) -> str | None:
        path = path_of(url)
        key = (method.upper(), path)
        if key not in self._known:
            if len(self._known) > 10 * MAX_LISTED:
                self._known.clear()
            self._known[key] = self._find(key[0], path)
        return self._known[key]

    def _find(self, method: str, path: str) -> str | None:
        segments = path.split("/")
        # segments[0] is the empty string before the leading slash.
        for start in range(1, max(2, len(segments) - 1)):
            candidate = "/" + "/".join(segments[start:])
            found = self.spec.operation_for(method, candidate)
            if found is not None:
                return found.operation_id
        return None


@dataclass
class Unmatched:
    """Requests that matched no operation: counts per method and path, bounded."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    others: int = 0

    def add(self, method: str, url: str) -> None:
        key = (method.upper(), path_of(url))
        if key in self.counts or len(self.counts) < MAX_LISTED:
            self.counts[key] += 1
        else:
            self.others += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + self.others

    def listing(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = [
            {"method": method, "path": path, "count": count}
            for (method, path), count in self.counts.most_common()
        ]
        if self.others:
            rows.append({"method": "", "path": "(other paths)", "count": self.others})
        return rows
