"""The bulk loader of `--size large` (or a number of ledger rows): bulk customers until the
store holds that many ledger entry rows.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from points_conformance.reference.seed_builder import (
    DELAYED,
    MAIN,
    MAIN_ORG,
    PROGRAM_DEFAULT,
    TRIGGER,
    fmt,
)
from points_conformance.reference.store import Store
from points_conformance.reference.store_schema import OWNER_CUSTOMER, row_bit


# over 80 lines: the hot loop keeps its state in locals, which keeps a million rows quick
def add_bulk(store: Store, rng: random.Random, anchor: datetime, rows_wanted: int) -> int:
    """Add bulk customers holding `rows_wanted` ledger rows; returns the big customer's events."""
    if rows_wanted <= 0:
        return 0
    big_rows = max(1, rows_wanted // 4)
    first_customer = 10_000_000
    # per event: (event name, rows as (entry type, category, points)); 6 rows per 3 events
    cycle = (
        ("BulkAllocatePoints", (("CREDIT", MAIN, 25_000),)),
        (
            "TransactionAdd",
            (("CREDIT", MAIN, 10_000), ("CREDIT", DELAYED, 2_500), ("CREDIT", TRIGGER, 1_000)),
        ),
        ("PointsRedemption", (("DEBIT", MAIN, 5_000), ("DEBIT", DELAYED, 500))),
    )
    bits = [[row_bit(t, c, None) for t, c, _ in rows] for _, rows in cycle]
    masks = [sum(1 << b for b in set(bs)) for bs in bits]
    start_epoch = int((anchor - timedelta(days=730)).replace(tzinfo=UTC).timestamp())
    span = 730 * 86400 - 7200
    customers: list[tuple[Any, ...]] = []
    identifiers: list[tuple[Any, ...]] = []
    balances: list[tuple[Any, ...]] = []
    event_id = 200_000_000
    made = 0
    big_events = 0
    customer_id = first_customer
    reg = fmt(anchor - timedelta(days=731))
    day_cache: dict[int, str] = {}
    # a fixed table of draws keeps the per-event cost to arithmetic and one tuple
    draws = [rng.random() for _ in range(1009)]
    row_templates = [
        [(entry, category, points, PROGRAM_DEFAULT, None, bit) for (entry, category, points), bit
         in zip(rows, bits[k], strict=True)]
        for k, (_, rows) in enumerate(cycle)
    ]  # fmt: skip
    main_per_kind = [
        sum((-p if e == "DEBIT" else p) for e, c, p in rows if c == MAIN) for _, rows in cycle
    ]
    delayed_per_kind = [
        sum((-p if e == "DEBIT" else p) for e, c, p in rows if c == DELAYED) for _, rows in cycle
    ]
    trigger_per_kind = [sum(p for _, c, p in rows if c == TRIGGER) for _, rows in cycle]
    with store.write() as conn:
        while made < rows_wanted:
            want = big_rows if customer_id == first_customer else min(600, rows_wanted - made)
            n_events = max(1, want // 2)
            step = max(1, span // n_events)
            jitter = max(1, step // 2)
            t = start_epoch
            ev_rows: list[tuple[Any, ...]] = []
            row_rows: list[tuple[Any, ...]] = []
            offset = customer_id % 1009
            for i in range(n_events):
                t += step - int(draws[(i + offset) % 1009] * jitter)
                day, secs = divmod(t, 86400)
                prefix = day_cache.get(day)
                if prefix is None:
                    prefix = datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%d ")
                    day_cache[day] = prefix
                h, rem = divmod(secs, 3600)
                created = f"{prefix}{h:02d}:{rem // 60:02d}:{rem % 60:02d}"
                k = i % 3
                event_id += 1
                ev_rows.append(
                    (
                        event_id, MAIN_ORG, OWNER_CUSTOMER, customer_id, customer_id, created,
                        cycle[k][0], 11 + k, None, PROGRAM_DEFAULT, None, None, masks[k],
                    )
                )  # fmt: skip
                for template in row_templates[k]:
                    row_rows.append((event_id, *template))
            kinds = [len(range(k, n_events, 3)) for k in range(3)]
            main = sum(n * v for n, v in zip(kinds, main_per_kind, strict=True))
            delayed = sum(n * v for n, v in zip(kinds, delayed_per_kind, strict=True))
            trigger = sum(n * v for n, v in zip(kinds, trigger_per_kind, strict=True))
            conn.executemany(
                "INSERT INTO ledger_events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", ev_rows
            )
            conn.executemany(
                "INSERT INTO ledger_rows (event_log_id, entry_type, category, points, program_id,"
                " currency, bit) VALUES (?, ?, ?, ?, ?, ?, ?)",
                row_rows,
            )
            made += len(row_rows)
            if customer_id == first_customer:
                big_events = n_events
            customers.append((customer_id, MAIN_ORG, "Bulk", f"Customer{customer_id}", 0, 1, reg))
            identifiers.append(
                (MAIN_ORG, "mobile", f"92{customer_id:010d}", "INSTORE", "", customer_id)
            )
            identifiers.append(
                (MAIN_ORG, "externalId", f"bulk-{customer_id}", "INSTORE", "", customer_id)
            )
            balances.append((OWNER_CUSTOMER, customer_id, PROGRAM_DEFAULT, MAIN, "", main))
            balances.append((OWNER_CUSTOMER, customer_id, PROGRAM_DEFAULT, DELAYED, "", delayed))
            balances.append((OWNER_CUSTOMER, customer_id, PROGRAM_DEFAULT, TRIGGER, "", trigger))
            customer_id += 1
        conn.executemany(
            "INSERT INTO customers (customer_id, org_id, first_name, last_name, fraud,"
            " loyalty_enrolled, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
            customers,
        )
        conn.executemany("INSERT INTO identifiers VALUES (?, ?, ?, ?, ?, ?)", identifiers)
        conn.executemany("INSERT INTO balances VALUES (?, ?, ?, ?, ?, ?)", balances)
    return big_events
