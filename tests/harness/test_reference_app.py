"""The reference server's HTTP layer as a whole: every documented error code, credentials,
routing, robustness against malformed input, the Behaviour and Hooks seams, and the responses
against the OpenAPI description."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from points_conformance.operations import BY_ID, OPERATIONS, TABLE
from points_conformance.reference.app import create_app
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.store import Store
from points_conformance.reference.testing import TestClient, app_client, build_template, fresh_store
from points_conformance.spec import load_spec

LEDGER = "/v2/pointsLedger/getCustomerLedgerInfo"
LEDGER_21 = "/v2.1/pointsLedger/getCustomerLedgerInfo"
BALANCE = "/v2/pointsLedger/getCustomerLedgerBalance"
CML = "/v2/customers/{}/crossMemberLedger"
CHECK = "/v2/points/isTransferrable"
GROUP_CHECK = "/v2/points/userGroup2/isTransferrable"
TRANSFER = "/v2/points/transfer"
GROUP_TRANSFER = "/v2/points/userGroup2/transfer"
REVERSE = "/v2/points/reverse"

RICH = {"identifierName": "mobile", "identifierValue": "919000005001", "source": "INSTORE"}
SELF = {"DATA-SCOPE": "SELF"}
LOG = "points_conformance.reference"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("app-template"))


@pytest.fixture(scope="module")
def shared_store(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = fresh_store(template, tmp_path_factory.mktemp("app") / "points.db")
    yield s
    s.close()


@pytest.fixture(scope="module")
def client(shared_store: Store) -> TestClient:
    return app_client(shared_store)


def _xfer(**over: Any) -> dict[str, Any]:
    body = {
        "pointsTobeTransferred": 10,
        "fromCustomerIdentifier": {"type": "ID", "value": "5007"},
        "toCustomerIdentifier": {"type": "ID", "value": "5008"},
        "code": "NOPE00",
    }
    return {**body, **over}


def _group(**over: Any) -> dict[str, Any]:
    body = {
        "pointsTobeTransferred": 1,
        "transferredBy": {
            "identifierType": "mobile",
            "identifierValue": "919000005101",
            "source": "INSTORE",
        },
        "fromEntity": {"type": "USERGROUP2", "identifierType": "id", "identifierValue": "7001"},
        "toEntity": {
            "type": "CUSTOMER",
            "identifierType": "mobile",
            "identifierValue": "919000005008",
            "source": "INSTORE",
        },
    }
    return {**body, **over}


def _rev(**over: Any) -> dict[str, Any]:
    return {
        "redemptionId": "none",
        "identifier": {"type": "mobile", "value": "919740000000"},
        **over,
    }


# (operation, method, path, query, headers, body) -> documented code, all with HTTP 400
ERRORS: list[tuple[str, int, str, str, dict[str, Any], dict[str, str], Any]] = [
    # getCustomerLedgerInfo (001)
    ("getCustomerLedgerInfo", 8013, "GET", LEDGER, {**RICH, "identifierName": "phone"}, {}, None),
    ("getCustomerLedgerInfo", 8015, "GET", LEDGER, {**RICH, "identifierValue": "910000000000"}, {}, None),
    ("getCustomerLedgerInfo", 8003, "GET", LEDGER, {**RICH, "source": "PIGEON"}, {}, None),
    ("getCustomerLedgerInfo", 11012, "GET", LEDGER, {**RICH, "identifierName": "id", "identifierValue": "x1"}, {}, None),
    ("getCustomerLedgerInfo", 11029, "GET", LEDGER, {**RICH, "limit": "101"}, {}, None),
    ("getCustomerLedgerInfo", 11003, "GET", LEDGER, {**RICH, "offset": "1000"}, {}, None),
    ("getCustomerLedgerInfo", 11007, "GET", LEDGER, {**RICH, "ledgerEntryType": "REFUND"}, {}, None),
    ("getCustomerLedgerInfo", 11008, "GET", LEDGER, {**RICH, "pointCategoryType": "BONUS"}, {}, None),
    ("getCustomerLedgerInfo", 9003, "GET", LEDGER, {**RICH, "identifierValue": "919000005003", "pointCategoryType": "PROMISED"}, {}, None),
    ("getCustomerLedgerInfo", 11028, "GET", LEDGER, {**RICH, "tillId": "11", "storeCode": "store1"}, {}, None),
    ("getCustomerLedgerInfo", 11027, "GET", LEDGER, {**RICH, "tillIds": "11,999999"}, {}, None),
    ("getCustomerLedgerInfo", 11025, "GET", LEDGER, {**RICH, "tillId": "abc"}, {}, None),
    ("getCustomerLedgerInfo", 11026, "GET", LEDGER, {**RICH, "storeId": "7"}, {}, None),
    ("getCustomerLedgerInfo", 11026, "GET", LEDGER, {**RICH, "storeCode": "no-such-store"}, {}, None),
    ("getCustomerLedgerInfo", 400, "GET", LEDGER, {**RICH, "limit": "-1"}, {}, None),
    ("getCustomerLedgerInfo", 400, "GET", LEDGER, {**RICH, "startDate": "2024-01-01T00:00:00", "endDate": "2024-06-01T00:00:00"}, {}, None),
    # getCustomerLedgerInfoConnectedOrgs (000)
    ("getCustomerLedgerInfoConnectedOrgs", 310144, "GET", LEDGER_21, RICH, {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "50407"}, None),
    ("getCustomerLedgerInfoConnectedOrgs", 8013, "GET", LEDGER_21, {**RICH, "identifierName": ""}, SELF, None),
    ("getCustomerLedgerInfoConnectedOrgs", 8015, "GET", LEDGER_21, {**RICH, "identifierValue": ""}, SELF, None),
    ("getCustomerLedgerInfoConnectedOrgs", 8003, "GET", LEDGER_21, {k: v for k, v in RICH.items() if k != "source"}, SELF, None),
    # getCrossMemberLedger (002)
    ("getCrossMemberLedger", 1001, "GET", CML.format(1003), {"startDate": "soon"}, {}, None),
    ("getCrossMemberLedger", 1002, "GET", CML.format(1003), {"startDate": "2026-02-01", "endDate": "2026-01-01"}, {}, None),
    ("getCrossMemberLedger", 1003, "GET", CML.format(1003), {"pageSize": "0"}, {}, None),
    ("getCrossMemberLedger", 1004, "GET", CML.format(1003), {"scope": "all"}, {}, None),
    ("getCrossMemberLedger", 3301, "GET", CML.format(3301), {}, {}, None),
    ("getCrossMemberLedger", 3401, "GET", CML.format(3401), {}, {}, None),
    # getCustomerLedgerBalance (003)
    ("getCustomerLedgerBalance", 11029, "GET", BALANCE, {**RICH, "limit": "11"}, {}, None),
    ("getCustomerLedgerBalance", 11007, "GET", BALANCE, {**RICH, "ledgerEntryType": "X"}, {}, None),
    ("getCustomerLedgerBalance", 11008, "GET", BALANCE, {**RICH, "pointCategoryType": "X"}, {}, None),
    ("getCustomerLedgerBalance", 11025, "GET", BALANCE, {**RICH, "tillId": "x"}, {}, None),
    ("getCustomerLedgerBalance", 11027, "GET", BALANCE, {**RICH, "tillId": "999999"}, {}, None),
    ("getCustomerLedgerBalance", 8015, "GET", BALANCE, {**RICH, "identifierValue": "nobody"}, {}, None),
    # isTransferrable, transferPoints (003)
    ("isTransferrable", 801, "POST", CHECK, {}, {}, _xfer(pointsTobeTransferred=-1)),
    ("isTransferrable", 802, "POST", CHECK, {}, {}, _xfer(fromCustomerIdentifier={"type": "EMAIL", "value": "x"})),
    ("isTransferrable", 804, "POST", CHECK, {}, {}, _xfer(pointsTobeTransferred=10**9)),
    ("isTransferrable", 816, "POST", CHECK, {}, {}, _xfer(toCustomerIdentifier={"type": "ID", "value": "777"})),
    ("isTransferrable", 418, "POST", CHECK, {}, {}, _xfer(toCustomerIdentifier={"type": "ID", "value": "5007"})),
    ("isTransferrable", 415, "POST", CHECK, {}, {}, _xfer(fromCustomerIdentifier={"type": "ID", "value": "415"})),
    ("isTransferrable", 414, "POST", CHECK, {}, {}, _xfer(toCustomerIdentifier={"type": "ID", "value": "414"})),
    ("isTransferrable", 881, "POST", CHECK, {}, {}, _xfer(fromCustomerIdentifier={"type": "ID", "value": "881"})),
    ("isTransferrable", 419, "POST", CHECK, {}, {}, _xfer(toCustomerIdentifier={"type": "ID", "value": "419"})),
    ("transferPoints", 808, "POST", TRANSFER, {}, {}, _xfer()),
    ("transferPoints", 801, "POST", TRANSFER, {}, {}, _xfer(pointsTobeTransferred="ten")),
    ("transferPoints", 804, "POST", TRANSFER, {}, {}, _xfer(pointsTobeTransferred=10**9, code="{otp}")),
    ("transferPoints", 418, "POST", TRANSFER, {}, {}, _xfer(toCustomerIdentifier={"type": "ID", "value": "5007"})),
    # the user-group forms (003)
    ("isTransferrableUserGroup", 801, "POST", GROUP_CHECK, {}, {}, _group(pointsTobeTransferred=0)),
    ("isTransferrableUserGroup", 804, "POST", GROUP_CHECK, {}, {}, _group(pointsTobeTransferred=10**9)),
    ("transferPointsUserGroup", 816, "POST", GROUP_TRANSFER, {}, {}, _group(toEntity={"type": "USERGROUP2", "identifierType": "id", "identifierValue": "1"})),
    ("transferPointsUserGroup", 418, "POST", GROUP_TRANSFER, {}, {}, _group(toEntity={"type": "USERGROUP2", "identifierType": "id", "identifierValue": "7001"})),
    # getPointsTransfers (003)
    ("getPointsTransfers", 802, "GET", TRANSFER, {"identifierName": "mobile"}, {}, None),
    ("getPointsTransfers", 816, "GET", TRANSFER, {"identifierName": "mobile", "identifierValue": "910000000001", "source": "INSTORE"}, {}, None),
    ("getPointsTransfers", 802, "GET", TRANSFER, {"identifierName": "mobile", "identifierValue": "not-a-number", "source": "INSTORE"}, {}, None),
    ("getPointsTransfers", 419, "GET", TRANSFER, {"identifierName": "id", "identifierValue": "419", "source": "INSTORE"}, {}, None),
    ("getPointsTransfers", 400, "GET", TRANSFER, {"identifierName": "mobile", "identifierValue": "919000005007"}, {}, None),
    # reversePoints (003)
    ("reversePoints", 902, "POST", REVERSE, {}, {}, _rev()),
    ("reversePoints", 901, "POST", REVERSE, {}, {}, _rev(redemptionId=None)),
    ("reversePoints", 400, "POST", REVERSE, {}, {}, [1, 2]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "code", "method", "path", "query", "headers", "body"),
    ERRORS,
    ids=[f"{row[0]}-{row[1]}-{i}" for i, row in enumerate(ERRORS)],
)
def test_documented_error_codes(
    client: TestClient,
    operation: str,
    code: int,
    method: str,
    path: str,
    query: dict[str, Any],
    headers: dict[str, str],
    body: Any,
) -> None:
    if isinstance(body, dict) and body.get("code") == "{otp}":
        check = client.post(CHECK, json={**body, "pointsTobeTransferred": 1, "issueOtp": True})
        body = {**body, "code": check.headers["X-Sandbox-OTP"]}
    r = client.request(method, path, params=query, headers=headers, json=body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/json")
    payload = r.json()
    assert payload["errors"][0]["code"] == code
    assert isinstance(payload["errors"][0]["message"], str) and payload["errors"][0]["message"]
    assert payload["warnings"] == []
    assert ("data" in payload) == (operation in {
        "isTransferrable", "isTransferrableUserGroup", "transferPoints",
        "transferPointsUserGroup", "getPointsTransfers", "reversePoints",
    })  # fmt: skip


def test_every_operation_has_an_error_row() -> None:
    assert {row[0] for row in ERRORS} == set(OPERATIONS)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize(
    "auth", [None, ("conformance", "wrong"), ("someone", "conformance-secret")]
)
def test_credentials_required_everywhere(
    client: TestClient, operation: str, auth: tuple[str, str] | None
) -> None:
    method, path = BY_ID[operation].method, BY_ID[operation].path
    r = client.request(method, path.format(id=1003), params=RICH, json={}, auth=auth)
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == 401
    assert "X-Sandbox-OTP" not in r.headers


def test_malformed_authorization_headers(client: TestClient) -> None:
    for value in (
        "Basic",
        "Basic !!!",
        "Bearer x",
        "Basic " + "x" * 5000,
        "Basic Y29uZm9ybWFuY2U=",
    ):
        r = client.get(LEDGER, params=RICH, headers={"Authorization": value}, auth=None)
        assert r.status_code == 401, value


def test_unknown_paths_and_methods(client: TestClient) -> None:
    r = client.get("/v2/points/nothing")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == 404
    r = client.delete(TRANSFER)
    assert r.status_code == 405 and r.json()["errors"][0]["code"] == 405
    assert client.get("/v2//pointsLedger/getCustomerLedgerInfo", params=RICH).status_code == 200


def test_repeated_parameters_read_the_first(client: TestClient) -> None:
    r = client.get(
        LEDGER
        + "?identifierName=mobile&identifierValue=919000005001&source=INSTORE&limit=3&limit=500"
    )
    assert r.status_code == 200
    assert r.json()["ledgerDetails"]["pageSize"] == 3


# -- robustness -------------------------------------------------------------------------------------

NASTY = [
    "", " ", "0", "-0", "-1", "1.5", "1e3", "99999999999999999999", "-99999999999999999999",
    "9223372036854775808", "NaN", "Infinity", "null", "true", "[]", "{}", "٣", "１２",
    "ünïcødé", "😀", "a" * 5000, "%00", "\x00", "' OR 1=1 --", "1,2,,3", ",", "2024-02-30T00:00:00",
]  # fmt: skip
QUERY_NAMES = [
    "identifierName", "identifierValue", "source", "accountId", "limit", "offset", "tillId", "tillIds",
    "storeId", "storeCode", "programId", "startDate", "endDate", "sort", "sortOrder", "type", "role",
    "ledgerEntryType", "pointCategoryType", "includeAlternateCurrencies", "alternateCurrencyNames",
    "excludePointCategories", "includeTillConceptEvents", "isFilterBasedOnDate", "includeLastOneYearData",
    "scope", "eventName", "transactionRef", "pageNumber", "pageSize", "userEntityType",
]  # fmt: skip
LEDGER_PARAMS = tuple(
    n
    for n in QUERY_NAMES
    if n not in ("scope", "eventName", "transactionRef", "pageNumber", "pageSize", "userEntityType")
)
# The query parameters each GET operation reads; POST operations are swept with two.
OPERATION_PARAMS: dict[str, tuple[str, ...]] = {
    "getCustomerLedgerInfo": LEDGER_PARAMS,
    "getCustomerLedgerInfoConnectedOrgs": LEDGER_PARAMS,
    "getCrossMemberLedger": ("scope", "eventName", "transactionRef", "startDate", "endDate", "pageNumber", "pageSize", "sort"),
    "getCustomerLedgerBalance": ("identifierName", "identifierValue", "source", "accountId", "tillId", "limit", "offset", "endDate", "includeTillConceptEvents", "ledgerEntryType", "pointCategoryType", "programId"),
    "getPointsTransfers": ("identifierName", "identifierValue", "source", "accountId", "programId", "userEntityType"),
}  # fmt: skip
BODIES: list[bytes] = [
    b"", b"{", b"null", b"[]", b"123", b'"text"', b"\xff\xfe", b'{"pointsTobeTransferred": NaN}',
    b'{"pointsTobeTransferred": Infinity}', b'{"pointsTobeTransferred": 1e400}',
    b"[" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
    json.dumps(_xfer(pointsTobeTransferred=99999999999999999999)).encode(),
    json.dumps(_xfer(fromCustomerIdentifier={"type": "ID", "value": "99999999999999999999"})).encode(),
    json.dumps(_xfer(fromCustomerIdentifier={"type": "ID", "value": 99999999999999999999})).encode(),
    json.dumps(_xfer(programId=99999999999999999999)).encode(),
    json.dumps(_xfer(programId="abc")).encode(),
    json.dumps(_group(fromEntity={"type": "USERGROUP2", "identifierType": "id", "identifierValue": "99999999999999999999"})).encode(),
    json.dumps(_group(toEntity=[])).encode(),
    json.dumps(_rev(redemptionId=99999999999999999999, pointsToBeReversed=1e308)).encode(),
    json.dumps(_rev(redemptionId={"x": 1})).encode(),
    json.dumps({"issueOtp": "yes", **_xfer(code=12345)}).encode(),
]  # fmt: skip


def _assert_handled(r: Any) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    if r.status_code >= 400:
        assert isinstance(body["errors"][0]["code"], int)


def _sweep(store: Store, requests: list[tuple[str, str, dict[str, str]]]) -> list[httpx.Response]:
    """Send many requests to an in-process app concurrently (far cheaper than one by one)."""
    app = create_app(store)

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        auth = ("conformance", "conformance-secret")
        async with httpx.AsyncClient(transport=transport, base_url="http://ref", auth=auth) as c:
            out: list[httpx.Response] = []
            for start in range(0, len(requests), 64):
                batch = requests[start : start + 64]
                out += await asyncio.gather(
                    *(c.request(m, url, params=params, headers=SELF) for m, url, params in batch)
                )
            return out

    return asyncio.run(run())


def test_nasty_query_values_never_crash(
    shared_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=LOG)
    requests = []
    for operation, method, path in ((op.id, op.method, op.path) for op in TABLE):
        for name in OPERATION_PARAMS.get(operation, ("identifierValue", "unknown")):
            for value in NASTY:
                url = path.format(id=quote(value, safe="") or "x") if "{id}" in path else path
                requests.append((method, url, {**RICH, name: value}))
    responses = _sweep(shared_store, requests)
    assert len(responses) == len(requests) > 2000
    for r in responses:
        _assert_handled(r)
    assert not [r for r in caplog.records if r.name == LOG], "an input reached the crash handler"


def test_nasty_bodies_never_crash(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger=LOG)
    for operation, method, path in ((op.id, op.method, op.path) for op in TABLE):
        if method != "POST":
            continue
        for raw in BODIES:
            r = client.post(path, content=raw, headers={"content-type": "application/json"})
            _assert_handled(r)
            assert r.status_code in (200, 400), (operation, raw[:60], r.text[:200])
    assert not [r for r in caplog.records if r.name == LOG]


def test_nasty_headers_and_paths(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger=LOG)
    for value in NASTY:
        raw = value.replace("\x00", "").encode("utf-8")
        for headers in (
            {"DATA-SCOPE": b"OTHER", "DATA-SCOPE-ORG": raw},
            {"DATA-SCOPE": raw},
            {"Authorization": b"Basic " + raw},
        ):
            _assert_handled(client.get(LEDGER_21, params=RICH, headers=headers))
        r = client.get(f"/v2/customers/{quote(value, safe='')}/crossMemberLedger")
        assert r.status_code in (400, 404)
    assert not [r for r in caplog.records if r.name == LOG]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    operation=st.sampled_from(sorted(OPERATIONS)),
    params=st.dictionaries(
        st.sampled_from(QUERY_NAMES) | st.text(max_size=8),
        st.sampled_from(NASTY) | st.text(max_size=20) | st.integers().map(str),
        max_size=8,
    ),
    body=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=5)
        ),
        max_leaves=12,
    ),
)
def test_generated_requests_never_crash(
    client: TestClient, operation: str, params: dict[str, str], body: Any
) -> None:
    method, path = BY_ID[operation].method, BY_ID[operation].path
    # The path segment is percent-encoded as any client would; raw control characters never reach a server.
    segment = quote(params.get("pageNumber", "1003"), safe="")
    url = path.format(id=segment) if "{id}" in path else path
    r = client.request(
        method,
        url,
        params={**RICH, **params},
        headers=SELF,
        json=body if method == "POST" else None,
    )
    _assert_handled(r)


# -- the Behaviour and Hooks seams -----------------------------------------------------------------


def test_behaviour_fields_drive_the_routes(shared_store: Store) -> None:
    rules = Behaviour(ledger_max_limit=5, err_limit=4242, error_status=422, cml_default_page_size=3,
                      otp_header="X-Test-OTP")  # fmt: skip
    c = app_client(shared_store, behaviour=rules)
    r = c.get(LEDGER, params={**RICH, "limit": 6})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == 4242
    assert c.get(LEDGER, params={**RICH, "limit": 5}).json()["ledgerDetails"]["pageSize"] == 5
    assert c.get(CML.format(1003)).json()["pageDetails"]["pageSize"] == 3
    check = c.post(CHECK, json={**_xfer(), "issueOtp": True})
    assert "X-Test-OTP" in check.headers and "X-Sandbox-OTP" not in check.headers
    mapped = Behaviour(category_map={"REGULAR": "DelayedAccrualPointCategory", "PROMISED": "Main",
                                     "TRIGGER_BASED": "ExternalTriggerBasedPointCategory"})  # fmt: skip
    rows = (
        app_client(shared_store, behaviour=mapped)
        .get(LEDGER, params={**RICH, "pointCategoryType": "REGULAR", "limit": 50})
        .json()["ledgerEntries"]
    )
    assert {r["pointsCategory"] for e in rows for r in e["entryDetails"]} == {
        "DelayedAccrualPointCategory"
    }


@pytest.mark.parametrize("media_type", [None, "application/problem+json"])
def test_error_media_type_labels_refusals_only(shared_store: Store, media_type: str | None) -> None:
    # No page states a response media type (D-096): refusals may carry another JSON type, or none.
    c = app_client(shared_store, behaviour=Behaviour(error_media_type=media_type))
    refused = [c.get(LEDGER, params={**RICH, "limit": 101}), c.get("/v2/no/such/path")]
    for r in refused:
        assert r.status_code >= 400 and r.json()["errors"]
        assert r.headers.get("content-type") == media_type
    assert c.get(LEDGER, params=RICH).headers["content-type"] == "application/json"


def test_hooks_see_every_operation(shared_store: Store) -> None:
    seen_params: list[str] = []
    seen_responses: list[tuple[str, int]] = []

    def params_hook(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        seen_params.append(operation)
        return params

    def response_hook(operation: str, request: Any, status: int, body: Any) -> tuple[int, Any]:
        seen_responses.append((operation, status))
        return status, body

    c = app_client(shared_store, hooks=Hooks(params_hook=params_hook, response_hook=response_hook))
    for method, path in ((op.method, op.path) for op in TABLE):
        c.request(method, path.format(id=1003), params=RICH, json={}, headers=SELF)
        c.request(method, path.format(id=1003), params=RICH, json={}, auth=("x", "y"))
    assert sorted(seen_params) == sorted(list(OPERATIONS) * 2)
    assert sorted(op for op, _ in seen_responses) == sorted(list(OPERATIONS) * 2)
    assert sum(1 for _, status in seen_responses if status == 401) == len(OPERATIONS)


def test_hooks_can_change_input_and_output(shared_store: Store) -> None:
    def drop_limit(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "query": [(k, v) for k, v in params["query"] if k != "limit"]}

    def shrink(operation: str, request: Any, status: int, body: Any) -> tuple[int, Any]:
        if operation == "getCustomerLedgerInfo" and status == 200:
            body = {**body, "ledgerEntries": body["ledgerEntries"][:1]}
        return status, body

    hooks = Hooks().then(params_hook=drop_limit).then(response_hook=shrink)
    body = app_client(shared_store, hooks=hooks).get(LEDGER, params={**RICH, "limit": 50}).json()
    assert body["ledgerDetails"]["pageSize"] == 10  # the hook removed the limit
    assert len(body["ledgerEntries"]) == 1


def test_an_exception_becomes_a_logged_500_envelope(
    shared_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("injected")

    caplog.set_level(logging.ERROR, logger=LOG)
    r = app_client(shared_store, hooks=Hooks(params_hook=boom)).post(REVERSE, json=_rev())
    assert r.status_code == 500
    assert r.json() == {
        "errors": [{"code": 500, "message": "Internal server error"}],
        "warnings": [],
        "data": [],
    }
    assert "Traceback" not in r.text
    assert any("injected" in (rec.exc_text or str(rec.exc_info)) for rec in caplog.records)


# -- the OpenAPI description ------------------------------------------------------------------------


def _spec() -> Any:
    return load_spec()


def _successes(c: TestClient, store: Store) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []

    def call(operation: str, r: Any) -> None:
        assert r.status_code == 200, (operation, r.text)
        out.append((operation, r))

    for params in (
        RICH,
        {
            **RICH,
            "identifierValue": "919000005006",
            "includeAlternateCurrencies": "true",
            "limit": 100,
        },
        {
            "type": "FLEET",
            "identifierName": "groupId",
            "identifierValue": "7002",
            "source": "INSTORE",
            "limit": 100,
        },
        {
            "type": "USERGROUP2",
            "identifierName": "externalId",
            "identifierValue": "UG2-7001",
            "source": "INSTORE",
        },
        {**RICH, "limit": 100, "offset": 1, "sort": "ASC"},
    ):
        call("getCustomerLedgerInfo", c.get(LEDGER, params=params))
    call("getCustomerLedgerInfoConnectedOrgs", c.get(LEDGER_21, params=RICH, headers=SELF))
    call(
        "getCustomerLedgerInfoConnectedOrgs",
        c.get(LEDGER_21, params={**RICH, "identifierValue": "917406401004"},
              headers={"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "50405"}),
    )  # fmt: skip
    for params in ({"scope": "group", "pageSize": 100, "startDate": "2000-01-01T00:00:00Z"}, {}):
        call("getCrossMemberLedger", c.get(CML.format(1003), params=params))
    call("getCustomerLedgerBalance", c.get(BALANCE, params=RICH))
    check = c.post(CHECK, json={**_xfer(), "issueOtp": True})
    call("isTransferrable", check)
    call("transferPoints", c.post(TRANSFER, json=_xfer(code=check.headers["X-Sandbox-OTP"])))
    call("isTransferrableUserGroup", c.post(GROUP_CHECK, json=_group()))
    call("transferPointsUserGroup", c.post(GROUP_TRANSFER, json=_group()))
    call(
        "getPointsTransfers",
        c.get(
            TRANSFER,
            params={
                "identifierName": "mobile",
                "identifierValue": "919000005007",
                "source": "INSTORE",
            },
        ),
    )
    call(
        "getPointsTransfers",
        c.get(
            TRANSFER,
            params={
                "identifierName": "id",
                "identifierValue": "7001",
                "userEntityType": "USERGROUP2",
            },
        ),
    )
    rid = store.seed_info()["redemptions"]["reversible_ids"][-1]
    call("reversePoints", c.post(REVERSE, json=_rev(redemptionId=rid, pointsToBeReversed=1)))
    return out


@pytest.mark.parametrize("strict", [True, False])
def test_responses_validate_against_the_spec(template: Path, tmp_path: Path, strict: bool) -> None:
    spec = _spec()
    store = fresh_store(template, tmp_path / "spec.db")
    c = app_client(store)
    responses = _successes(c, store)
    assert {op for op, _ in responses} == set(OPERATIONS)
    for row in ERRORS:
        operation, _, method, path, query, headers, body = row
        responses.append(
            (operation, c.request(method, path, params=query, headers=headers, json=body))
        )
    for operation, method, path in ((op.id, op.method, op.path) for op in TABLE):
        responses.append((operation, c.request(method, path.format(id=1), auth=None)))
    problems = []
    for operation, r in responses:
        errors = spec.validate_response(operation, r.status_code, r.json(), strict=strict)
        problems += [f"{operation} {r.status_code}: {e}" for e in errors]
    store.close()
    assert problems == []
