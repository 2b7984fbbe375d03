"""The OpenAPI description as schemathesis should see it, configured from the run's settings.

The description is read in the run's stance (strict or lenient), schemathesis's configuration
(seed, budget, timeout, rate limit, which statuses its status checks accept, and the suite's
own check with the run's check context) comes from `Settings` alone, and the known-data hook is
attached to the schema it builds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import schemathesis
from schemathesis import Case

from points_conformance.checks import CheckContext
from points_conformance.fuzz.judging import CHECK_NAME
from points_conformance.fuzz.known_data import KnownData
from points_conformance.settings import Settings
from points_conformance.spec import load_spec, reading


def fuzz_document(*, strict: bool) -> dict[str, Any]:
    """The OpenAPI description in the reading of this run, as schemathesis should see it."""
    document: dict[str, Any] = reading(load_spec().document, strict=strict)
    if not strict:
        _default_parameters(document)
    return document


def _default_parameters(document: dict[str, Any]) -> None:
    for item in (document.get("paths") or {}).values():
        for operation in item.values() if isinstance(item, dict) else ():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters") or ():
                if not isinstance(parameter, dict):
                    continue
                # D-032: the default reading lets a server answer a v2.1 request without
                # DATA-SCOPE as SELF, so there the header's absence is not invalid input.
                if parameter.get("x-discrepancy") == "D-032":
                    parameter["required"] = False
                # 11029 refuses a limit above 100; no page says a negative limit is refused, so
                # negative fuzzing does not send one as invalid input.
                if (
                    operation.get("operationId") == "getCustomerLedgerInfo"
                    and parameter.get("name") == "limit"
                ):
                    parameter["schema"] = {
                        k: v for k, v in parameter["schema"].items() if k != "minimum"
                    }


def _rate(limit: float) -> str:
    if limit >= 1:
        return f"{int(limit)}/s"
    return f"{max(1, int(limit * 60))}/m"


def check_context_kwargs(ctx: CheckContext) -> dict[str, Any]:
    """The plain fields of a check context, as schemathesis passes them to a check's __init__."""
    kwargs: dict[str, Any] = {}
    for item in dataclasses.fields(ctx):
        value = getattr(ctx, item.name)
        if not item.init or value is None or item.name == "spec_override":
            continue
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, bool | int | str | list):
            kwargs[item.name] = value
    return kwargs


def schemathesis_config(settings: Settings, ctx: CheckContext) -> schemathesis.Config:
    """schemathesis's configuration, derived from the run's settings only."""
    strict = settings.strict
    # Documented errors are HTTP 400 in the strict reading and any 4xx in the lenient one
    # (D-016); 5xx is left to not_a_server_error, so that each failure is reported once.
    accepted = ["2xx", "400", "401", "429", "5xx"] if strict else ["2xx", "4xx", "5xx"]
    rejected = ["400", "401", "429", "5xx"] if strict else ["4xx", "5xx"]
    project: dict[str, Any] = {
        "request-timeout": settings.timeout,
        "generation": {
            "with-security-parameters": False,
            "database": "none",
            "max-examples": settings.fuzz_examples,
        },
        "checks": {
            "positive_data_acceptance": {"expected-statuses": accepted},
            "negative_data_rejection": {"expected-statuses": rejected},
            CHECK_NAME: check_context_kwargs(ctx),
            # No page states a response media type (D-096): the suite's own COMMON-CONTENT-TYPE
            # check judges it in both stances; schemathesis' stricter one runs under --conformance-strict.
            "content_type_conformance": {"enabled": strict},
        },
    }
    if settings.base_url:
        project["base-url"] = settings.base_url
    if settings.rate_limit:
        project["rate-limit"] = _rate(settings.rate_limit)
    return schemathesis.Config.from_dict({"seed": settings.fuzz_seed, **project})


def load_schema(
    settings: Settings, ctx: CheckContext, known: KnownData | None = None
) -> schemathesis.BaseSchema:
    """The schemathesis schema of the description, with the known-data hook when given."""
    schema = schemathesis.openapi.from_dict(
        fuzz_document(strict=settings.strict), config=schemathesis_config(settings, ctx)
    )
    if known is not None:

        def flatmap_case(context: schemathesis.HookContext, case: Case[Any]) -> Any:
            return known.feed(case)

        schema.hook(flatmap_case)
    return schema
