"""Suite runs against servers that fail in different ways, each failure re-checked before the
verdict: a server that breaks one answer in three at random is labelled intermittent, one that
breaks every answer confirmed, a 502 now and then or a connection cut mid-body transient; and
`--tolerate` lets through only the labels it names.

The flaky servers draw from a seeded generator (`misbehaving.FLAKY_SEED`) and the runs are
serial, so each run meets the same failures every time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from points_conformance.embedded import EmbeddedServer, start_embedded
from points_conformance.records import CONFIRMED, INTERMITTENT, TRANSIENT

from .misbehaving import MisbehavingServer
from .test_robustness import PASSWORD, REPORT_FILES, USER, run_suite

# Sixteen GETs, each test judging its first answer: re-sending them changes nothing.
READS = ("tests/conformance/test_transfer_history.py",)


@pytest.fixture(scope="module")
def reference() -> Iterator[EmbeddedServer]:
    with start_embedded(username=USER, password=PASSWORD) as server:
        yield server


@dataclass(frozen=True)
class Case:
    """A misbehaviour, how its failures must be labelled, and what the gate then says."""

    mode: str
    label: str
    recheck: str
    tolerate: str
    code: int


# What `run` exits with once tolerated failures are let through: the run is a selection of the
# suite, so the verdict is incomplete at best.
LET_THROUGH = 3

CASES = (
    # One answer in three cut short: re-sent, the same request mostly comes back whole.
    Case("flaky", INTERMITTENT, "3", "intermittent", LET_THROUGH),
    # The same defect on every answer: failed again the same way on each re-check.
    Case("wrong-content-type", CONFIRMED, "2", "all", 1),
    # A 502 one request in three: gone when re-sent, and never tolerated unless asked.
    Case("flaky-502", TRANSIENT, "3", "intermittent", 1),
    # A connection cut mid-body one request in three: the request is sent again, and answered.
    Case("flaky-midbody", TRANSIENT, "3", "transient", LET_THROUGH),
    # Every connection cut mid-body: cut again on every re-send, so confirmed, and no pass.
    Case("midbody", CONFIRMED, "2", "all", 1),
)


@pytest.mark.parametrize("case", CASES, ids=[c.mode for c in CASES])
def test_failures_are_labelled_and_gated(
    case: Case, reference: EmbeddedServer, tmp_path: Path
) -> None:
    env = {"POINTS_CONFORMANCE_USER": reference.username, "POINTS_CONFORMANCE_PASSWORD": PASSWORD}
    with MisbehavingServer(case.mode, upstream=reference.url) as server:
        run = run_suite(
            [
                *READS,
                "--base-url",
                server.url,
                "--target",
                str(reference.target_file),
                "--timeout",
                "5",
                "--recheck",
                case.recheck,
                "--tolerate",
                case.tolerate,
            ],
            tmp_path / "reports",
            entry="run",
            env=env,
        )
        seen = server.seen()
    assert sorted(p.name for p in run.report_dir.iterdir()) == list(REPORT_FILES), run.text
    report = run.report
    # Every re-send is traffic the report owns up to.
    assert report["requests"] == len(seen)
    failed = {rid: r for rid, r in report["requirements"].items() if r["status"] == "failed"}
    assert failed, run.text
    assert {rid: r["confirmation"] for rid, r in failed.items()} == dict.fromkeys(
        failed, case.label
    )
    section = report["confirmation"]
    assert section["rechecks"] == int(case.recheck)
    assert section["labels"][case.label] == len(failed)
    tolerated = case.label in section["tolerate"]
    assert section["let_through"] == (len(failed) if tolerated else 0)
    assert run.code == case.code, run.text
    summary = (run.report_dir / "summary.md").read_text()
    assert f"Failed requirements: {len(failed)} {case.label}" in summary
    junit = (run.report_dir / "junit.xml").read_text()
    assert f'type="nonconformance-{case.label}"' in junit
    assert f'class="badge c-{case.label}"' in (run.report_dir / "conformance.html").read_text()
    if case.code == LET_THROUGH:
        assert report["verdict_kind"] == "incomplete", report["verdict"]
        assert f"{len(failed)} failed requirements let through" in run.out
    # The re-checks went out: every failing read was sent again as often as asked.
    rechecked = [f["recheck"] for r in failed.values() for f in r["findings"] if f.get("recheck")]
    assert rechecked and all(r["sent"] == int(case.recheck) for r in rechecked)


FAULT = "history-email-unsupported"
FAULT_REQUIREMENT = "XFERHIST-PARAM-IDENTIFIER"


@pytest.fixture(scope="module")
def faulty() -> Iterator[EmbeddedServer]:
    """The reference server with one deterministic fault of the transfer history."""
    with start_embedded(username=USER, password=PASSWORD, faults=[FAULT]) as server:
        yield server


@pytest.mark.parametrize("mode", [None, "flaky-502"], ids=["direct", "behind-flaky-502"])
def test_a_deterministic_fault_is_confirmed_even_through_502s(
    mode: str | None, faulty: EmbeddedServer, tmp_path: Path
) -> None:
    """A re-send lost to a 502 is inconclusive, so a defect stays confirmed and is never let
    through, however flaky the way to it."""
    env = {"POINTS_CONFORMANCE_USER": faulty.username, "POINTS_CONFORMANCE_PASSWORD": PASSWORD}
    proxy = MisbehavingServer(mode, upstream=faulty.url) if mode else None
    with proxy if proxy is not None else contextlib.nullcontext():
        run = run_suite(
            [
                *READS,
                "--base-url",
                proxy.url if proxy is not None else faulty.url,
                "--target",
                str(faulty.target_file),
                "--recheck",
                "3",
                "--tolerate",
                "all",
            ],
            tmp_path / "reports",
            entry="run",
            env=env,
        )
    report = run.report
    record = report["requirements"][FAULT_REQUIREMENT]
    assert record["status"] == "failed" and record["confirmation"] == CONFIRMED, record
    assert FAULT_REQUIREMENT not in report["confirmation"]["let_through_ids"]
    assert report["verdict"] == "does not conform"
    assert run.code == 1, run.text
    if mode is None:
        assert report["confirmation"]["labels"] == {
            CONFIRMED: 1,
            INTERMITTENT: 0,
            TRANSIENT: 0,
            "unchecked": 0,
        }
