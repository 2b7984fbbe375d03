"""COMMON rules, PTS-SUCCESS-800, expect_error / expect_auth_rejected, the schema check and the
registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from points_conformance.checks import (
    CheckContext,
    check,
    discrepancies,
    expect_auth_rejected,
    expect_error,
    registered_checks,
    requirement_ids,
    run_checks,
)
from points_conformance.checks.all_operations import success_without_errors
from points_conformance.model import Exchange, Finding
from points_conformance.operations import OPERATIONS, POINTS_OPERATIONS

from .test_checks_support import (
    CML,
    CORG,
    ERROR_ENVELOPE,
    LEDGER,
    LENIENT,
    STRICT,
    TRANSFERRED,
    credited_by,
    findings,
    ledger_example,
    make_exchange,
    requirements,
)

ENVELOPE = {"errors": [{"code": 8015, "message": "Identifier value missing or incorrect"}]}


@pytest.mark.parametrize(
    ("status", "flagged"), [(200, False), (400, False), (404, False), (500, True), (503, True)]
)
def test_server_error_flags_every_5xx(status: int, flagged: bool) -> None:
    ex = make_exchange("getCustomerLedgerInfo", ENVELOPE, status=status)
    found = findings(LENIENT, ex, "COMMON-SERVER-ERROR")
    assert bool(found) is flagged
    if flagged:
        assert str(status) in found[0].actual


@pytest.mark.parametrize(
    ("content_type", "text", "flagged"),
    [
        ("application/json", '{"a": 1}', False),
        ("application/json; charset=utf-8", '{"a": 1}', False),
        ("Application/JSON", "[]", False),
        ("text/html", '{"a": 1}', True),
        ("text/plain", "not json", False),
        ("text/plain", "", False),
        ("text/plain", '{"a": 1}', True),
    ],
)
def test_json_bodies_are_labelled_json(content_type: str, text: str, flagged: bool) -> None:
    # A JSON body under a non-JSON type is no answer to "Accept: application/json" (002).
    ex = make_exchange("reversePoints", text=text, response_headers={"Content-Type": content_type})
    for ctx in (LENIENT, STRICT):
        found = findings(ctx, ex, "COMMON-CONTENT-TYPE")
        assert bool(found) is flagged
        assert all(f.discrepancy is None for f in found)


@pytest.mark.parametrize("content_type", ["", "application/problem+json", "text/json"])
def test_other_json_media_types_are_the_strict_reading(content_type: str) -> None:
    # No page names the answer's media type (D-096): strict takes application/json only.
    ex = make_exchange("reversePoints", {"a": 1}, response_headers={"Content-Type": content_type})
    assert findings(LENIENT, ex, "COMMON-CONTENT-TYPE") == []
    (found,) = findings(STRICT, ex, "COMMON-CONTENT-TYPE")
    assert found.discrepancy == discrepancies.D_CONTENT_TYPE


@pytest.mark.parametrize(
    ("status", "text", "ctx", "problem"),
    [
        (400, '{"errors": [{"code": 8015, "message": "x"}], "warnings": []}', STRICT, None),
        (400, '{"data": [], "errors": [{"code": 801, "message": "x"}]}', STRICT, None),
        (400, '{"error": "bad"}', STRICT, 'no "errors" list'),
        (400, '{"errors": []}', STRICT, "empty"),
        (422, '{"errors": [{"code": "8015", "message": "x"}]}', STRICT, "not an integer"),
        (400, '{"errors": [{"code": 8015}]}', STRICT, "message"),
        (404, "Not Found", STRICT, "not JSON"),
        (400, "[1, 2]", STRICT, "not a JSON object"),
        (429, "slow down", STRICT, None),
        # No page describes an error body (D-084): the envelope is the strict reading only.
        (400, '{"error": "bad"}', LENIENT, None),
        (400, '{"errors": []}', LENIENT, None),
        (404, "Not Found", LENIENT, None),
        (400, '{"code": 8015, "message": "x"}', LENIENT, None),
        (400, '{"code": 8015, "message": "x"}', STRICT, 'no "errors" list'),
        (401, "", LENIENT, None),
        (401, "", STRICT, "not JSON"),
        (401, '{"errors": [{"code": 401, "message": "Unauthorized"}]}', STRICT, None),
        (200, '{"whatever": 1}', STRICT, None),
    ],
)
def test_error_envelope(status: int, text: str, ctx: CheckContext, problem: str | None) -> None:
    ex = make_exchange("getCustomerLedgerBalance", text=text, status=status)
    found = findings(ctx, ex, "COMMON-ERR-ENVELOPE")
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0].message


@dataclass(frozen=True)
class ErrorCase:
    status: int
    body: Any
    codes: set[int]
    lenient: list[str]  # substrings of the findings' messages, one per finding
    strict: list[str]


ERROR_CASES = {
    "documented code on 400": ErrorCase(400, ENVELOPE, {8015, 11012}, [], []),
    "documented code on 404": ErrorCase(404, ENVELOPE, {8015}, [], ["instead of HTTP 400"]),
    "different code": ErrorCase(
        400, ENVELOPE, {11029}, ["code 8015 instead of 11029"], ["code 8015 instead of 11029"]
    ),
    "accepted": ErrorCase(
        200,
        {"ledgerEntries": []},
        {11029},
        ["accepted the request (HTTP 200)"],
        ["accepted the request (HTTP 200)"],
    ),
    "server error": ErrorCase(
        500,
        ENVELOPE,
        {8015},
        ["failed (HTTP 500)", "failed with HTTP 500"],
        ["failed (HTTP 500)", "failed with HTTP 500"],
    ),
    # The page names the code, so it must be readable; the envelope's shape is strict (D-084).
    "no envelope": ErrorCase(
        400,
        {"message": "bad"},
        {8015},
        ["without an error code"],
        ["without an error code", 'no "errors" list'],
    ),
    # No page gives an error an HTTP status: a 2xx whose errors carry the code is a refusal in
    # the default run (D-016); strict wants HTTP 400.
    "documented code on 200": ErrorCase(200, ENVELOPE, {8015}, [], ["code 8015 but HTTP 200"]),
    "other code on 200": ErrorCase(
        200,
        {"errors": [{"code": 11029, "message": "x"}]},
        {8015},
        ["accepted the request (HTTP 200)"],
        ["accepted the request (HTTP 200)"],
    ),
    "any code on 200": ErrorCase(200, ENVELOPE, set(), [], ["code 8015 but HTTP 200"]),
    # No code named and no error body described (D-084): any 4xx is the refusal asked for.
    "no code named, no envelope": ErrorCase(
        400,
        {"message": "bad"},
        set(),
        [],
        ["without an error code", 'no "errors" list'],
    ),
    "no code named, empty body": ErrorCase(
        422, "", set(), [], ["instead of HTTP 400", "without an error code", "not a JSON object"]
    ),
    # A code at the top of the body: read by the default run only (D-084).
    "top-level code": ErrorCase(
        400,
        {"code": 8015, "message": "x"},
        {8015},
        [],
        ["without an error code", 'no "errors" list'],
    ),
    "top-level errorCode, other code": ErrorCase(
        400,
        {"errorCode": "11029"},
        {8015},
        ["code 11029 instead of 8015"],
        ["without an error code", 'no "errors" list'],
    ),
    "any code allowed": ErrorCase(400, {"errors": [{"code": 400, "message": "x"}]}, set(), [], []),
    "string code matches": ErrorCase(
        400, {"errors": [{"code": "8015", "message": "x"}]}, {8015}, [], []
    ),
}


@pytest.mark.parametrize("case", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_expect_error(case: ErrorCase) -> None:
    ex = make_exchange("getCustomerLedgerInfo", case.body, status=case.status)
    for ctx, wanted in ((LENIENT, case.lenient), (STRICT, case.strict)):
        found = expect_error(ctx, ex, codes=case.codes, requirement="LEDGER-ERR-8015")
        assert len(found) == len(wanted), [f.message for f in found]
        for f, text in zip(found, wanted, strict=True):
            assert f.requirement in (
                "LEDGER-ERR-8015",
                "COMMON-ERR-STATUS",
                "COMMON-SERVER-ERROR",
                "COMMON-ERR-ENVELOPE",
            )
            assert text in f.message
            assert f.exchange is ex


WARNING_BODY = {"warnings": [{"code": 902, "message": "Redemption ID does not exist."}]}
FAMILY = ["PTS-ERR-804", "PTS-ERR-803", "PTS-ERR-813", "PTS-ERR-818"]


@pytest.mark.parametrize(
    ("status", "body", "ctx", "filed"),
    [
        # Not refused at all: every rule the request tests is broken.
        (200, {"data": []}, LENIENT, FAMILY),
        # Refused with a code no reading allows: the codes the run accepts are broken.
        (400, {"errors": [{"code": 999, "message": "x"}]}, LENIENT, FAMILY),
        (400, {"errors": [{"code": 999, "message": "x"}]}, STRICT, ["PTS-ERR-804"]),
        # A code only the lenient reading allows: strict files it under the strict code only.
        (400, {"errors": [{"code": 813, "message": "x"}]}, STRICT, ["PTS-ERR-804"]),
        (400, {"errors": [{"code": 813, "message": "x"}]}, LENIENT, []),
    ],
)
def test_expect_error_files_under_the_requirements_it_breaks(
    status: int, body: Any, ctx: CheckContext, filed: list[str]
) -> None:
    ex = make_exchange("transferPoints", body, status=status)
    found = expect_error(ctx, ex, codes={804}, lenient_codes={803, 813, 818}, requirement=FAMILY)
    assert sorted(
        f.requirement for f in found if not f.requirement.startswith("COMMON-")
    ) == sorted(filed)


def test_warning_answer_is_the_lenient_reading_only() -> None:
    ex = make_exchange("reversePoints", WARNING_BODY, status=200)
    named = ["PTS-ERR-902", "PTS-WARN-902"]
    assert expect_error(LENIENT, ex, codes={902}, requirement=named, warnings={902}) == []
    (found,) = expect_error(
        STRICT, ex, codes={902}, requirement=named, warnings={902}, discrepancy="D-036"
    )
    assert (found.requirement, found.discrepancy) == ("PTS-ERR-902", "D-036")
    # Without `warnings`, a 2xx answer is an accepted request.
    assert expect_error(LENIENT, ex, codes={902}, requirement=named) != []


def test_strict_status_is_filed_under_common_err_status_with_its_discrepancy() -> None:
    ex = make_exchange("getCustomerLedgerInfo", ENVELOPE, status=422)
    (found,) = expect_error(STRICT, ex, codes={8015}, requirement="LEDGER-ERR-8015")
    assert (found.requirement, found.discrepancy) == (
        "COMMON-ERR-STATUS",
        discrepancies.D_ERROR_STATUS,
    )
    assert "HTTP 400" in found.expected
    assert expect_error(LENIENT, ex, codes={8015}, requirement="LEDGER-ERR-8015") == []


@pytest.mark.parametrize(
    ("code", "ctx", "flagged", "discrepancy"),
    [
        (3802, LENIENT, False, None),
        (812, LENIENT, False, None),
        (3802, STRICT, False, None),
        (812, STRICT, True, discrepancies.D_ALREADY_REVERSED),
        (901, LENIENT, True, None),
    ],
)
def test_lenient_codes_are_accepted_only_in_the_default_run(
    code: int, ctx: CheckContext, flagged: bool, discrepancy: str | None
) -> None:
    ex = make_exchange("reversePoints", {"errors": [{"code": code, "message": "x"}]}, status=400)
    found = expect_error(
        ctx,
        ex,
        codes={3802},
        lenient_codes={812},
        discrepancy=discrepancies.D_ALREADY_REVERSED,
        requirement="REV-STATE-TWICE",
    )
    assert bool(found) is flagged
    if flagged:
        assert found[0].discrepancy == discrepancy


@pytest.mark.parametrize(
    ("status", "body", "flagged"),
    [
        (400, ENVELOPE, False),
        (422, ENVELOPE, True),
        (404, {"errors": [{"code": 8015, "message": "x"}]}, True),
        (404, {"errors": [{"code": 404, "message": "no route"}]}, False),
        (404, {"detail": "Not Found"}, False),
        (401, {"errors": [{"code": 401, "message": "x"}]}, False),
        (429, {"errors": [{"code": 1, "message": "x"}]}, False),
    ],
)
def test_strict_error_status_in_run_checks(status: int, body: Any, flagged: bool) -> None:
    ex = make_exchange("getCrossMemberLedger", body, status=status)
    assert bool(findings(STRICT, ex, "COMMON-ERR-STATUS")) is flagged
    assert findings(LENIENT, ex, "COMMON-ERR-STATUS") == []


@pytest.mark.parametrize(
    ("status", "text", "ctx", "passes"),
    [
        (401, "", LENIENT, True),
        (401, '{"errors": [{"code": 401, "message": "x"}]}', STRICT, True),
        (401, "", STRICT, False),
        # 003 says only "Authentication | Yes": any refusal (D-016); strict: 401.
        (403, '{"errors": [{"code": 403, "message": "x"}]}', LENIENT, True),
        (403, '{"errors": [{"code": 403, "message": "x"}]}', STRICT, False),
        (400, "", LENIENT, True),
        (401, '{"redemptionId": "54ZNkA", "pointsReversed": 10}', LENIENT, False),
        (403, '{"data": [{"transferId": 1}]}', LENIENT, False),
        (200, "{}", LENIENT, False),
        (500, "", LENIENT, False),
    ],
)
def test_expect_auth_rejected(status: int, text: str, ctx: CheckContext, passes: bool) -> None:
    ex = make_exchange("reversePoints", text=text, status=status)
    found = expect_auth_rejected(ctx, ex)
    assert (found == []) is passes
    assert all(f.requirement == "COMMON-AUTH-401" for f in found)


@pytest.mark.parametrize(
    ("status", "ctx", "passes"),
    [(401, LENIENT, True), (403, LENIENT, False), (400, LENIENT, False), (403, STRICT, False)],
)
def test_crossmemberledger_states_401(status: int, ctx: CheckContext, passes: bool) -> None:
    # 002 is the one page that states the status: "401 Unauthorized — invalid or missing
    # credentials".
    ex = make_exchange(CML, text="", status=status)
    assert (expect_auth_rejected(ctx, ex) == []) is passes


@dataclass(frozen=True)
class FakeError:
    json_path: str
    keyword: str
    message: str


class FakeSpec:
    def __init__(self, count: int) -> None:
        self.count = count
        self.calls: list[tuple[str, int, bool]] = []

    def validate_response(
        self, operation_id: str, status: int, body: Any, *, strict: bool
    ) -> list[FakeError]:
        self.calls.append((operation_id, status, strict))
        return [
            FakeError(f"$.ledgerEntries[{i}].points", "type", "1 is not a string")
            for i in range(self.count)
        ]


AREAS = {
    "getCustomerLedgerInfo": "LEDGER",
    "getCustomerLedgerInfoConnectedOrgs": "CORG",
    "getCrossMemberLedger": "CML",
    "getCustomerLedgerBalance": "BAL",
    "isTransferrable": "XFERCHK",
    "isTransferrableUserGroup": "XFERCHK",
    "transferPoints": "XFER",
    "transferPointsUserGroup": "XFER",
    "getPointsTransfers": "XFERHIST",
    "reversePoints": "REV",
}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("strict", [False, True])
def test_schema_findings_name_path_and_keyword(operation: str, strict: bool) -> None:
    spec = FakeSpec(12)
    ctx = CheckContext(strict=strict, spec_override=spec)
    ex = make_exchange(operation, {"any": "body"})
    (found,) = [f for f in run_checks(ctx, ex) if f.requirement.endswith("-SCHEMA-RESPONSE")]
    assert found.requirement == f"{AREAS[operation]}-SCHEMA-RESPONSE"
    assert spec.calls == [(operation, 200, strict)]
    assert "$.ledgerEntries[0].points [type]" in found.actual
    assert "$.ledgerEntries[9].points" in found.actual
    assert "$.ledgerEntries[10].points" not in found.actual
    assert "and 2 more" in found.actual


@pytest.mark.parametrize(
    ("status", "text", "flagged"),
    [
        (200, "{}", False),
        (200, "<html>", True),
        (200, "", True),
        (200, "null", True),
        (400, "<html>", False),
    ],
)
def test_schema_check_owns_unreadable_success_bodies(status: int, text: str, flagged: bool) -> None:
    ctx = CheckContext(spec_override=FakeSpec(0))
    ex = make_exchange("getCustomerLedgerInfo", text=text, status=status)
    assert bool(findings(ctx, ex, "LEDGER-SCHEMA-RESPONSE")) is flagged


def test_run_checks_dispatches_by_operation() -> None:
    by_name = {c.name: c for c in registered_checks()}
    assert set(by_name["cml.paging"].operations) == {"getCrossMemberLedger"}
    assert set(by_name["common.server_error"].operations) == set(OPERATIONS)
    assert run_checks(LENIENT, make_exchange("getCustomerLedgerInfo", status=500)) != []
    unknown = Exchange(
        "noSuchOperation",
        make_exchange("reversePoints").request,
        make_exchange("reversePoints", status=500).response,
    )
    assert run_checks(LENIENT, unknown) == []


def test_a_check_name_registers_once() -> None:
    def twice(ctx: CheckContext, ex: Exchange) -> list[Finding]:
        return []

    with pytest.raises(ValueError, match="registered twice"):
        check("common.server_error", requirements=("COMMON-SERVER-ERROR",))(twice)


CATALOGUE = Path(__file__).resolve().parents[2] / "specs" / "requirements.yaml"


def test_every_emitted_id_is_in_the_catalogue() -> None:
    catalogue = {item["id"] for item in yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))}
    assert requirement_ids() - catalogue == set()


# IDs the rules of the pages must be checked under; each must come from some check.
CORE_IDS = """
COMMON-SERVER-ERROR COMMON-CONTENT-TYPE COMMON-ERR-ENVELOPE COMMON-ERR-STATUS COMMON-AUTH-401
LEDGER-SCHEMA-RESPONSE CORG-SCHEMA-RESPONSE CML-SCHEMA-RESPONSE BAL-SCHEMA-RESPONSE
XFERCHK-SCHEMA-RESPONSE XFER-SCHEMA-RESPONSE XFERHIST-SCHEMA-RESPONSE REV-SCHEMA-RESPONSE
LEDGER-PAGE-COUNT LEDGER-PAGE-INDEX LEDGER-PAGE-SIZE LEDGER-PAGE-WALK LEDGER-LIMIT-MAX
LEDGER-DEFAULT-LIMIT LEDGER-DEFAULT-OFFSET LEDGER-ERR-11003 LEDGER-ARITH-NET
LEDGER-ARITH-NET-ALT LEDGER-FILTER-ENTRYTYPE LEDGER-FILTER-CATEGORY LEDGER-FILTER-PROGRAM
LEDGER-FILTER-DATE LEDGER-FILTER-DATE-ONE-SIDED LEDGER-FILTER-DATE-ONE-YEAR
LEDGER-FILTER-ALTCUR-ROW1 LEDGER-FILTER-ALTCUR-ROW2 LEDGER-FILTER-ALTCUR-ROW3
LEDGER-FILTER-ALTCUR-ROW4 LEDGER-FILTER-ALTCUR-ROW5 LEDGER-FILTER-ALTCUR-ROW6
LEDGER-FILTER-ALTCUR-NAMES CORG-FILTER-ALTCUR-ALL LEDGER-FILTER-TILL LEDGER-FILTER-TILLS
LEDGER-FILTER-STORE-ID LEDGER-FILTER-STORE-CODE LEDGER-SORT LEDGER-SORT-DEFAULT
LEDGER-FILTER-TYPE CORG-SCOPE-SELF CORG-SCOPE-OTHER CORG-SCOPE-MISSING
CML-PAGE-COUNT CML-PAGE-INDEX CML-PAGE-SIZE CML-PAGE-WALK CML-LIMIT-MAX CML-DEFAULT-PAGE
CML-DEFAULT-PAGE-SIZE CML-DEFAULT-SCOPE CML-DEFAULT-WINDOW CML-ARITH-NET CML-ARITH-SIGN
CML-ARITH-GROUP-BALANCE CML-ARITH-MEMBER-COUNT CML-REVERSED-BOUNDS CML-STATUS-ROW
CML-STATUS-AGGREGATE CML-FIELDS-CONDITIONAL CML-USERROLE-PRESENCE CML-USERROLE-VALUE
CML-SCOPE-USER CML-SCOPE-GROUP CML-FILTER-EVENTNAME CML-FILTER-TXREF CML-FILTER-DATE CML-SORT
CML-SORT-DEFAULT CML-DATES-CONSISTENT CML-EVENTLOG-SHARED
BAL-PAGE-COUNT BAL-PAGE-INDEX BAL-PAGE-WALK BAL-LIMIT-MAX BAL-DEFAULT-LIMIT BAL-FILTER-CATEGORY
BAL-ARITH-CLOSING
XFERCHK-FORMAT-TRANSFERRABLE XFERCHK-ARITH-ECHO XFERCHK-STATE-READONLY XFER-FORMAT-RESULT
XFER-ARITH-ECHO XFER-STATE-CONSERVE XFER-STATE-LEDGER XFER-STATE-HISTORY XFER-STATE-REJECTED
REV-FORMAT-ECHO REV-ARITH-BOUND REV-STATE-BALANCE REV-STATE-LEDGER REV-STATE-TWICE
""".split()


def test_every_core_id_is_emitted_by_some_check() -> None:
    assert set(CORE_IDS) - requirement_ids() == set()


def test_emitted_ids_follow_the_scheme() -> None:
    areas = {"COMMON", "LEDGER", "CORG", "CML", "BAL", "XFERCHK", "XFER", "XFERHIST", "REV", "PTS"}
    kinds = {
        "SCHEMA",
        "ERR",
        "WARN",
        "PAGE",
        "LIMIT",
        "DEFAULT",
        "ARITH",
        "FILTER",
        "SORT",
        "STATE",
        "AUTH",
        "PARAM",
        "FORMAT",
    }
    for rid in requirement_ids():
        area, kind, *_ = rid.split("-")
        assert area in areas and rid == rid.upper(), rid
        assert kind in kinds or (area, kind) in {
            ("COMMON", "SERVER"),
            ("PTS", "SUCCESS"),
            ("PTS", "WARN"),
            ("COMMON", "CONTENT"),
            ("COMMON", "ERR"),
            ("COMMON", "AUTH"),
            ("CORG", "SCOPE"),
            ("CML", "REVERSED"),
            ("CML", "STATUS"),
            ("CML", "FIELDS"),
            ("CML", "USERROLE"),
            ("CML", "SCOPE"),
            ("CML", "DATES"),
            ("CML", "EVENTLOG"),
        }, rid


def test_findings_carry_the_exchange() -> None:
    ex = make_exchange(
        "getCustomerLedgerInfo",
        text="oops",
        status=502,
        response_headers={"Content-Type": "text/plain"},
    )
    found = run_checks(LENIENT, ex)
    assert requirements(found) == {"COMMON-SERVER-ERROR"}
    assert all(f.exchange is ex for f in found)


REGISTER = Path(__file__).resolve().parents[2] / "specs" / "discrepancies.yaml"
# What each register entry the checks cite is about, as its title says it.
CITED = {
    "D_CML_PAGE_SIZE": "pageDetails.pageSize",
    "D_CML_WRAPPED": "wrapped in `entity`",
    "D_ERROR_STATUS": "HTTP statuses of errors",
    "D_GROUP_TYPE": "entityType value sets",
    "D_BALANCE_LIMIT": "limit at most 10",
    "D_ECHO_GROUP": "pointsTobeTransferred",
    "D_ECHO_TRANSFER": "15.0 transferred",
    "D_PAST_END": "11003",
    "D_SCOPE_MISSING": "DATA-SCOPE",
    "D_CML_DEFAULT_SIZE": "default pageSize",
    "D_DISPLAY_ROUNDING": "Display rounding",
    "D_SHORT_PAGES": "fewer entries than pageSize",
    "D_ALREADY_REVERSED": "Already reversed",
    "D_LEDGER_PAGE_SIZE": "Ledger pageSize",
    "D_CML_USERROLE": "userRole",
    "D_AUTH_BODY": "401",
    "D_NULL_AS_ABSENT": "only present",
    "D_LEDGER_LIMIT": "maximum limit 100",
    "D_ALTCUR_ABSENT": "includeAlternateCurrencies not sent",
    "D_NET_PARTS": "opening balances",
    "D_NET_ALT_COMPLETE": "netAlternateCurrenciesOnEvent",
    "D_CATEGORY_MAP": "PROMISED",
    "D_ROW_FILTERING": "Row filters",
    "D_PROGRAM_FIELD": "sourceProgramId",
    "D_DATE_ZONE": "zone",
    "D_TOTAL_WITH_FILTERS": "totalEntries",
    "D_EMPTY_PAGE_COUNT": "pageCount when nothing matches",
    "D_DEFAULT_LIMIT": "Default page size",
    "D_DEFAULT_ORDER_LEDGER": "Ledger order without sort",
    "D_BALANCE_PAGING": "closing balances are paged",
    "D_BALANCE_ARITHMETIC": "closingBalance against the ledger",
    "D_BALANCE_ENTRY_TYPE": "ledgerEntryType on a balance",
    "D_BALANCE_END_DATE": "endDate of a balance",
    "D_ERROR_BODY": "error body",
    "D_CML_USER_SCOPE": "scope=user",
    "D_CML_MEMBERS": "memberCount",
    "D_CML_REVERSALS": "reversedAmount",
    "D_WARNINGS": "warnings",
    "D_CONTENT_TYPE": "media type",
    "D_REVERSE_ID_TYPE": "identifier type outside the listed ones",
    "D_SUCCESS_STATUS": "no success status stated",
}


def test_cited_register_entries_are_the_ones_meant() -> None:
    titles = {e["id"]: e["title"] for e in yaml.safe_load(REGISTER.read_text(encoding="utf-8"))}
    constants = {name for name in vars(discrepancies) if name.startswith("D_")}
    assert constants == set(CITED)
    for name, words in CITED.items():
        entry = getattr(discrepancies, name)
        assert entry in titles, (name, entry)
        assert words in titles[entry], (name, entry, titles[entry])


def test_strict_401_body_findings_name_their_register_entry() -> None:
    ex = make_exchange("reversePoints", text="", status=401)
    (auth,) = expect_auth_rejected(STRICT, ex)
    (envelope,) = findings(STRICT, ex, "COMMON-ERR-ENVELOPE")
    assert auth.discrepancy == envelope.discrepancy == discrepancies.D_AUTH_BODY


# --------------------------------------------------------------------------------------------
# PTS-SUCCESS-800: no errors in a 2xx answer of the points operations


@pytest.mark.parametrize(
    ("operation", "status", "body", "flagged", "credited"),
    [
        ("transferPoints", 200, {**TRANSFERRED, "errors": []}, False, True),
        ("transferPoints", 200, {**TRANSFERRED, "errors": None}, False, True),
        ("transferPoints", 200, TRANSFERRED, False, False),
        # a 2xx whose errors carry a code is a refusal in the default run (D-016): see below
        (
            "transferPoints",
            200,
            {**TRANSFERRED, "errors": [{"code": 804, "message": "Insufficient points"}]},
            False,
            False,
        ),
        ("isTransferrable", 201, {"data": [], "errors": ["not transferrable"]}, "errors", True),
        ("getPointsTransfers", 200, {"data": [], "errors": [], "warnings": []}, False, True),
        ("transferPoints", 400, {"data": [], **ERROR_ENVELOPE}, False, False),
        # not a points operation: the rule does not apply
        (LEDGER, 200, {**ledger_example(), **ERROR_ENVELOPE}, False, False),
    ],
    ids=[
        "empty",
        "null",
        "no errors key",
        "refusal in a 2xx",
        "error text",
        "history",
        "refusal",
        "ledger",
    ],
)
def test_success_without_errors(
    operation: str, status: int, body: dict[str, Any], flagged: str | bool, credited: bool
) -> None:
    ex = make_exchange(operation, body, status=status)
    got, found = credited_by(lambda: run_checks(LENIENT, ex))
    mine = [f for f in found if f.requirement == "PTS-SUCCESS-800"]
    assert ("PTS-SUCCESS-800" in got) is credited
    if flagged:
        (item,) = mine
        assert str(flagged) in item.message
        assert str(status) in item.message
        assert item.exchange is ex
    else:
        assert mine == []


@pytest.mark.parametrize(
    ("operation", "body", "code"),
    [
        ("transferPoints", {**TRANSFERRED, "errors": [{"code": 804, "message": "no"}]}, "804"),
        ("reversePoints", {"redemptionId": "54ZNkA", "errors": [{"code": "3802"}]}, "3802"),
    ],
)
def test_a_coded_error_in_a_2xx_fails_only_the_strict_run(
    operation: str, body: dict[str, Any], code: str
) -> None:
    ex = make_exchange(operation, body, status=200)
    got, found = credited_by(lambda: run_checks(STRICT, ex))
    (item,) = [f for f in found if f.requirement == "PTS-SUCCESS-800"]
    assert code in item.message and "200" in item.message
    assert "PTS-SUCCESS-800" in got
    lenient_got, lenient_found = credited_by(lambda: run_checks(LENIENT, ex))
    assert "PTS-SUCCESS-800" not in lenient_got
    assert [f for f in lenient_found if f.requirement == "PTS-SUCCESS-800"] == []


def test_success_without_errors_is_registered_for_the_points_operations_only() -> None:
    (entry,) = [c for c in registered_checks() if c.name == "common.success_without_errors"]
    assert entry.fn is success_without_errors
    assert entry.requirements == ("PTS-SUCCESS-800",)
    assert set(entry.operations) == set(POINTS_OPERATIONS)
    assert not {LEDGER, CORG, CML, "getCustomerLedgerBalance"} & set(entry.operations)
