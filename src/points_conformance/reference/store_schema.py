"""The reference database's schema and the values its queries take: owners, entry types and
categories (and the bit of each row kind), `Entity`, `LedgerQuery`, `StoreError`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = "1"

OWNER_CUSTOMER = 0
OWNER_GROUP = 1

ENTRY_TYPES: tuple[str, ...] = ("CREDIT", "DEBIT", "OPENING_BALANCE")
CATEGORIES: tuple[str, ...] = (
    "Main",
    "DelayedAccrualPointCategory",
    "ExternalTriggerBasedPointCategory",
)
ALL_ROWS_MASK = (1 << 18) - 1
# Deep pages start from a remembered sort key at a multiple of this many events.
ANCHOR_STEP = 256
# SQLite integers are signed 64-bit; anything outside cannot name a stored row.
INT64_MAX = 2**63 - 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orgs (
    org_id INTEGER PRIMARY KEY, name TEXT NOT NULL, timezone TEXT NOT NULL,
    cross_member_enabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS org_links (
    org_id INTEGER NOT NULL, connected_org_id INTEGER NOT NULL,
    PRIMARY KEY (org_id, connected_org_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS programs (
    program_id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, name TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS programs_org ON programs (org_id);
CREATE TABLE IF NOT EXISTS stores (
    store_id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS stores_code ON stores (org_id, code);
CREATE TABLE IF NOT EXISTS tills (
    till_id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, store_id INTEGER NOT NULL,
    code TEXT NOT NULL, concept_program_id INTEGER);
CREATE INDEX IF NOT EXISTS tills_store ON tills (store_id);
CREATE INDEX IF NOT EXISTS tills_concept ON tills (concept_program_id);
CREATE TABLE IF NOT EXISTS customers (
    customer_id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, fraud INTEGER NOT NULL DEFAULT 0,
    loyalty_enrolled INTEGER NOT NULL DEFAULT 1, created TEXT NOT NULL,
    merged_into INTEGER);
CREATE TABLE IF NOT EXISTS identifiers (
    org_id INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, source TEXT NOT NULL,
    account_id TEXT NOT NULL, customer_id INTEGER NOT NULL,
    PRIMARY KEY (org_id, name, value, source, account_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identifiers_customer ON identifiers (customer_id);
CREATE TABLE IF NOT EXISTS user_groups (
    group_id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL,
    external_id TEXT, primary_user_id INTEGER, cross_member_enabled INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'ACTIVE', created_by INTEGER, created TEXT NOT NULL,
    lifetime_purchases REAL NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS user_groups_external ON user_groups (org_id, external_id);
CREATE TABLE IF NOT EXISTS group_members (
    group_id INTEGER NOT NULL, customer_id INTEGER NOT NULL, role TEXT NOT NULL,
    is_primary INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 1,
    default_group INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (group_id, customer_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_members_customer ON group_members (customer_id);
CREATE TABLE IF NOT EXISTS transactions (
    transaction_id INTEGER PRIMARY KEY, number TEXT NOT NULL, date TEXT NOT NULL,
    amount REAL NOT NULL, gross_amount REAL NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS promotions (
    promotion_id INTEGER PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL,
    identifier TEXT NOT NULL, display_name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_events (
    event_log_id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, owner_kind INTEGER NOT NULL,
    owner_id INTEGER NOT NULL, customer_id INTEGER NOT NULL, created TEXT NOT NULL,
    event_name TEXT NOT NULL, till_id INTEGER, transaction_id INTEGER,
    source_program_id INTEGER, promotion_id INTEGER, reason TEXT,
    row_mask INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_events_page ON ledger_events (
    owner_kind, owner_id, created, event_log_id, row_mask, till_id, customer_id);
CREATE TABLE IF NOT EXISTS ledger_rows (
    row_id INTEGER PRIMARY KEY, event_log_id INTEGER NOT NULL, entry_type TEXT NOT NULL,
    category TEXT NOT NULL, points INTEGER NOT NULL, program_id INTEGER NOT NULL,
    currency TEXT, bit INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_rows_event ON ledger_rows (event_log_id);
CREATE TABLE IF NOT EXISTS balances (
    owner_kind INTEGER NOT NULL, owner_id INTEGER NOT NULL, program_id INTEGER NOT NULL,
    category TEXT NOT NULL, currency TEXT NOT NULL, balance INTEGER NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, program_id, category, currency)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS redemptions (
    redemption_id TEXT PRIMARY KEY, org_id INTEGER NOT NULL, customer_id INTEGER NOT NULL,
    program_id INTEGER NOT NULL, points INTEGER NOT NULL, reversed INTEGER NOT NULL DEFAULT 0,
    identifier_type TEXT NOT NULL, identifier_value TEXT NOT NULL,
    event_log_id INTEGER NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reversals (
    reversal_id TEXT PRIMARY KEY, redemption_id TEXT NOT NULL, points INTEGER NOT NULL,
    event_log_id INTEGER NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (
    transfer_id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, from_kind INTEGER NOT NULL,
    from_id INTEGER NOT NULL, to_kind INTEGER NOT NULL, to_id INTEGER NOT NULL,
    program_id INTEGER NOT NULL, points INTEGER NOT NULL, notes TEXT NOT NULL,
    created TEXT NOT NULL, debit_event_id INTEGER NOT NULL, credit_event_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS transfers_from ON transfers (from_kind, from_id, transfer_id);
CREATE TABLE IF NOT EXISTS cml_events (
    event_log_id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL, event_name TEXT NOT NULL,
    transacting_customer_id INTEGER NOT NULL, transaction_ref TEXT NOT NULL,
    created TEXT NOT NULL, redemption_event_id INTEGER);
CREATE INDEX IF NOT EXISTS cml_events_group ON cml_events (group_id, created, event_log_id);
CREATE INDEX IF NOT EXISTS cml_events_ref ON cml_events (group_id, transaction_ref);
CREATE TABLE IF NOT EXISTS cml_rows (
    row_id INTEGER PRIMARY KEY, event_log_id INTEGER NOT NULL, customer_id INTEGER NOT NULL,
    points INTEGER NOT NULL, reversed INTEGER NOT NULL DEFAULT 0,
    expiry_batch_date TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS cml_rows_event ON cml_rows (event_log_id);
CREATE INDEX IF NOT EXISTS cml_rows_customer ON cml_rows (customer_id, event_log_id);
CREATE TABLE IF NOT EXISTS otps (
    code TEXT NOT NULL, customer_id INTEGER NOT NULL, expires REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (code, customer_id)) WITHOUT ROWID;
"""
# Every commit that changes what a read can answer moves the one value of `data_changes` on (a
# trigger on each table, so a write by any connection or tool counts). One-time passwords are
# checked by a transfer and read by nothing else, so issuing one changes no answer. The value
# starts at random, so that a database dropped and seeded again does not repeat an old value.
UNANSWERED_TABLES = frozenset({"otps", "data_changes"})
DATA_CHANGES = """
CREATE TABLE IF NOT EXISTS data_changes (n INTEGER NOT NULL);
INSERT INTO data_changes SELECT abs(random()) % 4611686018427387904
    WHERE NOT EXISTS (SELECT 1 FROM data_changes);
"""


def _change_triggers(tables: list[str]) -> list[tuple[str, str, str]]:
    return [
        (f"{table}_{event.lower()}_changes", table, event)
        for table in tables
        if table not in UNANSWERED_TABLES
        for event in ("INSERT", "UPDATE", "DELETE")
    ]


def change_triggers(tables: list[str]) -> str:
    """The triggers that move `data_changes` on for every write to one of `tables`."""
    return "".join(
        f'CREATE TRIGGER IF NOT EXISTS "{name}" AFTER {event} ON "{table}"'
        " BEGIN UPDATE data_changes SET n = n + 1; END;\n"
        for name, table, event in _change_triggers(tables)
    )


def no_change_triggers(tables: list[str]) -> str:
    """`change_triggers` dropped."""
    return "".join(f'DROP TRIGGER IF EXISTS "{name}";\n' for name, _, _ in _change_triggers(tables))


# Columns added after the first schema: a database written before gets them when opened.
# merged_into: the surviving customer a merged customer was merged into (003 error 419).
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (("customers", "merged_into", "INTEGER"),)


def row_bit(entry_type: str, category: str, currency: str | None) -> int:
    """Position of a row's (currency or not, entry type, category) combination in a row mask."""
    return (9 if currency else 0) + ENTRY_TYPES.index(entry_type) * 3 + CATEGORIES.index(category)


def utcnow() -> datetime:
    """The current time as a naive UTC datetime (the form stored in the database)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def fmt_ts(value: datetime) -> str:
    # strftime drops leading zeros of years before 1000, and timestamps are compared as text.
    return f"{value.year:04d}-" + value.strftime("%m-%d %H:%M:%S")


def fits_int64(value: int) -> bool:
    return -INT64_MAX - 1 <= value <= INT64_MAX


class StoreError(Exception):
    """A write was refused; `reason` names the rule that refused it."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail or reason


@dataclass(frozen=True)
class Entity:
    """One side of a transfer: a customer or a user group."""

    kind: int  # OWNER_CUSTOMER or OWNER_GROUP
    id: int
    org_id: int


@dataclass(frozen=True)
class LedgerQuery:
    """Which events of which ledger(s), and which of their rows, a ledger page shows."""

    owner_kind: int
    owner_ids: tuple[int, ...]
    start: str | None = None  # inclusive bounds on `created`, 'YYYY-MM-DD HH:MM:SS'
    end: str | None = None
    till_ids: tuple[int, ...] | None = None
    member_ids: tuple[int, ...] | None = None  # events triggered by these members only
    mask: int = ALL_ROWS_MASK  # allowed (currency?, entry type, category) combinations
    program_id: int | None = None
    concept_till_ids: tuple[int, ...] = ()  # DEBIT rows at these tills pass the program filter
    currency_names: tuple[str, ...] | None = None  # None: every currency the mask allows
    program_or_source: bool = False  # program_id also passes every row of its source's events

    def row_passes(
        self,
        row: sqlite3.Row | dict[str, Any],
        event_till_id: int | None,
        event_source_program: int | None = None,
    ) -> bool:
        """The same predicate as the SQL of `_row_filter_sql`, for rows already fetched."""
        if not (self.mask >> int(row["bit"])) & 1:
            return False
        if self.program_id is not None and row["program_id"] != self.program_id:
            by_source = self.program_or_source and event_source_program == self.program_id
            concept = row["entry_type"] == "DEBIT" and event_till_id in self.concept_till_ids
            if not (by_source or concept):
                return False
        currency = row["currency"]
        return not (
            currency is not None
            and self.currency_names is not None
            and currency not in self.currency_names
        )
