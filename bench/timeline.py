"""A pytest plugin (`-p bench.timeline`) that records when each process starts and runs tests.

For every test it keeps when the test's protocol began, when its setup began and when it
ended: the gap between the first two is time spent waiting in other protocol wrappers (the
conformance plugin's cross-worker write lock). Each process (the controller, or each xdist
worker) writes one JSON file to $POINTS_BENCH_TIMELINE at the end of the session.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

ENV = "POINTS_BENCH_TIMELINE"
STARTED = time.time()
_setup: dict[str, float] = {}
_tests: list[dict[str, Any]] = []


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[Any]:
    began = time.time()
    try:
        return (yield)
    finally:
        ended = time.time()
        _tests.append({"began": began, "setup": _setup.pop(item.nodeid, ended), "ended": ended})


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None]:
    _setup[item.nodeid] = time.time()
    return (yield)


def pytest_sessionfinish(session: pytest.Session) -> None:
    directory = os.environ.get(ENV)
    if not directory:
        return
    name = os.environ.get("PYTEST_XDIST_WORKER", "main")
    Path(directory).mkdir(parents=True, exist_ok=True)
    data = {"process_started": STARTED, "tests": _tests}
    (Path(directory) / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")


def summarize(directory: Path, launched: float) -> dict[str, Any]:
    """Per process that ran tests: seconds from launch to its first test and to its last,
    seconds spent waiting before setup, and seconds inside tests."""
    found: dict[str, Any] = {}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        tests = data.get("tests") or []
        if not tests:
            continue
        found[path.stem] = {
            "tests": len(tests),
            "first_test_at_s": round(min(t["began"] for t in tests) - launched, 2),
            "last_test_done_at_s": round(max(t["ended"] for t in tests) - launched, 2),
            "waiting_s": round(sum(t["setup"] - t["began"] for t in tests), 2),
            "in_tests_s": round(sum(t["ended"] - t["setup"] for t in tests), 2),
        }
    return found
