"""The pytest plugin behind the conformance suite (entry point `points_conformance`).

It owns the command-line options, resolves them into the single `Settings` object, checks that
the OpenAPI description parses, starts the embedded reference server when no target is given
(or else checks, before any test, that the target accepts connections), validates
`@pytest.mark.requirement` IDs against the catalogue, derives operation markers from them,
provides the fixtures tests use (`settings`, `target`, `client`, `check_context`, `findings` /
`record_findings`, `require_customer`, `require_group`, `require`, `writes_allowed`), keeps
writing tests apart from reading ones across pytest-xdist workers, fails a test that recorded
findings with a readable, credential-free message, and hands each test's results to the report
through `user_properties`, which survive pytest-xdist.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import re
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from points_conformance.client import (
    ClientStats,
    ConformanceClient,
    TargetUnreachable,
    TransportFailure,
    probe,
)
from points_conformance.model import Exchange, Finding
from points_conformance.settings import OPTIONS, Settings, SettingsError, resolve_settings
from points_conformance.target import (
    CUSTOMER_ROLES,
    GROUP_ROLES,
    Customer,
    Group,
    TargetData,
    TargetFileError,
    parse_target,
)

# operationId -> marker, so that `-m transfer` selects every test of both transfer operations.
OPERATION_MARKERS: dict[str, str] = {
    "getCustomerLedgerInfo": "ledger",
    "getCustomerLedgerInfoConnectedOrgs": "connected_orgs",
    "getCrossMemberLedger": "cross_member",
    "getCustomerLedgerBalance": "balance",
    "isTransferrable": "transfer_check",
    "isTransferrableUserGroup": "transfer_check",
    "transferPoints": "transfer",
    "transferPointsUserGroup": "transfer",
    "getPointsTransfers": "transfer_history",
    "reversePoints": "reverse",
}
WRITE_OPERATIONS = frozenset({"transferPoints", "transferPointsUserGroup", "reversePoints"})
MARKER_HELP: dict[str, str] = {
    "requirement": "requirement(*ids): the catalogue requirements (specs/requirements.yaml) "
    "this test checks",
    "ledger": "tests of getCustomerLedgerInfo (v2)",
    "connected_orgs": "tests of getCustomerLedgerInfo with connected orgs (v2.1)",
    "cross_member": "tests of the cross-member ledger",
    "balance": "tests of getCustomerLedgerBalance",
    "transfer_check": "tests of isTransferrable (customer and user group)",
    "transfer": "tests of the points transfer (customer and user group)",
    "transfer_history": "tests of GET /v2/points/transfer",
    "reverse": "tests of reversePoints",
    "writes": "tests that change data on the target (need --allow-writes off loopback)",
    "fuzz": "property-based tests generated from the OpenAPI description",
}
WRITES_REASON = "writes need --allow-writes against non-loopback targets"
# <AREA>-<KIND>[-<SLUG>], upper case: how a requirement ID looks inside a `-m` expression.
REQUIREMENT_LIKE = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]*-[A-Z][A-Z0-9]*(?:-[A-Z0-9_-]+)?(?![\w-])")
# Option name (as settings.OPTIONS knows it) -> pytest dest. pytest itself owns `--strict` (its
# strict mode: strict markers, config, xfail and parametrization ids, all harmless to the
# suite), so that flag is read rather than registered, and also selects the strict reading.
_DESTS: dict[str, str] = {name: "pc_" + name for name in OPTIONS} | {"strict": "strict"}
WORKERINPUT_KEY = "points_conformance"
LOCK_KEY = "points_conformance_lock"


class WriteLock:
    """A fair readers-writer lock across the xdist workers of one run, over two lock files.

    A test that writes must not run while another test is in the middle of reading the same
    data (a ledger walked page by page, a balance read twice), or the parallel run finds what
    the serial run does not. Tests marked `writes` hold it exclusively, all others shared; the
    gate file makes readers that arrive while a writer waits queue behind it.
    """

    def __init__(self, directory: str) -> None:
        import fcntl

        self._fcntl = fcntl
        self._gate = open(Path(directory) / "gate.lock", "a+")
        self._rw = open(Path(directory) / "rw.lock", "a+")

    def acquire(self, exclusive: bool) -> None:
        self._fcntl.flock(self._gate, self._fcntl.LOCK_EX)
        try:
            self._fcntl.flock(self._rw, self._fcntl.LOCK_EX if exclusive else self._fcntl.LOCK_SH)
        finally:
            self._fcntl.flock(self._gate, self._fcntl.LOCK_UN)

    def release(self) -> None:
        self._fcntl.flock(self._rw, self._fcntl.LOCK_UN)

    def close(self) -> None:
        self._gate.close()
        self._rw.close()


@dataclass
class _State:
    """Per-config state: pytester runs several configs in one process, so nothing is global."""

    settings: Settings
    worker: bool = False
    embedded: Any = None
    client: ConformanceClient | None = None
    lock_dir: str | None = None
    lock: WriteLock | None = None


STATE_KEY = pytest.StashKey[_State]()
_RECORDER_KEY = pytest.StashKey["FindingsRecorder"]()
_BASELINE_KEY = pytest.StashKey[ClientStats]()
_RECORDED_KEY = pytest.StashKey[bool]()


class _UsageProblem(Exception):
    """A problem the user must fix before any test can run."""


def _usage_exit(message: str) -> NoReturn:
    pytest.exit(f"points-conformance: {' '.join(message.split())}", returncode=2)


# -- options ------------------------------------------------------------------------------------


# Option name -> (metavar, or None for a switch; help). Flags come from settings.OPTIONS.
_OPTION_HELP: dict[str, tuple[str | None, str]] = {
    "base_url": (
        "URL",
        "base URL of the server under test (default: the embedded reference server)",
    ),
    "auth": ("USER:PASSWORD", "Basic credentials"),
    "bearer": ("TOKEN", "bearer token instead of Basic credentials"),
    "target": ("FILE", "target file (TOML) describing the server and its test data"),
    "allow_writes": (None, "allow transfers and reversals against a non-loopback target"),
    "rate_limit": ("N", "at most N requests/s (default: 10 off loopback, none on it; 0: none)"),
    "timeout": ("S", "seconds to wait for each response (default 10)"),
    "dry_run": (None, "record the requests the suite would send, and send none"),
    "report_dir": ("DIR", "where the conformance reports are written (default: reports)"),
    "fuzz_seed": ("N", "seed of the property-based tests (default 0)"),
    "fuzz_examples": ("N", "examples per operation in the property-based tests (default 50)"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "points-conformance",
        "conformance target (points-conformance); pytest's --strict [env "
        "POINTS_CONFORMANCE_STRICT] also enforces the strict reading where the pages disagree",
    )
    for name, (metavar, text) in _OPTION_HELP.items():
        flag, variable = OPTIONS[name]
        text = f"{text} [env {variable}]"
        if metavar is None:
            group.addoption(flag, dest=_DESTS[name], action="store_true", default=None, help=text)
        else:
            group.addoption(flag, dest=_DESTS[name], metavar=metavar, default=None, help=text)


def _options(config: pytest.Config) -> dict[str, Any]:
    return {name: config.getoption(dest, None) for name, dest in _DESTS.items()}


# -- catalogue ----------------------------------------------------------------------------------


@functools.cache
def _catalogue() -> tuple[Any, str | None]:
    """The requirement catalogue and None, or None and the one-line reason it cannot be had.

    (None, None) while the catalogue module is not installed: requirement IDs then go unchecked.
    """
    try:
        module = importlib.import_module("points_conformance.catalogue")
    except ModuleNotFoundError as exc:
        if exc.name in ("points_conformance.catalogue", "points_conformance"):
            return None, None
        raise
    try:
        return module.load_catalogue(), None
    except Exception as exc:
        if type(exc).__name__ != "CatalogueError":
            raise
        return None, "requirement catalogue: " + " ".join(str(exc).split())


def _requirements() -> Mapping[str, Any] | None:
    """Catalogue requirements by ID; None when they cannot be known."""
    catalogue, _ = _catalogue()
    if catalogue is None:
        return None
    requirements: Mapping[str, Any] = catalogue.requirements
    return requirements


def _item_requirements(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for mark in item.iter_markers("requirement"):
        for arg in mark.args:
            if arg not in ids:
                ids.append(arg)
    return ids


def _operations_of(ids: Iterable[str]) -> list[str]:
    requirements = _requirements() or {}
    operations: list[str] = []
    for rid in ids:
        requirement = requirements.get(rid)
        for op in getattr(requirement, "operations", None) or ():
            if op not in operations:
                operations.append(str(op))
    return operations


def _requirement_problem(item: pytest.Item) -> str | None:
    marks = list(item.iter_markers("requirement"))
    for mark in marks:
        if not mark.args:
            return f"{item.nodeid}: @pytest.mark.requirement needs at least one requirement ID"
        bad = [a for a in mark.args if not isinstance(a, str)]
        if bad:
            return f"{item.nodeid}: requirement IDs must be strings, not {bad[0]!r}"
    requirements = _requirements()
    if requirements is None:
        broken = _catalogue()[1]
        return f"{item.nodeid}: {broken}" if marks and broken else None
    unknown = [rid for rid in _item_requirements(item) if rid not in requirements]
    if unknown:
        return (
            f"{item.nodeid}: unknown requirement ID {', '.join(unknown)} in "
            "@pytest.mark.requirement (not in specs/requirements.yaml)"
        )
    return None


# -- configuration ------------------------------------------------------------------------------


def _suite_dir() -> Path | None:
    try:
        suite = importlib.import_module("points_conformance_suite")
    except ImportError:
        return None
    location = getattr(suite, "__file__", None)
    return Path(location).resolve().parent if location else None


def _arg_paths(config: pytest.Config) -> list[Path]:
    base = config.invocation_params.dir
    return [(base / arg.split("::", 1)[0]).resolve() for arg in config.args]


def _runs_suite(config: pytest.Config) -> bool:
    """Whether the run collects (part of) the conformance suite."""
    if config.getoption("pyargs", False) and any(
        arg.split("::", 1)[0].split(".")[0] == "points_conformance_suite" for arg in config.args
    ):
        return True
    suite = _suite_dir()
    if suite is None:
        return False
    return any(p == suite or suite in p.parents or p in suite.parents for p in _arg_paths(config))


def _only_harness(config: pytest.Config) -> bool:
    """Whether the run collects nothing but the harness's own tests (which write no report)."""
    suite = _suite_dir()
    if suite is None:
        return False
    harness = suite.parent / "harness"
    paths = _arg_paths(config)
    return bool(paths) and all(p == harness or harness in p.parents for p in paths)


def _distributed(config: pytest.Config) -> bool:
    return config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None))


def _worker_input(config: pytest.Config) -> dict[str, Any] | None:
    workerinput = getattr(config, "workerinput", None)
    return workerinput if isinstance(workerinput, dict) else None


def _target_document(data: TargetData) -> dict[str, Any]:
    """TargetData as the TOML document it could come from, for sending to xdist workers."""

    def plain(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.name == "role" or value is None or value == ():
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    target = {
        "base_url": data.base_url,
        "org_id": data.org_id,
        "source": data.source,
        "account_id": data.account_id,
        "timezone": data.timezone,
    }
    return {
        "target": {k: v for k, v in target.items() if v is not None},
        "customers": {role: plain(c) for role, c in data.customers.items()},
        "groups": {role: plain(g) for role, g in data.groups.items()},
        "connected_orgs": dict(data.connected_orgs),
        "cross_member": dict(data.cross_member),
        "redemptions": dict(data.redemptions),
        "stores": dict(data.stores),
        "transfer": dict(data.transfer),
    }


def _worker_settings(settings: Settings, workerinput: Mapping[str, Any]) -> Settings:
    sent = workerinput.get(WORKERINPUT_KEY)
    if isinstance(sent, Mapping):
        try:
            data = parse_target(dict(sent["target_doc"]), {})
        except TargetFileError as exc:
            raise SettingsError(f"target data sent by the controller: {exc}") from None
        data = dataclasses.replace(
            data, username=sent.get("username"), password=sent.get("password")
        )
        settings = settings.with_embedded(
            base_url=str(sent["base_url"]),
            username=sent.get("username"),
            password=sent.get("password"),
            target_data=data,
            target_file=sent.get("target_file"),
        )
    count = int(workerinput.get("workercount", 1) or 1)
    if settings.rate_limit and count > 1:
        # Each worker has its own client; together they must stay under the one limit.
        settings = dataclasses.replace(settings, rate_limit=settings.rate_limit / count)
    return settings


def _start_embedded(state: _State, config: pytest.Config) -> None:
    try:
        module = importlib.import_module("points_conformance.embedded")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("points_conformance"):
            raise _UsageProblem(
                "no base URL given (--base-url, POINTS_CONFORMANCE_BASE_URL or target.base_url) "
                "and the embedded reference server is not installed"
            ) from None
        raise
    try:
        server = module.start_embedded()
    except Exception as exc:
        raise _UsageProblem(
            f"cannot start the embedded reference server: {type(exc).__name__}: {exc}"
        ) from None
    config.add_cleanup(server.stop)
    state.embedded = server
    state.settings = state.settings.with_embedded(
        base_url=server.url,
        username=server.username,
        password=server.password,
        target_data=server.target_data,
        target_file=getattr(server, "target_file", None),
    )


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKER_HELP.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    if config.getoption("help", False):
        return
    requirements = _requirements()
    problem = _catalogue()[1]
    if problem and (_runs_suite(config) or _requirement_tokens(config)):
        _usage_exit(problem)
    if requirements:
        # Registered so that `-m LEDGER-ERR-11029` selects the tests of one requirement.
        for rid in requirements:
            config.addinivalue_line("markers", f"{rid}: requirement {rid} of the catalogue")
    _check_mark_expression(config, requirements)

    workerinput = _worker_input(config)
    try:
        settings = resolve_settings(_options(config))
        if workerinput is not None:
            settings = _worker_settings(settings, workerinput)
    except SettingsError as exc:
        _usage_exit(str(exc))
    state = _State(settings=settings, worker=workerinput is not None)
    config.stash[STATE_KEY] = state
    if workerinput is not None:
        lock_dir = workerinput.get(LOCK_KEY)
        if isinstance(lock_dir, str):
            state.lock = WriteLock(lock_dir)
            config.add_cleanup(state.lock.close)
        return
    if _distributed(config):
        if not config.getoption("continue_on_collection_errors", False):
            config.pluginmanager.register(_CollectionErrorsStop(), "points_conformance_collection")
        if _has_flock():
            state.lock_dir = tempfile.mkdtemp(prefix="points-conformance-")
            config.add_cleanup(functools.partial(shutil.rmtree, state.lock_dir, ignore_errors=True))

    runs_suite = _runs_suite(config)
    if runs_suite:
        _check_spec()
    wants_server = runs_suite or _distributed(config)
    if settings.base_url is None and wants_server and not config.getoption("collectonly", False):
        try:
            _start_embedded(state, config)
        except _UsageProblem as exc:
            _usage_exit(str(exc))
    elif runs_suite and _will_run_tests(config) and not settings.dry_run:
        _check_reachable(settings)
    if not _only_harness(config):
        _register_report(config, state.settings)


def _will_run_tests(config: pytest.Config) -> bool:
    """False for the invocations that only list (tests, fixtures, markers)."""
    listing = ("collectonly", "markers", "showfixtures", "show_fixtures_per_test")
    return not any(config.getoption(name, False) for name in listing)


def _check_spec() -> None:
    """A broken OpenAPI description is a usage problem: one line, before any collection."""
    try:
        from points_conformance.spec import SpecError, load_spec
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("points_conformance"):
            return
        raise
    try:
        load_spec()
    except SpecError as exc:
        _usage_exit(f"OpenAPI description: {exc}")


def _check_reachable(settings: Settings) -> None:
    """A target that refuses connections or fails TLS ends the run before any test (status 2).

    A target that accepts connections and then misbehaves is left to the tests, which report
    what it did requirement by requirement.
    """
    try:
        probe(settings)
    except TargetUnreachable as exc:
        _usage_exit(f"target not reachable, no test was run: {settings.redact(exc.message)}")


def _register_report(config: pytest.Config, settings: Settings) -> None:
    if config.pluginmanager.is_blocked("points_conformance_report"):
        return
    try:
        from points_conformance.report.collect import ReportPlugin

        report = ReportPlugin(config, settings)
    except ModuleNotFoundError as exc:
        # Reports are optional parts of an installation; tests still run without them.
        if exc.name and exc.name.startswith("points_conformance"):
            return
        raise
    config.pluginmanager.register(report, "points_conformance_report")


def _requirement_tokens(config: pytest.Config) -> list[str]:
    expression = config.getoption("markexpr", "") or ""
    return list(dict.fromkeys(REQUIREMENT_LIKE.findall(expression)))


def _check_mark_expression(config: pytest.Config, requirements: Mapping[str, Any] | None) -> None:
    if requirements is None:
        return
    expression = config.getoption("markexpr", "")
    unknown = [rid for rid in _requirement_tokens(config) if rid not in requirements]
    if unknown:
        _usage_exit(
            f"-m {expression!r}: unknown requirement ID {', '.join(unknown)} "
            "(not in specs/requirements.yaml)"
        )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand every worker the write lock and the controller's embedded server."""
    state = node.config.stash.get(STATE_KEY, None)
    if state is None:
        return
    if state.lock_dir is not None:
        node.workerinput[LOCK_KEY] = state.lock_dir
    if state.embedded is None:
        return
    s = state.settings
    node.workerinput[WORKERINPUT_KEY] = {
        "base_url": s.base_url,
        "username": s.username,
        "password": s.password,
        "target_file": str(s.target_file) if s.target_file else None,
        "target_doc": _target_document(s.target_data),
    }


def pytest_report_header(config: pytest.Config) -> str | None:
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return None
    settings = state.settings
    if settings.base_url is None:
        return "points-conformance: target: embedded reference server, started on first use"
    return f"points-conformance: {settings.describe()}"


def get_settings(config: pytest.Config) -> Settings | None:
    """The run's settings once pytest is configured (None before, or on usage errors)."""
    state = config.stash.get(STATE_KEY, None)
    return state.settings if state is not None else None


# -- collection ---------------------------------------------------------------------------------


class RequirementMarkerError(pytest.Collector):
    """Stands in for a test whose requirement marker is wrong, and fails to collect.

    A collection error (rather than an exception out of the collection hook) names the test and
    the ID, works the same under pytest-xdist, and never passes through other plugins' hooks.
    """

    problem: str = ""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        raise self.CollectError(self.problem)


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Generator[None, Any, Any]:
    result = yield
    items = result if isinstance(result, list) else [result]
    for item in items:
        if isinstance(item, pytest.Item):
            problem = _requirement_problem(item)
            if problem:
                error = RequirementMarkerError.from_parent(collector, name=name)
                error.problem = problem
                return error
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: the markers must exist before `-m` deselects by them.
    requirements = _requirements() or {}
    for item in items:
        ids = _item_requirements(item)
        names: list[str] = [rid for rid in ids if rid in requirements]
        operations = _operations_of(ids)
        names += [OPERATION_MARKERS[op] for op in operations if op in OPERATION_MARKERS]
        # Requirements of every operation (COMMON-*) say nothing about writing; those that
        # only concern transfers or reversals do.
        only_writes = bool(operations) and WRITE_OPERATIONS.issuperset(operations)
        if only_writes or "writes_allowed" in getattr(item, "fixturenames", ()):
            names.append("writes")
        present = {m.name for m in item.iter_markers()}
        for marker in dict.fromkeys(names):
            if marker not in present:
                item.add_marker(getattr(pytest.mark, marker))


class _CollectionErrorsStop:
    """Under pytest-xdist, a collection error ends the run with status 2, as it does serially.

    Workers report their collection errors to the controller, which otherwise runs the other
    tests and ends with status 1, so a broken suite would read as a non-conforming target.
    """

    def __init__(self) -> None:
        self.errors = 0

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors += 1

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.errors and int(exitstatus) in (0, 1):
            session.exitstatus = pytest.ExitCode.INTERRUPTED


# -- running ------------------------------------------------------------------------------------


def _state(config: pytest.Config) -> _State:
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        raise pytest.UsageError("points-conformance: the plugin was not configured")
    return state


def _stats(config: pytest.Config) -> ClientStats:
    state = config.stash.get(STATE_KEY, None)
    if state is None or state.client is None:
        return ClientStats()
    return state.client.stats()


def _has_flock() -> bool:
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[Any, Any, Any]:
    state = item.config.stash.get(STATE_KEY, None)
    lock = state.lock if state is not None else None
    if lock is None:
        return (yield)
    lock.acquire(exclusive=item.get_closest_marker("writes") is not None)
    try:
        return (yield)
    finally:
        lock.release()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    # Recorded before setup, so that a test skipped by a fixture still names its requirements.
    ids = _item_requirements(item)
    item.user_properties.append(("pc_requirements", ids))
    item.user_properties.append(("pc_operations", _operations_of(ids)))
    item.stash[_BASELINE_KEY] = _stats(item.config)
    failure: str | None = None
    try:
        yield
    except TransportFailure as exc:
        failure = exc.message
    if failure is not None:
        pytest.fail(failure, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    from points_conformance.checks.registry import crediting

    recorder = item.stash.get(_RECORDER_KEY, None)
    failure: str | None = None
    with crediting() as credited:
        try:
            yield
        except TransportFailure as exc:
            failure = exc.message
        except BaseException:
            if recorder is not None and recorder.findings:
                item.add_report_section("call", "findings", recorder.failure_message())
            raise
        finally:
            # Rules the checks evaluated on this test's exchanges, named or not by its markers.
            item.user_properties.append(
                ("pc_exercised", {rid: sorted(ops) for rid, ops in credited.operations.items()})
            )
            _record_results(item)
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    if recorder is not None and recorder.findings:
        pytest.fail(recorder.failure_message(), pytrace=False)


def _record_results(item: pytest.Item) -> None:
    if item.stash.get(_RECORDED_KEY, False):
        return
    item.stash[_RECORDED_KEY] = True
    recorder = item.stash.get(_RECORDER_KEY, None)
    findings = recorder.findings if recorder is not None else []
    before = item.stash.get(_BASELINE_KEY, ClientStats())
    state = item.config.stash.get(STATE_KEY, None)
    client = state.client if state is not None else None
    writes: list[dict[str, Any]] = []
    planned: list[dict[str, Any]] = []
    throttles: list[dict[str, Any]] = []
    redirects: list[dict[str, Any]] = []
    after = ClientStats()
    if client is not None:
        after = client.stats()
        writes = [w.to_dict() for w in client.writes[before.writes : after.writes]]
        planned = [p.to_dict() for p in client.planned[before.planned : after.planned]]
        throttles = [
            t.to_dict() for t in client.throttle_events[before.throttled : after.throttled]
        ]
        redirects = [r.to_dict() for r in client.redirects[before.redirects : after.redirects]]
    props = item.user_properties
    props.append(("pc_findings", [_finding_dict(f, state) for f in findings]))
    props.append(("pc_writes", writes))
    props.append(("pc_requests", max(0, after.requests - before.requests)))
    props.append(("pc_throttled", max(0, after.throttled - before.throttled)))
    if planned:
        props.append(("pc_dry_run", planned))
    if throttles:
        props.append(("pc_throttle", throttles))
    if redirects:
        props.append(("pc_redirects", redirects))


def _finding_dict(finding: Finding, state: _State | None) -> dict[str, Any]:
    data = finding.to_dict()
    if state is None or not state.settings.secrets():
        return data
    redacted: dict[str, Any] = _redact_tree(data, state.settings)
    return redacted


def _redact_tree(value: Any, settings: Settings) -> Any:
    if isinstance(value, str):
        return settings.redact(value)
    if isinstance(value, dict):
        return {k: _redact_tree(v, settings) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_tree(v, settings) for v in value]
    return value


# -- fixtures -----------------------------------------------------------------------------------


def _ready_settings(config: pytest.Config) -> Settings:
    state = _state(config)
    if state.settings.base_url is None:
        if state.worker:
            _usage_exit("no base URL given and the controller started no embedded reference server")
        try:
            _start_embedded(state, config)
        except _UsageProblem as exc:
            _usage_exit(str(exc))
    return state.settings


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Settings:
    """The run's resolved settings (CLI flags > environment > target file > defaults)."""
    return _ready_settings(pytestconfig)


@pytest.fixture(scope="session")
def target(settings: Settings) -> TargetData:
    """What the target file says about the server's test data."""
    return settings.target_data


@pytest.fixture(scope="session")
def client(pytestconfig: pytest.Config, settings: Settings) -> Generator[ConformanceClient]:
    """The shared HTTP client: auth, rate limit, 429 retries, same-origin redirects only."""
    state = _state(pytestconfig)
    instance = ConformanceClient(settings)
    state.client = instance
    try:
        yield instance
    finally:
        instance.close()


def make_check_context(settings: Settings) -> Any:
    """A `checks.CheckContext` for these settings (imported late: checks load the specs)."""
    from points_conformance.checks import CheckContext

    data = settings.target_data
    connected = data.connected_orgs.get("connected_org_ids") or ()
    candidates: dict[str, Any] = {
        "strict": settings.strict,
        "timezone": data.timezone,
        "org_id": data.org_id,
        "connected_org_ids": tuple(connected),
    }
    # Passes only what this version of CheckContext accepts, so both sides can grow apart.
    accepted = inspect.signature(CheckContext).parameters
    return CheckContext(**{k: v for k, v in candidates.items() if k in accepted})


@pytest.fixture(scope="session")
def check_context(settings: Settings) -> Any:
    """The context every check runs with: stance, org timezone, org and connected orgs."""
    return make_check_context(settings)


class FindingsRecorder:
    """Collects a test's findings; the test fails at the end when there are any."""

    def __init__(self, settings: Callable[[], Settings | None], context: Callable[[], Any]) -> None:
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

    def context() -> Any:
        return request.getfixturevalue("check_context")

    recorder = FindingsRecorder(lambda: get_settings(config), context)
    request.node.stash[_RECORDER_KEY] = recorder
    return recorder


@pytest.fixture
def record_findings(findings: FindingsRecorder) -> Callable[[Iterable[Finding]], None]:
    """`record_findings(list)`: the same as `findings.add`."""
    return findings.add


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
            pytest.skip(f"target file has no {path}")
        return value

    return need


def _skip_missing_role(section: str, role: str, roles: dict[str, str]) -> NoReturn:
    what = roles.get(role)
    pytest.skip(f"target file has no {section}.{role}" + (f" ({what})" if what else ""))


@pytest.fixture
def require_customer(target: TargetData) -> Callable[[str], Customer]:
    """`require_customer("rich")`: that customer, or skip naming [customers.<role>]."""

    def need(role: str) -> Customer:
        customer = target.customer(role)
        if customer is None:
            _skip_missing_role("customers", role, CUSTOMER_ROLES)
        return customer

    return need


@pytest.fixture
def require_group(target: TargetData) -> Callable[[str], Group]:
    """`require_group("fleet")`: that group, or skip naming [groups.<role>]."""

    def need(role: str) -> Group:
        group = target.group(role)
        if group is None:
            _skip_missing_role("groups", role, GROUP_ROLES)
        return group

    return need


@pytest.fixture
def writes_allowed(settings: Settings) -> bool:
    """Skips the test unless writes may go to this target (loopback, or --allow-writes)."""
    if not settings.writes_permitted:
        pytest.skip(WRITES_REASON)
    return True
