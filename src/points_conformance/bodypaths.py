"""Places in a response body, as the catalogue's `paths` name them.

`$.ledgerEntries[*].points` names the points of every entry; `.*` stands for any key of an
object (the currency names of netAlternateCurrenciesOnEvent); `keyword@` in front limits a
pattern to schema errors of that JSON Schema keyword, as in
`unevaluatedProperties@$.ledgerEntries[*].*` (a field no table documents). A pattern also covers
everything below the place it names. The schema check files an error under the requirement
whose pattern matches it most specifically, and a requirement counts as exercised by a body
that has a value at one of its places.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# One step of a pattern: ("key", name), ("key", None) for `.*`, ("index", None) for `[*]`.
Step = tuple[str, str | None]
Place = tuple[str | int, ...]

_STEP = re.compile(r"\.(\*|[A-Za-z_][A-Za-z0-9_]*)|\[\*\]")
_KEYWORD = re.compile(r"^[A-Za-z]+$")


@dataclass(frozen=True)
class PathPattern:
    text: str
    keyword: str | None
    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, text: str) -> PathPattern:
        """Raises ValueError naming what is wrong with `text`."""
        keyword: str | None = None
        body = text
        if "@" in text:
            keyword, body = text.split("@", 1)
            if not _KEYWORD.match(keyword):
                raise ValueError(f"{text!r}: {keyword!r} is not a JSON Schema keyword")
        if not body.startswith("$"):
            raise ValueError(f"{text!r} does not start with '$'")
        steps: list[Step] = []
        position = 1
        while position < len(body):
            match = _STEP.match(body, position)
            if match is None:
                raise ValueError(f"{text!r}: cannot read the path from {body[position:]!r}")
            if match.group(0) == "[*]":
                steps.append(("index", None))
            else:
                name = match.group(1)
                steps.append(("key", None if name == "*" else name))
            position = match.end()
        return cls(text, keyword, tuple(steps))

    @property
    def specificity(self) -> tuple[int, int]:
        """Longer patterns, and named keys over wildcards, are more specific; a keyword only
        breaks a tie."""
        return (
            sum(2 if name is not None else 1 for _, name in self.steps),
            1 if self.keyword else 0,
        )

    def matches(self, keyword: str, place: Place) -> bool:
        """Whether an error of `keyword` at `place` lies at or below this pattern's place."""
        if self.keyword is not None and self.keyword != keyword:
            return False
        if len(place) < len(self.steps):
            return False
        for (kind, name), part in zip(self.steps, place, strict=False):
            if kind == "index":
                if not isinstance(part, int):
                    return False
            elif not isinstance(part, str) or (name is not None and part != name):
                return False
        return True

    def present(self, body: Any, *, sample: int | None = None) -> bool:
        """Whether `body` holds a value at this pattern's place (looking at only the first
        `sample` items of each list, when given)."""
        return next(_walk(body, self.steps, sample), False)


def _walk(node: Any, steps: Sequence[Step], sample: int | None = None) -> Iterator[bool]:
    if not steps:
        yield True
        return
    (kind, name), rest = steps[0], steps[1:]
    if kind == "index":
        children: list[Any] = (
            (node if sample is None else node[:sample]) if isinstance(node, list) else []
        )
    elif not isinstance(node, dict):
        children = []
    elif name is None:
        children = list(node.values())
    else:
        children = [node[name]] if name in node else []
    for child in children:
        yield from _walk(child, rest, sample)


@dataclass(frozen=True)
class Route:
    """One requirement's places in one operation's bodies."""

    requirement: str
    patterns: tuple[PathPattern, ...]
    strict_only: bool = False


def route(routes: Sequence[Route], keyword: str, places: Sequence[Place]) -> str | None:
    """The requirement whose pattern matches one of `places` most specifically, if any."""
    best: tuple[tuple[int, int], str] | None = None
    for entry in routes:
        for pattern in entry.patterns:
            if any(pattern.matches(keyword, place) for place in places):
                if best is None or pattern.specificity > best[0]:
                    best = (pattern.specificity, entry.requirement)
    return best[1] if best is not None else None
