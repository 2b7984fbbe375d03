"""What a handler works with: the request's context (`Ctx`), its `Result`, and the
documented errors (`ApiError`) it raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from points_conformance.reference.behaviour import Behaviour
from points_conformance.reference.store import (
    Store,
)


class ApiError(Exception):
    """A documented error: answered as the envelope with `code`."""

    def __init__(self, code: int, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Result:
    status: int
    body: Any
    headers: dict[str, str]


class Ctx:
    """The store, the rules and the caller of one request, and its clock reading."""

    __slots__ = ("behaviour", "clock_read", "org_id", "store", "till_id")

    def __init__(
        self, store: Store, behaviour: Behaviour, org_id: int, till_id: int | None
    ) -> None:
        self.store = store
        self.behaviour = behaviour
        self.org_id = org_id
        self.till_id = till_id
        # Read on first use only: an answer that never reads the clock does not depend on it.
        self.clock_read: datetime | None = None

    @property
    def now(self) -> datetime:
        """The store's clock (naive UTC), fixed for the request once read."""
        if self.clock_read is None:
            self.clock_read = self.store.now()
        return self.clock_read

    def error(self, code: int, message: str) -> ApiError:
        return ApiError(code, message, self.behaviour.error_status)

    def invalid(self, message: str) -> ApiError:
        return self.error(self.behaviour.err_validation, message)


Handler = Callable[[Ctx, dict[str, Any]], Result]
