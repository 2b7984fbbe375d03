"""getCustomerLedgerBalance: the parameter matrix of page 003 (cases/ledger_balance.yaml), and
the balances against the customer's own ledger (getCustomerLedgerInfo), whole and filtered.

003 never ties a closing balance to the ledger rows (D-080), so the comparisons with the ledger
are strict readings. Balances meant as of now are asked for with an explicit endDate (D-025), and
ledgers meant whole with isFilterBasedOnDate=false (001).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from points_conformance.checks import CheckContext, check_closing_balances
from points_conformance.checks.balance import balance_rows, end_date_now
from points_conformance.checks.ledger import is_currency_row, signed_points
from points_conformance.checks.rounding import sum_agrees
from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, Finding
from points_conformance.operations import PATHS
from points_conformance.plugin.fixtures import FindingsRecorder
from points_conformance.target import TargetData

from ._cases import Case, load_cases
from ._ledger import (
    BALANCE,
    DATE_FORMAT,
    LEDGER_INFO,
    RICH_CUSTOMER,
    created,
    read_all,
    reading_gaps,
    rows,
    run_case,
)

LEDGER_PAGE = 100
BALANCE_PAGE = 10
MAX_PAGES = 20


@pytest.mark.parametrize("case", load_cases("ledger_balance", lock="reads"))
def test_balance(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    findings.add(run_case(case, client=client, target=target, ctx=check_context))


def _query(operation: str, requirement: str, **extra: Any) -> Case:
    """The rich customer's whole ledger, or balances as of now; `extra` adds parameters."""
    extra = (
        {"isFilterBasedOnDate": "false", **extra}
        if operation == LEDGER_INFO
        else {"endDate": end_date_now(), **extra}
    )
    return Case(
        id=f"{operation}-{requirement}",
        requirements=(requirement,),
        operation=operation,
        path=PATHS[operation],
        params={
            **RICH_CUSTOMER,
            **extra,
        },
        expect="ok",
        table="test_ledger_balance",
    )


@pytest.mark.requirement("BAL-ARITH-CLOSING")
@pytest.mark.reads("customers.rich")
def test_closing_balances_sum_the_ledger(
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    """Without filters, each closingBalance is its (program, category) sum over the ledger."""
    if not check_context.strict:
        pytest.skip("BAL-ARITH-CLOSING is a strict reading (D-080)")
    ledger, found = read_all(
        _query(LEDGER_INFO, "BAL-ARITH-CLOSING").resolve(target),
        client=client,
        ctx=check_context,
        size=LEDGER_PAGE,
        max_pages=MAX_PAGES,
    )
    balance, more = read_all(
        _query(BALANCE, "BAL-ARITH-CLOSING").resolve(target),
        client=client,
        ctx=check_context,
        size=BALANCE_PAGE,
        max_pages=MAX_PAGES,
    )
    gaps = _gaps(check_context, (ledger, found), (balance, more))
    found += more
    if gaps is not None:
        findings.add([*found, *gaps])
        return
    found += check_closing_balances(check_context, balance_pages=balance, ledger_pages=ledger)
    findings.add(found)


# Filtered balances: (id, requirement, parameter, value). The balance with that parameter must
# sum the ledger rows it selects: rows created up to endDate (a moment between two events in the
# middle of the history), rows of that ledgerEntryType (debits negative, D-081), or the rows of
# the ledger read with the same tillId. Strict readings all (D-080).
FILTERED: tuple[tuple[str, str, str, str | None], ...] = (
    ("endDate-mid-history", "BAL-FILTER-ENDDATE", "endDate", None),
    ("entryType-CREDIT", "BAL-FILTER-ENTRYTYPE", "ledgerEntryType", "CREDIT"),
    ("entryType-DEBIT", "BAL-FILTER-ENTRYTYPE", "ledgerEntryType", "DEBIT"),
    ("entryType-OPENING_BALANCE", "BAL-FILTER-ENTRYTYPE", "ledgerEntryType", "OPENING_BALANCE"),
    ("tillId-first", "BAL-FILTER-TILL", "tillId", "{customers.rich.till_ids.0}"),
)


@pytest.mark.parametrize(
    ("requirement", "name", "value"),
    [
        pytest.param(req, name, value, id=case_id, marks=pytest.mark.requirement(req))
        for case_id, req, name, value in FILTERED
    ],
)
@pytest.mark.reads("customers.rich")
def test_filtered_balances_sum_the_ledger(
    requirement: str,
    name: str,
    value: str | None,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    if not check_context.strict:
        pytest.skip(f"{requirement} against the ledger rows is a strict reading (D-080)")
    ledger_query = _query(LEDGER_INFO, requirement)
    if name == "tillId":
        ledger_query = dataclasses.replace(
            ledger_query, params={**ledger_query.params, name: value}
        )
    ledger, found = read_all(
        ledger_query.resolve(target),
        client=client,
        ctx=check_context,
        size=LEDGER_PAGE,
        max_pages=MAX_PAGES,
    )
    dated = [
        (row, created(entry)) for ex in ledger for entry in rows(ex) for row in _points_rows(entry)
    ]
    if name == "endDate":
        mid = _between_events(sorted({m for _, m in dated if m is not None}))
        if mid is None:
            findings.add(found)
            pytest.skip("no two events of the ledger lie more than two seconds apart")
        value = mid.strftime(DATE_FORMAT)
        dated = [(row, m) for row, m in dated if m is not None and m <= mid]
    elif name == "ledgerEntryType":
        dated = [(row, m) for row, m in dated if row.get("ledgerEntryType") == value]
    balance_query = _query(BALANCE, requirement, **{name: value})
    balance, more = read_all(
        balance_query.resolve(target),
        client=client,
        ctx=check_context,
        size=BALANCE_PAGE,
        max_pages=MAX_PAGES,
    )
    gaps = _gaps(check_context, (ledger, found), (balance, more))
    found += more
    if gaps is not None:
        findings.add([*found, *gaps])
        return
    found += _compare(
        requirement,
        f"{name}={value}",
        balance,
        [row for row, _ in dated],
        strict=bool(check_context.strict),
    )
    findings.add(found)


def _gaps(
    ctx: CheckContext, *readings: tuple[list[Exchange], list[Finding]]
) -> list[Finding] | None:
    """The walk findings of the readings whose pages break a paging rule (None: none does): the
    balances and the ledger are compared only when both readings are whole."""
    gaps = [reading_gaps(ctx, pages, found) for pages, found in readings]
    if all(g is None for g in gaps):
        return None
    return [f for g in gaps for f in g or []]


def _points_rows(entry: Any) -> list[dict[str, Any]]:
    details = entry.get("entryDetails") if isinstance(entry, dict) else None
    if not isinstance(details, list):
        return []
    return [row for row in details if isinstance(row, dict) and not is_currency_row(row)]


def _between_events(moments: list[datetime]) -> datetime | None:
    """A moment halfway between two neighbouring events, as near the middle as can be."""
    middle = len(moments) // 2
    for step in range(len(moments)):
        for index in (middle - step, middle + step):
            if 0 < index < len(moments) and moments[index] - moments[index - 1] > timedelta(
                seconds=2
            ):
                half = (moments[index] - moments[index - 1]) / 2
                return (moments[index - 1] + half).replace(microsecond=0)
    return None


def _compare(
    requirement: str,
    sent: str,
    balance: list[Exchange],
    ledger_rows: list[dict[str, Any]],
    *,
    strict: bool,
) -> list[Finding]:
    """Each balance row is the signed sum of its (program, category) ledger rows; none is missing."""
    sums: dict[tuple[str, str], list[Decimal]] = {}
    for row in ledger_rows:
        value = signed_points(row)
        if value is not None:
            sums.setdefault((str(row.get("programId")), str(row.get("pointsCategory"))), []).append(
                value
            )
    shown = balance_rows(balance)
    wrong: list[str] = []
    for key, closing in shown.items():
        parts = sums.get(key, [])
        if not sum_agrees(closing, parts, strict=strict):
            wrong.append(
                f"programId {key[0]} {key[1]}: closingBalance {closing}, ledger rows sum to {sum(parts, Decimal(0))}"
            )
    for key, parts in sums.items():
        if key not in shown and sum(parts, Decimal(0)) != 0:
            wrong.append(
                f"programId {key[0]} {key[1]}: no balance row, ledger rows sum to {sum(parts, Decimal(0))}"
            )
    if not wrong or not balance:
        return []
    return [
        Finding(
            requirement,
            f"balances for {sent} disagree with the ledger rows that parameter selects",
            expected="closingBalance = credits + opening balances − debits over the selected "
            "ledger rows of that program and category, "
            + ("exactly" if strict else "up to display rounding"),
            actual="; ".join(wrong[:5]) + (f"; … {len(wrong) - 5} more" if len(wrong) > 5 else ""),
            exchange=balance[0],
        )
    ]
