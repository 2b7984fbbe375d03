"""The requirement catalogue and the discrepancy register: well-formed, consistent with each other,
with the OpenAPI description and with the pages they cite."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from points_conformance import docs, operations
from points_conformance.catalogue import (
    CHECKS,
    DISCREPANCY_ID,
    REQUIREMENT_ID,
    Catalogue,
    CatalogueError,
    load_catalogue,
)
from points_conformance.settings import specs_dir

SPECS = specs_dir()
REQUIREMENTS_PATH = SPECS / "requirements.yaml"
DISCREPANCIES_PATH = SPECS / "discrepancies.yaml"
OPENAPI_PATH = SPECS / "points-api.openapi.yaml"

CATALOGUE = load_catalogue()
REQUIREMENTS = list(CATALOGUE.requirements.values())
DISCREPANCIES = list(CATALOGUE.discrepancies.values())
ROW_REFS = docs.row_refs()

# The documented operations; the OpenAPI test below proves the spec defines exactly these.
OPERATIONS = set(operations.OPERATIONS)

# IDs the checks and the suite are written against; renaming one breaks them.
CONTRACT_IDS = """
COMMON-AUTH-401 COMMON-ERR-ENVELOPE COMMON-SERVER-ERROR COMMON-CONTENT-TYPE LEDGER-SCHEMA-RESPONSE
CORG-SCHEMA-RESPONSE CML-SCHEMA-RESPONSE BAL-SCHEMA-RESPONSE XFERCHK-SCHEMA-RESPONSE
XFER-SCHEMA-RESPONSE XFERHIST-SCHEMA-RESPONSE REV-SCHEMA-RESPONSE LEDGER-PAGE-COUNT
LEDGER-PAGE-INDEX LEDGER-PAGE-SIZE LEDGER-PAGE-WALK LEDGER-LIMIT-MAX LEDGER-DEFAULT-LIMIT
LEDGER-ARITH-NET LEDGER-ARITH-NET-ALT LEDGER-FILTER-ENTRYTYPE LEDGER-FILTER-CATEGORY
LEDGER-FILTER-PROGRAM LEDGER-FILTER-DATE LEDGER-FILTER-DATE-WINDOW LEDGER-FILTER-TILL
LEDGER-FILTER-TILLS LEDGER-FILTER-STORE-ID LEDGER-FILTER-STORE-CODE LEDGER-FILTER-TILLCONCEPT
LEDGER-FILTER-ALTCUR-ROW1 LEDGER-FILTER-ALTCUR-ROW2 LEDGER-FILTER-ALTCUR-ROW3
LEDGER-FILTER-ALTCUR-ROW4 LEDGER-FILTER-ALTCUR-ROW5 LEDGER-FILTER-ALTCUR-ROW6
LEDGER-FILTER-ALTCUR-NAMES LEDGER-FILTER-TYPE LEDGER-SORT LEDGER-SORT-DEFAULT CORG-SCOPE-SELF
CORG-SCOPE-OTHER CML-PAGE-COUNT CML-PAGE-INDEX CML-PAGE-SIZE CML-PAGE-WALK CML-ARITH-NET
CML-ARITH-GROUP-BALANCE CML-ARITH-MEMBER-COUNT CML-REVERSED-BOUNDS CML-STATUS-ROW
CML-STATUS-AGGREGATE CML-FIELDS-CONDITIONAL CML-USERROLE-PRESENCE CML-USERROLE-VALUE
CML-SCOPE-USER CML-SCOPE-GROUP CML-FILTER-EVENTNAME CML-FILTER-TXREF CML-FILTER-DATE
CML-DEFAULT-WINDOW CML-SORT CML-EVENTLOG-SHARED CML-DATES-CONSISTENT BAL-PAGE-COUNT
BAL-LIMIT-MAX BAL-DEFAULT-LIMIT XFER-STATE-CONSERVE XFER-STATE-LEDGER XFER-STATE-HISTORY
XFER-OTP-REQUIRED XFERCHK-OTP-ISSUE REV-STATE-LEDGER REV-STATE-TWICE
""".split()

# The register's entries whose numbers other files already cite, with a word of their meaning
# that must stay in the title.
PINNED_DISCREPANCIES = {
    "D-001": "100",
    "D-002": "90 days",
    "D-004": "offset",
    "D-005": "sortOrder",
    "D-007": "orgID",
    "D-009": "accountId",
    "D-011": "netPointsOnEvent",
    "D-012": "pageSize",
    "D-013": "entity",
    "D-016": "HTTP status",
    "D-029": "eventName",
    "D-030": "11003",
    "D-031": "8015",
    "D-032": "DATA-SCOPE",
    "D-038": "pageSize",
    "D-040": "userId",
    "D-041": "orgId",
    "D-042": "date-time",
    "D-043": "accountId",
    "D-044": "tillIds",
    "D-045": "decimals",
    "D-046": "pageSize",
    "D-047": "limit",
    "D-048": "insufficient",
    "D-049": "fraud",
    "D-050": "already reversed",
    "D-051": "not enrolled",
    "D-052": "endDate",
    "D-053": "does not exist",
    "D-054": "no code",
    "D-055": "**",
    "D-056": "816",
    "D-057": "pageSize",
    "D-058": "userRole",
    "D-059": "Object",
    "D-060": "401",
    "D-061": "only present",
}


def raw_entries(path: Path) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    assert isinstance(data, list)
    return data


# --------------------------------------------------------------------------------------------
# identity


def test_requirement_ids_are_unique_in_the_file() -> None:
    ids = [entry["id"] for entry in raw_entries(REQUIREMENTS_PATH)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == []
    assert len(ids) == len(CATALOGUE.requirements)


def test_discrepancy_ids_are_unique_and_numbered_without_gaps() -> None:
    ids = [entry["id"] for entry in raw_entries(DISCREPANCIES_PATH)]
    assert len(ids) == len(set(ids))
    assert all(DISCREPANCY_ID.match(i) for i in ids)
    numbers = sorted(int(i[2:]) for i in ids)
    assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.parametrize("rid", sorted(CATALOGUE.requirements))
def test_requirement_id_follows_the_scheme(rid: str) -> None:
    match = REQUIREMENT_ID.match(rid)
    assert match is not None, f"{rid} is not <AREA>-<KIND>-<SLUG>"
    if match["kind"] in ("ERR", "WARN", "SUCCESS") and match["area"] != "COMMON":
        assert (match["slug"] or "").isdigit(), f"{rid}: the slug of a code requirement is the code"


def test_the_contract_ids_exist() -> None:
    assert CATALOGUE.validate_ids(CONTRACT_IDS) == []


@pytest.mark.parametrize("did", sorted(PINNED_DISCREPANCIES))
def test_cited_discrepancy_numbers_keep_their_meaning(did: str) -> None:
    title = CATALOGUE.discrepancies[did].title
    assert PINNED_DISCREPANCIES[did].lower() in title.lower(), title


# --------------------------------------------------------------------------------------------
# fields


@pytest.mark.parametrize("rid", sorted(CATALOGUE.requirements))
def test_requirement_fields_are_valid(rid: str) -> None:
    req = CATALOGUE.requirements[rid]
    assert req.operations and set(req.operations) <= OPERATIONS, req.operations
    assert len(set(req.operations)) == len(req.operations)
    assert req.check in CHECKS
    assert req.source.page in docs.load_pages()
    assert req.source.heading in docs.headings(req.source.page), req.source.heading
    assert len(req.statement) > 20
    assert req.testable or req.reason
    assert not (req.strict_only and req.discrepancy is None), "strict-only needs its register entry"
    if req.discrepancy is not None:
        disc = CATALOGUE.discrepancies[req.discrepancy]
        assert not req.strict_only or disc.enforced_by_strict


def test_area_names_the_operations() -> None:
    area_ops = {
        "LEDGER": {"getCustomerLedgerInfo", "getCustomerLedgerInfoConnectedOrgs"},
        "CORG": {"getCustomerLedgerInfoConnectedOrgs"},
        "CML": {"getCrossMemberLedger"},
        "BAL": {"getCustomerLedgerBalance", "getCustomerLedgerInfo"},
        "XFERCHK": {"isTransferrable", "isTransferrableUserGroup"},
        "XFER": {
            "transferPoints",
            "transferPointsUserGroup",
            "getPointsTransfers",
            "getCustomerLedgerInfo",
        },
        "XFERHIST": {"getPointsTransfers"},
        "REV": {"reversePoints", "getCustomerLedgerInfo"},
        "PTS": set(operations.POINTS_OPERATIONS),
        "COMMON": OPERATIONS,
    }
    wrong = [
        f"{r.id}: {sorted(set(r.operations) - area_ops[r.area])}"
        for r in REQUIREMENTS
        if not set(r.operations) <= area_ops[r.area]
    ]
    assert wrong == []


@pytest.mark.parametrize("did", sorted(CATALOGUE.discrepancies))
def test_discrepancy_fields_are_valid(did: str) -> None:
    disc = CATALOGUE.discrepancies[did]
    assert disc.title and disc.stance
    assert len(disc.readings) >= 1
    assert disc.enforced_by_strict == (disc.strict is not None)
    for reading in disc.readings:
        assert reading.source.page in docs.load_pages()
        assert reading.source.heading in docs.headings(reading.source.page), reading.source.heading
        assert docs.quote_in_page(reading.source.page, reading.quote), reading.quote


# --------------------------------------------------------------------------------------------
# cross references


def test_no_dangling_references() -> None:
    assert CATALOGUE.cross_reference_problems() == []


@pytest.mark.parametrize("rid", [r.id for r in REQUIREMENTS if r.discrepancy])
def test_referenced_discrepancy_exists(rid: str) -> None:
    assert CATALOGUE.requirements[rid].discrepancy in CATALOGUE.discrepancies


@pytest.mark.parametrize("did", sorted(CATALOGUE.discrepancies))
def test_affected_requirements_exist(did: str) -> None:
    disc = CATALOGUE.discrepancies[did]
    assert disc.affects
    assert CATALOGUE.validate_ids(disc.affects) == []


def test_every_requirement_naming_a_discrepancy_is_in_its_affects_or_close() -> None:
    # The register lists what a stance decides; a requirement pointing at an entry must be among
    # the entry's `affects`, so a reader of the register sees every rule it bends.
    missing = [
        f"{r.id} -> {r.discrepancy}"
        for r in REQUIREMENTS
        if r.discrepancy and r.id not in CATALOGUE.discrepancies[r.discrepancy].affects
    ]
    assert missing == []


def test_strict_only_requirements_have_a_strict_reading() -> None:
    for req in REQUIREMENTS:
        if req.strict_only:
            assert req.discrepancy is not None
            assert CATALOGUE.discrepancies[req.discrepancy].strict is not None


@pytest.mark.parametrize("rid", [r.id for r in REQUIREMENTS if r.covers])
def test_covers_name_real_table_rows(rid: str) -> None:
    req = CATALOGUE.requirements[rid]
    unknown = [c for c in req.covers if c not in ROW_REFS]
    assert unknown == []
    assert len(set(req.covers)) == len(req.covers)


@pytest.mark.parametrize("rid", [r.id for r in REQUIREMENTS if r.covers])
def test_covered_rows_document_the_requirement_operations(rid: str) -> None:
    req = CATALOGUE.requirements[rid]
    documented: set[str] = set()
    for ref in req.covers:
        table, _ = ROW_REFS[ref]
        documented.update(table.operations)
    assert set(req.operations) & documented, f"{rid} covers rows of {sorted(documented)}"


# --------------------------------------------------------------------------------------------
# the OpenAPI description


def openapi_operation_ids() -> set[str]:
    spec = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    ids: set[str] = set()
    for item in (spec.get("paths") or {}).values():
        for op in item.values():
            if isinstance(op, dict) and "operationId" in op:
                ids.add(op["operationId"])
    return ids


def test_every_operation_named_exists_in_the_openapi_spec() -> None:
    defined = openapi_operation_ids()
    named = {op for r in REQUIREMENTS for op in r.operations}
    assert named - defined == set()
    assert OPERATIONS == defined


def test_every_discrepancy_the_openapi_spec_cites_is_registered() -> None:
    cited = set(re.findall(r"\bD-\d{3}\b", OPENAPI_PATH.read_text(encoding="utf-8")))
    assert sorted(cited - set(CATALOGUE.discrepancies)) == []


# --------------------------------------------------------------------------------------------
# the loader's API


def test_by_operation_selects_requirements() -> None:
    cml = CATALOGUE.by_operation("getCrossMemberLedger")
    ids = {r.id for r in cml}
    assert {"CML-ARITH-NET", "CML-ERR-1003", "COMMON-AUTH-401"} <= ids
    assert not any(r.id.startswith("LEDGER-") for r in cml)
    assert CATALOGUE.by_operation("noSuchOperation") == []


def test_validate_ids_returns_the_unknown_ones_in_order() -> None:
    assert CATALOGUE.validate_ids(["LEDGER-PAGE-COUNT", "NOPE-1", "D-001", "D-999"]) == [
        "NOPE-1",
        "D-999",
    ]


def test_source_text_names_page_and_heading() -> None:
    req = CATALOGUE.requirements["LEDGER-ERR-11029"]
    assert req.source_text() == "001_b96dfa32a18b4525.txt § API error codes"


def test_untestable_requirements_say_why() -> None:
    req = CATALOGUE.requirements["PTS-ERR-412"]
    assert req.testable is False and req.reason and "configuration" in req.reason
    assert CATALOGUE.requirements["PTS-ERR-418"].testable is True


def test_load_is_cached_and_accepts_a_file_or_a_directory() -> None:
    assert load_catalogue() is load_catalogue()
    assert load_catalogue(SPECS) is CATALOGUE
    by_file = load_catalogue(REQUIREMENTS_PATH)
    assert isinstance(by_file, Catalogue)
    assert set(by_file.requirements) == set(CATALOGUE.requirements)


def write_catalogue(tmp_path: Path, requirements: str, discrepancies: str | None = None) -> Path:
    (tmp_path / "requirements.yaml").write_text(requirements, encoding="utf-8")
    (tmp_path / "discrepancies.yaml").write_text(
        discrepancies if discrepancies is not None else DISCREPANCIES_PATH.read_text("utf-8"),
        encoding="utf-8",
    )
    return tmp_path


GOOD_ENTRY = {
    "id": "LEDGER-PAGE-COUNT",
    "operations": ["getCustomerLedgerInfo"],
    "source": {"page": "001_b96dfa32a18b4525.txt", "heading": "API error codes"},
    "statement": "pageCount is the number of pages.",
    "check": "pagination",
}


def one_line_error(tmp_path: Path, entry: dict[str, Any]) -> str:
    path = write_catalogue(tmp_path, yaml.safe_dump([entry]))
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_good_minimal_file_loads(tmp_path: Path) -> None:
    cat = load_catalogue(write_catalogue(tmp_path, yaml.safe_dump([GOOD_ENTRY])))
    req = cat.requirements["LEDGER-PAGE-COUNT"]
    assert req.covers == () and req.discrepancy is None
    assert req.strict_only is False and req.testable is True


def test_a_file_that_does_not_parse_is_one_line(tmp_path: Path) -> None:
    path = write_catalogue(tmp_path, "- id: [unclosed\n  check: x\n")
    with pytest.raises(CatalogueError, match=r"requirements\.yaml: does not parse at line \d+"):
        load_catalogue(path)


@pytest.mark.parametrize(
    ("change", "entry_name", "field"),
    [
        ({"check": "paging"}, "LEDGER-PAGE-COUNT", "check"),
        ({"operations": []}, "LEDGER-PAGE-COUNT", "operations"),
        ({"id": "LEDGER-PAGECOUNT-x"}, "LEDGER-PAGECOUNT-x", "id"),
        ({"id": "PTS-ERR-ABC"}, "PTS-ERR-ABC", "id"),
        ({"statement": ""}, "LEDGER-PAGE-COUNT", "statement"),
        ({"source": {"page": "001_b96dfa32a18b4525.txt"}}, "LEDGER-PAGE-COUNT", "source.heading"),
        ({"discrepancy": "X-1"}, "LEDGER-PAGE-COUNT", "discrepancy"),
        ({"strict_only": "yes"}, "LEDGER-PAGE-COUNT", "strict_only"),
        ({"testable": False}, "LEDGER-PAGE-COUNT", "reason"),
        ({"covers": "001#x#y"}, "LEDGER-PAGE-COUNT", "covers"),
        ({"stance": "misplaced"}, "LEDGER-PAGE-COUNT", "stance"),
    ],
)
def test_a_malformed_entry_names_entry_and_field(
    tmp_path: Path, change: dict[str, Any], entry_name: str, field: str
) -> None:
    message = one_line_error(tmp_path, {**GOOD_ENTRY, **change})
    assert f"entry {entry_name}" in message
    assert f"field '{field}'" in message


def test_a_nested_testable_mapping_is_accepted(tmp_path: Path) -> None:
    entry = {**GOOD_ENTRY, "testable": {"testable": False, "reason": "needs a config fault"}}
    cat = load_catalogue(write_catalogue(tmp_path, yaml.safe_dump([entry])))
    req = cat.requirements["LEDGER-PAGE-COUNT"]
    assert req.testable is False and req.reason == "needs a config fault"


def test_a_duplicate_id_is_refused(tmp_path: Path) -> None:
    path = write_catalogue(tmp_path, yaml.safe_dump([GOOD_ENTRY, GOOD_ENTRY]))
    with pytest.raises(CatalogueError, match="entry LEDGER-PAGE-COUNT: field 'id' is used twice"):
        load_catalogue(path)


def test_a_malformed_discrepancy_names_entry_and_field(tmp_path: Path) -> None:
    bad = [
        {
            "id": "D-001",
            "title": "t",
            "readings": [{"reading": "r", "source": {"page": "p", "heading": "h"}, "quote": "q"}],
            "stance": "s",
            "strict": None,
            "enforced_by_strict": True,
            "affects": ["LEDGER-PAGE-COUNT"],
        }
    ]
    path = write_catalogue(tmp_path, yaml.safe_dump([GOOD_ENTRY]), yaml.safe_dump(bad))
    with pytest.raises(CatalogueError, match=r"entry D-001: field 'strict'"):
        load_catalogue(path)


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.yaml").write_text(yaml.safe_dump([GOOD_ENTRY]), encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"discrepancies\.yaml: cannot be read"):
        load_catalogue(tmp_path)
