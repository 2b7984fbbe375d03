"""Faults of getCustomerLedgerBalance."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.fault_registry import (
    BALANCE,
    FaultResult,
    fault,
    floor_page_count,
    ignoring,
    present,
    refused_without,
)
from points_conformance.reference.variants import (
    as_number,
    details_of,
    on_success,
    query_pairs,
    replace_value,
    rewrite_params,
    switch,
    with_query,
)

fault(
    "balance-default-limit-5",
    requirement="BAL-DEFAULT-LIMIT",
    description="without limit, pages hold 5 balances (003: the default is 10)",
)(switch(balance_default_limit=5))


@fault(
    "balance-source-default-instore",
    requirement="BAL-PARAM-REQUIRED",
    description="a balance request without source is read as source=INSTORE instead of refused",
)
def _balance_source_default(b: Behaviour, h: Hooks) -> FaultResult:
    def instore(params: dict[str, Any]) -> dict[str, Any]:
        if present(params, ("source",)):
            return params
        return with_query(params, [*query_pairs(params), ("source", "INSTORE")])

    return h.then(params_hook=rewrite_params((BALANCE,), instore))


@fault(
    "balance-unlisted-source-read-as-instore",
    requirement="BAL-PARAM-SOURCE",
    strict_reading="D-054",
    description="a source outside 003's list is read as INSTORE instead of refused",
)
def _balance_unlisted_source(b: Behaviour, h: Hooks) -> FaultResult:
    def instore(params: dict[str, Any]) -> dict[str, Any]:
        return replace_value(
            params, "source", lambda v: "INSTORE" if v.strip().upper() not in b.sources else v
        )

    return h.then(params_hook=rewrite_params((BALANCE,), instore))


@fault(
    "balance-email-refused",
    requirement="BAL-PARAM-IDENTIFIER",
    description="identifierName=email is refused with 8013 (003 lists it for the balance)",
)
def _balance_email_refused(b: Behaviour, h: Hooks) -> FaultResult:
    def unlisted(params: dict[str, Any]) -> dict[str, Any]:
        return replace_value(
            params, "identifierName", lambda v: "e-mail" if v.strip() == "email" else v
        )

    return h.then(params_hook=rewrite_params((BALANCE,), unlisted))


@fault(
    "balance-accountid-always-required",
    requirement="BAL-PARAM-ACCOUNTID",
    description="a balance request without accountId is refused even for a single-account source",
)
def _balance_accountid_required(b: Behaviour, h: Hooks) -> FaultResult:
    names = ("accountId", "acountId")
    hook = refused_without((BALANCE,), names, b.error_status, b.err_validation)
    return h.then(response_hook=hook)


fault(
    "balance-limit-100",
    requirement="BAL-LIMIT-MAX",
    description="limit may be up to 100 as on the ledger page (limit=11 is answered)",
)(switch(balance_max_limit=100))


@fault(
    "balance-page-count-floor",
    requirement="BAL-PAGE-COUNT",
    description="pageCount is totalEntries / pageSize rounded down",
)
def _balance_page_count_floor(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=on_success((BALANCE,), floor_page_count))


fault(
    "balance-offset-one-based",
    requirement="BAL-PAGE-INDEX",
    description="offset counts pages from 1",
)(switch(balance_offset_base=1))


@fault(
    "balance-closing-as-number",
    requirement="BAL-FORMAT-DECIMAL",
    strict_reading="D-006",
    description="closingBalance is a JSON number, not a decimal string",
)
def _balance_closing_number(b: Behaviour, h: Hooks) -> FaultResult:
    def numbers(body: dict[str, Any], request: Request) -> None:
        for row in details_of(body).get("ledgerClosingBalance") or []:
            if isinstance(row, dict):
                row["closingBalance"] = as_number(row.get("closingBalance"))

    return h.then(response_hook=on_success((BALANCE,), numbers))


@fault(
    "balance-category-ignored",
    requirement="BAL-FILTER-CATEGORY",
    description="pointCategoryType is validated but balances of every category are returned",
)
def _balance_category_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring((BALANCE,), {"pointCategoryType"}))


@fault(
    "balance-entrytype-ignored",
    requirement="BAL-FILTER-ENTRYTYPE",
    strict_reading="D-081",
    description="ledgerEntryType is validated but balances count every row",
)
def _balance_entrytype_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring((BALANCE,), {"ledgerEntryType"}))


@fault(
    "balance-enddate-ignored",
    requirement="BAL-FILTER-ENDDATE",
    description="endDate is validated but the balances are today's",
)
def _balance_enddate_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=ignoring((BALANCE,), {"endDate"}))


@fault(
    "balance-warnings-missing",
    requirement="COMMON-SCHEMA-WARNINGS",
    strict_reading="D-095",
    description="successful ledger-balance answers have no warnings list",
    operations=(BALANCE,),
)
def _balance_warnings_missing(b: Behaviour, h: Hooks) -> FaultResult:
    def drop(body: dict[str, Any], request: Request) -> None:
        body.pop("warnings", None)

    return h.then(response_hook=on_success((BALANCE,), drop))
