"""The session-scoped `base_url` fixture, registered only where pytest-base-url is not (see
`base_url`): it returns what pytest-base-url's fixture would."""

from __future__ import annotations

import pytest

from points_conformance.plugin.base_url import DEST


@pytest.fixture(scope="session")
def base_url(pytestconfig: pytest.Config) -> str | None:
    """The base URL of the server under test (the embedded reference server's once started)."""
    value = pytestconfig.getoption(DEST, None)
    return str(value) if value else None
