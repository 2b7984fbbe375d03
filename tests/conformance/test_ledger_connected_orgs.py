"""getCustomerLedgerInfoConnectedOrgs (v2.1): data scopes, identifiers and errors of page 000.

Cases are data (cases/ledger_connected_orgs.yaml). SELF rows come from the caller's own
organisation, OTHER rows from the connected organisations named in DATA-SCOPE-ORG.
"""

from __future__ import annotations

import pytest

from points_conformance.checks import CheckContext
from points_conformance.client import ConformanceClient
from points_conformance.plugin.fixtures import FindingsRecorder
from points_conformance.target import TargetData

from ._cases import Case, load_cases
from ._ledger import run_case


@pytest.mark.parametrize("case", load_cases("ledger_connected_orgs", lock="reads"))
def test_connected_orgs(
    case: Case,
    client: ConformanceClient,
    target: TargetData,
    check_context: CheckContext,
    findings: FindingsRecorder,
) -> None:
    findings.add(run_case(case, client=client, target=target, ctx=check_context))
