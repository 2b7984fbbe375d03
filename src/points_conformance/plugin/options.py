"""The plugin's command-line options and markers; `Settings` gives the options their meaning."""

from __future__ import annotations

from typing import Any

import pytest

from points_conformance.operations import TABLE
from points_conformance.plugin import base_url
from points_conformance.settings import OPTIONS

# Option name (as settings.OPTIONS knows it) -> pytest dest. `--base-url` has pytest-base-url's
# dest whichever plugin defines it (see `base_url`).
DESTS: dict[str, str] = {name: "pc_" + name for name in OPTIONS} | {"base_url": base_url.DEST}

# Option name -> (metavar, or None for a switch; help). Flags come from settings.OPTIONS.
_OPTION_HELP: dict[str, tuple[str | None, str]] = {
    "base_url": (
        "URL",
        "base URL of the server under test (default $PYTEST_BASE_URL, else the embedded "
        "reference server)",
    ),
    "auth": ("USER:PASSWORD", "Basic credentials"),
    "bearer": ("TOKEN", "bearer token instead of Basic credentials"),
    "target": ("FILE", "target file (TOML) describing the server and its test data"),
    "strict": (None, "enforce the strict reading where the pages disagree (discrepancies.yaml)"),
    "allow_writes": (None, "allow transfers and reversals against a non-loopback target"),
    "rate_limit": ("N", "at most N requests/s (default: 10 off loopback, none on it; 0: none)"),
    "timeout": ("S", "seconds to wait for each response (default 10)"),
    "dry_run": (None, "record the requests the suite would send, and send none"),
    "report_dir": ("DIR", "where the conformance reports are written (default: reports)"),
    "fuzz_seed": ("N", "seed of the property-based tests (default 0)"),
    "fuzz_examples": ("N", "examples per operation in the property-based tests (default 50)"),
    "waivers": ("FILE", "waiver file (TOML): accepted failures and absent target data"),
    "fail_on_stale_waivers": (None, "fail the gate on a waiver whose requirement now passes"),
    "recheck": (
        "N",
        "re-send each failing request N times to confirm the failure (default: 3 off "
        "loopback, 0 on it); writes are never re-sent",
    ),
    "tolerate": (
        "LABELS",
        "let failures labelled intermittent and/or transient (comma-separated, or all) "
        "through the verdict",
    ),
}

RECORD_HAR_FLAG = "--record-har"
RECORD_HAR_DEST = "pc_record_har"

_MARKER_TEXT: dict[str, str] = {
    "ledger": "tests of getCustomerLedgerInfo (v2)",
    "connected_orgs": "tests of getCustomerLedgerInfo with connected orgs (v2.1)",
    "cross_member": "tests of the cross-member ledger",
    "balance": "tests of getCustomerLedgerBalance",
    "transfer_check": "tests of isTransferrable (customer and user group)",
    "transfer": "tests of the points transfer (customer and user group)",
    "transfer_history": "tests of GET /v2/points/transfer",
    "reverse": "tests of reversePoints",
}
MARKER_HELP: dict[str, str] = {
    "requirement": "requirement(*ids): the catalogue requirements (specs/requirements.yaml) "
    "this test checks",
    **{marker: _MARKER_TEXT[marker] for marker in dict.fromkeys(op.marker for op in TABLE)},
    "writes": "tests that change data on the target (need --allow-writes off loopback)",
    "fuzz": "property-based tests generated from the OpenAPI description",
}


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # pytest-base-url's help for --base-url, when it defines the option, says nothing of ours.
    group = parser.getgroup(
        "points-conformance",
        "conformance target (points-conformance); --base-url [env POINTS_CONFORMANCE_BASE_URL, "
        "ini base_url] names the server under test, else the embedded reference server runs",
    )
    for name, (metavar, text) in _OPTION_HELP.items():
        flag, variable = OPTIONS[name]
        text = f"{text} [env {variable}]"
        if name == "base_url":
            base_url.add_base_url_option(group, parser, pluginmanager, text)
        elif metavar is None:
            group.addoption(flag, dest=DESTS[name], action="store_true", default=None, help=text)
        else:
            group.addoption(flag, dest=DESTS[name], metavar=metavar, default=None, help=text)
    group.addoption(
        RECORD_HAR_FLAG,
        dest=RECORD_HAR_DEST,
        metavar="FILE",
        default=None,
        help="write every exchange of the run to FILE as HAR 1.2, credentials masked (under "
        "-n each worker writes FILE.<worker>.har); `points-conformance validate` reads it",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKER_HELP.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def option_values(config: pytest.Config) -> dict[str, Any]:
    """The raw option values, as `settings.resolve_settings` takes them."""
    return {name: config.getoption(dest, None) for name, dest in DESTS.items()}


def report_dir_given(config: pytest.Config) -> bool:
    """Whether the command line names a report folder, which asks for a report."""
    return config.getoption(DESTS["report_dir"], None) is not None
