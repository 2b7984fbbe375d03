"""COMMON-AUTH-401: every operation of the OpenAPI description refuses missing or wrong credentials.

The operations come from specs/points-api.openapi.yaml (method and path template); the request
for each is the row of cases/points_auth.yaml with the operation's id, so an operation added to
the description without a row fails here instead of going untested.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from points_conformance.checks import CheckContext, expect_auth_rejected
from points_conformance.client import ConformanceClient
from points_conformance.model import Finding
from points_conformance.plugin.fixtures import FindingsRecorder
from points_conformance.spec import load_spec
from points_conformance.target import TargetData

from ._cases import Case, load_table

CREDENTIALS = {"no-credentials": False, "wrong-credentials": "wrong"}
_TEMPLATE = re.compile(r"\{([^}/]+)\}")


def _params() -> list[Any]:
    operations = load_spec().operations
    return [
        pytest.param(
            operation_id,
            auth,
            id=f"{operation_id}-{label}",
            marks=[pytest.mark.requirement(*_requirements(operation_id))]
            + (_write_marks(operation_id) if operations[operation_id].method != "GET" else []),
        )
        for operation_id in sorted(operations)
        for label, auth in CREDENTIALS.items()
    ]


def _write_marks(operation_id: str) -> list[pytest.MarkDecorator]:
    """A write changes, if the server lets it through, what its request names."""
    case = _request(operation_id)
    return [pytest.mark.writes, pytest.mark.touches(*(case.named() if case else ()))]


def _requirements(operation_id: str) -> tuple[str, ...]:
    case = _request(operation_id)
    return case.requirements if case is not None else ("COMMON-AUTH-401",)


def _request(operation_id: str) -> Case | None:
    return next((c for c in load_table("points_auth") if c.id == operation_id), None)


@pytest.mark.parametrize(("operation_id", "auth"), _params())
def test_credentials_rejected(
    operation_id: str,
    auth: bool | str,
    request: pytest.FixtureRequest,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    operation = load_spec().operations[operation_id]
    case = _request(operation_id)
    if case is None:
        findings.add(
            [
                Finding(
                    "COMMON-AUTH-401",
                    f"no request for {operation_id} in cases/points_auth.yaml",
                    expected=f"a row with id {operation_id}",
                    actual="none: the operation is not tested for credentials",
                )
            ]
        )
        return
    if operation.method != "GET":
        request.getfixturevalue("writes_allowed")
    resolved = case.resolve(target)
    path_params = resolved.extra.get("path_params") or {}
    path = _TEMPLATE.sub(lambda m: str(path_params.get(m.group(1), m.group(0))), operation.path)
    resolved = dataclasses.replace(
        resolved, operation=operation_id, method=operation.method, path=path, auth=auth
    )
    findings.add(expect_auth_rejected(check_context, resolved.send(client)))
