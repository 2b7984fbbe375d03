"""The benchmark runs end to end in smoke mode and writes every section with numeric figures;
an output it cannot write is refused before anything runs, and its figures are never lost.

Nothing here depends on how fast anything is: the figures are checked for presence and type,
never for value.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from bench.cli import write_results

REPO = Path(__file__).resolve().parents[2]
SMOKE_TIMEOUT = 1200


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _at(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        assert isinstance(node, dict) and part in node, f"bench.json has no {dotted}"
        node = node[part]
    return node


NUMERIC = (
    "machine.nproc",
    "machine.memory_gib",
    "harness.suite.requests",
    "harness.suite.wall_s",
    "harness.suite.session_s",
    "harness.suite.rps_wall",
    "harness.suite.rps_session",
    "harness.loop.requests",
    "harness.loop.wall_s",
    "harness.loop.rps",
    "harness.ratio_wall",
    "harness.ratio_session",
    "harness.harness_overhead_ms_per_request",
    "scaling.serial.wall_s",
    "scaling.n2.wall_s",
    "scaling.ratio",
    "remote.delay_ms",
    "remote.loopback_cpu_s",
    "remote.runs.serial.wall_s",
    "remote.runs.serial.requests",
    "remote.runs.serial.bound_s",
    "remote.runs.n2.wall_s",
    "remote.runs.n2.bound_s",
    "remote.speedup.n2",
    "fuzz.examples",
    "fuzz.harness.requests",
    "fuzz.harness.wall_s",
    "fuzz.harness.rps",
    "fuzz.schemathesis_cli.requests",
    "fuzz.schemathesis_cli.wall_s",
    "fuzz.schemathesis_cli.rps",
    "fuzz.ratio",
    "reference.small.ledger_rows",
    "reference.small.deep_offset",
    "reference.small.first_page.p50_ms",
    "reference.small.first_page.p99_ms",
    "reference.small.first_page.sequential_rps",
    "reference.small.deep_page.p50_ms",
    "reference.small.deep_page.p99_ms",
    "reference.small.deep_page.sequential_rps",
    "reference.small.throughput.first_page.rps",
    "reference.small.throughput.deep_page.rps",
    "reference.small.deep_over_first_p50",
    "proxy.latency.direct_page.p50_ms",
    "proxy.latency.proxied_page.p50_ms",
    "proxy.overhead_ms.page.p50_ms",
    "proxy.proxy_judged",
    "validate.exchanges",
    "validate.judged",
    "validate.exchanges_per_s",
    "validate.peak_rss_mib",
)


def _problems(data: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if data.get("format") != "points-conformance-bench/1" or data.get("smoke") is not True:
        problems.append(f"format/smoke: {data.get('format')!r}, {data.get('smoke')!r}")
    sections = ["machine", "harness", "scaling", "remote", "fuzz", "reference", "prism", "proxy"]
    sections.append("validate")
    for name in (*sections, "targets"):
        if name not in data:
            problems.append(f"no section {name}")
    for name in ("harness", "scaling", "remote", "fuzz", "reference.small", "proxy", "validate"):
        section = _at(data, name)
        if "error" in section:
            problems.append(f"{name}: {section['error']}")
    if data["reference"].get("large") != {"skipped": True, "reason": "--skip-large"}:
        problems.append(f"reference.large: {data['reference'].get('large')!r}")
    if data["prism"] != {"skipped": True, "reason": "--skip-prism"}:
        problems.append(f"prism: {data['prism']!r}")
    for path in NUMERIC:
        value = _at(data, path)
        if not _number(value):
            problems.append(f"{path} = {value!r} is not a number")
    # requests are counted at the server: every run that sends anything must show it
    for path in (
        "harness.suite.requests",
        "remote.runs.serial.requests",
        "remote.runs.n2.requests",
        "fuzz.harness.requests",
        "fuzz.schemathesis_cli.requests",
        "proxy.proxy_judged",
        "validate.judged",
    ):
        if not _at(data, path) > 0:
            problems.append(f"{path} = {_at(data, path)!r}, expected requests")
    # the plain loop sends exactly the requests the suite sent in its recording run
    if data["harness"]["loop"]["requests"] != data["harness"]["recording_run"]["requests"]:
        problems.append("the plain loop did not send the recorded requests")
    names = [t["name"] for t in data["targets"]]
    for part in ("plain loop", "-n 2", "small store"):
        if not any(part in n for n in names):
            problems.append(f"no target about {part!r}")
    for target in data["targets"]:
        if not _number(target["value"]) or not isinstance(target["met"], bool):
            problems.append(f"target {target!r}")
    return problems


def test_smoke_run_writes_every_section(tmp_path: Path) -> None:
    # One test, one run: the smoke run starts servers and pytest runs of its own, and under
    # pytest-xdist several tests here would each start one.
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "bench", "--smoke", "--skip-large", "--skip-prism"]
    result = subprocess.run(
        [*command, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT,
        check=False,
    )
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert "bench: wrote" in result.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert _problems(data) == [], output


def test_points_conformance_bench_reaches_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "points_conformance.cli", "bench", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--smoke" in result.stdout


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_out_file_that_cannot_be_written_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    for out, problem in ((tmp_path, "is a directory"), (blocker / "bench.json", "not a directory")):
        result = _bench("bench", "--smoke", "--out", str(out))
        assert result.returncode == 2, result.stderr
        assert f"--out {out}: " in result.stderr and problem in result.stderr
        assert "bench: harness" not in result.stdout
        assert "Traceback" not in result.stderr


def test_the_profiler_refuses_an_out_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    result = _bench("bench.profile", "--out-dir", str(blocker))
    assert result.returncode == 2, result.stderr
    assert "is not a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_results_that_cannot_go_to_out_go_to_a_temporary_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    written = write_results(blocker / "bench.json", '{"figures": 1}\n')
    try:
        assert written.read_text(encoding="utf-8") == '{"figures": 1}\n'
        assert written.parent == Path(tempfile.gettempdir())
        assert f"could not write {blocker / 'bench.json'}" in capsys.readouterr().err
    finally:
        written.unlink()
