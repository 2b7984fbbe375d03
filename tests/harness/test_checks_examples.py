"""The documentation's own examples, run through every check with the request each illustrates.

An example that a rule flags is either a rule defect or one of the contradictions the register
(specs/discrepancies.yaml) records; each expected finding below names its entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from points_conformance.checks import CheckContext, check_store_filter, discrepancies, walk_pages

from .test_checks_support import (
    LENIENT,
    STRICT,
    NoSchemaErrors,
    example_exchange,
    example_text,
    findings,
)

CUSTOMER = {"identifierName": "id", "identifierValue": "564332013", "source": "INSTORE"}
CML_DATE = {"Date": "Thu, 02 Apr 2026 00:00:00 GMT"}


@dataclass(frozen=True)
class Case:
    stem: str
    operation: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    request: str | None = None  # stem of the request example the answer belongs to
    path: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    lenient: frozenset[str] = frozenset()
    strict: frozenset[str] = frozenset()


def ids(*names: str) -> frozenset[str]:
    return frozenset(names)


CASES = [
    Case(
        "000-01",
        "getCustomerLedgerInfoConnectedOrgs",
        {"identifierName": "mobile", "identifierValue": "917406401004", "source": "INSTORE"},
        {"DATA-SCOPE": "SELF"},
    ),
    Case(
        "000-02",
        "getCustomerLedgerInfoConnectedOrgs",
        {"identifierName": "mobile", "identifierValue": "917406401004", "source": "INSTORE"},
        {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "50405"},
    ),
    Case("001-01", "getCustomerLedgerInfo", {**CUSTOMER, "limit": 10}),
    Case("001-02", "getCustomerLedgerInfo", CUSTOMER),
    Case(
        "001-03",
        "getCustomerLedgerInfo",
        {**CUSTOMER, "limit": 3, "includeAlternateCurrencies": "true"},
    ),
    Case(
        "001-03",
        "getCustomerLedgerInfo",
        {**CUSTOMER, "limit": 3, "alternateCurrencyNames": "DocCoin"},
    ),
    Case(
        "001-04",
        "getCustomerLedgerInfo",
        {**CUSTOMER, "includeAlternateCurrencies": "true", "excludePointCategories": "true"},
    ),
    Case("001-05", "getCustomerLedgerInfo", {**CUSTOMER, "tillId": 75011}),
    Case("001-06", "getCustomerLedgerInfo", {**CUSTOMER, "tillIds": "75011,75012"}),
    Case("001-07", "getCustomerLedgerInfo", {**CUSTOMER, "storeCode": "doc123"}),
    # 46.69 shown for a net of 46.688: equal only up to display rounding
    Case(
        "001-08",
        "getCustomerLedgerInfo",
        {**CUSTOMER, "storeId": 5011},
        strict=ids("LEDGER-ARITH-NET"),
    ),
    Case(
        "002-01",
        "getCrossMemberLedger",
        {"scope": "group", "pageNumber": 1, "pageSize": 20},
        response_headers=CML_DATE,
    ),
    Case(
        "002-02",
        "getCrossMemberLedger",
        {"scope": "user", "pageNumber": 1, "pageSize": 20},
        response_headers=CML_DATE,
    ),
    # the first sample request is scope=user, but the example without userRole reads as group
    Case(
        "002-01",
        "getCrossMemberLedger",
        {"scope": "user", "pageNumber": 1, "pageSize": 20},
        response_headers=CML_DATE,
        lenient=ids("CML-USERROLE-PRESENCE"),
        strict=ids("CML-USERROLE-PRESENCE"),
    ),
    Case("003-02", "isTransferrable", request="003-01"),
    # 10.5 asked, 10.0 answered
    Case("003-04", "isTransferrableUserGroup", request="003-03", strict=ids("XFERCHK-ARITH-ECHO")),
    # 20 reversed for 10 asked: more than asked in either reading
    Case(
        "003-06",
        "reversePoints",
        request="003-05",
        lenient=ids("REV-ARITH-BOUND"),
        strict=ids("REV-ARITH-BOUND"),
    ),
    # 15.0 transferred for 123 asked: only the strict echo compares
    Case("003-08", "transferPoints", request="003-07", strict=ids("XFER-ARITH-ECHO")),
    Case("003-10", "transferPointsUserGroup", request="003-09", strict=ids("XFER-ARITH-ECHO")),
    Case("003-11", "getPointsTransfers", {"identifierName": "id", "identifierValue": "2626"}),
    Case(
        "003-12",
        "getCustomerLedgerBalance",
        {"identifierName": "externalId", "identifierValue": "tomanatest2", "source": "INSTORE"},
    ),
    # 003's abridged older text: 2 entries on page 0 of 17, oldest first (no page states the
    # default order: strict only, D-073), and a net of 437.080 for rows 300.00 and 137, which
    # display rounding of "137" covers
    Case(
        "003-13",
        "getCustomerLedgerInfo",
        {"identifierName": "externalId", "identifierValue": "tomanatest2", "source": "INSTORE"},
        lenient=ids("LEDGER-PAGE-SIZE"),
        strict=ids("LEDGER-PAGE-SIZE", "LEDGER-SORT-DEFAULT", "LEDGER-ARITH-NET"),
    ),
]


def exchange(case: Case) -> Any:
    body = json.loads(example_text(case.request)) if case.request else None
    return example_exchange(
        case.stem,
        case.operation,
        params=case.params,
        headers=case.headers,
        request_body=body,
        path=case.path,
        response_headers=case.response_headers,
    )


CONTEXTS = {
    "lenient": CheckContext(strict=False, org_id=50406, spec_override=NoSchemaErrors()),
    "strict": CheckContext(strict=True, org_id=50406, spec_override=NoSchemaErrors()),
}


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.stem}-{c.operation}-{i}" for i, c in enumerate(CASES)]
)
def test_doc_examples_pass_every_rule_but_the_recorded_contradictions(case: Case) -> None:
    ex = exchange(case)
    for mode, ctx in CONTEXTS.items():
        got = {f.requirement for f in findings(ctx, ex)}
        assert got == set(getattr(case, mode)), (mode, [f.summary() for f in findings(ctx, ex)])


def test_the_storeid_example_fails_strict_arithmetic_only_by_display_rounding() -> None:
    ex = exchange(next(c for c in CASES if c.stem == "001-08"))
    (found,) = findings(STRICT, ex, "LEDGER-ARITH-NET")
    assert found.discrepancy == discrepancies.D_DISPLAY_ROUNDING
    assert "46.688" in found.actual and "311.034" in found.actual


def test_the_003_ledger_example_net_is_within_the_rounding_of_137() -> None:
    ex = exchange(CASES[-1])
    assert findings(LENIENT, ex, "LEDGER-ARITH-NET") == []
    (found,) = findings(STRICT, ex, "LEDGER-ARITH-NET")
    assert "rows give 437.00, shown 437.080" in found.actual


@pytest.mark.parametrize(
    ("stem", "params", "tills", "stores"),
    [
        ("001-05", {"tillId": 75011}, ["neeraj.doc"], None),
        ("001-06", {"tillIds": "75011,75012"}, ["neeraj.doc", "naman_doc"], None),
        ("001-08", {"storeId": 5011}, None, ["doc123"]),
    ],
)
def test_store_filter_examples_hold_only_the_codes_they_name(
    stem: str, params: dict[str, Any], tills: list[str] | None, stores: list[str] | None
) -> None:
    ex = example_exchange(stem, "getCustomerLedgerInfo", params={**CUSTOMER, **params})
    assert (
        check_store_filter(LENIENT, ex, allowed_till_codes=tills, allowed_store_codes=stores) == []
    )
    narrower = check_store_filter(
        LENIENT, ex, allowed_till_codes=["someone.else"], allowed_store_codes=stores
    )
    assert narrower and narrower[0].requirement.endswith(
        ("FILTER-TILL", "FILTER-TILLS", "FILTER-STORE-ID")
    )


def test_the_balance_example_is_a_short_first_page() -> None:
    ex = example_exchange("003-12", "getCustomerLedgerBalance")
    assert walk_pages(LENIENT, [ex], operation="getCustomerLedgerBalance") == []
    (found,) = walk_pages(STRICT, [ex], operation="getCustomerLedgerBalance")
    assert (found.requirement, found.discrepancy) == (
        "BAL-PAGE-WALK",
        discrepancies.D_BALANCE_PAGING,
    )
    assert "6 entries, expected 10" in found.actual
