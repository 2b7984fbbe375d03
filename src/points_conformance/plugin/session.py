"""The run's settings and embedded server, shared with pytest-xdist workers; whether it reports.

The controller resolves the options into one `Settings`. The embedded reference server is
started when the run needs a target and none is given: at once when the conformance suite asks
(`conformance_run`) or when pytest-xdist workers must share it, else when a test first asks for
the `settings` fixture. A report is written when the run asks for one: `--report-dir`, or
`conformance_run` (the suite's conftest and `points-conformance run` call it).
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import gc
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from points_conformance.plugin import base_url, lock, preflight
from points_conformance.plugin.options import option_values, report_dir_given
from points_conformance.plugin.report import ReportPlugin
from points_conformance.plugin.requirements import usage_exit
from points_conformance.settings import Settings, SettingsError, resolve_settings
from points_conformance.target import TargetData, TargetFileError, parse_target

# The workerinput key carrying the controller's embedded server to the workers.
WORKERINPUT_KEY = "points_conformance"
REPORT_PLUGIN = "points_conformance_report"


@dataclass
class State:
    """Per-config state: pytester runs several configs in one process, so nothing is global."""

    settings: Settings
    worker: bool = False
    embedded: Any = None
    lock_dir: str | None = None
    conformance_run: bool = False


STATE_KEY = pytest.StashKey[State]()


def get_settings(config: pytest.Config) -> Settings | None:
    """The run's settings once pytest is configured (None before, or on usage errors)."""
    state = config.stash.get(STATE_KEY, None)
    return state.settings if state is not None else None


def state_of(config: pytest.Config) -> State:
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        raise pytest.UsageError("points-conformance: the plugin was not configured")
    return state


def report_plugin(config: pytest.Config) -> ReportPlugin | None:
    """The run's report plugin (holding the built report after the session), if it reports."""
    found = config.pluginmanager.get_plugin(REPORT_PLUGIN)
    return found if isinstance(found, ReportPlugin) else None


def _worker_input(config: pytest.Config) -> dict[str, Any] | None:
    workerinput = getattr(config, "workerinput", None)
    return workerinput if isinstance(workerinput, dict) else None


def _distributed(config: pytest.Config) -> bool:
    return config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # tryfirst: the suite's conftest, configured in the same pass, finds the state made.
    if config.getoption("help", False):
        return
    workerinput = _worker_input(config)
    try:
        settings = resolve_settings(
            option_values(config), ini_base_url=base_url.ini_base_url(config)
        )
        if workerinput is not None:
            settings = _worker_settings(settings, workerinput)
    except SettingsError as exc:
        usage_exit(str(exc))
    state = State(settings=settings, worker=workerinput is not None)
    config.stash[STATE_KEY] = state
    base_url.publish(config, settings.base_url)
    if workerinput is not None:
        lock.join_lock(config, workerinput, settings.target_data)
        return
    if _distributed(config):
        if not config.getoption("continue_on_collection_errors", False):
            config.pluginmanager.register(CollectionErrorsStop(), "points_conformance_collection")
        if lock.available():
            state.lock_dir = tempfile.mkdtemp(prefix="points-conformance-")
            config.add_cleanup(functools.partial(shutil.rmtree, state.lock_dir, ignore_errors=True))
        # Workers cannot share a server one of them starts, so the controller starts it.
        if settings.base_url is None and not config.getoption("collectonly", False):
            start_server(config)
    if report_dir_given(config):
        _want_report(config, state)


def conformance_run(config: pytest.Config) -> None:
    """This run checks a target: check what every test needs first, then write a report."""
    state = state_of(config)
    if state.worker or state.conformance_run:
        return
    state.conformance_run = True
    preflight.check_catalogue()
    preflight.check_spec()
    preflight.check_waivers(state.settings)
    if state.settings.base_url is None:
        if not config.getoption("collectonly", False):
            start_server(config)
    elif preflight.will_run_tests(config) and not state.settings.dry_run:
        preflight.check_reachable(state.settings)
    _want_report(config, state)


def _want_report(config: pytest.Config, state: State) -> None:
    if config.pluginmanager.is_blocked(REPORT_PLUGIN) or report_plugin(config) is not None:
        return
    config.pluginmanager.register(ReportPlugin(config, state.settings), REPORT_PLUGIN)


def start_server(config: pytest.Config) -> Settings:
    """Start the embedded reference server for this run; the settings now point at it."""
    state = state_of(config)
    if state.worker:
        usage_exit("no base URL given and the controller started no embedded reference server")
    from points_conformance.embedded import start_embedded  # late: it loads the server

    try:
        server = start_embedded()
    except Exception as exc:  # whatever stops the server, the user gets one line
        usage_exit(f"cannot start the embedded reference server: {type(exc).__name__}: {exc}")
    config.add_cleanup(server.stop)
    state.embedded = server
    state.settings = state.settings.with_embedded(
        base_url=server.url,
        username=server.username,
        password=server.password,
        target_data=server.target_data,
        target_file=server.target_file,
    )
    base_url.publish(config, state.settings.base_url)
    report = report_plugin(config)
    if report is not None:
        report.settings = state.settings
    return state.settings


def ready_settings(config: pytest.Config) -> Settings:
    """The settings a test may use: with a target, starting the embedded server if needed."""
    state = state_of(config)
    if state.settings.base_url is None:
        return start_server(config)
    return state.settings


# Allocations between two collections of the youngest generation (Python's default is 700).
# Fuzzing allocates millions of short-lived objects; collecting less often costs a little memory
# and saves time: larger steps than this make each collection dearer than the ones it saves.
GC_YOUNGEST_THRESHOLD = 5_000
_GC_THRESHOLDS = pytest.StashKey[tuple[int, int, int]]()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    # What exists once the suite is collected (modules, specs, schemas, items) lives for the
    # whole run; frozen, the collector's full passes during the tests no longer walk it.
    gc.freeze()
    thresholds = gc.get_threshold()
    session.config.stash[_GC_THRESHOLDS] = thresholds
    gc.set_threshold(max(thresholds[0], GC_YOUNGEST_THRESHOLD), *thresholds[1:])


# At exit the interpreter's last collections walk every object left, which costs a process that
# fuzzed a few tenths of a second; frozen, they are only freed. Registered at import, so that it
# runs after the exit handlers registered later.
atexit.register(gc.freeze)


def pytest_unconfigure(config: pytest.Config) -> None:
    thresholds = config.stash.get(_GC_THRESHOLDS, None)
    if thresholds is not None:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


class CollectionErrorsStop:
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


# -- pytest-xdist --------------------------------------------------------------------------------


def target_document(data: TargetData) -> dict[str, Any]:
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


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand every worker the lock folder and the controller's embedded server."""
    state = node.config.stash.get(STATE_KEY, None)
    if state is None:
        return
    if state.lock_dir is not None:
        node.workerinput[lock.LOCK_KEY] = state.lock_dir
    if state.embedded is None:
        return
    s = state.settings
    node.workerinput[WORKERINPUT_KEY] = {
        "base_url": s.base_url,
        "username": s.username,
        "password": s.password,
        "target_file": str(s.target_file) if s.target_file else None,
        "target_doc": target_document(s.target_data),
    }


def pytest_report_header(config: pytest.Config) -> str | None:
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return None
    settings = state.settings
    if settings.base_url is None:
        return "points-conformance: target: embedded reference server, started on first use"
    return f"points-conformance: {settings.describe()}"
