"""Negative fuzzing in each stance: which accepted invalid requests are failures.

The default run fails an accepted invalid request only where a page says it is refused (a
parameter of `STATED_REFUSALS`, a required parameter left out, the body); `--conformance-strict` fails every
request the strict description forbids. The fuzz document itself is the default reading.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import (
    CaseMetadata,
    ComponentInfo,
    FuzzingPhaseData,
    GenerationInfo,
    PhaseInfo,
    TestPhase,
)

from points_conformance.checks import CheckContext
from points_conformance.fuzz.judging import findings_of
from points_conformance.fuzz.requirements import (
    REJECTION,
    STATED_REFUSALS,
    fuzz_requirements,
    refusal_stated,
)
from points_conformance.fuzz.schema import fuzz_document, schemathesis_config
from points_conformance.settings import Settings
from points_conformance.spec import load_spec

QUERY = ParameterLocation.QUERY


def _case(
    operation_id: str, name: str | None, location: ParameterLocation = QUERY, body: Any = NOT_SET
) -> Any:
    """A negative case of `operation_id` that made `name` invalid (None: names no part)."""
    meta = CaseMetadata(
        generation=GenerationInfo(time=0.0, mode=GenerationMode.NEGATIVE),
        components={location: ComponentInfo(mode=GenerationMode.NEGATIVE)},
        phase=PhaseInfo(
            name=TestPhase.FUZZING,
            data=FuzzingPhaseData(
                description="invalid",
                parameter=name,
                parameter_location=location if name else None,
                location=None,
            ),
        ),
    )
    raw = {"operationId": operation_id}
    operation = SimpleNamespace(
        definition=SimpleNamespace(raw=raw),
        schema=SimpleNamespace(is_security_param_negated=lambda case: False),
    )
    return SimpleNamespace(meta=meta, operation=operation, body=body)


@pytest.mark.parametrize(
    ("operation_id", "name", "location", "stated"),
    [
        # 8013, 11029, 11025, 1003, 310144: the pages name the refusal.
        ("getCustomerLedgerInfo", "identifierName", QUERY, True),
        ("getCustomerLedgerInfo", "limit", QUERY, True),
        ("getCustomerLedgerInfo", "tillId", QUERY, True),
        ("getCrossMemberLedger", "pageSize", QUERY, True),
        ("getCustomerLedgerInfoConnectedOrgs", "DATA-SCOPE", ParameterLocation.HEADER, True),
        # Required parameters: leaving one out is invalid input on every page.
        ("getCustomerLedgerBalance", "identifierValue", QUERY, True),
        ("getPointsTransfers", "identifierName", QUERY, True),
        # The body: its schema is the default reading, so what it forbids is stated.
        ("transferPointsUserGroup", "body", ParameterLocation.BODY, True),
        # No page says these are refused (G-BAL-09, G-LV2-27, G-UG-02, G-UG-04).
        ("getCustomerLedgerBalance", "limit", QUERY, False),
        ("getCustomerLedgerInfo", "offset", QUERY, False),
        ("getCustomerLedgerInfo", "sort", QUERY, False),
        ("getCustomerLedgerInfo", "type", QUERY, False),
        ("getCustomerLedgerInfo", "startDate", QUERY, False),
        ("getCustomerLedgerInfo", "isFilterBasedOnDate", QUERY, False),
        ("getCustomerLedgerInfo", "programId", QUERY, False),
        ("getCustomerLedgerInfoConnectedOrgs", "limit", QUERY, False),
        ("getCrossMemberLedger", "sort", QUERY, False),
    ],
)
def test_refusal_stated(
    operation_id: str, name: str, location: ParameterLocation, stated: bool
) -> None:
    assert refusal_stated(_case(operation_id, name, location)) is stated


_IDENTIFIER = {"type": "MOBILE", "value": "9100000001"}
_TRANSFER = {
    "pointsTobeTransferred": 10,
    "fromCustomerIdentifier": _IDENTIFIER,
    "toCustomerIdentifier": _IDENTIFIER,
    "code": "1234",
}


@pytest.mark.parametrize(
    ("body", "stated"),
    [
        # "All parameters marked by * are mandatory" (003): leaving one out is stated.
        ({k: v for k, v in _TRANSFER.items() if k != "code"}, True),
        ({**_TRANSFER, "fromCustomerIdentifier": {"type": "MOBILE"}}, True),
        ({**_TRANSFER, "toCustomerIdentifier": "9100000001"}, True),
        ("not an object", True),
        # No page says a value of another type or an unlisted field is refused (D-108).
        ({**_TRANSFER, "pointsTobeTransferred": "10"}, False),
        ({**_TRANSFER, "notes": 7}, False),
        ({**_TRANSFER, "fromCustomerIdentifier": {**_IDENTIFIER, "type": "CARD"}}, False),
    ],
)
def test_a_body_refusal_is_stated_when_a_mandatory_field_is_missing(
    body: Any, stated: bool
) -> None:
    case = _case("transferPoints", "body", ParameterLocation.BODY, body)
    assert refusal_stated(case) is stated


def test_a_case_that_names_no_part_counts_as_stated() -> None:
    assert refusal_stated(_case("getCustomerLedgerBalance", None)) is True


def test_stated_refusals_name_parameters_the_description_has() -> None:
    spec = load_spec()
    for operation_id, names in STATED_REFUSALS.items():
        operation = spec.operations[operation_id]
        for name in names:
            assert any(p["name"] == name for p in operation.parameters), (operation_id, name)


@pytest.mark.parametrize("operation_id", list(REJECTION))
def test_fuzzing_speaks_for_a_rejection_only_where_it_judges_one(operation_id: str) -> None:
    """The default run credits a rejection requirement only through a parameter it judges."""
    lenient = set(fuzz_requirements(operation_id, strict=False))
    strict = set(fuzz_requirements(operation_id, strict=True))
    assert lenient <= strict
    for parameter, requirement in REJECTION[operation_id].items():
        judged = parameter is None or refusal_stated(_case(operation_id, parameter))
        others = [
            p for p, r in REJECTION[operation_id].items() if r == requirement and p != parameter
        ]
        if not judged and not any(
            p is None or refusal_stated(_case(operation_id, p)) for p in others
        ):
            assert requirement not in lenient, (operation_id, parameter, requirement)
        if judged:
            assert requirement in lenient, (operation_id, parameter, requirement)
        assert requirement in strict


def test_an_unstated_date_refusal_is_no_evidence_in_the_default_run() -> None:
    assert "LEDGER-FORMAT-DATE-PARAM" not in fuzz_requirements(
        "getCustomerLedgerInfo", strict=False
    )
    assert "LEDGER-FORMAT-DATE-PARAM" in fuzz_requirements("getCustomerLedgerInfo", strict=True)


class _Rejection(AssertionError):
    checks = ("negative_data_rejection",)
    title = "API accepted schema-violating request"
    message = "Invalid component: limit"


def _response(
    url: str = "http://127.0.0.1/v2/pointsLedger/getCustomerLedgerBalance?limit=500",
    content: bytes = b"{}",
) -> Any:
    request = SimpleNamespace(method="GET", url=url, headers={}, body=None)
    return SimpleNamespace(
        request=request,
        headers={"Content-Type": ["application/json"]},
        content=content,
        encoding="utf-8",
        elapsed=0.01,
        status_code=200,
    )


def test_an_accepted_unstated_refusal_fails_only_in_strict() -> None:
    case = _case("getCustomerLedgerBalance", "limit")
    assert findings_of([_Rejection()], case, _response(), strict=False) == []
    found = findings_of([_Rejection()], case, _response(), strict=True)
    assert [f.requirement for f in found] == ["BAL-LIMIT-MAX"]


def test_an_accepted_stated_refusal_fails_in_the_default_run() -> None:
    case = _case("getCustomerLedgerInfo", "limit")
    found = findings_of([_Rejection()], case, _response(), strict=False)
    assert [f.requirement for f in found] == ["LEDGER-PARAM-PAGING-RANGE"]


def _parameter(document: dict[str, Any], operation_id: str, name: str) -> dict[str, Any]:
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                for parameter in operation.get("parameters", []):
                    if parameter.get("name") == name:
                        return dict(parameter)
    raise AssertionError(f"{operation_id} has no inline parameter {name}")


def test_the_default_fuzz_document_sends_no_negative_limit_as_invalid() -> None:
    # 11029 refuses a limit above 100; no page refuses a negative one.
    default = _parameter(fuzz_document(strict=False), "getCustomerLedgerInfo", "limit")
    strict = _parameter(fuzz_document(strict=True), "getCustomerLedgerInfo", "limit")
    assert "minimum" not in default["schema"] and default["schema"]["maximum"] == 100
    assert strict["schema"]["minimum"] == 0


def test_the_group_transfer_needs_its_points_only_in_strict() -> None:
    # D-037: 003 does not star pointsTobeTransferred on the group transfer.
    def required(strict: bool) -> list[str]:
        schema = fuzz_document(strict=strict)["components"]["schemas"]["GroupTransferRequest"]
        return list(schema["required"])

    assert "pointsTobeTransferred" not in required(False)
    assert "pointsTobeTransferred" in required(True)


@pytest.mark.parametrize("strict", [False, True])
def test_schemathesis_media_type_check_runs_only_under_strict(strict: bool) -> None:
    # No page states a response media type (D-096); the suite's own check judges it.
    settings = Settings(base_url="http://127.0.0.1:9", strict=strict)
    config = schemathesis_config(settings, CheckContext(strict=strict))
    assert config.projects.default.checks.content_type_conformance.enabled is strict


class _MissingContentType(AssertionError):
    checks = ("content_type_conformance",)
    title = "Missing Content-Type header"
    message = "The following media types are documented in the schema: application/json"


class _SchemaViolation(AssertionError):
    checks = ("response_schema_conformance",)
    title = "Response violates schema"
    message = "null is not of type 'object'"


class _UndocumentedStatus(AssertionError):
    checks = ("status_code_conformance",)
    title = "Undocumented HTTP status code"
    message = "Received: 201\nDocumented: 200, 401, 4XX"


def test_an_undocumented_success_status_fails_only_in_strict() -> None:
    """No page states a success status (D-035): a 201 passes the default run."""
    case = _case("getCustomerLedgerBalance", None)
    created = _response()
    created.status_code = 201
    assert findings_of([_UndocumentedStatus()], case, created, strict=False) == []
    assert findings_of([_UndocumentedStatus()], case, created, strict=True) != []


def test_a_missing_media_type_fails_only_in_strict() -> None:
    """No page states a response media type (D-096); schemathesis' schema check raises this
    failure too, so the default run lets it pass whichever check raised it."""
    case = _case("getCustomerLedgerBalance", None)
    assert findings_of([_MissingContentType()], case, _response(), strict=False) == []
    found = findings_of([_MissingContentType()], case, _response(), strict=True)
    assert [f.requirement for f in found] == ["COMMON-CONTENT-TYPE"]


def test_a_reversal_refused_as_a_warning_is_a_refusal_in_the_default_run() -> None:
    """A 2xx whose warnings say nothing was reversed refuses the request (D-036): neither the
    rejection nor the success schema is held against it in the default run."""
    case = _case("reversePoints", "body", ParameterLocation.BODY, {})
    warned = _response(
        "http://127.0.0.1/v2/points/reverse",
        b'{"redemptionId": null, "identifier": null, "pointsReversed": 0,'
        b' "warnings": [{"code": 901, "message": "Invalid points or points redemption ID."}]}',
    )
    failures = [_Rejection(), _SchemaViolation()]
    assert findings_of(failures, case, warned, strict=False) == []
    assert len(findings_of(failures, case, warned, strict=True)) == 2
    accepted = _response("http://127.0.0.1/v2/points/reverse", b'{"pointsReversed": 0}')
    assert len(findings_of(failures, case, accepted, strict=False)) == 2
