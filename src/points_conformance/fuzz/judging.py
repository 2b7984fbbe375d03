"""Judging fuzzed answers: the suite's rules as a schemathesis check, and failures as findings.

`PointsConformanceChecks` runs every single-exchange rule of `points_conformance.checks` inside
schemathesis's own checking, so both kinds of failure arrive together; `findings_of` turns what
schemathesis collected on one answer into the suite's `Finding`s, worded like the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import schemathesis
from schemathesis import Case
from schemathesis.core.failures import CustomFailure

from points_conformance.checks import CheckContext, run_checks
from points_conformance.checks.errors import refused_in_success
from points_conformance.fuzz.exchanges import exchange_of, operation_id_of
from points_conformance.fuzz.requirements import builtin_requirement, refusal_stated
from points_conformance.model import Exchange, Finding
from points_conformance.operations import OPERATIONS

# schemathesis registers a check under its class name, and `schema` configures it by that name.
CHECK_NAME = "PointsConformanceChecks"


class DomainFindings(AssertionError):
    """What the suite's own rules found in one answer."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__("; ".join(f.summary() for f in self.findings))


@schemathesis.check
class PointsConformanceChecks:
    """Every single-exchange rule of `points_conformance.checks`, on every fuzzed answer.

    schemathesis builds one instance per schema with the check context's fields from the
    schema's configuration (`schemathesis_config`), so the rules run with the run's stance.
    """

    def __init__(self, **context: Any) -> None:
        fields = {f.name for f in dataclasses.fields(CheckContext)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in context.items() if k in fields
        }
        self.context = CheckContext(**values)

    def after_response(
        self, ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Case[Any]
    ) -> bool | None:
        if operation_id_of(case) not in OPERATIONS:
            return None
        found = run_checks(self.context, exchange_of(case, response))
        if found:
            raise DomainFindings(found)
        return None


def _lines(message: str) -> list[str]:
    return [line.strip() for line in message.splitlines() if line.strip()]


def _field(lines: Sequence[str], *names: str) -> str:
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip().lower() in names and value.strip():
            return value.strip()
    return ""


def describe_failure(
    check: str, title: str, message: str, status: int, excerpt: str, *, strict: bool
) -> tuple[str, str, str]:
    """(message, expected, actual) of a finding, in the words of the suite's other findings."""
    lines = _lines(message)
    detail = "; ".join(lines)[:600]
    answered = f"HTTP {status}: {excerpt}" if excerpt else f"HTTP {status}"
    error_status = "HTTP 400" if strict else "a 4xx status"
    if check == "not_a_server_error":
        return (
            "the server failed to answer a request (HTTP 5xx)",
            f"HTTP 200, or {error_status} with the error envelope",
            answered,
        )
    if check == "negative_data_rejection":
        invalid = _field(lines, "invalid component") or detail
        return (
            "a request the OpenAPI description forbids was accepted",
            f"{error_status} with the error envelope (invalid: {invalid})",
            answered,
        )
    if check == "positive_data_acceptance":
        return (
            "a request the OpenAPI description allows got an undocumented status",
            "HTTP 200, or HTTP 400 (401 for credentials) with a documented error code",
            answered,
        )
    if check == "status_code_conformance":
        return (
            "the status is not one the OpenAPI description documents for this operation",
            f"one of {_field(lines, 'documented') or 'the documented statuses'}",
            answered,
        )
    if check == "ignored_auth":
        return (
            "the operation answered without valid credentials",
            "HTTP 401 when credentials are missing or wrong",
            detail or answered,
        )
    expected = _field(lines, "expected", "documented")
    actual = _field(lines, "received", "actual")
    return title, expected, actual or detail or answered


def _lenient_pass(check: str, case: Case[Any], exchange: Exchange, *, strict: bool) -> bool:
    """Whether the default run lets a failure of schemathesis' `check` pass on this answer."""
    if strict:
        return False
    if check == "content_type_conformance":
        # No page states a response media type (D-096): the suite's COMMON-CONTENT-TYPE judges
        # it; schemathesis' schema check also raises this failure on its own.
        return True
    if check == "status_code_conformance" and 200 <= exchange.response.status < 300:
        # No page states a success status (D-035): a 2xx other than the documented 200 passes.
        return True
    refused = refused_in_success(exchange, strict=False)
    if check == "negative_data_rejection":
        # Refused in a 2xx the default run reads as a refusal (D-016, D-036), or a request whose
        # refusal no page states (D-108).
        return refused or not refusal_stated(case)
    return check == "response_schema_conformance" and refused


def findings_of(
    failures: Iterable[BaseException],
    case: Case[Any],
    response: schemathesis.Response,
    *,
    strict: bool = False,
) -> list[Finding]:
    """Findings for the failures schemathesis collected on one answer."""
    exchange = exchange_of(case, response)
    found: list[Finding] = []
    for failure in failures:
        if isinstance(failure, CustomFailure) and isinstance(failure.exception, DomainFindings):
            found.extend(failure.exception.findings)
            continue
        if isinstance(failure, DomainFindings):
            found.extend(failure.findings)
            continue
        checks = getattr(type(failure), "checks", ()) or ("custom",)
        if _lenient_pass(checks[0], case, exchange, strict=strict):
            continue
        shown = exchange
        if checks[0] == "ignored_auth":
            # The repro is the request without credentials that should have been refused.
            bare = {
                k: v for k, v in exchange.request.headers.items() if k.lower() != "authorization"
            }
            shown = dataclasses.replace(
                exchange, request=dataclasses.replace(exchange.request, headers=bare)
            )
        title = str(getattr(failure, "title", None) or type(failure).__name__)
        message = str(getattr(failure, "message", None) or failure)
        text, expected, actual = describe_failure(
            checks[0],
            title,
            message,
            response.status_code,
            exchange.response.excerpt(300),
            strict=strict,
        )
        found.append(
            Finding(
                builtin_requirement(checks[0], case, response.status_code),
                f"{text} (schemathesis check {checks[0]})",
                expected=expected,
                actual=actual,
                exchange=shown,
            )
        )
    return found
