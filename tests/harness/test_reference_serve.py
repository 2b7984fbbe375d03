"""`points-conformance serve` and the embedded server: start, target file, stop, persistence."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from points_conformance import embedded
from points_conformance.embedded import (
    EmbeddedServerError,
    start_embedded,
    write_reference_target,
)
from points_conformance.reference import serve
from points_conformance.target import CUSTOMER_ROLES, load_target, render

LEDGER = "/v2/pointsLedger/getCustomerLedgerInfo"


def _port_closed(url: str) -> bool:
    host, port = url.rsplit("/", 1)[-1].split(":")
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) != 0


def test_subprocess_server_writes_its_target_file_and_stops() -> None:
    server = start_embedded()
    try:
        assert server.running and server.pid is not None
        assert server.url.startswith("http://127.0.0.1:")
        text = server.target_file.read_text(encoding="utf-8")
        assert server.password not in text  # the file names variables, never the secret
        raw = tomllib.loads(text)
        assert raw["target"]["base_url"] == server.url
        assert raw["target"]["username_env"] == "POINTS_CONFORMANCE_USER"
        assert raw["target"]["password_env"] == "POINTS_CONFORMANCE_PASSWORD"
        data = server.target_data
        assert (data.username, data.password) == (server.username, server.password)
        assert set(CUSTOMER_ROLES) <= set(data.customers)
        assert set(data.groups) == {"usergroup2", "fleet"}
        assert data.groups["fleet"].type == "FLEET"
        assert len(data.redemptions["reversible_ids"]) >= 40
        assert data.redemptions["reversed_id"]
        assert data.transfer["otp_header"] == "X-Sandbox-OTP"
        assert data.cross_member["member_id"] and data.connected_orgs["connected_org_ids"]
        assert data.stores["unknown_till_id"]
        env = {
            "POINTS_CONFORMANCE_USER": server.username,
            "POINTS_CONFORMANCE_PASSWORD": server.password,
        }
        assert load_target(server.target_file, env) == data
        rich = data.customers["rich"]
        params = {"identifierName": "mobile", "identifierValue": rich.mobile, "source": data.source}
        assert httpx.get(server.url + LEDGER, params=params).status_code == 401
        r = httpx.get(server.url + LEDGER, params=params, auth=(server.username, server.password))
        assert r.status_code == 200
        assert r.json()["ledgerDetails"]["totalEntries"] == rich.events
    finally:
        server.stop()
    assert not server.running
    assert server._process is not None and server._process.returncode == 0
    assert _port_closed(server.url)
    assert not server.target_file.exists()  # the working directory is cleaned up
    server.stop()  # idempotent


def test_in_process_server_and_context_manager() -> None:
    with start_embedded(in_process=True, seed=3) as server:
        assert server.pid is None and server.running
        r = httpx.get(
            server.url + "/v2/customers/1003/crossMemberLedger",
            auth=(server.username, server.password),
        )
        assert r.status_code == 200
        assert r.json()["groupDetails"]["memberCount"] == 4
    assert not server.running
    assert _port_closed(server.url)


def test_persistence_across_restart(tmp_path: Path) -> None:
    db = tmp_path / "kept.db"
    with start_embedded(db_path=str(db)) as first:
        auth = (first.username, first.password)
        rid = first.target_data.redemptions["reversible_ids"][0]
        body = {"redemptionId": rid, "pointsToBeReversed": 1,
                "identifier": {"type": "mobile", "value": first.target_data.redemptions["identifier_value"]}}  # fmt: skip
        r = httpx.post(first.url + "/v2/points/reverse", json=body, auth=auth)
        assert r.status_code == 200, r.text
        reversal = r.json()["reversalId"]
    assert db.exists()
    with start_embedded(db_path=str(db), seed=99) as second:
        # the file was not seeded again: the reversal is still there, the seed is the first one
        assert second.target_data.redemptions["reversible_ids"][0] == rid
        params = {"identifierName": "mobile", "source": "INSTORE", "limit": 1,
                  "identifierValue": second.target_data.redemptions["identifier_value"]}  # fmt: skip
        newest = httpx.get(second.url + LEDGER, params=params, auth=auth).json()["ledgerEntries"][0]
        assert newest["eventName"] == "PointsRedemptionReversal"
        assert newest["entryDetails"][0]["points"] == "1.000"
    conn_rows = (
        __import__("sqlite3")
        .connect(db)
        .execute("SELECT COUNT(*) FROM reversals WHERE reversal_id = ?", (reversal,))
        .fetchone()[0]
    )
    assert conn_rows == 1


def test_serve_command_prints_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    target = tmp_path / "target.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "points_conformance.cli", "serve", "--port", "0",
         "--target-out", str(target), "--user", "u1", "--password", "p1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not target.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        url = tomllib.loads(target.read_text())["target"]["base_url"]
        assert (
            httpx.get(url + "/v2/customers/1003/crossMemberLedger", auth=("u1", "p1")).status_code
            == 200
        )
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"listening on {url}" in out
    assert "'u1'" in out and "'p1'" in out
    assert "Traceback" not in err


def _children(pid: int) -> set[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: set[int] = set()
    for task in tasks.iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _serve_two_workers(target: Path) -> tuple[subprocess.Popen[str], str, set[int]]:
    """`serve --workers 2` started and listening: the process, its URL and its workers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "points_conformance.cli", "serve", "--port", "0", "--workers", "2",
         "--target-out", str(target)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not target.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(proc.communicate()[1])
        time.sleep(0.05)
    url = tomllib.loads(target.read_text())["target"]["base_url"]
    return proc, url, _children(proc.pid)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_serve_workers_answer_from_several_processes_and_stop(tmp_path: Path) -> None:
    proc, url, workers = _serve_two_workers(tmp_path / "target.toml")
    try:
        assert len(workers) == 2
        auth = (serve.DEFAULT_USER, serve.DEFAULT_PASSWORD)
        for _ in range(4):  # a new connection each time: any worker may take it
            r = httpx.get(url + "/v2/customers/1003/crossMemberLedger", auth=auth)
            assert r.status_code == 200
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "workers: 2 processes" in out
    assert "Traceback" not in err
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)
    assert _port_closed(url)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_a_worker_that_dies_stops_the_server_with_status_1(tmp_path: Path) -> None:
    proc, url, workers = _serve_two_workers(tmp_path / "target.toml")
    try:
        os.kill(min(workers), signal.SIGKILL)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert err.count("\n") == 1 and f"worker process {min(workers)} exited" in err
    assert "Traceback" not in err
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)
    assert _port_closed(url)


@pytest.mark.parametrize(
    "argv",
    [
        ["--workers", "0"],
        ["--port", "abc"],
        ["--port", "70000"],
        ["--size", "enormous"],
        ["--seed", "x"],
        ["--db", "/no/such/directory/points.db", "--port", "0"],
        ["--no-such-option"],
    ],
)
def test_bad_options_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("points-conformance serve: error:")
    assert len(err.splitlines()) == 1


def test_port_in_use_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert serve.main(["--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot listen" in err[0]


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--describe-out" in out and "--target-out" not in out
    assert embedded.main(["--help"]) == 0
    assert "--target-out" in capsys.readouterr().out


def test_unknown_fault_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve.main(["--fault", "no-such-fault-at-all"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(EmbeddedServerError):
        start_embedded(faults=["no-such-fault-at-all"], in_process=True)


def test_the_reference_server_describes_itself_in_json(tmp_path: Path) -> None:
    description = tmp_path / "description.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "points_conformance.reference.serve", "--port", "0",
         "--describe-out", str(description)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not description.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        described = json.loads(description.read_text(encoding="utf-8"))
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert described["base_url"].startswith("http://127.0.0.1:")
    assert described["data"]["org_id"] == 50406
    assert set(CUSTOMER_ROLES) <= set(described["data"]["customers"])
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_server_that_dies_is_reported() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        with pytest.raises(EmbeddedServerError) as exc:
            start_embedded(port=busy.getsockname()[1], startup_timeout=20)
    assert "cannot listen" in str(exc.value)


def test_reference_target_round_trips(tmp_path: Path) -> None:
    info = {
        "org_id": 1, "source": "INSTORE", "account_id": "", "timezone": "UTC", "seed": 0,
        "customers": {"rich": {"id": "1", "mobile": "9\"1", "events": 3, "till_ids": [1, 2]}},
        "groups": {}, "connected_orgs": {}, "cross_member": {"member_id": "ü😀"},
        "redemptions": {"reversible_ids": ["a", "b"]}, "transfer": {}, "stores": {},
    }  # fmt: skip
    path = tmp_path / "t.toml"
    write_reference_target(path, {"base_url": "http://127.0.0.1:1", "data": info})
    data = load_target(path, {"POINTS_CONFORMANCE_USER": "u", "POINTS_CONFORMANCE_PASSWORD": "p"})
    assert data.customers["rich"].mobile == '9"1'
    assert data.customers["rich"].till_ids == (1, 2)
    assert data.cross_member["member_id"] == "ü😀"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_an_interrupted_seed_is_redone(tmp_path: Path) -> None:
    db = tmp_path / "half.db"
    store, _ = serve.prepare_store(str(db), 0, "small", quiet=True)
    events = store.conn().execute("SELECT COUNT(*) FROM ledger_events").fetchone()[0]
    with store.write() as conn:
        conn.execute("DELETE FROM meta WHERE key = 'seed_info'")
    store.close()
    again, _ = serve.prepare_store(str(db), 0, "small", quiet=True)
    assert again.is_seeded()
    assert again.conn().execute("SELECT COUNT(*) FROM ledger_events").fetchone()[0] == events
    again.close()


def test_a_file_that_is_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not SQLite " * 100)
    assert serve.main(["--db", str(bogus), "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bogus) in err[0]


def test_listening_socket_is_tcp_so_responses_are_not_delayed() -> None:
    sock = serve.bind_socket("127.0.0.1", 0)
    try:
        # asyncio only switches Nagle off on connections of a socket that declares TCP
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_render_quotes_keys_that_are_not_bare_and_leaves_out_none() -> None:
    text = render(
        {"target": {"base_url": "http://127.0.0.1:1", "bearer_env": None},
         "customers": {"role with space": {"id": "1", "till_ids": [1, 2]}}},
        ["a comment"],
    )  # fmt: skip
    assert text.startswith("# a comment\n")
    assert tomllib.loads(text) == {
        "target": {"base_url": "http://127.0.0.1:1"},
        "customers": {"role with space": {"id": "1", "till_ids": [1, 2]}},
    }
