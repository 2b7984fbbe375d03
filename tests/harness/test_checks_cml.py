"""crossMemberLedger (CML) rules on one page, and the scope=group superset rule."""

from __future__ import annotations

from typing import Any

import pytest

from points_conformance.checks import CheckContext, check_scope_group, discrepancies
from points_conformance.model import Exchange

from .test_checks_support import CML, LENIENT, STRICT, findings, make_exchange

OP = "getCrossMemberLedger"
DATE = {"Date": "Thu, 02 Apr 2026 00:00:00 GMT"}  # the day after 002's example entry


def row(
    customer: int, points: str, reversed_amount: str | None = "0.000", status: str | None = "ACTIVE"
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "customerId": customer,
        "points": points,
        "expiryBatchDate": "2026-04-10T00:00:00Z",
    }
    if reversed_amount is not None:
        item["reversedAmount"] = reversed_amount
    if status is not None:
        item["status"] = status
    return item


def redemption(
    log_id: int = 999821,
    rows: list[dict[str, Any]] | None = None,
    *,
    net: str | None = None,
    status: str | None = "ACTIVE",
    transacting: int = 1003,
    iso: str = "2026-04-01T10:30:00Z",
    local: str | None = None,
    ref: str = "TXN-882291",
    role: str | None = None,
) -> dict[str, Any]:
    rows = rows if rows is not None else [row(1004, "-10.000"), row(1001, "-100.000")]
    total = sum(float(r["points"]) for r in rows)
    item: dict[str, Any] = {
        "eventLogId": log_id,
        "eventName": "CROSS_MEMBER_REDEMPTION",
        "transactingCustomerId": transacting,
        "transactionRef": ref,
        "createdDate": local or iso.replace("T", " ").removesuffix("Z"),
        "createdDateISO": iso,
        "netPointsOnEvent": net if net is not None else f"{total:.3f}",
        "entryDetails": rows,
    }
    if status is not None:
        item["status"] = status
    if role is not None:
        item["userRole"] = role
    return item


def reversal(log_id: int = 999900, **kw: Any) -> dict[str, Any]:
    rows = kw.pop("rows", None) or [row(1002, "150.000", None, None)]
    item = redemption(log_id, rows, status=None, **kw)
    item["eventName"] = "CROSS_MEMBER_REDEMPTION_REVERSAL"
    return item


def body(
    entries: list[dict[str, Any]],
    *,
    page_number: int = 1,
    page_size: int = 20,
    total: int | None = None,
    page_count: int | None = None,
    balances: tuple[str, ...] = ("400.000", "260.000", "500.000", "90.000"),
    group_balance: str = "1250.000",
    member_count: int | None = None,
) -> dict[str, Any]:
    total = len(entries) if total is None else total
    return {
        "groupDetails": {
            "groupId": 12345,
            "groupBalance": group_balance,
            "memberCount": len(balances) if member_count is None else member_count,
            "members": [{"customerId": 1001 + i, "balance": b} for i, b in enumerate(balances)],
        },
        "pageDetails": {
            "pageNumber": page_number,
            "pageSize": page_size,
            "totalEntries": total,
            "pageCount": -(-total // page_size) if page_count is None else page_count,
        },
        "entries": entries,
        "warnings": [],
    }


def cml(data: dict[str, Any], *, caller: str = "1003", **params: Any) -> Exchange:
    params.setdefault("scope", "group")
    return make_exchange(
        OP,
        data,
        params=params,
        path=f"/v2/customers/{caller}/crossMemberLedger",
        response_headers=DATE,
    )


def got(ctx: CheckContext, ex: Exchange, *prefixes: str) -> set[str]:
    return {f.requirement for f in findings(ctx, ex) if f.requirement.startswith(prefixes)}


def many(n: int) -> list[dict[str, Any]]:
    return [
        redemption(1000 + i, iso=f"2026-04-01T{10 - i // 60:02d}:{59 - i % 60:02d}:00Z")
        for i in range(n)
    ]


PAGE_IDS = ("CML-PAGE-", "CML-LIMIT-", "CML-DEFAULT-PAGE")
PAGING_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], set[str], set[str]]] = {
    "002's shape": (body(many(1)), {"pageNumber": 1, "pageSize": 20}, set(), set()),
    # pageSize may be the count on the page; pageCount then uses the requested size
    "pageSize is the count": (
        body(many(1), page_size=1, page_count=1),
        {"pageSize": 20},
        set(),
        {"CML-PAGE-SIZE"},
    ),
    "count reading, identity by request": (
        body(many(5), page_size=5, total=45, page_count=3, page_number=3),
        {"pageSize": 20, "pageNumber": 3},
        set(),
        {"CML-PAGE-SIZE"},
    ),
    "wrong pageCount": (
        body(many(20), total=45, page_count=2),
        {"pageSize": 20},
        {"CML-PAGE-COUNT"},
        {"CML-PAGE-COUNT"},
    ),
    "pageNumber not echoed": (
        body(many(1), page_number=1),
        {"pageNumber": 2},
        {"CML-PAGE-INDEX"},
        {"CML-PAGE-INDEX"},
    ),
    "first page without pageNumber is not 1": (
        body(many(1), page_number=0),
        {"pageSize": 20},
        {"CML-DEFAULT-PAGE"},
        {"CML-DEFAULT-PAGE"},
    ),
    "more entries than asked": (
        body(many(6), page_size=5, total=6, page_count=2),
        {"pageSize": 5},
        {"CML-PAGE-SIZE"},
        {"CML-PAGE-SIZE"},
    ),
    "pageSize 101 accepted": (
        body(many(1), page_size=101),
        {"pageSize": 101},
        {"CML-LIMIT-MAX"},
        {"CML-LIMIT-MAX"},
    ),
    "pageSize 0 accepted": (
        body(many(0), page_size=1),
        {"pageSize": 0},
        {"CML-LIMIT-MAX"},
        {"CML-LIMIT-MAX"},
    ),
    "101 entries": (
        body(many(101), page_size=100, total=101, page_count=2),
        {"pageSize": 100},
        {"CML-LIMIT-MAX"},
        {"CML-LIMIT-MAX"},
    ),
    # no documented default; strict takes 20
    "default 20": (body(many(2)), {}, set(), set()),
    "default 25": (body(many(2), page_size=25), {}, set(), {"CML-DEFAULT-PAGE-SIZE"}),
    "default smaller than the page": (
        body(many(3), page_size=2, total=3, page_count=2),
        {},
        {"CML-DEFAULT-PAGE-SIZE"},
        {"CML-DEFAULT-PAGE-SIZE"},
    ),
    # No size sent, pageSize the entries shown: the last of 3 pages of 20 (strict wants
    # pageSize 20, and computes pageCount with the pageSize shown).
    "default size unknown, last page shows its count": (
        body(many(5), page_size=5, total=45, page_count=3, page_number=3),
        {"pageNumber": 3},
        set(),
        {"CML-DEFAULT-PAGE-SIZE", "CML-PAGE-COUNT"},
    ),
    "default size unknown, no size fits": (
        body(many(5), page_size=5, total=45, page_count=4, page_number=4),
        {"pageNumber": 4},
        {"CML-PAGE-COUNT"},
        {"CML-DEFAULT-PAGE-SIZE", "CML-PAGE-COUNT"},
    ),
}


@pytest.mark.parametrize("case", PAGING_CASES.values(), ids=PAGING_CASES.keys())
def test_paging(case: tuple[Any, ...]) -> None:
    data, params, lenient, strict = case
    ex = cml(data, **params)
    assert got(LENIENT, ex, *PAGE_IDS) == lenient
    assert got(STRICT, ex, *PAGE_IDS) == strict


@pytest.mark.parametrize(
    ("data", "lenient", "strict"),
    [
        (body([redemption()]), set(), set()),
        (body([redemption(net="-110.001")]), set(), {"CML-ARITH-NET"}),
        (body([redemption(net="-100.000")]), {"CML-ARITH-NET"}, {"CML-ARITH-NET"}),
        (body([redemption(net="110.000")]), {"CML-ARITH-NET"}, {"CML-ARITH-NET"}),
        (body([reversal()]), set(), set()),
        (body([], group_balance="1250.0"), set(), set()),
        (body([], group_balance="1250.002"), set(), {"CML-ARITH-GROUP-BALANCE"}),
        (
            body([], group_balance="1150.000"),
            {"CML-ARITH-GROUP-BALANCE"},
            {"CML-ARITH-GROUP-BALANCE"},
        ),
        (body([], member_count=5), {"CML-ARITH-MEMBER-COUNT"}, {"CML-ARITH-MEMBER-COUNT"}),
        # memberCount counts active members; members may list inactive ones too (D-093).
        (body([], member_count=3), set(), {"CML-ARITH-MEMBER-COUNT"}),
        (
            body([], member_count=3, group_balance="1160.000"),
            set(),
            {"CML-ARITH-MEMBER-COUNT", "CML-ARITH-GROUP-BALANCE"},
        ),
    ],
    ids=[
        "net is the rows",
        "display rounding",
        "net misses a row",
        "net sign flipped",
        "reversal net",
        "group balance",
        "group balance rounding",
        "group balance off",
        "member count off",
        "an inactive member listed",
        "an inactive member listed, balance of the active ones",
    ],
)
def test_arithmetic(data: dict[str, Any], lenient: set[str], strict: set[str]) -> None:
    ex = cml(data)
    assert got(LENIENT, ex, "CML-ARITH-NET", "CML-ARITH-G", "CML-ARITH-M") == lenient
    assert got(STRICT, ex, "CML-ARITH-NET", "CML-ARITH-G", "CML-ARITH-M") == strict


@pytest.mark.parametrize(
    ("net", "lenient", "strict"),
    [("-110.000", set(), set()), ("-10.000", set(), {"CML-ARITH-NET"})],
    ids=["the group's net", "the caller's share"],
)
def test_user_scope_net_is_strict_only(net: str, lenient: set[str], strict: set[str]) -> None:
    # 002 does not say whether scope=user rows are every member's, nor whose net is shown (D-092).
    ex = cml(body([redemption(net=net, role="TRANSACTING")]), scope="user")
    assert got(LENIENT, ex, "CML-ARITH-NET") == lenient
    assert got(STRICT, ex, "CML-ARITH-NET") == strict
    if strict:
        (found,) = findings(STRICT, ex, "CML-ARITH-NET")
        assert found.discrepancy == discrepancies.D_CML_USER_SCOPE


def test_strict_rounding_findings_name_the_rounding_discrepancy() -> None:
    (found,) = findings(STRICT, cml(body([redemption(net="-110.001")])), "CML-ARITH-NET")
    assert found.discrepancy == discrepancies.D_DISPLAY_ROUNDING


# rows, entry status, findings in the default run, findings in strict. 002 ties neither status
# to reversedAmount, nor gives it a sign, except by example (D-094).
STATUS_CASES: dict[str, tuple[list[dict[str, Any]], str | None, set[str], set[str]]] = {
    "002's example": (
        [
            row(1004, "-10.000"),
            row(1001, "-100.000"),
            row(1002, "-240.000", "150.000", "PARTIALLY_REVERSED"),
        ],
        "PARTIALLY_REVERSED",
        set(),
        set(),
    ),
    "all reversed": ([row(1001, "-5.0", "5.0", "REVERSED")], "REVERSED", set(), set()),
    "all active": ([row(1001, "-5.0")], "ACTIVE", set(), set()),
    "reversed more than drawn": (
        [row(1001, "-5.0", "6.0", "REVERSED")],
        "REVERSED",
        {"CML-REVERSED-BOUNDS"},
        {"CML-REVERSED-BOUNDS"},
    ),
    "negative reversed": (
        [row(1001, "-5.0", "-1.0", "PARTIALLY_REVERSED")],
        "PARTIALLY_REVERSED",
        set(),
        {"CML-REVERSED-BOUNDS"},
    ),
    "negative reversed, more than drawn": (
        [row(1001, "-5.0", "-6.0", "REVERSED")],
        "REVERSED",
        {"CML-REVERSED-BOUNDS"},
        {"CML-REVERSED-BOUNDS"},
    ),
    "row says active but reversed": (
        [row(1001, "-5.0", "2.0", "ACTIVE")],
        "ACTIVE",
        set(),
        {"CML-STATUS-ROW"},
    ),
    "row says reversed but partial": (
        [row(1001, "-5.0", "2.0", "REVERSED")],
        "REVERSED",
        set(),
        {"CML-STATUS-ROW"},
    ),
    "aggregate active with a reversed row": (
        [row(1001, "-5.0"), row(1002, "-5.0", "5.0", "REVERSED")],
        "ACTIVE",
        set(),
        {"CML-STATUS-AGGREGATE"},
    ),
    "aggregate partial when all reversed": (
        [row(1001, "-5.0", "5.0", "REVERSED")],
        "PARTIALLY_REVERSED",
        set(),
        {"CML-STATUS-AGGREGATE"},
    ),
}


@pytest.mark.parametrize("case", STATUS_CASES.values(), ids=STATUS_CASES.keys())
def test_reversal_status(case: tuple[Any, ...]) -> None:
    rows, status, lenient, strict = case
    ex = cml(body([redemption(rows=rows, status=status)]))
    assert got(LENIENT, ex, "CML-REVERSED", "CML-STATUS") == lenient
    assert got(STRICT, ex, "CML-REVERSED", "CML-STATUS") == strict


def test_strict_status_findings_name_their_register_entry() -> None:
    rows = [row(1001, "-5.0", "-1.0", "ACTIVE")]
    found = findings(STRICT, cml(body([redemption(rows=rows, status="ACTIVE")])))
    named = {f.requirement: f.discrepancy for f in found if f.requirement.startswith("CML-")}
    assert named == {
        "CML-REVERSED-BOUNDS": discrepancies.D_CML_REVERSALS,
    }
    rows = [row(1001, "-5.0", "2.0", "ACTIVE")]
    (found_row,) = findings(STRICT, cml(body([redemption(rows=rows)])), "CML-STATUS-ROW")
    assert found_row.discrepancy == discrepancies.D_CML_REVERSALS


FIELD_CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "redemption complete": (redemption(), False),
    "redemption without status": (redemption(status=None), True),
    "redemption row without reversedAmount": (redemption(rows=[row(1001, "-1", None)]), True),
    "redemption row status null": (redemption(rows=[row(1001, "-1", "0", None)]), True),
    "reversal bare": (reversal(), False),
    "reversal with status": ({**reversal(), "status": "ACTIVE"}, True),
    "reversal row with reversedAmount": (reversal(rows=[row(1002, "1", "0", None)]), True),
    "reversal with null status": ({**reversal(), "status": None}, False),
}


@pytest.mark.parametrize("case", FIELD_CASES.values(), ids=FIELD_CASES.keys())
def test_conditional_fields(case: tuple[dict[str, Any], bool]) -> None:
    entry, flagged = case
    ex = cml(body([entry]))
    assert bool(findings(LENIENT, ex, "CML-FIELDS-CONDITIONAL")) is flagged


@pytest.mark.parametrize(
    ("entry", "flagged"),
    [
        (redemption(), False),
        (reversal(), False),
        (redemption(rows=[row(1001, "10.000")], net="10.000"), True),
        (reversal(rows=[row(1002, "-1.000", None, None)], net="-1.000"), True),
        (redemption(rows=[row(1001, "0.000")], net="0.000"), False),
    ],
    ids=["redemption", "reversal", "positive redemption", "negative reversal", "zero"],
)
def test_sign(entry: dict[str, Any], flagged: bool) -> None:
    assert bool(findings(LENIENT, cml(body([entry])), "CML-ARITH-SIGN")) is flagged


ROLE_CASES: dict[str, tuple[dict[str, Any], str, dict[str, str], set[str], set[str]]] = {
    # entry, caller, params, lenient, strict
    "transacting": (redemption(role="TRANSACTING"), "1003", {"scope": "user"}, set(), set()),
    "source": (redemption(role="SOURCE"), "1001", {"scope": "user"}, set(), set()),
    "both": (redemption(role="BOTH", transacting=1001), "1001", {"scope": "user"}, set(), set()),
    # On a reversal, who transacted and whose rows are listed is not said (D-092).
    "reversal role": (
        reversal(role="BOTH"),
        "1003",
        {"scope": "user"},
        set(),
        {"CML-USERROLE-VALUE"},
    ),
    "wrong role": (
        redemption(role="SOURCE"),
        "1003",
        {"scope": "user"},
        {"CML-USERROLE-VALUE"},
        {"CML-USERROLE-VALUE"},
    ),
    "missing role": (
        redemption(),
        "1003",
        {"scope": "user"},
        {"CML-USERROLE-PRESENCE"},
        {"CML-USERROLE-PRESENCE"},
    ),
    "not the caller's event": (
        redemption(role="TRANSACTING"),
        "2000",
        {"scope": "user"},
        {"CML-SCOPE-USER"},
        {"CML-SCOPE-USER"},
    ),
    "default scope is user": (redemption(role="TRANSACTING"), "1003", {}, set(), set()),
    "default scope without roles": (
        redemption(),
        "2000",
        {},
        {"CML-DEFAULT-SCOPE"},
        {"CML-DEFAULT-SCOPE"},
    ),
    "group without roles": (redemption(), "2000", {"scope": "group"}, set(), set()),
    # 002's example shows userRole on what reads as the scope=group answer
    "group with a role": (
        redemption(role="TRANSACTING"),
        "1003",
        {"scope": "group"},
        set(),
        {"CML-USERROLE-PRESENCE"},
    ),
    "unknown scope is an error case": (redemption(), "2000", {"scope": "all"}, set(), set()),
}


@pytest.mark.parametrize("case", ROLE_CASES.values(), ids=ROLE_CASES.keys())
def test_scope_and_role(case: tuple[Any, ...]) -> None:
    entry, caller, params, lenient, strict = case
    params = {"scope": None, **params}
    if params["scope"] is None:
        del params["scope"]
        ex = make_exchange(
            OP,
            body([entry]),
            path=f"/v2/customers/{caller}/crossMemberLedger",
            response_headers=DATE,
        )
    else:
        ex = cml(body([entry]), caller=caller, **params)
    kinds = ("CML-USERROLE", "CML-SCOPE", "CML-DEFAULT-SCOPE")
    assert got(LENIENT, ex, *kinds) == lenient
    assert got(STRICT, ex, *kinds) == strict


def test_group_role_finding_names_its_discrepancy() -> None:
    ex = cml(body([redemption(role="TRANSACTING")]), scope="group")
    (found,) = findings(STRICT, ex, "CML-USERROLE-PRESENCE")
    assert found.discrepancy == discrepancies.D_CML_USERROLE


@pytest.mark.parametrize(
    ("params", "entries", "requirement"),
    [
        ({"eventName": "CROSS_MEMBER_REDEMPTION"}, [redemption()], None),
        (
            {"eventName": "CROSS_MEMBER_REDEMPTION"},
            [redemption(), reversal()],
            "CML-FILTER-EVENTNAME",
        ),
        (
            {"eventName": "CROSS_MEMBER_REDEMPTION,CROSS_MEMBER_REDEMPTION_REVERSAL"},
            [redemption(), reversal()],
            None,
        ),
        ({"eventName": "BOGUS"}, [redemption()], None),
        ({"transactionRef": "TXN-882291"}, [redemption(), reversal()], None),
        ({"transactionRef": "TXN-882291"}, [redemption(ref="TXN-1")], "CML-FILTER-TXREF"),
    ],
)
def test_filters(
    params: dict[str, str], entries: list[dict[str, Any]], requirement: str | None
) -> None:
    ex = cml(body(entries), **params)
    assert got(LENIENT, ex, "CML-FILTER-E", "CML-FILTER-T") == (
        {requirement} if requirement else set()
    )


DATE_CASES: dict[str, tuple[str, dict[str, str], dict[str, str], str | None]] = {
    # createdDateISO, params, response headers, requirement
    "inside explicit window": (
        "2026-03-15T00:00:00Z",
        {"startDate": "2026-03-01T00:00:00Z", "endDate": "2026-04-01T00:00:00Z"},
        DATE,
        None,
    ),
    "after endDate": (
        "2026-04-01T10:30:00Z",
        {"startDate": "2026-03-01T00:00:00Z", "endDate": "2026-04-01T00:00:00Z"},
        DATE,
        "CML-FILTER-DATE",
    ),
    "offsets honoured": (
        "2026-03-25T05:30:00Z",
        {"startDate": "2026-03-25T11:00:00+05:30", "endDate": "2026-03-25T12:00:00+05:30"},
        DATE,
        None,
    ),
    "before startDate with offset": (
        "2026-03-25T05:29:59Z",
        {"startDate": "2026-03-25T11:00:00+05:30", "endDate": "2026-03-26T00:00:00Z"},
        DATE,
        "CML-FILTER-DATE",
    ),
    "naive dates may be in any zone": (
        "2026-03-25T20:00:00Z",
        {"startDate": "2026-03-25T00:00:00", "endDate": "2026-03-25T12:00:00"},
        DATE,
        None,
    ),
    "default window": ("2026-03-10T00:00:00Z", {}, DATE, None),
    "older than 30 days": ("2026-02-20T00:00:00Z", {}, DATE, "CML-DEFAULT-WINDOW"),
    "start given, end defaults to now": (
        "2026-05-01T00:00:00Z",
        {"startDate": "2026-03-01T00:00:00Z"},
        DATE,
        "CML-DEFAULT-WINDOW",
    ),
    "end given, start defaults": (
        "2026-01-01T00:00:00Z",
        {"endDate": "2026-04-01T00:00:00Z"},
        DATE,
        "CML-DEFAULT-WINDOW",
    ),
    "now from the context without Date": ("2026-03-10T00:00:00Z", {}, {}, None),
    "unreadable date is an error case": (
        "2020-01-01T00:00:00Z",
        {"startDate": "yesterday"},
        DATE,
        None,
    ),
}


@pytest.mark.parametrize("case", DATE_CASES.values(), ids=DATE_CASES.keys())
def test_date_window(case: tuple[Any, ...]) -> None:
    iso, params, headers, requirement = case
    ctx = CheckContext(
        now=__import__("datetime").datetime(2026, 4, 2, tzinfo=__import__("datetime").UTC)
    )
    ex = make_exchange(
        OP,
        body([redemption(iso=iso)]),
        params={"scope": "group", **params},
        response_headers=headers,
    )
    found = {
        f.requirement
        for f in findings(ctx, ex)
        if "DATE" in f.requirement or "WINDOW" in f.requirement
    }
    assert found == ({requirement} if requirement else set())


@pytest.mark.parametrize(
    ("isos", "params", "requirement"),
    [
        (["2026-04-01T10:30:00Z", "2026-04-01T10:30:00Z", "2026-03-30T00:00:00+05:30"], {}, None),
        (["2026-03-30T00:00:00Z", "2026-04-01T00:00:00Z"], {}, "CML-SORT-DEFAULT"),
        (["2026-03-30T00:00:00Z", "2026-04-01T00:00:00Z"], {"sort": "createdDate:asc"}, None),
        (["2026-04-01T00:00:00Z", "2026-03-30T00:00:00Z"], {"sort": "createdDate:asc"}, "CML-SORT"),
        (
            ["2026-03-30T00:00:00Z", "2026-04-01T00:00:00Z"],
            {"sort": "createdDate:desc"},
            "CML-SORT",
        ),
        (["2026-03-30T00:00:00Z", "2026-04-01T00:00:00Z"], {"sort": "amount"}, None),
    ],
)
def test_sort(isos: list[str], params: dict[str, str], requirement: str | None) -> None:
    entries = [redemption(900 + i, iso=iso) for i, iso in enumerate(isos)]
    ex = cml(
        body(entries), startDate="2026-01-01T00:00:00Z", endDate="2026-04-02T00:00:00Z", **params
    )
    assert got(LENIENT, ex, "CML-SORT") == ({requirement} if requirement else set())


def test_dates_not_compared_without_an_org_timezone() -> None:
    # 002: createdDate is in the "org timezone", which only the target file can name.
    ex = cml(body([redemption(local="2026-04-01 16:00:00")]))
    assert findings(CheckContext(timezone=""), ex, "CML-DATES-CONSISTENT") == []
    assert findings(CheckContext(timezone="UTC"), ex, "CML-DATES-CONSISTENT") != []


@pytest.mark.parametrize(
    ("zone", "local", "flagged"),
    [
        ("UTC", "2026-04-01 10:30:00", False),
        ("Asia/Kolkata", "2026-04-01 16:00:00", False),
        ("Asia/Kolkata", "2026-04-01 10:30:00", True),
        ("Not/AZone", "2000-01-01 00:00:00", False),
    ],
)
def test_dates_consistent(zone: str, local: str, flagged: bool) -> None:
    ctx = CheckContext(timezone=zone)
    ex = cml(body([redemption(local=local)]))
    assert bool(findings(ctx, ex, "CML-DATES-CONSISTENT")) is flagged


@pytest.mark.parametrize(
    ("entries", "flagged"),
    [
        ([redemption(1), redemption(2)], False),
        (
            [redemption(1, rows=[row(1001, "-1.000")]), redemption(1, rows=[row(1002, "-2.000")])],
            False,
        ),
        ([redemption(1), {**redemption(1), "transactionRef": "OTHER"}], True),
        ([redemption(1), {**reversal(1)}], True),
    ],
    ids=["distinct", "shared by one redemption", "other transaction", "other event"],
)
def test_eventlog_shared(entries: list[dict[str, Any]], flagged: bool) -> None:
    assert bool(findings(LENIENT, cml(body(entries)), "CML-EVENTLOG-SHARED")) is flagged


def test_entity_wrapper_is_read_through() -> None:
    wrapped = {"entity": body([redemption(net="-1.000")])}
    assert {"CML-ARITH-NET"} <= got(LENIENT, cml(wrapped), "CML-ARITH")


@pytest.mark.parametrize(
    ("group_ids", "user_ids", "flagged"), [([1, 2, 3], [1, 3], False), ([1, 2], [1, 3], True)]
)
def test_scope_group_holds_every_user_view(
    group_ids: list[int], user_ids: list[int], flagged: bool
) -> None:
    group = [cml(body([redemption(i) for i in group_ids]), scope="group")]
    user = [cml(body([redemption(i, role="TRANSACTING") for i in user_ids]), scope="user")]
    found = check_scope_group(LENIENT, group_pages=group, user_pages=user)
    assert bool(found) is flagged
    if flagged:
        assert found[0].requirement == "CML-SCOPE-GROUP" and "eventLogId 3" in found[0].actual


@pytest.mark.parametrize(
    ("entry", "params", "requirement"),
    [
        ({**reversal(), "status": None}, {"scope": "group"}, "CML-FIELDS-CONDITIONAL"),
        ({**redemption(), "userRole": None}, {"scope": "group"}, "CML-USERROLE-PRESENCE"),
    ],
    ids=["null status on a reversal", "null userRole with scope=group"],
)
def test_a_null_counts_as_absent_only_in_the_default_run(
    entry: dict[str, Any], params: dict[str, str], requirement: str
) -> None:
    ex = cml(body([entry]), **params)
    assert findings(LENIENT, ex, requirement) == []
    (found,) = findings(STRICT, ex, requirement)
    assert found.discrepancy == discrepancies.D_NULL_AS_ABSENT


@pytest.mark.parametrize(
    ("reversed_amount", "given", "flagged"),
    [
        ("150.000", ["100.000", "50.000"], False),
        ("-150.000", ["150.000"], False),
        ("150.000", ["100.000"], True),
        ("0.000", [], False),
        ("20.000", [], True),
    ],
    ids=["two reversals", "signed amount", "one reversal missing", "never reversed", "no reversal"],
)
def test_reversed_amount_is_what_the_reversals_gave_back(
    reversed_amount: str, given: list[str], flagged: bool
) -> None:
    # 002: reversedAmount is "Cumulative points reversed from this member's contribution to
    # date"; transactionRef returns "the original redemption and any associated reversal".
    rows = [row(1001, "-100.000"), row(1002, "-240.000", reversed_amount, "PARTIALLY_REVERSED")]
    entries = [redemption(rows=rows, status="PARTIALLY_REVERSED")] + [
        reversal(999900 + i, rows=[row(1002, points, None, None)]) for i, points in enumerate(given)
    ]
    ex = cml(body(entries), transactionRef="TXN-882291")
    for ctx in (LENIENT, STRICT):
        assert bool(findings(ctx, ex, "CML-REVERSED-CUMULATIVE")) is flagged
    # Without transactionRef the reversals may be on other pages: not judged.
    assert findings(LENIENT, cml(body(entries)), "CML-REVERSED-CUMULATIVE") == []


# 002's error table: "1003 | pageSize is outside the allowed range (1–100), or pageNumber is less
# than 1." and "1004 | Invalid value for scope (allowed: user, group) or eventName (...)".
@pytest.mark.parametrize(
    ("params", "code", "requirement"),
    [
        ({"pageSize": "101"}, 1004, "CML-ERR-1003"),
        ({"pageNumber": "0"}, 1004, "CML-ERR-1003"),
        ({"scope": "everyone"}, 1003, "CML-ERR-1004"),
        ({"eventName": "PointsTransfer"}, 1001, "CML-ERR-1004"),
    ],
)
@pytest.mark.parametrize("ctx", [LENIENT, STRICT], ids=["default", "strict"])
def test_a_refusal_carries_the_code_the_request_calls_for(
    ctx: CheckContext, params: dict[str, str], code: int, requirement: str
) -> None:
    refusal = {"errors": [{"code": code, "message": "refused"}]}
    wrong = make_exchange(CML, refusal, status=400, params=params)
    assert [f.requirement for f in findings(ctx, wrong)] == [requirement]
    right_code = int(requirement.rsplit("-", 1)[1])
    right = make_exchange(
        CML, {"errors": [{"code": right_code, "message": "refused"}]}, status=400, params=params
    )
    assert findings(ctx, right) == []


def test_a_request_wrong_in_two_ways_or_in_case_only_is_not_judged_by_its_code() -> None:
    refusal = {"errors": [{"code": 1001, "message": "refused"}]}
    both = make_exchange(CML, refusal, status=400, params={"pageSize": "0", "scope": "x"})
    upper = make_exchange(CML, refusal, status=400, params={"scope": "USER"})
    assert findings(LENIENT, both) == [] and findings(LENIENT, upper) == []


# 002 does not say which fault a server reports first: a code another fault of the request may
# have earned, or one only the data decides (3401: "The customer does not belong to this org"),
# is no wrong code.
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"pageNumber": "0", "startDate": ""}, 1001),
        ({"pageSize": "0", "startDate": "2026-03-01"}, 1001),
        ({"pageSize": "0", "endDate": "2026-01-01T00:00:00Z"}, 1002),
        (
            {
                "scope": "everyone",
                "startDate": "2026-04-01T00:00:00Z",
                "endDate": "2026-03-01T00:00:00Z",
            },
            1002,
        ),
        ({"pageSize": "101"}, 3401),
        ({"scope": "everyone"}, 3301),
    ],
)
def test_a_code_another_fault_of_the_request_may_earn_is_not_blamed(
    params: dict[str, str], code: int
) -> None:
    refusal = {"errors": [{"code": code, "message": "refused"}]}
    for ctx in (LENIENT, STRICT):
        assert findings(ctx, make_exchange(CML, refusal, status=400, params=params)) == []


def test_a_code_the_request_plainly_cannot_earn_is_blamed_beside_valid_dates() -> None:
    dates = {"startDate": "2026-03-01T00:00:00Z", "endDate": "2026-03-25T11:00:00+05:30"}
    refusal = {"errors": [{"code": 1001, "message": "refused"}]}
    wrong = make_exchange(CML, refusal, status=400, params={"pageSize": "0", **dates})
    assert [f.requirement for f in findings(LENIENT, wrong)] == ["CML-ERR-1003"]
