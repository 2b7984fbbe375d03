"""Builders the check tests share: exchanges from dicts, ledger bodies, the docs' examples, body
mutations, and the credits a call records."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from points_conformance.checks import CheckContext, run_checks
from points_conformance.checks.readers import answered
from points_conformance.checks.registry import crediting
from points_conformance.model import Exchange, Finding, RequestInfo, ResponseInfo

BASE = "http://points.test"
EXAMPLES = Path(__file__).resolve().parents[2] / "specs" / "examples"

ROUTES: dict[str, tuple[str, str]] = {
    "getCustomerLedgerInfo": ("GET", "/v2/pointsLedger/getCustomerLedgerInfo"),
    "getCustomerLedgerInfoConnectedOrgs": ("GET", "/v2.1/pointsLedger/getCustomerLedgerInfo"),
    "getCrossMemberLedger": ("GET", "/v2/customers/1003/crossMemberLedger"),
    "getCustomerLedgerBalance": ("GET", "/v2/pointsLedger/getCustomerLedgerBalance"),
    "isTransferrable": ("POST", "/v2/points/isTransferrable"),
    "isTransferrableUserGroup": ("POST", "/v2/points/userGroup2/isTransferrable"),
    "transferPoints": ("POST", "/v2/points/transfer"),
    "transferPointsUserGroup": ("POST", "/v2/points/userGroup2/transfer"),
    "getPointsTransfers": ("GET", "/v2/points/transfer"),
    "reversePoints": ("POST", "/v2/points/reverse"),
}


class NoSchemaErrors:
    """A spec stand-in under which every body is valid, so tests see only the rule under test."""

    def validate_response(
        self, operation_id: str, status: int, body: Any, *, strict: bool
    ) -> list[Any]:
        return []


LENIENT = CheckContext(strict=False, org_id=50406, spec_override=NoSchemaErrors())
STRICT = CheckContext(strict=True, org_id=50406, spec_override=NoSchemaErrors())
MODES = pytest.mark.parametrize("ctx", [LENIENT, STRICT], ids=["lenient", "strict"])


def make_exchange(
    operation: str,
    body: Any = None,
    *,
    status: int = 200,
    params: dict[str, Any] | list[tuple[str, Any]] | None = None,
    path: str | None = None,
    headers: dict[str, str] | None = None,
    request_body: Any = None,
    response_headers: dict[str, str] | None = None,
    text: str | None = None,
) -> Exchange:
    """An exchange of `operation` whose response carries `body` (or raw `text`) as JSON."""
    method, default_path = ROUTES[operation]
    query = urlencode(params or {})
    url = f"{BASE}{path or default_path}" + (f"?{query}" if query else "")
    if text is None:
        text = "" if body is None else json.dumps(body)
    response_headers = {"Content-Type": "application/json", **(response_headers or {})}
    return Exchange(
        operation,
        RequestInfo(method, url, dict(headers or {}), request_body),
        ResponseInfo.from_parts(status, response_headers, text),
    )


def findings(ctx: CheckContext, ex: Exchange, requirement: str | None = None) -> list[Finding]:
    found = run_checks(ctx, ex)
    return [f for f in found if requirement is None or f.requirement == requirement]


def requirements(found: list[Finding]) -> set[str]:
    return {f.requirement for f in found}


def row(
    kind: str,
    points: Any,
    *,
    category: str = "Main",
    program: int = 973,
    currency: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ledgerEntryType": kind,
        "points": points,
        "pointsCategory": category,
        "programName": "DocDemoDefaultProgram",
        "programId": program,
    }
    if currency is not None:
        item["alternateCurrencyName"] = currency
    return item


def entry(
    log_id: int,
    created: str,
    rows: list[dict[str, Any]],
    net: Any,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "eventLogId": log_id,
        "eventName": "TransactionAdd",
        "customerId": 564332013,
        "ledgerCreatedDate": created,
        "customerDetails": None,
        "entryDetails": rows,
        "netPointsOnEvent": net,
        "transactionDetails": {},
        "store": "DocStore",
        "storeCode": "doc123",
        "tillCode": "naman_doc",
        "eventDetails": {},
        "orgId": None,
        **extra,
    }


def credit(log_id: int, created: str, points: str = "10.00", **extra: Any) -> dict[str, Any]:
    return entry(log_id, created, [row("CREDIT", points)], points, **extra)


def ledger_body(
    entries: list[dict[str, Any]],
    *,
    page_number: int = 0,
    page_size: int = 10,
    total: int | None = None,
    page_count: int | None = None,
    entity_type: str = "CUSTOMER",
) -> dict[str, Any]:
    total = len(entries) if total is None else total
    if page_count is None:
        page_count = -(-total // page_size) if page_size else 0
    return {
        "customerDetails": {"userId": 564332013, "entityType": entity_type},
        "ledgerDetails": {
            "pageNumber": page_number,
            "pageSize": page_size,
            "totalEntries": total,
            "pageCount": page_count,
        },
        "ledgerEntries": entries,
        "warnings": [],
    }


def example_text(stem: str) -> str:
    """The text of specs/examples/<stem>-*.json (e.g. "001-08"), numbers as printed on the page."""
    matches = sorted(EXAMPLES.glob(f"{stem}-*.json"))
    assert len(matches) == 1, f"expected one example file for {stem}, found {matches}"
    return matches[0].read_text(encoding="utf-8")


def example_exchange(
    stem: str,
    operation: str,
    *,
    params: dict[str, Any] | None = None,
    **kw: Any,
) -> Exchange:
    text = example_text(stem)
    return make_exchange(operation, params=params, text=text, **kw)


LEDGER = "getCustomerLedgerInfo"
CORG = "getCustomerLedgerInfoConnectedOrgs"
CML = "getCrossMemberLedger"

# The real specs and catalogue: the schema check routes by the catalogue's `paths`.
REAL_LENIENT = CheckContext(strict=False, org_id=50406)
REAL_STRICT = CheckContext(strict=True, org_id=50406)
REAL = {"lenient": REAL_LENIENT, "strict": REAL_STRICT}

ERROR_ENVELOPE = {"errors": [{"code": 8015, "message": "Identifier value missing or incorrect"}]}
# 003's documented answer to a transfer.
TRANSFERRED = {
    "data": [
        {
            "pointsTransferDate": "2021-07-16 15:53:42",
            "pointsTransferred": 15.0,
            "transferId": 100,
            "transferType": "DEDUCTION",
            "notes": "Transfer points to James",
            "programName": "Nightly_ApiAutoDefaultProgram",
        }
    ],
    "warnings": [],
}


def example_body(stem: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(example_text(stem))
    return body


def ledger_example() -> dict[str, Any]:
    """001's documented customer ledger page: two AllocateGoodwillPoints entries."""
    return example_body("001-01")


def cml_example() -> dict[str, Any]:
    """002's documented cross-member page: one partially reversed redemption, four members."""
    return example_body("002-01")


Mutation = Callable[[dict[str, Any]], None]


def put(path: tuple[str | int, ...], value: Any) -> Mutation:
    def apply(body: dict[str, Any]) -> None:
        node: Any = body
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return apply


def drop(path: tuple[str | int, ...]) -> Mutation:
    def apply(body: dict[str, Any]) -> None:
        node: Any = body
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return apply


def mutated(body: dict[str, Any], *mutations: Mutation) -> dict[str, Any]:
    result = copy.deepcopy(body)
    for mutation in mutations:
        mutation(result)
    return result


def credited_by(fn: Callable[[], list[Finding]]) -> tuple[set[str], list[Finding]]:
    with crediting() as credited:
        found = fn()
    return set(credited), found


def test_make_exchange_builds_a_parsed_json_response() -> None:
    ex = make_exchange("getCrossMemberLedger", {"a": 1}, params={"scope": "user"})
    assert ex.request.path == "/v2/customers/1003/crossMemberLedger"
    assert ex.request.param("scope") == "user"
    assert ex.response.json == {"a": 1}
    assert ex.response.content_type == "application/json"


def test_example_text_keeps_the_digits_the_page_prints() -> None:
    assert '"groupBalance": 1250.000' in example_text("002-01")


@pytest.mark.parametrize(
    ("status", "lenient", "strict"),
    [
        (200, True, True),
        (201, True, False),
        (204, True, False),
        (302, False, False),
        (400, False, False),
    ],
)
def test_a_valid_request_is_answered_by_any_2xx_but_200_in_strict(
    status: int, lenient: bool, strict: bool
) -> None:
    ex = make_exchange("transferPoints", {"data": []}, status=status)
    assert answered(ex, strict=False) is lenient
    assert answered(ex, strict=True) is strict
