"""Keeps writing tests apart from reading ones across the pytest-xdist workers of one run.

A test that writes must not run while another test is in the middle of reading the same data (a
ledger walked page by page, a balance read twice), or the parallel run finds what the serial run
does not. The controller makes a folder for two lock files and names it to every worker.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

# The workerinput key naming the lock folder.
LOCK_KEY = "points_conformance_lock"
LOCK_STASH = pytest.StashKey["WriteLock"]()


class WriteLock:
    """A fair readers-writer lock over two lock files.

    Tests marked `writes` hold it exclusively, all others shared; the gate file makes readers
    that arrive while a writer waits queue behind it.
    """

    def __init__(self, directory: str) -> None:
        import fcntl  # POSIX only: `available()` says whether the run can have the lock

        self._fcntl = fcntl
        self._gate = open(Path(directory) / "gate.lock", "a+")
        self._rw = open(Path(directory) / "rw.lock", "a+")

    def acquire(self, exclusive: bool) -> None:
        fcntl = self._fcntl
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(self._rw, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            fcntl.flock(self._gate, fcntl.LOCK_UN)

    def release(self) -> None:
        self._fcntl.flock(self._rw, self._fcntl.LOCK_UN)

    def close(self) -> None:
        self._gate.close()
        self._rw.close()


def available() -> bool:
    """Whether file locks exist here (not on Windows, where workers then run unlocked)."""
    return importlib.util.find_spec("fcntl") is not None


def join_lock(config: pytest.Config, workerinput: dict[str, Any]) -> None:
    """On a worker: take part in the lock the controller named, if it named one."""
    lock_dir = workerinput.get(LOCK_KEY)
    if isinstance(lock_dir, str):
        lock = WriteLock(lock_dir)
        config.stash[LOCK_STASH] = lock
        config.add_cleanup(lock.close)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[Any, Any, Any]:
    lock = item.config.stash.get(LOCK_STASH, None)
    if lock is None:
        return (yield)
    lock.acquire(exclusive=item.get_closest_marker("writes") is not None)
    try:
        return (yield)
    finally:
        lock.release()
