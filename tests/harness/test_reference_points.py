"""The reference server's points operations: transfer checks, OTPs, transfers, history, reverse."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from points_conformance.embedded import start_embedded
from points_conformance.reference.serve import DEFAULT_PASSWORD, DEFAULT_USER
from points_conformance.reference.store import Store
from points_conformance.reference.testing import TestClient, app_client, build_template, fresh_store

CHECK = "/v2/points/isTransferrable"
TRANSFER = "/v2/points/transfer"
GROUP_CHECK = "/v2/points/userGroup2/isTransferrable"
GROUP_TRANSFER = "/v2/points/userGroup2/transfer"
REVERSE = "/v2/points/reverse"
LEDGER = "/v2/pointsLedger/getCustomerLedgerInfo"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("points-template"))


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    s = fresh_store(template, tmp_path / "points.db")
    yield s
    s.close()


@pytest.fixture
def client(store: Store) -> TestClient:
    return app_client(store)


def ident(kind: str, value: object) -> dict[str, Any]:
    return {"type": kind, "value": str(value)}


def main_balance(store: Store, customer: int) -> int:
    return store.balance(0, customer, 1148)


def issue(client: TestClient, source: int, target: int, points: float = 10) -> str:
    r = client.post(
        CHECK,
        json={
            "pointsTobeTransferred": points,
            "fromCustomerIdentifier": ident("ID", source),
            "toCustomerIdentifier": ident("ID", target),
            "issueOtp": True,
        },
    )
    assert r.status_code == 200, r.text
    otp: str = r.headers["X-Sandbox-OTP"]
    return otp


def transfer_body(source: int, target: int, points: Any, code: Any) -> dict[str, Any]:
    return {
        "pointsTobeTransferred": points,
        "fromCustomerIdentifier": ident("ID", source),
        "toCustomerIdentifier": ident("ID", target),
        "code": code,
        "notes": "test",
    }


def error(response: httpx.Response) -> int:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["data"] == [] and body["warnings"] == []
    value: int = body["errors"][0]["code"]
    return value


# -- isTransferrable --------------------------------------------------------------------------------


def test_check_is_read_only_and_issues_otp_only_when_asked(
    client: TestClient, store: Store
) -> None:
    before = (main_balance(store, 5007), main_balance(store, 5008))
    body = {
        "pointsTobeTransferred": 25,
        "fromCustomerIdentifier": ident("MOBILE", store.identifier(5007, "mobile")),
        "toCustomerIdentifier": ident("EMAIL", store.identifier(5008, "email")),
    }
    plain = client.post(CHECK, json=body)
    assert plain.status_code == 200
    assert "X-Sandbox-OTP" not in plain.headers
    data = plain.json()
    assert data["errors"] == [] and data["warnings"] == []
    item = data["data"][0]
    assert item["pointsTobeTransferred"] == 25
    assert item["transferrable"] is True
    assert item["transferFrom"]["id"] == 5007 and item["transferTo"]["id"] == 5008
    with_otp = client.post(CHECK, json={**body, "issueOtp": True})
    assert len(with_otp.headers["X-Sandbox-OTP"]) == 6
    assert (main_balance(store, 5007), main_balance(store, 5008)) == before


def test_transfer_with_otp(client: TestClient, store: Store) -> None:
    before = (main_balance(store, 5007), main_balance(store, 5008))
    events_before = store.conn().execute("SELECT COUNT(*) FROM ledger_events").fetchone()[0]
    ledger = {"identifierName": "id", "identifierValue": 5007, "source": "INSTORE"}
    total_before = client.get(LEDGER, params=ledger).json()["ledgerDetails"]["totalEntries"]
    otp = issue(client, 5007, 5008, 123.5)
    r = client.post(TRANSFER, json=transfer_body(5007, 5008, 123.5, otp))
    assert r.status_code == 200, r.text
    item = r.json()["data"][0]
    assert item["pointsTransferred"] == 123.5
    assert item["transferType"] == "DEDUCTION"
    assert item["transferredFrom"]["userId"] == 5007
    assert item["transferredTo"]["userId"] == 5008
    assert item["programName"] == "ChildOrg1DefaultProgram"
    assert (main_balance(store, 5007), main_balance(store, 5008)) == (
        before[0] - 123_500,
        before[1] + 123_500,
    )
    assert (
        store.conn().execute("SELECT COUNT(*) FROM ledger_events").fetchone()[0]
        == events_before + 2
    )
    total_after = client.get(LEDGER, params=ledger).json()["ledgerDetails"]["totalEntries"]
    assert total_after == total_before + 1  # counts are never served stale after a write
    for customer, entry_type in ((5007, "DEBIT"), (5008, "CREDIT")):
        newest = client.get(
            LEDGER,
            params={
                "identifierName": "id",
                "identifierValue": customer,
                "source": "INSTORE",
                "limit": 1,
            },
        ).json()["ledgerEntries"][0]
        assert newest["eventName"] == "PointsTransfer"
        assert [
            (r["ledgerEntryType"], r["points"], r["pointsCategory"]) for r in newest["entryDetails"]
        ] == [(entry_type, "123.500", "Main")]
    history = client.get(
        TRANSFER,
        params={
            "identifierName": "mobile",
            "identifierValue": store.identifier(5007, "mobile"),
            "source": "INSTORE",
        },
    ).json()["data"]
    assert history[0]["transferId"] == item["transferId"]
    assert history[0]["toEntityId"] == 5008 and history[0]["fromEntityType"] == "CUSTOMER"
    # the OTP is single use
    assert error(client.post(TRANSFER, json=transfer_body(5007, 5008, 1, otp))) == 808


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: {**b, "code": "WRONG1"}, 808),
        (lambda b: {k: v for k, v in b.items() if k != "code"}, 808),
        (lambda b: {**b, "code": ""}, 808),
        (lambda b: {**b, "pointsTobeTransferred": 0}, 801),
        (lambda b: {**b, "pointsTobeTransferred": -5}, 801),
        (lambda b: {**b, "pointsTobeTransferred": "10"}, 801),
        (lambda b: {**b, "pointsTobeTransferred": True}, 801),
        (lambda b: {**b, "pointsTobeTransferred": None}, 801),
        (lambda b: {k: v for k, v in b.items() if k != "pointsTobeTransferred"}, 801),
        (lambda b: {**b, "pointsTobeTransferred": 10**20}, 804),
        (lambda b: {**b, "toCustomerIdentifier": ident("ID", 5007)}, 418),
        (lambda b: {**b, "fromCustomerIdentifier": ident("ID", 415)}, 415),
        (lambda b: {**b, "toCustomerIdentifier": ident("ID", 414)}, 414),
        (lambda b: {**b, "toCustomerIdentifier": ident("ID", 881)}, 881),
        (lambda b: {**b, "toCustomerIdentifier": ident("ID", 123456789)}, 816),
        (lambda b: {**b, "toCustomerIdentifier": ident("MOBILE", "919999999999")}, 816),
        (lambda b: {**b, "toCustomerIdentifier": ident("MOBILE", "not-a-number")}, 802),
        (lambda b: {**b, "toCustomerIdentifier": ident("EMAIL", "nobody")}, 802),
        (lambda b: {**b, "toCustomerIdentifier": ident("PASSPORT", "X1")}, 802),
        (lambda b: {**b, "toCustomerIdentifier": "5008"}, 802),
        (lambda b: {k: v for k, v in b.items() if k != "toCustomerIdentifier"}, 802),
        (lambda b: {**b, "programId": 999999}, 400),
    ],
)
def test_transfer_rejections_move_nothing(
    client: TestClient, store: Store, mutate: Any, expected: int
) -> None:
    otp = issue(client, 5007, 5008)
    total = store.total_points()
    events = store.conn().execute("SELECT COUNT(*) FROM ledger_events").fetchone()[0]
    assert error(client.post(TRANSFER, json=mutate(transfer_body(5007, 5008, 10, otp)))) == expected
    assert store.total_points() == total
    assert store.conn().execute("SELECT COUNT(*) FROM ledger_events").fetchone()[0] == events


def test_insufficient_points(client: TestClient, store: Store) -> None:
    available = Decimal(main_balance(store, 5008)) / 1000
    otp = issue(client, 5008, 5007, float(available))
    too_much = float(available + 1)
    check = {"pointsTobeTransferred": too_much, "fromCustomerIdentifier": ident("ID", 5008),
             "toCustomerIdentifier": ident("ID", 5007)}  # fmt: skip
    assert error(client.post(CHECK, json=check)) == 804
    assert error(client.post(TRANSFER, json=transfer_body(5008, 5007, too_much, otp))) == 804
    # the refused attempt did not use up the OTP
    assert (
        client.post(TRANSFER, json=transfer_body(5008, 5007, float(available), otp)).status_code
        == 200
    )
    assert main_balance(store, 5008) == 0


def test_otp_belongs_to_the_source(client: TestClient, store: Store) -> None:
    otp = issue(client, 5011, 5012)
    assert error(client.post(TRANSFER, json=transfer_body(5013, 5012, 1, otp))) == 808


# -- user groups ------------------------------------------------------------------------------------


def _group_body(points: Any, source: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    return {
        "pointsTobeTransferred": points,
        "notes": "group",
        "transferredBy": {
            "identifierType": "mobile",
            "identifierValue": "919000005101",
            "source": "INSTORE",
        },
        "fromEntity": source,
        "toEntity": target,
    }


GROUP_7001 = {"type": "USERGROUP2", "identifierType": "id", "identifierValue": "7001"}
GROUP_7002 = {"type": "USERGROUP2", "identifierType": "externalId", "identifierValue": "FLEET-7002"}
CUSTOMER_5008 = {
    "type": "CUSTOMER",
    "identifierType": "mobile",
    "identifierValue": "919000005008",
    "source": "INSTORE",
}


def test_group_transfers(client: TestClient, store: Store) -> None:
    group_before = store.balance(1, 7001, 1148)
    check = client.post(GROUP_CHECK, json=_group_body(10.5, GROUP_7001, CUSTOMER_5008))
    assert check.status_code == 200
    assert check.json()["data"] == [{"pointsTobeTransferred": 10.5, "transferrable": True}]
    assert store.balance(1, 7001, 1148) == group_before
    customer_before = main_balance(store, 5008)
    r = client.post(GROUP_TRANSFER, json=_group_body(10.5, GROUP_7001, CUSTOMER_5008))
    assert r.status_code == 200, r.text
    item = r.json()["data"][0]
    assert (item["fromEntityId"], item["fromEntityType"], item["toEntityId"], item["toEntityType"]) == (
        7001, "USERGROUP2", 5008, "CUSTOMER",
    )  # fmt: skip
    assert item["transferredFromUserGroup2"]["id"] == 7001
    assert item["pointsTransferBreakupByEarningPrograms"][0]["deductedPoints"] == 10.5
    assert store.balance(1, 7001, 1148) == group_before - 10_500
    assert main_balance(store, 5008) == customer_before + 10_500
    # group to group, then the history of each side
    r2 = client.post(GROUP_TRANSFER, json=_group_body(2, GROUP_7001, GROUP_7002))
    assert r2.status_code == 200, r2.text
    history = client.get(
        TRANSFER,
        params={"identifierName": "id", "identifierValue": "7001", "userEntityType": "USERGROUP2"},
    ).json()["data"]
    assert [(h["toEntityId"], h["pointsTransferred"]) for h in history] == [
        (7002, 2.0),
        (5008, 10.5),
    ]
    assert (
        client.get(
            TRANSFER,
            params={
                "identifierName": "externalId",
                "identifierValue": "FLEET-7002",
                "userEntityType": "USERGROUP2",
            },
        ).json()["data"]
        == []
    )
    group_ledger = client.get(
        LEDGER,
        params={
            "type": "USERGROUP2",
            "identifierName": "groupId",
            "identifierValue": "7001",
            "source": "INSTORE",
            "limit": 2,
        },
    ).json()["ledgerEntries"]
    assert [e["eventName"] for e in group_ledger] == ["PointsTransfer", "PointsTransfer"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_group_body(0, GROUP_7001, CUSTOMER_5008), 801),
        (_group_body(10**12, GROUP_7001, CUSTOMER_5008), 804),
        (_group_body(1, GROUP_7001, GROUP_7001), 418),
        (_group_body(1, GROUP_7001, {**GROUP_7001, "identifierValue": "424242"}), 816),
        (_group_body(1, GROUP_7001, {**CUSTOMER_5008, "identifierValue": "919111111111"}), 816),
        (
            _group_body(
                1, GROUP_7001, {**CUSTOMER_5008, "identifierValue": "415", "identifierType": "id"}
            ),
            414,
        ),
        (
            _group_body(
                1, {**CUSTOMER_5008, "identifierValue": "415", "identifierType": "id"}, GROUP_7001
            ),
            415,
        ),
        (_group_body(1, GROUP_7001, {**CUSTOMER_5008, "type": "PARTNER"}), 802),
        (_group_body(1, GROUP_7001, {**GROUP_7001, "identifierType": "name"}), 802),
        ({**_group_body(1, GROUP_7001, CUSTOMER_5008), "transferredBy": None}, 802),
    ],
)
def test_group_transfer_errors(
    client: TestClient, store: Store, body: dict[str, Any], expected: int
) -> None:
    total = store.total_points()
    assert error(client.post(GROUP_TRANSFER, json=body)) == expected
    assert error(client.post(GROUP_CHECK, json=body)) == expected
    assert store.total_points() == total


def test_a_merged_customer_is_refused_with_419_naming_the_survivor(
    client: TestClient, store: Store
) -> None:
    """Every points operation that finds the merged customer answers 419 with the survivor's id."""
    merged = {**CUSTOMER_5008, "identifierValue": store.identifier(419, "mobile")}
    otp = issue(client, 5007, 5008)
    total = store.total_points()
    responses = [
        client.post(CHECK, json={**transfer_body(5007, 419, 1, None), "code": None}),
        client.post(TRANSFER, json=transfer_body(419, 5008, 1, otp)),
        client.post(GROUP_CHECK, json=_group_body(1, GROUP_7001, merged)),
        client.post(GROUP_TRANSFER, json=_group_body(1, merged, GROUP_7001)),
        client.get(
            TRANSFER,
            params={"identifierName": "id", "identifierValue": "419", "source": "INSTORE"},
        ),
    ]
    for r in responses:
        assert error(r) == 419
        assert r.json()["errors"][0]["message"] == "Merged customer found with id: 4190"
    assert store.total_points() == total


def test_history_of_a_customer_needs_a_source(client: TestClient) -> None:
    customer = {"identifierName": "mobile", "identifierValue": "919000005007"}
    assert error(client.get(TRANSFER, params=customer)) == 400
    assert client.get(TRANSFER, params={**customer, "source": "INSTORE"}).status_code == 200
    group = {"identifierName": "id", "identifierValue": "7001", "userEntityType": "USERGROUP2"}
    assert client.get(TRANSFER, params=group).status_code == 200


@contextmanager
def _served(db: Path, workers: int) -> Iterator[tuple[str, tuple[str, str], list[int]]]:
    """URL, credentials and transfer pair of a server on `db`: embedded, or `serve --workers`."""
    if workers == 1:
        with start_embedded(db_path=str(db), in_process=True) as server:
            ids = [int(i) for i in server.target_data.transfer["pair_ids"]]
            yield server.url, (server.username, server.password), ids
        return
    described = db.with_suffix(".json")
    argv = [sys.executable, "-m", "points_conformance.reference.serve", "--db", str(db)]
    argv += ["--port", "0", "--workers", str(workers), "--describe-out", str(described)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not described.exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "serve --workers did not start"
            time.sleep(0.05)
        description = json.loads(described.read_text(encoding="utf-8"))
        ids = [int(i) for i in description["data"]["transfer"]["pair_ids"]]
        yield description["base_url"], (DEFAULT_USER, DEFAULT_PASSWORD), ids
    finally:
        process.terminate()
        assert process.wait(30) == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_concurrent_transfers_over_http(template: Path, tmp_path: Path, workers: int) -> None:
    """Transfers among 10 customers from 10 threads against a served instance conserve points,
    in one process and in two processes over the one database file."""
    db = tmp_path / "served.db"
    from points_conformance.reference.testing import copy_database

    copy_database(template, db)
    with _served(db, workers) as (url, auth, ids):
        with httpx.Client(base_url=url, auth=auth, timeout=30) as http:

            def balance(customer: int) -> Decimal:
                body = http.get(
                    "/v2/pointsLedger/getCustomerLedgerBalance",
                    params={
                        "identifierName": "cardnumber",
                        "identifierValue": f"CARD{customer}",
                        "source": "INSTORE",
                    },
                ).json()
                return sum(
                    (Decimal(r["closingBalance"]) for r in body["ledgerDetails"]["ledgerClosingBalance"]
                     if r["pointsCategory"] == "Main"),
                    Decimal(),
                )  # fmt: skip

            before = {i: balance(i) for i in ids}
            outcomes: list[int] = []
            lock = threading.Lock()

            def worker(n: int) -> None:
                with httpx.Client(base_url=url, auth=auth, timeout=30) as own:
                    for k in range(6):
                        source, target = ids[n], ids[(n + k + 1) % len(ids)]
                        points = 2500 if k % 3 else 9000
                        check = own.post(CHECK, json={
                            "pointsTobeTransferred": points, "issueOtp": True,
                            "fromCustomerIdentifier": ident("ID", source), "toCustomerIdentifier": ident("ID", target),
                        })  # fmt: skip
                        if check.status_code != 200:
                            with lock:
                                outcomes.append(check.json()["errors"][0]["code"])
                            continue
                        otp = check.headers["X-Sandbox-OTP"]
                        r = own.post(TRANSFER, json=transfer_body(source, target, points, otp))
                        with lock:
                            outcomes.append(
                                r.status_code
                                if r.status_code == 200
                                else r.json()["errors"][0]["code"]
                            )

            threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            after = {i: balance(i) for i in ids}
    assert len(outcomes) == 60
    assert set(outcomes) <= {200, 804}
    assert outcomes.count(200) > 0
    assert sum(after.values()) == sum(before.values())
    assert min(after.values()) >= 0


# -- reverse ----------------------------------------------------------------------------------------


def _reverse_body(
    # An int redemptionId is one of the malformed bodies the server must refuse.
    rid: str | int,
    points: Any = None,
    value: str = "919740000000",
    kind: str = "mobile",
) -> dict[str, Any]:
    body: dict[str, Any] = {"redemptionId": rid, "identifier": {"type": kind, "value": value}}
    if points is not None:
        body["pointsToBeReversed"] = points
    return body


def test_reverse_partial_then_remainder(client: TestClient, store: Store) -> None:
    info = store.seed_info()["redemptions"]
    rid = info["reversible_ids"][0]
    red = store.redemption(rid)
    assert red is not None
    left = Decimal(red["points"] - red["reversed"]) / 1000
    before = main_balance(store, red["customer_id"])
    r = client.post(REVERSE, json=_reverse_body(rid, 10))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["redemptionId"] == rid
    assert body["pointsToBeReversed"] == 10 and body["pointsReversed"] == 10
    assert body["customerId"] == red["customer_id"] and body["orgId"] == 50406
    assert body["identifier"] == {"type": "mobile", "value": "919740000000"}
    assert body["warnings"] == [] and body["reversalId"]
    email = store.identifier(red["customer_id"], "email")
    assert email is not None
    rest = client.post(REVERSE, json=_reverse_body(rid, value=email, kind="email"))
    assert rest.status_code == 200, rest.text
    assert Decimal(str(rest.json()["pointsReversed"])) == left - 10
    assert main_balance(store, red["customer_id"]) == before + int(left * 1000)
    newest = client.get(
        LEDGER,
        params={
            "identifierName": "mobile",
            "identifierValue": "919740000000",
            "source": "INSTORE",
            "limit": 2,
        },
    ).json()["ledgerEntries"]
    assert [e["eventName"] for e in newest] == ["PointsRedemptionReversal"] * 2
    assert {r["ledgerEntryType"] for e in newest for r in e["entryDetails"]} == {"CREDIT"}
    assert error(client.post(REVERSE, json=_reverse_body(rid))) == 3802


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda info: _reverse_body(info["reversed_id"]), 3802),
        (lambda info: _reverse_body("no-such-redemption"), 902),
        (lambda info: _reverse_body(123456), 902),
        (lambda info: {"identifier": {"type": "mobile", "value": "919740000000"}}, 901),
        (lambda info: _reverse_body(""), 901),
        (lambda info: _reverse_body(info["reversible_ids"][1], value="919000005001"), 904),
        (lambda info: _reverse_body(info["reversible_ids"][1], kind="passport"), 904),
        (lambda info: {"redemptionId": info["reversible_ids"][1]}, 904),
        (lambda info: _reverse_body(info["reversible_ids"][1], points=-1), 901),
        (lambda info: _reverse_body(info["reversible_ids"][1], points=0), 901),
        (lambda info: _reverse_body(info["reversible_ids"][1], points="5"), 901),
        (lambda info: _reverse_body(info["reversible_ids"][1], points=10**9), 901),
    ],
)
def test_reverse_errors(client: TestClient, store: Store, make: Any, expected: int) -> None:
    info = store.seed_info()["redemptions"]
    total = store.total_points()
    assert error(client.post(REVERSE, json=make(info))) == expected
    assert store.total_points() == total


@pytest.mark.parametrize("path", [CHECK, TRANSFER, GROUP_CHECK, GROUP_TRANSFER])
@pytest.mark.parametrize("notes", [[], {"text": "x"}, 7])
def test_notes_that_are_not_text_are_refused(
    client: TestClient, store: Store, path: str, notes: Any
) -> None:
    if path in (CHECK, TRANSFER):
        body = transfer_body(5011, 5012, 1, "000000")
    else:
        body = _group_body(1, GROUP_7001, CUSTOMER_5008)
    before = main_balance(store, 5011)
    assert error(client.post(path, json={**body, "notes": notes})) == 400
    assert main_balance(store, 5011) == before
