"""Proves from the pages themselves that the catalogue leaves nothing out: every documented code
and every table row is named by a requirement; and that the page parser reads the tables as
they are printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from points_conformance import docs
from points_conformance.catalogue import load_catalogue
from points_conformance.operations import OPERATIONS, TABLE
from points_conformance.settings import specs_dir
from points_conformance.variables import SPECS_DIR_ENV

CATALOGUE = load_catalogue()
COVERED = {ref for req in CATALOGUE.requirements.values() for ref in req.covers}
KIND_OF_ID = {"error": "ERR", "warning": "WARN", "success": "SUCCESS"}

P0, P1, P2, P3 = (docs.resolve_page(p) for p in ("000", "001", "002", "003"))


def row_cases(kinds: set[str]) -> list[tuple[docs.Table, int]]:
    return [
        (table, index)
        for table in docs.all_tables()
        if table.kind in kinds
        for index in range(len(table.rows))
    ]


def case_id(case: tuple[docs.Table, int]) -> str:
    table, index = case
    return f"{table.page[:3]}#{table.heading}#{table.row_keys()[index]}@{index + 1}"


CODE_ROWS = row_cases({"codes"})
PARAMETER_ROWS = row_cases({"parameters", "response", "codes", "behaviour"})


# --------------------------------------------------------------------------------------------
# coverage


@pytest.mark.parametrize("case", CODE_ROWS, ids=case_id)
def test_every_documented_code_has_its_requirement(case: tuple[docs.Table, int]) -> None:
    table, index = case
    code = table.row_keys()[index]
    kind = docs.code_kind(table, table.rows[index])
    refs = set(table.refs(index))
    matching = [
        req
        for req in CATALOGUE.requirements.values()
        if refs & set(req.covers) and req.kind == KIND_OF_ID[kind] and req.id.endswith(f"-{code}")
    ]
    assert matching, f"no {KIND_OF_ID[kind]} requirement for {kind} {code} of {table.heading}"
    for req in matching:
        assert req.source.page == table.page
        assert req.check == "error-code"
        assert set(req.operations) <= set(table.operations), (
            f"{req.id} names {sorted(set(req.operations) - set(table.operations))}, "
            f"which {table.page[:3]} § {table.heading} does not document"
        )


@pytest.mark.parametrize("case", PARAMETER_ROWS, ids=case_id)
def test_every_table_row_is_covered(case: tuple[docs.Table, int]) -> None:
    table, index = case
    assert set(table.refs(index)) & COVERED, f"no requirement covers {table.refs(index)[0]}"


@pytest.mark.parametrize("page", sorted(docs.load_pages()))
def test_error_codes_of_every_page_are_in_the_catalogue(page: str) -> None:
    codes = docs.error_codes(page)
    assert codes
    prefix = {"000": "CORG", "001": "LEDGER", "002": "CML", "003": "PTS"}[page[:3]]
    missing = [
        f"{prefix}-{KIND_OF_ID[kind]}-{code}"
        for code, kinds in codes.items()
        for kind in kinds
        if f"{prefix}-{KIND_OF_ID[kind]}-{code}" not in CATALOGUE.requirements
    ]
    assert missing == []


def test_only_info_tables_are_exempt_from_coverage() -> None:
    info = [t for t in docs.all_tables() if t.kind == "info"]
    assert {t.heading.rsplit(" > ", 1)[-1] for t in info} == {
        "API Specification",
        "Resource Information",
    }
    assert all(
        set(t.row_keys())
        <= {
            "HTTP Method",
            "Pagination",
            "Batch support",
            "Rate limit information",
            "URI",
            "Rate Limited?",
            "Authentication",
            "HTTP Methods",
            "Batch Support",
        }
        for t in info
    )


# --------------------------------------------------------------------------------------------
# the parser finds the tables as printed


def headings(page: str) -> list[str]:
    return [t.heading for t in docs.tables(page)]


def table(page: str, heading: str) -> docs.Table:
    (found,) = [t for t in docs.tables(page) if t.heading == heading]
    return found


def test_every_page_has_its_tables() -> None:
    assert headings(P0) == [
        "API Specification",
        "Headers",
        "Query parameter (Customer)",
        "Query parameter (User group)",
        "Response parameter (Customer)",
        "Response parameter (User group)",
        "API specific error codes",
    ]
    assert headings(P1) == [
        "API Specification",
        "Query parameters (Customer)",
        "Query parameters (User Group)",
        "Behaviour of alternate currency and point category parameters",
        "Response parameter (Customer and User Group)",
        "API error codes",
    ]
    assert headings(P2) == [
        "Path parameters",
        "Query parameters",
        "Response parameters",
        "Error and warning codes",
    ]
    sections = [h for h in headings(P3) if h.endswith("Parameters")]
    assert sections == [
        "Check if Points Transferrable (Customer) > Request Body Parameters",
        "Check if Points Transferrable (Group) > Request Body Parameters",
        "Reverse Redeemed Points > Request Body Parameters",
        "Transfer Points (Customer to Customer) > Request Body Parameters",
        "Transfer Points (Group) > Request Body Parameters",
        "Get Points Transfer Details > Request Query Parameters",
        "Get Customer Ledger Balance > Request Query Parameters",
        "Get Customer Ledger Information > Request Query Parameters",
        "Response Parameters",
    ]
    assert {"Success Codes", "Error Codes", "Warning Codes"} <= set(headings(P3))


def test_001_error_table_lists_11026_twice() -> None:
    errors = table(P1, "API error codes")
    keys = errors.row_keys()
    assert len(keys) == 12 and len(set(keys)) == 11
    assert keys.count("11026") == 2
    assert set(keys) == {
        "11012",
        "8013",
        "11029",
        "11003",
        "11007",
        "11008",
        "9003",
        "11028",
        "11027",
        "11025",
        "11026",
    }
    assert errors.columns == ["Error Code", "Description", "Reason"]
    assert errors.rows[-1]["Description"] == "No tills found for store with store code: abc"


def test_000_and_002_codes() -> None:
    assert docs.error_codes(P0) == {
        8013: ["error"],
        8015: ["error"],
        8003: ["error"],
        310144: ["error"],
    }
    assert docs.error_codes("002") == {
        code: ["error"] for code in (1001, 1002, 1003, 1004, 3301, 3401, 500)
    }


def test_003_codes_and_their_kinds() -> None:
    codes = docs.error_codes(P3)
    assert codes[800] == ["success"]
    assert {c for c, k in codes.items() if k == ["warning"]} == {872, 873, 876, 877, 900, 905}
    assert all(codes[c] == ["error", "warning"] for c in (901, 902, 903, 904))
    errors = {c for c, k in codes.items() if "error" in k}
    assert {412, 419, 686, 801, 827, 859, 860, 881, 886, 899, 3045, 3802} <= errors
    assert len(errors) == 54
    # "902\t| Redemption ID does not exist." has a tab before its pipe.
    errors_table = table(P3, "Error Codes")
    row = errors_table.rows[errors_table.row_keys().index("902")]
    assert row["Description"] == "Redemption ID does not exist."


def test_pipe_tables_strip_markers() -> None:
    customer = table(P0, "Query parameter (Customer)")
    assert customer.columns == ["Parameter", "Description"]
    assert customer.row_keys()[:4] == ["identifierName", "identifierValue", "source", "accountId"]
    assert customer.markers[:5] == ["*", "*", "*", "*", ""]
    current = table(P1, "Query parameters (Customer)")
    assert current.row_keys()[0] == "identifierName" and current.markers[0] == "*"
    assert current.rows[0]["Data Type"] == "Enum"
    body = table(P3, "Transfer Points (Group) > Request Body Parameters")
    assert body.row_keys()[6:] == [
        "type",
        "identifierType",
        "identifierValue",
        "accountId",
        "source",
    ]
    assert body.depths[5:] == [0, 1, 1, 1, 1, 1]
    assert body.markers[0] == "" and body.markers[2] == "**" and body.markers[-1] == "**"
    balance = table(P3, "Get Customer Ledger Balance > Request Query Parameters")
    assert "acountId" in balance.row_keys()
    escaped = table(P0, "Query parameter (Customer)").rows[14]["Description"]
    assert "TRIGGER_BASED" in escaped


def test_behaviour_table_rows_are_named_by_position() -> None:
    behaviour = table(P1, "Behaviour of alternate currency and point category parameters")
    assert behaviour.kind == "behaviour"
    assert behaviour.columns == [
        "includeAlternateCurrencies",
        "pointCategoryType",
        "excludePointCategories",
        "Behaviour",
    ]
    assert behaviour.row_keys() == ["true", "true", "true", "true", "false", "false"]
    assert behaviour.refs(3)[1].endswith("#@4")
    assert behaviour.rows[3]["excludePointCategories"] == "`true`"


def test_html_table_nesting() -> None:
    response = table(P1, "Response parameter (Customer and User Group)")
    assert response.style == "html" and len(response.rows) == 53
    keyed = list(zip(response.row_keys(), response.depths, strict=True))
    assert keyed[0] == ("customerDetails", 0)
    assert ("firstName", 1) in keyed and ("firstName", 2) in keyed
    assert ("type", 3) in keyed and ("netAlternateCurrenciesOnEvent", 1) in keyed
    assert ("name of alternate currency", 2) in keyed
    assert response.rows[keyed.index(("points", 2))]["Data Type"] == "Float"


def test_glued_tables_are_split() -> None:
    query = table(P2, "Query parameters")
    assert query.columns == ["Field", "Type", "Required", "Description"]
    assert [(r["Field"], r["Type"], r["Required"]) for r in query.rows[:2]] == [
        ("scope", "Enum", "Optional"),
        ("eventName", "String (CSV)", "Optional"),
    ]
    assert query.rows[0]["Description"].startswith("Scope of the results.")
    response = table(P2, "Response parameters")
    split = {r["Field"]: r["Type"] for r in response.rows}
    assert split[".groupId"] == "Long" and split[".pageNumber"] == "Integer"
    assert split[".pageSize"] == "Integer" and split[".createdDateISO"] == "String"
    assert response.rows[9]["Description"] == "Number of entries on this page."
    assert response.depths[:6] == [0, 1, 1, 1, 1, 2]
    codes = table(P2, "Error and warning codes")
    assert codes.rows[0] == {
        "Code": "1001",
        "Type": "Error",
        "Description": "Invalid date format. Use ISO 8601 (e.g. 2026-03-25T11:00:00+05:30).",
    }
    path = table(P2, "Path parameters")
    assert path.rows[0]["Required"] == "Yes" and path.markers == ["*"]
    assert query.markers == [""] * len(query.rows)


def test_tables_carry_their_operations() -> None:
    assert table(P2, "Query parameters").operations == ("getCrossMemberLedger",)
    assert table(P3, "Reverse Redeemed Points > Request Body Parameters").operations == (
        "reversePoints",
    )
    assert "getCustomerLedgerBalance" in table(P3, "Response Parameters").operations
    assert "getCustomerLedgerBalance" not in table(P3, "Error Codes").operations


# --------------------------------------------------------------------------------------------
# the parser on text it has not seen


def test_pipe_table_without_outer_pipes_and_short_separator() -> None:
    parser = docs._PageParser(
        "999_x.txt", "## Things\n\nName | Kind\n- | -\n**a*** | `x`\nb\\* | y\n\nafter"
    )
    (found,) = parser.parse()
    assert found.heading == "Things" and found.columns == ["Name", "Kind"]
    assert found.row_keys() == ["a", "b"] and found.markers == ["*", "*"]
    assert found.rows[1] == {"Name": "b*", "Kind": "y"}


def test_fenced_code_is_not_a_table() -> None:
    parser = docs._PageParser("999_x.txt", "# T\n```\na | b\n--|--\n1 | 2\n```\n")
    assert parser.parse() == []


@pytest.mark.parametrize(
    ("line", "required", "cells"),
    [
        ("scopeEnumOptionalScope of it.", True, ["", "scope", "Enum", "Optional", "Scope of it."]),
        (".groupIdLongUnique identifier.", False, [".", "groupId", "Long", "Unique identifier."]),
        (
            ".pageSizeIntegerNumber of entries.",
            False,
            [".", "pageSize", "Integer", "Number of entries."],
        ),
        (
            "..createdDateISOStringSame time.",
            False,
            ["..", "createdDateISO", "String", "Same time."],
        ),
        (
            "pageNumberIntegerOptionalPage one.",
            True,
            ["", "pageNumber", "Integer", "Optional", "Page one."],
        ),
    ],
)
def test_glued_rows(line: str, required: bool, cells: list[str]) -> None:
    lead, name, *rest = cells
    assert docs._glued_field(line, required) == [lead + name, *rest]


def test_glued_codes_and_non_rows() -> None:
    assert docs._glued_code("1001ErrorInvalid date format.") == [
        "1001",
        "Error",
        "Invalid date format.",
    ]
    assert docs._glued_code("Path Params") is None
    assert docs._glued_field("Path Params", True) is None
    assert docs._glued_header("FieldTypeRequiredDescription") == [
        "Field",
        "Type",
        "Required",
        "Description",
    ]
    assert docs._glued_header("CodeTypeDescription") == ["Code", "Type", "Description"]
    assert docs._glued_header("LoadingLoading") is None


def test_keys_are_normalised() -> None:
    assert docs.normalise_key("**identifierName***") == "identifierName"
    assert docs.normalise_key("&nbsp;&nbsp;source**") == "source"
    assert docs.normalise_key("`includeAlternateCurrencies`") == "includeAlternateCurrencies"
    assert docs.normalise_key('--"name of alternate currency"') == "name of alternate currency"
    assert docs.normalise_key("..reversedAmount") == "reversedAmount"
    assert docs.normalise_key("TRIGGER\\_BASED") == "TRIGGER_BASED"


def test_pages_resolve_by_prefix() -> None:
    assert docs.resolve_page("001") == P1 and docs.resolve_page(P1) == P1
    with pytest.raises(docs.DocsError):
        docs.resolve_page("999")
    assert set(docs.load_pages()) == {P0, P1, P2, P3}


def test_pages_are_read_from_the_specs_directory_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "007_abc.txt").write_text(
        "# Codes\n\n| Code | Description |\n|---|---|\n| 42 | Nope. |\n", encoding="utf-8"
    )
    monkeypatch.setenv(SPECS_DIR_ENV, str(tmp_path))
    assert specs_dir() == tmp_path
    assert list(docs.load_pages()) == ["007_abc.txt"]
    assert docs.error_codes("007") == {42: ["error"]}
    monkeypatch.delenv(SPECS_DIR_ENV)
    assert docs.resolve_page("001") == P1


def test_the_sections_of_003_name_documented_operations_and_cover_the_page() -> None:
    named = {op for ops in docs.SECTION_OPERATIONS_003.values() for op in ops}
    assert named <= set(OPERATIONS)
    assert {op.id for op in TABLE if op.page == "003"} <= named
