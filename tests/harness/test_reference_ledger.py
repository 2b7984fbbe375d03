"""The reference server's ledger operations: getCustomerLedgerInfo (v2, v2.1) and the balance.

Every expectation is computed from the seeded data or from another response (a full walk of
the unfiltered ledger is the oracle for the filters), never written down as a canned number.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from points_conformance.reference.store import Store
from points_conformance.reference.testing import TestClient, app_client, build_template, fresh_store

LEDGER = "/v2/pointsLedger/getCustomerLedgerInfo"
LEDGER_21 = "/v2.1/pointsLedger/getCustomerLedgerInfo"
BALANCE = "/v2/pointsLedger/getCustomerLedgerBalance"
FMT = "%Y-%m-%dT%H:%M:%S"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("ledger-template"))


@pytest.fixture(scope="module")
def store(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = fresh_store(template, tmp_path_factory.mktemp("ledger") / "points.db")
    yield s
    s.close()


@pytest.fixture(scope="module")
def client(store: Store) -> TestClient:
    return app_client(store)


@pytest.fixture(scope="module")
def info(store: Store) -> dict[str, Any]:
    return store.seed_info()


def customer_params(info: dict[str, Any], role: str, **extra: Any) -> dict[str, Any]:
    return {
        "identifierName": "mobile",
        "identifierValue": info["customers"][role]["mobile"],
        "source": "INSTORE",
        **extra,
    }


# The seed's ledgers of 0, 1, 10 and 11 events: customer id and event count. The description
# leaves them out (the suite makes these edges from the rich ledger); the server's paging of
# them is tested here.
SHAPES = {
    "empty": (5002, 0),
    "single": (5003, 1),
    "one_page": (5004, 10),
    "page_plus_one": (5005, 11),
}


def shape_params(store: Store, shape: str, **extra: Any) -> dict[str, Any]:
    mobile = store.identifier(SHAPES[shape][0], "mobile")
    return {"identifierName": "mobile", "identifierValue": mobile, "source": "INSTORE", **extra}


def ok(client: TestClient, path: str, params: dict[str, Any], **kw: Any) -> dict[str, Any]:
    r = client.get(path, params=params, **kw)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    return body


def error_code(client: TestClient, path: str, params: dict[str, Any], **kw: Any) -> int:
    r = client.get(path, params=params, **kw)
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) >= {"errors", "warnings"}
    code: int = body["errors"][0]["code"]
    assert isinstance(body["errors"][0]["message"], str)
    return code


def walk(
    client: TestClient, params: dict[str, Any], limit: int, path: str = LEDGER, **kw: Any
) -> list[dict[str, Any]]:
    first = ok(client, path, {**params, "limit": limit, "offset": 0}, **kw)
    details = first["ledgerDetails"]
    assert details["pageCount"] == math.ceil(details["totalEntries"] / limit)
    entries = list(first["ledgerEntries"])
    for page in range(1, details["pageCount"]):
        body = ok(client, path, {**params, "limit": limit, "offset": page}, **kw)
        assert body["ledgerDetails"]["pageNumber"] == page
        assert body["ledgerDetails"]["totalEntries"] == details["totalEntries"]
        if page < details["pageCount"] - 1:
            assert len(body["ledgerEntries"]) == limit
        entries += body["ledgerEntries"]
    assert len(entries) == details["totalEntries"]
    return entries


@pytest.fixture(scope="module")
def rich_all(client: TestClient, info: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event of the rich customer, newest first, with every row (the oracle)."""
    return walk(client, customer_params(info, "rich"), 100)


def signed(row: dict[str, Any]) -> Decimal:
    value = Decimal(row["points"])
    return -value if row["ledgerEntryType"] == "DEBIT" else value


# -- shape, paging, ordering ----------------------------------------------------------------------


def test_default_page(client: TestClient, info: dict[str, Any]) -> None:
    body = ok(client, LEDGER, customer_params(info, "rich"))
    details = body["ledgerDetails"]
    events = info["customers"]["rich"]["events"]
    assert details == {
        "pageNumber": 0,
        "pageSize": 10,
        "totalEntries": events,
        "pageCount": math.ceil(events / 10),
    }
    assert len(body["ledgerEntries"]) == 10
    assert body["warnings"] == []
    assert body["customerDetails"] == {
        "firstName": "Porter",
        "lastName": "Robinson",
        "userId": int(info["customers"]["rich"]["id"]),
        "externalId": info["customers"]["rich"]["external_id"],
        "entityType": "CUSTOMER",
    }
    entry = body["ledgerEntries"][0]
    assert entry["customerDetails"] is None
    assert entry["orgId"] == info["org_id"]
    assert entry["ledgerCreatedDate"].endswith(".0")
    datetime.strptime(entry["ledgerCreatedDate"], "%Y-%m-%d %H:%M:%S.0")


@pytest.mark.parametrize("limit", [1, 7, 10, 100])
def test_walk_identity(client: TestClient, info: dict[str, Any], limit: int) -> None:
    entries = walk(client, customer_params(info, "rich"), limit)
    ids = [e["eventLogId"] for e in entries]
    assert len(set(ids)) == len(ids) == info["customers"]["rich"]["events"]
    keys = [(e["ledgerCreatedDate"], e["eventLogId"]) for e in entries]
    assert keys == sorted(keys, reverse=True)


def test_sort_ascending_is_the_reverse(
    client: TestClient, info: dict[str, Any], rich_all: list[dict[str, Any]]
) -> None:
    asc = walk(client, customer_params(info, "rich", sort="ASC"), 100)
    assert [e["eventLogId"] for e in asc] == [e["eventLogId"] for e in reversed(rich_all)]
    alias = ok(client, LEDGER, customer_params(info, "rich", sortOrder="ASC", limit=5))
    assert [e["eventLogId"] for e in alias["ledgerEntries"]] == [e["eventLogId"] for e in asc[:5]]


@pytest.mark.parametrize("shape", ["single", "one_page", "page_plus_one"])
def test_counted_customers(client: TestClient, store: Store, shape: str) -> None:
    events = SHAPES[shape][1]
    body = ok(client, LEDGER, shape_params(store, shape))
    assert body["ledgerDetails"]["totalEntries"] == events
    assert body["ledgerDetails"]["pageCount"] == math.ceil(events / 10)
    last = body["ledgerDetails"]["pageCount"]
    assert error_code(client, LEDGER, shape_params(store, shape, offset=last)) == 11003


def test_empty_customer_is_11003(client: TestClient, store: Store) -> None:
    assert error_code(client, LEDGER, shape_params(store, "empty")) == 11003


def test_identifiers_reach_the_same_ledger(client: TestClient, info: dict[str, Any]) -> None:
    rich = info["customers"]["rich"]
    pages = []
    for name, key in (
        ("id", "id"),
        ("mobile", "mobile"),
        ("email", "email"),
        ("externalId", "external_id"),
        ("externalid", "external_id"),
        ("cardnumber", "cardnumber"),
        ("cardExternalId", "card_external_id"),
    ):
        params = {"identifierName": name, "identifierValue": rich[key], "source": "INSTORE"}
        pages.append(ok(client, LEDGER, params))
    assert all(p == pages[0] for p in pages)
    assert ok(client, LEDGER, customer_params(info, "rich", source="all")) == pages[0]


def test_net_points_identity(client: TestClient, info: dict[str, Any]) -> None:
    for role in ("rich", "alt_currency"):
        params = customer_params(info, role, includeAlternateCurrencies="true")
        for entry in walk(client, params, 100):
            points = [r for r in entry["entryDetails"] if "alternateCurrencyName" not in r]
            assert Decimal(entry["netPointsOnEvent"]) == sum((signed(r) for r in points), Decimal())
            currencies: dict[str, Decimal] = defaultdict(Decimal)
            for r in entry["entryDetails"]:
                if "alternateCurrencyName" in r:
                    currencies[r["alternateCurrencyName"]] += signed(r)
            shown = {
                k: Decimal(v) for k, v in entry.get("netAlternateCurrenciesOnEvent", {}).items()
            }
            assert shown == dict(currencies)
            for r in entry["entryDetails"]:
                assert not r["points"].startswith("-")
                assert len(r["points"].split(".")[1]) == 3


# -- row filters ------------------------------------------------------------------------------------


def _expected(rich_all: list[dict[str, Any]], keep: Any) -> dict[int, list[dict[str, Any]]]:
    out = {}
    for e in rich_all:
        rows = [r for r in e["entryDetails"] if keep(r, e)]
        if rows:
            out[e["eventLogId"]] = rows
    return out


@pytest.mark.parametrize("entry_type", ["CREDIT", "DEBIT", "OPENING_BALANCE"])
def test_entry_type_filter(
    client: TestClient, info: dict[str, Any], rich_all: list[dict[str, Any]], entry_type: str
) -> None:
    got = walk(client, customer_params(info, "rich", ledgerEntryType=entry_type), 100)
    expected = _expected(rich_all, lambda r, e: r["ledgerEntryType"] == entry_type)
    assert {e["eventLogId"]: e["entryDetails"] for e in got} == expected
    for e in got:
        assert Decimal(e["netPointsOnEvent"]) == sum(
            (signed(r) for r in e["entryDetails"]), Decimal()
        )


@pytest.mark.parametrize(
    ("category_type", "category"),
    [
        ("REGULAR", "Main"),
        ("PROMISED", "DelayedAccrualPointCategory"),
        ("TRIGGER_BASED", "ExternalTriggerBasedPointCategory"),
    ],
)
def test_category_filter(
    client: TestClient,
    info: dict[str, Any],
    rich_all: list[dict[str, Any]],
    category_type: str,
    category: str,
) -> None:
    got = walk(client, customer_params(info, "rich", pointCategoryType=category_type), 100)
    expected = _expected(rich_all, lambda r, e: r["pointsCategory"] == category)
    assert {e["eventLogId"]: e["entryDetails"] for e in got} == expected


def test_program_filter_and_till_concept(
    client: TestClient, info: dict[str, Any], rich_all: list[dict[str, Any]], store: Store
) -> None:
    for program in info["customers"]["rich"]["program_ids"]:
        got = walk(client, customer_params(info, "rich", programId=program), 100)
        expected = _expected(rich_all, lambda r, e, p=program: r["programId"] == p)
        assert {e["eventLogId"]: e["entryDetails"] for e in got} == expected
    partner = 1149
    concept_tills = {
        r["code"]
        for r in store.conn().execute(
            "SELECT code FROM tills WHERE concept_program_id = ?", (partner,)
        )
    }
    assert concept_tills
    got = walk(
        client,
        customer_params(info, "rich", programId=partner, includeTillConceptEvents="true"),
        100,
    )
    expected = _expected(
        rich_all,
        lambda r, e: (
            r["programId"] == partner
            or (r["ledgerEntryType"] == "DEBIT" and e["tillCode"] in concept_tills)
        ),
    )
    assert {e["eventLogId"]: e["entryDetails"] for e in got} == expected
    assert any(
        r["programId"] != partner for rows in expected.values() for r in rows
    )  # the concept brought in another program's deductions
    assert (
        error_code(client, LEDGER, customer_params(info, "rich", includeTillConceptEvents="true"))
        == 400
    )


def test_till_and_store_filters(
    client: TestClient, info: dict[str, Any], rich_all: list[dict[str, Any]], store: Store
) -> None:
    rich = info["customers"]["rich"]
    by_till = {}
    for till in rich["till_ids"]:
        code = (
            store.conn().execute("SELECT code FROM tills WHERE till_id = ?", (till,)).fetchone()[0]
        )
        got = walk(client, customer_params(info, "rich", tillId=till), 100)
        assert got and all(e["tillCode"] == code for e in got)
        assert len(got) == sum(1 for e in rich_all if e["tillCode"] == code)
        by_till[till] = {e["eventLogId"] for e in got}
    union = walk(
        client, customer_params(info, "rich", tillIds=",".join(map(str, rich["till_ids"]))), 100
    )
    assert {e["eventLogId"] for e in union} == set().union(*by_till.values())
    for store_id, code in zip(rich["store_ids"], rich["store_codes"], strict=True):
        tills = [
            t
            for (t,) in store.conn().execute(
                "SELECT till_id FROM tills WHERE store_id = ?", (store_id,)
            )
        ]
        expected = set().union(*(by_till[t] for t in tills if t in by_till))
        by_id = walk(client, customer_params(info, "rich", storeId=store_id), 100)
        by_code = walk(client, customer_params(info, "rich", storeCode=code), 100)
        assert {e["eventLogId"] for e in by_id} == {e["eventLogId"] for e in by_code} == expected
        assert all(e["storeCode"] == code for e in by_code)


# -- dates ------------------------------------------------------------------------------------------


def _created(entry: dict[str, Any]) -> datetime:
    return datetime.strptime(entry["ledgerCreatedDate"], "%Y-%m-%d %H:%M:%S.0")


def test_date_windows(
    client: TestClient, info: dict[str, Any], rich_all: list[dict[str, Any]]
) -> None:
    newest = _created(rich_all[0])
    end = newest
    start = end - timedelta(days=90)

    def ids_between(a: datetime, b: datetime) -> set[int]:
        return {e["eventLogId"] for e in rich_all if a <= _created(e) <= b}

    both = walk(
        client,
        customer_params(info, "rich", startDate=start.strftime(FMT), endDate=end.strftime(FMT)),
        100,
    )
    assert {e["eventLogId"] for e in both} == ids_between(start, end)
    too_wide = customer_params(
        info,
        "rich",
        startDate=(start - timedelta(seconds=1)).strftime(FMT),
        endDate=end.strftime(FMT),
    )
    assert error_code(client, LEDGER, too_wide) == 400
    reversed_window = customer_params(
        info, "rich", startDate=end.strftime(FMT), endDate=start.strftime(FMT)
    )
    assert error_code(client, LEDGER, reversed_window) == 400
    only_end = walk(client, customer_params(info, "rich", endDate=end.strftime(FMT)), 100)
    assert {e["eventLogId"] for e in only_end} == ids_between(end - timedelta(days=90), end)
    year_end = walk(
        client,
        customer_params(info, "rich", endDate=end.strftime(FMT), includeLastOneYearData="true"),
        100,
    )
    assert {e["eventLogId"] for e in year_end} == ids_between(end - timedelta(days=365), end)
    assert len(year_end) > len(only_end)
    first = _created(rich_all[-1])
    only_start = walk(client, customer_params(info, "rich", startDate=first.strftime(FMT)), 100)
    assert {e["eventLogId"] for e in only_start} == ids_between(first, first + timedelta(days=90))
    ignored = ok(
        client,
        LEDGER,
        customer_params(info, "rich", startDate=first.strftime(FMT), isFilterBasedOnDate="false"),
    )
    assert ignored["ledgerDetails"]["totalEntries"] == len(rich_all)
    nothing = customer_params(
        info, "rich", startDate="2001-01-01T00:00:00", endDate="2001-02-01T00:00:00"
    )
    assert error_code(client, LEDGER, nothing) == 11003


@pytest.mark.parametrize(
    "bad",
    [
        "2024-13-45T00:00:00",
        "01/02/2024",
        "2024-01-01",
        "2024-1-1T1:2:3",
        "",
        "2024-01-01 00:00:00",
    ],
)
def test_malformed_dates(client: TestClient, info: dict[str, Any], bad: str) -> None:
    assert error_code(client, LEDGER, customer_params(info, "rich", endDate=bad)) == 400


# -- alternate currencies (001's six-row table) -------------------------------------------------------


@pytest.fixture(scope="module")
def alt_all(client: TestClient, info: dict[str, Any]) -> list[dict[str, Any]]:
    return walk(
        client, customer_params(info, "alt_currency", includeAlternateCurrencies="true"), 100
    )


CATEGORY = {
    "REGULAR": "Main",
    "PROMISED": "DelayedAccrualPointCategory",
    "TRIGGER_BASED": "ExternalTriggerBasedPointCategory",
}


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"includeAlternateCurrencies": "true", "pointCategoryType": "PROMISED"},
         lambda r: r["pointsCategory"] == CATEGORY["PROMISED"]),
        ({"includeAlternateCurrencies": "true"}, lambda r: True),
        ({"includeAlternateCurrencies": "true", "excludePointCategories": "true"},
         lambda r: "alternateCurrencyName" in r),
        ({"includeAlternateCurrencies": "true", "pointCategoryType": "REGULAR", "excludePointCategories": "true"},
         lambda r: "alternateCurrencyName" in r),
        ({"includeAlternateCurrencies": "false"}, lambda r: "alternateCurrencyName" not in r),
        ({}, lambda r: "alternateCurrencyName" not in r),
        ({"pointCategoryType": "TRIGGER_BASED"},
         lambda r: "alternateCurrencyName" not in r and r["pointsCategory"] == CATEGORY["TRIGGER_BASED"]),
        ({"alternateCurrencyNames": "Stars"},
         lambda r: r.get("alternateCurrencyName", "Stars") == "Stars"),
        ({"alternateCurrencyNames": "Stars", "excludePointCategories": "true", "includeAlternateCurrencies": "false"},
         lambda r: r.get("alternateCurrencyName") == "Stars"),
        ({"includeAlternateCurrencies": "true", "alternateCurrencyNames": "Stars"}, lambda r: True),
    ],
)  # fmt: skip
def test_alternate_currency_table(
    client: TestClient,
    info: dict[str, Any],
    alt_all: list[dict[str, Any]],
    params: dict[str, str],
    keep: Any,
) -> None:
    got = walk(client, customer_params(info, "alt_currency", **params), 100)
    expected = _expected(alt_all, lambda r, e: keep(r))
    assert {e["eventLogId"]: e["entryDetails"] for e in got} == expected
    for e in got:
        has_currency = any("alternateCurrencyName" in r for r in e["entryDetails"])
        assert ("netAlternateCurrenciesOnEvent" in e) == has_currency


# -- user groups --------------------------------------------------------------------------------------


def test_group_ledgers(client: TestClient, info: dict[str, Any], store: Store) -> None:
    for role, gtype in (("usergroup2", "USERGROUP2"), ("fleet", "FLEET")):
        group = info["groups"][role]
        bodies = [
            ok(
                client,
                LEDGER,
                {
                    "type": gtype,
                    "identifierName": name,
                    "identifierValue": value,
                    "source": "INSTORE",
                },
            )
            for name, value in (
                ("groupId", group["id"]),
                ("id", group["id"]),
                ("externalId", group["external_id"]),
                ("primaryUserId", group["primary_user_id"]),
            )
        ]
        assert all(b == bodies[0] for b in bodies)
        body = bodies[0]
        assert body["customerDetails"]["entityType"] == gtype
        assert body["customerDetails"]["userId"] == int(group["id"])
        roles = {m["customer_id"]: m["role"] for m in store.group_members(int(group["id"]))}
        for entry in body["ledgerEntries"]:
            details = entry["customerDetails"]
            assert details["userId"] == entry["customerId"]
            assert str(details["userId"]) in group["member_ids"]
            assert details["role"] == roles[details["userId"]]
            assert details["identifier"]["type"] in ("mobile", "email")
            assert details["firstName"] and details["lastName"]
        wrong_type = {
            "type": "FLEET" if gtype == "USERGROUP2" else "USERGROUP2",
            "identifierName": "groupId",
            "identifierValue": group["id"],
            "source": "INSTORE",
        }
        assert error_code(client, LEDGER, wrong_type) == 8015


def test_group_role_filter(client: TestClient, info: dict[str, Any], store: Store) -> None:
    group = info["groups"]["fleet"]
    params = {
        "type": "FLEET",
        "identifierName": "groupId",
        "identifierValue": group["id"],
        "source": "INSTORE",
    }
    everything = walk(client, params, 100)
    for member in store.group_members(int(group["id"])):
        got = walk(client, {**params, "role": member["role"]}, 100)
        assert {e["eventLogId"] for e in got} == {
            e["eventLogId"] for e in everything if e["customerDetails"]["role"] == member["role"]
        }
    assert error_code(client, LEDGER, {**params, "role": "NOBODY"}) == 11003


def test_points_summary_missing_is_9003(client: TestClient, store: Store) -> None:
    single = shape_params(store, "single", pointCategoryType="PROMISED")
    assert error_code(client, LEDGER, single) == 9003
    assert ok(client, LEDGER, shape_params(store, "single", pointCategoryType="REGULAR"))


# -- connected orgs (v2.1) ----------------------------------------------------------------------------


def test_connected_orgs_scopes(client: TestClient, info: dict[str, Any]) -> None:
    connected = info["customers"]["connected"]
    own, other = info["org_id"], info["connected_orgs"]["connected_org_ids"][0]
    params = {
        "identifierName": "mobile",
        "identifierValue": connected["mobile"],
        "source": "INSTORE",
    }
    self_body = ok(client, LEDGER_21, params, headers={"DATA-SCOPE": "SELF"})
    other_body = ok(
        client, LEDGER_21, params, headers={"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": str(other)}
    )
    assert {e["orgId"] for e in self_body["ledgerEntries"]} == {own}
    assert {e["orgId"] for e in other_body["ledgerEntries"]} == {other}
    assert other_body["customerDetails"]["userId"] == int(connected["id"])
    assert self_body["customerDetails"]["userId"] != other_body["customerDetails"]["userId"]
    assert other_body["ledgerDetails"]["totalEntries"] == connected["events"]
    assert other_body["ledgerDetails"]["ledgerClosingBalance"] == []
    by_id = ok(
        client, LEDGER_21, {**params, "identifierName": "id", "identifierValue": connected["id"]},
        headers={"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": f"{other}"},
    )  # fmt: skip
    assert by_id == other_body
    # the v2 ledger of the same mobile is the caller's own registration
    assert ok(client, LEDGER, params)["ledgerEntries"] == self_body["ledgerEntries"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"DATA-SCOPE": "EVERYONE"},
        {"DATA-SCOPE": "self"},
        {"DATA-SCOPE": "OTHER"},
        {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": ""},
        {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "50407"},
        {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "50405,50407"},
        {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "abc"},
        {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "99999999999999999999"},
    ],
)
def test_connected_orgs_310144(
    client: TestClient, info: dict[str, Any], headers: dict[str, str]
) -> None:
    params = customer_params(info, "connected")
    assert error_code(client, LEDGER_21, params, headers=headers) == 310144


# -- getCustomerLedgerBalance ---------------------------------------------------------------------------


def _closing_from(
    entries: list[dict[str, Any]], until: datetime | None = None
) -> dict[tuple[int, str], Decimal]:
    sums: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for e in entries:
        if until is not None and _created(e) > until:
            continue
        for r in e["entryDetails"]:
            sums[(r["programId"], r["pointsCategory"])] += signed(r)
    return dict(sums)


def _balances(client: TestClient, params: dict[str, Any]) -> dict[tuple[int, str], Decimal]:
    out: dict[tuple[int, str], Decimal] = {}
    first = ok(client, BALANCE, {**params, "limit": 3})
    details = first["ledgerDetails"]
    assert details["pageCount"] == math.ceil(details["totalEntries"] / 3)
    rows = list(details["ledgerClosingBalance"])
    for page in range(1, details["pageCount"]):
        rows += ok(client, BALANCE, {**params, "limit": 3, "offset": page})["ledgerDetails"][
            "ledgerClosingBalance"
        ]
    assert len(rows) == details["totalEntries"]
    for row in rows:
        key = (row["programId"], row["pointsCategory"])
        assert key not in out
        out[key] = Decimal(row["closingBalance"])
    return out


def test_closing_balance_equals_the_ledger(
    client: TestClient, info: dict[str, Any], rich_all: list[dict[str, Any]]
) -> None:
    params = customer_params(info, "rich")
    assert _balances(client, params) == _closing_from(rich_all)
    middle = _created(rich_all[len(rich_all) // 2])
    at = _balances(client, {**params, "endDate": middle.strftime(FMT)})
    assert at == {k: v for k, v in _closing_from(rich_all, middle).items()}
    till_code = rich_all[0]["tillCode"]
    till_id = {"childorgtill1": 11, "childorgtill2": 12, "childorgtill3": 13}[till_code]
    by_till = _balances(client, {**params, "tillId": till_id})
    assert by_till == _closing_from([e for e in rich_all if e["tillCode"] == till_code])
    credits = _balances(client, {**params, "ledgerEntryType": "CREDIT"})
    assert credits == _closing_from(
        [
            {
                **e,
                "entryDetails": [r for r in e["entryDetails"] if r["ledgerEntryType"] == "CREDIT"],
            }
            for e in rich_all
        ]
    )
    main = _balances(client, {**params, "pointCategoryType": "REGULAR"})
    assert main == {k: v for k, v in _closing_from(rich_all).items() if k[1] == "Main"}


def test_balance_limits(client: TestClient, info: dict[str, Any]) -> None:
    params = customer_params(info, "rich")
    body = ok(client, BALANCE, params)
    assert body["ledgerDetails"]["pageSize"] == 10
    assert body["ledgerDetails"]["pageNumber"] == 0
    assert body["customerDetails"]["entityType"] == "CUSTOMER"
    assert ok(client, BALANCE, {**params, "limit": 10})["ledgerDetails"]["pageSize"] == 10
    assert error_code(client, BALANCE, {**params, "limit": 11}) == 11029
    assert error_code(client, BALANCE, {**params, "limit": "-1"}) == 400
    assert error_code(client, BALANCE, {**params, "endDate": "yesterday"}) == 400
