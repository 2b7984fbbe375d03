"""The fuzzer finds what the parameter matrix does not: one undocumented 500.

The variant of the reference server here answers HTTP 500 to getCustomerLedgerInfo when
includeLastOneYearData=true comes without startDate and endDate (a flag that only matters with
one date, sent with none). The matrix tests send that flag only together with a date, so they
pass against the variant; the fuzz test of the operation, with the default seed and budget,
fails naming COMMON-SERVER-ERROR and the not_a_server_error check, with a curl repro that
shows no credential.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.requests import Request

from points_conformance.embedded import write_reference_target
from points_conformance.reference.app import create_app
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.formatting import error_body
from points_conformance.reference.serve import base_url, bind_socket, describe, prepare_store
from points_conformance.variables import PASSWORD_ENV, USER_ENV

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "tests" / "conformance"
OPERATION = "getCustomerLedgerInfo"
FUZZ_TEST = f"tests/conformance/fuzz/test_fuzz.py::test_fuzz[{OPERATION}]"
MATRIX_TEST = "tests/conformance/test_ledger_info.py"
USER = "fuzz-robot"
PASSWORD = "Fuzz-S3cret-77q"
RUN_GUARD = 300.0
FLAG = "includeLastOneYearData"
DATES = ("startDate", "endDate")


def crashes(operation_id: str, query: Any) -> bool:
    """Whether the variant answers HTTP 500 to this request."""
    return (
        operation_id == OPERATION
        and str(query.get(FLAG, "")).strip().lower() == "true"
        and not any(name in query for name in DATES)
    )


def crash_hook(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
    if status == 401 or not crashes(operation_id, request.query_params):
        return status, body
    return 500, error_body(operation_id, 500, "Internal server error")


@dataclass
class Variant:
    url: str
    target_file: Path


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Variant]:
    """The reference server with the crash, on a loopback port, and its target file."""
    import uvicorn

    store, store_dir = prepare_store(None, 0, "small", quiet=True)
    sock = bind_socket("127.0.0.1", 0)
    url = base_url("127.0.0.1", int(sock.getsockname()[1]))
    app = create_app(store, Behaviour(), Hooks(response_hook=crash_hook), (USER, PASSWORD))
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the variant did not start"
        time.sleep(0.01)
    target = tmp_path_factory.mktemp("variant") / "target.toml"
    write_reference_target(target, describe(store, url))
    try:
        yield Variant(url, target)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        store.close()
        if store_dir is not None:
            shutil.rmtree(store_dir, ignore_errors=True)


def run_suite(variant: Variant, report_dir: Path, *tests: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("POINTS_CONFORMANCE_") and k not in ("CI", "PYTEST_ADDOPTS")
    }
    env.update({USER_ENV: USER, PASSWORD_ENV: PASSWORD})
    command = [
        sys.executable,
        "-m",
        "pytest",
        *tests,
        "--target",
        str(variant.target_file),
        "--report-dir",
        str(report_dir),
        "-p",
        "no:cacheprovider",
        "-q",
        "-rfE",
    ]
    return subprocess.run(
        command,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_GUARD,
        check=False,
    )


def matrix_cases() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted((SUITE / "cases").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for table in document.values() if isinstance(document, dict) else ():
            items = table.get("cases") if isinstance(table, dict) else table
            for case in items if isinstance(items, list) else ():
                if isinstance(case, dict):
                    yield path, case


def test_the_variant_crashes_only_on_the_combination() -> None:
    query = {"identifierName": "id", "identifierValue": "5001", "source": "INSTORE"}
    assert crashes(OPERATION, {**query, FLAG: "true"})
    assert not crashes(OPERATION, {**query, FLAG: "true", "startDate": "2024-01-01T00:00:00"})
    assert not crashes(OPERATION, {**query, FLAG: "false"})
    assert not crashes("getCustomerLedgerInfoConnectedOrgs", {**query, FLAG: "true"})


def test_no_matrix_test_sends_the_combination() -> None:
    with_flag = [
        (path.name, case.get("id"))
        for path, case in matrix_cases()
        if isinstance(case.get("params"), dict) and FLAG in case["params"]
    ]
    assert with_flag, "the matrix cases no longer send the flag at all: this test checks nothing"
    for path, case in matrix_cases():
        params = case.get("params")
        if isinstance(params, dict) and str(params.get(FLAG)).lower() == "true":
            assert any(name in params for name in DATES), f"{path.name}: case {case.get('id')}"
    # Of the test modules only test_ledger_info.py sends the flag itself, and it runs against
    # the variant below.
    senders = [p.name for p in sorted(SUITE.glob("*.py")) if FLAG in p.read_text(encoding="utf-8")]
    assert senders in ([], [Path(MATRIX_TEST).name]), senders


def test_the_fuzzer_finds_the_server_error_the_matrix_misses(
    variant: Variant, tmp_path: Path
) -> None:
    done = run_suite(variant, tmp_path, MATRIX_TEST, FUZZ_TEST)
    output = done.stdout + done.stderr
    failed = [line for line in output.splitlines() if line.startswith("FAILED ")]
    assert done.returncode == 1, output[-3000:]
    assert len(failed) == 1 and failed[0].startswith(f"FAILED {FUZZ_TEST}"), failed
    assert "[COMMON-SERVER-ERROR]" in output
    assert "not_a_server_error" in output
    repro = [line for line in output.splitlines() if line.strip().startswith("repro:")]
    assert any(
        "curl" in line and f"{FLAG}=true" in line and variant.url in line for line in repro
    ), repro
    assert '"$POINTS_CONFORMANCE_USER:$POINTS_CONFORMANCE_PASSWORD"' in output
    assert PASSWORD not in output
    report = (tmp_path / "conformance.json").read_text(encoding="utf-8")
    assert "COMMON-SERVER-ERROR" in report
    assert PASSWORD not in report
