"""The store's ledger reads: balances, ledger pages (counted and anchored, cached until the
next write) and the cross-member ledger.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from points_conformance.reference.store_connection import StoreConnection
from points_conformance.reference.store_schema import (
    ALL_ROWS_MASK,
    ANCHOR_STEP,
    OWNER_CUSTOMER,
    LedgerQuery,
    fits_int64,
)


class LedgerQueries(StoreConnection):
    """Balances and the pages of the customer, group and cross-member ledgers."""

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
            if q.program_or_source:
                sql += " OR e.source_program_id = ?"
                args.append(q.program_id)
            sql += ")"
        if q.currency_names is not None:
            names = q.currency_names or ("",)
            sql += f" AND (r.currency IS NULL OR r.currency IN ({','.join('?' * len(names))}))"
            args.extend(names)
        return sql, args

    def ledger_count(self, q: LedgerQuery) -> int:
        self.caches_checked()
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
        self.caches_checked()
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
        return self._rows_by_event("ledger_rows", event_ids)

    def _rows_by_event(self, table: str, event_ids: Sequence[int]) -> dict[int, list[sqlite3.Row]]:
        out: dict[int, list[sqlite3.Row]] = {int(i): [] for i in event_ids}
        if not event_ids:
            return out
        marks = ",".join("?" * len(event_ids))
        rows = self.conn().execute(
            f"SELECT * FROM {table} WHERE event_log_id IN ({marks}) ORDER BY row_id",
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
        return self._rows_by_event("cml_rows", event_ids)
