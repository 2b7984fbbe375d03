"""The store's connections: one per thread, write transactions, the schema and the seed record."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from points_conformance.reference.store_schema import (
    ADDED_COLUMNS,
    DATA_CHANGES,
    SCHEMA,
    SCHEMA_VERSION,
    change_triggers,
    no_change_triggers,
    utcnow,
)


class StoreConnection:
    """A database file, a connection per thread, and the caches a write invalidates."""

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
        self._writes = 0

    # -- connections and transactions ---------------------------------------------------------

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Statements are prepared once per connection and kept: the routes' SQL varies with
            # the filters and the length of IN lists, more shapes than the default 128 hold.
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                timeout=60.0,
                check_same_thread=False,
                cached_statements=1024,
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
        with self._lock:
            self._writes += 1
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self._drop_caches()

    def _drop_caches(self) -> None:
        with self._lock:
            self._generation += 1
            self._counts.clear()
            self._anchors.clear()

    @property
    def writes(self) -> int:
        """How many write transactions have begun through this store (in any thread)."""
        return self._writes

    def caches_checked(self) -> None:
        """Drop the cached counts and anchors when another connection has committed since.

        Other server processes write the same file (`serve --workers`); SQLite's data_version
        changes on this connection whenever any other connection commits. A connection not seen
        before may have missed commits, so it drops them too.
        """
        conn = self.conn()
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        if getattr(self._local, "data_version", None) != version:
            self._drop_caches()
            self._local.data_version = version

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
        conn.executescript(DATA_CHANGES)
        conn.executescript(change_triggers(self._tables()))

    def _tables(self) -> list[str]:
        rows = self.conn().execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return [str(r[0]) for r in rows]

    @contextmanager
    def unwatched(self) -> Iterator[None]:
        """Bulk loading without the change triggers, which cost about a quarter of each insert:
        `data_changes` moves on once at the end instead, and the triggers are back even when
        the loading fails (and `create_schema` puts them back on the next open anyway)."""
        self.conn().executescript(no_change_triggers(self._tables()))
        try:
            yield
        finally:
            self.create_schema()
            with self.write() as conn:
                conn.execute("UPDATE data_changes SET n = n + 1")

    def data_changes(self) -> int:
        """A value that moves on with every commit that changes what a read can answer."""
        return int(self.conn().execute("SELECT n FROM data_changes").fetchone()[0])

    def reset(self) -> None:
        """Drop every table and create the schema again (after an interrupted seed)."""
        conn = self.conn()
        for name in self._tables():
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
