"""Transfers, transfer checks and reversals (003): what one answer must say about its request.

The schema covers the shape of these answers; the rules here cover values that must agree with
the request (echoed amounts, entity types, the redemption reversed). What must change on the
server afterwards is judged in transfer_state.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from points_conformance.checks.context import CheckContext
from points_conformance.checks.discrepancies import (
    D_ECHO_GROUP,
    D_ECHO_TRANSFER,
    D_REVERSE_ID_TYPE,
)
from points_conformance.checks.errors import refused_in_success, reversed_nothing
from points_conformance.checks.findings import capped, finding
from points_conformance.checks.readers import (
    as_dict,
    dicts,
    refused_in_body,
    same_id,
    success_object,
    to_decimal,
)
from points_conformance.checks.registry import check, credit
from points_conformance.model import Exchange, Finding
from points_conformance.operations import CHECK_OPERATIONS, TRANSFER_OPERATIONS

REVERSE_OPERATION = "reversePoints"


def request_body(ex: Exchange) -> dict[str, Any]:
    return ex.request.body if isinstance(ex.request.body, dict) else {}


def data_items(ex: Exchange) -> list[dict[str, Any]]:
    data = success_object(ex)
    return dicts(data.get("data")) if data is not None else []


def requested_amount(ex: Exchange) -> Decimal | None:
    return to_decimal(request_body(ex).get("pointsTobeTransferred"))


def _echo_findings(
    ex: Exchange, requirement: str, field_name: str, discrepancy: str
) -> list[Finding]:
    asked = requested_amount(ex)
    if asked is None or not data_items(ex):
        return []
    credit(requirement)
    wrong = [
        f"data[{index}].{field_name} {shown}"
        for index, item in enumerate(data_items(ex))
        if (shown := to_decimal(item.get(field_name))) is not None and shown != asked
    ]
    if not wrong:
        return []
    return [
        finding(
            requirement,
            f"{field_name} in the answer is not the pointsTobeTransferred requested",
            expected=f"{field_name} {asked}",
            actual="; ".join(wrong),
            exchange=ex,
            discrepancy=discrepancy,
        )
    ]


@check(
    "transfer.check_echo",
    requirements=("XFERCHK-ARITH-ECHO",),
    operations=CHECK_OPERATIONS,
)
def check_echo(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    # The pages answer 10.5 with 10.0; only the strict reading compares the echo.
    if not ctx.strict:
        return []
    return _echo_findings(ex, "XFERCHK-ARITH-ECHO", "pointsTobeTransferred", D_ECHO_GROUP)


@check(
    "transfer.transfer_echo",
    requirements=("XFER-ARITH-ECHO",),
    operations=TRANSFER_OPERATIONS,
)
def transfer_echo(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    # 003 answers 123 requested points with 15.0; balances decide in the default run.
    if not ctx.strict:
        return []
    discrepancy = D_ECHO_GROUP if ex.operation == "transferPointsUserGroup" else D_ECHO_TRANSFER
    return _echo_findings(ex, "XFER-ARITH-ECHO", "pointsTransferred", discrepancy)


@check(
    "transfer.transferrable_answer",
    requirements=("XFERCHK-FORMAT-TRANSFERRABLE",),
    operations=CHECK_OPERATIONS,
)
def transferrable_answer(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    if success_object(ex) is None or refused_in_success(ex, strict=ctx.strict):
        return []
    items = data_items(ex)
    answers = [item.get("transferrable") for item in items]
    credit("XFERCHK-FORMAT-TRANSFERRABLE")
    if answers and all(isinstance(a, bool) for a in answers):
        return []
    return [
        finding(
            "XFERCHK-FORMAT-TRANSFERRABLE",
            "a successful check does not say whether the points are transferrable",
            expected='data: [{"transferrable": true|false, ...}] with at least one item',
            actual="data: " + (", ".join(repr(a) for a in answers) if items else "no items"),
            exchange=ex,
        )
    ]


@check(
    "transfer.result",
    requirements=("XFER-FORMAT-RESULT",),
    operations=TRANSFER_OPERATIONS,
)
def transfer_result(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    if success_object(ex) is None or refused_in_success(ex, strict=ctx.strict):
        return []
    items = data_items(ex)
    asked = requested_amount(ex)
    credit("XFER-FORMAT-RESULT")
    # No page has a table of this answer (D-103): only the strict run wants `data` in it.
    problems: list[str] = [] if items or not ctx.strict else ["data has no transfer"]
    for index, item in enumerate(items):
        moved = to_decimal(item.get("pointsTransferred"))
        if moved is not None and moved <= 0:
            problems.append(f"data[{index}].pointsTransferred {moved} is not positive")
        if moved is not None and asked is not None and moved > asked:
            problems.append(
                f"data[{index}].pointsTransferred {moved} is more than the {asked} requested"
            )
        problems += _entity_echo(ex, item, index)
    if not problems:
        return []
    return [
        finding(
            "XFER-FORMAT-RESULT",
            "the transfer's answer does not describe the transfer requested",
            expected="data with the transfer made: pointsTransferred above 0 and not above "
            "pointsTobeTransferred; fromEntityType/toEntityType as sent",
            actual=capped(problems),
            exchange=ex,
        )
    ]


def _entity_echo(ex: Exchange, item: dict[str, Any], index: int) -> list[str]:
    sent = request_body(ex)
    problems: list[str] = []
    for side in ("from", "to"):
        entity = as_dict(sent.get(f"{side}Entity"))
        shown = item.get(f"{side}EntityType")
        wanted = entity.get("type") if entity is not None else None
        if isinstance(shown, str) and isinstance(wanted, str) and shown.upper() != wanted.upper():
            problems.append(f"data[{index}].{side}EntityType {shown}, {side}Entity.type {wanted}")
    return problems


def transfer_amount(ex: Exchange) -> Decimal | None:
    """The N of "a transfer of N points": the amount requested, else the amount answered.

    The answer's pointsTransferred may differ from the request in the default run;
    the balances must show what was asked for. A 2xx whose `errors` carry a code refused the
    transfer (D-016): it moved nothing.
    """
    if refused_in_body(ex, strict=False):
        return Decimal(0)
    asked = requested_amount(ex)
    if asked is not None:
        return asked
    for item in data_items(ex):
        amount = to_decimal(item.get("pointsTransferred"))
        if amount is not None:
            return amount
    return None


# 003: "Supported values: mobile, email, externalId." It states no refusal of another type, so
# the default run takes an answer naming the type the server matched the value by (D-098).
REVERSE_ID_TYPES = frozenset({"mobile", "email", "externalid"})


def _unlisted_type(sent: dict[str, Any]) -> bool:
    kind = sent.get("type")
    return isinstance(kind, str) and kind.casefold() not in REVERSE_ID_TYPES


@check(
    "transfer.reverse_echo",
    requirements=("REV-FORMAT-ECHO",),
    operations=(REVERSE_OPERATION,),
)
def reverse_echo(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    data = success_object(ex)
    if data is None:
        return []
    sent = request_body(ex)
    echo: list[str] = []
    sent_id = sent.get("redemptionId")
    shown_id = data.get("redemptionId")
    if sent_id is not None and shown_id is not None:
        credit("REV-FORMAT-ECHO")
    if sent_id is not None and shown_id is not None and not same_id(shown_id, str(sent_id)):
        echo.append(f"redemptionId {shown_id!r} for {sent_id!r}")
    sent_identifier = as_dict(sent.get("identifier"))
    shown_identifier = as_dict(data.get("identifier"))
    open_type = False
    if sent_identifier is not None and shown_identifier is not None:
        open_type = _unlisted_type(sent_identifier)
        for key in ("value",) if open_type and not ctx.strict else ("type", "value"):
            a, b = sent_identifier.get(key), shown_identifier.get(key)
            if isinstance(a, str) and isinstance(b, str) and a.casefold() != b.casefold():
                echo.append(f"identifier.{key} {b!r} for {a!r}")
    if not echo:
        return []
    return [
        finding(
            "REV-FORMAT-ECHO",
            "the reversal's answer names another redemption or customer",
            expected="redemptionId and identifier as sent",
            actual="; ".join(echo),
            exchange=ex,
            discrepancy=D_REVERSE_ID_TYPE
            if open_type and all(e.startswith("identifier.type") for e in echo)
            else None,
        )
    ]


@check(
    "transfer.reversed_points",
    requirements=("REV-ARITH-BOUND",),
    operations=(REVERSE_OPERATION,),
)
def reversed_points(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    data = success_object(ex)
    # A warning that nothing was reversed (003's 901 to 905) makes pointsReversed 0 the truth.
    if data is None or reversed_nothing(ex):
        return []
    shown = to_decimal(data.get("pointsReversed"))
    asked = to_decimal(request_body(ex).get("pointsToBeReversed"))
    if shown is None:
        return []
    # 003: "pointsToBeReversed ... The number of points be reversed." The sample's 20 for 10
    # is an example, not a rule.
    if shown <= 0:
        problem = "not positive"
    elif asked is not None and shown != asked:
        problem = f"{'more' if shown > asked else 'less'} than the {asked} requested"
    else:
        return []
    return [
        finding(
            "REV-ARITH-BOUND",
            f"pointsReversed is {problem}",
            expected=f"pointsReversed equal to {asked}"
            if asked is not None
            else "pointsReversed > 0",
            actual=f"pointsReversed {shown}",
            exchange=ex,
        )
    ]


def reversed_amount(ex: Exchange) -> Decimal | None:
    """The points a reversal returned: pointsReversed as answered, else the amount asked for."""
    data = success_object(ex)
    shown = to_decimal(data.get("pointsReversed")) if data is not None else None
    return shown if shown is not None else to_decimal(request_body(ex).get("pointsToBeReversed"))
