"""The store's writes: OTPs, transfers and reversals, each one atomic transaction that reads
the balance it checks under the write lock.
"""

from __future__ import annotations

import secrets
import sqlite3
import string
import time
from collections.abc import Sequence
from datetime import UTC

from points_conformance.reference.store_ledger import LedgerQueries
from points_conformance.reference.store_schema import (
    OWNER_CUSTOMER,
    Entity,
    StoreError,
    fmt_ts,
    row_bit,
)


class PointsWrites(LedgerQueries):
    """Redemptions, OTPs, transfers and reversals."""

    # -- redemptions, reversals, transfers, OTPs ------------------------------------------------

    def redemption(self, redemption_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = (
            self.conn()
            .execute("SELECT * FROM redemptions WHERE redemption_id = ?", (redemption_id,))
            .fetchone()
        )
        return row

    def transfers_of(
        self, kind: int, entity_id: int, *, incoming: bool = False
    ) -> list[sqlite3.Row]:
        """The party's transfers, newest first; with `incoming`, those to it as well."""
        to_it = " OR (to_kind = ? AND to_id = ?)" if incoming else ""
        return list(
            self.conn().execute(
                f"SELECT * FROM transfers WHERE (from_kind = ? AND from_id = ?){to_it}"
                " ORDER BY transfer_id DESC",
                (kind, entity_id) * (2 if incoming else 1),
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

    # over 80 lines: every check and write of a transfer is one transaction, read top to bottom
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
            debit_id, credit_id = [
                self._new_event(
                    conn,
                    org_id=party.org_id,
                    owner=party,
                    customer_id=customer,
                    created=created,
                    event_name="PointsTransfer",
                    program_id=program_id,
                    rows=[(entry, category, points, program_id, None)],
                    reason=notes or None,
                    till_id=till_id,
                )
                for entry, party, customer in (
                    ("DEBIT", source, debit_customer),
                    ("CREDIT", destination, credit_customer),
                )
            ]
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
