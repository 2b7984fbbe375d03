"""The pytest plugin, exercised through pytester: options, requirement markers, findings,
user_properties, the embedded-server hand-over, and pytest-xdist.

The requirement catalogue and the embedded reference server are replaced by stand-ins, so these
tests pin the plugin's behaviour and not the contents of the specs. The only network traffic
goes to small HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# Imported here, before any in-process run: pytester forgets modules first imported during a
# run, and httpx maps the exceptions of the httpcore it first saw, which must stay the same.
import httpcore  # noqa: F401
import pytest

from points_conformance import operations
from points_conformance.plugin import requirements
from points_conformance.plugin.lock import (
    FairLock,
    LockPlan,
    plan_for,
    resource_groups,
    resources,
)
from points_conformance.plugin.session import target_document
from points_conformance.records import RECORD_PROPERTY, TestRecord
from points_conformance.target import Customer, Group, TargetData

NO_REPORT = "-pno:points_conformance_report"
PASSWORD = "s3cr3t-Pa55word"
ALL_OPERATIONS = operations.OPERATIONS


def fake_catalogue() -> Any:
    def req(*operations: str) -> Any:
        return SimpleNamespace(operations=operations)

    return SimpleNamespace(
        requirements={
            "LEDGER-ERR-11029": req("getCustomerLedgerInfo"),
            "LEDGER-SORT": req("getCustomerLedgerInfo"),
            "XFER-ERR-804": req("transferPoints", "transferPointsUserGroup"),
            "BAL-LIMIT-MAX": req("getCustomerLedgerBalance"),
            "COMMON-AUTH-401": req(*ALL_OPERATIONS),
        }
    )


# Injected into subprocess runs (xdist), where monkeypatching this process does not reach.
STAND_INS = """
import sys, types
from pathlib import Path
from points_conformance.target import Customer, Group, TargetData

def _req(*ops):
    return types.SimpleNamespace(operations=ops)

_catalogue = types.SimpleNamespace(requirements={
    "LEDGER-ERR-11029": _req("getCustomerLedgerInfo"),
    "XFER-ERR-804": _req("transferPoints", "transferPointsUserGroup"),
})
catalogue_module = types.ModuleType("points_conformance.catalogue")
catalogue_module.load_catalogue = lambda: _catalogue
catalogue_module.CatalogueError = type("CatalogueError", (Exception,), {})
sys.modules["points_conformance.catalogue"] = catalogue_module

class _Server:
    url = "http://127.0.0.1:59999"
    username = "ref-user"
    password = "ref-password"
    target_file = None
    target_data = TargetData(org_id=777, customers={"rich": Customer("rich", id="1003")})

    def stop(self):
        Path(STOP_FILE).write_text("stopped")

def start_embedded(**kwargs):
    Path(START_FILE).write_text(str(Path(START_FILE).read_text() if Path(START_FILE).exists() else "") + "x")
    return _Server()

embedded_module = types.ModuleType("points_conformance.embedded")
embedded_module.start_embedded = start_embedded
sys.modules["points_conformance.embedded"] = embedded_module
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("POINTS_CONFORMANCE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def catalogue(monkeypatch: pytest.MonkeyPatch) -> Any:
    fake = fake_catalogue()
    monkeypatch.setattr(requirements, "_catalogue", lambda: (fake, None))
    return fake


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"path": self.path, "auth": bool(self.headers.get("Authorization"))})
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def call_reports(reprec: Any) -> dict[str, Any]:
    return {
        r.nodeid.split("::")[-1]: r
        for r in reprec.getreports("pytest_runtest_logreport")
        if r.when == "call"
    }


def props(report: Any) -> dict[str, Any]:
    """The test's record as the report receives it."""
    (record,) = [value for name, value in report.user_properties if name == RECORD_PROPERTY]
    return TestRecord.from_dict(record).to_dict()


def main_in_process(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """pytest.main in this process, for runs that end during configuration.

    pytester's own in-process runs cannot survive an exit before the session starts, and a
    subprocess costs seconds; nothing of the run outlives it, since no test module is imported.
    """
    pytester.chdir()
    capsys.readouterr()
    code = int(pytest.main([NO_REPORT, "-p", "no:cacheprovider", *args]))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- options -------------------------------------------------------------------------------------


SHOW_SETTINGS = """
    import json

    def test_show(settings, target, pytestconfig):
        out = {
            "base_url": settings.base_url, "username": settings.username,
            "password": settings.password, "strict": settings.strict,
            "allow_writes": settings.allow_writes, "rate_limit": settings.rate_limit,
            "timeout": settings.timeout, "dry_run": settings.dry_run,
            "report_dir": str(settings.report_dir), "fuzz_seed": settings.fuzz_seed,
            "fuzz_examples": settings.fuzz_examples, "org_id": target.org_id,
            "embedded": settings.embedded,
        }
        with open("settings.json", "w") as fh:
            json.dump(out, fh)
"""


def read_settings(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "settings.json").read_text())
    return data


def test_options_reach_the_settings_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOW_SETTINGS)
    result = pytester.runpytest(
        NO_REPORT,
        "--base-url=http://127.0.0.1:9/",
        f"--auth=alice:{PASSWORD}",
        "--conformance-strict",
        "--allow-writes",
        "--rate-limit=3",
        "--timeout=2.5",
        "--dry-run",
        "--report-dir=out",
        "--fuzz-seed=5",
        "--fuzz-examples=7",
    )
    result.assert_outcomes(passed=1)
    assert read_settings(pytester) == {
        "base_url": "http://127.0.0.1:9",
        "username": "alice",
        "password": PASSWORD,
        "strict": True,
        "allow_writes": True,
        "rate_limit": 3.0,
        "timeout": 2.5,
        "dry_run": True,
        "report_dir": "out",
        "fuzz_seed": 5,
        "fuzz_examples": 7,
        "org_id": None,
        "embedded": False,
    }
    header = result.stdout.str()
    assert (
        "points-conformance: target http://127.0.0.1:9, strict, writes on, "
        "rate limit 3 req/s, auth basic, dry run"
    ) in header
    assert PASSWORD not in header


def test_environment_and_target_file_reach_settings_below_flags(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(SHOW_SETTINGS)
    target = pytester.path / "target.toml"
    target.write_text(
        '[target]\nbase_url = "https://file.example.com"\norg_id = 42\n'
        'username_env = "T_USER"\npassword_env = "T_PASSWORD"\n'
    )
    monkeypatch.setenv("T_USER", "file-user")
    monkeypatch.setenv("T_PASSWORD", "file-password")
    monkeypatch.setenv("POINTS_CONFORMANCE_TARGET", str(target))
    monkeypatch.setenv("POINTS_CONFORMANCE_TIMEOUT", "4")
    monkeypatch.setenv("POINTS_CONFORMANCE_STRICT", "true")
    monkeypatch.setenv("POINTS_CONFORMANCE_FUZZ_SEED", "99")

    pytester.runpytest(NO_REPORT).assert_outcomes(passed=1)
    from_env = read_settings(pytester)
    assert from_env["base_url"] == "https://file.example.com"
    assert (from_env["username"], from_env["password"]) == ("file-user", "file-password")
    assert from_env["org_id"] == 42 and from_env["strict"] is True
    assert from_env["timeout"] == 4.0 and from_env["fuzz_seed"] == 99
    assert from_env["rate_limit"] == 10.0  # not loopback

    monkeypatch.setenv("POINTS_CONFORMANCE_BASE_URL", "http://localhost:8001")
    pytester.runpytest(NO_REPORT, "--timeout=1", "--fuzz-seed=3").assert_outcomes(passed=1)
    flagged = read_settings(pytester)
    assert flagged["base_url"] == "http://localhost:8001"
    assert flagged["rate_limit"] is None  # loopback
    assert (flagged["timeout"], flagged["fuzz_seed"]) == (1.0, 3)
    assert flagged["org_id"] == 42


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--rate-limit=fast"], {}, "--rate-limit must be a number, not 'fast'"),
        (["--timeout=-2"], {}, "--timeout must be greater than 0"),
        (["--base-url=ftp://x"], {}, "--base-url must start with http:// or https://"),
        (["--auth=nocolon"], {}, "--auth must be user:password (no colon found)"),
        (["--target=missing.toml"], {}, "--target: cannot read target file missing.toml"),
        ([], {"POINTS_CONFORMANCE_DRY_RUN": "perhaps"}, "POINTS_CONFORMANCE_DRY_RUN must be"),
    ],
)
def test_usage_errors_exit_2_with_one_line_and_no_traceback(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    pytester.makepyfile("def test_never(): pass")
    code, out, err = main_in_process(pytester, capsys, "--base-url=http://127.0.0.1:9", *args)
    assert code == 2
    assert f"points-conformance: {message}" in err
    assert "Traceback" not in err + out
    assert "test_never" not in out


# -- requirement markers -------------------------------------------------------------------------


def test_unknown_requirement_id_is_a_collection_error(
    pytester: pytest.Pytester, catalogue: Any
) -> None:
    pytester.makepyfile(
        test_reqs="""
        import pytest

        @pytest.mark.requirement("LEDGER-ERR-11029")
        def test_known():
            pass

        @pytest.mark.requirement("LEDGER-ERR-11029", "LEDGER-ERR-99999")
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest(NO_REPORT, "--base-url=http://127.0.0.1:9")
    assert result.ret == 2
    out = result.stdout.str()
    assert "test_reqs.py::test_typo: unknown requirement ID LEDGER-ERR-99999" in out
    assert "1 error" in out
    assert "Traceback" not in out


def test_unknown_requirement_id_under_xdist_is_a_collection_error_too(
    pytester: pytest.Pytester,
) -> None:
    stand_ins(pytester)
    pytester.makepyfile(
        test_reqs="""
        import pytest

        @pytest.mark.requirement("LEDGER-ERR-99999")
        def test_typo():
            pass

        def test_other():
            pass
        """
    )
    result = pytester.runpytest_subprocess(
        NO_REPORT, "--base-url=http://127.0.0.1:9", "-p", "xdist", "-n", "2"
    )
    assert result.ret == 2
    result.stdout.fnmatch_lines(
        ["*test_reqs.py::test_typo: unknown requirement ID LEDGER-ERR-99999*"]
    )


def test_requirement_marker_needs_an_id(pytester: pytest.Pytester, catalogue: Any) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requirement()
        def test_empty():
            pass
        """
    )
    result = pytester.runpytest(NO_REPORT, "--base-url=http://127.0.0.1:9")
    assert result.ret == 2
    assert "needs at least one requirement ID" in result.stdout.str()


MARKED = """
    import pytest

    @pytest.mark.requirement("LEDGER-ERR-11029")
    def test_ledger():
        pass

    @pytest.mark.requirement("XFER-ERR-804")
    def test_transfer():
        pass

    @pytest.mark.requirement("BAL-LIMIT-MAX")
    def test_balance():
        pass

    @pytest.mark.requirement("COMMON-AUTH-401")
    def test_common():
        pass

    def test_writer(writes_allowed):
        pass

    @pytest.mark.fuzz
    def test_fuzzy():
        pass
"""


@pytest.mark.parametrize(
    ("expression", "selected"),
    [
        ("ledger", {"test_ledger", "test_common"}),
        ("transfer", {"test_transfer", "test_common"}),
        ("balance and not ledger", {"test_balance"}),
        ("writes", {"test_transfer", "test_writer"}),
        ("fuzz", {"test_fuzzy"}),
        ("LEDGER-ERR-11029", {"test_ledger"}),
        ("XFER-ERR-804 or BAL-LIMIT-MAX", {"test_transfer", "test_balance"}),
        ("reverse", {"test_common"}),
    ],
)
def test_operation_and_requirement_markers_select_tests(
    pytester: pytest.Pytester, catalogue: Any, expression: str, selected: set[str]
) -> None:
    pytester.makepyfile(MARKED)
    reprec = pytester.inline_run(
        NO_REPORT, "--strict-markers", "--base-url=http://127.0.0.1:9", "-m", expression
    )
    passed = {r.nodeid.split("::")[-1] for r in reprec.getreports() if r.when == "call"}
    assert passed == selected


def test_unknown_requirement_in_mark_expression_is_a_usage_error(
    pytester: pytest.Pytester, catalogue: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyfile(MARKED)
    code, _, err = main_in_process(
        pytester, capsys, "--base-url=http://127.0.0.1:9", "-m", "ledger and LEDGER-ERR-11030"
    )
    assert code == 2
    assert "unknown requirement ID LEDGER-ERR-11030" in err
    code, _, err = main_in_process(
        pytester, capsys, "--base-url=http://127.0.0.1:9", "-m", "LEDGER-SORT"
    )
    # A known ID is fine even when no test has it: that is "nothing selected", not misuse.
    assert code == 5, err


def test_markers_are_declared_for_strict_markers(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(NO_REPORT, "--markers")
    out = result.stdout.str()
    for name in (*set(operations.MARKERS.values()), "writes", "fuzz", "requirement"):
        assert f"@pytest.mark.{name}" in out


# -- findings ------------------------------------------------------------------------------------


FINDINGS_TEST = f"""
    import base64
    import pytest
    from points_conformance.model import Exchange, Finding, RequestInfo, ResponseInfo

    TOKEN = base64.b64encode(b"alice:{PASSWORD}").decode()

    def exchange():
        request = RequestInfo(
            "GET",
            "http://127.0.0.1:9/v2/pointsLedger/getCustomerLedgerBalance?limit=11",
            {{"Authorization": "Basic " + TOKEN, "Accept": "application/json"}},
        )
        response = ResponseInfo.from_parts(200, {{}}, '{{"echo": "{PASSWORD}"}}')
        return Exchange("getCustomerLedgerBalance", request, response)

    @pytest.mark.requirement("BAL-LIMIT-MAX")
    def test_finds(findings):
        findings.add([
            Finding(
                "BAL-LIMIT-MAX",
                "limit above 10 accepted",
                expected="HTTP 400 with code 11029",
                actual="HTTP 200; server said {PASSWORD}",
                exchange=exchange(),
            ),
            Finding("LEDGER-ERR-11029", "second finding", expected="x", actual="y"),
        ])

    @pytest.mark.requirement("LEDGER-ERR-11029")
    def test_clean(findings):
        findings.add([])

    @pytest.mark.requirement("LEDGER-ERR-11029")
    def test_asserts_too(findings):
        findings.add(Finding("LEDGER-ERR-11029", "recorded before the assertion"))
        assert 1 == 2
"""


def test_findings_fail_the_test_with_ids_and_repro_but_no_secrets(
    pytester: pytest.Pytester, catalogue: Any
) -> None:
    pytester.makepyfile(FINDINGS_TEST)
    result = pytester.runpytest(
        NO_REPORT, "--base-url=http://127.0.0.1:9", f"--auth=alice:{PASSWORD}", "-rA"
    )
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "*2 findings:",
            "*[[]BAL-LIMIT-MAX[]] limit above 10 accepted",
            "*expected: HTTP 400 with code 11029",
            "*actual:   HTTP 200; server said ****",
            "*operation: getCustomerLedgerBalance",
            "*repro:    curl -sS -X GET 'http://127.0.0.1:9/v2/pointsLedger/"
            "getCustomerLedgerBalance?limit=11' "
            '-u "$POINTS_CONFORMANCE_USER:$POINTS_CONFORMANCE_PASSWORD"*',
            "*[[]LEDGER-ERR-11029[]] second finding",
        ]
    )
    # A test that fails on its own still shows its findings.
    assert "recorded before the assertion" in out
    import base64

    assert PASSWORD not in out
    assert base64.b64encode(f"alice:{PASSWORD}".encode()).decode() not in out


def test_user_properties_carry_requirements_and_findings(
    pytester: pytest.Pytester, catalogue: Any
) -> None:
    pytester.makepyfile(FINDINGS_TEST)
    reprec = pytester.inline_run(
        NO_REPORT, "--base-url=http://127.0.0.1:9", f"--auth=alice:{PASSWORD}"
    )
    reports = call_reports(reprec)
    finds = props(reports["test_finds"])
    assert finds["requirements"] == ["BAL-LIMIT-MAX"]
    assert finds["operations"] == ["getCustomerLedgerBalance"]
    assert [f["requirement"] for f in finds["findings"]] == ["BAL-LIMIT-MAX", "LEDGER-ERR-11029"]
    first = finds["findings"][0]
    assert first["exchange"]["operation"] == "getCustomerLedgerBalance"
    assert first["actual"] == "HTTP 200; server said ****"
    assert PASSWORD not in json.dumps(finds["findings"])
    assert (finds["requests"], finds["throttled"], finds["writes"]) == (0, 0, [])
    clean = props(reports["test_clean"])
    assert clean["findings"] == [] and clean["requirements"] == ["LEDGER-ERR-11029"]
    # Each key once per test, so the report adds nothing twice.
    names = [name for name, _ in reports["test_finds"].user_properties]
    assert len(names) == len(set(names))


def test_client_traffic_is_counted_per_test(
    pytester: pytest.Pytester, catalogue: Any, local_server: str
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requirement("LEDGER-ERR-11029")
        def test_reads(client):
            first = client.get("getCustomerLedgerInfo", "/v2/pointsLedger/getCustomerLedgerInfo")
            second = client.get(None, "/v2/pointsLedger/getCustomerLedgerInfo", auth=False)
            assert first.response.json["auth"] is True
            assert second.response.json["auth"] is False

        @pytest.mark.requirement("XFER-ERR-804")
        def test_writes(client, writes_allowed):
            exchange = client.post("transferPoints", "/v2/points/transfer", json={"points": 1})
            assert exchange.response.status == 200
        """
    )
    reprec = pytester.inline_run(NO_REPORT, f"--base-url={local_server}", "--auth=u:p")
    reprec.assertoutcome(passed=2)
    reports = call_reports(reprec)
    reads, writes = props(reports["test_reads"]), props(reports["test_writes"])
    assert (reads["requests"], reads["writes"]) == (2, [])
    assert writes["requests"] == 1
    assert writes["writes"] == [
        {
            "operation": "transferPoints",
            "method": "POST",
            "url": f"{local_server}/v2/points/transfer",
            "status": 200,
        }
    ]
    assert writes["operations"] == ["transferPoints", "transferPointsUserGroup"]


def test_failed_assertions_on_exchanges_show_no_credentials(
    pytester: pytest.Pytester, local_server: str
) -> None:
    pytester.makepyfile(
        """
        def test_status(client):
            exchange = client.get("getCustomerLedgerInfo", "/v2/pointsLedger/getCustomerLedgerInfo")
            assert exchange.response.status == 201, exchange
        """
    )
    result = pytester.runpytest(
        NO_REPORT, f"--base-url={local_server}", f"--auth=alice:{PASSWORD}", "-l", "-vv"
    )
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "Basic ****" in out  # the exchange was shown, with its credentials masked
    import base64

    assert PASSWORD not in out
    assert base64.b64encode(f"alice:{PASSWORD}".encode()).decode() not in out


def test_transport_failure_fails_with_one_line(pytester: pytest.Pytester) -> None:
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    pytester.makepyfile(
        """
        def test_down(client):
            client.get("getCustomerLedgerInfo", "/v2/pointsLedger/getCustomerLedgerInfo")
        """
    )
    result = pytester.runpytest(NO_REPORT, f"--base-url=http://127.0.0.1:{port}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*GET /v2/pointsLedger/getCustomerLedgerInfo: connection refused by http://127.0.0.1:{port}"
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "httpx" not in result.stdout.str()


def test_dry_run_skips_and_records(pytester: pytest.Pytester, local_server: str) -> None:
    pytester.makepyfile(
        """
        def test_would_send(client):
            client.post("transferPoints", "/v2/points/transfer", json={"points": 1})
        """
    )
    reprec = pytester.inline_run(NO_REPORT, f"--base-url={local_server}", "--dry-run", "-rs")
    reprec.assertoutcome(skipped=1)
    report = call_reports(reprec)["test_would_send"]
    assert "dry run: would send POST" in str(report.longrepr)
    recorded = props(report)
    assert recorded["requests"] == 0 and recorded["writes"] == []
    assert recorded["dry_run"][0]["writes"] is True


# -- target data helpers -------------------------------------------------------------------------


def test_require_helpers_and_writes_allowed_skip_with_reasons(pytester: pytest.Pytester) -> None:
    target = pytester.path / "target.toml"
    target.write_text(
        '[target]\nbase_url = "https://api.example.com"\n'
        '[customers.rich]\nid = "1003"\n[cross_member]\nmember_id = "7"\n'
    )
    pytester.makepyfile(
        """
        def test_has_rich(require_customer, require):
            assert require_customer("rich").id == "1003"
            assert require("cross_member.member_id") == "7"
            assert require("customers.rich.id") == "1003"

        def test_needs_merged(require_customer):
            require_customer("merged")

        def test_needs_key(require):
            require("redemptions.reversed_id")

        def test_needs_group(require_group):
            require_group("fleet")

        def test_needs_writes(writes_allowed):
            pass
        """
    )
    result = pytester.runpytest(NO_REPORT, f"--target={target}", "-rs", "--bearer=tok")
    result.assert_outcomes(passed=1, skipped=4)
    result.stdout.fnmatch_lines_random(
        [
            "*target file has no customers.merged (a customer merged into another (419))",
            "*target file has no redemptions.reversed_id",
            "*target file has no groups.fleet (a FLEET group with a ledger)",
            "*writes need --allow-writes against non-loopback targets",
        ]
    )
    pytester.runpytest(
        NO_REPORT, f"--target={target}", "--bearer=tok", "--allow-writes", "-k", "needs_writes"
    ).assert_outcomes(passed=1)


def test_check_context_comes_from_settings(pytester: pytest.Pytester) -> None:
    pytest.importorskip("points_conformance.checks", exc_type=ImportError)
    target = pytester.path / "target.toml"
    target.write_text(
        '[target]\nbase_url = "http://127.0.0.1:9"\norg_id = 50406\ntimezone = "Asia/Kolkata"\n'
        "[connected_orgs]\nconnected_org_ids = [50405]\n"
    )
    pytester.makepyfile(
        """
        def test_context(check_context):
            assert check_context.strict is True
            assert check_context.timezone == "Asia/Kolkata"
            assert check_context.org_id == 50406
            assert tuple(check_context.connected_org_ids) == (50405,)
        """
    )
    pytester.runpytest(NO_REPORT, f"--target={target}", "--conformance-strict").assert_outcomes(
        passed=1
    )


# -- embedded server -----------------------------------------------------------------------------


def stand_ins(pytester: pytest.Pytester) -> tuple[Path, Path]:
    start, stop = pytester.path / "started.txt", pytester.path / "stopped.txt"
    pytester.makeconftest(f"START_FILE = {str(start)!r}\nSTOP_FILE = {str(stop)!r}\n" + STAND_INS)
    return start, stop


EMBEDDED_TEST = """
    import pytest

    @pytest.mark.requirement("LEDGER-ERR-11029")
    @pytest.mark.parametrize("n", range(4))
    def test_embedded(settings, target, n):
        assert settings.base_url == "http://127.0.0.1:59999"
        assert settings.embedded is True
        assert (settings.username, settings.password) == ("ref-user", "ref-password")
        assert target.org_id == 777
        assert target.customers["rich"].id == "1003"
"""


class FakeEmbedded:
    url = "http://127.0.0.1:59999"
    username = "ref-user"
    password = "ref-password"
    target_file = None
    target_data = TargetData(org_id=777, customers={"rich": Customer("rich", id="1003")})

    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1


def test_embedded_server_started_on_first_use_and_stopped(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, catalogue: Any
) -> None:
    started: list[FakeEmbedded] = []

    def start_embedded(**kwargs: Any) -> FakeEmbedded:
        started.append(FakeEmbedded())
        return started[-1]

    module = SimpleNamespace(start_embedded=start_embedded)
    monkeypatch.setitem(sys.modules, "points_conformance.embedded", module)
    pytester.makepyfile(EMBEDDED_TEST)
    pytester.makepyfile(test_no_settings="def test_plain(): pass")
    pytester.inline_run(NO_REPORT, "test_no_settings.py").assertoutcome(passed=1)
    assert started == []  # nothing asked for a target
    pytester.inline_run(NO_REPORT).assertoutcome(passed=5)
    assert len(started) == 1 and started[0].stopped == 1


def test_xdist_workers_get_the_controllers_embedded_server(pytester: pytest.Pytester) -> None:
    start, stop = stand_ins(pytester)
    pytester.makepyfile(EMBEDDED_TEST)
    result = pytester.runpytest_subprocess(NO_REPORT, "-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=4)
    # Started once, by the controller; the workers used what it sent them.
    assert start.read_text() == "x"
    assert stop.read_text() == "stopped"


def test_embedded_server_failure_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def start_embedded(**kwargs: Any) -> Any:
        raise OSError("address already in use")

    module = SimpleNamespace(start_embedded=start_embedded)
    monkeypatch.setitem(sys.modules, "points_conformance.embedded", module)
    pytester.makepyfile("def test_x(settings): pass")
    # With workers to feed, the controller starts the server before any test is collected.
    code, out, err = main_in_process(pytester, capsys, "-p", "xdist", "-n", "2")
    assert code == 2
    assert (
        "points-conformance: cannot start the embedded reference server: "
        "OSError: address already in use"
    ) in err
    assert "Traceback" not in err + out


# -- xdist ---------------------------------------------------------------------------------------


def test_xdist_results_match_a_serial_run(
    pytester: pytest.Pytester, local_server: str, catalogue: Any
) -> None:
    pytester.makeconftest(
        STAND_INS.replace("START_FILE", "'unused-start'").replace("STOP_FILE", "'unused-stop'")
        + textwrap.dedent(
            """
            import json

            CONFIG = []

            def pytest_configure(config):
                CONFIG.append(config)

            def pytest_runtest_logreport(report):
                # Only the controller (or a serial run) logs, as a report plugin would.
                if report.when == "call" and not hasattr(CONFIG[-1], "workerinput"):
                    with open("reports.jsonl", "a") as fh:
                        fh.write(json.dumps([report.nodeid, report.outcome,
                                             [list(p) for p in report.user_properties]]) + "\\n")
            """
        )
    )
    pytester.makepyfile(
        """
        import pytest
        from points_conformance.model import Finding

        @pytest.mark.requirement("LEDGER-ERR-11029")
        @pytest.mark.parametrize("n", range(6))
        def test_ledger(client, findings, n):
            exchange = client.get("getCustomerLedgerInfo", f"/v2/pointsLedger/getCustomerLedgerInfo?n={n}")
            if n % 3 == 0:
                findings.add([Finding("LEDGER-ERR-11029", f"finding {n}", exchange=exchange)])

        @pytest.mark.requirement("XFER-ERR-804")
        def test_transfer(client, writes_allowed):
            client.post("transferPoints", "/v2/points/transfer", json={"points": 1})
        """
    )

    def run(*extra: str) -> list[Any]:
        log = pytester.path / "reports.jsonl"
        if log.exists():
            log.unlink()
        args = (NO_REPORT, f"--base-url={local_server}", *extra)
        if extra:
            pytester.runpytest_subprocess(*args).assert_outcomes(passed=5, failed=2)
        else:
            pytester.inline_run(*args).assertoutcome(passed=5, failed=2)
        rows = [json.loads(line) for line in log.read_text().splitlines()]
        for row in rows:
            for prop in row[2]:
                if prop[0] == RECORD_PROPERTY:
                    for finding in prop[1]["findings"]:
                        finding["exchange"]["response"]["elapsed"] = 0
        return sorted(rows)

    serial = run()
    parallel = run("-p", "xdist", "-n", "2")
    assert len(serial) == 7
    assert parallel == serial
    by_id = {row[0].split("::")[-1]: dict(row[2])[RECORD_PROPERTY] for row in serial}
    assert by_id["test_transfer"]["writes"][0]["method"] == "POST"
    assert [f["message"] for f in by_id["test_ledger[3]"]["findings"]] == ["finding 3"]


# -- points-conformance run ----------------------------------------------------------------------


REPORT = {
    "requirements": {
        "LEDGER-ERR-11029": {"status": "passed", "operations": ["getCustomerLedgerInfo"]},
        "LEDGER-SORT": {"status": "failed", "operations": ["getCustomerLedgerInfo"]},
        "XFER-ERR-804": {
            "status": "skipped",
            "operations": ["transferPoints", "transferPointsUserGroup"],
        },
        "REV-ERR-902": {"status": "not_exercised", "operations": ["reversePoints"]},
        "REV-ERR-903": {
            "status": "not_exercised",
            "operations": ["reversePoints"],
            "testable": False,
        },
        "COMMON-SCHEMA-ENVELOPE": {"status": "passed", "operations": []},
    }
}


def test_summary_counts_requirements_per_operation() -> None:
    import io

    from points_conformance.runner import summarize

    out = io.StringIO()
    assert summarize(REPORT, out) == 1
    lines = out.getvalue().splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:] if line.strip()}
    assert rows["getCustomerLedgerInfo"] == ["1", "1", "0", "0", "0", "0"]
    assert rows["transferPoints"] == ["0", "0", "0", "1", "0", "0"]
    assert rows["reversePoints"] == ["0", "0", "0", "0", "1", "1"]
    assert rows["(all"] == ["operations)", "1", "0", "0", "0", "0", "0"]
    assert rows["requirements"] == ["2", "1", "0", "1", "1", "1"]
    assert "  LEDGER-SORT  (getCustomerLedgerInfo)" in lines
    # Operations come in the documented order.
    order = [line.split()[0] for line in lines[2:7]]
    assert order == [
        "getCustomerLedgerInfo",
        "transferPoints",
        "transferPointsUserGroup",
        "reversePoints",
        "(all",
    ]


@pytest.mark.parametrize(
    ("pytest_code", "report", "expected", "says"),
    [
        (
            0,
            {
                "requirements": {"A-B": {"status": "passed", "operations": []}},
                "verdict_kind": "conforms",
                "verdict": "conforms",
            },
            0,
            "conforms",
        ),
        (
            0,
            {
                "requirements": {"A-B": {"status": "skipped", "operations": []}},
                "verdict_kind": "incomplete",
                "verdict": "incomplete",
                "verdict_reasons": ["1 testable requirement unchecked"],
            },
            3,
            "verdict: incomplete (1 testable requirement unchecked)",
        ),
        (1, REPORT, 1, "does NOT conform"),
        (0, REPORT, 1, "does NOT conform"),
        (1, None, 1, "the run made no report"),
        (5, None, 2, "no test was collected"),
        (4, None, 2, "did not complete (pytest exit status 4)"),
        (3, None, 2, "did not complete"),
        (2, None, 2, "did not complete"),
    ],
)
def test_run_exit_statuses(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pytest_code: int,
    report: dict[str, Any] | None,
    expected: int,
    says: str,
) -> None:
    import io

    from points_conformance import runner

    seen: list[list[str]] = []

    def fake_main(args: list[str], plugins: list[Any]) -> int:
        seen.append(args)
        (hooks,) = plugins
        hooks.report = report
        return pytest_code

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pytest, "main", fake_main)
    out = io.StringIO()
    assert runner.main(["-k", "ledger"], out=out) == expected
    assert says in out.getvalue()
    assert seen[0][:2] == ["-k", "ledger"]


@pytest.mark.parametrize(("args", "expected"), [(["--conformance-strict"], 1), (["--co"], 2)])
def test_a_strict_run_is_judged_and_a_collection_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: int
) -> None:
    import io

    from points_conformance import runner

    def fake_main(args: list[str], plugins: list[Any]) -> int:
        (hooks,) = plugins
        hooks.report = REPORT
        return 1

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pytest, "main", fake_main)
    out = io.StringIO()
    assert runner.main(args, out=out) == expected
    assert ("does NOT conform" in out.getvalue()) is (expected == 1)


def test_run_selects_the_suite_unless_given_part_of_it() -> None:
    from points_conformance.runner import suite_args

    suite = Path(__file__).resolve().parents[1] / "conformance"
    in_checkout = suite_args(["-k", "x"])
    assert in_checkout in ([str(suite)], ["--pyargs", "points_conformance_suite"])
    assert suite_args([str(suite / "conftest.py")]) == []
    assert suite_args(["points_conformance_suite.test_x"]) == ["--pyargs"]
    assert suite_args(["--pyargs", "points_conformance_suite"]) == []


# -- the write lock of parallel runs -------------------------------------------------------------


def test_write_lock_lets_readers_share_and_writers_wait(tmp_path: Path) -> None:
    pytest.importorskip("fcntl")
    reader_a, reader_b, writer = (FairLock(tmp_path, "run") for _ in range(3))
    reader_a.acquire(exclusive=False)
    reader_b.acquire(exclusive=False)  # would hang here if readers excluded each other
    got_it = threading.Event()

    def write() -> None:
        writer.acquire(exclusive=True)
        got_it.set()
        writer.release()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    assert not got_it.wait(0.3)
    reader_a.release()
    assert not got_it.wait(0.2)
    reader_b.release()
    assert got_it.wait(5)
    thread.join(5)
    for lock in (reader_a, reader_b, writer):
        lock.close()


def test_a_waiting_writer_holds_back_later_readers(tmp_path: Path) -> None:
    pytest.importorskip("fcntl")
    reader, writer, late = (FairLock(tmp_path, "customer-id-1") for _ in range(3))
    reader.acquire(exclusive=False)
    events: list[str] = []

    def take(lock: FairLock, exclusive: bool, name: str) -> None:
        lock.acquire(exclusive)
        events.append(name)
        lock.release()

    writing = threading.Thread(target=take, args=(writer, True, "writer"), daemon=True)
    writing.start()
    time.sleep(0.2)
    reading = threading.Thread(target=take, args=(late, False, "late reader"), daemon=True)
    reading.start()
    time.sleep(0.2)
    assert events == []
    reader.release()
    writing.join(5)
    reading.join(5)
    assert events == ["writer", "late reader"]
    for lock in (reader, writer, late):
        lock.close()


LOCK_TARGET = TargetData(
    customers={
        "rich": Customer("rich", id="1"),
        "transfer_from": Customer("transfer_from", id="2", mobile="9100"),
        "transfer_to": Customer("transfer_to", id="3"),
        "same_as_from": Customer("same_as_from", id="2"),
        "member": Customer("member", id="7"),
    },
    groups={"usergroup2": Group("usergroup2", id="70", member_ids=("7",))},
    redemptions={"identifier_type": "mobile", "identifier_value": "9100"},
)


def test_lock_resources_are_who_the_keys_name() -> None:
    def names(key: str, writing: bool = True) -> set[str]:
        return resources(key, LOCK_TARGET, writing=writing)

    # two roles, one customer: one lock; the redeemer found among the customers by its mobile
    assert names("customers.same_as_from") == names("customers.transfer_from") == {"customer-id-2"}
    assert names("redemptions") == {"customer-id-2"}
    # a member's write shows in its group's ledger; reading the member does not hold the group
    assert names("customers.member") == {"customer-id-7", "group-70"}
    assert names("customers.member", writing=False) == {"customer-id-7"}
    assert names("groups.usergroup2") == {"group-70"}
    # keys the target does not resolve stand for themselves
    assert names("transfer.pair_ids") == {"transfer.pair_ids"}
    assert names("customers.absent") == {"customers.absent"}
    assert resources("customers.rich", None, writing=True) == {"customers.rich"}


def test_lock_plans_from_the_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.writes
        def test_undescribed_write(): pass

        @pytest.mark.writes
        @pytest.mark.touches("customers.transfer_from", "customers.transfer_to")
        @pytest.mark.reads("customers.transfer_from", "customers.rich")
        def test_transfer(): pass

        @pytest.mark.writes
        @pytest.mark.touches()
        def test_changes_nothing_read(): pass

        @pytest.mark.reads("groups.usergroup2")
        def test_walk(): pass

        def test_read(): pass
        """
    )
    items, _ = pytester.inline_genitems("-p", "no:points_conformance")
    plans = {item.name: plan_for(item, LOCK_TARGET) for item in items}
    assert plans["test_undescribed_write"] == LockPlan(whole_run=True)
    assert plans["test_transfer"] == LockPlan(
        whole_run=False,
        exclusive=frozenset({"customer-id-2", "customer-id-3"}),
        shared=frozenset({"customer-id-1"}),
    )
    assert plans["test_transfer"].steps() == [
        ("run", False),
        ("customer-id-1", False),
        ("customer-id-2", True),
        ("customer-id-3", True),
    ]
    assert plans["test_changes_nothing_read"] == LockPlan(whole_run=False)
    assert plans["test_walk"].steps() == [("run", False), ("group-70", False)]
    assert plans["test_read"].steps() == [("run", False)]


def test_tests_sharing_written_data_form_one_group() -> None:
    def writes(*names: str, reads: tuple[str, ...] = ()) -> LockPlan:
        return LockPlan(whole_run=False, exclusive=frozenset(names), shared=frozenset(reads))

    plans = [
        ("fuzz-pair", writes("from", "to")),
        ("transfer-1", writes("from", "to")),
        ("transfer-2", writes("from", "to")),
        ("group-transfer", writes("to", "group")),
        ("reverse-1", writes("redeemer")),
        ("reverse-2", writes("redeemer")),
        ("auth-reverse", writes("to", "redeemer")),
        ("walk-from", LockPlan(whole_run=False, shared=frozenset({"from", "rich"}))),
        ("walk-group", LockPlan(whole_run=False, shared=frozenset({"group"}))),
        ("walk-rich", LockPlan(whole_run=False, shared=frozenset({"rich"}))),
        ("undescribed", LockPlan(whole_run=True)),
        ("nothing-read", writes()),
    ]
    groups = resource_groups(plans)
    pair, redeemer = "from+to", "redeemer"
    assert groups == {
        "fuzz-pair": pair,
        "transfer-1": pair,
        "transfer-2": pair,
        # a smaller set joins the largest group holding any of its resources
        "group-transfer": pair,
        "auth-reverse": pair,
        "reverse-1": redeemer,
        "reverse-2": redeemer,
        # a reader of what the group's largest set writes runs there, not waiting elsewhere
        "walk-from": pair,
    }


def test_tests_changing_the_same_data_run_on_one_worker(pytester: pytest.Pytester) -> None:
    pytest.importorskip("fcntl")
    pytester.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.fuzz
        @pytest.mark.writes
        @pytest.mark.touches("customers.transfer_from")
        def test_fuzz_transfers():
            time.sleep(0.05)

        @pytest.mark.writes
        @pytest.mark.touches("customers.transfer_from")
        @pytest.mark.parametrize("n", range(6))
        def test_transfer(n):
            time.sleep(0.05)

        @pytest.mark.parametrize("n", range(6))
        def test_read(n):
            time.sleep(0.05)
        """
    )
    args = (NO_REPORT, "--base-url=http://127.0.0.1:9", "-p", "xdist", "-n", "2", "-v")
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=13)
    result.stdout.fnmatch_lines(["*scheduling tests via GroupScheduling*"])
    group = [line for line in result.outlines if "PASSED" in line and "_transfer" in line]
    assert len({line.split()[0] for line in group}) == 1, result.outlines
    # the group's property-based test, collected first, runs last
    assert len(group) == 7 and "test_fuzz_transfers" in group[-1], result.outlines
    # a distribution mode the user names is kept
    named = pytester.runpytest_subprocess(*args, "--dist", "load")
    named.assert_outcomes(passed=13)
    named.stdout.fnmatch_lines(["*scheduling tests via LoadScheduling*"])


def test_target_data_survives_the_trip_to_workers() -> None:
    from points_conformance.target import Group, parse_target

    data = TargetData(
        base_url="http://127.0.0.1:1",
        org_id=50406,
        timezone="Asia/Kolkata",
        customers={"rich": Customer("rich", id="1", program_ids=(1148, 1149), events=250)},
        groups={"fleet": Group("fleet", id="9", type="FLEET", member_ids=("1", "2"))},
        connected_orgs={"connected_org_ids": [50405]},
        redemptions={"reversible_ids": ["a", "b"]},
        transfer={"otp_header": "X-Sandbox-OTP"},
    )
    document = target_document(data)
    assert json.loads(json.dumps(document)) == document  # plain data, as execnet needs
    assert parse_target(document, {}) == data
