"""`--base-url`, the `base_url` ini key and the `base_url` fixture, with pytest-base-url loaded
(it is among the dev dependencies, as pytest-playwright and pytest-selenium bring it) and
blocked with `-p no:base_url`: the plugin uses pytest-base-url's definitions when it can and its
own otherwise, and a run means the same either way.

Two cases run pytest in a subprocess, as a user would (plugins load from their entry points in
whatever order the installation lists them, and xdist starts workers); the others run in this
process, which loads plugins the same way. The only network traffic goes to loopback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from points_conformance.runner import resolve_run_settings
from points_conformance.settings import SettingsError, default_base_url, resolve_settings

WITH = "pytest-base-url"
WITHOUT = "-p no:base_url"
EITHER_WAY = pytest.mark.parametrize("plugins", [WITH, WITHOUT])

SHOW = """
    import json

    def test_show(base_url, settings, pytestconfig):
        manager = pytestconfig.pluginmanager
        with open("seen.json", "w") as fh:
            json.dump({
                "fixture": base_url,
                "settings": settings.base_url,
                "embedded": settings.embedded,
                "strict": settings.strict,
                "pytest_base_url": manager.has_plugin("base_url"),
            }, fh)
"""

# The embedded reference server, stood in for: xdist workers must get the controller's.
EMBEDDED_STAND_IN = """
import sys, types
from points_conformance.target import TargetData

class _Server:
    url = "http://127.0.0.1:59998"
    username = password = target_file = None
    target_data = TargetData()

    def stop(self):
        pass

embedded = types.ModuleType("points_conformance.embedded")
embedded.start_embedded = lambda **kwargs: _Server()
sys.modules["points_conformance.embedded"] = embedded
"""

# Run from the test's folder, so that the checkout's pyproject.toml is not the configuration.
ISOLATED = ("-p", "no:cacheprovider", "-p", "no:points_conformance_report")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("POINTS_CONFORMANCE_") or name in ("PYTEST_BASE_URL", "PYTEST_ADDOPTS"):
            monkeypatch.delenv(name)


def run(
    pytester: pytest.Pytester, plugins: str, *args: str, subprocess: bool = False
) -> dict[str, Any]:
    """Run SHOW; what its test saw."""
    pytester.makepyfile(test_show=SHOW)
    block = ("-p", "no:base_url") if plugins == WITHOUT else ()
    runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest_inprocess
    result = runner(*ISOLATED, *block, *args)
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    seen: dict[str, Any] = json.loads((pytester.path / "seen.json").read_text())
    assert seen.pop("pytest_base_url") is (plugins == WITH)
    return seen


@EITHER_WAY
def test_the_flag_sets_the_target_and_the_fixture(pytester: pytest.Pytester, plugins: str) -> None:
    """pytest's own `--strict` leaves the stance alone."""
    seen = run(pytester, plugins, "--base-url=http://127.0.0.1:9/", "--strict", subprocess=True)
    assert seen == {
        "fixture": "http://127.0.0.1:9",
        "settings": "http://127.0.0.1:9",
        "embedded": False,
        "strict": False,
    }


@EITHER_WAY
def test_the_ini_key_comes_after_the_environment(
    pytester: pytest.Pytester, plugins: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\naddopts = --strict-config\nbase_url = http://localhost:8001\n")
    seen = run(pytester, plugins)
    assert (seen["fixture"], seen["settings"]) == ("http://localhost:8001",) * 2
    monkeypatch.setenv("POINTS_CONFORMANCE_BASE_URL", "http://localhost:8002")
    seen = run(pytester, plugins)
    assert (seen["fixture"], seen["settings"]) == ("http://localhost:8002",) * 2


@EITHER_WAY
def test_pytest_base_url_variable_is_the_flags_default(
    pytester: pytest.Pytester, plugins: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_BASE_URL", "http://localhost:8003")
    monkeypatch.setenv("POINTS_CONFORMANCE_BASE_URL", "http://localhost:8004")
    seen = run(pytester, plugins)
    assert (seen["fixture"], seen["settings"]) == ("http://localhost:8003",) * 2
    seen = run(pytester, plugins, "--base-url=http://localhost:8005")
    assert (seen["fixture"], seen["settings"]) == ("http://localhost:8005",) * 2


@EITHER_WAY
def test_xdist_workers_see_the_embedded_server_in_the_fixture(
    pytester: pytest.Pytester, plugins: str
) -> None:
    pytester.makeconftest(EMBEDDED_STAND_IN)
    seen = run(pytester, plugins, "-p", "xdist", "-n", "2", subprocess=True)
    assert seen == {
        "fixture": "http://127.0.0.1:59998",
        "settings": "http://127.0.0.1:59998",
        "embedded": True,
        "strict": False,
    }


@EITHER_WAY
def test_the_stance_has_its_own_switch(pytester: pytest.Pytester, plugins: str) -> None:
    seen = run(pytester, plugins, "--base-url=http://127.0.0.1:9", "--conformance-strict")
    assert seen["strict"] is True


def test_settings_take_the_ini_key_after_flag_and_environment(tmp_path: Path) -> None:
    target = tmp_path / "target.toml"
    target.write_text('[target]\nbase_url = "http://localhost:8010"\n')
    ini = "http://localhost:8011/"
    env = {"POINTS_CONFORMANCE_BASE_URL": "http://localhost:8012"}
    flag = {"base_url": "http://localhost:8013"}
    file = {"target": str(target)}
    assert resolve_settings(file, {}).base_url == "http://localhost:8010"
    assert resolve_settings(file, {}, ini_base_url=ini).base_url == "http://localhost:8011"
    assert resolve_settings(file, env, ini_base_url=ini).base_url == "http://localhost:8012"
    assert resolve_settings(flag | file, env, ini_base_url=ini).base_url == "http://localhost:8013"
    with pytest.raises(SettingsError, match="base_url in the pytest configuration file"):
        resolve_settings({}, {}, ini_base_url="ftp://localhost")


def test_pytest_base_url_variable_is_read_by_settings() -> None:
    assert default_base_url({"PYTEST_BASE_URL": "http://localhost:8014"}) == "http://localhost:8014"
    assert default_base_url({"PYTEST_BASE_URL": ""}) is None
    assert default_base_url({}) is None


def test_the_run_command_reads_the_stance_switch_not_pytests_strict() -> None:
    assert resolve_run_settings(["--conformance-strict"]) == resolve_settings({"strict": True})
    strict = resolve_run_settings(["--strict", "--base-url", "http://127.0.0.1:9"])
    assert strict is not None and strict.strict is False
