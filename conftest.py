"""Root conftest: the `pytester` fixture for the harness's own tests, and a working tree they
leave clean: hypothesis keeps its files in a folder of the run's own, not in `.hypothesis/`.

Only two of its caches outlive the run, shared by every run and pytest-xdist worker outside the
working tree: its Unicode tables (it derives the table of a codec by encoding every code point,
about two seconds, and reads it back from `unicode_data/` afterwards) and the constants it
draws from the project's source (it parses every module of the project, about half a second,
and reads them back from `constants/`, one file per module source, afterwards).
"""

from __future__ import annotations

import getpass
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

pytest_plugins = ["pytester"]

UNICODE_DATA = "unicode_data"
CONSTANTS = "constants"


def _shared_unicode_data() -> Path | None:
    """The folder of hypothesis' Unicode tables every run shares; None where it cannot be had."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name to keep the folder apart from other users'
        return None
    folder = Path(tempfile.gettempdir()) / f"points-conformance-hypothesis-{user}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    return folder if folder.is_dir() and not folder.is_symlink() else None


def pytest_configure(config: pytest.Config) -> None:
    home = tempfile.mkdtemp(prefix="points-conformance-hypothesis-")
    shared = _shared_unicode_data()
    if shared is not None:
        (Path(home) / UNICODE_DATA).symlink_to(shared, target_is_directory=True)
        # Beside the tables: each file is named by a hash of the module source it was read from.
        constants = shared / CONSTANTS
        constants.mkdir(mode=0o700, exist_ok=True)
        (Path(home) / CONSTANTS).symlink_to(constants, target_is_directory=True)
    set_hypothesis_home_dir(home)
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))
