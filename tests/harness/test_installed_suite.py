"""The suite as a user gets it: the wheel built from this checkout, installed outside it, and run
as `pytest --pyargs points_conformance_suite --base-url URL` from a folder with no pytest
configuration, against a reference server on loopback, with pytest-base-url loaded beside the
plugin (it is a dev dependency).

The wheel is built without the network (`--no-build-isolation`: the dev dependencies bring the
setuptools it needs) and installed without its dependencies into a folder put first on
PYTHONPATH, so that the wheel's modules, not the checkout's, are the ones imported. One module
of the suite runs (the ledger balance's), which keeps the test short.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from points_conformance.embedded import start_embedded
from points_conformance.locations import SUITE_PACKAGE
from points_conformance.variables import PASSWORD_ENV, USER_ENV

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


def _run(
    command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT, check=False, cwd=cwd, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_installed_suite_runs_against_a_server(tmp_path: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    wheels = tmp_path / "wheels"
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)])
    (wheel,) = wheels.glob("points_conformance-*.whl")
    site = tmp_path / "site"
    _run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("POINTS_CONFORMANCE_", "PYTEST_"))
    }
    env["PYTHONPATH"] = str(site)
    where = _run(
        [
            sys.executable,
            "-c",
            f"import {SUITE_PACKAGE}, points_conformance.plugin as p; "
            f"print({SUITE_PACKAGE}.__file__); print(p.__file__)",
        ],
        cwd=elsewhere,
        env=env,
    )
    assert all(Path(line).is_relative_to(site) for line in where.stdout.split()), where.stdout

    with start_embedded() as server:
        env |= {USER_ENV: server.username, PASSWORD_ENV: server.password}
        run = _run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "--pyargs",
                f"{SUITE_PACKAGE}.test_ledger_balance",
                "--base-url",
                server.url,
                "--target",
                str(server.target_file),
                "-v",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            cwd=elsewhere,
            env=env,
        )
    assert "base-url" in run.stdout.partition("plugins:")[2].splitlines()[0], run.stdout
    assert f"site/{SUITE_PACKAGE}/test_ledger_balance.py" in run.stdout, run.stdout
    # One module of the suite is a selection of it: the verdict says so.
    assert re.search(r"\b\d+ passed\b", run.stdout) and "incomplete" in run.stdout, run.stdout
    assert (tmp_path / "report" / "conformance.json").is_file()
