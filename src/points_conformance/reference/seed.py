"""Deterministic test data for the reference server.

`seed_database(store, seed=N)` fills an empty store with the organisations, customers, groups,
ledgers, redemptions and cross-member events the conformance suite needs, all drawn from
`random.Random(N)`; dates are placed relative to the start of the current UTC day so that the
default windows (the last 30 days of the cross-member ledger, 90-day ledger windows) hold data.
`size="large"` (or a number of ledger rows) adds bulk customers until the store holds that many
ledger entry rows, inserted with executemany inside one transaction.

What was seeded is recorded in the `meta` table (`seed_info`): the test data the server's
description carries, so a server restarted on an existing database can still describe itself.
The builders live in `seed_ledgers`, `seed_cross_member` and `seed_bulk` (on the blocks of
`seed_builder`), the inserts in `seed_writes`.
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any

from points_conformance.reference.seed_builder import (
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
    TILLS,
    UNKNOWN_ID,
    SeedBuilder,
    fmt,
)
from points_conformance.reference.seed_bulk import add_bulk
from points_conformance.reference.seed_cross_member import seed_cross_member, write_cml
from points_conformance.reference.seed_ledgers import (
    seed_alt_currency,
    seed_group_ledger,
    seed_redeemer,
    seed_rich,
    seed_simple,
    seed_single,
)
from points_conformance.reference.seed_writes import (
    insert_reference_data,
    write_events,
    write_groups,
)
from points_conformance.reference.store import Store
from points_conformance.reference.store_schema import OWNER_CUSTOMER, utcnow

LARGE_ROWS = 1_000_000


class SeedSizeError(ValueError):
    """The --size value is neither small, large nor a positive number of rows."""


def parse_size(size: str | int) -> int:
    """Number of ledger rows wanted: 0 for small (whatever the fixed data holds)."""
    if isinstance(size, int) and not isinstance(size, bool):
        if size < 0:
            raise SeedSizeError("size must be small, large or a positive number of ledger rows")
        return size
    text = str(size).strip().lower()
    if text == "small":
        return 0
    if text == "large":
        return LARGE_ROWS
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise SeedSizeError(
            f"size must be small, large or a positive number of ledger rows, not {size!r}"
        ) from None
    if value < 0:
        raise SeedSizeError("size must be small, large or a positive number of ledger rows")
    return value


def _customer_info(
    ids: dict[str, str],
    customer_id: int,
    *,
    events: int | None = None,
    program_ids: tuple[int, ...] = (),
    till_ids: tuple[int, ...] = (),
    store_ids: tuple[int, ...] = (),
    store_codes: tuple[str, ...] = (),
    alternate_currencies: tuple[str, ...] = (),
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": str(customer_id),
        "mobile": ids["mobile"],
        "email": ids["email"],
        "external_id": ids["externalId"],
        "cardnumber": ids["cardnumber"],
        "card_external_id": ids["cardExternalId"],
    }
    if events is not None:
        info["events"] = events
    for key, value in (
        ("program_ids", program_ids),
        ("till_ids", till_ids),
        ("store_ids", store_ids),
        ("store_codes", store_codes),
        ("alternate_currencies", alternate_currencies),
    ):
        if value:
            info[key] = list(value)
    return info


def seed_database(
    store: Store, *, seed: int = 0, size: str | int = "small", now: datetime | None = None
) -> dict[str, Any]:
    """Fill an empty store; returns (and records in `meta`) the seed info."""
    store.create_schema()
    with store.unwatched():
        return _fill(store, seed, size, now)


def _fill(store: Store, seed: int, size: str | int, now: datetime | None) -> dict[str, Any]:
    rows_wanted = parse_size(size)
    rng = random.Random(seed)
    current = now or utcnow()
    anchor = current.replace(hour=0, minute=0, second=0, microsecond=0)
    insert_reference_data(store)
    # The builders draw from one random stream, so their order is part of the seed.
    b = SeedBuilder(rng, anchor)
    roles = _ledger_customers(b, _shape(seed, 360, 13))
    pairs = _transfer_pairs(b)
    redeemer = b.customer(5009, "Rita", "Redeemer", mobile="919740000000")
    redemptions = seed_redeemer(b, 5009, redeemer["mobile"], 62)
    roles.update(_special_customers(b))
    roles["connected"] = _connected_customers(b)
    _group_members(b)
    write_groups(store, anchor)
    seed_group_ledger(b, 7001, [5101, 5102, 5103], _shape(seed, 30, 7), (11, 12, 13))
    seed_group_ledger(b, 7002, [5201, 5202, 5203], _shape(3 * seed, 30, 11), (11, 13))
    balances = {1001: 400_000, 1002: 260_000, 1003: 500_000, 1004: 90_000}
    cml = seed_cross_member(b, 7003, balances, 1005, _shape(seed, 24, 5))
    write_events(store, b, 13_490_000)
    write_cml(store, 7003, cml)
    big_events = add_bulk(store, rng, anchor, rows_wanted - _count_rows(store))
    info = _seed_info(seed, size, anchor, roles, redemptions, pairs)
    if big_events:
        info["customers"]["bulk"] = {
            "id": str(10_000_000),
            "mobile": f"92{10_000_000:010d}",
            "external_id": "bulk-10000000",
            "events": big_events,
            "program_ids": [PROGRAM_DEFAULT],
        }
    with store.write() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('seed_info', ?)", (json.dumps(info),)
        )
    return info


def _shape(seed: int, base: int, spread: int) -> int:
    """How many events a ledger (or the cross-member group's recent redemptions) gets: `base` for
    seed 0, whose shapes the server's own tests know; other seeds vary the shapes too (a group's
    last page part-filled, say), not only the values, so that a server of another seed is unlike
    seed 0's in more than its numbers."""
    return base if seed == 0 else base + seed % spread


def _ledger_customers(b: SeedBuilder, rich_count: int) -> dict[str, dict[str, Any]]:
    """The customers the ledger and transfer tests read: rich, alternate currency, a pair."""
    roles: dict[str, dict[str, Any]] = {}
    rich_ids = b.customer(5001, "Porter", "Robinson")
    seed_rich(b, 5001, rich_count)
    rich_events = sum(1 for e in b.events if e.owner_id == 5001 and e.owner_kind == OWNER_CUSTOMER)
    roles["rich"] = _customer_info(
        rich_ids,
        5001,
        events=rich_events,
        program_ids=(PROGRAM_DEFAULT, PROGRAM_PARTNER),
        till_ids=tuple(TILLS),
        store_ids=(5, 6),
        store_codes=("store1", "store2"),
    )
    # Ledgers of 0, 1, 10 and 11 events, which the server's own tests page through; the
    # description leaves them out, as the suite makes those edges from the rich ledger.
    b.customer(5002, "Emma", "Empty")
    b.customer(5003, "Sam", "Single")
    seed_single(b, 5003)
    b.customer(5004, "Olive", "Page")
    seed_simple(b, 5004, 10)
    b.customer(5005, "Peter", "Plusone")
    seed_simple(b, 5005, 11)
    alt = b.customer(5006, "John", "Pork", external_id="69420")
    seed_alt_currency(b, 5006)
    roles["alt_currency"] = _customer_info(
        alt, 5006, program_ids=(PROGRAM_DEFAULT,), alternate_currencies=("DocCoin", "Stars")
    )
    t_from = b.customer(5007, "Tom", "Sawyer")
    seed_simple(b, 5007, 4, first_credit=50_000_000)
    roles["transfer_from"] = _customer_info(t_from, 5007, program_ids=(PROGRAM_DEFAULT,))
    t_to = b.customer(5008, "James", "Thomas")
    seed_simple(b, 5008, 3, first_credit=1_000_000)
    roles["transfer_to"] = _customer_info(t_to, 5008, program_ids=(PROGRAM_DEFAULT,))
    return roles


def _transfer_pairs(b: SeedBuilder) -> list[int]:
    """Customers with points to spare, which transfer tests use up two at a time."""
    pairs = []
    for cid in range(5011, 5021):
        b.customer(cid, "Pair", f"Member{cid}")
        seed_simple(b, cid, 2, first_credit=10_000_000)
        pairs.append(cid)
    return pairs


def _special_customers(b: SeedBuilder) -> dict[str, dict[str, Any]]:
    """The fraud, not enrolled and merged customers."""
    roles: dict[str, dict[str, Any]] = {}
    fraud_ids = b.customer(415, "Frank", "Fraud", fraud=True)
    seed_simple(b, 415, 2, first_credit=5_000_000)
    b.customer(414, "Fiona", "Fraud", fraud=True)
    seed_simple(b, 414, 2, first_credit=5_000_000)
    roles["fraud"] = _customer_info(fraud_ids, 415)
    not_enrolled = b.customer(881, "Nora", "Notenrolled", enrolled=False)
    roles["not_enrolled"] = _customer_info(not_enrolled, 881)
    # a customer merged into another: it keeps its identifiers, and every points operation
    # that finds it answers 419 naming the survivor
    b.customer(4190, "Mona", "Survivor")
    merged = b.customer(419, "Mona", "Merged", merged_into=4190)
    roles["merged"] = _customer_info(merged, 419)
    return roles


def _connected_customers(b: SeedBuilder) -> dict[str, Any]:
    """The same person in two connected orgs, and customers outside any cross-member group."""
    # the same person in the child org (SELF) and the parent org (OTHER), different userIds
    shared_mobile, shared_email, shared_ext = "917406401004", "porter.r@example.com", "pr-50"
    b.customer(
        5010, "Porter", "Robinson", mobile=shared_mobile, email=shared_email, external_id=shared_ext
    )
    seed_simple(b, 5010, 5)
    connected = b.customer(
        6010,
        "Porter",
        "Robinson",
        org_id=PARENT_ORG,
        mobile=shared_mobile,
        email=shared_email,
        external_id=shared_ext,
    )
    seed_simple(b, 6010, 4, program=PROGRAM_PARENT, org_id=PARENT_ORG, till=PARENT_TILL)
    # customers outside any cross-member group, in this org and in another one
    b.customer(3301, "Nils", "Nogroup")
    seed_simple(b, 3301, 2, first_credit=1_000_000)
    b.customer(3401, "Olga", "Otherorg", org_id=OTHER_ORG)
    seed_simple(b, 3401, 2, program=PROGRAM_OTHER, org_id=OTHER_ORG, till=OTHER_TILL)
    return _customer_info(
        connected, 6010, events=4, program_ids=(PROGRAM_PARENT,), till_ids=(PARENT_TILL,)
    )


# The members of the user groups (51xx USERGROUP2, 52xx FLEET) and of the cross-member group.
_GROUP_MEMBERS = {
    5101: ("Grace", "Robinson"),
    5102: ("Henry", "Robinson"),
    5103: ("Ivy", "Robinson"),
    5201: ("Oscar", "Owner"),
    5202: ("Dan", "Driver"),
    5203: ("Amy", "Associate"),
    1001: ("Ann", "Cross"),
    1002: ("Ben", "Cross"),
    1003: ("Cat", "Cross"),
    1004: ("Dev", "Cross"),
    1005: ("Eve", "Cross"),
}


def _group_members(b: SeedBuilder) -> None:
    for cid, (first, last) in _GROUP_MEMBERS.items():
        b.customer(cid, first, last)
        if cid >= 5000:
            seed_simple(b, cid, 1)


def _seed_info(
    seed: int,
    size: str | int,
    anchor: datetime,
    roles: dict[str, dict[str, Any]],
    redemptions: dict[str, Any],
    pairs: list[int],
) -> dict[str, Any]:
    """What the seed records in `meta`: the test data a description of the server carries."""
    return {
        "seed": seed,
        "size": str(size),
        "anchor": fmt(anchor),
        "org_id": MAIN_ORG,
        "source": "INSTORE",
        "account_id": "",
        "timezone": MAIN_TZ,
        "customers": roles,
        "groups": {
            "usergroup2": {
                "id": "7001",
                "external_id": "UG2-7001",
                "primary_user_id": "5101",
                "type": "USERGROUP2",
                "member_ids": ["5101", "5102", "5103"],
                # The reference server lets anyone transfer a group's points.
                "transferred_by": roles["transfer_to"]["mobile"],
            },
            "fleet": {
                "id": "7002",
                "external_id": "FLEET-7002",
                "primary_user_id": "5201",
                "type": "FLEET",
                "member_ids": ["5201", "5202", "5203"],
            },
        },
        "connected_orgs": {
            "own_org_id": MAIN_ORG,
            "connected_org_ids": [PARENT_ORG],
            "unconnected_org_id": OTHER_ORG,
            "connected_customer": "customers.connected",
        },
        "cross_member": {
            "member_id": "1003",
            "group_id": "7003",
            "member_ids": ["1001", "1002", "1003", "1004"],
            "not_in_group_id": "3301",
            "other_org_id": "3401",
        },
        "redemptions": redemptions,
        "transfer": {"otp_header": "X-Sandbox-OTP", "pair_ids": [str(p) for p in pairs]},
        "stores": {
            "unknown_store_id": UNKNOWN_ID,
            "unknown_store_code": "no-such-store",
            "unknown_till_id": UNKNOWN_ID,
        },
        "special": {
            "fraud_ids": ["414", "415"],
            "not_enrolled_id": "881",
            "merged_id": "419",
            "merged_into_id": "4190",
        },
    }


def _count_rows(store: Store) -> int:
    return int(store.conn().execute("SELECT COUNT(*) FROM ledger_rows").fetchone()[0])
