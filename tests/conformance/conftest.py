"""Conftest of the conformance suite.

Options, settings, the client and the findings recorder come from the `points_conformance`
pytest plugin, which the package's entry point loads. This file says that a run of the suite
checks a target (so the plugin checks the specs and the target first, and writes a report), and
turns the plugin's absence (plugin autoloading switched off) into a clear usage error instead of
a cascade of missing fixtures.
"""

from __future__ import annotations

import pytest

from points_conformance import plugin
from points_conformance.plugin.session import conformance_run


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.is_registered(plugin):
        raise pytest.UsageError(
            "the points_conformance pytest plugin is not loaded "
            "(PYTEST_DISABLE_PLUGIN_AUTOLOAD is set?): add -p points_conformance.plugin"
        )
    if not config.getoption("help", False):
        conformance_run(config)
