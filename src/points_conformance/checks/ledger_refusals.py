"""The refusal codes of the v2 ledger that the request alone decides (001's error table).

001 ties several codes to what a request carries: 8013 "Lookup, Invalid identifier passed",
11007 "Invalid ledgerEntryType", 11008 "Invalid pointCategoryType", 11025 for a tillId that is
not a number, 11028 for more than one of tillId, tillIds, storeId and storeCode, 11029 "Limit
cannot be greater than 100". A matrix test sends such a request on purpose and names the code;
a judge of traffic sees the request and can say the same, provided it blames a refusal only for
a code the request cannot have earned. So a refusal of a request with exactly one of these
faults is judged when none of its codes is the stated one and each code it carries names a
condition the request plainly does not meet (another of these faults, an unknown till or store
where no till or store was asked for, an unknown customer where the identifier type itself is
unsupported). Whether such a request is refused at all is judged elsewhere (LEDGER-LIMIT-MAX)
or only by the tests that know they sent it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from points_conformance.checks.context import CheckContext
from points_conformance.checks.errors import refusal_codes
from points_conformance.checks.findings import finding
from points_conformance.checks.ledger import ENTRY_TYPES, MAX_LIMIT, V2, is_v2_customer_form
from points_conformance.checks.readers import (
    body,
    has_param,
    int_param,
    is_success,
    param,
    refused_in_body,
)
from points_conformance.checks.registry import check, credit
from points_conformance.model import Exchange, Finding

CATEGORY_TYPES = frozenset({"REGULAR", "PROMISED", "TRIGGER_BASED"})
# Every identifier type some page lists for the v2 ledger (D-003: the pages' lists differ), so
# only a type no page names is unsupported.
IDENTIFIER_NAMES = frozenset(
    n.lower()
    for n in (
        "id",
        "email",
        "mobile",
        "externalId",
        "cardnumber",
        "cardExternalId",
        "groupId",
        "primaryUserId",
    )
)
TILL_FILTERS = ("tillId", "tillIds", "storeId", "storeCode")
_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$")
# Codes that only a looked-up customer can earn: an unsupported identifier type looks none up.
_LOOKUP_CODES = frozenset({8015, 11012})


def _not_in(allowed: frozenset[str], name: str) -> Callable[[Exchange], bool]:
    def wrong(ex: Exchange) -> bool:
        value = param(ex, name)
        # Case is not stated: only a value no allowed one matches in any case is invalid.
        return value is not None and value.strip().upper() not in allowed

    return wrong


def _identifier_unsupported(ex: Exchange) -> bool:
    value = param(ex, "identifierName")
    return value is not None and value.strip().lower() not in IDENTIFIER_NAMES


def _till_not_a_number(ex: Exchange) -> bool:
    value = param(ex, "tillId")
    return value is not None and value.strip() != "" and not _NUMBER.match(value)


def _several_till_filters(ex: Exchange) -> bool:
    return sum(has_param(ex, name) for name in TILL_FILTERS) > 1


def _over_limit(ex: Exchange) -> bool:
    limit = int_param(ex, "limit")
    return limit is not None and limit > MAX_LIMIT


# code -> (whether the request has the fault, whether only the customer form documents it).
STATED: dict[int, tuple[Callable[[Exchange], bool], bool]] = {
    8013: (_identifier_unsupported, False),
    11007: (_not_in(ENTRY_TYPES, "ledgerEntryType"), True),
    11008: (_not_in(CATEGORY_TYPES, "pointCategoryType"), True),
    11025: (_till_not_a_number, False),
    11028: (_several_till_filters, False),
    11029: (_over_limit, False),
}


def stated_codes(ex: Exchange) -> set[int]:
    """The codes of `STATED` whose fault this request has."""
    customer = is_v2_customer_form(ex)
    return {
        code
        for code, (wrong, customer_only) in STATED.items()
        if (customer or not customer_only) and wrong(ex)
    }


def _absent(*names: str) -> Callable[[Exchange], bool]:
    return lambda ex: not any(has_param(ex, name) for name in names)


def _valid_or_absent(allowed: frozenset[str], name: str) -> Callable[[Exchange], bool]:
    def fine(ex: Exchange) -> bool:
        value = param(ex, name)
        return value is None or value.strip().upper() in allowed

    return fine


def _tills_numeric(ex: Exchange) -> bool:
    values = [v for k, v in ex.request.params if k in ("tillId", "tillIds")]
    items = [item for v in values for item in v.split(",")]
    return all(_NUMBER.match(item) for item in items)


def _limit_in_range(ex: Exchange) -> bool:
    limit = int_param(ex, "limit")
    return not has_param(ex, "limit") or (limit is not None and limit <= MAX_LIMIT)


# What a request plainly does that no refusal with the code can be about (8013 is not here:
# which identifier types each form supports is open, D-003).
_CANNOT_EARN: dict[int, Callable[[Exchange], bool]] = {
    11007: _valid_or_absent(ENTRY_TYPES, "ledgerEntryType"),
    11008: _valid_or_absent(CATEGORY_TYPES, "pointCategoryType"),
    11025: _tills_numeric,
    11026: _absent("storeId", "storeCode"),
    11027: _absent("tillIds"),
    11028: lambda ex: not _several_till_filters(ex),
    11029: _limit_in_range,
}


def _cannot_have_earned(ex: Exchange, code: int, stated: set[int]) -> bool:
    """Whether the request plainly does not meet the condition `code` names."""
    if code in _LOOKUP_CODES:
        return 8013 in stated
    rule = _CANNOT_EARN.get(code)
    return rule is not None and rule(ex)


@check(
    "ledger.refusal_code", requirements=tuple(f"LEDGER-ERR-{c}" for c in STATED), operations=(V2,)
)
def refusal_code(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    """A refusal of a request 001 gives one code for carries that code, not a neighbour's."""
    stated = stated_codes(ex)
    if len(stated) != 1:
        return []
    refused = not is_success(ex) or refused_in_body(ex, strict=ctx.strict)
    codes = refusal_codes(body(ex)) if refused else []
    if not codes:
        return []
    (wanted,) = stated
    requirement = f"LEDGER-ERR-{wanted}"
    if wanted in codes:
        credit(requirement)
        return []
    if not all(_cannot_have_earned(ex, c, stated) for c in codes):
        return []
    credit(requirement)
    shown = ", ".join(map(str, codes))
    return [
        finding(
            requirement,
            f"the request was refused with code {shown} instead of {wanted}",
            expected=f"error {wanted} (001's error table)",
            actual=f"HTTP {ex.response.status} with code {shown}, whose condition the request "
            "does not meet",
            exchange=ex,
        )
    ]
