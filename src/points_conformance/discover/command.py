"""`points-conformance discover`: probe a server's read operations and write a target file.

Exit statuses: 0 the file was written; 1 the server knows none of the given customers and
groups (nothing written); 2 a usage problem: a bad option, identifier or CSV file, an output
file that exists without --force or cannot be written, a server that cannot be reached or
refuses the credentials.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from points_conformance.discover.inputs import (
    CustomerInput,
    GroupInput,
    InputError,
    parse_customer,
    parse_group,
    read_csv,
)
from points_conformance.discover.needs import Needs, dry_run
from points_conformance.discover.probe import CredentialsRefused, CustomerFacts, GroupFacts, Prober
from points_conformance.discover.readonly import ReadOnlyClient
from points_conformance.discover.roles import Discovery, assign
from points_conformance.pacing import TransportFailure, probe
from points_conformance.settings import OPTIONS, Settings, SettingsError, resolve_settings
from points_conformance.target import CUSTOMER_ROLES, GROUP_ROLES, write_target

PREFIX = "points-conformance discover:"
# The run options that concern reaching the server; the others have no meaning here.
SETTINGS_OPTIONS = ("base_url", "target", "auth", "bearer", "rate_limit", "timeout")
DEFAULT_PAGES = 5
MEMBERS_PER_GROUP = 10
# Candidates for the [stores] values that must name nothing on the server.
UNKNOWN_CANDIDATES: dict[str, tuple[str, list[Any]]] = {
    "unknown_store_id": ("storeId", [999999, 9999999, 99999999]),
    "unknown_store_code": ("storeCode", ["no-such-store", "no-such-store-0", "no-such-store-1"]),
    "unknown_till_id": ("tillIds", [999999, 9999999, 99999999]),
}
WRAP = 96


class UsageProblem(Exception):
    """Something the user must fix; the message is one line."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="points-conformance discover",
        description="Probe a server's read operations (GET only) from a few customer and group "
        "identifiers, and write a target file with every role the answers fill.",
    )
    for name in SETTINGS_OPTIONS:
        flag, variable = OPTIONS[name]
        p.add_argument(flag, dest=name, default=None, help=f"as for run (or ${variable})")
    p.add_argument(
        "--customer",
        action="append",
        default=[],
        metavar="[KIND:]VALUE",
        help="a customer: id:, mobile:, email:, external_id: or a bare value (repeatable)",
    )
    p.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="[KIND:]VALUE",
        help="a user group or fleet: a group id, or external_id:/primary_user_id: (repeatable)",
    )
    p.add_argument(
        "--csv",
        type=Path,
        help="a CSV file of customers and groups (header row: kind, "
        "id, mobile, email, external_id, cardnumber, primary_user_id)",
    )
    p.add_argument("--source", default="INSTORE", help="the source the customers are registered in")
    p.add_argument("--account-id", default="", help="accountId to send with the source")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("target.toml"),
        help="the target file to write (target.toml)",
    )
    p.add_argument("--force", action="store_true", help="overwrite the output file")
    p.add_argument(
        "--pages",
        type=int,
        default=DEFAULT_PAGES,
        help=f"ledger pages of 100 events to read per given customer ({DEFAULT_PAGES})",
    )
    p.add_argument(
        "--till-id",
        type=int,
        action="append",
        default=[],
        help="a till the long-history customer's events were recorded at; kept when the "
        "ledger filtered by it answers entries (repeatable)",
    )
    p.add_argument(
        "--store-id",
        type=int,
        action="append",
        default=[],
        help="a store id, kept like --till-id (repeatable)",
    )
    p.add_argument(
        "--otp-header",
        help="response header that carries a transfer OTP (written as transfer.otp_header)",
    )
    p.add_argument(
        "--no-requirements",
        action="store_true",
        help="do not dry-run the suite to list what each missing role leaves unchecked",
    )
    return p


def _inputs(args: argparse.Namespace) -> tuple[list[CustomerInput], list[GroupInput]]:
    customers = [parse_customer(v) for v in args.customer]
    groups = [parse_group(v) for v in args.group]
    if args.csv is not None:
        more_customers, more_groups = read_csv(args.csv)
        customers += more_customers
        groups += more_groups
    if not customers and not groups:
        raise InputError("give at least one --customer, --group or --csv")
    return customers, groups


def _settings(args: argparse.Namespace) -> Settings:
    settings = resolve_settings({name: getattr(args, name) for name in SETTINGS_OPTIONS})
    if not settings.base_url:
        raise SettingsError("no base URL: give --base-url, POINTS_CONFORMANCE_BASE_URL or --target")
    return settings


def main(argv: Sequence[str] | None = None, *, err: TextIO | None = None) -> int:
    stream = err or sys.stderr
    args = parser().parse_args(list(sys.argv[1:] if argv is None else argv))

    def say(line: str) -> None:
        stream.write(f"{PREFIX} {line}\n")
        stream.flush()

    try:
        if args.pages < 1:
            raise UsageProblem("--pages must be at least 1")
        if args.output.exists() and not args.force:
            raise UsageProblem(f"{args.output} exists; give --force to overwrite it")
        if not args.output.parent.is_dir():
            raise UsageProblem(f"cannot write {args.output}: no folder {args.output.parent}")
        customers, groups = _inputs(args)
        settings = _settings(args)
        probe(settings)
        client = ReadOnlyClient(settings)
        try:
            prober = Prober(
                client,
                source=args.source,
                account_id=args.account_id,
                pages=args.pages,
            )
            found_customers, found_groups = _probe_all(prober, customers, groups, say)
            if not any(c.found for c in found_customers) and not any(g.type for g in found_groups):
                say("the server knows none of the given customers and groups; nothing written")
                return 1
            target = {
                "base_url": settings.base_url,
                "source": args.source,
                "account_id": args.account_id,
            }
            discovery = assign(found_customers, found_groups, target)
            _stores(prober, discovery, args.till_id, args.store_id)
        finally:
            client.close()
    except (InputError, SettingsError, UsageProblem, CredentialsRefused) as exc:
        say(" ".join(str(exc).split()))
        return 2
    except TransportFailure as exc:
        say(f"cannot talk to the server: {exc.message}")
        return 2
    if args.otp_header:
        discovery.section("transfer")["otp_header"] = args.otp_header
    try:
        _write(args, settings, discovery, say)
    except OSError as exc:
        say(f"cannot write {args.output}: {exc.strerror or exc}")
        return 2
    return 0


def _probe_all(
    prober: Prober, customers: list[CustomerInput], groups: list[GroupInput], say: Any
) -> tuple[list[CustomerFacts], list[GroupFacts]]:
    found: list[CustomerFacts] = []
    for n, given in enumerate(customers, start=1):
        say(f"[{n}/{len(customers)}] customer {given.label} ...")
        facts = prober.customer(given, is_given=True, full=True)
        found.append(facts)
        say(f"  {_summary(facts)}")
    found_groups: list[GroupFacts] = []
    known = {c.identifiers.get("id") for c in found if c.found}
    for n, group in enumerate(groups, start=1):
        say(f"[{n}/{len(groups)}] {group.label} ...")
        gfacts = prober.group(group)
        found_groups.append(gfacts)
        if gfacts.type is None:
            say("  not found as a USERGROUP2 or FLEET group with ledger entries")
            continue
        say(f"  {gfacts.type}, {gfacts.events} events, {len(gfacts.members)} members")
        for member, identifiers in list(gfacts.members.items())[:MEMBERS_PER_GROUP]:
            if member in known:
                continue
            facts = prober.customer(
                CustomerInput(tuple(identifiers.items())), is_given=False, full=False
            )
            known.add(member)
            found.append(facts)
            say(f"  member {member}: {_summary(facts)}")
    _cross_members(prober, found, known, say)
    return found, found_groups


def _cross_members(
    prober: Prober, found: list[CustomerFacts], known: set[str | None], say: Any
) -> None:
    """The members of the cross-member groups read so far, which may fill other roles."""
    for facts in list(found):
        for member in facts.cross_member_ids[:MEMBERS_PER_GROUP]:
            if member in known:
                continue
            known.add(member)
            more = prober.customer(CustomerInput((("id", member),)), is_given=False, full=False)
            found.append(more)
            say(f"  cross-member member {member}: {_summary(more)}")


def _summary(facts: CustomerFacts) -> str:
    if not facts.found:
        return f"not found ({facts.refusal})"
    parts = [f"{facts.events} events", f"programs {sorted(facts.program_ids)}"]
    if facts.alternate_currencies:
        parts.append(f"alternate currencies {sorted(facts.alternate_currencies)}")
    if facts.balance is not None:
        parts.append(f"balance {facts.balance:g}")
    parts.append(
        {200: f"cross-member group {facts.cross_member_group}", None: "no cross-member answer"}.get(
            facts.cross_member_code, f"cross-member code {facts.cross_member_code}"
        )
    )
    return ", ".join(parts)


def _stores(prober: Prober, discovery: Discovery, tills: list[int], stores: list[int]) -> None:
    """[stores] values the rich customer's ledger refuses, so they surely name nothing; and the
    given tills and stores whose filters answer that customer's entries."""
    rich = discovery.section("customers").get("rich")
    name = "id" if rich and rich.get("id") else "mobile"
    if not rich or not rich.get(name):
        return
    who = (name, str(rich[name]))
    for key, (param, candidates) in UNKNOWN_CANDIDATES.items():
        value = next((c for c in candidates if not prober.has_entries(*who, param, c)), None)
        if value is not None:
            discovery.section("stores")[key] = value
    rich["till_ids"] = [t for t in tills if prober.has_entries(*who, "tillId", t)] or None
    rich["store_ids"] = [s for s in stores if prober.has_entries(*who, "storeId", s)] or None


def _write(args: argparse.Namespace, settings: Settings, discovery: Discovery, say: Any) -> None:
    sections = {
        k: v for k, v in discovery.sections.items() if any(x is not None for x in v.values())
    }
    needs = Needs({}, "not asked (--no-requirements)")
    if not args.no_requirements:
        draft = args.output.with_name(f".{args.output.name}.{os.getpid()}.draft")
        write_target(draft, sections)
        say("dry-running the suite to list what each missing role leaves unchecked ...")
        try:
            needs = dry_run(str(settings.base_url), draft, sections)
        finally:
            draft.unlink(missing_ok=True)
    write_target(args.output, sections, comments(sections, needs, discovery.notes))
    filled = [f"customers.{r}" for r in sections.get("customers", {})]
    filled += [f"groups.{r}" for r in sections.get("groups", {})]
    filled += [s for s in ("cross_member", "stores", "transfer") if s in sections]
    say(f"wrote {args.output}: {', '.join(filled) or 'no role'}")
    missing = [role for role, ids in needs.unchecked.items() if ids]
    if missing:
        say(f"{len(missing)} missing roles leave requirements unchecked (listed in the file)")


def _wrapped(head: str, items: list[str]) -> list[str]:
    lines = [head]
    for item in items:
        if len(lines[-1]) + len(item) + 2 > WRAP:
            lines.append("    " + item)
        else:
            lines[-1] += (" " if lines[-1].endswith(":") else ", ") + item
    return lines


def comments(sections: dict[str, Any], needs: Needs, notes: list[str]) -> list[str]:
    """The file's head: where it came from and, per missing role, what stays unchecked."""
    lines = [
        "Target file written by `points-conformance discover` from the server's read operations.",
        "Credentials are not stored: give the run --auth or --bearer (or their variables).",
        "",
    ]
    missing = dict(needs.unchecked)
    for section, roles in (("customers", CUSTOMER_ROLES), ("groups", GROUP_ROLES)):
        for role in roles:
            if role not in sections.get(section, {}):
                missing.setdefault(f"{section}.{role}", [])
    described = {f"customers.{r}": d for r, d in CUSTOMER_ROLES.items()}
    described |= {f"groups.{r}": d for r, d in GROUP_ROLES.items()}
    lines.append("Not filled, and what stays unchecked without each:")
    if needs.problem:
        lines.append(f"(requirements not listed: {needs.problem})")
    for role in sorted(missing):
        ids = missing[role]
        what = f" ({described[role]})" if role in described else ""
        if needs.problem:
            lines.append(f"  {role}{what}")
        elif ids:
            lines += _wrapped(f"  {role}{what} - {len(ids)} unchecked:", ids)
        elif role.count(".") == 1:
            lines.append(f"  {role}{what} - no requirement depends on it alone")
    lines += [f"Note: {note}" for note in notes]
    return lines
