"""Transfer, transferability and reversal rules: single answers and state before and after."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from points_conformance.checks import (
    BalanceReading,
    check_reversal_ledger,
    check_reversal_twice,
    check_transfer_history,
    check_transfer_ledger,
    check_transferrable_readonly,
    closing_balance,
    compare_reversal_balance,
    compare_transfer,
    discrepancies,
)
from points_conformance.model import Exchange

from .test_checks_support import (
    LENIENT,
    REAL_LENIENT,
    REAL_STRICT,
    STRICT,
    entry,
    findings,
    ledger_body,
    make_exchange,
    row,
)


def transfer(
    moved: Any = 15.0,
    requested: Any = 15,
    *,
    status: int = 200,
    operation: str = "transferPoints",
    transfer_id: int | None = 100,
    extra: dict[str, Any] | None = None,
    sent: dict[str, Any] | None = None,
) -> Exchange:
    item: dict[str, Any] = {
        "pointsTransferred": moved,
        "transferType": "DEDUCTION",
        **(extra or {}),
    }
    if transfer_id is not None:
        item["transferId"] = transfer_id
    data = (
        {"data": [item], "warnings": []}
        if status < 400
        else {"errors": [{"code": 804, "message": "x"}]}
    )
    return make_exchange(
        operation,
        data,
        status=status,
        request_body={"pointsTobeTransferred": requested, **(sent or {})},
    )


@pytest.mark.parametrize(
    ("data", "flagged"),
    [
        ({"data": [{"pointsTobeTransferred": 10, "transferrable": True}]}, False),
        ({"data": [{"pointsTobeTransferred": 10, "transferrable": False}]}, False),
        ({"data": [{"pointsTobeTransferred": 10, "transferrable": "true"}]}, True),
        ({"data": []}, True),
        ({"warnings": []}, True),
        # a refusal in a 2xx (D-016) is no answer to judge
        ({"data": [], "errors": [{"code": 804, "message": "Insufficient"}]}, False),
    ],
)
def test_transferrable_answer(data: dict[str, Any], flagged: bool) -> None:
    ex = make_exchange("isTransferrable", data)
    assert bool(findings(LENIENT, ex, "XFERCHK-FORMAT-TRANSFERRABLE")) is flagged


@pytest.mark.parametrize(
    ("operation", "answered", "requested", "requirement", "discrepancy"),
    [
        ("isTransferrable", 10, 10, "XFERCHK-ARITH-ECHO", None),
        ("isTransferrableUserGroup", 10.0, 10.5, "XFERCHK-ARITH-ECHO", discrepancies.D_ECHO_GROUP),
    ],
)
def test_check_echo_is_strict_only(
    operation: str, answered: Any, requested: Any, requirement: str, discrepancy: str | None
) -> None:
    ex = make_exchange(
        operation,
        {"data": [{"pointsTobeTransferred": answered, "transferrable": True}]},
        request_body={"pointsTobeTransferred": requested},
    )
    assert findings(LENIENT, ex, requirement) == []
    found = findings(STRICT, ex, requirement)
    assert [f.discrepancy for f in found] == ([discrepancy] if discrepancy else [])


@pytest.mark.parametrize(
    ("ex", "lenient", "strict"),
    [
        (transfer(15.0, 15), set(), set()),
        # 003's sample: 123 requested, 15.0 answered
        (transfer(15.0, 123), set(), {"XFER-ARITH-ECHO"}),
        (transfer(124, 123), {"XFER-FORMAT-RESULT"}, {"XFER-FORMAT-RESULT", "XFER-ARITH-ECHO"}),
        (transfer(0, 123), {"XFER-FORMAT-RESULT"}, {"XFER-FORMAT-RESULT", "XFER-ARITH-ECHO"}),
        (
            transfer(
                10.0,
                10,
                operation="transferPointsUserGroup",
                extra={"fromEntityType": "USERGROUP2", "toEntityType": "CUSTOMER"},
                sent={"fromEntity": {"type": "USERGROUP2"}, "toEntity": {"type": "customer"}},
            ),
            set(),
            set(),
        ),
        (
            transfer(
                10.0,
                10,
                operation="transferPointsUserGroup",
                extra={"fromEntityType": "CUSTOMER"},
                sent={"fromEntity": {"type": "USERGROUP2"}},
            ),
            {"XFER-FORMAT-RESULT"},
            {"XFER-FORMAT-RESULT"},
        ),
        # no page has a table of this answer (D-103): only the strict run wants data in it
        (make_exchange("transferPoints", {"data": []}), set(), {"XFER-FORMAT-RESULT"}),
        # a coded error in a 2xx is a refusal in the default run (D-016), not a transfer
        (
            make_exchange("transferPoints", {"data": [], "errors": [{"code": 816}]}),
            set(),
            {"XFER-FORMAT-RESULT"},
        ),
    ],
    ids=[
        "same",
        "003 sample",
        "more than asked",
        "zero",
        "group types",
        "group type wrong",
        "no data",
        "refusal in a 2xx",
    ],
)
def test_transfer_answer(ex: Exchange, lenient: set[str], strict: set[str]) -> None:
    for ctx, wanted in ((LENIENT, lenient), (STRICT, strict)):
        got = {f.requirement for f in findings(ctx, ex) if f.requirement.startswith("XFER-")}
        assert got == wanted, ctx.mode


def reverse(shown: dict[str, Any], sent: dict[str, Any], status: int = 200) -> Exchange:
    return make_exchange("reversePoints", shown, request_body=sent, status=status)


WARNED = [{"code": 901, "message": "Invalid points or points redemption ID."}]
SENT = {
    "redemptionId": "54ZNkA",
    "pointsToBeReversed": 10,
    "identifier": {"type": "mobile", "value": "919740000000"},
}


@pytest.mark.parametrize(
    ("shown", "lenient", "strict"),
    [
        ({**SENT, "pointsReversed": 10.0}, set(), set()),
        # 003: "The number of points be reversed." Plain in both stances.
        ({**SENT, "pointsReversed": 4.0}, {"REV-ARITH-BOUND"}, {"REV-ARITH-BOUND"}),
        ({**SENT, "pointsReversed": 20.0}, {"REV-ARITH-BOUND"}, {"REV-ARITH-BOUND"}),
        ({**SENT, "pointsReversed": 0}, {"REV-ARITH-BOUND"}, {"REV-ARITH-BOUND"}),
        (
            {**SENT, "redemptionId": "OTHER", "pointsReversed": 10},
            {"REV-FORMAT-ECHO"},
            {"REV-FORMAT-ECHO"},
        ),
        (
            {
                **SENT,
                "identifier": {"type": "MOBILE", "value": "919740000001"},
                "pointsReversed": 10,
            },
            {"REV-FORMAT-ECHO"},
            {"REV-FORMAT-ECHO"},
        ),
        (
            {**SENT, "redemptionId": 54, "pointsReversed": 10},
            {"REV-FORMAT-ECHO"},
            {"REV-FORMAT-ECHO"},
        ),
        # 003's warning 901: nothing is reversed, so 0 is the truth; the default run reads the
        # 2xx as the refusal (D-036) and holds no success's shape against it.
        (
            {"redemptionId": None, "identifier": None, "pointsReversed": 0, "warnings": WARNED},
            set(),
            set(),
        ),
        (
            {"redemptionId": None, "identifier": None, "pointsReversed": 0},
            *[{"REV-ARITH-BOUND"}] * 2,
        ),
    ],
    ids=[
        "as asked",
        "less than asked",
        "more than asked",
        "zero",
        "other id",
        "other identifier",
        "numeric other",
        "nothing reversed, warned",
        "nothing reversed, unwarned",
    ],
)
def test_reverse_answer(shown: dict[str, Any], lenient: set[str], strict: set[str]) -> None:
    ex = reverse(shown, SENT)
    for ctx, wanted in ((LENIENT, lenient), (STRICT, strict)):
        assert {
            f.requirement for f in findings(ctx, ex) if f.requirement.startswith("REV-")
        } == wanted


UNLISTED = {**SENT, "identifier": {"type": "cardnumber", "value": "919740000000"}}


@pytest.mark.parametrize(
    ("shown_type", "strict"),
    [("cardnumber", {"REV-SCHEMA-RESPONSE"}), ("mobile", {"REV-FORMAT-ECHO"})],
    ids=["echoed as sent", "the type matched"],
)
def test_reversal_answered_for_an_unlisted_identifier_type(
    shown_type: str, strict: set[str]
) -> None:
    # 003: "Supported values: mobile, email, externalId." and no refusal stated (D-098): the
    # default run takes an answer that echoes the type sent or names the type matched (the
    # real schema, whose identifier.type enum is strict's).
    identifier = {"type": shown_type, "value": "919740000000"}
    ex = reverse({**UNLISTED, "identifier": identifier, "pointsReversed": 10}, UNLISTED)
    assert [f for f in findings(REAL_LENIENT, ex) if f.requirement.startswith("REV-")] == []
    found = [f for f in findings(REAL_STRICT, ex) if f.requirement.startswith("REV-")]
    assert {f.requirement for f in found} == strict


def test_unlisted_identifier_type_echo_names_its_entry() -> None:
    identifier = {"type": "mobile", "value": "919740000000"}
    ex = reverse({**UNLISTED, "identifier": identifier, "pointsReversed": 10}, UNLISTED)
    (found,) = findings(STRICT, ex, "REV-FORMAT-ECHO")
    assert found.discrepancy == "D-098"
    wrong_value = {"type": "mobile", "value": "919740000001"}
    ex = reverse({**UNLISTED, "identifier": wrong_value, "pointsReversed": 10}, UNLISTED)
    (found,) = findings(LENIENT, ex, "REV-FORMAT-ECHO")
    assert found.discrepancy is None and "identifier.value" in found.actual


def test_partial_reversal_is_a_stated_rule_not_a_reading() -> None:
    (found,) = findings(LENIENT, reverse({**SENT, "pointsReversed": 4.0}, SENT), "REV-ARITH-BOUND")
    assert found.discrepancy is None and "less than the 10 requested" in found.message


def reading(value: str) -> BalanceReading:
    """A balance as the ledger-balance answer shows it, to three decimals."""
    return BalanceReading(Decimal(value).quantize(Decimal("0.001")))


@pytest.mark.parametrize(
    ("ex", "balances", "requirement"),
    [
        (transfer(15.0, 15), ("100", "85", "0", "15"), None),
        (transfer(15.0, 15), ("100", "85", "0", "0"), "XFER-STATE-CONSERVE"),
        (transfer(15.0, 15), ("100", "100", "0", "15"), "XFER-STATE-CONSERVE"),
        (transfer(15.0, 123), ("200", "185", "0", "15"), "XFER-STATE-CONSERVE"),
        (transfer(15.0, 123), ("200", "77", "0", "123"), None),
        (transfer(status=400), ("100", "100", "0", "0"), None),
        (transfer(status=400), ("100", "85", "0", "15"), "XFER-STATE-REJECTED"),
    ],
    ids=[
        "moved",
        "destination unchanged",
        "source unchanged",
        "moved the answered amount, not the requested",
        "moved the requested amount",
        "refused, unchanged",
        "refused, but moved",
    ],
)
def test_compare_transfer(ex: Exchange, balances: tuple[str, ...], requirement: str | None) -> None:
    sb, sa, db, da = (reading(v) for v in balances)
    found = compare_transfer(
        LENIENT,
        transfer=ex,
        source_before=sb,
        source_after=sa,
        destination_before=db,
        destination_after=da,
    )
    assert [f.requirement for f in found] == ([requirement] if requirement else [])


@pytest.mark.parametrize(
    ("after", "flagged"), [(("100", "5"), False), (("99", "5"), True), (("100", "5.002"), True)]
)
def test_transferrable_check_moves_nothing(after: tuple[str, str], flagged: bool) -> None:
    ex = make_exchange(
        "isTransferrable", {"data": [{"pointsTobeTransferred": 1, "transferrable": True}]}
    )
    found = check_transferrable_readonly(
        LENIENT,
        check_exchange=ex,
        source_before=reading("100"),
        source_after=reading(after[0]),
        destination_before=reading("5"),
        destination_after=reading(after[1]),
    )
    assert bool(found) is flagged
    assert all(f.requirement == "XFERCHK-STATE-READONLY" for f in found)


def test_closing_balance_reads_one_category() -> None:
    data = {
        "ledgerDetails": {
            "ledgerClosingBalance": [
                {"pointsCategory": "Main", "programId": 1, "closingBalance": "30000.000"},
                {"pointsCategory": "Main", "programId": 2, "closingBalance": "12703.000"},
                {
                    "pointsCategory": "DelayedAccrualPointCategory",
                    "programId": 1,
                    "closingBalance": "5",
                },
            ]
        }
    }
    ex = make_exchange("getCustomerLedgerBalance", data)
    assert closing_balance(ex) == Decimal("42703.000")
    assert closing_balance(ex, program_id=2) == Decimal("12703.000")
    assert closing_balance(ex, program_id=3) is None
    assert closing_balance(make_exchange("getCustomerLedgerBalance", "nope")) is None


def ledger_of(*entries: dict[str, Any]) -> Exchange:
    return make_exchange("getCustomerLedgerInfo", ledger_body(list(entries)))


OLD = entry(1, "2025-01-01 00:00:00.0", [row("CREDIT", "100.00")], "100.000")
DEBIT = {
    **entry(2, "2025-01-02 00:00:00.0", [row("DEBIT", "15.00")], "-15.000"),
    "eventName": "PointsTransfer",
}
CREDIT = {
    **entry(3, "2025-01-02 00:00:00.0", [row("CREDIT", "15.00")], "15.000"),
    "eventName": "PointsTransfer",
}


@pytest.mark.parametrize(
    ("ex", "source_after", "destination_after", "wanted"),
    [
        (transfer(15.0, 15), ledger_of(DEBIT, OLD), ledger_of(CREDIT, OLD), []),
        (transfer(15.0, 15), ledger_of(OLD), ledger_of(CREDIT, OLD), ["XFER-STATE-LEDGER"]),
        (transfer(15.0, 15), ledger_of(DEBIT, OLD), ledger_of(DEBIT, OLD), ["XFER-STATE-LEDGER"]),
        (
            transfer(20.0, 20),
            ledger_of(DEBIT, OLD),
            ledger_of(CREDIT, OLD),
            ["XFER-STATE-LEDGER"] * 2,
        ),
        (transfer(status=400), ledger_of(OLD), ledger_of(OLD), []),
        (transfer(status=400), ledger_of(DEBIT, OLD), ledger_of(OLD), ["XFER-STATE-REJECTED"]),
    ],
    ids=[
        "both shown",
        "source missing",
        "destination debited",
        "other amount",
        "refused",
        "refused but shown",
    ],
)
def test_transfer_ledger(
    ex: Exchange, source_after: Exchange, destination_after: Exchange, wanted: list[str]
) -> None:
    found = check_transfer_ledger(
        LENIENT,
        transfer=ex,
        source_before=ledger_of(OLD),
        source_after=source_after,
        destination_before=ledger_of(OLD),
        destination_after=destination_after,
    )
    assert [f.requirement for f in found] == wanted


def test_transfer_ledger_without_before_reads_all_entries() -> None:
    found = check_transfer_ledger(
        LENIENT,
        transfer=transfer(15.0, 15),
        source_after=ledger_of(OLD, DEBIT),
        destination_after=ledger_of(CREDIT),
    )
    assert found == []


@pytest.mark.parametrize(
    ("ex", "items", "status", "flagged"),
    [
        (transfer(transfer_id=100), [{"transferId": 99}, {"transferId": 100}], 200, False),
        (transfer(transfer_id=100), [{"transferId": 99}], 200, True),
        (transfer(15.0, 15, transfer_id=None), [{"pointsTransferred": 15.0}], 200, False),
        (transfer(15.0, 15, transfer_id=None), [{"pointsTransferred": 14.0}], 200, True),
        (transfer(transfer_id=100), [], 500, True),
        (transfer(status=400), [], 200, False),
    ],
    ids=["listed", "not listed", "by amount", "other amount", "history fails", "refused transfer"],
)
def test_transfer_history(
    ex: Exchange, items: list[dict[str, Any]], status: int, flagged: bool
) -> None:
    history = make_exchange("getPointsTransfers", {"data": items}, status=status)
    found = check_transfer_history(LENIENT, transfer=ex, history=history)
    assert bool(found) is flagged
    assert all(f.requirement == "XFER-STATE-HISTORY" and f.exchange is history for f in found)


REVERSAL_EVENT = {
    **entry(5, "2025-01-03 00:00:00.0", [row("CREDIT", "10.00")], "10.000"),
    "eventName": "PointsRedemptionReversal",
}


@pytest.mark.parametrize(
    ("reversed_points", "after", "flagged"),
    [
        (10.0, ledger_of(REVERSAL_EVENT, OLD), False),
        (10.0, ledger_of(OLD), True),
        (12.0, ledger_of(REVERSAL_EVENT, OLD), True),
    ],
    ids=["shown", "missing", "other amount"],
)
def test_reversal_ledger(reversed_points: float, after: Exchange, flagged: bool) -> None:
    ex = reverse(
        {**SENT, "pointsReversed": reversed_points}, {**SENT, "pointsToBeReversed": reversed_points}
    )
    found = check_reversal_ledger(LENIENT, reversal=ex, before=ledger_of(OLD), after=after)
    assert bool(found) is flagged
    assert all(f.requirement == "REV-STATE-LEDGER" for f in found)


@pytest.mark.parametrize(
    ("status", "before", "after", "requirement", "flagged"),
    [
        (200, "50", "60", None, False),
        (200, "50", "50", None, True),
        (400, "50", "50", "REV-STATE-TWICE", False),
        (400, "50", "60", "REV-STATE-TWICE", True),
    ],
)
def test_reversal_balance(
    status: int, before: str, after: str, requirement: str | None, flagged: bool
) -> None:
    shown = (
        {**SENT, "pointsReversed": 10.0}
        if status == 200
        else {"errors": [{"code": 3802, "message": "x"}]}
    )
    ex = reverse(shown, SENT, status=status)
    found = compare_reversal_balance(
        LENIENT, reversal=ex, before=reading(before), after=reading(after), requirement=requirement
    )
    assert bool(found) is flagged
    assert all(f.requirement == (requirement or "REV-STATE-BALANCE") for f in found)


@pytest.mark.parametrize(
    ("status", "code", "lenient", "strict"),
    [
        (400, 3802, False, False),
        (400, 812, False, True),
        (200, None, True, True),
        (400, 902, True, True),
    ],
)
def test_second_reversal(status: int, code: int | None, lenient: bool, strict: bool) -> None:
    shown = (
        {**SENT, "pointsReversed": 10.0}
        if code is None
        else {"errors": [{"code": code, "message": "x"}]}
    )
    ex = reverse(shown, SENT, status=status)
    assert bool(check_reversal_twice(LENIENT, ex)) is lenient
    found = check_reversal_twice(STRICT, ex)
    assert bool(found) is strict
    assert all(f.requirement == "REV-STATE-TWICE" for f in found)


@pytest.mark.parametrize(
    ("before", "after", "lenient", "strict"),
    [
        ("100.00", "85.00", False, False),
        ("100.0", "85.04", False, True),
        ("100.00", "85.02", True, True),
    ],
)
def test_balances_may_differ_by_their_display_rounding(
    before: str, after: str, lenient: bool, strict: bool
) -> None:
    values = (
        BalanceReading(Decimal(before)),
        BalanceReading(Decimal(after)),
        reading("0"),
        reading("15"),
    )
    for ctx, flagged in ((LENIENT, lenient), (STRICT, strict)):
        found = compare_transfer(
            ctx,
            transfer=transfer(15.0, 15),
            source_before=values[0],
            source_after=values[1],
            destination_before=values[2],
            destination_after=values[3],
        )
        assert bool(found) is flagged, ctx.mode


@pytest.mark.parametrize(("warnings", "wanted"), [(WARNED, set()), ([], {"REV-SCHEMA-RESPONSE"})])
def test_a_warned_reversal_is_not_held_to_a_success_shape_by_default(
    warnings: list[dict[str, Any]], wanted: set[str]
) -> None:
    """Against the real description: a 2xx whose warning says nothing was reversed is the
    default run's refusal (D-036), so its nulls are no success body's."""
    shown = {"redemptionId": None, "identifier": None, "pointsReversed": 0, "warnings": warnings}
    ex = reverse(shown, SENT)
    assert {f.requirement for f in findings(REAL_LENIENT, ex, "REV-SCHEMA-RESPONSE")} == wanted
