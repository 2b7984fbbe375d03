"""The requirement catalogue (specs/requirements.yaml) and the discrepancy register
(specs/discrepancies.yaml), loaded into typed, immutable records.

Every finding names a requirement ID from here, and reports print the requirement's statement
and source; the register says, for each place where the pages contradict each other, what the
default run and `--conformance-strict` enforce. A malformed file stops the run with a one-line
`CatalogueError` naming the entry and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from points_conformance.locations import DISCREPANCIES_FILE, REQUIREMENTS_FILE
from points_conformance.operations import AREA
from points_conformance.settings import specs_dir

# The C loader when PyYAML was built with libyaml: the catalogue is read on every run.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The operations' areas, between the rules every operation shares (COMMON) and those 003's
# shared error / warning table states for the points operations (PTS).
AREAS = ("COMMON", *dict.fromkeys(AREA.values()), "PTS")
# The slug is optional for rules that are the whole kind (LEDGER-SORT). The kinds are those
# named in ARCHITECTURE.md, plus the few topical kinds the catalogue uses for rules
# that fit none of them (the cross-member status and role rules, connected-org scopes, OTPs).
KINDS = (
    "SCHEMA",
    "ERR",
    "WARN",
    "SUCCESS",
    "PAGE",
    "LIMIT",
    "DEFAULT",
    "ARITH",
    "FILTER",
    "SORT",
    "STATE",
    "AUTH",
    "PARAM",
    "FORMAT",
    "SERVER",
    "CONTENT",
    "SCOPE",
    "OTP",
    "REVERSED",
    "STATUS",
    "FIELDS",
    "USERROLE",
    "EVENTLOG",
    "DATES",
)
CODE_KINDS = ("ERR", "WARN", "SUCCESS")
CHECKS = (
    "schema",
    "pagination",
    "error-code",
    "arithmetic",
    "filter",
    "sort",
    "state",
    "auth",
    "default",
    "format",
)
REQUIREMENT_ID = re.compile(
    r"^(?P<area>" + "|".join(AREAS) + r")-(?P<kind>" + "|".join(KINDS) + r")"
    r"(?:-(?P<slug>[A-Z0-9]+(?:-[A-Z0-9]+)*))?$"
)
DISCREPANCY_ID = re.compile(r"^D-\d{3}$")


class CatalogueError(Exception):
    """A catalogue file that does not parse, or an entry that is malformed (one line)."""


@dataclass(frozen=True)
class Source:
    page: str
    heading: str

    def text(self) -> str:
        return f"{self.page} § {self.heading}"


@dataclass(frozen=True)
class Requirement:
    """One normative statement of the pages, and how the harness checks it."""

    id: str
    operations: tuple[str, ...]
    source: Source
    statement: str
    check: str
    covers: tuple[str, ...] = ()
    discrepancy: str | None = None
    strict_only: bool = False
    testable: bool = True
    reason: str | None = None
    # Where in a response body the rule applies, for the schema check to file its errors under
    # this requirement: `$.a[*].b`, `$.a.*`, optionally `keyword@` in front (see bodypaths.py).
    paths: tuple[str, ...] = ()

    @property
    def area(self) -> str:
        return self.id.split("-", 1)[0]

    @property
    def kind(self) -> str:
        return self.id.split("-", 2)[1]

    def source_text(self) -> str:
        """ "<page> § <heading>", for reports."""
        return self.source.text()


@dataclass(frozen=True)
class Reading:
    """One side of a contradiction: what a page says, where, in its own words."""

    reading: str
    source: Source
    quote: str


@dataclass(frozen=True)
class Discrepancy:
    """A place where the pages disagree, and what the default run and --conformance-strict enforce."""

    id: str
    title: str
    readings: tuple[Reading, ...]
    stance: str
    strict: str | None
    enforced_by_strict: bool
    affects: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    requirements: Mapping[str, Requirement]
    discrepancies: Mapping[str, Discrepancy]

    def by_operation(self, operation: str) -> list[Requirement]:
        """The requirements that apply to an operation, in catalogue order."""
        return [r for r in self.requirements.values() if operation in r.operations]

    def validate_ids(self, ids: Iterable[str]) -> list[str]:
        """The IDs that name neither a requirement nor a discrepancy, in the order given."""
        return [i for i in ids if i not in self.requirements and i not in self.discrepancies]

    def cross_reference_problems(self) -> list[str]:
        """Dangling references between the two files (each problem on one line)."""
        problems: list[str] = []
        for req in self.requirements.values():
            if req.discrepancy is not None and req.discrepancy not in self.discrepancies:
                problems.append(f"{req.id}: discrepancy {req.discrepancy} is not in the register")
        for disc in self.discrepancies.values():
            for rid in disc.affects:
                if rid not in self.requirements:
                    problems.append(f"{disc.id}: affects unknown requirement {rid}")
        return problems


# --------------------------------------------------------------------------------------------
# parsing helpers: each raises CatalogueError naming the file, the entry and the field


class _Entry:
    def __init__(self, file: str, index: int, data: Any) -> None:
        self.file = file
        if not isinstance(data, dict):
            raise CatalogueError(f"{file}: entry #{index + 1} is not a mapping")
        self.data: dict[str, Any] = data
        ident = data.get("id")
        self.name = str(ident) if isinstance(ident, str) and ident else f"#{index + 1}"

    def fail(self, field: str, problem: str) -> CatalogueError:
        return CatalogueError(f"{self.file}: entry {self.name}: field '{field}' {problem}")

    def text(self, field: str, *, optional: bool = False) -> str:
        value = self.data.get(field)
        if value is None and optional:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "must be a non-empty string")
        return value.strip()

    def maybe_text(self, field: str) -> str | None:
        if self.data.get(field) is None:
            return None
        return self.text(field)

    def flag(self, field: str, default: bool) -> bool:
        value = self.data.get(field, default)
        if not isinstance(value, bool):
            raise self.fail(field, "must be true or false")
        return value

    def strings(self, field: str, *, required: bool) -> tuple[str, ...]:
        value = self.data.get(field)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or (required and not value):
            raise self.fail(field, "must be a non-empty list" if required else "must be a list")
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(field, "must list non-empty strings")
        return tuple(v.strip() for v in value)

    def source(self, field: str = "source", data: Any = None) -> Source:
        value = self.data.get(field) if data is None else data
        if not isinstance(value, dict):
            raise self.fail(field, "must be a mapping with page and heading")
        page, heading = value.get("page"), value.get("heading")
        if not isinstance(page, str) or not page.strip():
            raise self.fail(f"{field}.page", "must be a non-empty string")
        if not isinstance(heading, str) or not heading.strip():
            raise self.fail(f"{field}.heading", "must be a non-empty string")
        return Source(page.strip(), heading.strip())


def _requirement(entry: _Entry) -> Requirement:
    rid = entry.text("id")
    match = REQUIREMENT_ID.match(rid)
    if match is None:
        raise entry.fail("id", f"{rid!r} does not follow <AREA>-<KIND>-<SLUG> (ARCHITECTURE.md)")
    slug = match["slug"] or ""
    if match["kind"] in CODE_KINDS and match["area"] != "COMMON" and not slug.isdigit():
        raise entry.fail("id", f"{rid!r}: the slug of an {match['kind']} requirement is the code")
    check = entry.text("check")
    if check not in CHECKS:
        raise entry.fail("check", f"{check!r} is not one of {', '.join(CHECKS)}")
    discrepancy = entry.maybe_text("discrepancy")
    if discrepancy is not None and not DISCREPANCY_ID.match(discrepancy):
        raise entry.fail("discrepancy", f"{discrepancy!r} is not a register ID (D-NNN)")
    testable_value = entry.data.get("testable", True)
    reason = entry.maybe_text("reason")
    # `testable: {testable: false, reason: ...}` is accepted as well as the two sibling fields.
    if isinstance(testable_value, dict):
        nested = _Entry(entry.file, 0, {"id": entry.name, **testable_value})
        testable = nested.flag("testable", True)
        reason = nested.maybe_text("reason")
    elif isinstance(testable_value, bool):
        testable = testable_value
    else:
        raise entry.fail("testable", "must be true or false")
    if not testable and not reason:
        raise entry.fail("reason", "must say why a requirement is not testable")
    known = {
        "id",
        "operations",
        "source",
        "statement",
        "check",
        "covers",
        "discrepancy",
        "strict_only",
        "testable",
        "reason",
        "paths",
    }
    unknown = sorted(set(entry.data) - known)
    if unknown:
        raise entry.fail(unknown[0], "is not a catalogue field")
    return Requirement(
        id=rid,
        operations=entry.strings("operations", required=True),
        source=entry.source(),
        statement=entry.text("statement"),
        check=check,
        covers=entry.strings("covers", required=False),
        discrepancy=discrepancy,
        strict_only=entry.flag("strict_only", False),
        testable=testable,
        reason=reason,
        paths=_paths(entry),
    )


def _paths(entry: _Entry) -> tuple[str, ...]:
    from points_conformance.bodypaths import PathPattern

    paths = entry.strings("paths", required=False)
    for text in paths:
        try:
            PathPattern.parse(text)
        except ValueError as exc:
            raise entry.fail("paths", str(exc)) from None
    return paths


def _discrepancy(entry: _Entry) -> Discrepancy:
    did = entry.text("id")
    if not DISCREPANCY_ID.match(did):
        raise entry.fail("id", f"{did!r} is not of the form D-NNN")
    raw_readings = entry.data.get("readings")
    if not isinstance(raw_readings, list) or len(raw_readings) < 1:
        raise entry.fail("readings", "must be a non-empty list")
    readings: list[Reading] = []
    for n, raw in enumerate(raw_readings, start=1):
        field = f"readings[{n}]"
        if not isinstance(raw, dict):
            raise entry.fail(field, "must be a mapping with reading, source and quote")
        for key in ("reading", "quote"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise entry.fail(f"{field}.{key}", "must be a non-empty string")
        readings.append(
            Reading(
                raw["reading"].strip(),
                entry.source(f"{field}.source", raw.get("source")),
                raw["quote"],
            )
        )
    if "strict" not in entry.data:
        raise entry.fail("strict", "is missing (null when there is no strict reading)")
    enforced = entry.data.get("enforced_by_strict")
    if not isinstance(enforced, bool):
        raise entry.fail("enforced_by_strict", "must be true or false")
    strict = entry.maybe_text("strict")
    if enforced and strict is None:
        raise entry.fail("strict", "must state the strict reading when enforced_by_strict is true")
    return Discrepancy(
        id=did,
        title=entry.text("title"),
        readings=tuple(readings),
        stance=entry.text("stance"),
        strict=strict,
        enforced_by_strict=enforced,
        affects=entry.strings("affects", required=True),
    )


def _load_list(path: Path) -> list[Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise CatalogueError(f"{path}: does not parse{where}: {problem}") from exc
    if not isinstance(data, list):
        raise CatalogueError(f"{path}: must be a YAML list of entries")
    return data


def _index(path: Path, entries: list[Any], build: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for index, raw in enumerate(entries):
        record = build(_Entry(path.name, index, raw))
        if record.id in result:
            raise CatalogueError(f"{path.name}: entry {record.id}: field 'id' is used twice")
        result[record.id] = record
    return result


@cache
def _load(directory: str, requirements_name: str) -> Catalogue:
    base = Path(directory)
    requirements = _index(
        base / requirements_name, _load_list(base / requirements_name), _requirement
    )
    discrepancies = _index(
        base / DISCREPANCIES_FILE, _load_list(base / DISCREPANCIES_FILE), _discrepancy
    )
    return Catalogue(requirements=requirements, discrepancies=discrepancies)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The catalogue, loaded once per location.

    `path` is a specs directory, or a requirements file whose directory also holds
    discrepancies.yaml; by default the specs directory (see `settings.specs_dir`).
    """
    target = Path(path) if path is not None else specs_dir()
    if target.is_dir():
        return _load(str(target.resolve()), REQUIREMENTS_FILE)
    return _load(str(target.resolve().parent), target.name)
