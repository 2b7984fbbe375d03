"""Seeded databases for tests and benchmarks: seed once, hand each user a private copy.

Seeding is deterministic but not free, and tests that write (transfers, reversals) must not see
each other's changes, so a test session builds one template per (seed, size) and copies the
file for every test that needs a fresh store.
"""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # starlette announces a future switch of its test client's HTTP library on import
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from points_conformance.reference.app import DEFAULT_CREDENTIALS, create_app
from points_conformance.reference.behaviour import Behaviour, Hooks
from points_conformance.reference.seed import seed_database
from points_conformance.reference.store import Store, open_store

__all__ = [
    "TestClient",
    "app_client",
    "build_template",
    "copy_database",
    "fresh_store",
    "remove_database",
]


def build_template(directory: str | Path, *, seed: int = 0, size: str | int = "small") -> Path:
    """Seed a database file in `directory` and fold its WAL into it; returns the file."""
    path = Path(directory) / f"template-{seed}-{size}.db"
    store = open_store(path)
    try:
        seed_database(store, seed=seed, size=size)
        store.conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return path


def copy_database(template: str | Path, destination: str | Path) -> Path:
    """A private copy of a template built by `build_template`."""
    dest = Path(destination)
    with sqlite3.connect(template) as src, sqlite3.connect(dest) as dst:
        src.backup(dst)
    return dest


def fresh_store(template: str | Path, destination: str | Path) -> Store:
    """An open store on a private copy of `template`."""
    return open_store(copy_database(template, destination))


def remove_database(path: str | Path) -> None:
    """Delete a database file with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def app_client(
    store: Store,
    behaviour: Behaviour | None = None,
    hooks: Hooks | None = None,
    credentials: tuple[str, str] = DEFAULT_CREDENTIALS,
) -> TestClient:
    """An in-process HTTP client of a reference app on `store`, logged in with `credentials`."""
    client = TestClient(create_app(store, behaviour, hooks, credentials))
    client.auth = credentials
    return client
