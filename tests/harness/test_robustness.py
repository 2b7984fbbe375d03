"""The harness against misbehaving servers, shared targets, leaked secrets and bad input.

Every run here is a real `python -m pytest <a few suite tests>` or `points-conformance run`
in a subprocess, against a server of misbehaving.py on a loopback address (or the reference
server, or a proxy in front of it), with `--timeout 1`, loading only the harness's plugin and
pytest-xdist. What is pinned (docs/robustness.md describes it for users):

- a server that accepts connections and then misbehaves fails the affected requirements with
  a one-line message that says what happened (exit status 1), within a time computed from the
  timeout and the requests it received, and the four report files are written;
- a target that cannot be reached at all (refused, TLS failure) is a usage problem: one line,
  exit status 2, no test run;
- HTTP 429 is waited out as Retry-After asks, within bounds, and reported; `--rate-limit`
  holds at the server;
- credentials reach no other host and no output; writes reach no non-loopback target without
  --allow-writes; a dry run sends nothing and lists what it would send; every write sent is
  listed in the report;
- bad input to the harness is one line and exit status 2, through pytest and the command.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from points_conformance.client import ConformanceClient, WritesNotAllowed
from points_conformance.embedded import EmbeddedServer, start_embedded
from points_conformance.pacing import DOWN_AFTER, TargetUnreachable, probe
from points_conformance.report import merge_reports
from points_conformance.report.model import FORMAT
from points_conformance.settings import resolve_settings

from .misbehaving import MisbehavingServer, Recorder, self_signed_context

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 1.0
# What a run may spend besides its requests (collection, report writing), on a busy machine.
OVERHEAD = 20.0
# What one request may take beyond the timeout (connection set-up, the test's own work).
SLACK = 0.5
# Interpreter start-up and imports come on top of a run's own duration.
STARTUP = 90.0
# No run may take longer than this; a harness that hangs fails here instead of hanging CI.
HANG_GUARD = 300.0
USER = "robot"
PASSWORD = "S3cr3t-Pa55-x9"
USER_ENV = "ROBUSTNESS_USER"
PASSWORD_ENV = "ROBUSTNESS_PASSWORD"
REPORT_FILES = ("conformance.html", "conformance.json", "junit.xml", "summary.md")
WRITES_REASON = "writes need --allow-writes against non-loopback targets"
STAGING_HOST = "points-staging.example"

# A GET that expects 401, two GETs and two POSTs of the customer forms: each sends one request
# before it can judge anything, so each fails at its first request to a misbehaving server.
SLICE = (
    "tests/conformance/test_auth.py::test_credentials_rejected"
    "[getCustomerLedgerBalance-wrong-credentials]",
    "tests/conformance/test_transfer_history.py::test_history[customer-mobile]",
    "tests/conformance/test_transfer_history.py::test_history[customer-unknown]",
    "tests/conformance/test_transfer_check.py::test_customer[from-MOBILE]",
    "tests/conformance/test_transfer_check.py::test_customer[points-zero]",
)
# The slice plus a transfer and a reversal: tests that change data.
WRITE_SLICE = (
    *SLICE[1:],
    "tests/conformance/test_transfer.py::test_transfer_end_to_end[MOBILE-to-ID]",
    "tests/conformance/test_reverse.py::test_reverse_refused[points-zero]",
)

FAKE_TARGET = f"""
# Test data of a server that does not exist: the misbehaving servers answer anything anyway.
[target]
username_env = "{USER_ENV}"
password_env = "{PASSWORD_ENV}"
org_id = 50406
source = "INSTORE"
timezone = "UTC"
"""
FAKE_TARGET += "".join(
    f"""
[customers.{role}]
id = "{number}"
mobile = "91900000{number}"
email = "member{number}@example.com"
external_id = "ext-{number}"
cardnumber = "CARD{number}"
program_ids = [1148]
"""
    for role, number in (("rich", 5001), ("transfer_from", 5007), ("transfer_to", 5008))
)


# -- running the suite ----------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float
    report_dir: Path

    @property
    def text(self) -> str:
        return f"exit status {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report_dir / "conformance.json").read_text())
        return data


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("POINTS_CONFORMANCE_") and k not in ("CI", "PYTEST_ADDOPTS")
    }
    # Only the harness's plugin and pytest-xdist (whose marker the suite uses): the others
    # (hypothesis, schemathesis) serve the fuzz tests, which no run here selects, and would
    # multiply every run's start-up time.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.update({USER_ENV: USER, PASSWORD_ENV: PASSWORD})
    env.update(extra or {})
    return env


def run_suite(
    args: list[str] | tuple[str, ...],
    report_dir: Path,
    *,
    entry: str = "pytest",
    env: dict[str, str] | None = None,
) -> Run:
    """One run of the suite in a subprocess, from the repository root."""
    runner = ["-m", "pytest"] if entry == "pytest" else ["-m", "points_conformance.cli", "run"]
    command = [
        sys.executable,
        *runner,
        "-p",
        "points_conformance.plugin",
        "-p",
        "xdist",
        *args,
        "--report-dir",
        str(report_dir),
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    started = time.monotonic()
    done = subprocess.run(
        command,
        cwd=REPO,
        env=_environment(env),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started, report_dir)


def _texts(record: dict[str, Any]) -> list[str]:
    """Everything a reader of a failed requirement sees about why it failed."""
    texts = [str(record.get("reason", ""))]
    for finding in record.get("findings", []):
        texts.append(" | ".join(str(finding.get(k, "")) for k in ("message", "expected", "actual")))
    return texts


def _assert_no_traceback(run: Run) -> None:
    report = run.report
    texts = [t.get("message", "") for t in report["tests"].values()]
    for record in report["requirements"].values():
        texts += _texts(record)
    for text in [*texts, (run.report_dir / "junit.xml").read_text()]:
        assert "Traceback" not in text and 'File "' not in text, text
    assert "Traceback" not in run.out + run.err, run.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def fake_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("target") / "fake-target.toml"
    path.write_text(FAKE_TARGET)
    return path


@pytest.fixture(scope="module")
def reference() -> Iterator[EmbeddedServer]:
    """The reference server, with the known credentials, for the forwarding modes."""
    with start_embedded(username=USER, password=PASSWORD) as server:
        yield server


def _reference_env(server: EmbeddedServer) -> dict[str, str]:
    # The reference server's target file names the variables it reads its credentials from.
    return {"POINTS_CONFORMANCE_USER": server.username, "POINTS_CONFORMANCE_PASSWORD": PASSWORD}


# -- misbehaving servers: conformance failures ----------------------------------------------------


@dataclass(frozen=True)
class Mode:
    """A misbehaviour and what the report must say about it."""

    name: str
    phrase: str
    # The client's own one-line message, on every requirement of every test; otherwise the
    # checks' findings, of which at least one says it.
    transport: bool
    attempts: int = 1  # requests the server sees per request a test makes
    waits: tuple[float, ...] = ()  # seconds the client waits between those attempts
    tests: tuple[str, ...] = SLICE
    upstream: bool = False
    # Whether every test of the slice meets the misbehaviour (a wrong content type only fails
    # the tests that check content types).
    fails_all: bool = True
    # Whether the server gives any answer; after DOWN_AFTER requests without one in a row the
    # client stops sending, so the remaining tests fail at once.
    answers: bool = True


MODES = (
    Mode("hang", "no response within 1.0 s", True, answers=False),
    Mode("slow", "no response within 1.0 s", True, answers=False),
    Mode("drip", "response body not complete within 1.0 s", True),
    Mode("midbody", "connection closed mid-body", True),
    Mode("invalid-json", "body is not JSON", False),
    Mode("wrong-content-type", "Content-Type: text/html", False, upstream=True, fails_all=False),
    Mode("huge", "response body larger than 10 MB", True),
    Mode("error-500", "HTTP 500", False),
    Mode("throttle", "still HTTP 429 after 3 retries", True, 4, (1.0, 1.0, 1.0), SLICE[:2]),
    Mode(
        "throttle-no-header", "still HTTP 429 after 3 retries", True, 4, (1.0, 2.0, 4.0), SLICE[:1]
    ),
    Mode("throttle-over-cap", "asking to retry after 3600 s, more than the 30 s cap", True),
    Mode("redirect", "HTTP 307", False),
    Mode("login-page", "body is not JSON", False),
)


@pytest.mark.parametrize("mode", MODES, ids=[m.name for m in MODES])
def test_a_misbehaving_server_fails_the_affected_requirements(
    mode: Mode, tmp_path: Path, fake_target: Path, request: pytest.FixtureRequest
) -> None:
    upstream = request.getfixturevalue("reference").url if mode.upstream else None
    target = request.getfixturevalue("reference").target_file if mode.upstream else fake_target
    env = _reference_env(request.getfixturevalue("reference")) if mode.upstream else None
    with Recorder("127.0.0.2") as other:
        server = MisbehavingServer(mode.name, upstream=upstream, redirect_to=other.url)
        with server:
            run = run_suite(
                [*mode.tests, "--base-url", server.url, "--target", str(target), "--timeout", "1"],
                tmp_path / "reports",
                env=env,
            )
            seen = server.seen()
        assert other.connections == 0 and other.seen() == []

    assert run.code == 1, run.text
    assert sorted(p.name for p in run.report_dir.iterdir()) == list(REPORT_FILES)
    report = run.report

    # Bounded: each request a test made took at most its attempts, each within the timeout,
    # and the waits the target asked for.
    assert len(seen) % mode.attempts == 0
    made = len(seen) // mode.attempts
    assert made >= (len(mode.tests) if mode.answers else min(len(mode.tests), DOWN_AFTER))
    if not mode.answers:
        # Only the probes that follow the first DOWN_AFTER requests reach the server.
        assert made <= DOWN_AFTER + 1, made
    bound = OVERHEAD + made * (mode.attempts * (TIMEOUT + SLACK) + sum(mode.waits))
    assert report["duration"] <= bound, (report["duration"], bound)
    assert run.seconds <= bound + STARTUP

    tests = report["tests"]
    assert sorted(tests) == sorted(mode.tests)
    failed = {rid: r for rid, r in report["requirements"].items() if r["status"] == "failed"}
    assert failed
    for nodeid, test in tests.items():
        if mode.fails_all or test["outcome"] == "failed":
            assert test["outcome"] == "failed", (nodeid, test)
            assert set(test["requirements"]) & set(failed), (nodeid, test)
        if mode.transport:
            assert mode.phrase in test["message"], test
            for rid in test["requirements"]:
                assert rid in failed and mode.phrase in failed[rid]["reason"], failed.get(rid)
    if not mode.transport:
        assert any(mode.phrase in text for r in failed.values() for text in _texts(r)), failed
    _assert_no_traceback(run)

    if mode.waits:
        _assert_retry_after_honoured(mode, seen, report, run)
    if mode.name == "throttle-over-cap":
        assert report["throttling"]["waited"] == 0 and report["throttling"]["gave_up"] == made
    if mode.name == "redirect":
        locations = {r["location"] for r in report["redirects"]}
        assert locations and all(loc.startswith(other.url) for loc in locations)


def _assert_retry_after_honoured(
    mode: Mode, seen: list[Any], report: dict[str, Any], run: Run
) -> None:
    """Between the attempts of one request, the client waited what the server asked for."""
    for start in range(0, len(seen), mode.attempts):
        attempts = seen[start : start + mode.attempts]
        assert len({(s.method, s.path) for s in attempts}) == 1
        for wait, (before, after) in zip(mode.waits, itertools.pairwise(attempts), strict=True):
            assert after.at - before.at >= wait * 0.9, (wait, after.at - before.at)
    throttling = report["throttling"]
    assert throttling["responses"] == report["throttled"] == len(seen)
    assert throttling["gave_up"] == len(seen) // mode.attempts
    assert throttling["waited"] >= 0.9 * sum(mode.waits) * throttling["gave_up"]
    summary = (run.report_dir / "summary.md").read_text()
    assert f"answered HTTP 429 {len(seen)} times" in summary


# -- unreachable targets: usage problems ----------------------------------------------------------


@pytest.mark.parametrize("entry", ["pytest", "run"])
@pytest.mark.parametrize("kind", ["refused", "tls"])
def test_an_unreachable_target_ends_the_run_before_any_test(
    kind: str, entry: str, tmp_path: Path, fake_target: Path
) -> None:
    server: MisbehavingServer | None = None
    if kind == "tls":
        context = self_signed_context(tmp_path)
        if context is None:
            pytest.skip("neither the cryptography package nor the openssl command is available")
        server = MisbehavingServer("login-page", ssl_context=context).start()
        url, expected = server.url, f"TLS certificate verify failed for {server.url}"
    else:
        url = f"http://127.0.0.1:{_free_port()}"
        expected = f"connection refused by {url}"
    try:
        run = run_suite(
            [*SLICE, "--base-url", url, "--target", str(fake_target), "--timeout", "1"],
            tmp_path / "reports",
            entry=entry,
        )
    finally:
        if server is not None:
            server.stop()
    assert run.code == 2, run.text
    lines = [line for line in (run.out + run.err).splitlines() if line.strip()]
    assert len(lines) == 1, run.text
    assert "points-conformance: target not reachable, no test was run: " in lines[0]
    assert expected in lines[0]
    assert "Traceback" not in run.out + run.err
    assert not (run.report_dir / "conformance.json").exists()
    if server is not None:
        assert server.seen() == []


# -- throttling and the rate limit ----------------------------------------------------------------


def test_a_throttling_server_is_waited_out_and_reported(
    reference: EmbeddedServer, tmp_path: Path
) -> None:
    with MisbehavingServer("throttle-once", upstream=reference.url) as server:
        run = run_suite(
            [*SLICE[:3], "--base-url", server.url, "--target", str(reference.target_file)],
            tmp_path / "reports",
            env=_reference_env(reference),
        )
        seen = server.seen()
    assert run.code == 0, run.text
    # Every other request was a 429 asking for one second; its repetition came after it.
    assert len(seen) >= 6
    for throttled, repeated in zip(seen[0::2], seen[1::2], strict=False):
        assert (throttled.method, throttled.path) == (repeated.method, repeated.path)
        assert repeated.at - throttled.at >= 0.9
    report = run.report
    throttling = report["throttling"]
    assert throttling["responses"] == report["throttled"] == len(seen) // 2
    assert throttling["gave_up"] == 0
    assert {e["retry_after"] for e in throttling["events"]} == {1.0}
    assert all(e["test"] in report["tests"] for e in throttling["events"])
    summary = (run.report_dir / "summary.md").read_text()
    assert f"answered HTTP 429 {len(seen) // 2} times" in summary
    assert "0 requests given up" in summary


RATE = 4.0


def test_the_rate_limit_holds_at_the_server_and_every_write_is_reported(
    reference: EmbeddedServer, tmp_path: Path
) -> None:
    with MisbehavingServer("proxy", upstream=reference.url) as server:
        run = run_suite(
            [
                *WRITE_SLICE,
                "--base-url",
                server.url,
                "--target",
                str(reference.target_file),
                "--rate-limit",
                f"{RATE:g}",
            ],
            tmp_path / "reports",
            env=_reference_env(reference),
        )
        seen = server.seen()
    assert run.code == 0, run.text
    times = [s.at for s in seen]
    assert len(times) >= 2 * RATE
    # Requests per window that starts at a request. Arrival times carry the scheduling jitter of
    # a loaded machine (a late request lands next to the one after it), so the window is 0.75 s:
    # a limiter that keeps its rate never puts more than RATE requests in it, even with 0.25 s
    # of jitter, while one running at twice the rate (or not at all) does.
    busiest = max(sum(1 for t in times if start <= t < start + 0.75) for start in times)
    assert busiest <= RATE, busiest
    assert times[-1] - times[0] >= (len(times) - 1) / RATE - 0.05

    report = run.report
    sent = sorted(
        (s.method, s.path) for s in seen if s.method in ("POST", "PUT", "PATCH", "DELETE")
    )
    listed = sorted((w["method"], _path_and_query(w["url"])) for w in report["writes"])
    assert sent and listed == sent
    assert {"/v2/points/transfer", "/v2/points/reverse"} <= {path for _, path in sent}
    assert (
        f"Writes sent (state-changing requests): {len(sent)}, by operation:"
        in (run.report_dir / "summary.md").read_text()
    )


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# -- credentials ----------------------------------------------------------------------------------


def _leak_forms() -> list[str]:
    pair = f"{USER}:{PASSWORD}"
    return [PASSWORD, pair, base64.b64encode(pair.encode()).decode()]


@pytest.mark.parametrize("server_kind", ["reference", "echoing"])
def test_credentials_appear_in_no_output_and_no_file(
    server_kind: str, tmp_path: Path, fake_target: Path, request: pytest.FixtureRequest
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    loud = [
        "-vv",
        "-l",
        "-rA",
        "--log-level=DEBUG",
        f"--log-file={out / 'run.log'}",
        "--log-file-level=DEBUG",
        f"--junitxml={out / 'pytest-junit.xml'}",
        "--timeout",
        "1",
    ]
    if server_kind == "reference":
        reference: EmbeddedServer = request.getfixturevalue("reference")
        args = [*SLICE, "--base-url", reference.url, "--target", str(reference.target_file)]
        run = run_suite([*args, *loud], out / "reports", entry="run", env=_reference_env(reference))
        assert run.code == 3, run.text  # a slice of the suite is incomplete by definition
    else:
        with MisbehavingServer("echo-credentials") as server:
            args = [*SLICE, "--base-url", server.url, "--target", str(fake_target)]
            run = run_suite([*args, *loud], out / "reports")
            echoed = [s.headers.get("authorization", "") for s in server.seen()]
        assert run.code == 1, run.text
        # The server did send them back (so there was something to leak), and they were masked.
        assert any(_leak_forms()[2] in header for header in echoed)
        assert "****" in run.report_dir.joinpath("conformance.json").read_text()

    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {*REPORT_FILES, "run.log", "pytest-junit.xml"}
    for form in _leak_forms():
        assert form not in run.out and form not in run.err, form
        for path in files:
            assert form not in path.read_text(errors="replace"), (form, path)


# -- shared targets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allow_writes", "permitted"),
    [
        ("http://127.0.0.1:8000", False, True),
        ("http://127.8.9.10", False, True),
        ("http://localhost:8000", False, True),
        ("http://[::1]:8000", False, True),
        ("https://staging.example.com", False, False),
        ("http://10.0.0.7:8000", False, False),
        ("http://127.0.0.1.example.com", False, False),
        ("https://staging.example.com", True, True),
    ],
)
def test_writes_reach_a_non_loopback_target_only_with_allow_writes(
    url: str, allow_writes: bool, permitted: bool
) -> None:
    settings = resolve_settings({"base_url": url, "allow_writes": allow_writes}, {})
    assert settings.writes_permitted is permitted
    sent: list[str] = []

    def handler(http_request: httpx.Request) -> httpx.Response:
        sent.append(http_request.method)
        return httpx.Response(200, json={"data": []})

    client = ConformanceClient(
        dataclasses.replace(settings, rate_limit=None),
        operation_resolver=lambda method, path: "transferPoints",
        transport=httpx.MockTransport(handler),
    )
    with client:
        client.get("getPointsTransfers", "/v2/points/transfer")
        if permitted:
            client.post("transferPoints", "/v2/points/transfer", json={"points": 1})
            assert [w.method for w in client.writes] == ["POST"]
        else:
            with pytest.raises(WritesNotAllowed, match="--allow-writes"):
                client.post("transferPoints", "/v2/points/transfer", json={"points": 1})
            assert client.writes == []
    assert sent == (["GET", "POST"] if permitted else ["GET"])


RESOLVER = f'''
"""Resolves {STAGING_HOST} to 127.0.0.1 in this process only."""

import socket

_real = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    return _real("127.0.0.1" if host == "{STAGING_HOST}" else host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo
'''


def test_writes_are_skipped_against_a_non_loopback_target(
    reference: EmbeddedServer, tmp_path: Path
) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "staging_resolver.py").write_text(RESOLVER)
    env = {**_reference_env(reference), "PYTHONPATH": str(plugins)}
    with MisbehavingServer("proxy", upstream=reference.url) as server:
        url = f"http://{STAGING_HOST}:{server.port}"
        run = run_suite(
            [
                *WRITE_SLICE,
                "-p",
                "staging_resolver",
                "--base-url",
                url,
                "--target",
                str(reference.target_file),
            ],
            tmp_path / "reports",
            env=env,
        )
        seen = server.seen()
    assert run.code == 0, run.text
    assert seen and {s.method for s in seen} == {"GET"}
    report = run.report
    assert report["target"] == url and report["writes"] == []
    for nodeid in WRITE_SLICE:
        test = report["tests"][nodeid]
        writes = "transfer_check" in nodeid or "test_transfer.py" in nodeid or "reverse" in nodeid
        if writes:
            assert test["outcome"] == "skipped" and WRITES_REASON in test["skip_reason"], test
        else:
            assert test["outcome"] == "passed", test


def test_a_dry_run_sends_nothing_and_lists_every_request(
    reference: EmbeddedServer, tmp_path: Path
) -> None:
    # The reference server's test data, so that no test of the slice is skipped for want of it;
    # the requests would go to a server that counts them.
    with MisbehavingServer("error-500") as server:
        run = run_suite(
            [
                *WRITE_SLICE,
                "--base-url",
                server.url,
                "--target",
                str(reference.target_file),
                "--dry-run",
            ],
            tmp_path / "reports",
            entry="run",
            env=_reference_env(reference),
        )
        connections = server.connections
    assert run.code == 0, run.text
    assert connections == 0
    planned = run.report["dry_run"]["requests"]
    assert sorted(p["test"] for p in planned) == sorted(WRITE_SLICE)
    assert {p["method"] for p in planned} == {"GET", "POST"}
    assert run.report["requests"] == 0 and run.report["writes"] == []
    listing = (run.report_dir / "dry-run.txt").read_text()
    for p in planned:
        line = f"{p['method']} {p['url']}"
        assert line in listing and line in run.out, line
    assert "dry run: no request was sent" in run.out


# -- bad input to the harness ---------------------------------------------------------------------


BAD_INPUT = {
    "malformed-target-file": ("target", "is not valid TOML"),
    "unknown-requirement-in-m": (
        ["-m", "LEDGER-ERR-99999"],
        "unknown requirement ID LEDGER-ERR-99999",
    ),
    "base-url-not-a-url": (
        ["--base-url", "points.example.com/api"],
        "--base-url must start with http:// or https://",
    ),
    "spec-does-not-parse": ("specs", "points-api.openapi.yaml: does not parse"),
    "timeout-not-a-number": (["--timeout", "soon"], "--timeout must be a number, not 'soon'"),
    "negative-rate-limit": (["--rate-limit", "-1"], "--rate-limit must not be negative"),
}


@pytest.mark.parametrize("entry", ["pytest", "run"])
@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_and_exit_status_2(case: str, entry: str, tmp_path: Path) -> None:
    given, expected = BAD_INPUT[case]
    env: dict[str, str] = {}
    args: list[str] = ["--base-url", f"http://127.0.0.1:{_free_port()}"]
    if given == "target":
        bad = tmp_path / "target.toml"
        bad.write_text('[target\nbase_url = "http://127.0.0.1:1"\n')
        args += ["--target", str(bad)]
    elif given == "specs":
        specs = tmp_path / "specs"
        specs.mkdir()
        for path in (REPO / "specs").glob("*.yaml"):
            (specs / path.name).write_text(path.read_text())
        (specs / "points-api.openapi.yaml").write_text("openapi: 3.1.0\npaths: {unclosed: [\n")
        env["POINTS_CONFORMANCE_SPECS_DIR"] = str(specs)
    elif isinstance(given, list) and given[0] == "--base-url":
        args = list(given)
    else:
        args += given
    run = run_suite([*SLICE[:1], *args], tmp_path / "reports", entry=entry, env=env)
    assert run.code == 2, run.text
    lines = [line for line in (run.out + run.err).splitlines() if line.strip()]
    assert len(lines) == 1 and "points-conformance: " in lines[0], run.text
    assert expected in lines[0], run.text
    assert "Traceback" not in run.out + run.err


# -- the pieces -----------------------------------------------------------------------------------


def test_the_probe_connects_without_sending_a_request(
    fake_target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with MisbehavingServer("hang") as server:
        probe(resolve_settings({"base_url": server.url, "timeout": "1"}, {}))
        time.sleep(0.2)
        assert server.connections <= 1 and server.seen() == []

    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(TargetUnreachable, match=f"^connection refused by {re.escape(url)} "):
        probe(resolve_settings({"base_url": url}, {}))
    with pytest.raises(TargetUnreachable, match=r"^host points\.invalid not found$"):
        probe(resolve_settings({"base_url": "http://points.invalid:8000"}, {}))

    # Through a proxy from the environment only the proxy could tell; the probe stays out.
    monkeypatch.setenv("http_proxy", url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    probe(resolve_settings({"base_url": "http://points.invalid:8000"}, {}))


def test_merged_reports_keep_throttling_redirects_and_the_dry_run() -> None:
    def shard(responses: int, planned: list[dict[str, Any]] | None) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "requirements": {},
            "throttled": responses,
            "throttling": {
                "responses": responses,
                "waited": 1.5 * responses,
                "gave_up": 1,
                "events": [{"url": f"u{i}"} for i in range(responses)],
            },
            "redirects": [{"location": "http://127.0.0.2/x"}] * responses,
            "dry_run": None if planned is None else {"requests": planned},
        }

    merged = merge_reports([shard(1, None), shard(2, [{"method": "GET"}])])
    assert merged["throttling"] == {
        "responses": 3,
        "waited": 4.5,
        "gave_up": 2,
        "events": [{"url": "u0"}, {"url": "u0"}, {"url": "u1"}],
    }
    assert len(merged["redirects"]) == 3
    assert merged["dry_run"] == {"requests": [{"method": "GET"}]}
    assert merge_reports([shard(0, None)])["dry_run"] is None
