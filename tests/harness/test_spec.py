"""The OpenAPI description and its loader: validity, coverage of the contract, both modes."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from points_conformance.examples import load_index
from points_conformance.locations import SPEC_FILE
from points_conformance.operations import TABLE
from points_conformance.settings import specs_dir
from points_conformance.spec import Spec, SpecError, load_spec, reading
from points_conformance.variables import SPECS_DIR_ENV

REPO = Path(__file__).resolve().parents[2]
ARCHITECTURE = REPO / "ARCHITECTURE.md"


def _contract_operations() -> list[tuple[str, str, str]]:
    """(operationId, METHOD, path) rows of the Operations table of ARCHITECTURE.md."""
    rows = []
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\|\s*(\w+)\s*\|\s*(GET|POST|PUT|DELETE|PATCH)\s+(\S+)\s*\|", line)
        if match:
            rows.append((match.group(1), match.group(2), match.group(3)))
    return rows


CONTRACT = _contract_operations()


def _example(name_prefix: str) -> Any:
    for entry in load_index():
        if entry.file.startswith(name_prefix):
            return entry.load()
    raise AssertionError(f"no example {name_prefix}")


def _walk(node: Any, key: str) -> list[Any]:
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                found.append(v)
            found.extend(_walk(v, key))
    elif isinstance(node, list):
        for item in node:
            found.extend(_walk(item, key))
    return found


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


def test_description_is_valid_openapi_3_1(spec: Spec) -> None:
    assert spec.document["openapi"] == "3.1.0"
    validate(spec.document)


def test_contract_table_is_read() -> None:
    assert len(CONTRACT) == 10


@pytest.mark.parametrize(("operation_id", "method", "path"), CONTRACT, ids=[c[0] for c in CONTRACT])
def test_every_contract_operation_is_described(
    spec: Spec, operation_id: str, method: str, path: str
) -> None:
    operation = spec.operations[operation_id]
    assert (operation.method, operation.path) == (method, path)
    assert "200" in operation.response_statuses
    assert "401" in operation.response_statuses
    assert "4XX" in operation.response_statuses


def test_no_operation_outside_the_contract(spec: Spec) -> None:
    assert set(spec.operations) == {row[0] for row in CONTRACT}


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_every_ref_resolves(spec: Spec, strict: bool) -> None:
    refs = _walk(reading(spec.document, strict=strict), "$ref")
    assert len(refs) > 50
    for ref in refs:
        assert ref.startswith("#/")
        node: Any = spec.document
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            assert token in node, f"{ref} does not resolve"
            node = node[token]


def test_discrepancy_annotations_name_register_ids(spec: Spec) -> None:
    ids = _walk(spec.document, "x-discrepancy")
    assert ids, "the description names no discrepancy"
    for value in ids:
        assert re.fullmatch(r"D-\d{3}", value), value
    assert spec.discrepancy_ids() == set(ids)
    for known in ("D-006", "D-007", "D-013", "D-014", "D-015", "D-017", "D-019", "D-022", "D-028"):
        assert known in ids


def test_discrepancy_ids_exist_in_register(spec: Spec) -> None:
    register = specs_dir() / "discrepancies.yaml"
    text = register.read_text(encoding="utf-8")
    known = set(re.findall(r"\bD-\d{3}\b", text))
    used = spec.discrepancy_ids() | {
        d.discrepancy
        for entry in load_index()
        for d in (entry.expected_deviation, entry.arithmetic_deviation)
        if d is not None
    }
    assert used <= known, f"not in the register: {sorted(used - known)}"


def test_strict_overlays_carry_a_discrepancy(spec: Spec) -> None:
    def check(node: Any) -> None:
        if isinstance(node, dict):
            if "x-strict" in node:
                assert "x-discrepancy" in node, node
            for value in node.values():
                check(value)
        elif isinstance(node, list):
            for item in node:
                check(item)

    check(spec.document)


def test_components_the_contract_names_exist(spec: Spec) -> None:
    schemas = spec.document["components"]["schemas"]
    for name in (
        "LedgerInfoResponse",
        "LedgerEntry",
        "EntryDetail",
        "LedgerDetails",
        "CustomerDetails",
        "EntryCustomerDetails",
        "TransactionDetails",
        "EventDetails",
        "LedgerBalanceResponse",
        "ClosingBalance",
        "CrossMemberLedgerResponse",
        "GroupDetails",
        "Member",
        "PageDetails",
        "CrossMemberEntry",
        "CrossMemberEntryDetail",
        "TransferCheckResponse",
        "TransferResponse",
        "TransferRecord",
        "TransferHistoryResponse",
        "ReverseRequest",
        "ReverseResponse",
        "ErrorEnvelope",
        "ErrorItem",
        "Warning",
        "DecimalString",
    ):
        assert name in schemas, name
    assert spec.document["components"]["securitySchemes"]["basicAuth"] == {
        "type": "http",
        "scheme": "basic",
    }
    assert spec.document["security"] == [{"basicAuth": []}]


# --- parameters -------------------------------------------------------------------------------


def _param(spec: Spec, operation_id: str, name: str, location: str = "query") -> dict[str, Any]:
    parameter = spec.operations[operation_id].parameter(name, location)
    assert parameter is not None, f"{operation_id} has no {location} parameter {name}"
    return parameter


def test_documented_bounds_and_defaults(spec: Spec) -> None:
    limit = _param(spec, "getCustomerLedgerInfo", "limit")["schema"]
    assert (limit["maximum"], limit["default"]) == (100, 10)
    balance_limit = _param(spec, "getCustomerLedgerBalance", "limit")["schema"]
    assert (balance_limit["maximum"], balance_limit["default"]) == (10, 10)
    page_size = _param(spec, "getCrossMemberLedger", "pageSize")["schema"]
    assert (page_size["minimum"], page_size["maximum"]) == (1, 100)
    page_number = _param(spec, "getCrossMemberLedger", "pageNumber")["schema"]
    assert (page_number["minimum"], page_number["default"]) == (1, 1)
    scope = _param(spec, "getCrossMemberLedger", "scope")["schema"]
    assert (scope["enum"], scope["default"]) == (["user", "group"], "user")
    sort = _param(spec, "getCrossMemberLedger", "sort")["schema"]
    assert set(sort["enum"]) == {"createdDate:desc", "createdDate:asc"}
    event = _param(spec, "getCrossMemberLedger", "eventName")
    assert (event["style"], event["explode"]) == ("form", False)
    assert set(event["schema"]["items"]["enum"]) == {
        "CROSS_MEMBER_REDEMPTION",
        "CROSS_MEMBER_REDEMPTION_REVERSAL",
    }
    assert _param(spec, "getCrossMemberLedger", "id", "path")["required"] is True


def test_enums_of_the_ledger_filters(spec: Spec) -> None:
    for operation_id in ("getCustomerLedgerInfo", "getCustomerLedgerInfoConnectedOrgs"):
        entry_type = _param(spec, operation_id, "ledgerEntryType")["schema"]
        assert set(entry_type["enum"]) == {"CREDIT", "DEBIT", "OPENING_BALANCE"}
        category = _param(spec, operation_id, "pointCategoryType")["schema"]
        assert set(category["enum"]) == {"REGULAR", "PROMISED", "TRIGGER_BASED"}
        source = _param(spec, operation_id, "source")
        assert source["required"] is True
        assert "enum" not in source["schema"]
        assert source["schema"]["x-discrepancy"] == "D-014"
    group_type = _param(spec, "getCustomerLedgerInfo", "type")["schema"]
    assert set(group_type["enum"]) == {"USERGROUP2", "FLEET"}
    names = _param(spec, "getCustomerLedgerInfo", "identifierName")["schema"]["enum"]
    assert {"id", "email", "mobile", "externalId", "cardnumber", "groupId"} <= set(names)


def test_data_scope_headers_on_connected_orgs(spec: Spec) -> None:
    scope = _param(spec, "getCustomerLedgerInfoConnectedOrgs", "DATA-SCOPE", "header")
    assert scope["required"] is True
    assert set(scope["schema"]["enum"]) == {"SELF", "OTHER"}
    assert _param(spec, "getCustomerLedgerInfoConnectedOrgs", "DATA-SCOPE-ORG", "header")
    assert spec.operations["getCustomerLedgerInfo"].parameter("DATA-SCOPE", "header") is None


def test_post_operations_have_request_bodies(spec: Spec) -> None:
    posts = [op for op in spec.operations.values() if op.method == "POST"]
    assert len(posts) == 5
    for operation in posts:
        assert operation.request_body_schema is not None
        assert "$ref" not in str(operation.request_body_schema)
    for operation in spec.operations.values():
        if operation.method == "GET":
            assert operation.request_body_schema is None


# --- operation_for ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/v2/pointsLedger/getCustomerLedgerInfo", "getCustomerLedgerInfo"),
        ("get", "/v2.1/pointsLedger/getCustomerLedgerInfo", "getCustomerLedgerInfoConnectedOrgs"),
        ("GET", "/v2/customers/1003/crossMemberLedger", "getCrossMemberLedger"),
        ("GET", "/v2/customers/1003/crossMemberLedger/", "getCrossMemberLedger"),
        ("GET", "/v2/pointsLedger/getCustomerLedgerBalance", "getCustomerLedgerBalance"),
        ("POST", "/v2/points/isTransferrable", "isTransferrable"),
        ("POST", "/v2/points/userGroup2/isTransferrable", "isTransferrableUserGroup"),
        ("POST", "/v2/points/transfer", "transferPoints"),
        ("GET", "/v2/points/transfer", "getPointsTransfers"),
        ("GET", "/v2/points/transfer?identifierName=id&identifierValue=2626", "getPointsTransfers"),
        ("POST", "/v2/points/userGroup2/transfer", "transferPointsUserGroup"),
        ("POST", "/v2/points/reverse", "reversePoints"),
        ("DELETE", "/v2/points/reverse", None),
        ("GET", "/v2/customers/1003/crossMemberLedger/extra", None),
        ("GET", "/v2/customers//crossMemberLedger", None),
        ("GET", "/v3/pointsLedger/getCustomerLedgerInfo", None),
    ],
)
def test_operation_for(spec: Spec, method: str, path: str, expected: str | None) -> None:
    operation = spec.operation_for(method, path)
    assert (operation.operation_id if operation else None) == expected


# --- validation -------------------------------------------------------------------------------


def test_number_for_points_fails_strict_and_passes_lenient(spec: Spec) -> None:
    body = _example("001-02")
    assert spec.validate_response("getCustomerLedgerInfo", 200, body, strict=True) == []
    body["ledgerEntries"][0]["entryDetails"][0]["points"] = 100.0
    errors = spec.validate_response("getCustomerLedgerInfo", 200, body, strict=True)
    assert [(e.json_path, e.keyword) for e in errors] == [
        ("$.ledgerEntries[0].entryDetails[0].points", "type")
    ]
    assert "points" in errors[0].schema_path
    assert spec.validate_response("getCustomerLedgerInfo", 200, body, strict=False) == []


def test_decimal_strings_must_be_decimals_in_both_modes(spec: Spec) -> None:
    body = _example("003-12")
    body["ledgerDetails"]["ledgerClosingBalance"][0]["closingBalance"] = "12,703"
    for strict in (True, False):
        errors = spec.validate_response("getCustomerLedgerBalance", 200, body, strict=strict)
        assert [e.json_path for e in errors] == [
            "$.ledgerDetails.ledgerClosingBalance[0].closingBalance"
        ]


def test_undocumented_entry_fields_fail_strict_only(spec: Spec) -> None:
    body = _example("001-01")
    body["ledgerEntries"][0]["orgID"] = 50406
    body["ledgerEntries"][1]["entryDetails"][0]["bonus"] = True
    errors = spec.validate_response("getCustomerLedgerInfo", 200, body, strict=True)
    assert sorted((e.json_path, e.keyword) for e in errors) == [
        ("$.ledgerEntries[0]", "unevaluatedProperties"),
        ("$.ledgerEntries[1].entryDetails[0]", "unevaluatedProperties"),
    ]
    assert "orgID" in errors[0].message
    assert spec.validate_response("getCustomerLedgerInfo", 200, body, strict=False) == []


def test_entry_customer_details_on_customer_and_group_ledgers(spec: Spec) -> None:
    body = _example("001-03")
    assert body["customerDetails"]["entityType"] == "CUSTOMER"
    for entry in body["ledgerEntries"]:
        entry["customerDetails"] = None
    assert spec.validate_response("getCustomerLedgerInfo", 200, body, strict=True) == []
    body["ledgerEntries"][1]["customerDetails"] = {"userId": 0}
    assert spec.validate_response("getCustomerLedgerInfo", 200, body, strict=False) == []
    errors = spec.validate_response("getCustomerLedgerInfo", 200, body, strict=True)
    assert [(e.json_path, e.keyword) for e in errors] == [
        ("$.ledgerEntries[1].customerDetails", "type")
    ]
    # On a group's ledger the member who triggered the event is an object.
    body["customerDetails"]["entityType"] = "USERGROUP2"
    body["ledgerEntries"][1]["customerDetails"] = {"userId": 7, "firstName": "Ann"}
    assert spec.validate_response("getCustomerLedgerInfo", 200, body, strict=True) == []
    body["ledgerEntries"][2]["customerDetails"] = "none"
    errors = spec.validate_response("getCustomerLedgerInfo", 200, body, strict=False)
    assert [e.json_path for e in errors] == ["$.ledgerEntries[2].customerDetails"]


def test_entry_customer_user_id_may_be_a_digit_string_when_lenient(spec: Spec) -> None:
    body = _example("001-01")
    body["ledgerEntries"][0]["customerDetails"] = {"userId": "381335652"}
    assert spec.validate_response("getCustomerLedgerInfo", 200, body, strict=False) == []
    errors = spec.validate_response("getCustomerLedgerInfo", 200, body, strict=True)
    assert [e.json_path for e in errors] == ["$.ledgerEntries[0].customerDetails.userId"]
    body["ledgerEntries"][0]["customerDetails"] = {"userId": "abc"}
    assert spec.validate_response("getCustomerLedgerInfo", 200, body, strict=False) != []


def test_timestamps_accept_iso_8601_when_lenient(spec: Spec) -> None:
    body = _example("001-02")
    body["ledgerEntries"][0]["ledgerCreatedDate"] = "2024-06-19T11:58:07Z"
    body["ledgerEntries"][0]["eventDetails"]["eventDate"] = "2024-06-19T11:57:37+05:30"
    assert spec.validate_response("getCustomerLedgerInfo", 200, body, strict=False) == []
    errors = spec.validate_response("getCustomerLedgerInfo", 200, body, strict=True)
    assert [e.json_path for e in errors] == [
        "$.ledgerEntries[0].eventDetails.eventDate",
        "$.ledgerEntries[0].ledgerCreatedDate",
    ]
    body["ledgerEntries"][0]["ledgerCreatedDate"] = "19/06/2024"
    errors = spec.validate_response("getCustomerLedgerInfo", 200, body, strict=False)
    assert [e.json_path for e in errors] == ["$.ledgerEntries[0].ledgerCreatedDate"]


def test_schema_applies_strict_overlays(spec: Spec) -> None:
    strict = spec.schema("LedgerEntry", strict=True)
    lenient = spec.schema("LedgerEntry", strict=False)
    assert strict["unevaluatedProperties"] is False
    assert "x-strict" not in strict
    assert "unevaluatedProperties" not in lenient
    assert "x-strict" not in lenient
    assert lenient["$ref"] == "#/components/schemas/LedgerEntryFields"
    decimal = spec.schema("DecimalString", strict=False)
    assert {"type": "number"} in decimal["anyOf"]
    strict_decimal = spec.schema("DecimalString", strict=True)
    assert strict_decimal["$ref"].endswith("/DecimalText")
    assert "anyOf" not in strict_decimal
    # The raw document is the default reading and keeps the strict overlay.
    assert "x-strict" in spec.document["components"]["schemas"]["DecimalString"]
    with pytest.raises(KeyError):
        spec.schema("NoSuchSchema", strict=True)


def test_schema_returns_a_copy(spec: Spec) -> None:
    spec.schema("ErrorItem", strict=True)["required"].append("tampered")
    assert spec.schema("ErrorItem", strict=True)["required"] == ["code", "message"]


def test_cross_member_ledger_wrapper_is_lenient_only(spec: Spec) -> None:
    body = _example("002-02")
    assert spec.validate_response("getCrossMemberLedger", 200, body, strict=True) == []
    wrapped = {"entity": body}
    assert spec.validate_response("getCrossMemberLedger", 200, wrapped, strict=False) == []
    errors = spec.validate_response("getCrossMemberLedger", 200, wrapped, strict=True)
    assert {e.keyword for e in errors} == {"required"}


def test_cross_member_status_only_on_redemption_rows(spec: Spec) -> None:
    body = _example("002-01")
    row = body["entries"][0]
    del row["status"]
    del row["entryDetails"][0]["reversedAmount"]
    errors = spec.validate_response("getCrossMemberLedger", 200, body, strict=False)
    assert sorted(e.json_path for e in errors) == ["$.entries[0]", "$.entries[0].entryDetails[0]"]

    reversal = copy.deepcopy(_example("002-01"))
    reversal_row = reversal["entries"][0]
    reversal_row["eventName"] = "CROSS_MEMBER_REDEMPTION_REVERSAL"
    errors = spec.validate_response("getCrossMemberLedger", 200, reversal, strict=False)
    paths = {e.json_path for e in errors}
    assert "$.entries[0].status" in paths
    assert "$.entries[0].entryDetails[2].reversedAmount" in paths
    reversal_row.pop("status")
    for detail in reversal_row["entryDetails"]:
        detail.pop("status")
        detail.pop("reversedAmount")
    assert spec.validate_response("getCrossMemberLedger", 200, reversal, strict=True) == []


def test_any_success_status_is_judged_by_the_documented_200(spec: Spec) -> None:
    # D-035: no page states a success status, so a 201 body is held to the 200 schema.
    assert spec.response_key("transferPoints", 201) == "200"
    assert spec.response_key("transferPoints", 200) == "200"
    assert spec.response_key("transferPoints", 302) is None
    wrong = {"data": "not a list", "warnings": [], "errors": []}
    assert spec.validate_response("transferPoints", 201, wrong, strict=True) != []


def test_error_statuses_use_the_envelope(spec: Spec) -> None:
    good = {"errors": [{"code": 8015, "message": "Identifier value missing"}], "warnings": []}
    for status in (400, 404, 429):
        assert spec.validate_response("getCustomerLedgerInfo", status, good, strict=True) == []
    assert spec.response_key("getCustomerLedgerInfo", 401) == "401"
    assert spec.response_key("getCustomerLedgerInfo", 403) == "4XX"
    assert spec.response_key("getCustomerLedgerInfo", 500) is None
    assert spec.response_key("getCrossMemberLedger", 500) == "500"
    # D-100: no page gives the body of a refusal; only the strict reading asks for the envelope.
    empty: dict[str, list[dict[str, Any]]] = {"errors": [], "data": []}
    assert spec.validate_response("reversePoints", 400, empty, strict=False) == []
    errors = spec.validate_response("reversePoints", 400, empty, strict=True)
    assert [(e.json_path, e.keyword) for e in errors] == [("$.errors", "minItems")]
    digits = {"errors": [{"code": "8015"}]}
    assert spec.validate_response("transferPoints", 400, digits, strict=False) == []
    errors = spec.validate_response("transferPoints", 400, digits, strict=True)
    assert sorted((e.json_path, e.keyword) for e in errors) == [
        ("$.errors[0]", "required"),
        ("$.errors[0].code", "type"),
    ]
    assert spec.validate_response("transferPoints", 400, "refused", strict=False) == []
    wrong = {"errors": [{"code": "not a code", "message": 7}]}
    errors = spec.validate_response("transferPoints", 400, wrong, strict=False)
    assert sorted(e.json_path for e in errors) == ["$.errors[0].code", "$.errors[0].message"]
    # No schema covers a 5xx of an operation that documents none: nothing to report.
    assert spec.validate_response("transferPoints", 503, "oops", strict=True) == []


def test_unauthorized_body_is_the_401_envelope_when_strict(spec: Spec) -> None:
    unauthorized = {"errors": [{"code": 401, "message": "Unauthorized"}]}
    other_code = {"errors": [{"code": 8015, "message": "Identifier value missing"}]}
    for operation_id in spec.operations:
        assert spec.validate_response(operation_id, 401, unauthorized, strict=True) == []
        errors = spec.validate_response(operation_id, 401, other_code, strict=True)
        assert [(e.json_path, e.keyword) for e in errors] == [("$.errors", "contains")]
        assert spec.validate_response(operation_id, 401, "Unauthorized", strict=False) == []


def test_unknown_operation_is_a_key_error(spec: Spec) -> None:
    with pytest.raises(KeyError):
        spec.validate_response("nope", 200, {}, strict=True)
    with pytest.raises(KeyError):
        spec.validate_request_body("nope", {}, strict=True)


def test_request_bodies_are_validated(spec: Spec) -> None:
    request = _example("003-07")
    assert spec.validate_request_body("transferPoints", request, strict=True) == []
    del request["code"]
    errors = spec.validate_request_body("transferPoints", request, strict=True)
    assert [(e.json_path, e.keyword) for e in errors] == [("$", "required")]
    group = _example("003-09")
    group["toEntity"].pop("source")
    errors = spec.validate_request_body("transferPointsUserGroup", group, strict=True)
    assert [(e.json_path, e.keyword) for e in errors] == [("$.toEntity", "required")]
    assert spec.validate_request_body("getPointsTransfers", {"any": 1}, strict=True) == []


def test_fast_path_agrees_with_the_full_validator(spec: Spec) -> None:
    slow = Spec(spec.document, fast=False)
    bodies: list[tuple[str, int, Any]] = []
    for entry in load_index():
        if entry.kind != "response":
            continue
        body = entry.load()
        bodies.append((entry.operation_id, 200, body))
        broken = copy.deepcopy(body)
        if isinstance(broken, dict) and broken:
            broken[next(iter(broken))] = 7
        bodies.append((entry.operation_id, 200, broken))
    bodies.append(("reversePoints", 400, {"errors": [{"code": 902, "message": "x"}]}))
    bodies.append(("reversePoints", 400, {"errors": [{"code": 902}]}))
    for operation_id, status, body in bodies:
        for strict in (True, False):
            assert spec.validate_response(
                operation_id, status, body, strict=strict
            ) == slow.validate_response(operation_id, status, body, strict=strict)


def test_every_schema_compiles_for_the_fast_path(spec: Spec) -> None:
    assert spec.fast, "the shared spec compiles the jsonschema_rs pre-check"
    for operation in spec.operations.values():
        keys = [*operation.response_statuses]
        if operation.request_body_schema is not None:
            keys.append("request")
        for key in keys:
            for strict in (True, False):
                compiled = spec._validator(operation.operation_id, key, strict)
                assert compiled is not None and compiled.fast is not None, (
                    operation.operation_id,
                    key,
                    strict,
                )


def test_bodies_parsed_with_decimals_validate_like_floats(spec: Spec) -> None:
    body = json.loads(json.dumps(_example("003-12")), parse_float=Decimal)
    body["ledgerDetails"]["pageNumber"] = Decimal("0.0")
    assert spec.validate_response("getCustomerLedgerBalance", 200, body, strict=True) == []
    body["ledgerDetails"]["pageSize"] = Decimal("2.5")
    errors = spec.validate_response("getCustomerLedgerBalance", 200, body, strict=True)
    assert [(e.json_path, e.keyword) for e in errors] == [("$.ledgerDetails.pageSize", "type")]


# --- loading ----------------------------------------------------------------------------------


def test_load_spec_is_cached_per_path(tmp_path: Path) -> None:
    assert load_spec() is load_spec()
    assert load_spec(specs_dir() / SPEC_FILE) is load_spec()
    copy_path = tmp_path / SPEC_FILE
    copy_path.write_text((specs_dir() / SPEC_FILE).read_text(encoding="utf-8"), encoding="utf-8")
    other = load_spec(str(copy_path))
    assert other is not load_spec()
    assert other is load_spec(copy_path)


def test_unparsable_file_raises_a_one_line_spec_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.1.0\npaths:\n  /a: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(broken)
    message = str(info.value)
    assert "\n" not in message
    assert "broken.yaml" in message
    assert "does not parse" in message
    # Raised from nothing: the parser's own traceback is not chained onto it.
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ is True


def test_missing_or_non_openapi_file_raises_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot be read"):
        load_spec(tmp_path / "absent.yaml")
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n", encoding="utf-8")
    with pytest.raises(SpecError, match="not an OpenAPI document"):
        load_spec(scalar)


def test_specs_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SPECS_DIR_ENV, str(tmp_path))
    assert specs_dir() == tmp_path
    monkeypatch.delenv(SPECS_DIR_ENV)
    assert specs_dir() == REPO / "specs"


def test_the_operations_table_is_the_openapi_descriptions() -> None:
    described = {op.operation_id: (op.method, op.path) for op in load_spec().operations.values()}
    assert described == {op.id: (op.method, op.path) for op in TABLE}
