"""The fixtures conformance tests use, the recorder of their findings, and the typed skips.

A test that cannot run for want of target data raises `TargetDataMissing` (through `require*`
or `skip_missing`), one that may not write raises `WritesRefused`: both are the standard
library's SkipTest, which pytest takes as a skip, and `plugin.recording` copies what they carry
(the missing target-file keys, the refused writes) into the test's record, so that the report
names what would let each unchecked requirement run without reading the skip's text.
"""

from __future__ import annotations

import dataclasses
import unittest
from collections.abc import Callable, Generator, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

from points_conformance.client import ConformanceClient
from points_conformance.har.writing import HarWriter, worker_path
from points_conformance.model import Exchange, Finding
from points_conformance.plugin.options import RECORD_HAR_DEST
from points_conformance.plugin.session import get_settings, ready_settings, state_of
from points_conformance.records import FuzzFigures
from points_conformance.settings import Settings
from points_conformance.target import CUSTOMER_ROLES, GROUP_ROLES, Customer, Group, TargetData

if TYPE_CHECKING:
    from points_conformance.checks import CheckContext
    from points_conformance.fuzz.outcomes import OperationStats

T = TypeVar("T")

WRITES_REASON = "writes need --allow-writes against non-loopback targets"


class TargetDataMissing(unittest.SkipTest):
    """A skip for want of target data; `keys` are the dotted target-file keys the test lacked
    (`detail` says whether it needs one of them or all)."""

    def __init__(self, keys: Iterable[str], detail: str = "") -> None:
        self.keys = tuple(dict.fromkeys(keys))
        named = " / ".join(self.keys)
        super().__init__(f"target file has no {named}" + (f" ({detail})" if detail else ""))


class WritesRefused(unittest.SkipTest):
    """A skip because writes may not go to this target (off loopback without --allow-writes)."""

    def __init__(self) -> None:
        super().__init__(WRITES_REASON)


def skip_missing(*keys: str, detail: str = "") -> NoReturn:
    """Skip this test for want of the target-file `keys`."""
    raise TargetDataMissing(keys, detail)


RECORDER_KEY = pytest.StashKey["FindingsRecorder"]()
FUZZ_KEY = pytest.StashKey[list[FuzzFigures]]()
CLIENT_KEY = pytest.StashKey[ConformanceClient]()


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Settings:
    """The run's resolved settings (CLI flags > environment > target file > defaults)."""
    return ready_settings(pytestconfig)


@pytest.fixture(scope="session")
def target(settings: Settings) -> TargetData:
    """What the target file says about the server's test data."""
    return settings.target_data


@pytest.fixture(scope="session")
def client(pytestconfig: pytest.Config, settings: Settings) -> Generator[ConformanceClient]:
    """The shared HTTP client: auth, rate limit, 429 retries, same-origin redirects only."""
    state_of(pytestconfig)
    instance = ConformanceClient(settings)
    pytestconfig.stash[CLIENT_KEY] = instance
    recording = _har_writer(pytestconfig)
    if recording is not None:
        instance.listeners.append(recording.add)
    try:
        yield instance
    finally:
        instance.close()
        if recording is not None:
            recording.close()


def _har_writer(config: pytest.Config) -> HarWriter | None:
    """The writer of `--record-har FILE`, one file per pytest-xdist worker; None without it."""
    wanted = config.getoption(RECORD_HAR_DEST, None)
    if not wanted:
        return None
    worker = getattr(config, "workerinput", {}).get("workerid")
    return HarWriter(worker_path(Path(wanted), worker))


@pytest.fixture(scope="session")
def check_context(settings: Settings) -> CheckContext:
    """The context every check runs with: stance, org timezone, org and connected orgs."""
    from points_conformance.checks.context import context_for  # late: checks load the specs

    return context_for(settings)


class FindingsRecorder:
    """Collects a test's findings; the test fails at the end when there are any."""

    def __init__(
        self, settings: Callable[[], Settings | None], context: Callable[[], CheckContext]
    ) -> None:
        self._settings = settings
        self._context = context
        self.findings: list[Finding] = []

    def add(self, findings: Finding | Iterable[Finding]) -> None:
        if isinstance(findings, Finding):
            self.findings.append(findings)
            return
        for finding in findings:
            if not isinstance(finding, Finding):
                raise TypeError(f"findings.add() takes Finding objects, not {type(finding)!r}")
            self.findings.append(finding)

    def check(self, exchange: Exchange) -> list[Finding]:
        """Run every registered check on `exchange`, record and return what they found."""
        from points_conformance.checks import run_checks

        found = list(run_checks(self._context(), exchange))
        self.add(found)
        return found

    def context(self) -> CheckContext:
        """The context the test's checks ran with; re-checks judge fresh answers with it."""
        return self._context()

    def __len__(self) -> int:
        return len(self.findings)

    def failure_message(self) -> str:
        count = len(self.findings)
        lines = [f"{count} finding{'s' if count != 1 else ''}:"]
        for finding in self.findings:
            lines.append(f"[{finding.requirement}] {finding.message}")
            if finding.expected:
                lines.append(f"    expected: {finding.expected}")
            if finding.actual:
                lines.append(f"    actual:   {finding.actual}")
            if finding.discrepancy:
                lines.append(f"    depends on: {finding.discrepancy} (specs/discrepancies.yaml)")
            if finding.exchange is not None:
                lines.append(f"    operation: {finding.exchange.operation}")
                lines.append(f"    repro:    {finding.exchange.request.to_curl()}")
        text = "\n".join(lines)
        # Settings are read now, not when the recorder was made: a lazily started embedded
        # server brings its own credentials.
        current = self._settings()
        return current.redact(text) if current is not None else text


@pytest.fixture
def findings(request: pytest.FixtureRequest) -> FindingsRecorder:
    """Recorder for this test's findings: `findings.add(list)` or `findings.check(exchange)`."""
    config = request.config

    def context() -> CheckContext:
        found: CheckContext = request.getfixturevalue("check_context")
        return found

    recorder = FindingsRecorder(lambda: get_settings(config), context)
    request.node.stash[RECORDER_KEY] = recorder
    return recorder


@pytest.fixture
def record_findings(findings: FindingsRecorder) -> Callable[[Iterable[Finding]], None]:
    """`record_findings(list)`: the same as `findings.add`."""
    return findings.add


@pytest.fixture
def record_fuzz(request: pytest.FixtureRequest) -> Callable[[str, OperationStats], None]:
    """`record_fuzz(operation, stats)`: how the target answered a fuzz run, for the report."""
    kept = request.node.stash.setdefault(FUZZ_KEY, [])

    def record(operation: str, stats: OperationStats) -> None:
        statuses = {str(code): n for code, n in sorted(stats.statuses.items())}
        kept.append(FuzzFigures(operation, stats.requests, stats.answered_200, statuses))

    return record


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str | tuple | list | dict) and len(value) == 0)


def lookup_target(data: TargetData, path: str) -> Any:
    """The value at a dotted target-file key (`customers.rich.mobile`), or None when missing."""
    node: Any = data
    parts = path.split(".")
    if parts and parts[0] == "target":
        parts = parts[1:]
    for part in parts:
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            node = getattr(node, part, None)
        elif isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list | tuple) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
        if _missing(node):
            return None
    return node


@pytest.fixture
def require(target: TargetData) -> Callable[[str], Any]:
    """`require("cross_member.member_id")`: the value, or skip naming the missing key."""

    def need(path: str) -> Any:
        value = lookup_target(target, path)
        if value is None:
            skip_missing(path)
        return value

    return need


def _role_lookup(
    find: Callable[[str], T | None], section: str, roles: dict[str, str]
) -> Callable[[str], T]:
    """`find(role)`, or skip naming [<section>.<role>] and what that role is for."""

    def need(role: str) -> T:
        found = find(role)
        if found is None:
            what = roles.get(role)
            skip_missing(f"{section}.{role}", detail=what or "")
        return found

    return need


@pytest.fixture
def require_customer(target: TargetData) -> Callable[[str], Customer]:
    """`require_customer("rich")`: that customer, or skip naming [customers.<role>]."""
    return _role_lookup(target.customer, "customers", CUSTOMER_ROLES)


@pytest.fixture
def require_group(target: TargetData) -> Callable[[str], Group]:
    """`require_group("fleet")`: that group, or skip naming [groups.<role>]."""
    return _role_lookup(target.group, "groups", GROUP_ROLES)


@pytest.fixture
def writes_allowed(settings: Settings) -> bool:
    """Skips the test unless writes may go to this target (loopback, or --allow-writes)."""
    if not settings.writes_permitted:
        raise WritesRefused
    return True
