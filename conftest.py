"""Root conftest: the `pytester` fixture for the harness's own tests, and a working tree they
leave clean: hypothesis keeps its files in a folder of the run's own, not in `.hypothesis/`."""

from __future__ import annotations

import shutil
import tempfile

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

pytest_plugins = ["pytester"]


def pytest_configure(config: pytest.Config) -> None:
    home = tempfile.mkdtemp(prefix="points-conformance-hypothesis-")
    set_hypothesis_home_dir(home)
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))
