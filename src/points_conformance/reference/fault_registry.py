"""The fault registry's parts: `Fault`, the `@fault` decorator that registers one, the
operation names faults speak of, and the hook building blocks several families share.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request

from points_conformance.reference.behaviour import ResponseHook
from points_conformance.reference.formatting import error_body
from points_conformance.reference.variants import (
    Registry,
    VariantFunction,
    VariantResult,
    details_of,
    query_pairs,
    rerun,
    respond,
    seen_params,
    without_query,
)

FaultResult = VariantResult
FaultFunction = VariantFunction


LEDGER = "getCustomerLedgerInfo"
CONNECTED = "getCustomerLedgerInfoConnectedOrgs"
CML = "getCrossMemberLedger"
BALANCE = "getCustomerLedgerBalance"
CHECK = "isTransferrable"
CHECK_GROUP = "isTransferrableUserGroup"
TRANSFER = "transferPoints"
TRANSFER_GROUP = "transferPointsUserGroup"
HISTORY = "getPointsTransfers"
REVERSE = "reversePoints"


# The stances a fault's requirement is enforced in: a page states the rule it breaks, so both
# runs must catch it; or it breaks only the strict reading of a register entry.
BOTH_STANCES = ("default", "strict")
STRICT_STANCE = ("strict",)


@dataclass(frozen=True)
class Fault:
    """One registered fault. `operations` are those it changes (empty: its requirement's).

    `strict_reading` names the register entry (specs/discrepancies.yaml) whose strict reading is
    all the fault breaks: no page states that rule, so only the strict run must catch it.
    """

    name: str
    requirement: str
    description: str
    function: FaultFunction
    operations: tuple[str, ...] = ()
    strict_reading: str | None = None

    @property
    def stances(self) -> tuple[str, ...]:
        """The stances whose run must catch the fault."""
        return STRICT_STANCE if self.strict_reading else BOTH_STANCES


FAULTS: Registry[Fault] = Registry("fault", "--list-faults")


def fault(
    name: str,
    *,
    requirement: str,
    description: str,
    operations: Sequence[str] = (),
    strict_reading: str | None = None,
) -> Callable[[FaultFunction], FaultFunction]:
    """Register the decorated function as the fault `name`, breaking `requirement` (in the
    strict stance only when `strict_reading` names the register entry that decides it)."""

    def register(function: FaultFunction) -> FaultFunction:
        FAULTS.add(
            Fault(name, requirement, description, function, tuple(operations), strict_reading)
        )
        return function

    return register


# -- hook building blocks --------------------------------------------------------------------


def present(params: dict[str, Any], names: Collection[str]) -> bool:
    return any(k in names for k, _ in query_pairs(params))


def query_value(params: dict[str, Any], name: str) -> str | None:
    return next((v for k, v in query_pairs(params) if k == name), None)


def rerun_without(
    operation_id: str, request: Request, status: int, names: Collection[str]
) -> tuple[int, Any] | None:
    """The answer to the same request without `names`; None unless it succeeded and used one."""
    params = seen_params()
    if status != 200 or params is None or not present(params, names):
        return None
    return rerun(operation_id, request, without_query(params, names))


def ignoring(operations: Collection[str], names: Collection[str]) -> ResponseHook:
    """The parameters are validated as documented, then the answer is the one without them."""

    def hook(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        again = rerun_without(operation_id, request, status, names)
        return again if again is not None and again[0] == 200 else (status, body)

    return respond(operations, hook)


def recoded(operations: Collection[str], old: int, new: int) -> ResponseHook:
    """Refusals carry the code `new` where the route gave `old`."""

    def hook(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        errors = body.get("errors") if status != 200 and isinstance(body, dict) else None
        for error in errors or []:
            if isinstance(error, dict) and error.get("code") == old:
                error["code"] = new
        return status, body

    return respond(operations, hook)


def refused_without(
    operations: Collection[str], names: Collection[str], refusal_status: int, code: int
) -> ResponseHook:
    """A request that gives none of `names` is refused with `code`, whatever the route answered."""

    def hook(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        params = seen_params()
        if status != 200 or params is None or present(params, names):
            return status, body
        return refusal_status, error_body(operation_id, code, f"{' or '.join(names)} is required")

    return respond(operations, hook)


def parse_milli(text: Any) -> int | None:
    try:
        return int(Decimal(str(text)) * 1000)
    except (InvalidOperation, ValueError):
        return None


def floor_page_count(body: dict[str, Any], request: Request) -> None:
    details = details_of(body)
    total, size = details.get("totalEntries"), details.get("pageSize")
    if isinstance(total, int) and isinstance(size, int) and size > 0:
        details["pageCount"] = total // size
