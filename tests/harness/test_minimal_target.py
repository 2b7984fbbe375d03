"""The documented minimal target file, the known keys of the format, and the page edges the
suite makes from one ledger's size instead of asking for customers of exact sizes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from conformance._ledger import edge_page_size
from points_conformance.target import (
    CUSTOMER_ROLES,
    GROUP_ROLES,
    TargetFileError,
    parse_target,
    render,
    unknown_keys,
)
from points_conformance.variables import PASSWORD_ENV, USER_ENV

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "examples" / "minimal-target.toml"
ENVIRON = {USER_ENV: "user", PASSWORD_ENV: "secret"}


def _minimal() -> dict[str, Any]:
    return tomllib.loads(MINIMAL.read_text(encoding="utf-8"))


def test_minimal_target_parses_and_names_only_known_keys() -> None:
    document = _minimal()
    assert unknown_keys(document) == []
    data = parse_target(document, ENVIRON)
    assert set(data.customers) == {"rich", "transfer_from", "transfer_to"}
    assert set(data.groups) == {"usergroup2"}
    assert data.username == "user" and data.password == "secret"
    assert data.transfer["otp_header"]
    rich = data.customers["rich"]
    assert rich.mobile and rich.id and rich.till_ids and rich.store_codes


def test_minimal_target_names_no_ledger_shape() -> None:
    """The page edges and the empty answer come from the rich ledger, not from roles."""
    assert not {"empty", "single", "one_page", "page_plus_one"} & set(CUSTOMER_ROLES)
    assert all(role in CUSTOMER_ROLES for role in _minimal()["customers"])


def test_readme_points_at_the_minimal_target_file() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "examples/minimal-target.toml" in readme


def test_minimal_target_without_its_credentials_is_refused() -> None:
    with pytest.raises(TargetFileError, match=USER_ENV):
        parse_target(_minimal(), {})


def test_unknown_keys_names_roles_keys_and_sections_the_format_lacks() -> None:
    document = {
        "target": {"base_url": "http://127.0.0.1:9", "user": "x"},
        "customers": {"rich": {"id": "1", "nickname": "r"}, "one_page": {"id": "2"}},
        "groups": {"fleet": {"id": "3"}, "club": {"id": "4"}},
        "stores": {"unknown_till_id": 9, "unknown_shelf": 1},
        "extras": {"a": 1},
    }
    assert unknown_keys(document) == [
        "customers.one_page",
        "customers.rich.nickname",
        "extras",
        "groups.club",
        "stores.unknown_shelf",
        "target.user",
    ]
    assert set(GROUP_ROLES) == {"usergroup2", "fleet"}


def test_written_target_files_round_trip_to_known_keys() -> None:
    document = _minimal()
    assert unknown_keys(tomllib.loads(render(document))) == []


@pytest.mark.parametrize(
    ("total", "edge", "size"),
    [
        (363, "full", 3),  # the reference server's rich ledger: 121 full pages of 3
        (363, "plus_one", 2),  # 181 pages of 2 and a last page of one
        (100, "full", 10),
        (101, "plus_one", 10),
        (10, "full", 10),
        (11, "plus_one", 10),
        (1, "full", 1),
        (3, "plus_one", 2),
        (101, "full", 1),  # a prime above 100: pages of one are the only full ones
        (127, "plus_one", 9),
    ],
)
def test_edge_page_size_makes_the_edge(total: int, edge: str, size: int) -> None:
    assert edge_page_size(total, edge) == size
    last = total - size * ((total - 1) // size)
    assert last == (size if edge == "full" else 1)


@pytest.mark.parametrize(("total", "edge"), [(0, "full"), (0, "plus_one"), (1, "plus_one")])
def test_edge_page_size_without_an_edge(total: int, edge: str) -> None:
    assert edge_page_size(total, edge) is None


def test_edge_page_size_of_an_even_total_with_no_small_divisor_of_its_predecessor() -> None:
    # 122 - 1 = 121 = 11 * 11: no size up to 10 leaves one entry, 11 does.
    assert edge_page_size(122, "plus_one") == 11
