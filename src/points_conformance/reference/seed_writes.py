"""Writing the seed: reference data (orgs, programs, stores, tills), the built events and the
user groups, each inserted with executemany in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from points_conformance.reference.seed_builder import (
    EMPTY_STORE_ID,
    MAIN_ORG,
    MAIN_TZ,
    OTHER_ORG,
    OTHER_TILL,
    PARENT_ORG,
    PARENT_TILL,
    PROGRAM_DEFAULT,
    PROGRAM_OTHER,
    PROGRAM_PARENT,
    PROGRAM_PARTNER,
    SeedBuilder,
    fmt,
)
from points_conformance.reference.seed_ledgers import PROMOTION_IDS
from points_conformance.reference.store import Store
from points_conformance.reference.store_schema import row_bit


def insert_reference_data(store: Store) -> None:
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO orgs (org_id, name, timezone, cross_member_enabled) VALUES (?, ?, ?, ?)",
            [
                (MAIN_ORG, "ChildOrg1", MAIN_TZ, 1),
                (PARENT_ORG, "ParentOrg", MAIN_TZ, 0),
                (OTHER_ORG, "OtherOrg", "UTC", 0),
            ],
        )
        conn.executemany(
            "INSERT INTO org_links (org_id, connected_org_id) VALUES (?, ?)",
            [(MAIN_ORG, PARENT_ORG), (PARENT_ORG, MAIN_ORG)],
        )
        conn.executemany(
            "INSERT INTO programs (program_id, org_id, name, is_default) VALUES (?, ?, ?, ?)",
            [
                (PROGRAM_DEFAULT, MAIN_ORG, "ChildOrg1DefaultProgram", 1),
                (PROGRAM_PARTNER, MAIN_ORG, "ChildOrg1PartnerProgram", 0),
                (PROGRAM_PARENT, PARENT_ORG, "ParentOrgDefaultProgram", 1),
                (PROGRAM_OTHER, OTHER_ORG, "OtherOrgDefaultProgram", 1),
            ],
        )
        conn.executemany(
            "INSERT INTO stores (store_id, org_id, code, name) VALUES (?, ?, ?, ?)",
            [
                (5, MAIN_ORG, "store1", "Store1"),
                (6, MAIN_ORG, "store2", "Store2"),
                (EMPTY_STORE_ID, MAIN_ORG, "store3", "Store3"),
                (8, PARENT_ORG, "store1", "Store1"),
                (9, OTHER_ORG, "otherstore", "OtherStore"),
            ],
        )
        conn.executemany(
            "INSERT INTO tills (till_id, org_id, store_id, code, concept_program_id)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (11, MAIN_ORG, 5, "childorgtill1", None),
                (12, MAIN_ORG, 5, "childorgtill2", None),
                (13, MAIN_ORG, 6, "childorgtill3", PROGRAM_PARTNER),
                (PARENT_TILL, PARENT_ORG, 8, "parentorgtill1", None),
                (OTHER_TILL, OTHER_ORG, 9, "othertill1", None),
            ],
        )
        conn.executemany(
            "INSERT INTO promotions (promotion_id, name, description, identifier, display_name)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (
                    PROMOTION_IDS[0],
                    "TargetCompletePromos",
                    "TargetCompletePromos",
                    "7c73ef03-5745-4d82-b089-aebefa53d10d",
                    "TargetCompletePromos",
                ),
                (
                    PROMOTION_IDS[1],
                    "StoreVisitBonus",
                    "Bonus points for a store visit",
                    "0f4c2a9e-1d7b-4c1e-9a55-2b8e6f3d9c10",
                    "StoreVisit",
                ),
                (
                    PROMOTION_IDS[2],
                    "ImportedGoodwill",
                    "Points allocated by import",
                    "b2d8e1f4-6a3c-4f7e-8d21-5c9a0e7b3f64",
                    "BulkImport",
                ),
            ],
        )


_EventRows = tuple[
    list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]
]


def _event_rows(b: SeedBuilder, first_id: int) -> _EventRows:
    """The transactions, events, ledger rows and balances of the built events, ids drawn here."""
    rng = b.rng
    b.events.sort(key=lambda e: (e.created, e.seq))
    next_id = first_id
    tx_rows: list[tuple[Any, ...]] = []
    ev_rows: list[tuple[Any, ...]] = []
    row_rows: list[tuple[Any, ...]] = []
    balances: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    next_tx = 36363900
    for ev in b.events:
        next_id += rng.randint(1, 9)
        ev.event_log_id = next_id
        tx_id = None
        if ev.transaction is not None:
            next_tx += rng.randint(1, 5)
            tx_id = next_tx
            number, date, amount, gross = ev.transaction
            tx_rows.append((tx_id, number, fmt(date), amount, gross, "instore"))
        mask = 0
        for entry_type, category, points, program, currency in ev.rows:
            bit = row_bit(entry_type, category, currency)
            mask |= 1 << bit
            row_rows.append((next_id, entry_type, category, points, program, currency, bit))
            sign = -1 if entry_type == "DEBIT" else 1
            balances[(ev.owner_kind, ev.owner_id, program, category, currency or "")] += (
                sign * points
            )
        ev_rows.append(
            (
                next_id,
                ev.org_id,
                ev.owner_kind,
                ev.owner_id,
                ev.customer_id,
                fmt(ev.created),
                ev.event_name,
                ev.till_id,
                tx_id,
                ev.program_id,
                ev.promotion_id,
                ev.reason,
                mask,
            )
        )
    return tx_rows, ev_rows, row_rows, [(*k, v) for k, v in balances.items()]


def _redemption_rows(b: SeedBuilder) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The redemptions with what was reversed of each, and the reversals (their ids drawn here)."""
    reversed_by: dict[str, int] = defaultdict(int)
    for code, rev in b.partial_reversals:
        reversed_by[code] += rev.rows[0][2]
    redemptions = [
        (
            ev.redemption_id,
            ev.org_id,
            ev.customer_id,
            ev.program_id,
            amount,
            reversed_by.get(ev.redemption_id or "", 0),
            id_type,
            id_value,
            ev.event_log_id,
            fmt(ev.created),
        )
        for ev, amount, id_type, id_value in b.redemptions
    ]
    reversals = [
        (b.code(), code, rev.rows[0][2], rev.event_log_id, fmt(rev.created))
        for code, rev in b.partial_reversals
    ]
    return redemptions, reversals


def write_events(store: Store, b: SeedBuilder, first_id: int) -> None:
    tx_rows, ev_rows, row_rows, balances = _event_rows(b, first_id)
    redemptions, reversals = _redemption_rows(b)
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO customers (customer_id, org_id, first_name, last_name, fraud,"
            " loyalty_enrolled, created, merged_into) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            b.customers,
        )
        conn.executemany(
            "INSERT INTO identifiers (org_id, name, value, source, account_id, customer_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            b.identifiers,
        )
        conn.executemany("INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?)", tx_rows)
        conn.executemany(
            "INSERT INTO ledger_events (event_log_id, org_id, owner_kind, owner_id, customer_id,"
            " created, event_name, till_id, transaction_id, source_program_id, promotion_id,"
            " reason, row_mask) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ev_rows,
        )
        conn.executemany(
            "INSERT INTO ledger_rows (event_log_id, entry_type, category, points, program_id,"
            " currency, bit) VALUES (?, ?, ?, ?, ?, ?, ?)",
            row_rows,
        )
        conn.executemany(
            "INSERT INTO balances (owner_kind, owner_id, program_id, category, currency, balance)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            balances,
        )
        conn.executemany(
            "INSERT INTO redemptions (redemption_id, org_id, customer_id, program_id, points,"
            " reversed, identifier_type, identifier_value, event_log_id, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            redemptions,
        )
        conn.executemany(
            "INSERT INTO reversals (reversal_id, redemption_id, points, event_log_id, created)"
            " VALUES (?, ?, ?, ?, ?)",
            reversals,
        )


def write_groups(store: Store, anchor: datetime) -> None:
    created = fmt(anchor - timedelta(days=300))
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO user_groups (group_id, org_id, type, name, external_id, primary_user_id,"
            " cross_member_enabled, status, created_by, created, lifetime_purchases)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'ACTIVE', ?, ?, ?)",
            [
                (
                    7001,
                    MAIN_ORG,
                    "USERGROUP2",
                    "Robinson Family",
                    "UG2-7001",
                    5101,
                    0,
                    15041276,
                    created,
                    400.0,
                ),
                (
                    7002,
                    MAIN_ORG,
                    "FLEET",
                    "Fleet Logistics",
                    "FLEET-7002",
                    5201,
                    0,
                    15041276,
                    created,
                    1250.0,
                ),
                (
                    7003,
                    MAIN_ORG,
                    "USERGROUP2",
                    "Cross Member Family",
                    "UG2-7003",
                    1001,
                    1,
                    15041276,
                    created,
                    980.0,
                ),
            ],
        )
        conn.executemany(
            "INSERT INTO group_members (group_id, customer_id, role, is_primary, active,"
            " default_group) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (7001, 5101, "PRIMARY", 1, 1, 1),
                (7001, 5102, "SECONDARY", 0, 1, 0),
                (7001, 5103, "SECONDARY", 0, 1, 1),
                (7002, 5201, "OWNER", 1, 1, 1),
                (7002, 5202, "DRIVER", 0, 1, 0),
                (7002, 5203, "ASSOCIATE", 0, 1, 1),
                (7003, 1001, "PRIMARY", 1, 1, 1),
                (7003, 1002, "SECONDARY", 0, 1, 1),
                (7003, 1003, "SECONDARY", 0, 1, 1),
                (7003, 1004, "SECONDARY", 0, 1, 1),
                (7003, 1005, "SECONDARY", 0, 0, 1),
            ],
        )
