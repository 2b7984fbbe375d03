"""Tolerant readers for the values checks inspect: bodies, numbers, dates, parameters, headers.

Every reader returns None for a value it cannot read instead of raising, because checks run
on any response a fuzzer provokes; a malformed value is reported by the rule that owns it
(usually the schema check) and silently skipped by the others.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

from points_conformance.model import Exchange

# Digits beyond these bounds are not loyalty points; refusing them keeps Decimal arithmetic
# inside the default context, where it cannot overflow.
_MAX_ADJUSTED = 30
_MIN_EXPONENT = -30

_NOT_PARSED = object()


# Every check of an exchange reads the same body; parsing it once keeps run_checks fast.
@lru_cache(maxsize=8)
def _parse_text(text: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError):
        return _NOT_PARSED


def body(ex: Exchange) -> Any:
    """The response body with JSON numbers that have a fraction read as Decimal.

    Parsing the text again keeps the digits the server showed ("1250.000"), which the
    rounding tolerance depends on; without text, the already parsed value is used. The value
    is shared between callers: read it, never change it.
    """
    text = ex.response.text
    if text:
        parsed = _parse_text(text)
        if parsed is not _NOT_PARSED:
            return parsed
    return ex.response.json


def is_success(ex: Exchange) -> bool:
    return 200 <= ex.response.status < 300


def answered(ex: Exchange, *, strict: bool) -> bool:
    """Whether a valid request was answered as one: any 2xx, since no page states a success
    status (D-035); HTTP 200 in the strict run."""
    return ex.response.status == 200 if strict else is_success(ex)


def refused_in_body(ex: Exchange, *, strict: bool) -> bool:
    """A 2xx whose `errors` list carries a code: a refusal in the default run (D-016)."""
    if strict or not is_success(ex):
        return False
    value = body(ex)
    errors = value.get("errors") if isinstance(value, dict) else None
    return isinstance(errors, list) and any(
        isinstance(item, dict) and item.get("code") not in (None, "") for item in errors
    )


def success_object(ex: Exchange) -> dict[str, Any] | None:
    """The body of a 2xx response when it is a JSON object, else None."""
    if not is_success(ex):
        return None
    return as_dict(body(ex))


def as_dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def as_list(value: Any) -> list[Any] | None:
    return value if isinstance(value, list) else None


def dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a list, skipping anything else; [] when `value` is not a list."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def to_decimal(value: Any) -> Decimal | None:
    """A number shown as a JSON number or a decimal string, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except (InvalidOperation, ValueError):
            return None
    else:
        return None
    if not number.is_finite():
        return None
    if number != 0 and number.adjusted() > _MAX_ADJUSTED:
        return None
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < _MIN_EXPONENT:
        return None
    return number


def same_id(value: Any, expected: str | int | None) -> bool:
    """Whether an id shown as a JSON integer or string equals `expected`."""
    if expected is None or value is None or isinstance(value, bool):
        return False
    if isinstance(value, int | str):
        return str(value).strip() == str(expected).strip()
    return False


def param(ex: Exchange, name: str) -> str | None:
    return ex.request.param(name)


def has_param(ex: Exchange, name: str) -> bool:
    return any(key == name for key, _ in ex.request.params)


def int_param(ex: Exchange, name: str) -> int | None:
    raw = ex.request.param(name)
    if raw is None:
        return None
    text = raw.strip()
    if not text.lstrip("-").isdigit() or len(text) > 18:
        return None
    return int(text)


def bool_param(ex: Exchange, name: str) -> bool | None:
    raw = ex.request.param(name)
    if raw is None:
        return None
    low = raw.strip().lower()
    if low == "true":
        return True
    if low == "false":
        return False
    return None


def csv_param(ex: Exchange, name: str) -> list[str] | None:
    raw = ex.request.param(name)
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def header(headers: dict[str, str], name: str) -> str | None:
    low = name.lower()
    for key, value in headers.items():
        if key.lower() == low:
            return value
    return None


def parse_datetime(text: Any) -> datetime | None:
    """An ISO 8601 or `YYYY-MM-DD HH:MM:SS.s` date-time, aware when it carries an offset."""
    if not isinstance(text, str) or not 8 <= len(text) <= 64:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def parse_local_datetime(text: Any) -> datetime | None:
    """A wall-clock date-time, any offset dropped, to the second."""
    parsed = parse_datetime(text)
    if parsed is None:
        return None
    return parsed.replace(tzinfo=None, microsecond=0)


def response_date(ex: Exchange) -> datetime | None:
    """The response's Date header as an aware UTC datetime."""
    raw = header(ex.response.headers, "date")
    if raw is None:
        return None
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def describe(value: Any, limit: int = 80) -> str:
    """A short JSON rendering of a value for `actual` texts."""
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
