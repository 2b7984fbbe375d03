"""Case tables as data: load `cases/<name>.yaml` into pytest params, fill placeholders at run time.

A table is a YAML mapping::

    defaults:                      # merged into every case (optional)
      operation: getCustomerLedgerInfo
      method: GET
      path: /v2/pointsLedger/getCustomerLedgerInfo
      params: {identifierName: mobile, identifierValue: "{customers.rich.mobile}"}
    cases:
      - id: limit-101              # unique in the table; becomes the pytest id
        requirement: LEDGER-ERR-11029        # or a list; becomes @pytest.mark.requirement
        params: {limit: 101}       # merged over defaults.params; a null value removes the key
        expect: {error: [11029]}   # free-form: read by the test that runs the table

Case fields: `id`, `requirement`, `operation`, `method`, `path`, `params`, `headers`, `json`
(request body), `auth` (true, false, or "wrong"), `expect`, `note`. Any other key is kept in
`Case.extra`. `params` and `headers` merge key by key with the defaults; the others replace.

Placeholders `{section.key...}` in every field but `id` and `requirement` are filled from the
target file when the test runs (`Case.resolve`): `{target.source}`, `{customers.rich.mobile}`,
`{groups.fleet.id}`, `{stores.unknown_store_id}`, `{connected_orgs.connected_org_ids.0}` (a
number indexes a list). A value that names another entry (`connected_orgs.connected_customer =
"customers.connected"`) is followed: `{connected_orgs.connected_customer.id}`. A value that is
exactly one placeholder keeps its type (a list stays a list); inside longer text a list is
joined with commas. `{key?}` marks an optional value: when it is missing or empty the whole
parameter, header or field is dropped instead of skipping the case. Sections other than those of
the target file come from keyword arguments of `resolve` (`case.resolve(target, dates={...})`).
A case whose placeholder has no value is skipped with a reason that names the missing key.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from points_conformance.client import Auth, ConformanceClient
from points_conformance.model import Exchange
from points_conformance.plugin.fixtures import skip_missing
from points_conformance.target import TargetData

__all__ = ["Case", "load_cases", "load_table"]

CASES_DIR = Path(__file__).resolve().parent / "cases"

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)(\?)?\}")
_FIELDS = ("operation", "method", "path", "params", "headers", "json", "auth", "expect", "note")
_MERGED = ("params", "headers")
_TARGET_SECTIONS = ("connected_orgs", "cross_member", "redemptions", "stores", "transfer")
_TARGET_ROOTS = frozenset(("target", "customers", "groups", *_TARGET_SECTIONS))
# Wrong credentials use a user name that cannot exist, so that a real account on a shared
# target is never locked out by repeated failed logins.
WRONG_CREDENTIALS = ("points-conformance-no-such-user", "not-the-password")


class _Missing(Exception):
    """A placeholder has no value; `key` is the target-file key a reader should add."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _Drop:
    """Marks an optional placeholder without a value: its parameter is left out."""


_DROP = _Drop()


@dataclass(frozen=True)
class Case:
    """One row of a case table. Fields hold placeholders until `resolve` fills them."""

    id: str
    requirements: tuple[str, ...]
    operation: str = ""
    method: str = "GET"
    path: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    auth: bool | str = True
    expect: Any = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    table: str = ""

    def uses(self, section: str) -> bool:
        """Whether any placeholder of the case reads from `section` (e.g. "dates")."""
        fields = (self.path, self.params, self.headers, self.json, self.expect, self.extra)
        return section in _sections(fields)

    def named(self) -> tuple[str, ...]:
        """The customers, groups and redemptions the request names (`customers.rich`, ...):
        what a write case changes, or a reading case rests on, for the parallel run's locks."""
        fields = (self.path, self.params, self.headers, self.json)
        return tuple(sorted(_parties(fields)))

    def resolve(self, target: TargetData, **sections: Any) -> Case:
        """This case with every placeholder filled; skips the test when a value is missing."""
        try:
            lookup = _Lookup(target, sections)
            return dataclasses.replace(
                self,
                path=str(lookup.fill(self.path)),
                params=lookup.fill(self.params),
                headers=lookup.fill(self.headers),
                json=lookup.fill(self.json),
                expect=lookup.fill(self.expect),
                extra=lookup.fill(self.extra),
            )
        except _Missing as missing:
            if missing.key.split(".")[0] in _TARGET_ROOTS:
                skip_missing(missing.key, detail=f"case {self.table}:{self.id}")
            pytest.skip(f"case {self.table}:{self.id}: the run has no value for {missing.key}")

    def query(self) -> dict[str, str]:
        """The query parameters as text: lists joined with commas, booleans as true/false."""
        return {name: _text(value) for name, value in self.params.items()}

    def send(self, client: ConformanceClient) -> Exchange:
        """Send the (resolved) request through the plugin's `client` fixture."""
        auth: Auth = self.auth
        if auth == "wrong":
            auth = WRONG_CREDENTIALS
        exchange: Exchange = client.request(
            self.operation,
            self.method,
            self.path,
            params=self.query() or None,
            headers={k: _text(v) for k, v in self.headers.items()} or None,
            json=self.json,
            auth=auth,
        )
        return exchange


def load_cases(name: str, lock: str | None = None) -> list[Any]:
    """`cases/<name>.yaml` as pytest params (one `Case` each), ids and requirement marks set.

    `lock` ("touches" or "reads") also marks each case with what its request names, so that
    under pytest-xdist it holds those customers and groups (see `points_conformance.plugin.lock`).
    """
    params = []
    for case in load_table(name):
        marks = [pytest.mark.requirement(*case.requirements)]
        if lock is not None:
            marks.append(getattr(pytest.mark, lock)(*case.named()))
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


# The C loader reads the tables about eight times faster (every pytest process and xdist worker
# reads them all at collection); both are safe loaders.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def load_table(name: str) -> tuple[Case, ...]:
    """The cases of `cases/<name>.yaml`; raises ValueError naming the table and row when malformed."""
    path = CASES_DIR / f"{name}.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise ValueError(f"{path}: expected a mapping with a 'cases' list")
    defaults = doc.get("defaults") or {}
    seen: set[str] = set()
    cases = []
    for index, row in enumerate(doc["cases"]):
        if not isinstance(row, dict) or not row.get("id"):
            raise ValueError(f"{path}: case #{index} has no id")
        case_id = str(row["id"])
        if case_id in seen:
            raise ValueError(f"{path}: duplicate case id {case_id!r}")
        seen.add(case_id)
        cases.append(_build(name, case_id, defaults, row))
    return tuple(cases)


def _build(table: str, case_id: str, defaults: dict[str, Any], row: dict[str, Any]) -> Case:
    merged: dict[str, Any] = {}
    for key in set(defaults) | set(row):
        if key in _MERGED:
            combined = {**(defaults.get(key) or {}), **(row.get(key) or {})}
            merged[key] = {k: v for k, v in combined.items() if v is not None}
        else:
            merged[key] = row[key] if key in row else defaults[key]
    requirement = merged.pop("requirement", None)
    requirements = (requirement,) if isinstance(requirement, str) else tuple(requirement or ())
    if not requirements:
        raise ValueError(f"cases/{table}.yaml: case {case_id!r} names no requirement")
    merged.pop("id", None)
    known = {k: merged.pop(k) for k in _FIELDS if k in merged}
    return Case(id=case_id, requirements=requirements, extra=merged, table=table, **known)


def _sections(value: Any) -> set[str]:
    if isinstance(value, str):
        return {m.group(1).split(".")[0] for m in _PLACEHOLDER.finditer(value)}
    if isinstance(value, dict):
        return set().union(*(_sections(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(_sections(v) for v in value)) if value else set()
    return set()


def _parties(value: Any) -> set[str]:
    """`customers.ROLE`, `groups.ROLE` and `redemptions`, as the placeholders in `value` name
    them."""
    if isinstance(value, dict | list | tuple):
        items = value.values() if isinstance(value, dict) else value
        return set().union(*(_parties(v) for v in items)) if items else set()
    if not isinstance(value, str):
        return set()
    found = set()
    for match in _PLACEHOLDER.finditer(value):
        parts = match.group(1).split(".")
        if parts[0] in ("customers", "groups") and len(parts) > 1:
            found.add(".".join(parts[:2]))
        elif parts[0] == "redemptions":
            found.add("redemptions")
    return found


class _Lookup:
    def __init__(self, target: TargetData, sections: dict[str, Any]) -> None:
        self.target = target
        self.sections = sections

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._fill_text(value)
        if isinstance(value, dict):
            filled = {k: self.fill(v) for k, v in value.items()}
            return {k: v for k, v in filled.items() if v is not _DROP}
        if isinstance(value, list):
            return [v for v in (self.fill(v) for v in value) if v is not _DROP]
        return value

    def _fill_text(self, text: str) -> Any:
        whole = _PLACEHOLDER.fullmatch(text)
        if whole:
            found = self._get(whole.group(1), optional=bool(whole.group(2)))
            return list(found) if isinstance(found, tuple) else found

        def one(match: re.Match[str]) -> str:
            found = self._get(match.group(1), optional=bool(match.group(2)))
            if found is _DROP:
                raise _DropText
            return _text(found)

        try:
            return _PLACEHOLDER.sub(one, text)
        except _DropText:
            return _DROP

    def _get(self, key: str, *, optional: bool) -> Any:
        try:
            found = self._walk(key)
        except _Missing:
            if optional:
                return _DROP
            raise
        if optional and found in ("", None, (), []):
            return _DROP
        return found

    def _walk(self, key: str, depth: int = 0) -> Any:
        parts = key.split(".")
        root, rest = parts[0], parts[1:]
        current: Any
        if root in self.sections:
            current = self.sections[root]
        elif root == "target":
            current = self.target
        elif root in ("customers", "groups") or root in _TARGET_SECTIONS:
            current = getattr(self.target, root)
        else:
            raise _Missing(key)
        for position, part in enumerate(rest):
            if isinstance(current, str) and depth < 3 and current.split(".")[0] in _TARGET_ROOTS:
                # A value naming another entry (e.g. "customers.connected") is followed.
                return self._walk(".".join([current, *rest[position:]]), depth + 1)
            current = _step(current, part)
            if current is None:
                raise _Missing(key)
        if current is None or current == ():
            raise _Missing(key)
        return current


class _DropText(Exception):
    pass


def _step(current: Any, part: str) -> Any:
    if isinstance(current, list | tuple):
        if not part.isdigit() or int(part) >= len(current):
            return None
        return current[int(part)]
    if isinstance(current, dict):
        return current.get(part)
    if dataclasses.is_dataclass(current):
        return getattr(current, part, None)
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    return str(value)
