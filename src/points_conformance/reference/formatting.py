"""How answers are written: points, dates and zones, the error envelope, JSON bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from points_conformance.operations import BY_ID


def fmt_points(milli: int, decimals: int = 3, *, signed: bool = True) -> str:
    """Milli-points as a decimal string: 155500 -> "155.500", -10540 -> "-10.540"."""
    value = milli if signed else abs(milli)
    if decimals == 3:
        sign = "-" if value < 0 else ""
        whole, frac = divmod(abs(value), 1000)
        return f"{sign}{whole}.{frac:03d}"
    quant = Decimal(1).scaleb(-decimals) if decimals > 0 else Decimal(1)
    return str((Decimal(value) / 1000).quantize(quant, rounding=ROUND_HALF_UP))


def points_number(milli: int) -> float:
    return milli / 1000


def ledger_date(stored: str) -> str:
    return f"{stored}.0"


def org_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # the one zone the seed uses has no daylight saving, so a fixed offset is exact
        if name == "Asia/Kolkata":
            return timezone(timedelta(hours=5, minutes=30))
        return UTC


def parse_stored(stored: str) -> datetime:
    """A stored 'YYYY-MM-DD HH:MM:SS' time; strptime's answer, at fromisoformat's speed.

    Every entry of a page parses one, and strptime costs some twenty microseconds; on the
    zero-padded form the two agree, and anything else is left to strptime.
    """
    if (
        len(stored) == 19
        and stored[10] == " "
        and stored[13] == ":"
        and stored[16] == ":"
        and stored[17:].isdigit()
    ):
        try:
            return datetime.fromisoformat(stored)
        except ValueError:
            pass
    return datetime.strptime(stored, "%Y-%m-%d %H:%M:%S")


def error_body(operation_id: str, code: int, message: str) -> dict[str, Any]:
    body: dict[str, Any] = {"errors": [{"code": code, "message": message}], "warnings": []}
    operation = BY_ID.get(operation_id)
    if operation is not None and operation.data_envelope:
        body["data"] = []
    return body


# orjson leaves to `json` what it would write otherwise: dates, dataclasses and subclasses of
# the JSON types (json refuses or writes them as their base type), and the integers beyond 64
# bits and the non-string keys it refuses.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON, byte for byte what `json.dumps` writes, at orjson's speed.

    The two write every float alike but those below 1e-4 ("1e-05" against "0.00001") and the
    non-finite ones (which `json` refuses and orjson writes as null). No answer holds either:
    points are whole thousandths, a number echoed from a request is at least half a
    thousandth (`params.to_milli` of it is positive) or refused, and stored amounts are finite.
    """
    try:
        return orjson.dumps(body, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
