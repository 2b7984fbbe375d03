"""The target file: where a server is, how to log in, and which test data exists there.

A staging server cannot be seeded by the suite, so the team that owns it describes the data it
holds in a TOML file (`--target FILE`). The same file is written for the reference server's
own seed (`points-conformance serve --target-out FILE`, from the description the server
publishes), so it is tested exactly like any other server. `write_target` writes one. Secrets are never stored in the file: it names environment variables that hold them.

The smallest useful file is examples/minimal-target.toml (README.md, "The minimal target
file"). Format (every section but [target] is optional; a test whose data is missing is skipped
with a reason that names the missing key)::

    [target]
    base_url = "https://staging.example.com"
    username_env = "POINTS_USER"        # Basic auth user, read from this variable
    password_env = "POINTS_PASSWORD"    # Basic auth password, read from this variable
    bearer_env = ""                      # or a bearer token from this variable
    org_id = 50406
    source = "INSTORE"                   # source value the customers below are registered in
    account_id = ""                      # accountId to send with source, when it needs one
    timezone = "Asia/Kolkata"            # org timezone: createdDate is shown in it (if absent,
                                         # createdDate is not compared with createdDateISO)

    [customers.<role>]                   # roles: see CUSTOMER_ROLES
    id = "1003"
    mobile = "919000000001"
    email = "a@example.com"
    external_id = "ext-1"
    cardnumber = "CARD1"
    card_external_id = "CEXT1"
    events = 250                         # number of ledger events it has (optional)
    program_ids = [1148, 1149]           # programs its ledger touches (optional)
    till_ids = [11, 12]                  # tills its events were recorded at (optional)
    store_ids = [5]
    store_codes = ["store1"]
    alternate_currencies = ["DocCoin"]

    [groups.<role>]                      # roles: see GROUP_ROLES
    id = "381335652"
    external_id = "G-EXT"
    primary_user_id = "1001"
    type = "USERGROUP2"                  # or FLEET
    member_ids = ["1001", "1002"]
    transferred_by = "919000000002"      # mobile of a user permitted to transfer the group's
                                         # points (003 names no such user; optional)

    [connected_orgs]
    own_org_id = 50406
    connected_org_ids = [50405]
    unconnected_org_id = 99999
    connected_customer = "customers.<role>"   # a customer that lives in a connected org

    [cross_member]
    member_id = "1003"                   # any active member of a cross-member-enabled group
    not_in_group_id = "2001"             # in the org, not in any cross-member group (3301)
    other_org_id = "3001"                # exists, but not in this org (3401)

    [redemptions]                        # each reversal test consumes one reversible id
    reversible_ids = ["54ZNkA", "54ZNkB"]  # redemptions with points left to reverse
    reversed_id = "R-DONE"               # a redemption already fully reversed (3802)
    identifier_type = "mobile"           # identifier tagged to these redemptions
    identifier_value = "919740000000"

    [transfer]
    otp_header = "X-Sandbox-OTP"         # response header of isTransferrable that carries the OTP
    otp_env = ""                          # or: variable holding a fixed OTP the target accepts

    [stores]
    unknown_store_id = 999999
    unknown_store_code = "no-such-store"
    unknown_till_id = 999999
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# Customer roles the suite knows. A target describes those it has. Ledger shapes (no events,
# one, a full page, a page plus one) are not roles: the suite makes them from the rich
# customer's history by choosing dates, limit and offset.
CUSTOMER_ROLES: dict[str, str] = {
    "rich": "a customer with a ledger history: several programs, entry types and point categories",
    "alt_currency": "ledger events carrying alternate-currency rows",
    "transfer_from": "a customer with points to transfer",
    "transfer_to": "a second customer that can receive points",
    "fraud": "a customer marked as fraud",
    "not_enrolled": "a customer registered but not enrolled in the loyalty program (881)",
    "merged": "a customer merged into another (419)",
    "connected": "a customer registered in a connected org",
}

GROUP_ROLES: dict[str, str] = {
    "usergroup2": "a USERGROUP2 group with a ledger",
    "fleet": "a FLEET group with a ledger",
}


class TargetFileError(ValueError):
    """The target file is missing, not TOML, or has a wrong value. The message names the key."""


@dataclass(frozen=True)
class Customer:
    role: str
    id: str | None = None
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None
    cardnumber: str | None = None
    card_external_id: str | None = None
    events: int | None = None
    program_ids: tuple[int, ...] = ()
    till_ids: tuple[int, ...] = ()
    store_ids: tuple[int, ...] = ()
    store_codes: tuple[str, ...] = ()
    alternate_currencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    role: str
    id: str | None = None
    external_id: str | None = None
    primary_user_id: str | None = None
    type: str = "USERGROUP2"
    member_ids: tuple[str, ...] = ()
    # 003: transferredBy "should have permission to transfer points"; who has it is the
    # target's fact, not the pages'.
    transferred_by: str | None = None


@dataclass(frozen=True)
class TargetData:
    """Everything the target file says, with secrets resolved but never printed."""

    base_url: str | None = None
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    bearer: str | None = field(default=None, repr=False)
    org_id: int | None = None
    source: str = "INSTORE"
    account_id: str = ""
    # The org's zone is a fact of the target, not of the pages: empty when the file names none.
    timezone: str = ""
    customers: dict[str, Customer] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    connected_orgs: dict[str, Any] = field(default_factory=dict)
    cross_member: dict[str, Any] = field(default_factory=dict)
    redemptions: dict[str, Any] = field(default_factory=dict)
    stores: dict[str, Any] = field(default_factory=dict)
    transfer: dict[str, Any] = field(default_factory=dict)

    def customer(self, role: str) -> Customer | None:
        return self.customers.get(role)

    def group(self, role: str) -> Group | None:
        return self.groups.get(role)


# The keys of each section the format describes (the module docstring); `unknown_keys` names
# any other. The customer and group tables take the fields of Customer and Group.
TARGET_KEYS = frozenset(
    (
        "base_url",
        "username_env",
        "password_env",
        "bearer_env",
        "org_id",
        "source",
        "account_id",
        "timezone",
    )
)
SECTION_KEYS: dict[str, frozenset[str]] = {
    "connected_orgs": frozenset(
        ("own_org_id", "connected_org_ids", "unconnected_org_id", "connected_customer")
    ),
    "cross_member": frozenset(
        ("member_id", "group_id", "member_ids", "not_in_group_id", "other_org_id")
    ),
    "redemptions": frozenset(
        ("reversible_ids", "reversed_id", "identifier_type", "identifier_value")
    ),
    "transfer": frozenset(("otp_header", "otp_env", "pair_ids")),
    "stores": frozenset(("unknown_store_id", "unknown_store_code", "unknown_till_id")),
}


def unknown_keys(data: Mapping[str, Any]) -> list[str]:
    """The dotted keys of a parsed target document that the format does not know, sorted.

    Roles count as keys: a customer table must be one of CUSTOMER_ROLES, a group table one of
    GROUP_ROLES. `parse_target` reads past unknown keys; this names them for a file's author.
    """
    roles = {"customers": (CUSTOMER_ROLES, Customer), "groups": (GROUP_ROLES, Group)}
    unknown: list[str] = []
    for section, table in data.items():
        if section in roles:
            known_roles, kind = roles[section]
            keys = {f.name for f in fields(kind)} - {"role"}
            for role, entry in (table or {}).items():
                if role not in known_roles:
                    unknown.append(f"{section}.{role}")
                elif isinstance(entry, Mapping):
                    unknown += [f"{section}.{role}.{k}" for k in entry if k not in keys]
            continue
        known = TARGET_KEYS if section == "target" else SECTION_KEYS.get(section)
        if known is None:
            unknown.append(section)
        elif isinstance(table, Mapping):
            unknown += [f"{section}.{key}" for key in table if key not in known]
    return sorted(unknown)


def _tuple(value: Any, key: str, kind: type) -> tuple[Any, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
        raise TargetFileError(f"{key} must be a list of {kind.__name__}")
    return tuple(value)


def _str(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TargetFileError(f"{key} must be a string")
    return str(value)


def _env(table: dict[str, Any], key: str, environ: dict[str, str]) -> str | None:
    name = table.get(key)
    if not name:
        return None
    if not isinstance(name, str):
        raise TargetFileError(f"target.{key} must name an environment variable")
    if name not in environ:
        raise TargetFileError(f"target.{key} names environment variable {name}, which is not set")
    return environ[name]


def parse_target(data: dict[str, Any], environ: dict[str, str]) -> TargetData:
    """Build TargetData from the parsed TOML document; raises TargetFileError naming the key.

    `environ` holds the variables the file names (`settings` reads the environment).
    """
    target = data.get("target", {})
    if not isinstance(target, dict):
        raise TargetFileError("[target] must be a table")
    customers: dict[str, Customer] = {}
    for role, table in (data.get("customers") or {}).items():
        if not isinstance(table, dict):
            raise TargetFileError(f"customers.{role} must be a table")
        prefix = f"customers.{role}"
        events = table.get("events")
        if events is not None and (isinstance(events, bool) or not isinstance(events, int)):
            raise TargetFileError(f"{prefix}.events must be an integer")
        customers[role] = Customer(
            role=role,
            id=_str(table.get("id"), f"{prefix}.id"),
            mobile=_str(table.get("mobile"), f"{prefix}.mobile"),
            email=_str(table.get("email"), f"{prefix}.email"),
            external_id=_str(table.get("external_id"), f"{prefix}.external_id"),
            cardnumber=_str(table.get("cardnumber"), f"{prefix}.cardnumber"),
            card_external_id=_str(table.get("card_external_id"), f"{prefix}.card_external_id"),
            events=events,
            program_ids=_tuple(table.get("program_ids"), f"{prefix}.program_ids", int),
            till_ids=_tuple(table.get("till_ids"), f"{prefix}.till_ids", int),
            store_ids=_tuple(table.get("store_ids"), f"{prefix}.store_ids", int),
            store_codes=_tuple(table.get("store_codes"), f"{prefix}.store_codes", str),
            alternate_currencies=_tuple(
                table.get("alternate_currencies"), f"{prefix}.alternate_currencies", str
            ),
        )
    groups: dict[str, Group] = {}
    for role, table in (data.get("groups") or {}).items():
        if not isinstance(table, dict):
            raise TargetFileError(f"groups.{role} must be a table")
        prefix = f"groups.{role}"
        gtype = table.get("type", "USERGROUP2")
        if gtype not in ("USERGROUP2", "FLEET"):
            raise TargetFileError(f"{prefix}.type must be USERGROUP2 or FLEET, not {gtype!r}")
        groups[role] = Group(
            role=role,
            id=_str(table.get("id"), f"{prefix}.id"),
            external_id=_str(table.get("external_id"), f"{prefix}.external_id"),
            primary_user_id=_str(table.get("primary_user_id"), f"{prefix}.primary_user_id"),
            type=gtype,
            member_ids=tuple(
                str(m) for m in _tuple(table.get("member_ids"), f"{prefix}.member_ids", object)
            ),
            transferred_by=_str(table.get("transferred_by"), f"{prefix}.transferred_by"),
        )
    for section in ("connected_orgs", "cross_member", "redemptions", "stores", "transfer"):
        if not isinstance(data.get(section, {}), dict):
            raise TargetFileError(f"[{section}] must be a table")
    org_id = target.get("org_id")
    if org_id is not None and (isinstance(org_id, bool) or not isinstance(org_id, int)):
        raise TargetFileError("target.org_id must be an integer")
    base_url = target.get("base_url")
    if base_url is not None and not isinstance(base_url, str):
        raise TargetFileError("target.base_url must be a string")
    return TargetData(
        base_url=base_url,
        username=_env(target, "username_env", environ),
        password=_env(target, "password_env", environ),
        bearer=_env(target, "bearer_env", environ),
        org_id=org_id,
        source=str(target.get("source", "INSTORE")),
        account_id=str(target.get("account_id", "")),
        timezone=str(target.get("timezone", "")),
        customers=customers,
        groups=groups,
        connected_orgs=dict(data.get("connected_orgs", {})),
        cross_member=dict(data.get("cross_member", {})),
        redemptions=dict(data.get("redemptions", {})),
        stores=dict(data.get("stores", {})),
        transfer=dict(data.get("transfer", {})),
    )


def load_target(path: str | Path, environ: dict[str, str]) -> TargetData:
    """Read and parse a target file; every problem is a TargetFileError with a one-line message."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise TargetFileError(f"cannot read target file {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TargetFileError(f"target file {p} is not valid TOML: {exc}") from None
    return parse_target(data, environ)


# -- writing -----------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to a target file")


def _table(name: str, table: Mapping[str, Any]) -> list[str]:
    scalars = [(k, v) for k, v in table.items() if not isinstance(v, Mapping) and v is not None]
    nested = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    lines: list[str] = []
    # a table holding only tables ([customers]) gets no header of its own, as in the format above
    if scalars or not nested:
        lines = [f"[{name}]", *(f"{_key(k)} = {_value(v)}" for k, v in scalars), ""]
    for key, value in nested:
        lines += _table(f"{name}.{_key(key)}", value)
    return lines


def render(data: Mapping[str, Mapping[str, Any]], comments: Sequence[str] = ()) -> str:
    """The TOML text of a target file: `data` maps section names to tables; None is left out."""
    lines = [f"# {line}" for line in comments] + ([""] if comments else [])
    for name, table in data.items():
        lines += _table(_key(name), table)
    return "\n".join(lines)


def write_target(
    path: str | Path, data: Mapping[str, Mapping[str, Any]], comments: Sequence[str] = ()
) -> None:
    """Write a target file atomically: a reader polling for the file never sees half of it."""
    final = Path(path)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    tmp.write_text(render(data, comments), encoding="utf-8")
    os.replace(tmp, final)
