"""The reference server's storage and seed: schema, indices, seeded data, atomic writes."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from points_conformance.reference.seed import SeedSizeError, parse_size, seed_database
from points_conformance.reference.seed_builder import EVENT_NAMES
from points_conformance.reference.store import Store, open_store
from points_conformance.reference.store_schema import (
    ANCHOR_STEP,
    OWNER_CUSTOMER,
    OWNER_GROUP,
    Entity,
    LedgerQuery,
    StoreError,
)
from points_conformance.reference.testing import build_template, fresh_store
from points_conformance.target import CUSTOMER_ROLES


def found(row: sqlite3.Row | None) -> sqlite3.Row:
    """The row a lookup must find (a miss fails the test here, not as a TypeError)."""
    assert row is not None
    return row


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("store-template"))


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    s = fresh_store(template, tmp_path / "points.db")
    yield s
    s.close()


def _all(store: Store, sql: str, *args: object) -> list[sqlite3.Row]:
    return list(store.conn().execute(sql, args))


# -- schema and indices ---------------------------------------------------------------------------


def test_wal_mode_and_tables(store: Store) -> None:
    assert store.conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in _all(store, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    for name in (
        "orgs", "org_links", "programs", "stores", "tills", "customers", "identifiers",
        "user_groups", "group_members", "transactions", "promotions", "ledger_events",
        "ledger_rows", "balances", "redemptions", "reversals", "transfers", "cml_events",
        "cml_rows", "otps",
    ):  # fmt: skip
        assert name in tables


@pytest.mark.parametrize("ascending", [False, True])
def test_ledger_page_is_an_index_range_scan(store: Store, ascending: bool) -> None:
    q = LedgerQuery(owner_kind=OWNER_CUSTOMER, owner_ids=(5001,), mask=0b111111111)
    where, args = store._ledger_where(q)
    order = "ASC" if ascending else "DESC"
    plan = " | ".join(
        str(r[3])
        for r in store.conn().execute(
            f"EXPLAIN QUERY PLAN SELECT e.event_log_id FROM ledger_events e WHERE {where}"
            f" ORDER BY e.created {order}, e.event_log_id {order} LIMIT 10 OFFSET 100",
            args,
        )
    )
    assert "COVERING INDEX ledger_events_page" in plan
    assert "TEMP B-TREE" not in plan  # the order comes from the index, nothing is sorted


def test_count_uses_the_index(store: Store) -> None:
    plan = " | ".join(
        str(r[3])
        for r in store.conn().execute(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM ledger_events e"
            " WHERE e.owner_kind = 0 AND e.owner_id IN (5001) AND e.created >= '2020'"
        )
    )
    assert "COVERING INDEX ledger_events_page" in plan


# -- the seed ---------------------------------------------------------------------------------------


def test_seed_is_deterministic(tmp_path: Path) -> None:
    now = datetime(2026, 4, 15, 12, 0, 0)

    def fingerprint(seed: int, name: str) -> list[tuple[object, ...]]:
        s = open_store(tmp_path / name)
        seed_database(s, seed=seed, now=now)
        rows = [
            tuple(r)
            for r in s.conn().execute(
                "SELECT e.event_log_id, e.owner_id, e.created, e.event_name, r.entry_type,"
                " r.category, r.points, r.currency FROM ledger_events e JOIN ledger_rows r"
                " ON r.event_log_id = e.event_log_id ORDER BY r.row_id"
            )
        ]
        rows += [tuple(r) for r in s.conn().execute("SELECT * FROM redemptions ORDER BY 1")]
        rows += [tuple(r) for r in s.conn().execute("SELECT * FROM cml_rows ORDER BY 1")]
        s.close()
        return rows

    assert fingerprint(7, "a.db") == fingerprint(7, "b.db")
    assert fingerprint(7, "a2.db") != fingerprint(8, "c.db")


def test_other_seeds_vary_the_shapes_of_the_ledgers(tmp_path: Path) -> None:
    """Seed 0 keeps the shapes the server's own tests know; others change how many events the
    rich customer, the groups and the cross-member group have, so that a page is part-filled
    where seed 0's is full."""

    def counts(seed: int) -> list[int]:
        s = open_store(tmp_path / f"shape-{seed}.db")
        seed_database(s, seed=seed)
        found = [
            s.conn()
            .execute("SELECT COUNT(*) FROM ledger_events WHERE owner_id = ?", (owner,))
            .fetchone()[0]
            for owner in (5001, 7001, 7002)
        ]
        cml = s.conn().execute("SELECT COUNT(*) FROM cml_events WHERE group_id = 7003")
        found.append(cml.fetchone()[0])
        s.close()
        return found

    zero = counts(0)
    assert zero[1:3] == [30, 30]
    shapes = {tuple(counts(seed)) for seed in (1, 2, 3)}
    assert len(shapes) == 3 and tuple(zero) not in shapes
    assert all(group % 10 for shape in shapes for group in shape[1:3])
    assert len({shape[3] for shape in shapes} | {zero[3]}) == 4


def test_seed_info_names_every_role(store: Store) -> None:
    info = store.seed_info()
    assert set(CUSTOMER_ROLES) <= set(info["customers"])
    assert set(info["groups"]) == {"usergroup2", "fleet"}
    for role, customer in info["customers"].items():
        row = store.customer(int(customer["id"]))
        assert row is not None, role
        for name, key in (("mobile", "mobile"), ("email", "email"), ("externalId", "external_id")):
            assert store.identifier(int(customer["id"]), name) == customer[key]


@pytest.mark.parametrize(
    ("customer_id", "expected"), [(5002, 0), (5003, 1), (5004, 10), (5005, 11)]
)
def test_event_counts_of_the_paging_shapes(store: Store, customer_id: int, expected: int) -> None:
    count = store.conn().execute(
        "SELECT COUNT(*) FROM ledger_events WHERE owner_kind = 0 AND owner_id = ?", (customer_id,)
    )
    assert count.fetchone()[0] == expected
    described = {c["id"] for c in store.seed_info()["customers"].values()}
    assert str(customer_id) not in described


def test_rich_customer_covers_every_dimension(store: Store) -> None:
    rich = store.seed_info()["customers"]["rich"]
    cid = int(rich["id"])
    events = _all(store, "SELECT * FROM ledger_events WHERE owner_kind = 0 AND owner_id = ?", cid)
    assert len(events) == rich["events"] >= 300
    assert {e["event_name"] for e in events} == set(EVENT_NAMES)
    assert {e["till_id"] for e in events} == set(rich["till_ids"])
    dates = sorted(e["created"] for e in events)
    span = datetime.fromisoformat(dates[-1]) - datetime.fromisoformat(dates[0])
    assert span > timedelta(days=365)
    rows = _all(
        store,
        "SELECT r.* FROM ledger_rows r JOIN ledger_events e ON e.event_log_id = r.event_log_id"
        " WHERE e.owner_kind = 0 AND e.owner_id = ?",
        cid,
    )
    combos = {(r["entry_type"], r["category"]) for r in rows}
    for entry_type in ("CREDIT", "DEBIT", "OPENING_BALANCE"):
        for category in (
            "Main",
            "DelayedAccrualPointCategory",
            "ExternalTriggerBasedPointCategory",
        ):
            assert (entry_type, category) in combos
    assert {r["program_id"] for r in rows} == set(rich["program_ids"])
    # a debit of another program at a till of the partner program's concept
    concept = _all(
        store,
        "SELECT 1 FROM ledger_rows r JOIN ledger_events e ON e.event_log_id = r.event_log_id"
        " JOIN tills t ON t.till_id = e.till_id WHERE e.owner_id = ? AND r.entry_type = 'DEBIT'"
        " AND t.concept_program_id IS NOT NULL AND r.program_id != t.concept_program_id",
        cid,
    )
    assert concept


def test_balances_are_kept_in_step_with_rows(store: Store) -> None:
    sums: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    for r in _all(
        store,
        "SELECT e.owner_kind, e.owner_id, r.program_id, r.category, r.currency, r.entry_type,"
        " r.points FROM ledger_rows r JOIN ledger_events e ON e.event_log_id = r.event_log_id",
    ):
        sign = -1 if r["entry_type"] == "DEBIT" else 1
        key = (r[0], r[1], r[2], r[3], r[4] or "")
        sums[key] += sign * r["points"]
    stored = {tuple(r)[:5]: r["balance"] for r in _all(store, "SELECT * FROM balances")}
    assert stored == dict(sums)
    assert min(stored.values()) >= 0


def test_alternate_currency_customer(store: Store) -> None:
    alt = store.seed_info()["customers"]["alt_currency"]
    rows = _all(
        store,
        "SELECT e.event_log_id, r.currency FROM ledger_rows r JOIN ledger_events e"
        " ON e.event_log_id = r.event_log_id WHERE e.owner_id = ?",
        int(alt["id"]),
    )
    assert {r["currency"] for r in rows} == {None, *alt["alternate_currencies"]}
    per_event: dict[int, set[bool]] = defaultdict(set)
    for r in rows:
        per_event[r["event_log_id"]].add(r["currency"] is None)
    kinds = Counter(frozenset(v) for v in per_event.values())
    assert kinds[frozenset({True, False})] > 0  # points and currency rows together
    assert kinds[frozenset({False})] > 0  # currency-only events
    assert kinds[frozenset({True})] > 0


def test_cross_member_group(store: Store) -> None:
    info = store.seed_info()["cross_member"]
    group = store.cross_member_group_of(int(info["member_id"]))
    assert group is not None
    members = store.group_members(int(group["group_id"]), active_only=True)
    balances = {m["customer_id"]: store.category_balance(0, m["customer_id"]) for m in members}
    assert balances == {1001: 400_000, 1002: 260_000, 1003: 500_000, 1004: 90_000}
    assert store.cross_member_group_of(1005) is None  # inactive member
    assert store.cross_member_group_of(int(info["not_in_group_id"])) is None
    other = store.customer(int(info["other_org_id"]))
    assert other is not None and other["org_id"] != store.seed_info()["org_id"]
    now = datetime.now(UTC).replace(tzinfo=None)
    recent = store.cml_count(
        int(group["group_id"]),
        (now - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S"),
        now.strftime("%Y-%m-%d %H:%M:%S"),
        None,
        None,
        None,
    )
    total = store.conn().execute("SELECT COUNT(*) FROM cml_events").fetchone()[0]
    assert recent >= 30
    assert total > recent
    rows = _all(store, "SELECT * FROM cml_rows r JOIN cml_events e USING (event_log_id)")
    redemption_rows = [r for r in rows if r["event_name"] == "CROSS_MEMBER_REDEMPTION"]
    assert any(0 < r["reversed"] < -r["points"] for r in redemption_rows)  # partial
    assert any(r["reversed"] == -r["points"] for r in redemption_rows)  # full
    assert all(0 <= r["reversed"] <= -r["points"] for r in redemption_rows)


def test_redemptions(store: Store) -> None:
    info = store.seed_info()["redemptions"]
    assert len(info["reversible_ids"]) >= 40
    for rid in info["reversible_ids"]:
        row = store.redemption(rid)
        assert row is not None and row["points"] > row["reversed"]
        assert (
            store.identifier(row["customer_id"], info["identifier_type"])
            == info["identifier_value"]
        )
    done = store.redemption(info["reversed_id"])
    assert done is not None and done["points"] == done["reversed"]
    assert any(found(store.redemption(r))["reversed"] > 0 for r in info["reversible_ids"])


def test_connected_person_has_two_user_ids(store: Store) -> None:
    info = store.seed_info()
    connected = info["customers"]["connected"]
    own = store.find_customer(info["org_id"], "mobile", connected["mobile"])
    other = store.find_customer(
        info["connected_orgs"]["connected_org_ids"][0], "mobile", connected["mobile"]
    )
    assert own is not None and other is not None
    assert own["customer_id"] != other["customer_id"]
    assert str(other["customer_id"]) == connected["id"]
    assert (
        store.find_customer(
            info["connected_orgs"]["unconnected_org_id"], "mobile", connected["mobile"]
        )
        is None
    )


def test_parse_size() -> None:
    assert parse_size("small") == 0
    assert parse_size("large") == 1_000_000
    assert parse_size("25000") == 25_000
    for bad in ("huge", "-5", "1.5", ""):
        with pytest.raises(SeedSizeError):
            parse_size(bad)


def test_bulk_seed_reaches_the_requested_rows(tmp_path: Path) -> None:
    s = open_store(tmp_path / "bulk.db")
    started = time.perf_counter()
    info = seed_database(s, size=40_000)
    elapsed = time.perf_counter() - started
    rows = s.conn().execute("SELECT COUNT(*) FROM ledger_rows").fetchone()[0]
    assert rows >= 40_000
    assert elapsed < 30
    bulk = info["customers"]["bulk"]
    count = (
        s.conn()
        .execute("SELECT COUNT(*) FROM ledger_events WHERE owner_id = ?", (int(bulk["id"]),))
        .fetchone()[0]
    )
    assert count == bulk["events"] > 4_000
    mismatched = (
        s.conn()
        .execute(
            "SELECT COUNT(*) FROM balances b WHERE b.owner_id >= 10000000 AND b.balance != ("
            " SELECT COALESCE(SUM(CASE r.entry_type WHEN 'DEBIT' THEN -r.points ELSE r.points END), 0)"
            " FROM ledger_events e JOIN ledger_rows r ON r.event_log_id = e.event_log_id"
            " WHERE e.owner_kind = b.owner_kind AND e.owner_id = b.owner_id"
            " AND r.program_id = b.program_id AND r.category = b.category)"
        )
        .fetchone()[0]
    )
    assert mismatched == 0
    s.close()


@pytest.fixture(scope="module")
def bulk_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_store(tmp_path_factory.mktemp("bulk") / "bulk.db")
    seed_database(s, size=20_000)
    yield s
    s.close()


@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize("mask", [0b111111111, 1 << 3])  # every points row; DEBIT Main only
def test_deep_pages_match_plain_offsets(bulk_store: Store, ascending: bool, mask: int) -> None:
    """Pages reached through anchors are exactly the pages of a plain LIMIT/OFFSET query."""
    s = bulk_store
    bulk = int(s.seed_info()["customers"]["bulk"]["id"])
    q = LedgerQuery(owner_kind=OWNER_CUSTOMER, owner_ids=(bulk,), mask=mask)
    total = s.ledger_count(q)
    assert total > 3 * ANCHOR_STEP
    order = "ASC" if ascending else "DESC"
    where, args = s._ledger_where(q)
    plain = [
        r[0]
        for r in s.conn().execute(
            f"SELECT e.event_log_id FROM ledger_events e WHERE {where}"
            f" ORDER BY e.created {order}, e.event_log_id {order}",
            args,
        )
    ]
    assert len(plain) == total
    for offset in (
        0,
        ANCHOR_STEP - 1,
        ANCHOR_STEP,
        3 * ANCHOR_STEP + 7,
        total - 5,
        total - 1,
        total,
        total + 999,
    ):
        page = s.ledger_page(q, limit=10, offset=offset, ascending=ascending)
        assert [r["event_log_id"] for r in page] == plain[offset : offset + 10], offset
    # a write makes every remembered anchor obsolete
    s.transfer(
        source=Entity(OWNER_CUSTOMER, bulk, 50406), destination=_entity(5008), program_id=1148,
        points=1, notes="", otp=None, otp_customer_id=None,
    )  # fmt: skip
    newest = s.ledger_page(q, limit=1, offset=0, ascending=False)
    deep = s.ledger_page(q, limit=1, offset=2 * ANCHOR_STEP, ascending=ascending)
    fresh = [
        r[0]
        for r in s.conn().execute(
            f"SELECT e.event_log_id FROM ledger_events e WHERE {s._ledger_where(q)[0]}"
            f" ORDER BY e.created {order}, e.event_log_id {order} LIMIT 1 OFFSET ?",
            [*s._ledger_where(q)[1], 2 * ANCHOR_STEP],
        )
    ]
    assert [r["event_log_id"] for r in deep] == fresh
    assert newest


def test_cached_counts_follow_another_process_writes(store: Store) -> None:
    """`serve --workers`: a transfer written through another store (process) on the same file
    makes this store count again instead of answering the count it remembered."""
    q = LedgerQuery(owner_kind=OWNER_CUSTOMER, owner_ids=(5008,), mask=0b111111111)
    before = store.ledger_count(q)
    assert store.ledger_count(q) == before  # remembered
    other = open_store(store.path)
    try:
        other.transfer(
            source=_entity(5001), destination=_entity(5008), program_id=1148,
            points=1, notes="", otp=None, otp_customer_id=None,
        )  # fmt: skip
    finally:
        other.close()
    assert store.ledger_count(q) == before + 1


def test_deep_page_plan_uses_the_index(bulk_store: Store) -> None:
    bulk = int(bulk_store.seed_info()["customers"]["bulk"]["id"])
    q = LedgerQuery(owner_kind=OWNER_CUSTOMER, owner_ids=(bulk,), mask=0b111111111)
    where, args = bulk_store._ledger_where(q)
    plan = " | ".join(
        str(r[3])
        for r in bulk_store.conn().execute(
            f"EXPLAIN QUERY PLAN SELECT e.event_log_id FROM ledger_events e WHERE {where}"
            " AND (e.created, e.event_log_id) <= (?, ?)"
            " ORDER BY e.created DESC, e.event_log_id DESC LIMIT 10 OFFSET 5",
            [*args, "2030-01-01 00:00:00", 1],
        )
    )
    assert "COVERING INDEX ledger_events_page" in plan
    assert "created<?" in plan.replace(" ", "") or "(created,event_log_id)<" in plan.replace(
        " ", ""
    )
    assert "TEMP B-TREE" not in plan


# -- writes -----------------------------------------------------------------------------------------


def _entity(customer_id: int) -> Entity:
    return Entity(OWNER_CUSTOMER, customer_id, 50406)


def test_transfer_moves_points_and_records_both_ledgers(store: Store) -> None:
    before_from, before_to = store.balance(0, 5007, 1148), store.balance(0, 5008, 1148)
    otp = store.issue_otp(5007, 600)
    t = store.transfer(
        source=_entity(5007),
        destination=_entity(5008),
        program_id=1148,
        points=12_345,
        notes="n",
        otp=otp,
        otp_customer_id=5007,
    )
    assert store.balance(0, 5007, 1148) == before_from - 12_345
    assert store.balance(0, 5008, 1148) == before_to + 12_345
    debit = store.rows_of_events([t["debit_event_id"]])[t["debit_event_id"]]
    credit = store.rows_of_events([t["credit_event_id"]])[t["credit_event_id"]]
    assert [(r["entry_type"], r["points"]) for r in debit] == [("DEBIT", 12_345)]
    assert [(r["entry_type"], r["points"]) for r in credit] == [("CREDIT", 12_345)]
    with pytest.raises(StoreError) as used:  # single use
        store.transfer(
            source=_entity(5007), destination=_entity(5008), program_id=1148, points=1,
            notes="", otp=otp, otp_customer_id=5007,
        )  # fmt: skip
    assert used.value.reason == "otp"


def test_rejected_transfer_changes_nothing(store: Store) -> None:
    total = store.total_points()
    events = store.conn().execute("SELECT COUNT(*) FROM ledger_events").fetchone()[0]
    otp = store.issue_otp(5008, 600)
    with pytest.raises(StoreError) as exc:
        store.transfer(
            source=_entity(5008), destination=_entity(5007), program_id=1148,
            points=store.balance(0, 5008, 1148) + 1, notes="", otp=otp, otp_customer_id=5008,
        )  # fmt: skip
    assert exc.value.reason == "balance"
    assert store.total_points() == total
    assert store.conn().execute("SELECT COUNT(*) FROM ledger_events").fetchone()[0] == events
    # the OTP was not consumed by the refused transfer
    store.transfer(
        source=_entity(5008), destination=_entity(5007), program_id=1148, points=1,
        notes="", otp=otp, otp_customer_id=5008,
    )  # fmt: skip


def test_expired_otp_is_refused(template: Path, tmp_path: Path) -> None:
    clock = [datetime(2030, 1, 1, 12, 0, 0)]
    s = fresh_store(template, tmp_path / "clock.db")
    s.clock = lambda: clock[0]
    otp = s.issue_otp(5007, 600)
    clock[0] += timedelta(seconds=601)
    with pytest.raises(StoreError):
        s.transfer(
            source=_entity(5007), destination=_entity(5008), program_id=1148, points=1,
            notes="", otp=otp, otp_customer_id=5007,
        )  # fmt: skip
    s.close()


def test_reverse_partial_then_rest_then_refused(store: Store) -> None:
    rid = store.seed_info()["redemptions"]["reversible_ids"][10]
    red = store.redemption(rid)
    assert red is not None
    left = red["points"] - red["reversed"]
    before = store.balance(0, red["customer_id"], red["program_id"])
    _, first = store.reverse(rid, 1_000)
    _, rest = store.reverse(rid, None)
    assert (first, rest) == (1_000, left - 1_000)
    assert store.balance(0, red["customer_id"], red["program_id"]) == before + left
    with pytest.raises(StoreError) as exc:
        store.reverse(rid, None)
    assert exc.value.reason == "already_reversed"
    with pytest.raises(StoreError) as missing:
        store.reverse("no-such-id", None)
    assert missing.value.reason == "not_found"


def test_reverse_more_than_left_is_refused(store: Store) -> None:
    rid = store.seed_info()["redemptions"]["reversible_ids"][11]
    red = store.redemption(rid)
    assert red is not None
    with pytest.raises(StoreError) as exc:
        store.reverse(rid, red["points"] - red["reversed"] + 1)
    assert exc.value.reason == "points"
    assert found(store.redemption(rid))["reversed"] == red["reversed"]


def test_concurrent_transfers_conserve_points(store: Store) -> None:
    """200 transfers among 10 customers from 20 threads: nothing created, lost or overdrawn."""
    ids = [int(i) for i in store.seed_info()["transfer"]["pair_ids"]]
    assert len(ids) == 10
    before = {i: store.balance(0, i, 1148) for i in ids}
    total_before = sum(before.values())
    rng = random.Random(3)
    plan = []
    for _ in range(200):
        a, b = rng.sample(ids, 2)
        # some amounts exceed any balance: they must be refused, never overdraw
        plan.append((a, b, rng.choice([rng.randint(1, 3_000_000), 50_000_000])))
    results: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def worker(chunk: list[tuple[int, int, int]]) -> None:
        barrier.wait()
        for a, b, points in chunk:
            try:
                store.transfer(
                    source=_entity(a), destination=_entity(b), program_id=1148, points=points,
                    notes="load", otp=None, otp_customer_id=None,
                )  # fmt: skip
                outcome = "ok"
            except StoreError as exc:
                outcome = exc.reason
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=worker, args=(plan[i::20],)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = {i: store.balance(0, i, 1148) for i in ids}
    assert len(results) == 200
    assert sum(after.values()) == total_before
    assert min(after.values()) >= 0
    ok = results.count("ok")
    assert ok + results.count("balance") == 200
    assert ok > 0 and results.count("balance") > 0
    recorded = (
        store.conn()
        .execute("SELECT COUNT(*), COALESCE(SUM(points), 0) FROM transfers WHERE notes = 'load'")
        .fetchone()
    )
    assert recorded[0] == ok
    events = (
        store.conn()
        .execute(
            "SELECT COUNT(*) FROM ledger_events WHERE event_name = 'PointsTransfer' AND reason = 'load'"
        )
        .fetchone()[0]
    )
    assert events == 2 * ok
    # every balance is still the sum of its ledger rows
    for i in ids:
        rows = store.closing_balances(i, "9999-12-31 23:59:59")
        main = {(p, c): v for p, c, v in rows}
        assert main[(1148, "Main")] == after[i]


def test_group_owner_kind_is_separate(store: Store) -> None:
    group_events = (
        store.conn()
        .execute(
            "SELECT COUNT(*) FROM ledger_events WHERE owner_kind = ? AND owner_id = 7001",
            (OWNER_GROUP,),
        )
        .fetchone()[0]
    )
    assert group_events == 30
    assert found(store.find_group(50406, "externalId", "UG2-7001"))["group_id"] == 7001
    assert found(store.find_group(50406, "primaryUserId", "5101"))["group_id"] == 7001
    mobile = store.identifier(5201, "mobile")
    assert mobile is not None
    assert found(store.find_group(50406, "primaryUserMobile", mobile))["group_id"] == 7002
    assert store.find_group(50406, "id", "not-a-number") is None
