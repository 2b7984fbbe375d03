"""The v2 ledger's refusal codes that the request alone decides (checks/ledger_refusals.py)."""

from __future__ import annotations

from typing import Any

import pytest

from points_conformance.checks import run_checks

from .test_checks_support import LENIENT, STRICT, make_exchange

BASE = {"identifierName": "mobile", "identifierValue": "919000005001", "source": "INSTORE"}
GROUP = {"type": "FLEET", "identifierName": "groupId", "identifierValue": "7", "source": "INSTORE"}


def refused(code: int, status: int = 400, **params: Any) -> list[str]:
    ex = make_exchange(
        "getCustomerLedgerInfo",
        {"errors": [{"code": code, "message": "refused"}]},
        status=status,
        params={**BASE, **params},
    )
    return sorted(f.requirement for f in run_checks(STRICT, ex) if "-ERR-" in f.requirement)


CASES = [
    # (params, code answered, requirements failed)
    ({"ledgerEntryType": "REFUND"}, 11008, ["LEDGER-ERR-11007"]),
    ({"ledgerEntryType": "REFUND"}, 11007, []),
    ({"pointCategoryType": "BONUS"}, 11007, ["LEDGER-ERR-11008"]),
    ({"tillId": "abc"}, 11027, ["LEDGER-ERR-11025"]),
    ({"tillId": "abc"}, 11025, []),
    ({"limit": 101}, 11028, ["LEDGER-ERR-11029"]),
    ({"identifierName": "phoneNumber"}, 8015, ["LEDGER-ERR-8013"]),
    ({"tillId": 11, "storeId": 5}, 11029, ["LEDGER-ERR-11028"]),
    # A code the request may have earned otherwise: an unknown customer, till or store.
    ({"ledgerEntryType": "REFUND"}, 8015, []),
    ({"tillId": 11, "storeId": 5}, 11026, []),
    ({"tillId": 11, "tillIds": "1,x"}, 11025, []),
    ({"ledgerEntryType": "REFUND"}, 400, []),
    # Two faults in one request: either code will do.
    ({"ledgerEntryType": "REFUND", "pointCategoryType": "BONUS"}, 11008, []),
    # Values matched in another case are not faults.
    ({"ledgerEntryType": "credit"}, 11008, []),
]


@pytest.mark.parametrize(("params", "code", "failed"), CASES)
def test_refusal_code(params: dict[str, Any], code: int, failed: list[str]) -> None:
    assert refused(code, **params) == failed


def test_identifier_type_of_another_form_is_not_judged() -> None:
    """Which identifier types each form supports is open (D-003): 8013 may be earned."""
    ex = make_exchange(
        "getCustomerLedgerInfo",
        {"errors": [{"code": 8013, "message": "refused"}]},
        status=400,
        params={**GROUP, "identifierName": "email", "tillId": 1, "storeCode": "s"},
    )
    assert [f for f in run_checks(STRICT, ex) if "-ERR-" in f.requirement] == []


def test_accepted_request_is_left_to_other_rules() -> None:
    ex = make_exchange("getCustomerLedgerInfo", {"ledgerEntries": []}, params={**BASE, "limit": 5})
    assert all(f.requirement != "LEDGER-ERR-11029" for f in run_checks(LENIENT, ex))


def test_customer_form_codes_not_judged_on_the_group_form() -> None:
    ex = make_exchange(
        "getCustomerLedgerInfo",
        {"errors": [{"code": 11008, "message": "refused"}]},
        status=400,
        params={**GROUP, "ledgerEntryType": "REFUND"},
    )
    assert all(f.requirement != "LEDGER-ERR-11007" for f in run_checks(STRICT, ex))
