"""conformance.html in a real browser: its inline script filters and opens failures, it renders,
and a hostile response body stays text.

Headless Chromium loads the page with a filter in the URL fragment and dumps the DOM after its
scripts ran; a screenshot shows that the page paints the status colours. Needs Debian's
`chromium` package (/usr/bin/chromium); skipped without it.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from points_conformance.model import Exchange, Finding, RequestInfo, ResponseInfo
from points_conformance.plugin.report import ReportPlugin
from points_conformance.records import TestRecord
from points_conformance.report import write_all

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} not installed (Debian package 'chromium'; scripts/setup installs it)",
)

# Executed only if the page let server text become markup.
HOSTILE = (
    "<script>document.title='PWNED'</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
)
FAILED_RGB = (0xC6, 0x28, 0x28)
PASSED_RGB = (0x2E, 0x7D, 0x32)


def _requirement(rid: str, op: str, statement: str) -> SimpleNamespace:
    return SimpleNamespace(
        id=rid,
        operations=[op],
        source=SimpleNamespace(page="003", heading="Errors"),
        statement=statement,
        check="",
        discrepancy=None,
        strict_only=False,
        testable=True,
    )


def _reports(
    nodeid: str, outcome: str, record: TestRecord, skip: str = ""
) -> list[pytest.TestReport]:
    props = [record.user_property()]
    loc = (nodeid.split("::")[0], 1, nodeid)
    call_longrepr: Any = None
    if outcome == "skipped":
        call_longrepr = (loc[0], 1, f"Skipped: {skip}")
    elif outcome == "failed":
        try:
            raise AssertionError("findings recorded")
        except AssertionError:
            call_longrepr = pytest.ExceptionInfo.from_current().getrepr()
    return [
        pytest.TestReport(nodeid, loc, {}, "passed", None, "setup", user_properties=props),
        pytest.TestReport(nodeid, loc, {}, outcome, call_longrepr, "call", user_properties=props),  # type: ignore[arg-type]
        pytest.TestReport(nodeid, loc, {}, "passed", None, "teardown", user_properties=props),
    ]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    catalogue = SimpleNamespace(
        requirements={
            r.id: r
            for r in [
                _requirement("XFER-ERR-804", "transferPoints", "Insufficient points give 804."),
                _requirement("REV-ERR-902", "reversePoints", "Unknown redemption gives 902."),
                _requirement("LEDGER-LIMIT-MAX", "getCustomerLedgerInfo", "limit is at most 100."),
                _requirement("BAL-LIMIT-MAX", "getCustomerLedgerBalance", "limit is at most 10."),
                _requirement("CML-SORT-DEFAULT", "getCrossMemberLedger", "Sorted by createdDate."),
            ]
        },
        discrepancies={},
    )
    exchange = Exchange(
        "transferPoints",
        RequestInfo("POST", "http://127.0.0.1:9/v2/points/transfer", {}, {"points": 5}),
        ResponseInfo.from_parts(200, {"Content-Type": "text/html"}, HOSTILE),
    )
    finding = Finding("XFER-ERR-804", "not rejected", "HTTP 400, code 804", "HTTP 200", exchange)
    plugin = ReportPlugin(None, SimpleNamespace(base_url="http://127.0.0.1:9"), catalogue)
    runs = [
        _reports(
            "t.py::test_804",
            "failed",
            TestRecord(("XFER-ERR-804",), ("transferPoints",), findings=(finding.to_dict(),)),
        ),
        _reports(
            "t.py::test_902",
            "failed",
            TestRecord(
                ("REV-ERR-902",),
                ("reversePoints",),
                findings=(Finding("REV-ERR-902", "wrong code", "902", "500").to_dict(),),
            ),
        ),
        _reports(
            "t.py::test_limit",
            "passed",
            TestRecord(("LEDGER-LIMIT-MAX",), ("getCustomerLedgerInfo",)),
        ),
        _reports("t.py::test_bal", "skipped", TestRecord(("BAL-LIMIT-MAX",)), skip="no data"),
    ]
    for run in runs:
        for report in run:
            plugin.pytest_runtest_logreport(report)
    out = tmp_path_factory.mktemp("browser")
    return write_all(plugin.build(), out)["html"]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    profile = tmp_path / "profile"
    command = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        # Nothing may be fetched: the page is self-contained, and this proves it does not try.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=3000",
        *args,
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done


class _Elements(HTMLParser):
    """Every element's tag and attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def dump(page: Path, tmp_path: Path, fragment: str = "") -> _Elements:
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    parsed = _Elements()
    parsed.feed(_chromium(tmp_path, "--dump-dom", url).stdout.decode())
    body = next(attrs for tag, attrs in parsed.elements if tag == "body")
    assert body.get("data-ready") == "true", "the page's script did not run to its end"
    return parsed


def visible_rows(parsed: _Elements) -> set[str]:
    """IDs of the matrix rows the filters left visible."""
    rows = set()
    elements = parsed.elements
    for i, (tag, attrs) in enumerate(elements):
        if tag == "tr" and "data-req" in attrs and "hidden" not in attrs:
            link = next(a for t, a in elements[i:] if t == "a")
            rows.add(str(link["href"]).removeprefix("#req-"))
    return rows


def test_without_filter_every_requirement_is_shown(page: Path, tmp_path: Path) -> None:
    parsed = dump(page, tmp_path)
    assert visible_rows(parsed) == {
        "XFER-ERR-804",
        "REV-ERR-902",
        "LEDGER-LIMIT-MAX",
        "BAL-LIMIT-MAX",
        "CML-SORT-DEFAULT",
    }
    opened = [a for t, a in parsed.elements if t == "details" and "open" in a]
    assert opened == []


def test_status_filter_from_fragment(page: Path, tmp_path: Path) -> None:
    parsed = dump(page, tmp_path, "status=failed")
    assert visible_rows(parsed) == {"XFER-ERR-804", "REV-ERR-902"}
    details = {
        a["id"]: "hidden" in a for t, a in parsed.elements if t == "details" and "data-req" in a
    }
    assert details["req-XFER-ERR-804"] is False and details["req-LEDGER-LIMIT-MAX"] is True


def test_operation_and_text_filters(page: Path, tmp_path: Path) -> None:
    assert visible_rows(dump(page, tmp_path, "op=reversePoints")) == {"REV-ERR-902"}
    parsed = dump(page, tmp_path, "op=reversePoints")
    cells = [a for t, a in parsed.elements if t in ("td", "th") and "data-op" in a]
    assert {a["data-op"] for a in cells if "hidden" not in a} == {"reversePoints"}
    assert visible_rows(dump(page, tmp_path, "q=createddate")) == {"CML-SORT-DEFAULT"}
    assert visible_rows(dump(page, tmp_path, "status=passed,not_exercised&q=limit")) == {
        "LEDGER-LIMIT-MAX"
    }


def test_a_failure_opens_from_the_fragment(page: Path, tmp_path: Path) -> None:
    parsed = dump(page, tmp_path, "open=XFER-ERR-804")
    opened = [a["id"] for t, a in parsed.elements if t == "details" and "open" in a]
    assert opened == ["req-XFER-ERR-804"]


def test_hostile_body_stays_text(page: Path, tmp_path: Path) -> None:
    parsed = dump(page, tmp_path, "open=XFER-ERR-804")
    assert parsed.title.startswith("Points API conformance")
    body = next(attrs for tag, attrs in parsed.elements if tag == "body")
    assert "data-pwned" not in body
    assert not any(t == "img" for t, _ in parsed.elements)
    assert sum(1 for t, _ in parsed.elements if t == "script") == 1


def _png_has_colours(data: bytes, wanted: set[tuple[int, int, int]]) -> set[tuple[int, int, int]]:
    """Which of `wanted` an 8-bit, non-interlaced RGB(A) PNG contains (reading rows from the top
    and stopping once all are found)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    found: set[tuple[int, int, int]] = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = previous[x]
            c = previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xFF
        row = {(line[i], line[i + 1], line[i + 2]) for i in range(0, stride, bpp)}
        found |= wanted & row
        if found == wanted:
            break
        previous = line
    return found


def test_page_renders_with_status_colours(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    _chromium(tmp_path, "--window-size=1000,500", f"--screenshot={shot}", page.resolve().as_uri())
    found = _png_has_colours(shot.read_bytes(), {FAILED_RGB, PASSED_RGB})
    assert found == {FAILED_RGB, PASSED_RGB}, "the summary bar's colours did not paint"
