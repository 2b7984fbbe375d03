"""Faults of the ledger reads' refusals (getCustomerLedgerInfo v2 and its connected-orgs form
v2.1): a documented code swapped for a neighbouring one, or a documented refusal not made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from points_conformance.operations import LEDGER_OPERATIONS
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.fault_registry import (
    CONNECTED,
    LEDGER,
    FaultResult,
    fault,
    present,
    query_value,
    recoded,
    refused_without,
)
from points_conformance.reference.faults_ledger import TILL_FILTERS
from points_conformance.reference.variants import (
    query_pairs,
    rewrite_params,
    switch,
    with_query,
    without_query,
)


@fault(
    "ledger-8013-as-8015",
    requirement="LEDGER-ERR-8013",
    description="an unsupported identifierName is refused with the identifier-value code 8015",
    operations=(LEDGER,),
)
def _ledger_8013_as_8015(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=recoded((LEDGER,), b.err_identifier_name, b.err_identifier_value))


fault(
    "ledger-11007-as-11008",
    requirement="LEDGER-ERR-11007",
    description="an unknown ledgerEntryType is refused with the category code 11008",
)(switch(err_entry_type=11008))


fault(
    "ledger-11008-as-11007",
    requirement="LEDGER-ERR-11008",
    description="an unknown pointCategoryType is refused with the entry-type code 11007",
)(switch(err_category=11007))


fault(
    "ledger-11025-as-11027",
    requirement="LEDGER-ERR-11025",
    description="a tillId that is not a number is refused with the unknown-till code 11027",
)(switch(err_till_format=11027))


fault(
    "ledger-11026-as-11025",
    requirement="LEDGER-ERR-11026",
    description="a store with no tills is refused with the till-format code 11025",
)(switch(err_no_tills=11025))


@fault(
    "corg-8013-as-8015",
    requirement="CORG-ERR-8013",
    description="a missing or unsupported identifierName is refused on v2.1 with the "
    "identifier-value code 8015",
    operations=(CONNECTED,),
)
def _corg_8013_as_8015(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(
        response_hook=recoded((CONNECTED,), b.err_identifier_name, b.err_identifier_value)
    )


@fault(
    "corg-8003-as-8013",
    requirement="CORG-ERR-8003",
    description="a missing or unsupported source is refused on v2.1 with the identifier code 8013",
    operations=(CONNECTED,),
)
def _corg_8003_as_8013(b: Behaviour, h: Hooks) -> FaultResult:
    return h.then(response_hook=recoded((CONNECTED,), b.err_source, b.err_identifier_name))


@fault(
    "ledger-source-default-instore",
    requirement="LEDGER-PARAM-REQUIRED",
    description="a request without source is read as source=INSTORE instead of refused",
    operations=(LEDGER,),
)
def _ledger_source_default(b: Behaviour, h: Hooks) -> FaultResult:
    def instore(params: dict[str, Any]) -> dict[str, Any]:
        if query_value(params, "source") is not None:
            return params
        return {**params, "query": [*(params.get("query") or []), ("source", "INSTORE")]}

    return h.then(params_hook=rewrite_params((LEDGER,), instore))


fault(
    "ledger-tillconcept-alone-answered",
    requirement="LEDGER-FILTER-TILLCONCEPT",
    description="includeTillConceptEvents=true without programId is answered, not refused as an "
    "invalid input combination",
)(switch(ledger_till_concept_needs_program=False))


@fault(
    "ledger-last-till-filter-wins",
    requirement="LEDGER-FILTER-EXCLUSIVE",
    description="with several of tillId, tillIds, storeId, storeCode the last one given is used",
    operations=(LEDGER,),
)
def _ledger_last_till_filter(b: Behaviour, h: Hooks) -> FaultResult:
    def last_only(params: dict[str, Any]) -> dict[str, Any]:
        query = query_pairs(params)
        last = next((k for k, _ in reversed(query) if k in TILL_FILTERS), None)
        return with_query(params, [(k, v) for k, v in query if k not in TILL_FILTERS or k == last])

    return h.then(params_hook=rewrite_params((LEDGER,), last_only))


# -- inputs no page says are refused: only D-054's strict reading refuses them -----------------


def _ledger_date(text: str | None, b: Behaviour) -> datetime | None:
    try:
        return None if text is None else datetime.strptime(text, b.ledger_date_format)
    except ValueError:
        return None


@fault(
    "ledger-reversed-dates-ignored",
    requirement="LEDGER-FILTER-DATE-ORDER",
    strict_reading="D-054",
    description="a startDate after endDate is not refused: both dates are ignored",
)
def _ledger_reversed_dates_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    def drop(params: dict[str, Any]) -> dict[str, Any]:
        start = _ledger_date(query_value(params, "startDate"), b)
        end = _ledger_date(query_value(params, "endDate"), b)
        if start is None or end is None or start <= end:
            return params
        return without_query(params, ("startDate", "endDate"))

    return h.then(params_hook=rewrite_params(LEDGER_OPERATIONS, drop))


@fault(
    "ledger-malformed-date-ignored",
    requirement="LEDGER-FORMAT-DATE-PARAM",
    strict_reading="D-054",
    description="a startDate or endDate not in YYYY-MM-DDThh:mm:ss is ignored, not refused",
)
def _ledger_malformed_date_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    def drop(params: dict[str, Any]) -> dict[str, Any]:
        bad = [
            name
            for name in ("startDate", "endDate")
            if present(params, (name,)) and _ledger_date(query_value(params, name), b) is None
        ]
        return without_query(params, bad) if bad else params

    return h.then(params_hook=rewrite_params(LEDGER_OPERATIONS, drop))


@fault(
    "ledger-bad-paging-ignored",
    requirement="LEDGER-PARAM-PAGING-RANGE",
    strict_reading="D-054",
    description="a negative or non-numeric limit or offset is ignored (its default used)",
)
def _ledger_bad_paging_ignored(b: Behaviour, h: Hooks) -> FaultResult:
    def drop(params: dict[str, Any]) -> dict[str, Any]:
        bad = [
            name
            for name in ("limit", "offset")
            if not (query_value(params, name) or "0").strip().isdigit()
        ]
        return without_query(params, bad) if bad else params

    return h.then(params_hook=rewrite_params(LEDGER_OPERATIONS, drop))


@fault(
    "corg-identifier-name-case-sensitive",
    requirement="LEDGER-PARAM-IDENTIFIER",
    description="identifierName is matched case-sensitively on v2.1: 000's `externalid` is refused "
    "with 8013",
    operations=(CONNECTED,),
)
def _corg_identifier_name_case_sensitive(b: Behaviour, h: Hooks) -> FaultResult:
    listed = (*b.ledger_identifier_names, *b.ledger_group_identifier_names)

    def exact(params: dict[str, Any]) -> dict[str, Any]:
        name = (query_value(params, "identifierName") or "").strip()
        if name in listed or name.lower() not in {n.lower() for n in listed}:
            return params
        return with_query(
            params,
            [
                (k, f"{v} (unmatched)" if k == "identifierName" else v)
                for k, v in query_pairs(params)
            ],
        )

    return h.then(params_hook=rewrite_params((CONNECTED,), exact))


@fault(
    "ledger-limit-capped-at-10-quietly",
    requirement="LEDGER-PAGE-SIZE",
    strict_reading="D-001",
    description="a limit of 11 to 100 is answered in pages of 10 (003's maximum), pageSize 10",
    operations=(LEDGER,),
)
def _ledger_limit_capped_quietly(b: Behaviour, h: Hooks) -> FaultResult:
    def cap(params: dict[str, Any]) -> dict[str, Any]:
        limit = (query_value(params, "limit") or "").strip()
        if not limit.isdigit() or not 10 < int(limit) <= b.ledger_max_limit:
            return params
        return with_query(
            params, [(k, "10" if k == "limit" else v) for k, v in query_pairs(params)]
        )

    return h.then(params_hook=rewrite_params((LEDGER,), cap))


@fault(
    "ledger-accountid-always-required",
    requirement="LEDGER-PARAM-ACCOUNTID",
    description="a request without accountId is refused even for a single-account source",
    operations=(LEDGER,),
)
def _ledger_accountid_required(b: Behaviour, h: Hooks) -> FaultResult:
    names = ("accountId", "acountId")
    hook = refused_without((LEDGER,), names, b.error_status, b.err_validation)
    return h.then(response_hook=hook)
