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


@dataclass(frozen=True)
class Fault:
    """One registered fault. `operations` are those it changes (empty: its requirement's)."""

    name: str
    requirement: str
    description: str
    function: FaultFunction
    operations: tuple[str, ...] = ()


FAULTS: Registry[Fault] = Registry("fault", "--list-faults")


def fault(
    name: str, *, requirement: str, description: str, operations: Sequence[str] = ()
) -> Callable[[FaultFunction], FaultFunction]:
    """Register the decorated function as the fault `name`, breaking `requirement`."""

    def register(function: FaultFunction) -> FaultFunction:
        FAULTS.add(Fault(name, requirement, description, function, tuple(operations)))
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
