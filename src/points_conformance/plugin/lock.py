"""Keeps tests that change data apart from the tests that depend on it, across xdist workers.

What a test works on is named by the target file's keys: `customers.<role>`, `groups.<role>`,
`redemptions`, `transfer.pair_ids`. A test marked `writes` names what it changes with
`@pytest.mark.touches(KEY, ...)` (no key: it changes nothing other tests read, as a
transferability check that issues no OTP); a test whose result rests on data not changing
while it runs (a ledger walked page by page, a balance read before and after) names that data
with `@pytest.mark.reads(KEY, ...)`. Under pytest-xdist each test then holds, for its whole run, a
lock per named resource: exclusively what it touches, shared what it reads, so that writes to
different customers run side by side and a walk waits only for writes to its own ledger. A
`writes` test that names nothing it touches holds the whole run exclusively (every other test
holds the run shared), the safe default for a write nobody described.

Tests that change the same data also run on one worker, one after another: waiting for a lock held
by another worker would idle this one. A run given `-n N` without `--dist` is scheduled by group
(`scheduling.GroupScheduling`): the tests sharing exclusive resources form one group
(`resource_groups`), with the tests that only read what the group writes most of the time, and the
group goes to one worker, largest groups first, its property-based tests last; every other test
goes to whichever worker is free, one at a time in collection order. The workers write the groups
into the lock folder as they collect, in the order each group runs, and the controller's scheduler
reads them. A `--dist` the user names is kept (the locks still keep the results right; a worker may
wait for one).

The locks are pairs of files in a folder the controller makes and names to every worker. Two
keys naming the same customer or group in the target data share one lock, and a customer's
write also takes the groups that list it as a member (their ledgers show it). A test takes its
locks in one order (the run first, then the resources sorted), so no two tests wait for each
other.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shlex
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from points_conformance.target import TargetData

# The workerinput key naming the lock folder.
LOCK_KEY = "points_conformance_lock"
# The workerinput key asking a worker to write the tests' groups for the controller.
GROUPS_KEY = "points_conformance_groups"
# The file in the lock folder holding them: {nodeid: group} for tests with exclusive resources.
GROUPS_FILE = "groups.json"
GROUPS_STASH = pytest.StashKey[Path]()
LOCK_STASH = pytest.StashKey["RunLocks"]()
TOUCHES = "touches"
READS = "reads"
MARKERS = {
    TOUCHES: "touches(KEY, ...): target-file keys of the data a `writes` test changes "
    "(customers.ROLE, groups.ROLE, redemptions, transfer.pair_ids); under -n the test holds "
    "those alone exclusively instead of the whole run",
    READS: "reads(KEY, ...): target-file keys of data that must not change while the test runs "
    "(a ledger walk, a balance read before and after); under -n held shared",
}
RUN = "run"
# redemptions.identifier_type -> the target file's customer field.
_REDEEMER_FIELDS = {"mobile": "mobile", "email": "email", "externalid": "external_id"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class FairLock:
    """A fair readers-writer lock over two files: `<name>.gate` and `<name>.rw`.

    A holder waiting for the exclusive lock keeps the gate, so readers that arrive after it
    queue behind it instead of starving it.
    """

    def __init__(self, directory: str | Path, name: str) -> None:
        import fcntl  # POSIX only: `available()` says whether the run can have the lock

        self._fcntl = fcntl
        self._gate: IO[str] = open(Path(directory) / f"{name}.gate", "a+")
        self._rw: IO[str] = open(Path(directory) / f"{name}.rw", "a+")

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


@dataclass(frozen=True)
class LockPlan:
    """What one test holds: the run exclusively, or the run shared and these resources."""

    whole_run: bool
    exclusive: frozenset[str] = frozenset()
    shared: frozenset[str] = frozenset()

    def steps(self) -> list[tuple[str, bool]]:
        """(lock name, exclusive) in the order they are taken: the run, then sorted."""
        if self.whole_run:
            return [(RUN, True)]
        wanted = {name: False for name in self.shared}
        wanted.update({name: True for name in self.exclusive})
        return [(RUN, False), *sorted(wanted.items())]


def _customer_identity(target: TargetData, role: str) -> str | None:
    customer = target.customer(role)
    if customer is None:
        return None
    for field in ("id", "mobile", "email", "external_id"):
        value = getattr(customer, field, None)
        if value:
            return f"customer-{field}-{value}"
    return None


def _redeemer_identity(target: TargetData) -> str | None:
    """The role customer the redemptions belong to, when the target names one that way."""
    field = _REDEEMER_FIELDS.get(str(target.redemptions.get("identifier_type") or "").lower())
    value = str(target.redemptions.get("identifier_value") or "")
    if field is None or not value:
        return None
    for role, customer in target.customers.items():
        if str(getattr(customer, field, None) or "") == value:
            return _customer_identity(target, role)
    return None


def resources(key: str, target: TargetData | None, *, writing: bool) -> set[str]:
    """The lock names a target-file key stands for.

    A customer or group is locked by who it is, so that two roles naming one customer share a
    lock; a customer written also locks the groups listing it as a member.
    """
    kind, _, role = key.partition(".")
    if target is None:
        return {key}
    identity: str | None = None
    member_of: list[str] = []
    if kind == "customers":
        identity = _customer_identity(target, role)
        customer = target.customer(role)
        if writing and customer is not None and customer.id:
            member_of = [
                f"group-{g.id}" for g in target.groups.values() if customer.id in g.member_ids
            ]
    elif kind == "groups":
        group = target.group(role)
        identity = f"group-{group.id}" if group is not None and group.id else None
    elif key == "redemptions":
        identity = _redeemer_identity(target)
    return {identity or key, *member_of}


def _keys(item: pytest.Item, marker: str) -> set[str]:
    return {str(arg) for mark in item.iter_markers(marker) for arg in mark.args}


def plan_for(item: pytest.Item, target: TargetData | None) -> LockPlan:
    """The locks `item` holds under pytest-xdist (see the module's docstring)."""
    # `touches()` without keys is a description too: a write that changes nothing read.
    described = item.get_closest_marker(TOUCHES) is not None
    if item.get_closest_marker("writes") is not None and not described:
        return LockPlan(whole_run=True)
    touched = _keys(item, TOUCHES)
    exclusive = _names(touched, target, writing=True)
    shared = _names(_keys(item, READS), target, writing=False) - exclusive
    return LockPlan(whole_run=False, exclusive=frozenset(exclusive), shared=frozenset(shared))


def _names(keys: Iterable[str], target: TargetData | None, *, writing: bool) -> set[str]:
    return {name for key in keys for name in resources(key, target, writing=writing)}


class RunLocks:
    """This worker's handles on the run's locks, opened as tests first need them."""

    def __init__(self, directory: str, target: TargetData | None) -> None:
        self.directory = directory
        self.target = target
        self._locks: dict[str, FairLock] = {}
        self._held: list[FairLock] = []

    def _lock(self, name: str) -> FairLock:
        if name not in self._locks:
            digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]
            stem = f"{_UNSAFE.sub('_', name)[:40]}-{digest}"
            self._locks[name] = FairLock(self.directory, stem)
        return self._locks[name]

    def acquire(self, plan: LockPlan) -> None:
        for name, exclusive in plan.steps():
            lock = self._lock(name)
            lock.acquire(exclusive)
            self._held.append(lock)

    def release(self) -> None:
        while self._held:
            self._held.pop().release()

    def close(self) -> None:
        self.release()
        for lock in self._locks.values():
            lock.close()
        self._locks.clear()


def available() -> bool:
    """Whether file locks exist here (not on Windows, where workers then run unlocked)."""
    return importlib.util.find_spec("fcntl") is not None


def _dist_named(config: pytest.Config) -> bool:
    """Whether the user chose a distribution mode (on the command line, in addopts, or in
    PYTEST_ADDOPTS), rather than pytest-xdist's default `load` for `-n`."""
    addopts = config.getini("addopts")
    args = [*config.invocation_params.args, *(addopts if isinstance(addopts, list) else [])]
    args += shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))
    return any(a in ("--dist", "-d") or a.startswith("--dist=") for a in args)


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def _groups_wanted(config: pytest.Config) -> bool:
    """On the controller: whether this run is scheduled by the tests' resource groups."""
    return config.getoption("dist", "no") == "load" and not _dist_named(config)


@pytest.hookimpl(optionalhook=True, trylast=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: ask every worker for the tests' groups when the run is scheduled by them.
    trylast: the session plugin has named the lock folder by then."""
    lock_dir = node.workerinput.get(LOCK_KEY)
    if isinstance(lock_dir, str) and _groups_wanted(node.config):
        node.workerinput[GROUPS_KEY] = True
        node.config.stash[GROUPS_STASH] = Path(lock_dir) / GROUPS_FILE


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a worker asked for them: write each test's group (its exclusive resources) where the
    controller's scheduler reads them. tryfirst: before other plugins look at the items."""
    workerinput = getattr(config, "workerinput", None)
    locks = config.stash.get(LOCK_STASH, None)
    if not isinstance(workerinput, dict) or not workerinput.get(GROUPS_KEY) or locks is None:
        return
    # In a group the property-based tests come last: they are the run's CPU-heavy tests, and on
    # two cores they take several times longer at the start, when every worker starts up and
    # fuzzes, than late, while the group's worker is the last one busy.
    ordered = sorted(items, key=lambda item: item.get_closest_marker("fuzz") is not None)
    planned = [(item.nodeid, plan_for(item, locks.target)) for item in ordered]
    grouped = resource_groups(planned)
    groups = {nodeid: grouped[nodeid] for nodeid, _ in planned if nodeid in grouped}
    # Every worker collects the same tests: each writes the same file, whole, under its name.
    path = Path(locks.directory) / GROUPS_FILE
    scratch = path.with_name(f"{GROUPS_FILE}.{workerinput.get('workerid', os.getpid())}")
    scratch.write_text(json.dumps(groups), encoding="utf-8")
    os.replace(scratch, path)


@dataclass
class _Group:
    name: str
    # What its largest set of tests holds exclusively: held most of the group's run.
    core: frozenset[str]
    resources: set[str]


def resource_groups(plans: Sequence[tuple[str, LockPlan]]) -> dict[str, str]:
    """{nodeid: group} for the tests that one worker should run one after another.

    Tests holding the same resources exclusively form a set; the sets, largest first, each join
    the first group already holding any of their resources, or start one. A test that only reads
    what a group's largest set writes joins that group too: anywhere else it would wait for most
    of the group's run. Two groups can still share a resource through a small set that joined
    one of them; its lock keeps them apart for that set's tests alone.
    """
    sets: dict[frozenset[str], list[str]] = {}
    for nodeid, plan in plans:
        if plan.exclusive and not plan.whole_run:
            sets.setdefault(plan.exclusive, []).append(nodeid)
    found: dict[str, str] = {}
    groups: list[_Group] = []
    for held, nodeids in sorted(sets.items(), key=lambda entry: -len(entry[1])):
        group = next((g for g in groups if g.resources & held), None)
        if group is None:
            group = _Group("+".join(sorted(held)), held, set(held))
            groups.append(group)
        group.resources |= held
        found.update(dict.fromkeys(nodeids, group.name))
    for nodeid, plan in plans:
        if nodeid not in found and not plan.whole_run:
            reader_of = next((g for g in groups if g.core & plan.shared), None)
            if reader_of is not None:
                found[nodeid] = reader_of.name
    return found


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist: a run given `-n` without `--dist` is scheduled by the tests' groups."""
    path = config.stash.get(GROUPS_STASH, None)
    if path is None:
        return None
    from points_conformance.plugin.scheduling import GroupScheduling

    return GroupScheduling(config, log, path)


def join_lock(
    config: pytest.Config, workerinput: dict[str, Any], target: TargetData | None
) -> None:
    """On a worker: take part in the locks the controller named, if it named a folder."""
    lock_dir = workerinput.get(LOCK_KEY)
    if isinstance(lock_dir, str):
        locks = RunLocks(lock_dir, target)
        config.stash[LOCK_STASH] = locks
        config.add_cleanup(locks.close)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[Any, Any, Any]:
    locks = item.config.stash.get(LOCK_STASH, None)
    if locks is None:
        return (yield)
    locks.acquire(plan_for(item, locks.target))
    try:
        return (yield)
    finally:
        locks.release()
