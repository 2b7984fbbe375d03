"""The state functions for transfers sent at once (`compare_concurrent_transfers`) and for
reversals answered with a warning (`check_warning_reversal`), and the operation their credits name.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from points_conformance.checks import CheckContext, run_checks
from points_conformance.checks.registry import crediting
from points_conformance.checks.transfer_state import (
    BalanceReading,
    check_warning_reversal,
    compare_concurrent_transfers,
)
from points_conformance.model import Exchange

from .test_checks_support import (
    CORG,
    ERROR_ENVELOPE,
    LEDGER,
    LENIENT,
    STRICT,
    TRANSFERRED,
    credited_by,
    ledger_body,
    make_exchange,
)
from .test_checks_support import credit as credit_entry

# --------------------------------------------------------------------------------------------
# compare_concurrent_transfers


def transfer_exchange(amount: int | float, status: int = 200) -> Exchange:
    sent = {
        "pointsTobeTransferred": amount,
        "groupProgramTransfer": "false",
        "programId": 141,
        "notes": "points-conformance concurrent transfer",
        "fromCustomerIdentifier": {"type": "MOBILE", "value": "7799000000"},
        "toCustomerIdentifier": {"type": "ID", "value": "342953257"},
        "code": "X12Y3Z",
    }
    answer: dict[str, Any] = (
        {"data": [{**TRANSFERRED["data"][0], "pointsTransferred": float(amount)}], "warnings": []}
        if status < 400
        else {"data": [], "errors": [{"code": 804, "message": "Insufficient points"}]}
    )
    return make_exchange("transferPoints", answer, status=status, request_body=sent)


def balances(*values: str) -> list[BalanceReading]:
    return [BalanceReading(Decimal(v)) for v in values]


@pytest.mark.parametrize(
    ("statuses", "amount", "before", "after", "ctx", "problem"),
    [
        # 100 held, two of 60 asked: one accepted and moved
        ((200, 400), 60, ("100.000", "0.000"), ("40.000", "60.000"), STRICT, None),
        ((400, 200), 60, ("100.000", "0.000"), ("40.000", "60.000"), STRICT, None),
        # both fit
        ((200, 200), 30, ("100.000", "5.000"), ("40.000", "65.000"), STRICT, None),
        # nothing accepted, nothing moved
        ((400, 400), 60, ("100.000", "0.000"), ("100.000", "0.000"), STRICT, None),
        # both accepted though they exceed the balance, even if the balances agree with them
        (
            (200, 200),
            60,
            ("100.000", "0.000"),
            ("-20.000", "120.000"),
            STRICT,
            "2 of 2 transfers accepted, 120 points in all, from a balance of 100.000",
        ),
        # accepted but the source moved by one of them only
        (
            (200, 200),
            30,
            ("100.000", "0.000"),
            ("70.000", "60.000"),
            STRICT,
            "source balance went from 100.000 to 70.000",
        ),
        # the destination did not receive
        (
            (200, 400),
            60,
            ("100.000", "0.000"),
            ("40.000", "0.000"),
            STRICT,
            "destination balance went from 0.000 to 0.000",
        ),
        # refused, yet the source moved
        (
            (400, 400),
            60,
            ("100.000", "0.000"),
            ("40.000", "60.000"),
            STRICT,
            "source balance went from 100.000 to 40.000",
        ),
        # display rounding: lenient allows it, strict does not
        ((200, 400), 60, ("100.0", "0.0"), ("40.04", "60.0"), LENIENT, None),
        (
            (200, 400),
            60,
            ("100.0", "0.0"),
            ("40.04", "60.0"),
            STRICT,
            "source balance went from 100.0 to 40.04",
        ),
    ],
    ids=[
        "one of two",
        "second of two",
        "both fit",
        "none accepted",
        "overdrawn",
        "source short",
        "destination short",
        "refused but moved",
        "rounding lenient",
        "rounding strict",
    ],
)
def test_concurrent_transfers(
    statuses: tuple[int, ...],
    amount: int,
    before: tuple[str, str],
    after: tuple[str, str],
    ctx: CheckContext,
    problem: str | None,
) -> None:
    sent = [transfer_exchange(amount, status) for status in statuses]
    found = compare_concurrent_transfers(
        ctx, transfers=sent, before=balances(*before), after=balances(*after)
    )
    if problem is None:
        assert found == []
        return
    (item,) = found
    assert item.requirement == "XFER-STATE-CONSERVE"
    assert problem in item.actual
    accepted = [ex for ex in sent if ex.response.status == 200]
    assert item.exchange is (accepted[0] if accepted else sent[0])


def test_concurrent_transfers_without_a_known_amount_are_not_judged() -> None:
    unknown = make_exchange("transferPoints", {"data": [{"transferId": 7}]}, request_body={})
    found = compare_concurrent_transfers(
        STRICT,
        transfers=[unknown],
        before=balances("100.000", "0.000"),
        after=balances("0.000", "0.000"),
    )
    assert found == []


def test_concurrent_transfer_amount_falls_back_to_the_answer() -> None:
    answered = make_exchange(
        "transferPoints", {"data": [{"pointsTransferred": 60.0}]}, request_body={}
    )
    found = compare_concurrent_transfers(
        STRICT,
        transfers=[answered, answered],
        before=balances("100.000", "0.000"),
        after=balances("-20.000", "120.000"),
    )
    assert [f.requirement for f in found] == ["XFER-STATE-CONSERVE"]
    assert "120.0 points in all" in found[0].actual


# --------------------------------------------------------------------------------------------
# check_warning_reversal


REVERSAL_SENT = {
    "redemptionId": "54ZNkA",
    "pointsToBeReversed": 10,
    "identifier": {"type": "mobile", "value": "919740000000"},
}
WARNED = {
    "redemptionId": "54ZNkA",
    "pointsToBeReversed": 10.0,
    "orgId": 100458,
    "identifier": {"type": "mobile", "value": "919740000000"},
    "customerId": 98662653,
    "warnings": [{"code": 902, "message": "Invalid redemption id"}],
}
OLD = [credit_entry(2, "2024-01-02 10:00:00.0"), credit_entry(1, "2024-01-01 10:00:00.0")]
NEW = credit_entry(3, "2024-01-03 10:00:00.0", "10.00", eventName="PointsRedemptionReversal")


def ledger_page(entries: list[dict[str, Any]]) -> Exchange:
    return make_exchange(LEDGER, ledger_body(entries), params={"limit": 20, "sort": "DESC"})


def reversal(answer: dict[str, Any], status: int = 200) -> Exchange:
    return make_exchange("reversePoints", answer, status=status, request_body=REVERSAL_SENT)


@pytest.mark.parametrize(
    ("answer", "after", "problems"),
    [
        (WARNED, OLD, []),
        ({**WARNED, "pointsReversed": 0}, OLD, []),
        ({**WARNED, "pointsReversed": "0.000"}, OLD, []),
        ({**WARNED, "pointsReversed": None}, OLD, []),
        ({**WARNED, "pointsReversed": 10.0}, OLD, ["pointsReversed 10.0"]),
        ({**WARNED, "pointsReversed": -5}, OLD, ["pointsReversed -5"]),
        (WARNED, [NEW, *OLD], ["new ledger event eventLogId 3"]),
        (
            {**WARNED, "pointsReversed": 10},
            [NEW, *OLD],
            ["pointsReversed 10", "new ledger event eventLogId 3"],
        ),
        # the page moved on by one: the oldest entry dropped off, nothing new
        (WARNED, OLD[:1], []),
    ],
    ids=[
        "nothing",
        "zero",
        "zero string",
        "null",
        "reversed",
        "negative",
        "new entry",
        "both",
        "shorter page",
    ],
)
def test_warning_reversal_reversed_nothing(
    answer: dict[str, Any], after: list[dict[str, Any]], problems: list[str]
) -> None:
    requirements = ["PTS-WARN-901", "PTS-WARN-902"]
    ex = reversal(answer)
    got, found = credited_by(
        lambda: check_warning_reversal(
            STRICT,
            reversal=ex,
            before=ledger_page(OLD),
            after=ledger_page(after),
            requirements=requirements,
        )
    )
    # Only the requirement of the code the answer warned with (902) is judged.
    assert got == {"PTS-WARN-902"}
    if not problems:
        assert found == []
        return
    assert [f.requirement for f in found] == ["PTS-WARN-902"]
    for item in found:
        assert item.exchange is ex
        assert all(p in item.actual for p in problems)


@pytest.mark.parametrize(
    ("status", "requirements"),
    [(400, ["PTS-WARN-902"]), (200, [])],
    ids=["refused", "no requirements"],
)
def test_warning_reversal_not_judged(status: int, requirements: list[str]) -> None:
    answer = {**WARNED, "pointsReversed": 10} if status == 200 else ERROR_ENVELOPE
    got, found = credited_by(
        lambda: check_warning_reversal(
            STRICT,
            reversal=reversal(answer, status),
            before=ledger_page(OLD),
            after=ledger_page([NEW, *OLD]),
            requirements=requirements,
        )
    )
    assert found == [] and got == set()


@pytest.mark.parametrize(
    ("answer", "before", "after"),
    [
        # A 2xx without the warning is an accepted reversal: expect_error judges that.
        ({**WARNED, "warnings": []}, None, None),
        # An unreadable ledger on either side leaves nothing to compare.
        (WARNED, make_exchange(LEDGER, text="busy", status=503), None),
        (WARNED, None, make_exchange(LEDGER, text="<html>", status=200)),
    ],
    ids=["no warning", "before unreadable", "after unreadable"],
)
def test_warning_reversal_needs_the_warning_and_both_ledgers(
    answer: dict[str, Any], before: Exchange | None, after: Exchange | None
) -> None:
    got, found = credited_by(
        lambda: check_warning_reversal(
            STRICT,
            reversal=reversal({**answer, "pointsReversed": 10}),
            before=before or ledger_page(OLD),
            after=after or ledger_page([NEW, *OLD]),
            requirements=["PTS-WARN-902"],
        )
    )
    assert found == [] and got == set()


# --------------------------------------------------------------------------------------------
# credits name the operation of the answer they were evaluated on


def test_credits_carry_the_operation_of_the_answer() -> None:
    with crediting() as credited:
        run_checks(STRICT, make_exchange(CORG, ledger_body(OLD)))
        check_warning_reversal(
            STRICT,
            reversal=reversal(WARNED),
            before=ledger_page(OLD),
            after=ledger_page(OLD),
            requirements=["PTS-WARN-902"],
        )
    assert credited.operations["LEDGER-ARITH-NET"] == {CORG}
    assert credited.operations["PTS-WARN-902"] == {"reversePoints"}
