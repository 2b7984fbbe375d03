"""Rules every operation's answers are held to: no server errors, JSON labelled as JSON, the
error envelope, and (003's operations) no errors in a successful answer."""

from __future__ import annotations

from typing import Any

from points_conformance.checks.context import CheckContext
from points_conformance.checks.discrepancies import (
    D_AUTH_BODY,
    D_CONTENT_TYPE,
    D_ERROR_BODY,
    D_ERROR_STATUS,
)
from points_conformance.checks.findings import body_excerpt, finding
from points_conformance.checks.readers import body, describe, refused_in_body, success_object
from points_conformance.checks.registry import check, credit
from points_conformance.model import Exchange, Finding
from points_conformance.operations import POINTS_OPERATIONS

# A rate limiter answers before the API does; the pages describe its limits on another page
# and give its answer no shape.
_ENVELOPE_EXEMPT = frozenset({429})


def envelope_problem(value: Any) -> str | None:
    """What keeps `value` from being `{"errors": [{"code": int, "message": str}, ...]}`."""
    if not isinstance(value, dict):
        return f"the body is {describe(value, 60)}, not a JSON object"
    errors = value.get("errors")
    if not isinstance(errors, list):
        return 'the body has no "errors" list'
    if not errors:
        return 'the "errors" list is empty'
    for index, item in enumerate(errors):
        if not isinstance(item, dict):
            return f"errors[{index}] is {describe(item, 40)}, not an object"
        code = item.get("code")
        if isinstance(code, bool) or not isinstance(code, int):
            return f"errors[{index}].code is {describe(code, 40)}, not an integer"
        if not isinstance(item.get("message"), str):
            return f"errors[{index}].message is {describe(item.get('message'), 40)}, not a string"
    return None


def envelope_codes(value: Any) -> list[int]:
    """The error codes of an envelope; integer-valued strings count, anything else does not."""
    if not isinstance(value, dict) or not isinstance(value.get("errors"), list):
        return []
    codes: list[int] = []
    for item in value["errors"]:
        code = item.get("code") if isinstance(item, dict) else None
        if isinstance(code, int) and not isinstance(code, bool):
            codes.append(code)
        elif isinstance(code, str) and code.strip().isdigit() and len(code.strip()) < 12:
            codes.append(int(code.strip()))
    return codes


def has_json_body(ex: Exchange) -> bool:
    if ex.response.json is not None:
        return True
    return bool(ex.response.text.strip()) and ex.response.json_error is None


@check(
    "common.server_error",
    requirements=("COMMON-SERVER-ERROR",),
)
def server_error(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    if ex.response.status < 500:
        return []
    return [
        finding(
            "COMMON-SERVER-ERROR",
            f"the server failed with HTTP {ex.response.status}",
            expected="a 2xx answer or a 4xx error envelope, never a 5xx",
            actual=f"HTTP {ex.response.status}: {ex.response.excerpt(200)}",
            exchange=ex,
        )
    ]


def _json_or_unlabelled(media: str) -> bool:
    return not media or media.endswith("/json") or media.endswith("+json")


@check(
    "common.content_type",
    requirements=("COMMON-CONTENT-TYPE",),
)
def content_type(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    if not has_json_body(ex):
        return []
    media = ex.response.content_type.split(";", 1)[0].strip().lower()
    # 002's requests say "Accept: application/json"; no page names the answer's media type
    # (D-096): the default run takes any JSON type, or none, and refuses only another type.
    if media == "application/json" or (not ctx.strict and _json_or_unlabelled(media)):
        return []
    return [
        finding(
            "COMMON-CONTENT-TYPE",
            "a JSON body came without an application/json content type",
            expected="Content-Type: application/json (parameters such as charset allowed)"
            if ctx.strict
            else "a JSON media type (or none) for a JSON body, as the request accepts JSON",
            actual=f"Content-Type: {ex.response.content_type or '(none)'}",
            exchange=ex,
            discrepancy=D_CONTENT_TYPE if ctx.strict and _json_or_unlabelled(media) else None,
        )
    ]


@check(
    "common.error_envelope",
    requirements=("COMMON-ERR-ENVELOPE",),
)
def error_envelope(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    status = ex.response.status
    # No page describes an error body: 003's examples show the envelope, which only the strict
    # reading requires (D-084; on 401, D-060). The default run reads a refusal's documented code
    # wherever it is (`expect_error`).
    if not ctx.strict or not 400 <= status < 500 or status in _ENVELOPE_EXEMPT:
        return []
    problem: str | None
    if ex.response.json is None and ex.response.json_error is not None:
        problem = f"the body is not JSON ({ex.response.excerpt(120)!r})"
    else:
        problem = envelope_problem(body(ex))
    if problem is None:
        return []
    return [
        finding(
            "COMMON-ERR-ENVELOPE",
            f"HTTP {status} without the documented error envelope: {problem}",
            expected='{"errors": [{"code": <integer>, "message": <string>}, ...]} with at least one error',
            actual=body_excerpt(ex),
            exchange=ex,
            discrepancy=D_AUTH_BODY if status == 401 else D_ERROR_BODY,
        )
    ]


def status_finding(ctx: CheckContext, ex: Exchange, required: int) -> list[Finding]:
    """Strict: a refusal comes with HTTP `required` (400, or 401 for credentials)."""
    status = ex.response.status
    if not ctx.strict or status == required:
        return []
    return [
        finding(
            "COMMON-ERR-STATUS",
            f"a documented error came with HTTP {status} instead of HTTP {required}",
            expected=f"HTTP {required} with the error envelope",
            actual=f"HTTP {status} with code(s) "
            + (", ".join(str(c) for c in envelope_codes(body(ex))) or "(none)"),
            exchange=ex,
            discrepancy=D_ERROR_STATUS,
        )
    ]


@check(
    "common.error_status",
    requirements=("COMMON-ERR-STATUS",),
)
def error_status(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    status = ex.response.status
    if not ctx.strict or not 400 <= status < 500 or status in (400, 401, *_ENVELOPE_EXEMPT):
        return []
    value = body(ex)
    codes = envelope_codes(value)
    # A code equal to the status is the framework's own (404 for an unknown path); a
    # documented code under another 4xx is what the strict reading moves to 400.
    if envelope_problem(value) is not None or all(code == status for code in codes):
        return []
    credit("COMMON-ERR-STATUS")
    return status_finding(ctx, ex, 400)


@check(
    "common.success_without_errors",
    requirements=("PTS-SUCCESS-800",),
    operations=POINTS_OPERATIONS,
)
def success_without_errors(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    """003's answers carry `errors`: empty on success. A 2xx whose errors carry a code is, in
    the default run, a refusal (D-016), not a success this rule speaks of."""
    data = success_object(ex)
    if data is None or "errors" not in data or refused_in_body(ex, strict=ctx.strict):
        return []
    credit("PTS-SUCCESS-800")
    errors = data["errors"]
    if errors is None or errors == []:
        return []
    codes = envelope_codes(data)
    return [
        finding(
            "PTS-SUCCESS-800",
            f"HTTP {ex.response.status} with "
            + (f"error code(s) {', '.join(map(str, codes))}" if codes else "errors")
            + " in the body",
            expected='a 2xx answer with an empty "errors" list (a refusal has a 4xx status)',
            actual=f"errors: {describe(errors, 200)}",
            exchange=ex,
        )
    ]
