"""run_checks and the multi-exchange functions never raise, whatever a server answers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from points_conformance.checks import (
    BalanceReading,
    CheckContext,
    check_closing_balances,
    check_reversal_ledger,
    check_scope_group,
    check_store_filter,
    check_transfer_history,
    check_transfer_ledger,
    compare_transfer,
    expect_auth_rejected,
    expect_currency_rows,
    expect_error,
    run_checks,
    walk_pages,
)
from points_conformance.model import Exchange, ResponseInfo
from points_conformance.operations import OPERATIONS

from .test_checks_support import LENIENT, STRICT, NoSchemaErrors, make_exchange

GARBAGE_TEXTS = [
    "",
    "not json",
    "<html><body>502 Bad Gateway</body></html>",
    "null",
    "[]",
    "[1, 2, 3]",
    '"a string"',
    "42",
    "true",
    "{}",
    '{"ledgerDetails": null, "ledgerEntries": null, "pageDetails": "x", "entries": {}}',
    '{"ledgerDetails": {"pageNumber": "0", "pageSize": true, "totalEntries": -5, "pageCount": 1e400}, "ledgerEntries": [null, 1, "x", {"entryDetails": "x"}]}',
    '{"ledgerEntries": [{"entryDetails": [{"ledgerEntryType": "CREDIT", "points": "1e999999999"}], "netPointsOnEvent": "NaN", "netAlternateCurrenciesOnEvent": []}]}',
    '{"ledgerEntries": [{"entryDetails": [{"ledgerEntryType": "DEBIT", "points": {"a": 1}, "alternateCurrencyName": 5}], "netPointsOnEvent": [], "netAlternateCurrenciesOnEvent": {"5": "x"}, "ledgerCreatedDate": "9999-12-31 23:59:59.0"}]}',
    '{"entries": [{"eventLogId": true, "createdDateISO": "0001-01-01T00:00:00+14:00", "createdDate": 5, "entryDetails": [{"points": "-1", "reversedAmount": "x", "status": 3}], "status": null, "userRole": 7}], "groupDetails": {"members": "x", "groupBalance": "1", "memberCount": "2"}}',
    '{"entity": {"entries": [{"eventName": "CROSS_MEMBER_REDEMPTION", "entryDetails": [null]}]}}',
    '{"data": null, "errors": "x"}',
    '{"data": [null, {"pointsTransferred": "abc", "transferrable": "yes"}], "redemptionId": [], "identifier": "x", "pointsReversed": "1e40"}',
    '{"errors": [null, {"code": true, "message": 1}]}',
    '{"errors": [{"code": 99999999999999999999999, "message": "x"}]}',
    "[" * 500 + "]" * 500,
]
# Deeper than the JSON parser's recursion: built without parsing (see test_too_deep_to_parse).
TOO_DEEP = "[" * 5000 + "]" * 5000
STATUSES = [200, 201, 400, 401, 404, 429, 500]
PARAMS = {
    "limit": "101",
    "offset": "-1",
    "pageSize": "abc",
    "pageNumber": "0",
    "startDate": "9999-12-31T23:59:59",
    "endDate": "0001-01-01T00:00:00",
    "includeLastOneYearData": "true",
    "ledgerEntryType": "CREDIT",
    "pointCategoryType": "REGULAR",
    "programId": "99999999999999999999999",
    "includeAlternateCurrencies": "true",
    "alternateCurrencyNames": ",,,",
    "excludePointCategories": "true",
    "includeTillConceptEvents": "true",
    "storeCode": "x",
    "sort": "ASC",
    "type": "FLEET",
    "scope": "user",
    "eventName": "CROSS_MEMBER_REDEMPTION",
    "transactionRef": "x",
}
CONTEXTS = [
    LENIENT,
    STRICT,
    CheckContext(strict=True, timezone="No/Such_Zone", org_id=None, spec_override=NoSchemaErrors()),
]
WEIRD_BODY: dict[str, Any] = {
    "pointsTobeTransferred": "x",
    "redemptionId": None,
    "identifier": [],
    "fromEntity": 3,
}


def exchange(operation: str, text: str, status: int, params: dict[str, str]) -> Exchange:
    return make_exchange(
        operation,
        text=text,
        status=status,
        params=params,
        headers={"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": ""},
        request_body=WEIRD_BODY,
        response_headers={"Content-Type": "text/plain", "Date": "not a date"},
    )


def exercise(ctx: CheckContext, ex: Exchange) -> None:
    """Every function of the package, on one exchange; none may raise."""
    run_checks(ctx, ex)
    walk_pages(ctx, [ex, ex], operation=ex.operation)
    expect_error(ctx, ex, codes={1}, requirement="X")
    expect_auth_rejected(ctx, ex)
    check_store_filter(
        ctx, ex, allowed_till_codes=["a"], allowed_store_codes=["b"], requirement="X"
    )
    expect_currency_rows(ctx, [ex], currencies=["C"], requirement="X")
    check_closing_balances(ctx, balance_pages=[ex], ledger_pages=[ex])
    check_scope_group(ctx, group_pages=[ex], user_pages=[ex])
    reading = BalanceReading(Decimal(0))
    compare_transfer(
        ctx,
        transfer=ex,
        source_before=reading,
        source_after=reading,
        destination_before=reading,
        destination_after=reading,
    )
    check_transfer_ledger(
        ctx,
        transfer=ex,
        source_after=ex,
        destination_after=ex,
        source_before=ex,
        destination_before=ex,
    )
    check_transfer_history(ctx, transfer=ex, history=ex)
    check_reversal_ledger(ctx, reversal=ex, after=ex, before=ex)


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("status", STATUSES)
def test_garbage_never_raises(operation: str, status: int) -> None:
    for text in GARBAGE_TEXTS:
        for params in ({}, PARAMS):
            ex = exchange(operation, text, status, params)
            for ctx in CONTEXTS:
                exercise(ctx, ex)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_too_deep_to_parse(operation: str) -> None:
    base = make_exchange(operation, params=PARAMS)
    response = ResponseInfo(200, {"Content-Type": "application/json"}, TOO_DEEP, None, "too deep")
    for ctx in CONTEXTS:
        exercise(ctx, Exchange(operation, base.request, response))


def test_malformed_success_bodies_are_reported_by_the_schema_check_only() -> None:
    class Valid:
        def validate_response(self, *args: Any, **kw: Any) -> list[Any]:
            return []

    ctx = CheckContext(spec_override=Valid())
    for operation in OPERATIONS:
        for text in ("not json", ""):
            ex = make_exchange(
                operation, text=text, response_headers={"Content-Type": "text/plain"}
            )
            assert {f.requirement.split("-", 1)[1] for f in run_checks(ctx, ex)} == {
                "SCHEMA-RESPONSE"
            }


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            "0.000",
            "-10.54",
            "CREDIT",
            "DEBIT",
            "Main",
            "2025-01-01 00:00:00.0",
            "2026-04-01T10:30:00Z",
            "ACTIVE",
            "REVERSED",
            "CROSS_MEMBER_REDEMPTION",
            "1003",
        ]
    )
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "ledgerDetails",
                    "ledgerEntries",
                    "entryDetails",
                    "points",
                    "ledgerEntryType",
                    "netPointsOnEvent",
                    "netAlternateCurrenciesOnEvent",
                    "alternateCurrencyName",
                    "pointsCategory",
                    "programId",
                    "ledgerCreatedDate",
                    "pageNumber",
                    "pageSize",
                    "totalEntries",
                    "pageCount",
                    "ledgerClosingBalance",
                    "closingBalance",
                    "pageDetails",
                    "entries",
                    "groupDetails",
                    "members",
                    "balance",
                    "groupBalance",
                    "memberCount",
                    "eventLogId",
                    "eventName",
                    "transactingCustomerId",
                    "transactionRef",
                    "createdDate",
                    "createdDateISO",
                    "status",
                    "reversedAmount",
                    "userRole",
                    "customerId",
                    "data",
                    "transferrable",
                    "pointsTransferred",
                    "pointsTobeTransferred",
                    "transferId",
                    "redemptionId",
                    "pointsReversed",
                    "identifier",
                    "errors",
                    "code",
                    "message",
                    "orgId",
                    "entity",
                    "storeCode",
                    "tillCode",
                    "customerDetails",
                    "entityType",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    operation=st.sampled_from(OPERATIONS),
    value=json_values,
    status=st.sampled_from(STATUSES),
    params=st.dictionaries(
        st.sampled_from(sorted(PARAMS)),
        st.sampled_from([*PARAMS.values(), "", "DESC", "group", "2025-01-01T00:00:00"]),
        max_size=5,
    ),
    strict=st.booleans(),
)
def test_random_json_never_raises(
    operation: str, value: Any, status: int, params: dict[str, str], strict: bool
) -> None:
    ex = exchange(operation, json.dumps(value), status, params)
    exercise(STRICT if strict else LENIENT, ex)
