"""SQLite storage of the reference server: schema, reads the routes need, atomic writes.

Points are stored as integers in thousandths ("milli-points") so that every sum is exact and
the three-decimal strings of the API are a formatting step. Each thread gets its own connection
(WAL mode lets readers run beside the single writer); every write runs in one BEGIN IMMEDIATE
transaction, so a transfer reads the balance it checks under the write lock.

"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from points_conformance.reference.store_schema import fits_int64, utcnow
from points_conformance.reference.store_writes import PointsWrites


class Store(PointsWrites):
    """The database of one reference server. Safe to share between threads."""

    # -- reference data -------------------------------------------------------------------------

    def _one_row(self, checked_id: int, sql: str, args: tuple[Any, ...]) -> sqlite3.Row | None:
        """The row `sql` finds; None for an id SQLite's integers cannot hold."""
        if not fits_int64(checked_id):
            return None
        row: sqlite3.Row | None = self.conn().execute(sql, args).fetchone()
        return row

    def org(self, org_id: int) -> sqlite3.Row | None:
        return self._one_row(org_id, "SELECT * FROM orgs WHERE org_id = ?", (org_id,))

    def connected_org_ids(self, org_id: int) -> set[int]:
        rows = self.conn().execute(
            "SELECT connected_org_id FROM org_links WHERE org_id = ?", (org_id,)
        )
        return {int(r[0]) for r in rows}

    def program(self, program_id: int) -> sqlite3.Row | None:
        return self._one_row(
            program_id, "SELECT * FROM programs WHERE program_id = ?", (program_id,)
        )

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
        return self._one_row(
            till_id, "SELECT * FROM tills WHERE org_id = ? AND till_id = ?", (org_id, till_id)
        )

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
        return self._one_row(
            customer_id, "SELECT * FROM customers WHERE customer_id = ?", (customer_id,)
        )

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
        return self._one_row(group_id, "SELECT * FROM user_groups WHERE group_id = ?", (group_id,))

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


def open_store(path: str | Path, *, clock: Callable[[], datetime] = utcnow) -> Store:
    """A store on `path` with its schema in place."""
    store = Store(path, clock=clock)
    store.create_schema()
    return store
