"""Successful bodies against the operation's documented response schema (specs/points-api.openapi.yaml)."""

from __future__ import annotations

from points_conformance.checks.base import AREA, CheckContext, check, finding
from points_conformance.checks.values import is_success
from points_conformance.model import OPERATIONS, Exchange, Finding

MAX_LISTED_ERRORS = 10


def schema_requirement(operation: str) -> str:
    return f"{AREA[operation]}-SCHEMA-RESPONSE"


@check(
    "schema.response",
    requirements=tuple(sorted({schema_requirement(op) for op in OPERATIONS})),
)
def response_schema(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    if not is_success(ex) or ex.operation not in AREA:
        return []
    requirement = schema_requirement(ex.operation)
    expected = f"a JSON body valid against the {ex.operation} {ex.response.status} response schema ({ctx.mode})"
    if ex.response.json is None:
        reason = ex.response.json_error or "the body is JSON null"
        return [
            finding(
                requirement,
                f"HTTP {ex.response.status} without a JSON body: {reason}",
                expected=expected,
                actual=ex.response.excerpt(300) or "(empty body)",
                exchange=ex,
            )
        ]
    errors = list(
        ctx.spec.validate_response(
            ex.operation, ex.response.status, ex.response.json, strict=ctx.strict
        )
    )
    if not errors:
        return []
    listed = [f"{e.json_path} [{e.keyword}] {e.message}" for e in errors[:MAX_LISTED_ERRORS]]
    if len(errors) > MAX_LISTED_ERRORS:
        listed.append(f"… and {len(errors) - MAX_LISTED_ERRORS} more")
    count = f"{len(errors)} error" + ("s" if len(errors) != 1 else "")
    return [
        finding(
            requirement,
            f"the body does not match the documented schema ({count}, first at "
            f"{errors[0].json_path}: {errors[0].keyword})",
            expected=expected,
            actual="; ".join(listed),
            exchange=ex,
        )
    ]
