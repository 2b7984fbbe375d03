"""Re-checks of failed requirements, without a suite run: re-sending and re-judging a failing
exchange (`plugin.recheck`, through the real client on a scripted transport), the labels
(`report.confirmation`), the verdict's gate, the records that carry them, the settings that
ask for them, and how the reports show them."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from points_conformance.checks import CheckContext, run_checks
from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, Finding
from points_conformance.pacing import TransportFailure
from points_conformance.plugin.recheck import (
    BY_ANSWER,
    BY_CHECKS,
    recheck,
    recheck_failure,
    resendable,
)
from points_conformance.records import (
    CONFIRMED,
    INTERMITTENT,
    TRANSIENT,
    UNCHECKED,
    Recheck,
    TestRecord,
)
from points_conformance.report.collect import TestResult, verdicts
from points_conformance.report.confirmation import label
from points_conformance.report.html import render_html
from points_conformance.report.junit import render_junit
from points_conformance.report.markdown import render_markdown
from points_conformance.report.merge import merge_reports
from points_conformance.report.model import FAILED, FORMAT, PASSED, finalize, new_record
from points_conformance.settings import REMOTE_RECHECKS, SettingsError, resolve_settings
from points_conformance.variables import RECHECK_ENV, TOLERATE_ENV

from .misbehaving import MisbehavingServer

HISTORY = "/v2/points/transfer"
PARAMS = {"identifierName": "mobile", "identifierValue": "919000005001"}
GOOD: dict[str, list[Any]] = {"transfers": [], "warnings": []}
CONTEXT = CheckContext()


def _client(answers: Iterator[httpx.Response | Exception]) -> tuple[ConformanceClient, list[str]]:
    """A client whose target gives `answers` in turn; returns it and the methods it was sent."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    settings = resolve_settings(
        {"base_url": "http://127.0.0.1:9", "auth": "alice:pw", "recheck": "3"}, {}
    )
    client = ConformanceClient(
        settings,
        operation_resolver=lambda method, path: None,
        transport=httpx.MockTransport(handler),
        sleep=lambda seconds: None,
    )
    return client, sent


def html(request: httpx.Request | None = None) -> httpx.Response:
    return httpx.Response(200, text=json.dumps(GOOD), headers={"Content-Type": "text/html"})


def good() -> httpx.Response:
    return httpx.Response(200, json=GOOD)


def _content_type_finding(exchange: Exchange) -> Finding:
    found = [f for f in run_checks(CONTEXT, exchange) if f.requirement == "COMMON-CONTENT-TYPE"]
    assert found, "a text/html answer breaks COMMON-CONTENT-TYPE"
    return found[0]


# -- re-sending and re-judging ------------------------------------------------------------------


def test_a_failure_that_holds_on_every_resend_is_reproduced_each_time() -> None:
    client, sent = _client(iter([html(), html(), html()]))
    first = client.get("getPointsTransfers", HISTORY, params=PARAMS)
    outcome = recheck(client, CONTEXT, [_content_type_finding(first)], 2)
    assert sent == ["GET"] * 3
    assert outcome == (Recheck(0, 2, 2, BY_CHECKS, ("HTTP 200", "HTTP 200")),)


def test_a_failure_that_goes_away_is_not_reproduced() -> None:
    client, _ = _client(iter([html(), good(), html(), good()]))
    first = client.get("getPointsTransfers", HISTORY, params=PARAMS)
    (outcome,) = recheck(client, CONTEXT, [_content_type_finding(first)], 3)
    assert (outcome.sent, outcome.reproduced, outcome.judged_by) == (3, 1, BY_CHECKS)


def test_a_finding_the_checks_do_not_raise_is_judged_by_the_answer() -> None:
    # A test's own verdict (an expected refusal, a walk across pages): the same answer fails
    # the same way, another answer came out differently.
    refused = httpx.Response(400, json={"errors": [{"code": 1}]})
    client, _ = _client(iter([good(), good(), refused, httpx.Response(200, json={"other": 1})]))
    first = client.get("getPointsTransfers", HISTORY, params=PARAMS)
    finding = Finding("XFERHIST-PARAM-IDENTIFIER", "not refused", exchange=first)
    (outcome,) = recheck(client, CONTEXT, [finding], 3)
    assert outcome == Recheck(0, 3, 1, BY_ANSWER, ("HTTP 200", "HTTP 400", "HTTP 200"))


def test_a_timeout_or_502_on_a_resend_is_inconclusive_for_a_proper_answer() -> None:
    timeout = httpx.ReadTimeout("timed out")
    client, _ = _client(iter([html(), timeout, httpx.Response(502), html()]))
    first = client.get("getPointsTransfers", HISTORY, params=PARAMS)
    (outcome,) = recheck(client, CONTEXT, [_content_type_finding(first)], 3)
    assert (outcome.sent, outcome.reproduced, outcome.inconclusive) == (3, 1, 2)
    assert "no response within" in outcome.answers[0] and outcome.answers[1:] == (
        "HTTP 502",
        "HTTP 200",
    )
    assert label(_failed({"requirement": "R", "recheck": outcome.to_dict()})) == CONFIRMED


def test_a_502_that_comes_again_reproduces_a_502() -> None:
    client, _ = _client(iter([httpx.Response(502), httpx.Response(502), good()]))
    first = client.get("getPointsTransfers", HISTORY, params=PARAMS)
    finding = Finding("COMMON-SERVER-ERROR", "HTTP 502", exchange=first)
    (outcome,) = recheck(client, CONTEXT, [finding], 2)
    assert (outcome.reproduced, outcome.inconclusive) == (1, 0)


def _failure(client: ConformanceClient, operation: str, method: str, path: str) -> TransportFailure:
    with pytest.raises(TransportFailure) as caught:
        client.request(operation, method, path, json={} if method == "POST" else None)
    return caught.value


def test_a_request_a_timeout_ended_is_sent_again() -> None:
    timeout = httpx.ReadTimeout("timed out")
    client, sent = _client(iter([timeout, timeout, good(), timeout, timeout, timeout]))
    failure = _failure(client, "getPointsTransfers", "GET", HISTORY)
    outcome = recheck_failure(client, failure, 2)
    assert outcome is not None and (outcome.sent, outcome.reproduced) == (2, 1)
    assert outcome.answers[1] == "HTTP 200"
    error = {"requirement": "R", "error": True, "transport": True, "recheck": outcome.to_dict()}
    assert label(_failed(error)) == TRANSIENT
    again = recheck_failure(client, _failure(client, "getPointsTransfers", "GET", HISTORY), 2)
    assert again is not None and (again.sent, again.reproduced) == (2, 2)
    error["recheck"] = again.to_dict()
    assert label(_failed(error)) == CONFIRMED
    assert sent == ["GET"] * 6


def test_a_write_a_timeout_ended_is_not_sent_again() -> None:
    client, sent = _client(iter([httpx.ReadTimeout("timed out")]))
    failure = _failure(client, "transferPoints", "POST", "/v2/points/transfer")
    assert recheck_failure(client, failure, 3) is None and sent == ["POST"]


def test_writes_and_otp_requests_are_never_sent_again() -> None:
    client, sent = _client(iter([good(), good(), good(), good()]))
    transfer = client.post("transferPoints", "/v2/points/transfer", json={"points": 1})
    otp = client.post("isTransferrable", "/v2/points/isTransferrable", json={"issueOtp": True})
    check = client.post("isTransferrable", "/v2/points/isTransferrable", json={"issueOtp": False})
    assert not resendable(transfer) and not resendable(otp) and resendable(check)
    with pytest.raises(KeyError):
        client.resend(transfer)
    findings = [
        Finding("XFER-X", "bad", exchange=transfer),
        Finding("XFERCHK-X", "bad", exchange=otp),
    ]
    assert recheck(client, CONTEXT, findings, 3) == ()
    assert sent == ["POST"] * 3
    assert [
        r.finding for r in recheck(client, CONTEXT, [Finding("R", "m", exchange=check)], 1)
    ] == [0]


def test_one_exchange_per_requirement_and_none_without_rechecks() -> None:
    client, sent = _client(iter([html(), html(), html()]))
    first = client.get("getPointsTransfers", HISTORY, params=PARAMS)
    second = client.get("getPointsTransfers", HISTORY, params=PARAMS)
    findings = [_content_type_finding(first), _content_type_finding(second)]
    assert recheck(client, CONTEXT, findings, 0) == ()
    (outcome,) = recheck(client, CONTEXT, findings, 1)
    assert outcome.finding == 0 and len(sent) == 3


def test_the_client_resends_only_what_it_sent_with_its_credentials() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return good()

    settings = resolve_settings(
        {"base_url": "http://127.0.0.1:9", "auth": "alice:pw", "recheck": "1"}, {}
    )
    client = ConformanceClient(settings, transport=httpx.MockTransport(handler))
    exchange = client.get("getPointsTransfers", HISTORY, params=PARAMS, auth=("bob", "wrong"))
    again = client.resend(exchange)
    assert again.request == exchange.request and seen[0] == seen[1] and seen[0] is not None
    stranger = dataclasses.replace(exchange, request=dataclasses.replace(exchange.request))
    with pytest.raises(KeyError):
        client.resend(stranger)
    # Without re-checks the client keeps nothing to send again.
    quiet = ConformanceClient(
        dataclasses.replace(settings, recheck=0), transport=httpx.MockTransport(handler)
    )
    with pytest.raises(KeyError):
        quiet.resend(quiet.get("getPointsTransfers", HISTORY, params=PARAMS))


# -- labels ------------------------------------------------------------------------------------


def _finding(
    status: int = 200, sent: int = 0, reproduced: int = 0, inconclusive: int = 0, **extra: Any
) -> dict[str, Any]:
    finding: dict[str, Any] = {
        "requirement": "R",
        "message": "m",
        "exchange": {"operation": "getPointsTransfers", "response": {"status": status}},
        **extra,
    }
    if sent:
        finding["recheck"] = Recheck(0, sent, reproduced, BY_CHECKS, (), inconclusive).to_dict()
    return finding


def _failed(*findings: dict[str, Any]) -> dict[str, Any]:
    return {"status": FAILED, "findings": list(findings)}


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        ([_finding(sent=3, reproduced=3)], CONFIRMED),
        ([_finding(sent=3, reproduced=3), _finding(sent=3, reproduced=3)], CONFIRMED),
        ([_finding(sent=3, reproduced=1)], INTERMITTENT),
        ([_finding(sent=3, reproduced=3), _finding(sent=2, reproduced=0)], CONFIRMED),
        ([_finding(502, test="a", sent=3), _finding(test="b", sent=2, reproduced=2)], CONFIRMED),
        ([_finding(test="a", sent=3, reproduced=1), _finding(test="b")], UNCHECKED),
        ([_finding(test="a", sent=3, reproduced=1), _finding(test="a")], INTERMITTENT),
        ([_finding(502, test="a"), _finding(test="b", sent=3, reproduced=1)], INTERMITTENT),
        ([_finding(502, sent=3, reproduced=0)], TRANSIENT),
        ([_finding(429)], TRANSIENT),
        ([_finding(500, sent=2, reproduced=2)], CONFIRMED),
        (
            [{"requirement": "R", "message": "no response", "error": True, "transport": True}],
            TRANSIENT,
        ),
        ([_finding(502, sent=3, reproduced=0), _finding(200, sent=3, reproduced=1)], INTERMITTENT),
        ([_finding(sent=3, reproduced=2, inconclusive=1)], CONFIRMED),
        ([_finding(sent=3, reproduced=1, inconclusive=1)], INTERMITTENT),
        ([_finding(sent=2, reproduced=0, inconclusive=2)], UNCHECKED),
        ([_finding()], UNCHECKED),
        ([{"requirement": "R", "message": "AssertionError", "error": True}], UNCHECKED),
    ],
    ids=[
        "reproduced",
        "all-reproduced",
        "one-of-three",
        "one-finding-holds",
        "defect-among-502s",
        "unchecked-beats-intermittent",
        "rest-of-a-test-stands-with-its-recheck",
        "intermittent-beats-transient",
        "502-gone",
        "429-not-rechecked",
        "500-every-time",
        "timeout",
        "502-and-data",
        "502-on-recheck",
        "502-on-recheck-and-differs",
        "only-502-on-recheck",
        "not-rechecked",
        "exception",
    ],
)
def test_labels(findings: list[dict[str, Any]], expected: str) -> None:
    assert label(_failed(*findings)) == expected


def test_a_passed_requirement_has_no_label() -> None:
    assert label({"status": PASSED, "findings": [_finding(sent=1, reproduced=1)]}) is None


# -- the gate ----------------------------------------------------------------------------------


def _report(tolerate: list[str], **labels: str) -> dict[str, Any]:
    shapes = {
        CONFIRMED: [_finding(sent=2, reproduced=2)],
        INTERMITTENT: [_finding(sent=2, reproduced=1)],
        TRANSIENT: [_finding(502, sent=2, reproduced=0)],
    }
    requirements = {}
    for rid, kind in [("OK-1", PASSED), *labels.items()]:
        record = new_record(rid, {"statement": "s", "operations": ["getPointsTransfers"]})
        verdict = PASSED if kind == PASSED else FAILED
        record["tests"] = [{"nodeid": f"t::{rid}", "verdict": verdict, "operations": {}}]
        record["findings"] = copy.deepcopy(shapes.get(kind, []))
        requirements[rid] = record
    report = {
        "format": FORMAT,
        "requirements": requirements,
        "tests": {},
        "discrepancies": [],
        "confirmation": {"rechecks": 2, "tolerate": tolerate},
    }
    return finalize(report)


def test_without_tolerance_every_failure_fails_the_verdict() -> None:
    report = _report([], **{"A-1": INTERMITTENT, "A-2": TRANSIENT})
    assert report["verdict"] == "does not conform"
    assert report["confirmation"]["labels"] == {
        CONFIRMED: 0,
        INTERMITTENT: 1,
        TRANSIENT: 1,
        UNCHECKED: 0,
    }
    assert report["confirmation"]["let_through"] == 0
    assert report["requirements"]["OK-1"]["confirmation"] is None


def test_tolerated_labels_are_let_through_and_counted() -> None:
    report = _report([INTERMITTENT, TRANSIENT], **{"A-1": INTERMITTENT, "A-2": TRANSIENT})
    assert report["verdict"] == "conforms, with 2 tolerated failures"
    assert report["counts"][FAILED] == 2
    assert report["confirmation"]["let_through"] == 2
    assert report["confirmation"]["let_through_ids"] == ["A-1", "A-2"]


def test_a_confirmed_failure_is_never_let_through() -> None:
    report = _report([INTERMITTENT, TRANSIENT], **{"A-1": INTERMITTENT, "A-3": CONFIRMED})
    assert report["verdict"] == "does not conform"
    assert report["confirmation"]["let_through"] == 1


def test_tolerating_one_label_lets_only_that_one_through() -> None:
    report = _report([TRANSIENT], **{"A-1": INTERMITTENT, "A-2": TRANSIENT})
    assert report["verdict"] == "does not conform"
    assert report["confirmation"]["let_through_ids"] == ["A-2"]


def test_a_merge_labels_as_the_shards_did() -> None:
    one = _report([TRANSIENT], **{"A-2": TRANSIENT})
    two = _report([TRANSIENT], **{"A-3": CONFIRMED})
    merged = merge_reports([one, two])
    assert merged["requirements"]["A-2"]["confirmation"] == TRANSIENT
    assert merged["requirements"]["A-3"]["confirmation"] == CONFIRMED
    assert merged["confirmation"]["let_through"] == 1
    assert merged["verdict"] == "does not conform"


def test_the_reports_show_the_labels_and_what_was_let_through() -> None:
    report = _report([INTERMITTENT], **{"A-1": INTERMITTENT, "A-3": CONFIRMED})
    summary = render_markdown(report)
    assert "**A-1**" in summary and "\\[intermittent\\]" in summary
    assert "\\[confirmed\\]" in summary
    assert "1 confirmed, 1 intermittent" in summary and "1 let through" in summary
    junit = render_junit(report)
    assert 'type="nonconformance-intermittent"' in junit
    assert '<property name="confirmation" value="confirmed"' in junit
    assert '<property name="let_through" value="1"' in junit
    page = render_html(report)
    assert 'class="badge c-intermittent"' in page and "a re-check came out differently" in page
    assert "Sent again 2 times: failed the same way 1 times" in page


# -- records and collection --------------------------------------------------------------------


def test_the_test_record_carries_rechecks_and_transport_failures_across_workers() -> None:
    record = TestRecord(
        requirements=("R",),
        findings=({"requirement": "R", "message": "m"},),
        rechecks=(Recheck(0, 3, 1, BY_ANSWER, ("HTTP 200", "HTTP 502", "HTTP 200")),),
        transport_failure="GET /x: no response within 1.0 s",
        transport_recheck=Recheck(0, 2, 2, BY_ANSWER, ("GET /x: no response", "HTTP 502")),
    )
    assert TestRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record


def _result(record: TestRecord, outcome: str = "failed") -> TestResult:
    return TestResult("t::one", outcome=outcome, message="GET /x: no response", record=record)


def test_collection_puts_each_recheck_on_its_finding() -> None:
    record = TestRecord(
        requirements=("R",),
        findings=({"requirement": "R", "message": "a"}, {"requirement": "S", "message": "b"}),
        rechecks=(Recheck(1, 2, 2, BY_CHECKS, ("HTTP 200", "HTTP 200")),),
    )
    settled = verdicts(_result(record), {})
    assert "recheck" not in settled["R"][2][0]
    assert settled["S"][2][0]["recheck"]["reproduced"] == 2


def test_a_test_ended_by_a_transport_failure_is_transient() -> None:
    record = TestRecord(requirements=("R",), transport_failure="GET /x: no response within 1 s")
    (error,) = verdicts(_result(record), {})["R"][2]
    assert error["transport"] is True
    assert label(_failed(error)) == TRANSIENT
    held = dataclasses.replace(record, transport_recheck=Recheck(0, 1, 1, BY_ANSWER, ("x",)))
    (error,) = verdicts(_result(held), {})["R"][2]
    assert error["recheck"]["reproduced"] == 1 and label(_failed(error)) == CONFIRMED
    (plain,) = verdicts(_result(TestRecord(requirements=("R",))), {})["R"][2]
    assert "transport" not in plain and label(_failed(plain)) == UNCHECKED


# -- settings ----------------------------------------------------------------------------------


def test_rechecks_default_to_none_on_loopback_and_some_elsewhere() -> None:
    assert resolve_settings({"base_url": "http://127.0.0.1:1"}, {}).rechecks == 0
    assert resolve_settings({"base_url": "https://staging.example"}, {}).rechecks == REMOTE_RECHECKS
    given = resolve_settings({"base_url": "http://127.0.0.1:1", "recheck": "2"}, {})
    assert given.rechecks == 2
    off = resolve_settings({"base_url": "https://staging.example"}, {RECHECK_ENV: "0"})
    assert off.rechecks == 0


def test_tolerate_takes_labels_or_all() -> None:
    def tolerate(raw: str) -> tuple[str, ...]:
        return resolve_settings({"base_url": "http://127.0.0.1:1"}, {TOLERATE_ENV: raw}).tolerate

    assert tolerate("transient") == (TRANSIENT,)
    assert tolerate("Transient, intermittent") == (INTERMITTENT, TRANSIENT)
    assert tolerate("all") == (INTERMITTENT, TRANSIENT)
    for wrong in ("confirmed", "sometimes", ","):
        with pytest.raises(SettingsError, match=TOLERATE_ENV):
            tolerate(wrong)
    with pytest.raises(SettingsError, match="--recheck"):
        resolve_settings({"base_url": "http://127.0.0.1:1", "recheck": "-1"}, {})


# -- the random misbehaviour is reproducible -------------------------------------------------------


def _flaky_draws(seed: int) -> list[bool]:
    server = MisbehavingServer("flaky", upstream="http://127.0.0.1:9", seed=seed)
    draw: Callable[[], bool] = server._flakes
    return [draw() for _ in range(300)]


def test_the_flaky_modes_break_one_request_in_three_the_same_way_for_a_seed() -> None:
    draws = _flaky_draws(0)
    assert draws == _flaky_draws(0) and draws != _flaky_draws(1)
    assert 70 <= sum(draws) <= 130
