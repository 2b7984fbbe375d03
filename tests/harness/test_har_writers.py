"""HAR files as other tools write them, judged by `validate`: schemathesis' CLI and Chromium.

Each tool is run for real against the reference server on loopback with a small budget, and the
file it wrote is judged: the exchanges are read and judged, the default stance finds nothing in
the reference server's answers, and requests of no operation are listed, not failed.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from points_conformance.embedded import EmbeddedServer, start_embedded
from points_conformance.har.command import validate
from points_conformance.locations import SPEC_FILE, specs_dir
from points_conformance.operations import TABLE
from points_conformance.settings import resolve_settings

# Two reads and a check, so that the run stays within seconds.
ST_OPERATIONS = ("getCustomerLedgerBalance", "isTransferrable", "getPointsTransfers")


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    with start_embedded() as running:
        yield running


def _validate(tmp_path: Path, server: EmbeddedServer, har: Path) -> tuple[int, dict[str, Any], str]:
    options = {
        "report_dir": str(tmp_path / "report"),
        "target": str(server.target_file),
        "auth": f"{server.username}:{server.password}",
    }
    out = io.StringIO()
    status, report = validate([str(har)], resolve_settings(options, {}), out)
    assert report is not None
    return status, report, out.getvalue()


def _failed(report: dict[str, Any]) -> list[str]:
    return sorted(rid for rid, r in report["requirements"].items() if r["status"] == "failed")


def _needed(what: str, where: str) -> NoReturn:
    """A tool that CI installs fails the test there; elsewhere its absence is a skip."""
    message = f"{what} is not installed ({where})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


# -- schemathesis ------------------------------------------------------------------------------


def _st() -> str:
    beside = Path(sys.executable).with_name("st")
    found = str(beside) if beside.is_file() else shutil.which("st")
    if found is None:
        _needed("schemathesis' `st`", "a dev dependency: pip install -e '.[dev]'")
    return found


@pytest.mark.parametrize("preserve", [False, True], ids=["text", "preserve-bytes"])
def test_a_schemathesis_har_is_judged_with_no_finding(
    tmp_path: Path, server: EmbeddedServer, preserve: bool
) -> None:
    har = tmp_path / "st.har"
    argv = [_st(), "run", str(specs_dir() / SPEC_FILE), "--url", server.url]
    argv += ["--auth", f"{server.username}:{server.password}", "--no-color"]
    argv += ["--max-examples", "5", "--seed", "1", "--phases", "examples,coverage,fuzzing"]
    argv += ["--continue-on-failure", "--workers", "1"]
    for operation in ST_OPERATIONS:
        argv += ["--include-operation-id", operation]
    argv += ["--report", "har", "--report-har-path", str(har)]
    if preserve:
        argv.append("--report-preserve-bytes")
    # schemathesis' own verdict does not matter here (it fails the reference server on rules of
    # its own, such as an Allow header on 405); only the file it wrote does.
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert har.is_file(), done.stdout[-2000:] + done.stderr[-2000:]
    entries = json.loads(har.read_text())["log"]["entries"]
    traces = sum(1 for e in entries if e["request"]["method"] == "TRACE")
    assert traces > 0, "schemathesis sent no undeclared method: the test lost its point"

    status, report, printed = _validate(tmp_path, server, har)

    assert status == 0, printed
    assert _failed(report) == []
    recorded = report["recorded"]
    unmatched = recorded["unmatched"]
    assert recorded["judged"] > 10 and recorded["not_judged"] == []
    assert recorded["judged"] + sum(row["count"] for row in unmatched) == len(entries)
    # Every request left out is one of schemathesis' undeclared methods, TRACE among them.
    declared = {(op.method, op.path) for op in TABLE}
    assert all((row["method"], row["path"]) not in declared for row in unmatched)
    assert sum(row["count"] for row in unmatched if row["method"] == "TRACE") == traces


# -- Chromium, driven by Playwright ------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
LEDGER = "/v2/pointsLedger/getCustomerLedgerInfo"

# Walks a customer's ledger page by page with fetch, reading every body (a body the page never
# read is not in Chromium's HAR), then says it is done.
PAGE = """<!doctype html><title>ledger</title><script>
async function walk(path, query, auth) {
  const headers = {Authorization: auth, Accept: "application/json"};
  let offset = 0, count = 1;
  while (offset < count) {
    const answer = await fetch(path + "?" + query + "&limit=100&offset=" + offset, {headers});
    count = (await answer.json()).ledgerDetails.pageCount;
    offset += 1;
  }
  const over = await fetch(path + "?" + query + "&limit=101", {headers});
  await over.text();
  document.title = "walked " + count;
}
</script>"""


def test_a_chromium_har_is_judged_with_no_finding(tmp_path: Path, server: EmbeddedServer) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        # scripts/setup installs it only where apt and root allow, as for the report's browser
        # test: its absence is a skip everywhere, while the pip dependencies must be there in CI.
        pytest.skip(f"{CHROMIUM} is not installed (Debian package 'chromium'; scripts/setup)")
    try:
        from playwright.sync_api import Route, sync_playwright
    except ImportError:
        _needed("playwright", "a dev dependency: pip install -e '.[dev]'")
    customer = server.target_data.customer("rich")
    assert customer is not None
    query = f"identifierName=id&identifierValue={customer.id}&source=INSTORE"
    basic = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
    har = tmp_path / "chromium.har"

    def page(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=PAGE)

    # The page is fulfilled by Playwright at the server's own origin, so the page's fetches are
    # same-origin and the reference server needs no route of its own for it.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            context = browser.new_context(record_har_path=str(har), record_har_content="embed")
            tab = context.new_page()
            tab.route(server.url + "/walk.html", page)
            tab.goto(server.url + "/walk.html")
            tab.evaluate("([p, q, a]) => walk(p, q, a)", [LEDGER, query, f"Basic {basic}"])
            walked = tab.title()
            context.close()
        finally:
            browser.close()

    pages = int(walked.split()[1])
    assert json.loads(har.read_text())["log"]["browser"]["name"] == "chromium"
    assert pages > 1, walked
    status, report, printed = _validate(tmp_path, server, har)

    assert status == 0, printed
    assert _failed(report) == []
    recorded = report["recorded"]
    assert recorded["judged"] == pages + 1 and recorded["not_judged"] == []
    assert recorded["walks_judged"] == 1
    assert [(row["method"], row["path"]) for row in recorded["unmatched"]] == [
        ("GET", "/walk.html")
    ]
    for written in (tmp_path / "report").iterdir():
        text = written.read_text()
        assert basic not in text and server.password not in text
