"""SQLite storage of the reference server: schema, reads the routes need, atomic writes.

Points are stored as integers in thousandths ("milli-points") so that every sum is exact and
the three-decimal strings of the API are a formatting step. Each thread gets its own connection
(WAL mode lets readers run beside the single writer); every write runs in one BEGIN IMMEDIATE
transaction, so a transfer reads the balance it checks under the write lock.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
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

    def row_passes(self, row: sqlite3.Row | dict[str, Any], event_till_id: int | None) -> bool:
        """The same predicate as the SQL of `_row_filter_sql`, for rows already fetched."""
        if not (self.mask >> int(row["bit"])) & 1:
            return False
        if self.program_id is not None and row["program_id"] != self.program_id:
            if not (row["entry_type"] == "DEBIT" and event_till_id in self.concept_till_ids):
                return False
        currency = row["currency"]
        return not (
            currency is not None
            and self.currency_names is not None
            and currency not in self.currency_names
        )


class Store:
    """The database of one reference server. Safe to share between threads."""

    def __init__(self, path: str | Path, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.path = str(path)
        self.clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        # Counting a long ledger is the one linear step of a page; a walk asks the same count
        # page after page, so counts are kept until the next write through this store.
        self._generation = 0
        self._counts: dict[tuple[Any, ...], int] = {}
        self._anchors: dict[tuple[Any, ...], list[tuple[str, int]]] = {}

    # -- connections and transactions ---------------------------------------------------------

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=60.0, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("PRAGMA cache_size=-65536")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE, commit on success, roll back on any error."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        with self._lock:
            self._generation += 1
            self._counts.clear()
            self._anchors.clear()

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    def create_schema(self) -> None:
        conn = self.conn()
        conn.executescript(SCHEMA)
        for table, column, declaration in ADDED_COLUMNS:
            present = {r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
            if column not in present:
                conn.execute(f'ALTER TABLE "{table}" ADD COLUMN {column} {declaration}')
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (SCHEMA_VERSION,),
        )

    def reset(self) -> None:
        """Drop every table and create the schema again (after an interrupted seed)."""
        conn = self.conn()
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for name in names:
            conn.execute(f'DROP TABLE IF EXISTS "{name}"')
        self.create_schema()

    def has_data(self) -> bool:
        try:
            return self.conn().execute("SELECT 1 FROM orgs LIMIT 1").fetchone() is not None
        except sqlite3.OperationalError:
            return False

    def is_seeded(self) -> bool:
        try:
            row = self.conn().execute("SELECT value FROM meta WHERE key = 'seed_info'").fetchone()
        except sqlite3.OperationalError:
            return False
        return row is not None

    def seed_info(self) -> dict[str, Any]:
        """What the seed recorded about its data (the test data of the target file)."""
        row = self.conn().execute("SELECT value FROM meta WHERE key = 'seed_info'").fetchone()
        if row is None:
            raise LookupError("the database has not been seeded")
        info: dict[str, Any] = json.loads(row["value"])
        return info

    def now(self) -> datetime:
        return self.clock()

    # -- reference data -------------------------------------------------------------------------

    def org(self, org_id: int) -> sqlite3.Row | None:
        if not fits_int64(org_id):
            return None
        row: sqlite3.Row | None = (
            self.conn().execute("SELECT * FROM orgs WHERE org_id = ?", (org_id,)).fetchone()
        )
        return row

    def connected_org_ids(self, org_id: int) -> set[int]:
        rows = self.conn().execute(
            "SELECT connected_org_id FROM org_links WHERE org_id = ?", (org_id,)
        )
        return {int(r[0]) for r in rows}

    def program(self, program_id: int) -> sqlite3.Row | None:
        if not fits_int64(program_id):
            return None
        row: sqlite3.Row | None = (
            self.conn()
            .execute("SELECT * FROM programs WHERE program_id = ?", (program_id,))
            .fetchone()
        )
        return row

    def default_program(self, org_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = (
            self.conn()
            .execute(
                "SELECT * FROM programs WHERE org_id = ? ORDER BY is_default DESC, program_id"
                " LIMIT 1",
                (org_id,),
            )
            .fetchone()
        )
        return row

    def program_names(self) -> dict[int, str]:
        return {
            int(r["program_id"]): str(r["name"])
            for r in self.conn().execute("SELECT program_id, name FROM programs")
        }

    def till(self, org_id: int, till_id: int) -> sqlite3.Row | None:
        if not fits_int64(till_id):
            return None
        row: sqlite3.Row | None = (
            self.conn()
            .execute("SELECT * FROM tills WHERE org_id = ? AND till_id = ?", (org_id, till_id))
            .fetchone()
        )
        return row

    def tills_of_store_id(self, org_id: int, store_id: int) -> list[int]:
        if not fits_int64(store_id):
            return []
        rows = self.conn().execute(
            "SELECT till_id FROM tills WHERE org_id = ? AND store_id = ? ORDER BY till_id",
            (org_id, store_id),
        )
        return [int(r[0]) for r in rows]

    def tills_of_store_code(self, org_id: int, code: str) -> list[int]:
        rows = self.conn().execute(
            "SELECT t.till_id FROM tills t JOIN stores s ON s.store_id = t.store_id"
            " WHERE s.org_id = ? AND s.code = ? ORDER BY t.till_id",
            (org_id, code),
        )
        return [int(r[0]) for r in rows]

    def concept_till_ids(self, program_id: int) -> tuple[int, ...]:
        if not fits_int64(program_id):
            return ()
        rows = self.conn().execute(
            "SELECT till_id FROM tills WHERE concept_program_id = ? ORDER BY till_id",
            (program_id,),
        )
        return tuple(int(r[0]) for r in rows)

    def till_details(self, till_ids: Iterable[int]) -> dict[int, sqlite3.Row]:
        ids = sorted({t for t in till_ids if t is not None})
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.conn().execute(
            "SELECT t.till_id, t.code AS till_code, s.code AS store_code, s.name AS store_name"
            f" FROM tills t JOIN stores s ON s.store_id = t.store_id WHERE t.till_id IN ({marks})",
            ids,
        )
        return {int(r["till_id"]): r for r in rows}

    # -- customers and groups -------------------------------------------------------------------

    def customer(self, customer_id: int) -> sqlite3.Row | None:
        if not fits_int64(customer_id):
            return None
        row: sqlite3.Row | None = (
            self.conn()
            .execute("SELECT * FROM customers WHERE customer_id = ?", (customer_id,))
            .fetchone()
        )
        return row

    def find_customer(
        self,
        org_id: int,
        name: str,
        value: str,
        source: str | None = None,
        account_id: str | None = None,
    ) -> sqlite3.Row | None:
        """The customer of `org_id` with identifier `name` = `value` in `source` (ALL: any).

        `name` is a canonical identifier name ("id", "mobile", "email", "externalId",
        "cardnumber", "cardExternalId"). An empty or missing account id matches any account.
        """
        if name == "id":
            try:
                customer_id = int(value)
            except ValueError:
                return None
            row = self.customer(customer_id)
            if row is None or row["org_id"] != org_id:
                return None
            if source is None or source == "ALL":
                return row
            registered = self.conn().execute(
                "SELECT 1 FROM identifiers WHERE customer_id = ? AND source = ?"
                + (" AND account_id = ?" if account_id else ""),
                (customer_id, source, account_id) if account_id else (customer_id, source),
            )
            return row if registered.fetchone() is not None else None
        sql = "SELECT customer_id FROM identifiers WHERE org_id = ? AND name = ? AND value = ?"
        args: list[Any] = [org_id, name, value]
        if source is not None and source != "ALL":
            sql += " AND source = ?"
            args.append(source)
        if account_id:
            sql += " AND account_id = ?"
            args.append(account_id)
        hit = self.conn().execute(sql + " LIMIT 1", args).fetchone()
        return None if hit is None else self.customer(int(hit[0]))

    def identifiers_of(self, customer_id: int) -> list[sqlite3.Row]:
        return list(
            self.conn().execute(
                "SELECT name, value, source, account_id FROM identifiers WHERE customer_id = ?"
                " ORDER BY name",
                (customer_id,),
            )
        )

    def identifier(self, customer_id: int, name: str) -> str | None:
        row = (
            self.conn()
            .execute(
                "SELECT value FROM identifiers WHERE customer_id = ? AND name = ? LIMIT 1",
                (customer_id, name),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def group(self, group_id: int) -> sqlite3.Row | None:
        if not fits_int64(group_id):
            return None
        row: sqlite3.Row | None = (
            self.conn()
            .execute("SELECT * FROM user_groups WHERE group_id = ?", (group_id,))
            .fetchone()
        )
        return row

    def find_group(self, org_id: int, name: str, value: str) -> sqlite3.Row | None:
        """A group by "id", "externalId" or a primary-user identifier ("primaryUserId",
        "primaryUserMobile", "primaryUserEmail", "primaryUserCardnumber")."""
        conn = self.conn()
        row: sqlite3.Row | None = None
        if name == "id":
            try:
                group_id = int(value)
            except ValueError:
                return None
            row = self.group(group_id)
        elif name == "externalId":
            row = conn.execute(
                "SELECT * FROM user_groups WHERE org_id = ? AND external_id = ?", (org_id, value)
            ).fetchone()
        elif name.startswith("primaryUser"):
            wanted = {
                "primaryUserId": "id",
                "primaryUserMobile": "mobile",
                "primaryUserEmail": "email",
                "primaryUserCardnumber": "cardnumber",
            }.get(name)
            if wanted is None:
                return None
            primary = self.find_customer(org_id, wanted, value)
            if primary is None:
                return None
            row = conn.execute(
                "SELECT * FROM user_groups WHERE org_id = ? AND primary_user_id = ?"
                " ORDER BY group_id LIMIT 1",
                (org_id, primary["customer_id"]),
            ).fetchone()
        if row is None or row["org_id"] != org_id:
            return None
        return row

    def group_members(self, group_id: int, *, active_only: bool = False) -> list[sqlite3.Row]:
        sql = (
            "SELECT m.*, c.first_name, c.last_name FROM group_members m"
            " JOIN customers c ON c.customer_id = m.customer_id WHERE m.group_id = ?"
        )
        if active_only:
            sql += " AND m.active = 1"
        return list(self.conn().execute(sql + " ORDER BY m.customer_id", (group_id,)))

    def member_ids_with_role(self, group_id: int, role: str) -> tuple[int, ...]:
        rows = self.conn().execute(
            "SELECT customer_id FROM group_members WHERE group_id = ? AND role = ?"
            " ORDER BY customer_id",
            (group_id, role),
        )
        return tuple(int(r[0]) for r in rows)

    def cross_member_group_of(self, customer_id: int) -> sqlite3.Row | None:
        """The cross-member-enabled USERGROUP2 group the customer is an active member of."""
        row: sqlite3.Row | None = (
            self.conn()
            .execute(
                "SELECT g.* FROM group_members m JOIN user_groups g ON g.group_id = m.group_id"
                " WHERE m.customer_id = ? AND m.active = 1 AND g.type = 'USERGROUP2'"
                " AND g.cross_member_enabled = 1 AND g.status = 'ACTIVE'"
                " ORDER BY g.group_id LIMIT 1",
                (customer_id,),
            )
            .fetchone()
        )
        return row

    # -- balances -------------------------------------------------------------------------------

    def balance(
        self, kind: int, owner_id: int, program_id: int, category: str = "Main", currency: str = ""
    ) -> int:
        row = (
            self.conn()
            .execute(
                "SELECT balance FROM balances WHERE owner_kind = ? AND owner_id = ?"
                " AND program_id = ? AND category = ? AND currency = ?",
                (kind, owner_id, program_id, category, currency),
            )
            .fetchone()
        )
        return 0 if row is None else int(row[0])

    def category_balance(self, kind: int, owner_id: int, category: str = "Main") -> int:
        """Sum of a points category over every program (currencies excluded)."""
        row = (
            self.conn()
            .execute(
                "SELECT COALESCE(SUM(balance), 0) FROM balances WHERE owner_kind = ?"
                " AND owner_id = ? AND category = ? AND currency = ''",
                (kind, owner_id, category),
            )
            .fetchone()
        )
        return int(row[0])

    def has_points_category(self, kind: int, owner_ids: Sequence[int], category: str) -> bool:
        """Whether any of the owners has a points summary (a balance row) in the category."""
        marks = ",".join("?" * len(owner_ids))
        row = (
            self.conn()
            .execute(
                f"SELECT 1 FROM balances WHERE owner_kind = ? AND owner_id IN ({marks})"
                " AND category = ? AND currency = '' LIMIT 1",
                (kind, *owner_ids, category),
            )
            .fetchone()
        )
        return row is not None

    def total_points(self) -> int:
        row = self.conn().execute("SELECT COALESCE(SUM(balance), 0) FROM balances").fetchone()
        return int(row[0])

    def closing_balances(
        self,
        customer_id: int,
        end: str,
        *,
        till_ids: tuple[int, ...] | None = None,
        entry_type: str | None = None,
        category: str | None = None,
        program_id: int | None = None,
        concept_till_ids: tuple[int, ...] = (),
    ) -> list[tuple[int, str, int]]:
        """(program, category, closing balance) of the customer's points as of `end`."""
        sql = (
            "SELECT r.program_id, r.category,"
            " SUM(CASE r.entry_type WHEN 'DEBIT' THEN -r.points ELSE r.points END)"
            " FROM ledger_events e JOIN ledger_rows r ON r.event_log_id = e.event_log_id"
            " WHERE e.owner_kind = ? AND e.owner_id = ? AND e.created <= ?"
            " AND r.currency IS NULL"
        )
        args: list[Any] = [OWNER_CUSTOMER, customer_id, end]
        if till_ids is not None:
            sql += f" AND e.till_id IN ({','.join('?' * len(till_ids))})"
            args.extend(till_ids)
        if entry_type is not None:
            sql += " AND r.entry_type = ?"
            args.append(entry_type)
        if category is not None:
            sql += " AND r.category = ?"
            args.append(category)
        if program_id is not None:
            sql += " AND (r.program_id = ?"
            args.append(program_id)
            if concept_till_ids:
                sql += (
                    " OR (r.entry_type = 'DEBIT'"
                    f" AND e.till_id IN ({','.join('?' * len(concept_till_ids))}))"
                )
                args.extend(concept_till_ids)
            sql += ")"
        sql += " GROUP BY r.program_id, r.category ORDER BY r.program_id, r.category"
        return [(int(r[0]), str(r[1]), int(r[2])) for r in self.conn().execute(sql, args)]

    # -- ledger pages ---------------------------------------------------------------------------

    def _ledger_where(self, q: LedgerQuery) -> tuple[str, list[Any]]:
        marks = ",".join("?" * len(q.owner_ids))
        sql = f"e.owner_kind = ? AND e.owner_id IN ({marks})"
        args: list[Any] = [q.owner_kind, *q.owner_ids]
        if q.start is not None:
            sql += " AND e.created >= ?"
            args.append(q.start)
        if q.end is not None:
            sql += " AND e.created <= ?"
            args.append(q.end)
        if q.mask != ALL_ROWS_MASK:
            sql += " AND (e.row_mask & ?) != 0"
            args.append(q.mask)
        if q.till_ids is not None:
            sql += f" AND e.till_id IN ({','.join('?' * len(q.till_ids))})"
            args.extend(q.till_ids)
        if q.member_ids is not None:
            sql += f" AND e.customer_id IN ({','.join('?' * len(q.member_ids))})"
            args.extend(q.member_ids)
        if q.program_id is not None or q.currency_names is not None:
            row_sql, row_args = self._row_filter_sql(q)
            sql += f" AND EXISTS (SELECT 1 FROM ledger_rows r WHERE {row_sql})"
            args.extend(row_args)
        return sql, args

    def _row_filter_sql(self, q: LedgerQuery) -> tuple[str, list[Any]]:
        sql = "r.event_log_id = e.event_log_id AND ((? >> r.bit) & 1) = 1"
        args: list[Any] = [q.mask]
        if q.program_id is not None:
            sql += " AND (r.program_id = ?"
            args.append(q.program_id)
            if q.concept_till_ids:
                sql += (
                    " OR (r.entry_type = 'DEBIT'"
                    f" AND e.till_id IN ({','.join('?' * len(q.concept_till_ids))}))"
                )
                args.extend(q.concept_till_ids)
            sql += ")"
        if q.currency_names is not None:
            names = q.currency_names or ("",)
            sql += f" AND (r.currency IS NULL OR r.currency IN ({','.join('?' * len(names))}))"
            args.extend(names)
        return sql, args

    def ledger_count(self, q: LedgerQuery) -> int:
        with self._lock:
            key = (self._generation, q)
            cached = self._counts.get(key)
        if cached is not None:
            return cached
        where, args = self._ledger_where(q)
        row = self.conn().execute(f"SELECT COUNT(*) FROM ledger_events e WHERE {where}", args)
        count = int(row.fetchone()[0])
        with self._lock:
            if key[0] == self._generation:
                if len(self._counts) >= 512:
                    self._counts.pop(next(iter(self._counts)))
                self._counts[key] = count
        return count

    def ledger_page(
        self, q: LedgerQuery, *, limit: int, offset: int, ascending: bool
    ) -> list[sqlite3.Row]:
        """One page of events, newest first unless `ascending`.

        The page is a short walk of the covering index from the nearest anchor at or before
        `offset` (see `_anchor`), so a deep page costs what the first one does.
        """
        if limit <= 0 or not fits_int64(offset) or not fits_int64(limit):
            return []
        where, args = self._ledger_where(q)
        order = "ASC" if ascending else "DESC"
        block = offset // ANCHOR_STEP
        anchor = self._anchor(q, ascending, block) if block else None
        if block and anchor is None:
            return []
        if anchor is not None:
            where += f" AND (e.created, e.event_log_id) {'>=' if ascending else '<='} (?, ?)"
            args = [*args, *anchor]
            offset -= block * ANCHOR_STEP
        # The inner query walks only the covering index; full rows are read for the page alone.
        ids_sql = (
            f"SELECT e.event_log_id FROM ledger_events e WHERE {where}"
            f" ORDER BY e.created {order}, e.event_log_id {order} LIMIT ? OFFSET ?"
        )
        sql = (
            "SELECT e.*, t.transaction_id AS tx_id, t.number AS tx_number, t.date AS tx_date,"
            " t.amount AS tx_amount, t.gross_amount AS tx_gross, t.source AS tx_source,"
            " p.name AS promo_name, p.description AS promo_description,"
            " p.identifier AS promo_identifier, p.display_name AS promo_display_name"
            f" FROM ({ids_sql}) page JOIN ledger_events e ON e.event_log_id = page.event_log_id"
            " LEFT JOIN transactions t ON t.transaction_id = e.transaction_id"
            " LEFT JOIN promotions p ON p.promotion_id = e.promotion_id"
            f" ORDER BY e.created {order}, e.event_log_id {order}"
        )
        return list(self.conn().execute(sql, [*args, limit, offset]))

    def _anchor(self, q: LedgerQuery, ascending: bool, block: int) -> tuple[str, int] | None:
        """Sort key of the event at position `block * ANCHOR_STEP` of the query's order.

        Anchors are found one block after another (each a walk of at most ANCHOR_STEP index
        entries from the previous one) and kept until the next write, so a walk of the pages,
        or any jump to a page already reached, never walks the index from its start again.
        """
        with self._lock:
            key = (self._generation, q, ascending)
            known = list(self._anchors.get(key, ()))
        if block < len(known):
            return known[block]
        where, args = self._ledger_where(q)
        order = "ASC" if ascending else "DESC"
        compare = ">=" if ascending else "<="
        found: tuple[str, int] | None = None
        conn = self.conn()
        while len(known) <= block:
            sql = f"SELECT e.created, e.event_log_id FROM ledger_events e WHERE {where}"
            step_args = list(args)
            if known:
                sql += f" AND (e.created, e.event_log_id) {compare} (?, ?)"
                step_args += list(known[-1])
            sql += f" ORDER BY e.created {order}, e.event_log_id {order} LIMIT 1 OFFSET ?"
            row = conn.execute(sql, [*step_args, ANCHOR_STEP if known else 0]).fetchone()
            if row is None:
                break
            known.append((str(row[0]), int(row[1])))
        if block < len(known):
            found = known[block]
        with self._lock:
            if key[0] == self._generation:
                if len(self._anchors) >= 128:
                    self._anchors.pop(next(iter(self._anchors)))
                self._anchors[key] = known
        return found

    def rows_of_events(self, event_ids: Sequence[int]) -> dict[int, list[sqlite3.Row]]:
        out: dict[int, list[sqlite3.Row]] = {int(i): [] for i in event_ids}
        if not event_ids:
            return out
        marks = ",".join("?" * len(event_ids))
        rows = self.conn().execute(
            f"SELECT * FROM ledger_rows WHERE event_log_id IN ({marks}) ORDER BY row_id",
            list(event_ids),
        )
        for row in rows:
            out[int(row["event_log_id"])].append(row)
        return out

    # -- cross-member ledger ----------------------------------------------------------------------

    def _cml_where(
        self,
        group_id: int,
        start: str,
        end: str,
        member_id: int | None,
        event_names: tuple[str, ...] | None,
        transaction_ref: str | None,
    ) -> tuple[str, list[Any]]:
        sql = "e.group_id = ? AND e.created >= ? AND e.created <= ?"
        args: list[Any] = [group_id, start, end]
        if member_id is not None:
            sql += (
                " AND (e.transacting_customer_id = ? OR e.event_log_id IN"
                " (SELECT event_log_id FROM cml_rows WHERE customer_id = ?))"
            )
            args.extend([member_id, member_id])
        if event_names is not None:
            sql += f" AND e.event_name IN ({','.join('?' * len(event_names))})"
            args.extend(event_names)
        if transaction_ref is not None:
            sql += " AND e.transaction_ref = ?"
            args.append(transaction_ref)
        return sql, args

    def cml_count(
        self,
        group_id: int,
        start: str,
        end: str,
        member_id: int | None,
        event_names: tuple[str, ...] | None,
        transaction_ref: str | None,
    ) -> int:
        where, args = self._cml_where(group_id, start, end, member_id, event_names, transaction_ref)
        row = self.conn().execute(f"SELECT COUNT(*) FROM cml_events e WHERE {where}", args)
        return int(row.fetchone()[0])

    def cml_page(
        self,
        group_id: int,
        start: str,
        end: str,
        member_id: int | None,
        event_names: tuple[str, ...] | None,
        transaction_ref: str | None,
        *,
        limit: int,
        offset: int,
        ascending: bool,
    ) -> list[sqlite3.Row]:
        if limit <= 0 or not fits_int64(offset):
            return []
        where, args = self._cml_where(group_id, start, end, member_id, event_names, transaction_ref)
        order = "ASC" if ascending else "DESC"
        sql = (
            f"SELECT e.* FROM cml_events e WHERE {where}"
            f" ORDER BY e.created {order}, e.event_log_id {order} LIMIT ? OFFSET ?"
        )
        return list(self.conn().execute(sql, [*args, limit, offset]))

    def cml_rows(self, event_ids: Sequence[int]) -> dict[int, list[sqlite3.Row]]:
        out: dict[int, list[sqlite3.Row]] = {int(i): [] for i in event_ids}
        if not event_ids:
            return out
        marks = ",".join("?" * len(event_ids))
        rows = self.conn().execute(
            f"SELECT * FROM cml_rows WHERE event_log_id IN ({marks}) ORDER BY row_id",
            list(event_ids),
        )
        for row in rows:
            out[int(row["event_log_id"])].append(row)
        return out

    # -- redemptions, reversals, transfers, OTPs ------------------------------------------------

    def redemption(self, redemption_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = (
            self.conn()
            .execute("SELECT * FROM redemptions WHERE redemption_id = ?", (redemption_id,))
            .fetchone()
        )
        return row

    def transfers_from(self, kind: int, entity_id: int) -> list[sqlite3.Row]:
        return list(
            self.conn().execute(
                "SELECT * FROM transfers WHERE from_kind = ? AND from_id = ?"
                " ORDER BY transfer_id DESC",
                (kind, entity_id),
            )
        )

    def issue_otp(self, customer_id: int, ttl_seconds: int, length: int = 6) -> str:
        alphabet = string.ascii_uppercase + string.digits
        expires = self.now().replace(tzinfo=UTC).timestamp() + ttl_seconds
        with self.write() as conn:
            while True:
                code = "".join(secrets.choice(alphabet) for _ in range(max(1, length)))
                try:
                    conn.execute(
                        "INSERT INTO otps (code, customer_id, expires) VALUES (?, ?, ?)",
                        (code, customer_id, expires),
                    )
                except sqlite3.IntegrityError:
                    continue
                return code

    def _new_event(
        self,
        conn: sqlite3.Connection,
        *,
        org_id: int,
        owner: Entity,
        customer_id: int,
        created: str,
        event_name: str,
        program_id: int,
        rows: Sequence[tuple[str, str, int, int, str | None]],
        reason: str | None = None,
        till_id: int | None = None,
    ) -> int:
        """Insert an event and its rows (entry type, category, points, program, currency) and
        keep the owner's balances in step."""
        mask = 0
        for entry_type, category, _, _, currency in rows:
            mask |= 1 << row_bit(entry_type, category, currency)
        cur = conn.execute(
            "INSERT INTO ledger_events (org_id, owner_kind, owner_id, customer_id, created,"
            " event_name, till_id, transaction_id, source_program_id, promotion_id, reason,"
            " row_mask) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?)",
            (
                org_id,
                owner.kind,
                owner.id,
                customer_id,
                created,
                event_name,
                till_id,
                program_id,
                reason,
                mask,
            ),
        )
        event_id = int(cur.lastrowid or 0)
        for entry_type, category, points, row_program, currency in rows:
            conn.execute(
                "INSERT INTO ledger_rows (event_log_id, entry_type, category, points, program_id,"
                " currency, bit) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    event_id,
                    entry_type,
                    category,
                    points,
                    row_program,
                    currency,
                    row_bit(entry_type, category, currency),
                ),
            )
            signed = -points if entry_type == "DEBIT" else points
            conn.execute(
                "INSERT INTO balances (owner_kind, owner_id, program_id, category, currency,"
                " balance) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE"
                " SET balance = balance + excluded.balance",
                (owner.kind, owner.id, row_program, category, currency or "", signed),
            )
        return event_id

    def transfer(
        self,
        *,
        source: Entity,
        destination: Entity,
        program_id: int,
        points: int,
        notes: str,
        otp: str | None,
        otp_customer_id: int | None,
        category: str = "Main",
        otp_single_use: bool = True,
        till_id: int | None = None,
        check_apart: float = 0.0,
    ) -> sqlite3.Row:
        """Move `points` (milli) atomically; raises StoreError("otp") or StoreError("balance").

        The OTP (when `otp_customer_id` is given) and the balance are checked inside the same
        write transaction that moves the points, so concurrent transfers cannot overdraw.
        `check_apart` > 0 reads the balance first and moves the points that many seconds later
        in another transaction (a faulty variant's race).
        """
        now = self.now()
        created = fmt_ts(now)
        if check_apart > 0:
            if points > self.balance(source.kind, source.id, program_id, category):
                raise StoreError("balance", "insufficient current points")
            time.sleep(check_apart)
        with self.write() as conn:
            if otp_customer_id is not None:
                row = conn.execute(
                    "SELECT expires, used FROM otps WHERE code = ? AND customer_id = ?",
                    (otp or "", otp_customer_id),
                ).fetchone()
                if (
                    row is None
                    or (otp_single_use and row["used"])
                    or row["expires"] < now.replace(tzinfo=UTC).timestamp()
                ):
                    raise StoreError("otp", "validation code is invalid")
                conn.execute(
                    "UPDATE otps SET used = 1 WHERE code = ? AND customer_id = ?",
                    (otp, otp_customer_id),
                )
            bal = conn.execute(
                "SELECT balance FROM balances WHERE owner_kind = ? AND owner_id = ?"
                " AND program_id = ? AND category = ? AND currency = ''",
                (source.kind, source.id, program_id, category),
            ).fetchone()
            available = 0 if bal is None else int(bal[0])
            if points > available and check_apart <= 0:
                raise StoreError("balance", "insufficient current points")
            debit_customer = source.id if source.kind == OWNER_CUSTOMER else destination.id
            credit_customer = destination.id if destination.kind == OWNER_CUSTOMER else source.id
            debit_id = self._new_event(
                conn,
                org_id=source.org_id,
                owner=source,
                customer_id=debit_customer,
                created=created,
                event_name="PointsTransfer",
                program_id=program_id,
                rows=[("DEBIT", category, points, program_id, None)],
                reason=notes or None,
                till_id=till_id,
            )
            credit_id = self._new_event(
                conn,
                org_id=destination.org_id,
                owner=destination,
                customer_id=credit_customer,
                created=created,
                event_name="PointsTransfer",
                program_id=program_id,
                rows=[("CREDIT", category, points, program_id, None)],
                reason=notes or None,
                till_id=till_id,
            )
            cur = conn.execute(
                "INSERT INTO transfers (org_id, from_kind, from_id, to_kind, to_id, program_id,"
                " points, notes, created, debit_event_id, credit_event_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    source.org_id,
                    source.kind,
                    source.id,
                    destination.kind,
                    destination.id,
                    program_id,
                    points,
                    notes,
                    created,
                    debit_id,
                    credit_id,
                ),
            )
            transfer: sqlite3.Row = conn.execute(
                "SELECT * FROM transfers WHERE transfer_id = ?", (cur.lastrowid,)
            ).fetchone()
        return transfer

    def reverse(
        self, redemption_id: str, points: int | None, *, till_id: int | None = None
    ) -> tuple[sqlite3.Row, int]:
        """Reverse `points` (milli; None: all that is left) of a redemption.

        Raises StoreError("not_found"), StoreError("already_reversed") or
        StoreError("points") (more than is left, or not positive). Returns the reversal row and
        the points reversed.
        """
        created = fmt_ts(self.now())
        alphabet = string.ascii_letters + string.digits
        with self.write() as conn:
            red = conn.execute(
                "SELECT * FROM redemptions WHERE redemption_id = ?", (redemption_id,)
            ).fetchone()
            if red is None:
                raise StoreError("not_found")
            left = int(red["points"]) - int(red["reversed"])
            if left <= 0:
                raise StoreError("already_reversed")
            amount = left if points is None else points
            if amount <= 0 or amount > left:
                raise StoreError("points")
            customer = conn.execute(
                "SELECT org_id FROM customers WHERE customer_id = ?", (red["customer_id"],)
            ).fetchone()
            org_id = int(customer[0]) if customer else int(red["org_id"])
            event_id = self._new_event(
                conn,
                org_id=org_id,
                owner=Entity(OWNER_CUSTOMER, int(red["customer_id"]), org_id),
                customer_id=int(red["customer_id"]),
                created=created,
                event_name="PointsRedemptionReversal",
                program_id=int(red["program_id"]),
                rows=[("CREDIT", "Main", amount, int(red["program_id"]), None)],
                till_id=till_id,
            )
            conn.execute(
                "UPDATE redemptions SET reversed = reversed + ? WHERE redemption_id = ?",
                (amount, redemption_id),
            )
            while True:
                reversal_id = "".join(secrets.choice(alphabet) for _ in range(6))
                try:
                    conn.execute(
                        "INSERT INTO reversals (reversal_id, redemption_id, points, event_log_id,"
                        " created) VALUES (?, ?, ?, ?, ?)",
                        (reversal_id, redemption_id, amount, event_id, created),
                    )
                except sqlite3.IntegrityError:
                    continue
                break
            reversal: sqlite3.Row = conn.execute(
                "SELECT * FROM reversals WHERE reversal_id = ?", (reversal_id,)
            ).fetchone()
        return reversal, amount


def open_store(path: str | Path, *, clock: Callable[[], datetime] = utcnow) -> Store:
    """A store on `path` with its schema in place."""
    store = Store(path, clock=clock)
    store.create_schema()
    return store
