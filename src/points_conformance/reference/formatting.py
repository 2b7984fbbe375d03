"""How answers are written: points, dates and zones, the error envelope, JSON bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    return datetime.strptime(stored, "%Y-%m-%d %H:%M:%S")


def error_body(operation_id: str, code: int, message: str) -> dict[str, Any]:
    body: dict[str, Any] = {"errors": [{"code": code, "message": message}], "warnings": []}
    operation = BY_ID.get(operation_id)
    if operation is not None and operation.data_envelope:
        body["data"] = []
    return body


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
