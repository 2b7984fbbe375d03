"""The reference server's crossMemberLedger (002): views, pages, statuses, dates, errors."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from points_conformance.reference.store import Store
from points_conformance.reference.testing import TestClient, app_client, build_template, fresh_store

WIDE = {"startDate": "2000-01-01T00:00:00Z"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    template = build_template(tmp_path_factory.mktemp("cml-template"))
    s = fresh_store(template, tmp_path_factory.mktemp("cml") / "points.db")
    yield s
    s.close()


@pytest.fixture(scope="module")
def client(store: Store) -> TestClient:
    return app_client(store)


def path(customer: object) -> str:
    return f"/v2/customers/{customer}/crossMemberLedger"


def ok(client: TestClient, customer: object, **params: Any) -> dict[str, Any]:
    r = client.get(path(customer), params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def code(client: TestClient, customer: object, **params: Any) -> int:
    r = client.get(path(customer), params=params)
    assert r.status_code == 400, r.text
    value: int = r.json()["errors"][0]["code"]
    return value


def walk(client: TestClient, customer: object, size: int, **params: Any) -> list[dict[str, Any]]:
    first = ok(client, customer, pageSize=size, **params)
    pages = first["pageDetails"]
    assert pages["pageNumber"] == 1
    assert pages["pageSize"] == size
    assert pages["pageCount"] == math.ceil(pages["totalEntries"] / size)
    entries = list(first["entries"])
    for number in range(2, pages["pageCount"] + 1):
        body = ok(client, customer, pageSize=size, pageNumber=number, **params)
        assert body["pageDetails"]["pageNumber"] == number
        if number < pages["pageCount"]:
            assert len(body["entries"]) == size
        entries += body["entries"]
    assert len(entries) == pages["totalEntries"]
    past = ok(client, customer, pageSize=size, pageNumber=pages["pageCount"] + 1, **params)
    assert past["entries"] == []
    return entries


def _iso(entry: dict[str, Any]) -> datetime:
    return datetime.strptime(entry["createdDateISO"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def group_all(client: TestClient) -> list[dict[str, Any]]:
    return walk(client, 1003, 100, scope="group", **WIDE)


def test_group_details(client: TestClient, store: Store) -> None:
    body = ok(client, 1001)
    details = body["groupDetails"]
    assert details["groupId"] == 7003
    assert details["memberCount"] == len(details["members"]) == 4  # the inactive member is out
    balances = {m["customerId"]: m["balance"] for m in details["members"]}
    assert balances == {
        cid: store.category_balance(0, cid) / 1000 for cid in (1001, 1002, 1003, 1004)
    }
    assert details["groupBalance"] == pytest.approx(sum(balances.values()))
    assert body["warnings"] == []
    assert "entity" not in body
    for member in (1002, 1003, 1004):
        assert ok(client, member)["groupDetails"] == details


@pytest.mark.parametrize("size", [1, 7, 20, 100])
def test_group_walk(client: TestClient, group_all: list[dict[str, Any]], size: int) -> None:
    entries = walk(client, 1003, size, scope="group", **WIDE)
    assert [e["eventLogId"] for e in entries] == [e["eventLogId"] for e in group_all]


def test_order_and_sort(group_all: list[dict[str, Any]], client: TestClient) -> None:
    keys = [(_iso(e), e["eventLogId"]) for e in group_all]
    assert keys == sorted(keys, reverse=True)
    assert len({e["eventLogId"] for e in group_all}) == len(group_all)
    asc = walk(client, 1003, 100, scope="group", sort="createdDate:asc", **WIDE)
    assert [e["eventLogId"] for e in asc] == [e["eventLogId"] for e in reversed(group_all)]


def test_rows_statuses_and_signs(group_all: list[dict[str, Any]]) -> None:
    seen_status = set()
    for e in group_all:
        rows = e["entryDetails"]
        assert Decimal(e["netPointsOnEvent"]) == sum(
            (Decimal(r["points"]) for r in rows), Decimal()
        )
        assert "userRole" not in e
        if e["eventName"] == "CROSS_MEMBER_REDEMPTION":
            assert all(Decimal(r["points"]) < 0 for r in rows)
            for r in rows:
                reversed_amount, points = Decimal(r["reversedAmount"]), -Decimal(r["points"])
                assert 0 <= reversed_amount <= points
                expected = (
                    "ACTIVE" if reversed_amount == 0
                    else "REVERSED" if reversed_amount == points
                    else "PARTIALLY_REVERSED"
                )  # fmt: skip
                assert r["status"] == expected
            statuses = {r["status"] for r in rows}
            aggregate = (
                statuses.pop() if statuses in ({"ACTIVE"}, {"REVERSED"}) else "PARTIALLY_REVERSED"
            )
            assert e["status"] == aggregate
            seen_status.add(e["status"])
        else:
            assert e["eventName"] == "CROSS_MEMBER_REDEMPTION_REVERSAL"
            assert all(Decimal(r["points"]) > 0 for r in rows)
            assert "status" not in e
            assert all("status" not in r and "reversedAmount" not in r for r in rows)
        for r in rows:
            datetime.strptime(r["expiryBatchDate"], "%Y-%m-%dT%H:%M:%SZ")
    assert seen_status == {"ACTIVE", "REVERSED", "PARTIALLY_REVERSED"}


def test_reversals_add_up_to_reversed_amounts(group_all: list[dict[str, Any]]) -> None:
    restored: dict[tuple[str, int], Decimal] = {}
    for e in group_all:
        if e["eventName"] == "CROSS_MEMBER_REDEMPTION_REVERSAL":
            for r in e["entryDetails"]:
                key = (e["transactionRef"], r["customerId"])
                restored[key] = restored.get(key, Decimal()) + Decimal(r["points"])
    for e in group_all:
        if e["eventName"] == "CROSS_MEMBER_REDEMPTION":
            for r in e["entryDetails"]:
                assert Decimal(r["reversedAmount"]) == restored.get(
                    (e["transactionRef"], r["customerId"]), Decimal()
                )


def test_dates_in_org_timezone(group_all: list[dict[str, Any]]) -> None:
    zone = ZoneInfo("Asia/Kolkata")
    for e in group_all:
        local = datetime.strptime(e["createdDate"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
        assert local == _iso(e)


def test_user_scope(client: TestClient, group_all: list[dict[str, Any]]) -> None:
    roles = set()
    for member in (1001, 1002, 1003, 1004):
        mine = walk(client, member, 100, **WIDE)
        expected = [
            e for e in group_all
            if e["transactingCustomerId"] == member
            or any(r["customerId"] == member for r in e["entryDetails"])
        ]  # fmt: skip
        assert [e["eventLogId"] for e in mine] == [e["eventLogId"] for e in expected]
        for e in mine:
            transacting = e["transactingCustomerId"] == member
            source = any(r["customerId"] == member for r in e["entryDetails"])
            want = "BOTH" if transacting and source else "TRANSACTING" if transacting else "SOURCE"
            assert e["userRole"] == want
            if member == 1003:
                roles.add(e["userRole"])
        assert ok(client, member, scope="user", **WIDE) == ok(client, member, **WIDE)
    assert roles == {"TRANSACTING", "SOURCE", "BOTH"}


def test_default_window_is_thirty_days(client: TestClient, group_all: list[dict[str, Any]]) -> None:
    now = datetime.now(UTC)
    default = walk(client, 1003, 100, scope="group")
    expected = [e for e in group_all if now - timedelta(days=30) <= _iso(e) <= now]
    assert [e["eventLogId"] for e in default] == [e["eventLogId"] for e in expected]
    assert len(default) >= 30
    assert len(group_all) > len(default)


def test_date_filters(client: TestClient, group_all: list[dict[str, Any]]) -> None:
    newest = _iso(group_all[0])
    start = newest - timedelta(days=5)
    got = walk(
        client, 1003, 100, scope="group",
        startDate=start.astimezone(ZoneInfo("Asia/Kolkata")).isoformat(),
        endDate=newest.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )  # fmt: skip
    assert [e["eventLogId"] for e in got] == [
        e["eventLogId"] for e in group_all if start <= _iso(e) <= newest
    ]
    assert got


def test_event_name_and_reference_filters(
    client: TestClient, group_all: list[dict[str, Any]]
) -> None:
    for name in ("CROSS_MEMBER_REDEMPTION", "CROSS_MEMBER_REDEMPTION_REVERSAL"):
        got = walk(client, 1003, 100, scope="group", eventName=name, **WIDE)
        assert [e["eventLogId"] for e in got] == [
            e["eventLogId"] for e in group_all if e["eventName"] == name
        ]
    both = walk(
        client, 1003, 100, scope="group",
        eventName="CROSS_MEMBER_REDEMPTION,CROSS_MEMBER_REDEMPTION_REVERSAL", **WIDE,
    )  # fmt: skip
    assert len(both) == len(group_all)
    example = ok(client, 1003, scope="group", transactionRef="TXN-882291", **WIDE)
    assert [e["eventName"] for e in example["entries"]] == [
        "CROSS_MEMBER_REDEMPTION_REVERSAL",
        "CROSS_MEMBER_REDEMPTION",
    ]
    redemption = example["entries"][1]
    assert redemption["eventLogId"] == 999821
    assert redemption["netPointsOnEvent"] == "-350.000"
    assert redemption["status"] == "PARTIALLY_REVERSED"
    assert [
        (r["customerId"], r["points"], r["reversedAmount"], r["status"])
        for r in redemption["entryDetails"]
    ] == [
        (1004, "-10.000", "0.000", "ACTIVE"),
        (1001, "-100.000", "0.000", "ACTIVE"),
        (1002, "-240.000", "150.000", "PARTIALLY_REVERSED"),
    ]
    assert ok(client, 1003, scope="group", transactionRef="NO-SUCH-REF")["entries"] == []


def test_page_defaults(client: TestClient) -> None:
    body = ok(client, 1003, scope="group")
    assert body["pageDetails"]["pageNumber"] == 1
    assert body["pageDetails"]["pageSize"] == 20
    assert len(body["entries"]) == min(20, body["pageDetails"]["totalEntries"])


@pytest.mark.parametrize(
    ("customer", "params", "expected"),
    [
        (1003, {"startDate": "25-03-2026"}, 1001),
        (1003, {"startDate": "yesterday"}, 1001),
        (1003, {"endDate": "2026-13-01T00:00:00Z"}, 1001),
        (1003, {"endDate": ""}, 1001),
        (1003, {"startDate": "2026-04-02T00:00:00Z", "endDate": "2026-04-01T00:00:00Z"}, 1002),
        (1003, {"pageNumber": 0}, 1003),
        (1003, {"pageNumber": -1}, 1003),
        (1003, {"pageNumber": "x"}, 1003),
        (1003, {"pageSize": 0}, 1003),
        (1003, {"pageSize": 101}, 1003),
        (1003, {"pageSize": "99999999999999999999"}, 1003),
        (1003, {"scope": "everyone"}, 1004),
        (1003, {"scope": ""}, 1004),
        (1003, {"eventName": "PointsRedemption"}, 1004),
        (1003, {"eventName": "CROSS_MEMBER_REDEMPTION,TRANSFER"}, 1004),
        (1003, {"sort": "amount:desc"}, 400),
        (3301, {}, 3301),
        (1005, {}, 3301),  # inactive member
        (5101, {}, 3301),  # member of a group without cross-member redemption
        (3401, {}, 3401),
        (999999999999, {}, 3401),
        ("abc", {}, 3401),
        ("99999999999999999999", {}, 3401),
    ],
)
def test_errors(
    client: TestClient, customer: object, params: dict[str, Any], expected: int
) -> None:
    assert code(client, customer, **params) == expected


def test_huge_page_number_is_an_empty_page(client: TestClient) -> None:
    body = ok(client, 1003, pageNumber="99999999999999999999")
    assert body["entries"] == []
    assert body["pageDetails"]["pageNumber"] == 99999999999999999999
