"""Expectations for requests that must be refused: which status and which documented code.

Matrix tests send a request the pages say is invalid and call `expect_error` with the codes
the pages name for it; a missing or different code is filed under the requirement the test
exercises, a status other than the strict one under COMMON-ERR-STATUS.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

from points_conformance.checks.all_operations import (
    envelope_codes,
    envelope_problem,
    error_envelope,
    server_error,
    status_finding,
)
from points_conformance.checks.context import CheckContext
from points_conformance.checks.discrepancies import D_AUTH_BODY, D_ERROR_STATUS
from points_conformance.checks.findings import body_excerpt, finding
from points_conformance.checks.readers import body, refused_in_body
from points_conformance.checks.registry import credit, declare
from points_conformance.model import Exchange, Finding

declare("expect_auth_rejected", ("COMMON-AUTH-401",))
declare("expect_error", ("COMMON-ERR-STATUS", "COMMON-ERR-ENVELOPE", "COMMON-SERVER-ERROR"))

# Only 002 gives an HTTP status for bad credentials ("401 Unauthorized").
_STATUS_STATED = frozenset({"getCrossMemberLedger"})
# What the operations answer on success; a refusal holds none of it.
_DATA_KEYS = (
    "data",
    "ledgerEntries",
    "ledgerClosingBalance",
    "entries",
    "groupDetails",
    "customerDetails",
    "pointsReversed",
    "reversalId",
)


def _codes_text(codes: Collection[int]) -> str:
    return " or ".join(str(c) for c in sorted(codes))


_CODE_REQUIREMENT = re.compile(r"^[A-Z]+-(?:ERR|WARN)-(\d+)$")


def code_of(requirement: str) -> int | None:
    """The code an `<AREA>-ERR-<code>` or `-WARN-<code>` requirement is about."""
    match = _CODE_REQUIREMENT.match(requirement)
    return int(match.group(1)) if match else None


def warning_codes(value: Any) -> list[int]:
    """The codes of a body's `warnings` list (the same item shape as `errors`)."""
    if not isinstance(value, dict):
        return []
    return envelope_codes({"errors": value.get("warnings")})


# 003's warning codes of a reversal that reverses nothing ("nothing is reversed", PTS-WARN-901
# to 905).
NOTHING_REVERSED = frozenset({901, 902, 903, 904, 905})


def reversed_nothing(ex: Exchange) -> bool:
    """A 2xx answer whose warnings say that nothing was reversed."""
    if not 200 <= ex.response.status < 300:
        return False
    return bool(NOTHING_REVERSED.intersection(warning_codes(body(ex))))


def refused_in_success(ex: Exchange, *, strict: bool) -> bool:
    """A 2xx answer the default run reads as a refusal: its `errors` carry a code (D-016), or its
    warnings say nothing was reversed (D-036). Its body is not a success's, so neither the
    success schema nor a success's arithmetic applies to it."""
    return not strict and (refused_in_body(ex, strict=False) or reversed_nothing(ex))


# Where an answer without the `errors` list of 003's examples may carry its code instead.
_TOP_LEVEL_CODE_KEYS = ("code", "errorCode")


def refusal_codes(value: Any) -> list[int]:
    """The codes of a refusal as the default run reads them (D-084).

    003's examples carry codes in `errors[]`; no page states that shape, so a code at the top
    of the body (`code` or `errorCode`) counts as well.
    """
    codes = envelope_codes(value)
    if isinstance(value, dict):
        codes += envelope_codes({"errors": [{"code": value.get(k)} for k in _TOP_LEVEL_CODE_KEYS]})
    return codes


# Over 80 lines: one table from an answer's status and codes to findings; its rows share the locals.
def expect_error(
    ctx: CheckContext,
    ex: Exchange,
    *,
    codes: Collection[int],
    requirement: str | Sequence[str],
    lenient_codes: Collection[int] = (),
    discrepancy: str | None = None,
    warnings: Collection[int] = (),
) -> list[Finding]:
    """The response refuses the request with one of `codes` (any code when `codes` is empty).

    `lenient_codes` are also accepted in the default run, where the pages name several codes
    for one failure and `discrepancy` records which register entry says so. Strict requires
    HTTP 400 (401 when the only code is 401) and the envelope; lenient accepts any 4xx, or a
    2xx whose `errors` carry the code (D-016), reads a code at the top of the body too, and when
    no code is named takes any 4xx whatever its body (D-084). `warnings` are codes that the
    default run also accepts in the `warnings` of a 2xx answer (D-036); the caller checks that
    such an answer changed nothing.

    `requirement` is what the request tests, one ID or several: an answer that does not
    refuse breaks all of them; a refusal with the wrong code breaks those named for a code
    the run accepts (`PTS-ERR-804`), or the first one when none is.
    """
    named = (requirement,) if isinstance(requirement, str) else tuple(requirement)
    status = ex.response.status
    strict_codes = set(codes)
    wanted = strict_codes if ctx.strict else strict_codes | set(lenient_codes)
    required_status = 401 if strict_codes == {401} else 400
    code_words = f"error code {_codes_text(wanted)}" if wanted else "an error code"
    expected = (
        f"HTTP {required_status} with {code_words} in the error envelope"
        if ctx.strict
        else f"a refusal (a 4xx, or a 2xx whose errors list it) with {code_words}"
    )
    value = body(ex)
    listed = envelope_codes(value)
    returned = listed if ctx.strict else refusal_codes(value)
    code_named = [r for r in named if code_of(r) in wanted] or list(named[:1])
    if 200 <= status < 300 and listed and (not wanted or wanted.intersection(listed)):
        # Refused for the documented reason, but with a success status: no page gives an
        # error an HTTP status, so only the strict reading (D-016) holds it against the answer.
        credit("COMMON-ERR-STATUS", operation=ex.operation)
        if not ctx.strict:
            return []
        return [
            finding(
                "COMMON-ERR-STATUS",
                f"refused with code {_codes_text(set(listed) & wanted or set(listed))} "
                f"but HTTP {status}",
                expected=expected,
                actual=f"HTTP {status}: {ex.response.excerpt(200)}",
                exchange=ex,
                discrepancy=D_ERROR_STATUS,
            )
        ]
    warned = set(warnings).intersection(warning_codes(value)) if 200 <= status < 300 else set()
    if warned:
        return _warning_answer(ctx, ex, named, warned, expected, discrepancy)
    if not 400 <= status < 500:
        what = "accepted the request" if status < 400 else "failed"
        found = [
            finding(
                rid,
                f"the server {what} (HTTP {status}) instead of refusing it with {code_words}",
                expected=expected,
                actual=f"HTTP {status}: {ex.response.excerpt(200)}",
                exchange=ex,
            )
            for rid in named
        ]
        return [*found, *server_error(ctx, ex)]
    credit("COMMON-ERR-STATUS", operation=ex.operation)
    found = status_finding(ctx, ex, required_status)
    if not returned and not wanted and not ctx.strict:
        # The pages name no code for this failure and never describe an error body (D-084):
        # the refusal itself is what the default run asks for.
        return []
    if not returned:
        problem = envelope_problem(value) or "no error code"
        found += [
            finding(
                rid,
                f"refused without an error code to identify the cause: {problem}",
                expected=expected,
                actual=body_excerpt(ex),
                exchange=ex,
            )
            for rid in code_named
        ]
        found += error_envelope(ctx, ex)
    elif wanted and not wanted.intersection(returned):
        only_lenient = bool(set(lenient_codes).intersection(returned))
        found += [
            finding(
                rid,
                f"refused with code {_codes_text(set(returned))} instead of {_codes_text(wanted)}",
                expected=expected,
                actual=f"HTTP {status} with code(s) {', '.join(str(c) for c in returned)}",
                exchange=ex,
                discrepancy=discrepancy if only_lenient else None,
            )
            for rid in code_named
        ]
    return found


def _warning_answer(
    ctx: CheckContext,
    ex: Exchange,
    named: tuple[str, ...],
    warned: set[int],
    expected: str,
    discrepancy: str | None,
) -> list[Finding]:
    """A 2xx that reports the failure in `warnings`: the default run's other reading."""
    warning_named = [r for r in named if "-WARN-" in r and code_of(r) in warned]
    if not ctx.strict:
        credit(*warning_named, operation=ex.operation)
        return []
    return [
        finding(
            rid,
            f"reported as warning {_codes_text(warned)} of an HTTP {ex.response.status} answer",
            expected=expected,
            actual=f"HTTP {ex.response.status}: {ex.response.excerpt(200)}",
            exchange=ex,
            discrepancy=discrepancy,
        )
        for rid in [r for r in named if "-WARN-" not in r][:1] or named[:1]
    ]


def expect_auth_rejected(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    """Missing or wrong credentials are refused and return no data.

    002 states HTTP 401; the other pages say only that the operations need authentication, so
    the default run takes any 4xx from them (D-016). Strict: HTTP 401 everywhere, with envelope
    code 401 (D-060).
    """
    status = ex.response.status
    stated = ctx.strict or ex.operation in _STATUS_STATED
    if (status != 401) if stated else not 400 <= status < 500:
        return [
            finding(
                "COMMON-AUTH-401",
                f"a request with missing or wrong credentials got HTTP {status}, not "
                + ("401" if stated else "a 4xx refusal"),
                expected="HTTP 401"
                if stated
                else "a 4xx refusal (002 states 401 for its own operation)",
                actual=f"HTTP {status}: {ex.response.excerpt(200)}",
                exchange=ex,
                discrepancy=None if stated else D_ERROR_STATUS,
            )
        ]
    leaked = _leaked_data(body(ex))
    if leaked:
        return [
            finding(
                "COMMON-AUTH-401",
                f"a refusal of missing or wrong credentials carries data ({leaked})",
                expected="no data without valid credentials",
                actual=ex.response.excerpt(300),
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
            actual=body_excerpt(ex),
            exchange=ex,
            discrepancy=D_AUTH_BODY,
        )
    ]


def _leaked_data(value: Any) -> str | None:
    """The first key of a success body that holds something in a refusal, if any."""
    if not isinstance(value, dict):
        return None
    return next((key for key in _DATA_KEYS if value.get(key) not in (None, [], {}, "")), None)
