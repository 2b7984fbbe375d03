"""`points-conformance validate`: HAR files judged with the suite's checks.

The recordings are small: a few exchanges with the reference server (faultless, and with a
pagination fault), written with the run's own HAR writer, then reshaped the way other tools
store bodies (base64, gzip, no timings, side files) to show that each reads the same.
"""

from __future__ import annotations

import base64
import copy
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from points_conformance.client import ConformanceClient
from points_conformance.embedded import EmbeddedServer, start_embedded
from points_conformance.har.command import NOTHING_TO_JUDGE, main, validate
from points_conformance.har.reading import Credentials, Recorded, read_har
from points_conformance.har.writing import HarWriter, har_entry, worker_path
from points_conformance.model import Exchange
from points_conformance.settings import Settings, resolve_settings

LEDGER = "/v2/pointsLedger/getCustomerLedgerInfo"
USER, PASSWORD = "conformance", "conformance-secret"


def _settings(server: EmbeddedServer) -> Settings:
    return resolve_settings({}, {}).with_embedded(
        base_url=server.url,
        username=server.username,
        password=server.password,
        target_data=server.target_data,
        target_file=server.target_file,
    )


def _exchanges(server: EmbeddedServer) -> list[Exchange]:
    """A ledger walked in pages of 100, and one request over the limit."""
    customer = server.target_data.customer("rich")
    assert customer is not None
    query = {"identifierName": "id", "identifierValue": customer.id, "source": "INSTORE"}
    with ConformanceClient(_settings(server)) as client:
        first = client.get(None, LEDGER, params={**query, "limit": 100, "offset": 0})
        count = first.response.json["ledgerDetails"]["pageCount"]
        assert count > 1
        pages = [
            client.get(None, LEDGER, params={**query, "limit": 100, "offset": n})
            for n in range(1, count)
        ]
        over = client.get(None, LEDGER, params={**query, "limit": 101})
    return [first, *pages, over]


@pytest.fixture(scope="module")
def faultless() -> Iterator[list[dict[str, Any]]]:
    with start_embedded() as server:
        yield [har_entry(ex) for ex in _exchanges(server)]


@pytest.fixture(scope="module")
def page_count_floor() -> Iterator[list[dict[str, Any]]]:
    with start_embedded(faults=["ledger-page-count-floor"]) as server:
        yield [har_entry(ex) for ex in _exchanges(server)]


def _har(path: Path, entries: list[Any], **log: Any) -> Path:
    path.write_text(json.dumps({"log": {"version": "1.2", **log, "entries": entries}}))
    return path


def _settings_for(tmp_path: Path, *, strict: bool = False, auth: str | None = None) -> Settings:
    options: dict[str, Any] = {"report_dir": str(tmp_path / "report"), "strict": strict or None}
    if auth:
        options["auth"] = auth
    return resolve_settings(options, {})


def _run(tmp_path: Path, *files: Path, strict: bool = False) -> tuple[int, dict[str, Any], str]:
    out = io.StringIO()
    status, report = validate([str(f) for f in files], _settings_for(tmp_path, strict=strict), out)
    assert report is not None
    return status, report, out.getvalue()


def _failed(report: dict[str, Any]) -> set[str]:
    return {rid for rid, r in report["requirements"].items() if r["status"] == "failed"}


# -- what the reference server answers, and a fault ---------------------------------------------


def test_a_recording_of_the_reference_server_has_no_finding(
    tmp_path: Path, faultless: list[dict[str, Any]]
) -> None:
    for strict in (False, True):
        status, report, printed = _run(
            tmp_path, _har(tmp_path / "ok.har", faultless), strict=strict
        )
        assert status == 0, printed
        assert report["recorded"]["judged"] == report["requests"] == len(faultless)
        assert report["recorded"]["walks_judged"] == 1
        assert report["counts"]["passed"] > 0 and not _failed(report)
        # What a judge of traffic speaks for is said, and listed in the report.
        speaks = set(report["recorded"]["judged_requirements"])
        assert {"LEDGER-ERR-11003", "LEDGER-FORMAT-DECIMAL", "LEDGER-PAGE-WALK"} <= speaks
        # Balances and ledgers around a write are paired; the transfer history is not judged.
        assert {"XFER-STATE-CONSERVE", "XFER-STATE-LEDGER"} <= speaks
        assert "XFER-STATE-HISTORY" not in speaks
        assert report["recorded"]["pairs_judged"] == 0
        assert f"judged from traffic: the {len(speaks)} requirements" in printed


def test_a_fault_is_named_under_its_requirement(
    tmp_path: Path, page_count_floor: list[dict[str, Any]]
) -> None:
    status, report, printed = _run(
        tmp_path, _har(tmp_path / "floor.har", page_count_floor), strict=True
    )
    assert status == 1
    assert "LEDGER-PAGE-COUNT" in _failed(report)
    assert "LEDGER-PAGE-COUNT" in printed
    finding = report["requirements"]["LEDGER-PAGE-COUNT"]["findings"][0]
    assert finding["exchange"]["request"]["curl"].startswith("curl ")


def test_the_walk_rules_see_pages_only_as_a_whole(
    tmp_path: Path, page_count_floor: list[dict[str, Any]]
) -> None:
    # With pageCount rounded down, a walk that stops at pageCount misses the last entries.
    _, report, _ = _run(tmp_path, _har(tmp_path / "floor.har", page_count_floor), strict=True)
    assert report["recorded"]["walks_judged"] == 1
    assert "LEDGER-PAGE-WALK" in _failed(report)


# -- the ways tools store an entry -------------------------------------------------------------


def _reshaped(entries: list[dict[str, Any]], change: Any) -> list[dict[str, Any]]:
    copied = copy.deepcopy(entries)
    for entry in copied:
        change(entry)
    return copied


def _base64(entry: dict[str, Any]) -> None:
    content = entry["response"]["content"]
    content["text"] = base64.b64encode(content["text"].encode()).decode()
    content["encoding"] = "base64"


def _gzip_base64(entry: dict[str, Any]) -> None:
    content = entry["response"]["content"]
    content["text"] = base64.b64encode(gzip.compress(content["text"].encode())).decode()
    content["encoding"] = "base64"
    entry["response"]["headers"].append({"name": "Content-Encoding", "value": "gzip"})


def _bare(entry: dict[str, Any]) -> None:
    for key in ("time", "timings", "startedDateTime", "cache"):
        entry.pop(key, None)
    entry["request"].pop("postData", None)
    entry["response"]["content"].pop("mimeType", None)
    entry["request"]["headers"].append({"name": ":authority", "value": "127.0.0.1"})


@pytest.mark.parametrize("change", [_base64, _gzip_base64, _bare], ids=lambda f: f.__name__)
def test_every_way_of_storing_a_body_reads_the_same(
    tmp_path: Path, page_count_floor: list[dict[str, Any]], change: Any
) -> None:
    plain = list(read_har(_har(tmp_path / "plain.har", page_count_floor), Credentials()))
    path = _har(tmp_path / "changed.har", _reshaped(page_count_floor, change))
    changed = list(read_har(path, Credentials()))
    assert all(isinstance(item, Recorded) for item in changed)
    assert [c.response.json for c in changed] == [p.response.json for p in plain]  # type: ignore[union-attr]
    status, report, _ = _run(tmp_path, path, strict=True)
    assert status == 1 and "LEDGER-PAGE-COUNT" in _failed(report)


def test_a_body_in_a_side_file_is_read(tmp_path: Path, faultless: list[dict[str, Any]]) -> None:
    entries = copy.deepcopy(faultless[:1])
    content = entries[0]["response"]["content"]
    (tmp_path / "body-0.json").write_text(content.pop("text"))
    content["_file"] = "body-0.json"
    [item] = read_har(_har(tmp_path / "attached.har", entries), Credentials())
    assert isinstance(item, Recorded)
    assert item.response.json == json.loads((tmp_path / "body-0.json").read_text())


def test_entries_without_an_answer_are_counted_not_judged(
    tmp_path: Path, faultless: list[dict[str, Any]]
) -> None:
    aborted, omitted, brotli = copy.deepcopy(faultless[:3])
    aborted["response"]["status"] = 0
    del omitted["response"]["content"]["text"]
    omitted["response"]["content"]["size"] = -1
    brotli["response"]["content"]["text"] = base64.b64encode(b"\x8b\x05\x80\xff\xfe").decode()
    brotli["response"]["content"]["encoding"] = "base64"
    brotli["response"]["headers"].append({"name": "content-encoding", "value": "br"})
    path = _har(tmp_path / "partial.har", [aborted, omitted, brotli, faultless[0]])
    status, report, printed = _run(tmp_path, path)
    reasons = {row["reason"] for row in report["recorded"]["not_judged"]}
    assert status == 0
    assert report["recorded"]["judged"] == 1
    assert reasons == {
        "no response was recorded",
        "the response body was not recorded",
        "a body still compressed with br, which is not read",
    }
    assert "not judged (1): no response was recorded" in printed


# -- matching ----------------------------------------------------------------------------------


def test_paths_under_a_prefix_match_and_others_are_listed(
    tmp_path: Path, faultless: list[dict[str, Any]]
) -> None:
    prefixed = copy.deepcopy(faultless[0])
    prefixed["request"]["url"] = prefixed["request"]["url"].replace("/v2/", "/gateway/api/v2/")
    other = copy.deepcopy(faultless[0])
    other["request"]["url"] = "http://127.0.0.1/favicon.ico"
    preflight = copy.deepcopy(faultless[0])
    preflight["request"]["method"] = "OPTIONS"
    path = _har(tmp_path / "mixed.har", [prefixed, other, other, preflight])
    status, report, printed = _run(tmp_path, path)
    assert status == 0
    assert report["recorded"]["judged"] == 1
    assert report["recorded"]["unmatched"] == [
        {"method": "GET", "path": "/favicon.ico", "count": 2},
        {"method": "OPTIONS", "path": LEDGER, "count": 1},
    ]
    assert "no operation (2): GET /favicon.ico" in printed


# -- secrets -----------------------------------------------------------------------------------


def test_credentials_of_the_recording_and_the_settings_reach_no_report(
    tmp_path: Path, faultless: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    token, cookie, configured = "tok-9f8e7d6c5b", "sess-1a2b3c4d5e", "configured-pw-77"
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    entries = copy.deepcopy(faultless[:2])
    for entry, authorization in zip(entries, (f"Bearer {token}", f"Basic {basic}"), strict=True):
        entry["request"]["headers"] = [
            h for h in entry["request"]["headers"] if h["name"].lower() != "authorization"
        ] + [
            {"name": "Authorization", "value": authorization},
            {"name": "Cookie", "value": f"session={cookie}"},
        ]
        entry["response"]["headers"].append({"name": "Set-Cookie", "value": f"session={cookie}"})
        # A server that fails and echoes every credential it saw.
        entry["response"]["status"] = 500
        entry["response"]["content"]["text"] = json.dumps(
            {"echo": [token, cookie, configured, PASSWORD, basic]}
        )
    path = _har(tmp_path / "secrets.har", entries)
    report_dir = tmp_path / "report"
    status = main([str(path), "--auth", f"someone:{configured}", "--report-dir", str(report_dir)])
    printed = capsys.readouterr()
    assert status == 1
    files = [p.read_text() for p in report_dir.iterdir()]
    assert len(files) == 4 and all("COMMON-SERVER-ERROR" in text for text in files)
    for text in [*files, printed.out, printed.err]:
        for secret in (token, cookie, configured, PASSWORD, basic):
            assert secret not in text
    report = json.loads((report_dir / "conformance.json").read_text())
    findings = report["requirements"]["COMMON-SERVER-ERROR"]["findings"]
    curls = [f["exchange"]["request"]["curl"] for f in findings]
    assert any('-u "$POINTS_CONFORMANCE_USER:$POINTS_CONFORMANCE_PASSWORD"' in c for c in curls)
    assert any("Bearer $POINTS_CONFORMANCE_BEARER" in c for c in curls)


# -- exit statuses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"log": {"entries": [', "the JSON is invalid"),
        ("not json at all", "the JSON is invalid"),
        ('{"entries": []}', 'no "log" object'),
        ('{"log": {"version": "1.2"}}', '"log" has no "entries" list'),
    ],
)
def test_a_file_that_is_no_har_exits_2_with_one_line(
    tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.har"
    path.write_text(content)
    assert main([str(path), "--report-dir", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "report").exists()


def test_a_missing_file_and_no_file_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "absent.har")]) == 2
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "absent.har: cannot read" in err and "Traceback" not in err


def test_nothing_to_judge_has_its_own_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = {
        "request": {"method": "GET", "url": "http://example.test/index.html", "headers": []},
        "response": {"status": 200, "headers": [], "content": {"text": "<html></html>"}},
    }
    empty = _har(tmp_path / "empty.har", [])
    browsing = _har(tmp_path / "browsing.har", [page])
    for path in (empty, browsing):
        assert main([str(path), "--report-dir", str(tmp_path / "report")]) == NOTHING_TO_JUDGE
    assert "nothing to judge" in capsys.readouterr().out


def test_findings_exit_1_and_none_exit_0_through_the_command(
    tmp_path: Path,
    faultless: list[dict[str, Any]],
    page_count_floor: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = _har(tmp_path / "good.har", faultless)
    bad = _har(tmp_path / "bad.har", page_count_floor)
    report = ["--report-dir", str(tmp_path / "report")]
    assert main([str(good), *report]) == 0
    assert main([str(good), "--conformance-strict", *report]) == 0
    assert main([str(good), str(bad), "--conformance-strict", *report]) == 1
    assert "verdict: the recorded traffic does NOT conform" in capsys.readouterr().out


# -- writing -----------------------------------------------------------------------------------


def test_the_writer_streams_a_har_that_reads_back(
    tmp_path: Path, faultless: list[dict[str, Any]]
) -> None:
    originals = [item for item in read_har(_har(tmp_path / "a.har", faultless), Credentials())]
    writer = HarWriter(tmp_path / "written.har")
    for item in originals:
        assert isinstance(item, Recorded)
        writer.add(Exchange("getCustomerLedgerInfo", item.request, item.response))
    writer.close()
    document = json.loads((tmp_path / "written.har").read_text())
    assert document["log"]["version"] == "1.2"
    back = list(read_har(tmp_path / "written.har", Credentials()))
    assert [b.response.json for b in back] == [o.response.json for o in originals]  # type: ignore[union-attr]
    assert [b.request.url for b in back] == [o.request.url for o in originals]  # type: ignore[union-attr]
    headers = document["log"]["entries"][0]["request"]["headers"]
    assert {"name": "authorization", "value": "Basic ****"} in headers


def test_the_client_hands_every_exchange_to_the_recording(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True}, headers={"Set-Cookie": "id=s3cr3t-c00kie"})

    settings = resolve_settings(
        {"base_url": "http://127.0.0.1:9", "auth": f"{USER}:{PASSWORD}"}, {}
    )
    writer = HarWriter(worker_path(tmp_path / "run.har", "gw1"))
    with ConformanceClient(settings, transport=httpx.MockTransport(answer)) as client:
        client.listeners.append(writer.add)
        client.get(None, LEDGER, params={"identifierName": "id"})
        client.post(None, "/v2/points/transfer", json={"points": 5})
    writer.close()
    written = tmp_path / "run.gw1.har"
    assert writer.path == written and worker_path(written, None) == written
    text = written.read_text()
    assert PASSWORD not in text and "s3cr3t-c00kie" not in text
    entries = json.loads(text)["log"]["entries"]
    assert [e["_operation"] for e in entries] == ["getCustomerLedgerInfo", "transferPoints"]
    assert entries[1]["request"]["postData"]["text"] == '{"points":5}'


def test_a_report_folder_that_cannot_be_written_exits_2(
    tmp_path: Path, faultless: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the report folder should be")
    path = _har(tmp_path / "ok.har", faultless[:1])
    assert main([str(path), "--report-dir", str(blocker / "report")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("points-conformance: report not written:") and err.count("\n") == 1


def test_walks_are_paired_across_interleaved_queries_and_broken_ones_dropped(
    tmp_path: Path, faultless: list[dict[str, Any]]
) -> None:
    pages = faultless[:-1]
    other = copy.deepcopy(pages)
    for entry in other:
        entry["request"]["url"] += "&sort=DESC"
    interleaved = [entry for pair in zip(pages, other, strict=True) for entry in pair]
    _, report, _ = _run(tmp_path, _har(tmp_path / "two.har", interleaved))
    assert report["recorded"]["walks_judged"] == 2
    _, report, _ = _run(tmp_path, _har(tmp_path / "gap.har", [pages[0], *pages[2:]]))
    assert report["recorded"]["walks_judged"] == 0
    assert report["recorded"]["walks_incomplete"] == 1
