"""Expectations for requests that must be refused: which status and which documented code.

Matrix tests send a request the pages say is invalid and call `expect_error` with the codes
the pages name for it; a missing or different code is filed under the requirement the test
exercises, a status other than the strict one under COMMON-ERR-STATUS.
"""

from __future__ import annotations

from collections.abc import Collection

from points_conformance.checks.base import D_AUTH_BODY, CheckContext, declare, finding
from points_conformance.checks.common import envelope_codes, envelope_problem, status_finding
from points_conformance.checks.values import body
from points_conformance.model import Exchange, Finding

declare("expect_auth_rejected", ("COMMON-AUTH-401",))
declare("expect_error", ("COMMON-ERR-STATUS",))


def _codes_text(codes: Collection[int]) -> str:
    return " or ".join(str(c) for c in sorted(codes))


def expect_error(
    ctx: CheckContext,
    ex: Exchange,
    *,
    codes: Collection[int],
    requirement: str,
    lenient_codes: Collection[int] = (),
    discrepancy: str | None = None,
) -> list[Finding]:
    """The response refuses the request with one of `codes` (any code when `codes` is empty).

    `lenient_codes` are also accepted in the default run, where the pages name several codes
    for one failure and `discrepancy` records which register entry says so. Strict requires
    HTTP 400 (401 when the only code is 401); lenient accepts any 4xx.
    """
    status = ex.response.status
    strict_codes = set(codes)
    wanted = strict_codes if ctx.strict else strict_codes | set(lenient_codes)
    required_status = 401 if strict_codes == {401} else 400
    code_words = f"error code {_codes_text(wanted)}" if wanted else "an error code"
    expected = (
        f"HTTP {required_status} with {code_words} in the error envelope"
        if ctx.strict
        else f"a 4xx status with {code_words} in the error envelope"
    )
    if not 400 <= status < 500:
        what = "accepted the request" if status < 400 else "failed"
        return [
            finding(
                requirement,
                f"the server {what} (HTTP {status}) instead of refusing it with {code_words}",
                expected=expected,
                actual=f"HTTP {status}: {ex.response.excerpt(200)}",
                exchange=ex,
            )
        ]
    found = status_finding(ctx, ex, required_status)
    value = body(ex)
    returned = envelope_codes(value)
    if not returned:
        problem = envelope_problem(value) or "no error code"
        found.append(
            finding(
                requirement,
                f"refused without an error code to identify the cause: {problem}",
                expected=expected,
                actual=ex.response.excerpt(300) or "(empty body)",
                exchange=ex,
            )
        )
    elif wanted and not wanted.intersection(returned):
        only_lenient = bool(set(lenient_codes).intersection(returned))
        found.append(
            finding(
                requirement,
                f"refused with code {_codes_text(set(returned))} instead of {_codes_text(wanted)}",
                expected=expected,
                actual=f"HTTP {status} with code(s) {', '.join(str(c) for c in returned)}",
                exchange=ex,
                discrepancy=discrepancy if only_lenient else None,
            )
        )
    return found


def expect_auth_rejected(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    """Missing or wrong credentials are refused with HTTP 401 (and, strict, envelope code 401)."""
    status = ex.response.status
    if status != 401:
        return [
            finding(
                "COMMON-AUTH-401",
                f"a request with missing or wrong credentials got HTTP {status}, not 401",
                expected="HTTP 401",
                actual=f"HTTP {status}: {ex.response.excerpt(200)}",
                exchange=ex,
            )
        ]
    if not ctx.strict or 401 in envelope_codes(body(ex)):
        return []
    return [
        finding(
            "COMMON-AUTH-401",
            "HTTP 401 without error code 401 in the envelope",
            expected='HTTP 401 with {"errors": [{"code": 401, ...}]}',
            actual=ex.response.excerpt(300) or "(empty body)",
            exchange=ex,
            discrepancy=D_AUTH_BODY,
        )
    ]
