"""A generated case as known data is laid over it: what the generator made invalid, a snapshot
of its parts, and generated values made real.

Laying data over a case must be repeatable (hypothesis replays draws while it shrinks) and must
leave alone whatever the generator spoiled on purpose, so the case is read once into a
`Snapshot` and every rebuild starts from it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemathesis import Case
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import negated_parameters

QUERY = ParameterLocation.QUERY
HEADER = ParameterLocation.HEADER
PATH = ParameterLocation.PATH
BODY = ParameterLocation.BODY


def query_date(value: Any) -> str | None:
    """A generated `YYYY-MM-DDThh:mm:ss` made a real date (the pattern allows month 79)."""
    if not isinstance(value, str) or len(value) != 19:
        return None
    digits = [int(part) for part in re.findall(r"[0-9]+", value)]
    if len(digits) != 6:
        return None
    year, month, day, hour, minute, second = digits
    moment = datetime(
        2000 + year % 40, 1 + month % 12, 1 + day % 28, hour % 24, minute % 60, second % 60
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def flag_of(value: Any) -> bool | None:
    """A generated boolean parameter: the generator writes them as they go on the wire."""
    text = str(value).strip().lower()
    return True if text == "true" else False if text == "false" else None


def int_in(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def negated_parts(case: Case[Any]) -> dict[ParameterLocation, frozenset[str] | None]:
    """The parts of a negative case the generator made invalid: per location, the names of the
    parameters (or top-level body keys) it changed, or None when it changed the whole of it."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return {}
    named: dict[ParameterLocation, set[str]] = {}
    for name, location in negated_parameters(meta):
        named.setdefault(location, set()).add(name)
    for mutation in getattr(meta.phase.data, "mutations", ()) or ():
        location = mutation.parameter_location
        if location is None:
            continue
        if mutation.path:
            named.setdefault(location, set()).add(str(mutation.path[0]))
        elif "required" in mutation.keywords and isinstance(mutation.original_value, list):
            named.setdefault(location, set()).update(str(v) for v in mutation.original_value)
    return {
        location: frozenset(named[location]) if named.get(location) else None
        for location, info in meta.components.items()
        if info.mode.is_negative
    }


def _stable(value: Any) -> str:
    # repr() of some generated values (the missing body) shows a memory address.
    return type(value).__name__


@dataclass(frozen=True)
class Snapshot:
    """A generated case's containers, taken once, so that laying data over it is repeatable."""

    query: dict[str, Any]
    headers: dict[str, Any]
    path: dict[str, Any]
    body: Any
    negated: dict[ParameterLocation, frozenset[str] | None]

    @classmethod
    def of(cls, case: Case[Any]) -> Snapshot:
        return cls(
            query=dict(case.query or {}),
            headers=dict(case.headers or {}),
            path=dict(case.path_parameters or {}),
            body=copy.deepcopy(case.body) if isinstance(case.body, dict | list) else case.body,
            negated=negated_parts(case),
        )

    def valid(self, location: ParameterLocation) -> bool:
        """Whether the generator left this location valid, so that it may be rebuilt freely."""
        return location not in self.negated

    def overlay(
        self, location: ParameterLocation, base: dict[str, Any], values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """`base` with `values` laid over it, except over what the generator made invalid."""
        spoiled = self.negated.get(location, frozenset())
        if spoiled is None:
            return dict(base)
        return {**base, **{k: v for k, v in values.items() if k not in spoiled}}

    def body_object(self) -> dict[str, Any] | None:
        return copy.deepcopy(self.body) if isinstance(self.body, dict) else None

    def share(self) -> int:
        """0..99, a function of the generated values only.

        Whether known data is laid over a case is decided by it rather than drawn: hypothesis
        repeats its draws in runs, and a drawn share would swing from run to run.
        """
        text = json.dumps(
            [self.query, self.headers, self.path, self.body], sort_keys=True, default=_stable
        )
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % 100


def settle(case: Case[Any]) -> Case[Any]:
    # schemathesis would re-judge the edited containers and misread the comma-joined values it
    # generates itself for `explode: false` arrays as invalid; the generated mode stands, since
    # only what the generator left valid was rebuilt, and always with valid values.
    case._record_starting_state()
    return case
