"""The single library of rules both engines apply to what a server answers.

Checks are pure: they read exchanges and a `CheckContext` and return findings tagged with a
requirement ID. `run_checks` applies every single-exchange rule registered for an operation;
the multi-exchange functions (`walk_pages`, the transfer and reversal state functions,
`expect_error`) are called by the tests that made the exchanges.

Where things are: `registry` (registering, running and crediting checks), `context`,
`findings` and `discrepancies` (what every check is given and how it words what it found),
`readers`, `rounding`, `ordering` and `paging` (the building blocks rules share), then one or
more modules per area of the pages (`ledger`, `ledger_refusals`, `balance`, `cross_member`, `transfer`, ...) and
`walks` for what only every page of a query shows.
"""

from __future__ import annotations

# Importing the rule modules registers their checks, and `run_checks` applies them in the order
# they were registered, which is the order a test lists its findings in: keep this order.
# isort: off
from points_conformance.checks import ledger  # noqa: F401
from points_conformance.checks import ledger_query  # noqa: F401
from points_conformance.checks import balance  # noqa: F401
from points_conformance.checks import all_operations  # noqa: F401
from points_conformance.checks import connected  # noqa: F401
from points_conformance.checks import cross_member  # noqa: F401
from points_conformance.checks import cross_member_events  # noqa: F401
from points_conformance.checks import cross_member_query  # noqa: F401
from points_conformance.checks import schema  # noqa: F401
from points_conformance.checks import transfer  # noqa: F401
from points_conformance.checks import ledger_refusals  # noqa: F401

# isort: on
from points_conformance.checks.balance import check_closing_balances
from points_conformance.checks.context import CheckContext
from points_conformance.checks.cross_member_query import check_scope_group
from points_conformance.checks.errors import expect_auth_rejected, expect_error
from points_conformance.checks.ledger_query import check_store_filter, expect_currency_rows
from points_conformance.checks.registry import (
    RegisteredCheck,
    check,
    registered_checks,
    requirement_ids,
    run_checks,
)
from points_conformance.checks.transfer_state import (
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
from points_conformance.checks.walks import walk_pages

__all__ = [
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
