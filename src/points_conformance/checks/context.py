"""What a check knows besides the exchange: the reading (strict or lenient), the org and the specs.

The specs are reached through `SpecLike`, so tests can hand a check a stand-in for the loaded
OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class SchemaErrorLike(Protocol):
    """What the schema check reads from one error of `Spec.validate_response`."""

    @property
    def json_path(self) -> str: ...

    @property
    def keyword(self) -> str: ...

    @property
    def message(self) -> str: ...


class SpecLike(Protocol):
    """The part of `points_conformance.spec.Spec` the checks use."""

    def validate_response(
        self, operation_id: str, status: int, body: Any, *, strict: bool
    ) -> Sequence[SchemaErrorLike]: ...


@dataclass(frozen=True)
class CheckContext:
    """Everything a check needs besides the exchange.

    `spec_override` replaces the loaded specs (tests pass a stand-in); `now` fixes the clock
    for rules with a window relative to the request time when the response has no Date header.
    """

    strict: bool = False
    timezone: str = "UTC"
    org_id: int | str | None = None
    connected_org_ids: tuple[int | str, ...] = ()
    spec_override: SpecLike | None = field(default=None, compare=False, repr=False)
    now: datetime | None = None

    @property
    def spec(self) -> SpecLike:
        if self.spec_override is not None:
            return self.spec_override
        # Imported here so that checks which never validate schemas work without the specs.
        from points_conformance.spec import load_spec

        loaded: SpecLike = load_spec()
        return loaded

    @property
    def mode(self) -> str:
        return "strict" if self.strict else "lenient"


def context_for(settings: Any) -> CheckContext:
    """The context for a `settings.Settings`: its stance, and the org its target file describes.

    Typed loosely so that the checks need nothing of the settings' layer; a suite run and
    `validate` both build their context here.
    """
    data = settings.target_data
    connected = data.connected_orgs.get("connected_org_ids") or ()
    return CheckContext(
        strict=bool(settings.strict),
        timezone=data.timezone,
        org_id=data.org_id,
        connected_org_ids=tuple(connected),
    )
