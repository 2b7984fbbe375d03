"""The ten documented operations: the one table every layer reads (the reference server too).

Each row says what an operation is (operationId of `specs/points-api.openapi.yaml`, method,
path), where its requirement IDs live (area), how a user selects its tests (marker), whether it
changes data on the server, and which page documents it. Order is the architecture's order;
reports and summaries show operations in it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    """One documented operation."""

    id: str
    method: str
    path: str
    area: str
    marker: str
    writes: bool
    page: str
    # The 003 operations also carry `"data": []` in their error bodies.
    data_envelope: bool = False


def _op(
    op_id: str,
    method: str,
    path: str,
    area: str,
    marker: str,
    page: str,
    *,
    writes: bool = False,
) -> Operation:
    return Operation(op_id, method, path, area, marker, writes, page, data_envelope=page == "003")


TABLE: tuple[Operation, ...] = (
    _op(
        "getCustomerLedgerInfo",
        "GET",
        "/v2/pointsLedger/getCustomerLedgerInfo",
        "LEDGER",
        "ledger",
        "001",
    ),
    _op(
        "getCustomerLedgerInfoConnectedOrgs",
        "GET",
        "/v2.1/pointsLedger/getCustomerLedgerInfo",
        "CORG",
        "connected_orgs",
        "000",
    ),
    _op(
        "getCrossMemberLedger",
        "GET",
        "/v2/customers/{id}/crossMemberLedger",
        "CML",
        "cross_member",
        "002",
    ),
    # The balance is documented on 003 but answers in the ledger's envelope (no "data").
    Operation(
        "getCustomerLedgerBalance",
        "GET",
        "/v2/pointsLedger/getCustomerLedgerBalance",
        "BAL",
        "balance",
        False,
        "003",
    ),
    _op(
        "isTransferrable", "POST", "/v2/points/isTransferrable", "XFERCHK", "transfer_check", "003"
    ),
    _op(
        "isTransferrableUserGroup",
        "POST",
        "/v2/points/userGroup2/isTransferrable",
        "XFERCHK",
        "transfer_check",
        "003",
    ),
    _op("transferPoints", "POST", "/v2/points/transfer", "XFER", "transfer", "003", writes=True),
    _op(
        "transferPointsUserGroup",
        "POST",
        "/v2/points/userGroup2/transfer",
        "XFER",
        "transfer",
        "003",
        writes=True,
    ),
    _op("getPointsTransfers", "GET", "/v2/points/transfer", "XFERHIST", "transfer_history", "003"),
    _op("reversePoints", "POST", "/v2/points/reverse", "REV", "reverse", "003", writes=True),
)

BY_ID: dict[str, Operation] = {op.id: op for op in TABLE}
OPERATIONS: tuple[str, ...] = tuple(op.id for op in TABLE)
WRITE_OPERATIONS: frozenset[str] = frozenset(op.id for op in TABLE if op.writes)
AREA: dict[str, str] = {op.id: op.area for op in TABLE}
MARKERS: dict[str, str] = {op.id: op.marker for op in TABLE}
PATHS: dict[str, str] = {op.id: op.path for op in TABLE}
LEDGER_OPERATIONS: tuple[str, ...] = ("getCustomerLedgerInfo", "getCustomerLedgerInfoConnectedOrgs")
CHECK_OPERATIONS: tuple[str, ...] = ("isTransferrable", "isTransferrableUserGroup")
TRANSFER_OPERATIONS: tuple[str, ...] = ("transferPoints", "transferPointsUserGroup")
# The operations of 003's shared error / warning table (the PTS requirements).
POINTS_OPERATIONS: tuple[str, ...] = tuple(op.id for op in TABLE if op.data_envelope)


def schema_requirement(operation: str) -> str:
    """The catch-all schema requirement of an operation's answers."""
    return f"{AREA[operation]}-SCHEMA-RESPONSE"
