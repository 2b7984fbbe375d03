"""How the points and cross-member case rows are judged in each stance, on crafted answers.

Rows whose outcome no page states accept every reasonable answer in the default run and one in
--conformance-strict; rows whose outcome a page states fail a violating answer in both.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance._cases import Case, load_table
from conformance._points import group_actor, judge, unless_permitted
from conformance.test_transfer_history import _strangers
from points_conformance.model import Finding
from points_conformance.plugin.fixtures import TargetDataMissing
from points_conformance.target import Customer, Group, TargetData

from .test_checks_support import LENIENT, STRICT, make_exchange


def _row(table: str, case_id: str) -> Case:
    return next(c for c in load_table(table) if c.id == case_id)


def _judge(ctx: Any, table: str, case_id: str, status: int, body: Any) -> list[Finding]:
    case = _row(table, case_id)
    ex = make_exchange(case.operation, body, status=status)
    return judge(ctx, case, ex)


def _refusal(code: int) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": "refused"}]}


ANSWERED = {"data": [{"transferrable": True}], "warnings": [], "errors": []}
NOT_TRANSFERRABLE = {"data": [{"transferrable": False}], "warnings": [], "errors": []}
TRANSFERRED = {"data": [{"transferId": 1, "pointsTransferred": 2}], "warnings": [], "errors": []}
NO_HISTORY: dict[str, list[dict[str, Any]]] = {"data": [], "warnings": [], "errors": []}
SOME_HISTORY = {"data": [{"transferId": 9}], "warnings": [], "errors": []}

# (table, case, status, body, passes in the default run, passes in strict)
ROWS = [
    # 418 and destination checks: toCustomer "not validated currently" (D-085).
    ("points_transfer_check", "same-customer", 200, ANSWERED, True, False),
    ("points_transfer_check", "same-customer", 200, NOT_TRANSFERRABLE, True, False),
    ("points_transfer_check", "same-customer", 400, _refusal(418), True, True),
    ("points_transfer_check", "same-customer", 400, _refusal(801), False, False),
    ("points_transfer_check", "to-merged", 200, ANSWERED, True, False),
    ("points_transfer_check_group", "to-unknown-customer", 200, ANSWERED, True, False),
    ("points_transfer_check_group", "same-customer", 200, ANSWERED, True, False),
    ("points_transfer_errors", "same-customer", 200, TRANSFERRED, True, False),
    ("points_transfer_errors", "missing-to", 200, TRANSFERRED, True, False),
    ("points_transfer_errors", "missing-to", 422, {"detail": "no"}, True, False),
    # 801 is not tied to an operation (D-086).
    ("points_transfer_check", "points-negative", 400, _refusal(400), True, False),
    ("points_transfer_check", "points-negative", 200, NOT_TRANSFERRABLE, True, False),
    ("points_transfer_check", "points-negative", 200, ANSWERED, False, False),
    ("points_transfer_check", "points-zero", 200, ANSWERED, True, False),
    ("points_transfer_check_group", "points-text", 200, NOT_TRANSFERRABLE, True, False),
    ("points_transfer_errors", "points-zero", 400, _refusal(801), True, True),
    ("points_transfer_errors", "points-zero", 200, TRANSFERRED, True, False),
    # A missing OTP must be refused (003: "you cannot transfer points without OTP"); 808 is
    # strict (D-087).
    ("points_transfer_errors", "code-missing", 400, _refusal(400), True, False),
    ("points_transfer_errors", "code-missing", 400, _refusal(808), True, True),
    ("points_transfer_errors", "code-missing", 200, TRANSFERRED, False, False),
    ("points_transfer_errors", "code-empty", 200, TRANSFERRED, False, False),
    # A refusal carried by a 2xx answer's errors list (D-016).
    ("points_transfer_errors", "code-wrong", 200, _refusal(808), True, False),
    ("points_transfer_errors", "code-wrong", 200, _refusal(801), False, False),
    # Fraud: any of the six fraud codes (D-049), but never the code 003 gives to the other side.
    *(
        (table, case_id, 400, _refusal(code), lenient, strict)
        for table in ("points_transfer_check", "points_transfer_check_group")
        for case_id, code, lenient, strict in (
            ("from-fraud", 415, True, True),
            ("from-fraud", 809, True, False),
            ("from-fraud", 414, False, False),
            ("to-fraud", 414, True, True),
            ("to-fraud", 417, True, False),
            ("to-fraud", 415, False, False),
        )
    ),
    # Over-reversal: 901 or 810 (D-088).
    ("points_reverse_errors", "points-above-redeemed", 400, _refusal(810), True, False),
    ("points_reverse_errors", "points-above-redeemed", 400, _refusal(901), True, True),
    ("points_reverse_errors", "points-above-redeemed", 400, _refusal(804), False, False),
    # An unknown party's history: refused or empty (D-089).
    ("points_transfer_history", "customer-unknown", 200, NO_HISTORY, True, False),
    ("points_transfer_history", "customer-unknown", 200, SOME_HISTORY, False, False),
    ("points_transfer_history", "customer-unknown", 400, _refusal(802), True, False),
    ("points_transfer_history", "customer-unknown", 400, _refusal(816), True, True),
    ("points_transfer_history", "group-unknown", 200, NO_HISTORY, True, False),
    # crossMemberLedger: no code for an id matching no customer (D-053), a page past the last
    # (D-090).
    ("cml_params", "customer-unknown", 404, _refusal(404), True, False),
    ("cml_params", "customer-unknown", 400, _refusal(3401), True, True),
    ("cml_params", "customer-unknown", 200, {"entries": []}, False, False),
    ("cml_params", "pageNumber-past-last", 400, _refusal(1003), True, False),
]


@pytest.mark.parametrize(
    ("table", "case_id", "status", "body", "lenient", "strict"),
    ROWS,
    ids=[f"{r[1]}-{r[2]}-{i}" for i, r in enumerate(ROWS)],
)
def test_case_rows_in_each_stance(
    table: str, case_id: str, status: int, body: Any, lenient: bool, strict: bool
) -> None:
    for ctx, passes in ((LENIENT, lenient), (STRICT, strict)):
        found = _judge(ctx, table, case_id, status, body)
        assert (found == []) is passes, (ctx.mode, [f.message for f in found])


def test_the_removed_customer_userentitytype_row_stays_removed() -> None:
    # userEntityType is not in the history table (D-020): it is not sent for a customer.
    ids = {c.id for c in load_table("points_transfer_history")}
    assert "customer-userEntityType" not in ids


@pytest.mark.parametrize(
    ("item", "lenient", "strict"),
    [
        ({"transferId": 1, "fromEntityId": 7, "toEntityId": 8}, True, True),
        ({"transferId": 2, "fromEntityId": 9, "toEntityId": 7}, True, False),
        (
            {"transferId": 3, "transferredFrom": {"userId": 9}, "transferredTo": {"userId": 7}},
            True,
            False,
        ),
        ({"transferId": 4, "fromEntityId": 9, "toEntityId": 8}, False, False),
    ],
    ids=["from the party", "to the party", "to the party, party objects", "neither"],
)
def test_history_direction(item: dict[str, Any], lenient: bool, strict: bool) -> None:
    # 003: "the history of points transferred from a group or customer"; incoming ones are the
    # default run's other reading (D-097).
    ex = make_exchange("getPointsTransfers", {"data": [item], "warnings": [], "errors": []})
    for ctx, passes in ((LENIENT, lenient), (STRICT, strict)):
        assert (_strangers(ctx, "XFERHIST-PARAM-IDENTIFIER", "7", ex) == []) is passes


@pytest.mark.parametrize(
    ("status", "body", "headers", "passes"),
    [
        (400, _refusal(804), {}, True),
        (400, _refusal(804), {"X-Sandbox-OTP": "123456"}, False),
        (200, NOT_TRANSFERRABLE, {"X-Sandbox-OTP": "123456"}, False),
    ],
    ids=["refused, no OTP", "refused with an OTP", "answered with an OTP"],
)
def test_no_otp_when_not_transferrable(
    status: int, body: Any, headers: dict[str, str], passes: bool
) -> None:
    # 003: "Sends OTP to the fromCustomer if the specified points are transferrable."
    case = _row("points_transfer_check", "issueOtp-not-transferrable")
    target = TargetData(transfer={"otp_header": "X-Sandbox-OTP"})
    ex = make_exchange(case.operation, body, status=status, response_headers=headers)
    for ctx in (LENIENT, STRICT):
        found = judge(ctx, case, ex, target=target)
        otp = [f for f in found if "OTP" in f.message]
        assert (otp == []) is passes


def test_unlisted_reverse_identifier_type() -> None:
    # 003 lists "Supported values: mobile, email, externalId." and states no refusal (D-098).
    answered = {"redemptionId": "54ZNkA", "pointsReversed": 1, "warnings": []}
    lenient = _judge(LENIENT, "points_reverse_errors", "identifier-type-unknown", 200, answered)
    strict = _judge(STRICT, "points_reverse_errors", "identifier-type-unknown", 200, answered)
    assert lenient == [] and strict != []
    refused = _judge(STRICT, "points_reverse_errors", "identifier-type-unknown", 400, _refusal(400))
    assert refused == []


def test_unlisted_reverse_identifier_type_refused_as_a_warning() -> None:
    # A 2xx that reports the refusal as warning 904 (D-036) is judged as that refusal, not as
    # a reversal of 0 points.
    warned = {"warnings": [{"code": 904, "message": "Invalid customer details passed."}]}
    found = _judge(LENIENT, "points_reverse_errors", "identifier-type-unknown", 200, warned)
    assert found == []


# 003 on userGroup2/isTransferrable and userGroup2/transfer: "transferredBy* | obj | Details of
# the user who is transferring points. The user should have permission to transfer points."
def _group_target(transferred_by: str | None) -> TargetData:
    return TargetData(
        customers={"transfer_to": Customer(role="transfer_to", mobile="919000000008")},
        groups={"usergroup2": Group(role="usergroup2", id="7001", transferred_by=transferred_by)},
    )


def test_a_group_transfer_by_an_unnamed_user_that_is_refused_is_left_unchecked() -> None:
    target = _group_target(None)
    assert group_actor(target) == {"mobile": "919000000008"}
    refused = make_exchange(
        "transferPointsUserGroup",
        {"errors": [{"code": 400, "message": "no permission"}]},
        status=400,
    )
    with pytest.raises(TargetDataMissing) as skipped:
        unless_permitted(target, refused)
    assert skipped.value.keys == ("groups.usergroup2.transferred_by",)
    unless_permitted(target, make_exchange("transferPointsUserGroup", {"data": []}))


def test_a_refused_group_transfer_by_the_named_user_is_judged() -> None:
    target = _group_target("919000000002")
    assert group_actor(target) == {"mobile": "919000000002"}
    refused = make_exchange("transferPointsUserGroup", {"errors": []}, status=400)
    unless_permitted(target, refused)  # no skip: the case then fails on the refusal
