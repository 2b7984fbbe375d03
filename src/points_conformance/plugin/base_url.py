"""`--base-url`, the `base_url` ini key and the session-scoped `base_url` fixture.

pytest-base-url (which pytest-playwright and pytest-selenium bring along) defines all three, and
pytest stops at start-up when two plugins define one option. So when pytest-base-url is
installed and not blocked (`-p no:base_url`), the plugin loads it before adding its own options
and uses its definitions; otherwise it defines the same three itself. Either way the option's
dest is `base_url` (with `$PYTEST_BASE_URL` as its default), and once the run's settings are
resolved `config.option.base_url` holds the URL the run checks (the embedded reference server's
once it has started), which is what either fixture returns.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from points_conformance.settings import default_base_url

# pytest-base-url's entry-point name, under which pytest registers (or blocks) it.
PYTEST_BASE_URL = "base_url"
DEST = "base_url"
INI = "base_url"
_OWN_FIXTURE = "points_conformance.plugin.base_url_fixture"


def uses_pytest_base_url(pluginmanager: pytest.PytestPluginManager) -> bool:
    """Whether pytest-base-url defines the option; loads it when installed and not yet loaded.

    Plugins are loaded in no set order, so waiting for pytest to load it after this plugin
    would leave two definitions of `--base-url`.
    """
    if pluginmanager.is_blocked(PYTEST_BASE_URL):
        return False
    if not pluginmanager.has_plugin(PYTEST_BASE_URL) and entry_points(
        group="pytest11", name=PYTEST_BASE_URL
    ):
        pluginmanager.import_plugin(PYTEST_BASE_URL, consider_entry_points=True)
    return pluginmanager.has_plugin(PYTEST_BASE_URL)


def add_base_url_option(
    group: pytest.OptionGroup,
    parser: pytest.Parser,
    pluginmanager: pytest.PytestPluginManager,
    help_text: str,
) -> None:
    """Define `--base-url` and the `base_url` ini key, unless pytest-base-url does."""
    if uses_pytest_base_url(pluginmanager):
        return
    group.addoption(
        "--base-url",
        dest=DEST,
        metavar="URL",
        default=default_base_url(),
        help=help_text,
    )
    parser.addini(INI, help="base URL of the server under test (as --base-url, below it)")


def ini_base_url(config: pytest.Config) -> str | None:
    """The `base_url` ini value, or None when the configuration file sets none."""
    value = config.getini(INI)
    return str(value) if value else None


def publish(config: pytest.Config, url: str | None) -> None:
    """Make `url` what the `base_url` fixture (pytest-base-url's or the plugin's) returns."""
    if url:
        setattr(config.option, DEST, url)


def pytest_configure(config: pytest.Config) -> None:
    manager = config.pluginmanager
    if not manager.has_plugin(PYTEST_BASE_URL) and not manager.has_plugin(_OWN_FIXTURE):
        # Imported here: that module imports this one for the option's dest.
        from points_conformance.plugin import base_url_fixture

        manager.register(base_url_fixture, _OWN_FIXTURE)
