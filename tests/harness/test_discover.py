"""`points-conformance discover` against the reference server on loopback, and its error paths.

A few identifiers taken from the reference server's own target file, as a person would pick
them, give a file `target.parse_target` reads, with the roles the reads can tell filled as the
server's own file fills them; nothing but GET ever leaves the process, each read waiting for its
slot under the rate limit; the client refuses every other method before sending; and each usage
problem ends with one line and its exit status.
"""

from __future__ import annotations

import io
import socket
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from points_conformance import cli
from points_conformance.discover import command
from points_conformance.discover.inputs import InputError, parse_customer, parse_group, read_csv
from points_conformance.discover.needs import from_report, role_of
from points_conformance.discover.probe import CustomerFacts
from points_conformance.discover.readonly import ReadOnlyClient, WriteRefused
from points_conformance.discover.roles import assign
from points_conformance.discover.zone import org_zone
from points_conformance.embedded import EmbeddedServer, start_embedded
from points_conformance.pacing import RateLimiter
from points_conformance.settings import resolve_settings
from points_conformance.target import parse_target, unknown_keys


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    with start_embedded(in_process=True) as running:
        yield running


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The method of every request that reaches the wire, recorded below the client."""
    methods: list[str] = []
    real = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        methods.append(request.method)
        return real(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    return methods


def discover(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    code = command.main(list(args), err=err)
    return code, err.getvalue()


def credentials(server: EmbeddedServer) -> list[str]:
    return ["--base-url", server.url, "--auth", f"{server.username}:{server.password}"]


def test_a_few_identifiers_give_a_target_file_with_the_roles_the_reads_tell(
    server: EmbeddedServer, sent: list[str], tmp_path: Path
) -> None:
    ref = server.target_data
    rich, group = ref.customers["rich"], ref.groups["usergroup2"]
    out = tmp_path / "found.toml"
    code, err = discover(
        *credentials(server),
        "--customer", f"{rich.mobile}",
        "--customer", f"id:{ref.cross_member['member_id']}",
        "--customer", f"id:{ref.customers['merged'].id}",
        "--customer", f"email:{ref.customers['alt_currency'].email}",
        "--group", f"{group.id}",
        "--till-id", str(rich.till_ids[0]), "--till-id", "424242",
        "--otp-header", "X-Sandbox-OTP",
        "-o", str(out), "--no-requirements",
    )  # fmt: skip
    assert code == 0, err
    assert "customer mobile" in err and f"wrote {out}" in err
    assert sent and set(sent) == {"GET"}

    document = tomllib.loads(out.read_text(encoding="utf-8"))
    assert unknown_keys(document) == []
    found = parse_target(document, {})
    assert found.base_url == server.url and found.org_id == ref.org_id
    got_rich = found.customers["rich"]
    assert (got_rich.id, got_rich.mobile, got_rich.events) == (rich.id, rich.mobile, rich.events)
    assert got_rich.program_ids == rich.program_ids
    assert got_rich.store_codes == rich.store_codes
    assert got_rich.till_ids == rich.till_ids[:1]
    got_group = found.groups["usergroup2"]
    assert (got_group.id, got_group.external_id, got_group.primary_user_id) == (
        group.id,
        group.external_id,
        group.primary_user_id,
    )
    assert got_group.member_ids == group.member_ids
    assert found.cross_member["member_id"] == ref.cross_member["member_id"]
    assert found.cross_member["member_ids"] == ref.cross_member["member_ids"]
    assert found.cross_member["not_in_group_id"]
    # the cross-member group's other members are read too, as candidates for the other roles
    for member in ref.cross_member["member_ids"]:
        if member != ref.cross_member["member_id"]:
            assert f"cross-member member {member}:" in err
    for role in ("transfer_from", "transfer_to"):
        assert found.customers[role].mobile, role
    assert found.customers["transfer_from"].id != found.customers["transfer_to"].id
    assert set(found.stores) == {"unknown_store_id", "unknown_store_code", "unknown_till_id"}
    assert found.transfer["otp_header"] == "X-Sandbox-OTP"
    assert found.customers["merged"].id == ref.customers["merged"].id
    alt = found.customers["alt_currency"]
    assert (alt.id, alt.email) == (
        ref.customers["alt_currency"].id,
        ref.customers["alt_currency"].email,
    )
    assert alt.alternate_currencies == ref.customers["alt_currency"].alternate_currencies
    # the reference shows createdDate in Asia/Kolkata; any zone that always agrees will do
    moment = datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert (
        moment.astimezone(ZoneInfo(found.timezone)).utcoffset()
        == moment.astimezone(ZoneInfo(ref.timezone)).utcoffset()
    )
    # the redemptions' identifier is a customer the ledger shows redeeming; no read gives ids
    assert set(found.redemptions) == {"identifier_type", "identifier_value"}
    ledger = httpx.get(
        f"{server.url}/v2/pointsLedger/getCustomerLedgerInfo",
        params={
            # reversePoints' identifier types are also the ledger's identifier names
            "identifierName": found.redemptions["identifier_type"],
            "identifierValue": found.redemptions["identifier_value"],
            "source": "INSTORE",
            "limit": 100,
        },
        auth=(server.username, server.password),
    ).json()
    assert any(e["eventName"] == "PointsRedemption" for e in ledger["ledgerEntries"])
    text = out.read_text(encoding="utf-8")
    assert "customers.fraud" in text and "--no-requirements" in text


def test_each_missing_role_is_named_with_the_requirements_it_leaves_unchecked(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    ref = server.target_data
    out = tmp_path / "found.toml"
    code, err = discover(
        *credentials(server), "--customer", f"{ref.customers['rich'].mobile}", "-o", str(out)
    )
    assert code == 0, err
    head = [line for line in out.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    fraud = next(line for line in head if "customers.fraud" in line)
    assert "unchecked" in fraud
    assert any("PTS-ERR-415" in line for line in head)
    assert any(line.startswith("#   cross_member") and "CML-" in " ".join(head) for line in head)


def test_every_read_waits_for_its_slot_under_the_rate_limit(
    server: EmbeddedServer, sent: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    intervals: list[float] = []
    real = RateLimiter.acquire

    def acquire(self: RateLimiter) -> float:
        intervals.append(self.interval)
        return real(self)

    monkeypatch.setattr(RateLimiter, "acquire", acquire)
    code, err = discover(
        *credentials(server), "--rate-limit", "50", "--customer", "id:987654321",
        "-o", str(tmp_path / "t"),
    )  # fmt: skip
    assert code == 1, err
    assert len(sent) >= 2 and intervals == [1 / 50] * len(sent)


def test_the_client_refuses_every_request_but_a_get_before_sending(server: EmbeddedServer) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(200, json={})

    settings = resolve_settings({"base_url": server.url}, {})
    client = ReadOnlyClient(settings, transport=httpx.MockTransport(answer))
    try:
        with pytest.raises(WriteRefused):
            client.post("transferPoints", "/v2/points/transfer", json={})
        with pytest.raises(WriteRefused):
            client.request(None, "DELETE", "/v2/points/transfer")
        with pytest.raises(WriteRefused):
            client.get("reversePoints", "/v2/points/reverse")
        with pytest.raises(WriteRefused):
            client._send_once(httpx.Request("PUT", server.url + "/v2/points/transfer"))
        assert seen == []
        client.get("getPointsTransfers", "/v2/points/transfer")
        assert seen == ["GET"]
    finally:
        client.close()


def test_a_server_that_is_not_there_is_a_usage_problem(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, err = discover(
        "--base-url", f"http://127.0.0.1:{port}", "--customer", "1", "-o", str(tmp_path / "t")
    )
    assert code == 2
    assert "connection refused" in err and "Traceback" not in err
    assert not (tmp_path / "t").exists()


def test_refused_credentials_are_a_usage_problem(server: EmbeddedServer, tmp_path: Path) -> None:
    code, err = discover(
        "--base-url", server.url, "--auth", "someone:wrong", "--customer", "1",
        "-o", str(tmp_path / "t"),
    )  # fmt: skip
    assert code == 2
    assert "HTTP 401" in err and len(err.strip().splitlines()) == 2


def test_identifiers_the_server_does_not_know_write_nothing(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    code, err = discover(
        *credentials(server), "--customer", "id:987654321", "--group", "987654321",
        "-o", str(tmp_path / "t"),
    )  # fmt: skip
    assert code == 1
    assert "knows none" in err and not (tmp_path / "t").exists()


def test_usage_problems_exit_2_with_one_line(tmp_path: Path) -> None:
    existing = tmp_path / "there.toml"
    existing.write_text("", encoding="utf-8")
    url = ["--base-url", "http://127.0.0.1:9"]
    assert discover(*url, "--customer", "1", "-o", str(existing))[0] == 2
    assert discover(*url, "-o", str(tmp_path / "t"))[0] == 2
    code, err = discover(*url, "--customer", "1", "-o", str(tmp_path / "no" / "t.toml"))
    assert code == 2 and "no folder" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("id,shoe_size\n1,42\n", encoding="utf-8")
    code, err = discover(*url, "--csv", str(bad), "-o", str(tmp_path / "t"))
    assert code == 2 and "line 1" in err and "shoe_size" in err
    code, err = discover(*url, "--customer", "phone:1", "-o", str(tmp_path / "t"))
    assert code == 2 and "kind:value" in err
    assert "discover" in cli.USAGE


def test_identifiers_read_from_options_and_csv(tmp_path: Path) -> None:
    assert parse_customer("919000000001").identifiers == (("mobile", "919000000001"),)
    assert parse_customer("1003").identifiers == (("id", "1003"),)
    assert parse_customer("a@example.com").get("email") == "a@example.com"
    both = parse_customer("id:1,mobile:919000000001")
    assert not both.guessed and both.get("mobile") == "919000000001"
    assert parse_group("externalId:G-1") == parse_group("external_id:G-1")
    assert parse_group("7001").kind == "id"
    listed = tmp_path / "ids.csv"
    listed.write_text(
        "kind,id,mobile,primary_user_id\ncustomer,1,919000000001,\n\ngroup,,,5101\n",
        encoding="utf-8",
    )
    customers, groups = read_csv(listed)
    assert customers[0].identifiers == (("id", "1"), ("mobile", "919000000001"))
    assert (groups[0].kind, groups[0].value) == ("primary_user_id", "5101")
    for text, problem in (
        ("", "empty"),
        ("id\n", "names no customer"),
        ("kind,id\nshop,1\n", "line 2"),
        ("kind,id,external_id\ngroup,1,G\n", "exactly one"),
        ("id\n1,2\n", "line 2"),
    ):
        listed.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match=problem):
            read_csv(listed)


def test_a_requirement_stays_unchecked_only_when_no_runnable_test_checks_it() -> None:
    filled = {"customers": {"rich": {"id": "1"}}}
    assert role_of("customers.fraud.id", filled) == "customers.fraud"
    assert role_of("customers.rich.till_ids.0", filled) == "customers.rich.till_ids"
    assert role_of("cross_member.member_id", filled) == "cross_member.member_id"

    def skipped(*nodeids: str) -> list[dict[str, str]]:
        return [{"nodeid": n, "verdict": "skipped"} for n in nodeids]

    report = {
        "requirements": {
            "R-1": {"missing_data": ["customers.fraud.id", "customers.fraud.mobile"],
                    "tests": skipped("a")},
            # b would send a request: R-2 runs without the key
            "R-2": {"missing_data": ["customers.fraud.id"], "tests": skipped("a", "b")},
            "R-3": {"missing_data": ["customers.transfer_from", "customers.transfer_to"],
                    "tests": skipped("c")},
            "R-4": {"missing_data": ["transfer.otp_header", "transfer.otp_env"],
                    "tests": skipped("d")},
            # another test settled it, so the report does not list it as unchecked
            "R-5": {"missing_data": ["customers.rich.till_ids.0"],
                    "tests": [*skipped("e"), {"nodeid": "f", "verdict": "passed"}]},
            "R-6": {"missing_data": ["customers.rich.till_ids.0"], "tests": skipped("e")},
            # a skip that names no key, whatever its text, names no role
            "R-7": {"missing_data": [], "tests": skipped("g")},
        },
        "unchecked": [{"id": rid} for rid in ("R-1", "R-2", "R-3", "R-4", "R-6", "R-7")],
        "tests": {"g": {"outcome": "skipped", "requirements": ["R-7"],
                        "skip_reason": "target file has no customers.merged.id"}},
        "dry_run": {"requests": [{"test": "b", "method": "GET", "url": "http://127.0.0.1/x"}]},
    }  # fmt: skip
    needs = from_report(report, filled)
    assert needs.problem == ""
    assert needs.unchecked == {
        "customers.fraud": ["R-1"],
        "customers.rich.till_ids": ["R-6"],
        "customers.transfer_from": ["R-3"],
        "customers.transfer_to": ["R-3"],
        "transfer.otp_env": ["R-4"],
        "transfer.otp_header": ["R-4"],
    }
    assert from_report({"tests": report["tests"]}, filled).problem


def _facts(number: int, redemptions: int, *, balance: float = 0.0, **ids: str) -> CustomerFacts:
    facts = CustomerFacts(True, {"id": str(number), **ids}, found=True, events=1)
    facts.redemptions, facts.balance = redemptions, balance
    return facts


def test_the_redemptions_identifier_is_a_customer_whose_ledger_shows_redemptions() -> None:
    writer = _facts(1, 9, balance=50.0, mobile="919000000001")
    other = _facts(2, 2, external_id="ext-2")
    plain = _facts(3, 0, mobile="919000000003")
    found = assign([writer, other, plain], [], {})
    assert found.sections["customers"]["transfer_from"]["id"] == "1"
    # the transfer customer's ledger moves while a reversal test reads it: the other comes first
    assert found.sections["redemptions"] == {
        "identifier_type": "externalId",
        "identifier_value": "ext-2",
    }
    assert any("reversible_ids" in note for note in found.notes)
    alone = assign([_facts(4, 1, email="a@example.com", mobile="919000000004")], [], {})
    assert alone.sections["redemptions"]["identifier_type"] == "mobile"
    # reversePoints takes a mobile, email or external id only; an id alone names no redeemer
    assert "redemptions" not in assign([_facts(5, 3), plain], [], {}).sections


def test_a_zone_is_named_only_when_every_candidate_agrees_all_year() -> None:
    winter = datetime(2026, 1, 10, 12, tzinfo=UTC)
    summer = datetime(2026, 7, 10, 12, tzinfo=UTC)
    assert org_zone([(winter, 330)]) is not None
    assert org_zone([(winter, 60)]) is None  # Paris and Lagos part ways in summer
    assert org_zone([(winter, 60), (summer, 120)]) is not None
    assert org_zone([(winter, 17)]) is None
    assert org_zone([]) is None
