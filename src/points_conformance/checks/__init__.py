"""The single library of rules both engines apply to what a server answers.

Checks are pure: they read exchanges and a `CheckContext` and return findings tagged with a
requirement ID. `run_checks` applies every single-exchange rule registered for an operation;
the multi-exchange functions (`walk_pages`, the transfer and reversal state functions,
`expect_error`) are called by the tests that made the exchanges.
"""

from __future__ import annotations

# Importing the rule modules registers their checks.
from points_conformance.checks import (  # noqa: F401
    balance,
    common,
    connected,
    cross_member,
    ledger,
    schema,
    transfer,
)
from points_conformance.checks.balance import check_closing_balances
from points_conformance.checks.base import (
    CheckContext,
    RegisteredCheck,
    check,
    registered_checks,
    requirement_ids,
    run_checks,
)
from points_conformance.checks.cross_member import check_scope_group
from points_conformance.checks.errors import expect_auth_rejected, expect_error
from points_conformance.checks.ledger import check_store_filter, expect_currency_rows
from points_conformance.checks.pagination import walk_pages
from points_conformance.checks.transfer import (
    BalanceReading,
    check_reversal_ledger,
    check_reversal_twice,
    check_transfer_history,
    check_transfer_ledger,
    check_transferrable_readonly,
    check_warning_reversal,
    closing_balance,
    compare_concurrent_transfers,
    compare_reversal_balance,
    compare_transfer,
)
from points_conformance.operations import OPERATIONS

__all__ = [
    "OPERATIONS",
    "BalanceReading",
    "CheckContext",
    "RegisteredCheck",
    "check",
    "check_closing_balances",
    "check_reversal_ledger",
    "check_reversal_twice",
    "check_scope_group",
    "check_store_filter",
    "check_transfer_history",
    "check_transfer_ledger",
    "check_transferrable_readonly",
    "check_warning_reversal",
    "closing_balance",
    "compare_concurrent_transfers",
    "compare_reversal_balance",
    "compare_transfer",
    "expect_auth_rejected",
    "expect_currency_rows",
    "expect_error",
    "registered_checks",
    "requirement_ids",
    "run_checks",
    "walk_pages",
]
