"""The waiver file (TOML): requirements a team accepts as failing or unchecked for a while, and
the target data it declares absent.

```toml
[[waiver]]
requirement = "LEDGER-ARITH-NET"          # a catalogue requirement ID
operation = "getCustomerLedgerInfo"       # optional: only under this operation
reason = "rounding fix ships in 4.2"
ticket = "PTS-1234"                       # optional
expires = 2027-01-31

[[absent]]                                # data the target does not have
key = "redemptions.reversible_ids"        # a target-file key
reason = "staging holds no redemptions"
expires = 2027-06-30                      # optional here
```

A waiver turns a failed or unchecked requirement into a waived one; an `absent` entry waives the
requirements left unchecked for want of that key (or a key under it). This module reads and
checks the file's shape; whether each requirement ID is in the catalogue is checked by the
plugin before any test runs, and the report applies the entries (`report.model`).
"""

from __future__ import annotations

import datetime
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from points_conformance.operations import OPERATIONS

_WAIVER_KEYS = frozenset({"requirement", "operation", "reason", "ticket", "expires"})
_ABSENT_KEYS = frozenset({"key", "reason", "ticket", "expires"})


class WaiverFileError(ValueError):
    """The waiver file cannot be used; the message is one line naming the file and the entry."""


@dataclass(frozen=True)
class Waiver:
    """One entry: a requirement waiver (`requirement` set) or an absent-data one (`data` set)."""

    name: str  # where it is in the file, e.g. "waiver 2" or "absent 1"
    reason: str
    requirement: str | None = None
    operation: str | None = None
    data: str | None = None
    ticket: str | None = None
    expires: datetime.date | None = None

    def expired(self, today: datetime.date) -> bool:
        return self.expires is not None and self.expires < today

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requirement": self.requirement,
            "operation": self.operation,
            "data": self.data,
            "reason": self.reason,
            "ticket": self.ticket,
            "expires": self.expires.isoformat() if self.expires else None,
        }


def load_waivers(path: Path | str) -> tuple[Waiver, ...]:
    """The entries of a waiver file; any problem is one WaiverFileError line."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WaiverFileError(f"{where}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WaiverFileError(f"{where}: not valid TOML: {exc}") from None
    return parse_waivers(data, where)


def parse_waivers(data: Mapping[str, Any], where: str = "waiver file") -> tuple[Waiver, ...]:
    unknown = set(data) - {"waiver", "absent"}
    if unknown:
        raise WaiverFileError(
            f"{where}: unknown table(s) {', '.join(sorted(unknown))} (use [[waiver]] or [[absent]])"
        )
    entries: list[Waiver] = []
    for section, keys in (("waiver", _WAIVER_KEYS), ("absent", _ABSENT_KEYS)):
        raw = data.get(section, [])
        if not isinstance(raw, list):
            raise WaiverFileError(f"{where}: {section} must be an array of tables ([[{section}]])")
        for i, item in enumerate(raw, 1):
            entries.append(_entry(item, f"{section} {i}", keys, f"{where}: {section} {i}"))
    return tuple(entries)


def _entry(item: Any, name: str, keys: frozenset[str], where: str) -> Waiver:
    if not isinstance(item, Mapping):
        raise WaiverFileError(f"{where}: must be a table")
    unknown = set(item) - keys
    if unknown:
        raise WaiverFileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    reason = _required(item, "reason", where)
    ticket = _text(item, "ticket", where, required=False)
    if name.startswith("waiver"):
        requirement = _required(item, "requirement", where)
        operation = _text(item, "operation", where, required=False)
        if operation is not None and operation not in OPERATIONS:
            raise WaiverFileError(f"{where}: unknown operation {operation!r}")
        if "expires" not in item:
            raise WaiverFileError(f"{where}: expires is missing (a date, e.g. 2027-01-31)")
        return Waiver(
            name,
            reason,
            requirement=requirement.upper(),
            operation=operation,
            ticket=ticket,
            expires=_date(item["expires"], where),
        )
    key = _required(item, "key", where)
    if not key or any(not part for part in key.split(".")):
        raise WaiverFileError(f"{where}: key must be a dotted target-file key, not {key!r}")
    expires = _date(item["expires"], where) if "expires" in item else None
    return Waiver(name, reason, data=key, ticket=ticket, expires=expires)


def _text(item: Mapping[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = item.get(key)
    if value is None:
        if required:
            raise WaiverFileError(f"{where}: {key} is missing")
        return None
    if not isinstance(value, str) or not value.strip():
        raise WaiverFileError(f"{where}: {key} must be non-empty text")
    return value.strip()


def _required(item: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(item, key, where, required=True)
    assert value is not None  # _text raised otherwise
    return value


def _date(value: Any, where: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise WaiverFileError(f"{where}: expires must be a date such as 2027-01-31, not {value!r}")


def covers(declared: str, key: str) -> bool:
    """Whether an absent-data entry for `declared` covers the target-file `key`."""
    return key == declared or key.startswith(declared + ".")
