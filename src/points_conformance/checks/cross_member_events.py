"""Rules for what cross-member entries say about the redemptions and reversals they record.

002 gives a redemption a status and, on each row, the amount reversed since; a reversal has
neither. The statuses must follow from the amounts, and the points carry the event's sign.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from points_conformance.checks.context import CheckContext
from points_conformance.checks.cross_member import (
    EVENT_NAMES,
    OPS,
    REDEMPTION,
    REVERSAL,
    cml_entries,
    cml_page,
    entry_label,
    null_only,
    present,
    shown_where_absent,
)
from points_conformance.checks.discrepancies import D_CML_REVERSALS, D_NULL_AS_ABSENT
from points_conformance.checks.findings import problems_finding
from points_conformance.checks.readers import dicts, has_param, to_decimal
from points_conformance.checks.registry import check, credit
from points_conformance.checks.rounding import sum_agrees
from points_conformance.model import Exchange, Finding

# --------------------------------------------------------------------------------------------
# reversal status


def row_status(points: Decimal, reversed_amount: Decimal) -> str | None:
    """The per-row status 002 implies for a row's reversed amount; None when it is undefined."""
    magnitude = abs(points)
    if magnitude == 0:
        return None
    if reversed_amount == 0:
        return "ACTIVE"
    if reversed_amount == magnitude:
        return "REVERSED"
    return "PARTIALLY_REVERSED"


def aggregate_status(statuses: Iterable[str]) -> str:
    listed = list(statuses)
    if all(s == "ACTIVE" for s in listed):
        return "ACTIVE"
    if all(s == "REVERSED" for s in listed):
        return "REVERSED"
    return "PARTIALLY_REVERSED"


# Over 80 lines: bounds, row statuses and the aggregate are one pass over the rows they share.
@check(
    "cml.reversal_status",
    requirements=("CML-REVERSED-BOUNDS", "CML-STATUS-ROW", "CML-STATUS-AGGREGATE"),
    operations=OPS,
)
def reversal_status(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    """reversedAmount lies within the row's points; the statuses follow from it (strict only).

    002 gives reversedAmount no sign (its example is positive against negative points), and
    ties neither status to the amounts except by example (D-094): the default run compares
    magnitudes and leaves the statuses to --conformance-strict.
    """
    bounds: list[str] = []
    sign_only = True
    rows_bad: list[str] = []
    aggregate_bad: list[str] = []
    for index, entry in enumerate(cml_entries(ex)):
        label = entry_label(entry, index)
        rows = dicts(entry.get("entryDetails"))
        for row_index, row in enumerate(rows):
            points = to_decimal(row.get("points"))
            reversed_amount = to_decimal(row.get("reversedAmount"))
            if points is None or reversed_amount is None:
                continue
            where = f"{label} row {row_index} (customerId {row.get('customerId')})"
            credit("CML-REVERSED-BOUNDS")
            shown_amount = reversed_amount if ctx.strict else abs(reversed_amount)
            if not 0 <= shown_amount <= abs(points):
                bounds.append(f"{where}: reversedAmount {reversed_amount}, points {points}")
                sign_only &= abs(reversed_amount) <= abs(points)
                continue
            if not ctx.strict:
                continue
            implied = row_status(points, reversed_amount)
            shown = row.get("status")
            if implied is not None and isinstance(shown, str):
                credit("CML-STATUS-ROW")
            if implied is not None and isinstance(shown, str) and shown != implied:
                rows_bad.append(
                    f"{where}: status {shown}, but reversedAmount {reversed_amount} "
                    f"of {abs(points)} means {implied}"
                )
        statuses = [row.get("status") for row in rows]
        shown = entry.get("status")
        if (
            ctx.strict
            and isinstance(shown, str)
            and statuses
            and all(
                isinstance(s, str) and s in ("ACTIVE", "REVERSED", "PARTIALLY_REVERSED")
                for s in statuses
            )
        ):
            implied = aggregate_status(s for s in statuses if isinstance(s, str))
            credit("CML-STATUS-AGGREGATE")
            if shown != implied:
                aggregate_bad.append(
                    f"{label}: status {shown}, rows {', '.join(str(s) for s in statuses)}"
                )
    return [
        *problems_finding(
            ex,
            "CML-REVERSED-BOUNDS",
            "reversedAmount outside 0 … |points|",
            "0 ≤ reversedAmount ≤ |points| on every row"
            if ctx.strict
            else "|reversedAmount| ≤ |points| on every row",
            bounds,
            discrepancy=D_CML_REVERSALS if ctx.strict and sign_only else None,
        ),
        *problems_finding(
            ex,
            "CML-STATUS-ROW",
            "row status does not match its reversedAmount",
            "ACTIVE when reversedAmount is 0, REVERSED when it equals |points|, "
            "PARTIALLY_REVERSED in between",
            rows_bad,
            discrepancy=D_CML_REVERSALS,
        ),
        *problems_finding(
            ex,
            "CML-STATUS-AGGREGATE",
            "entry status does not match its rows' statuses",
            "ACTIVE when every row is ACTIVE, REVERSED when every row is REVERSED, "
            "else PARTIALLY_REVERSED",
            aggregate_bad,
            discrepancy=D_CML_REVERSALS,
        ),
    ]


@check(
    "cml.reversed_to_date",
    requirements=("CML-REVERSED-CUMULATIVE",),
    operations=OPS,
)
def reversed_to_date(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    """Each member's reversedAmount on a redemption is what its reversals gave back so far.

    002: reversedAmount is "Cumulative points reversed from this member's contribution to
    date", and transactionRef "Returns entries matching the given reference, including the
    original redemption and any associated reversal". Judged on one complete page of one
    reference, where the redemption and all its reversals are listed; magnitudes are compared,
    since 002 gives reversedAmount no sign (D-094).
    """
    entries = cml_entries(ex)
    page = cml_page(ex)
    if not has_param(ex, "transactionRef") or page is None:
        return []
    # Every match is on this page: the total says so, or a first page that is not full.
    first_short = page.page_number in (None, 1) and len(entries) < (page.page_size or 0)
    complete = (page.total is not None and page.total <= len(entries)) or first_short
    redemptions = [e for e in entries if e.get("eventName") == REDEMPTION]
    if len(redemptions) != 1 or not complete:
        return []
    restored = _by_member(
        row
        for e in entries
        if e.get("eventName") == REVERSAL
        for row in dicts(e.get("entryDetails"))
    )
    problems: list[str] = []
    for member, amounts in _by_member(
        row for row in dicts(redemptions[0].get("entryDetails")) if "reversedAmount" in row
    ).items():
        shown = [to_decimal(row.get("reversedAmount")) for row in amounts]
        given = [to_decimal(row.get("points")) for row in restored.get(member, [])]
        if any(v is None for v in (*shown, *given)):
            continue
        total = sum((abs(v) for v in shown if v is not None), Decimal(0))
        credit("CML-REVERSED-CUMULATIVE")
        if not sum_agrees(total, [abs(v) for v in given if v is not None], strict=ctx.strict):
            problems.append(
                f"customerId {member}: reversedAmount {total}, reversals gave back "
                f"{sum((abs(v) for v in given if v is not None), Decimal(0))}"
            )
    return problems_finding(
        ex,
        "CML-REVERSED-CUMULATIVE",
        "reversedAmount is not what the redemption's reversals gave back",
        "each member's reversedAmount = the points of its rows on the listed reversals",
        problems,
    )


def _by_member(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        members.setdefault(str(row.get("customerId")), []).append(row)
    return members


@check(
    "cml.conditional_fields",
    requirements=("CML-FIELDS-CONDITIONAL",),
    operations=OPS,
)
def conditional_fields(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    missing: list[str] = []
    extra: list[tuple[str, Any]] = []
    for index, entry in enumerate(cml_entries(ex)):
        label = entry_label(entry, index)
        name = entry.get("eventName")
        rows = dicts(entry.get("entryDetails"))
        places = [(entry, "status", label)] + [
            (row, key, f"{label} row {i}")
            for i, row in enumerate(rows)
            for key in ("reversedAmount", "status")
        ]
        if name in (REDEMPTION, REVERSAL):
            credit("CML-FIELDS-CONDITIONAL")
        for item, key, where in places:
            if name == REDEMPTION and not present(item, key):
                missing.append(f"{where}: no {key}")
            elif name == REVERSAL and shown_where_absent(item, key, ctx.strict):
                extra.append((f"{where}: {key} {item[key]!r}", item[key]))
    return [
        *problems_finding(
            ex,
            "CML-FIELDS-CONDITIONAL",
            f"{REDEMPTION} entries lack status or reversedAmount",
            f"status on every {REDEMPTION} entry; reversedAmount and status on each of its rows",
            missing,
        ),
        *problems_finding(
            ex,
            "CML-FIELDS-CONDITIONAL",
            f"{REVERSAL} entries carry fields 002 shows only on redemptions",
            f"no status on {REVERSAL} entries, no reversedAmount or status on their rows",
            [text for text, _ in extra],
            discrepancy=D_NULL_AS_ABSENT if null_only(extra) else None,
        ),
    ]


@check(
    "cml.sign",
    requirements=("CML-ARITH-SIGN",),
    operations=OPS,
)
def sign(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    problems: list[str] = []
    for index, entry in enumerate(cml_entries(ex)):
        name = entry.get("eventName")
        if name not in EVENT_NAMES:
            continue
        # Redemptions draw points (negative), reversals restore them (positive); zero is
        # neither and is left alone.
        wrong_sign = 1 if name == REDEMPTION else -1
        label = entry_label(entry, index)
        values = [("netPointsOnEvent", entry.get("netPointsOnEvent"))] + [
            (f"row {i} points", row.get("points"))
            for i, row in enumerate(dicts(entry.get("entryDetails")))
        ]
        credit("CML-ARITH-SIGN")
        for what, raw in values:
            number = to_decimal(raw)
            if number is not None and number * wrong_sign > 0:
                problems.append(f"{label} ({name}): {what} {number}")
    return problems_finding(
        ex,
        "CML-ARITH-SIGN",
        "points with the wrong sign for their event",
        f"netPointsOnEvent and points negative on {REDEMPTION}, positive on {REVERSAL}",
        problems,
    )
