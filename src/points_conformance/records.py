"""Typed records that cross layers: what the client sent (planned requests of a dry run,
writes, throttling, redirects to another origin) and what one test hands the report.

Under pytest-xdist only JSON-able `user_properties` cross from a worker to the controller, so a
test carries its `TestRecord` as one entry, `(RECORD_PROPERTY, record.to_dict())`, which
`TestRecord.from_dict` turns back into the same typed record; a value of any other shape is
refused, not guessed at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PlannedRequest:
    """A request a dry run would have sent."""

    operation: str
    method: str
    url: str
    writes: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "method": self.method,
            "url": self.url,
            "writes": self.writes,
        }


@dataclass(frozen=True)
class WriteRecord:
    """A write that was sent, and the status it got."""

    operation: str
    method: str
    url: str
    status: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "method": self.method,
            "url": self.url,
            "status": self.status,
        }


@dataclass(frozen=True)
class ThrottleEvent:
    """One HTTP 429: how long the target asked for, how long was waited, whether it gave up."""

    operation: str
    method: str
    url: str
    retry_after: float | None
    waited: float
    gave_up: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "method": self.method,
            "url": self.url,
            "retry_after": self.retry_after,
            "waited": round(self.waited, 3),
            "gave_up": self.gave_up,
        }


@dataclass(frozen=True)
class RedirectRecord:
    """A redirect to another origin, returned to the test instead of being followed."""

    operation: str
    method: str
    url: str
    location: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "method": self.method,
            "url": self.url,
            "location": self.location,
        }


# How a failed requirement stood up to being re-checked (see `plugin.recheck` and
# `report.confirmation`): it failed again the same way; a re-check came out differently; it came
# only with timeouts, 5xx or 429; it was not re-checked (re-checks off, or only writes failed).
CONFIRMED = "confirmed"
INTERMITTENT = "intermittent"
TRANSIENT = "transient"
UNCHECKED = "unchecked"
CONFIRMATIONS = (CONFIRMED, INTERMITTENT, TRANSIENT, UNCHECKED)
# The labels a run may be told to let through its verdict.
TOLERABLE = (INTERMITTENT, TRANSIENT)


@dataclass(frozen=True)
class Recheck:
    """One failing exchange of a test sent again: how many re-sends failed the same way.

    `finding` indexes the test's findings; `judged_by` is "checks" when the same checks judged
    the fresh answer, "answer" when it was compared with the failing one (a finding that rests
    on several exchanges); `answers` says in a few words what each re-send got. `inconclusive`
    re-sends got a timeout, 5xx or 429 where the failure had a proper answer: they say nothing
    about the failure either way, and count neither for it nor against it.
    """

    finding: int
    sent: int
    reproduced: int
    judged_by: str
    answers: tuple[str, ...] = ()
    inconclusive: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "finding": self.finding,
            "sent": self.sent,
            "reproduced": self.reproduced,
            "judged_by": self.judged_by,
            "answers": list(self.answers),
            "inconclusive": self.inconclusive,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recheck:
        return cls(
            finding=_count(data.get("finding"), "rechecks.finding"),
            sent=_count(data.get("sent"), "rechecks.sent"),
            reproduced=_count(data.get("reproduced"), "rechecks.reproduced"),
            judged_by=_str(data, "judged_by"),
            answers=_strings(data, "answers"),
            inconclusive=_int(data, "inconclusive"),
        )


# The one `user_properties` key the plugin writes.
RECORD_PROPERTY = "points_conformance"


class RecordError(ValueError):
    """A `user_properties` value under RECORD_PROPERTY that is not a TestRecord."""


@dataclass(frozen=True)
class FuzzFigures:
    """How the target answered one operation's fuzzed requests (`answered_200`: status 200)."""

    operation: str
    requests: int
    answered_200: int
    statuses: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "requests": self.requests,
            "answered_200": self.answered_200,
            "statuses": dict(self.statuses),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FuzzFigures:
        statuses = _mapping(data, "statuses")
        return cls(
            operation=_str(data, "operation"),
            requests=_count(data.get("requests"), "requests"),
            answered_200=_count(data.get("answered_200"), "answered_200"),
            statuses={str(code): _count(n, "statuses") for code, n in statuses.items()},
        )


@dataclass(frozen=True)
class TestRecord:
    """One test's requirements, findings and traffic, as the plugin saw them."""

    __test__ = False  # a record, not a pytest test class

    requirements: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()
    # Rules the checks evaluated on the test's exchanges -> the operations they were applied to.
    exercised: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Finding.to_dict(), credentials already redacted.
    findings: tuple[Mapping[str, Any], ...] = ()
    writes: tuple[WriteRecord, ...] = ()
    requests: int = 0
    throttled: int = 0
    throttle: tuple[ThrottleEvent, ...] = ()
    redirects: tuple[RedirectRecord, ...] = ()
    dry_run: tuple[PlannedRequest, ...] = ()
    fuzz: tuple[FuzzFigures, ...] = ()
    # Why the test was skipped, when a typed skip said: the target-file keys it lacked, and
    # whether writes were refused (no --allow-writes off loopback).
    missing_data: tuple[str, ...] = ()
    writes_refused: bool = False
    rechecks: tuple[Recheck, ...] = ()
    # The one-line message of a timeout, broken connection or 429 that ended the test, and how
    # sending its request again came out.
    transport_failure: str = ""
    transport_recheck: Recheck | None = None

    def user_property(self) -> tuple[str, dict[str, Any]]:
        """The `user_properties` entry carrying this record."""
        return (RECORD_PROPERTY, self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirements": list(self.requirements),
            "operations": list(self.operations),
            "exercised": {rid: list(ops) for rid, ops in self.exercised.items()},
            "findings": [dict(f) for f in self.findings],
            "writes": [w.to_dict() for w in self.writes],
            "requests": self.requests,
            "throttled": self.throttled,
            "throttle": [t.to_dict() for t in self.throttle],
            "redirects": [r.to_dict() for r in self.redirects],
            "dry_run": [d.to_dict() for d in self.dry_run],
            "fuzz": [f.to_dict() for f in self.fuzz],
            "missing_data": list(self.missing_data),
            "writes_refused": self.writes_refused,
            "rechecks": [r.to_dict() for r in self.rechecks],
            "transport_failure": self.transport_failure,
            "transport_recheck": (
                self.transport_recheck.to_dict() if self.transport_recheck is not None else None
            ),
        }

    @classmethod
    def from_dict(cls, data: Any) -> TestRecord:
        if not isinstance(data, Mapping):
            raise RecordError(f"a test record is a mapping, not {type(data).__name__}")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise RecordError(f"unknown test record fields: {', '.join(sorted(unknown))}")
        exercised = _mapping(data, "exercised")
        return cls(
            requirements=_strings(data, "requirements"),
            operations=_strings(data, "operations"),
            exercised={str(rid): _strings({"ops": ops}, "ops") for rid, ops in exercised.items()},
            findings=tuple(dict(f) for f in _mappings(data, "findings")),
            writes=tuple(WriteRecord(**w) for w in _mappings(data, "writes")),
            requests=_int(data, "requests"),
            throttled=_int(data, "throttled"),
            throttle=tuple(ThrottleEvent(**t) for t in _mappings(data, "throttle")),
            redirects=tuple(RedirectRecord(**r) for r in _mappings(data, "redirects")),
            dry_run=tuple(PlannedRequest(**d) for d in _mappings(data, "dry_run")),
            fuzz=tuple(FuzzFigures.from_dict(f) for f in _mappings(data, "fuzz")),
            missing_data=_strings(data, "missing_data"),
            writes_refused=_flag(data, "writes_refused"),
            rechecks=tuple(Recheck.from_dict(r) for r in _mappings(data, "rechecks")),
            transport_failure=str(data.get("transport_failure") or ""),
            transport_recheck=(
                Recheck.from_dict(_mapping(data, "transport_recheck"))
                if data.get("transport_recheck") is not None
                else None
            ),
        )


def find_record(user_properties: Iterable[Any]) -> TestRecord | None:
    """The record among a report's `user_properties` (the last one, the most complete)."""
    found: TestRecord | None = None
    for entry in user_properties:
        if isinstance(entry, tuple | list) and len(entry) == 2 and entry[0] == RECORD_PROPERTY:
            found = TestRecord.from_dict(entry[1])
    return found


def _str(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise RecordError(f"test record: {name} must be text, not {value!r}")
    return value


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(f"test record: {name} must be a count, not {value!r}")
    return value


def _int(data: Mapping[str, Any], name: str) -> int:
    return _count(data.get(name, 0), name)


def _flag(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise RecordError(f"test record: {name} must be true or false, not {value!r}")
    return value


def _list(data: Mapping[str, Any], name: str) -> list[Any]:
    value = data.get(name, [])
    if not isinstance(value, list | tuple):
        raise RecordError(f"test record: {name} must be a list, not {value!r}")
    return list(value)


def _strings(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    values = _list(data, name)
    if not all(isinstance(v, str) for v in values):
        raise RecordError(f"test record: {name} must be a list of text, not {values!r}")
    return tuple(values)


def _mapping(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise RecordError(f"test record: {name} must be a mapping, not {value!r}")
    return value


def _mappings(data: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    values = _list(data, name)
    if not all(isinstance(v, Mapping) for v in values):
        raise RecordError(f"test record: {name} must be a list of mappings, not {values!r}")
    return values
