"""Successful bodies against the operation's documented response schema (specs/points-api.openapi.yaml).

An error is filed under the requirement whose catalogue `paths` name its place most
specifically (LEDGER-FORMAT-DECIMAL for an entry's points), else under the operation's
*-SCHEMA-RESPONSE, so a report says which rule a malformed body breaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from points_conformance.bodypaths import PathPattern, Place, Route, route
from points_conformance.checks.context import CheckContext, SchemaErrorLike
from points_conformance.checks.cross_member import CML_OPERATION, cml_body
from points_conformance.checks.errors import refused_in_success
from points_conformance.checks.findings import body_excerpt, finding
from points_conformance.checks.readers import body, is_success
from points_conformance.checks.registry import check, credit, credited_already, crediting_open
from points_conformance.model import Exchange, Finding
from points_conformance.operations import AREA, OPERATIONS, schema_requirement

MAX_LISTED_ERRORS = 10
CREDIT_SAMPLE = 10  # list items looked at for a value when crediting a place
# 002's quick-reference tree wraps the cross-member body in `entity` (D-013); the places the
# catalogue names are those of the unwrapped body.
_WRAPPER = "entity"


@cache
def routes(operation: str) -> tuple[Route, ...]:
    """The catalogue requirements of `operation` that name places in its bodies."""
    from points_conformance.catalogue import load_catalogue

    return tuple(
        Route(req.id, tuple(PathPattern.parse(p) for p in req.paths), req.strict_only)
        for req in load_catalogue().requirements.values()
        if req.paths and operation in req.operations
    )


def _places(ex: Exchange, error: SchemaErrorLike) -> list[Place]:
    places: Sequence[Place] = getattr(error, "places", None) or [()]
    if ex.operation != CML_OPERATION:
        return list(places)
    unwrapped = [p[1:] for p in places if p[:1] == (_WRAPPER,)]
    return [*places, *unwrapped]


def _credit_places(ctx: CheckContext, ex: Exchange) -> None:
    """Credit the requirements whose places the body has a value at (so they were validated).

    Only the first items of each list are looked at: crediting needs one instance, and a
    test's other answers get their turn.
    """
    value = cml_body(ex) if ex.operation == CML_OPERATION else body(ex)
    credit(schema_requirement(ex.operation))
    for entry in routes(ex.operation):
        if (entry.strict_only and not ctx.strict) or credited_already(
            entry.requirement, ex.operation
        ):
            continue
        if any(p.present(value, sample=CREDIT_SAMPLE) for p in entry.patterns):
            credit(entry.requirement)


@check(
    "schema.response",
    requirements=tuple(sorted({schema_requirement(op) for op in OPERATIONS})),
)
def response_schema(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    if not is_success(ex) or ex.operation not in AREA or refused_in_success(ex, strict=ctx.strict):
        return []
    general = schema_requirement(ex.operation)
    expected = f"a JSON body valid against the {ex.operation} {ex.response.status} response schema ({ctx.mode})"
    if ex.response.json is None:
        reason = ex.response.json_error or "the body is JSON null"
        return [
            finding(
                general,
                f"HTTP {ex.response.status} without a JSON body: {reason}",
                expected=expected,
                actual=body_excerpt(ex),
                exchange=ex,
            )
        ]
    if crediting_open():
        _credit_places(ctx, ex)
    errors = list(
        ctx.spec.validate_response(
            ex.operation, ex.response.status, ex.response.json, strict=ctx.strict
        )
    )
    grouped: dict[str, list[SchemaErrorLike]] = {}
    table = routes(ex.operation)
    for error in errors:
        requirement = route(table, error.keyword, _places(ex, error)) or general
        grouped.setdefault(requirement, []).append(error)
    return [_finding(ex, requirement, found, expected) for requirement, found in grouped.items()]


def _finding(
    ex: Exchange,
    requirement: str,
    errors: list[SchemaErrorLike],
    expected: str,
) -> Finding:
    listed = [f"{e.json_path} [{e.keyword}] {e.message}" for e in errors[:MAX_LISTED_ERRORS]]
    if len(errors) > MAX_LISTED_ERRORS:
        listed.append(f"… and {len(errors) - MAX_LISTED_ERRORS} more")
    count = f"{len(errors)} error" + ("s" if len(errors) != 1 else "")
    return finding(
        requirement,
        f"the body does not match the documented schema ({count}, first at "
        f"{errors[0].json_path}: {errors[0].keyword})",
        expected=expected,
        actual="; ".join(listed),
        exchange=ex,
    )
