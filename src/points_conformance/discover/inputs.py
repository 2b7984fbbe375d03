"""The identifiers `discover` starts from: `--customer`, `--group` and rows of a CSV file.

A value is `kind:value` (`mobile:919000000001`, `id:1003`; several joined by commas name one
customer) or a bare value, whose kind is guessed: an `@` makes an email, ten or more digits a
mobile, fewer an id, anything else an external id. A guessed digit value is also tried as the
other kind of number when the first gives nothing (`probe` does that).

The CSV file has a header row naming its columns: `kind` (`customer`, the default, or `group`)
and the identifier kinds below; each row names one customer or group.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CUSTOMER_KINDS = ("id", "mobile", "email", "external_id", "cardnumber")
GROUP_KINDS = ("id", "external_id", "primary_user_id")
# The spellings of the ledger's identifierName a user may copy from a request.
_ALIASES = {"externalid": "external_id", "groupid": "id", "primaryuserid": "primary_user_id"}
MOBILE_DIGITS = 10


class InputError(ValueError):
    """An identifier or CSV file that cannot be read; the message says where and why."""


@dataclass(frozen=True)
class CustomerInput:
    """One customer as given: its known identifiers; `guessed` when the kind was inferred."""

    identifiers: tuple[tuple[str, str], ...]
    guessed: bool = False

    def get(self, kind: str) -> str | None:
        return next((value for k, value in self.identifiers if k == kind), None)

    @property
    def label(self) -> str:
        kind, value = self.identifiers[0]
        return f"{kind} {value}"


@dataclass(frozen=True)
class GroupInput:
    """One group as given: the identifier kind and value."""

    kind: str
    value: str

    @property
    def label(self) -> str:
        return f"group {self.kind} {self.value}"


def _guess(value: str) -> str:
    if "@" in value:
        return "email"
    if value.isdigit():
        return "mobile" if len(value) >= MOBILE_DIGITS else "id"
    return "external_id"


def _pairs(text: str, kinds: tuple[str, ...], what: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for part in text.split(","):
        kind, sep, value = part.partition(":")
        kind = _ALIASES.get(kind.strip().lower(), kind.strip().lower())
        if not sep or kind not in kinds:
            raise InputError(
                f"{what} {text!r}: {part.strip()!r} is not kind:value with kind one of "
                + ", ".join(kinds)
            )
        if not value.strip():
            raise InputError(f"{what} {text!r}: the {kind} is empty")
        pairs.append((kind, value.strip()))
    return pairs


def parse_customer(text: str) -> CustomerInput:
    """A `--customer` value."""
    value = text.strip()
    if not value:
        raise InputError("--customer needs a value")
    if ":" not in value:
        return CustomerInput(((_guess(value), value),), guessed=True)
    return CustomerInput(tuple(_pairs(value, CUSTOMER_KINDS, "--customer")))


def parse_group(text: str) -> GroupInput:
    """A `--group` value: a bare value is a group id."""
    value = text.strip()
    if not value:
        raise InputError("--group needs a value")
    if ":" not in value:
        return GroupInput("id", value)
    pairs = _pairs(value, GROUP_KINDS, "--group")
    if len(pairs) > 1:
        raise InputError(f"--group {text!r}: name a group by one identifier")
    return GroupInput(*pairs[0])


def read_csv(path: Path) -> tuple[list[CustomerInput], list[GroupInput]]:
    """The customers and groups of a CSV file; InputError names the line at fault."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    if not header:
        raise InputError(f"{path} is empty: it needs a header row naming its columns")
    columns = [_ALIASES.get(c.strip().lower(), c.strip().lower()) for c in header]
    known = {"kind", *CUSTOMER_KINDS, *GROUP_KINDS}
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise InputError(
            f"{path} line 1: unknown column {unknown[0]!r} (columns: {', '.join(sorted(known))})"
        )
    return _rows(path, columns, rows)


def _rows(
    path: Path, columns: list[str], rows: Iterable[list[str]]
) -> tuple[list[CustomerInput], list[GroupInput]]:
    customers: list[CustomerInput] = []
    groups: list[GroupInput] = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            raise InputError(
                f"{path} line {line}: {len(row)} cells, the header names {len(columns)}"
            )
        cells = {c: v.strip() for c, v in zip(columns, row, strict=False) if v.strip()}
        kind = cells.pop("kind", "customer").lower()
        if kind == "group":
            given = [(k, v) for k, v in cells.items() if k in GROUP_KINDS]
            if len(given) != 1 or len(cells) != 1:
                raise InputError(
                    f"{path} line {line}: a group row names exactly one of "
                    + ", ".join(GROUP_KINDS)
                )
            groups.append(GroupInput(*given[0]))
        elif kind == "customer":
            stray = [k for k in cells if k not in CUSTOMER_KINDS]
            if stray:
                raise InputError(f"{path} line {line}: {stray[0]} is not a customer identifier")
            if not cells:
                raise InputError(f"{path} line {line}: the row names no identifier")
            customers.append(CustomerInput(tuple(cells.items())))
        else:
            raise InputError(f"{path} line {line}: kind must be customer or group, not {kind!r}")
    if not customers and not groups:
        raise InputError(f"{path} names no customer or group")
    return customers, groups
