"""Faults of the ledger reads' refusals (getCustomerLedgerInfo v2 and its connected-orgs form
v2.1): a documented code swapped for a neighbouring one, or a documented refusal not made.
"""

from __future__ import annotations

from typing import Any

from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.fault_registry import (
    CONNECTED,
    LEDGER,
    FaultResult,
    fault,
    query_value,
    recoded,
)
from points_conformance.reference.variants import rewrite_params, switch


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
