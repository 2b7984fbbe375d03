"""Reading requests: query parameters, plain integers and booleans, JSON numbers and bodies."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from points_conformance.reference.behaviour import BODY_INVALID

_INT_RE = re.compile(r"-?[0-9]+", re.ASCII)
MAX_BODY = 1_000_000


class Query:
    """Query parameters in order; a repeated name reads as its first value."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = [(str(k), str(v)) for k, v in pairs]

    def get(self, name: str) -> str | None:
        for key, value in self.pairs:
            if key == name:
                return value
        return None

    def present(self, name: str) -> bool:
        return any(key == name for key, _ in self.pairs)


def parse_int(text: str | None) -> int | None:
    """A plain base-10 integer (no spaces, underscores or non-ASCII digits), else None."""
    if text is None or not _INT_RE.fullmatch(text):
        return None
    return int(text)


def parse_bool(text: str | None) -> bool | None:
    if text is None:
        return None
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(text)


def json_number(value: Any) -> float | int | None:
    """A JSON number that is finite (bool is not a number), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_milli(value: float | int) -> int:
    if isinstance(value, int):
        return value * 1000
    return int((Decimal(repr(value)) * 1000).to_integral_value(rounding=ROUND_HALF_UP))


def text_value(value: Any) -> str | None:
    """A non-empty identifier value given as a string or an integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def canonical_names(names: Sequence[str]) -> dict[str, str]:
    return {n.lower(): n for n in names}


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=lambda c: float(c.lower()))
    except (ValueError, RecursionError, UnicodeDecodeError):
        return BODY_INVALID
