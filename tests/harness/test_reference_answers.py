"""The reference server's kept answers (`AnswerCache`): a read is answered again from the bytes
it got last time only while nothing that decides it has changed (data, clock, request)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from points_conformance.reference import app as reference_app
from points_conformance.reference.answers import SLOT, AnswerCache
from points_conformance.reference.behaviour import Hooks
from points_conformance.reference.context import Ctx, Handler, Result
from points_conformance.reference.store import Store
from points_conformance.reference.testing import TestClient, app_client, build_template, fresh_store

LEDGER = "/v2/pointsLedger/getCustomerLedgerInfo"
BALANCE = "/v2/pointsLedger/getCustomerLedgerBalance"
CHECK = "/v2/points/isTransferrable"
RICH = {"identifierName": "mobile", "identifierValue": "919000005001", "source": "INSTORE"}
NOON = datetime(2026, 4, 2, 12, 0, 0)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("answers-template"))


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    s = fresh_store(template, tmp_path / "points.db")
    yield s
    s.close()


@pytest.fixture
def client(store: Store) -> TestClient:
    return app_client(store)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often each route really ran (a kept answer does not run it)."""
    counted: dict[str, int] = {}

    def counting(operation_id: str, handler: Handler) -> Handler:
        def run(ctx: Ctx, params: dict[str, Any]) -> Result:
            counted[operation_id] = counted.get(operation_id, 0) + 1
            return handler(ctx, params)

        return run

    for operation_id, handler in list(reference_app.HANDLERS.items()):
        monkeypatch.setitem(reference_app.HANDLERS, operation_id, counting(operation_id, handler))
    return counted


def test_a_read_is_answered_again_with_the_same_bytes(
    client: TestClient, runs: dict[str, int]
) -> None:
    first = client.get(LEDGER, params=RICH)
    again = client.get(LEDGER, params=RICH)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content and first.headers == again.headers
    assert runs["getCustomerLedgerInfo"] == 1
    client.get(LEDGER, params={**RICH, "limit": "5"})
    assert runs["getCustomerLedgerInfo"] == 2


def test_a_commit_by_another_connection_shows_at_once(
    client: TestClient, store: Store, runs: dict[str, int]
) -> None:
    before = client.get(BALANCE, params=RICH).content
    assert client.get(BALANCE, params=RICH).content == before
    # Another process, or any program, writing the same file.
    with sqlite3.connect(store.path) as other:
        other.execute(
            "UPDATE identifiers SET value = 'ext-moved' WHERE customer_id = 5001"
            " AND name = 'externalId'"
        )
    after = client.get(BALANCE, params=RICH).content
    assert b'"externalId":"ext-moved"' in after and b"ext-moved" not in before
    assert runs["getCustomerLedgerBalance"] == 2


def test_a_refusal_is_kept_per_credentials(client: TestClient, runs: dict[str, int]) -> None:
    assert client.get(LEDGER, params=RICH).status_code == 200
    refused = client.get(LEDGER, params=RICH, auth=("conformance", "wrong"))
    assert refused.status_code == 401 and "WWW-Authenticate" in refused.headers
    assert client.get(LEDGER, params=RICH).status_code == 200
    assert client.get(LEDGER, params=RICH, auth=("conformance", "wrong")).status_code == 401
    # The credentials are checked before the route runs: it ran for the first answer alone.
    assert runs.get("getCustomerLedgerInfo") == 1


def test_an_issued_password_is_never_answered_again(
    client: TestClient, store: Store, runs: dict[str, int]
) -> None:
    kept = client.get(LEDGER, params=RICH).content
    body = {
        "pointsTobeTransferred": 1,
        "fromCustomerIdentifier": {"type": "ID", "value": "5007"},
        "toCustomerIdentifier": {"type": "ID", "value": "5008"},
        "issueOtp": True,
    }
    codes = {client.post(CHECK, json=body).headers["X-Sandbox-OTP"] for _ in range(3)}
    assert len(codes) == 3
    assert runs["isTransferrable"] == 3
    # A password changes no read's answer, so the kept ones stay.
    assert client.get(LEDGER, params=RICH).content == kept
    assert runs["getCustomerLedgerInfo"] == 1


def test_an_answer_that_read_the_clock_is_kept_while_the_clock_reads_the_same(
    client: TestClient, store: Store, runs: dict[str, int]
) -> None:
    member = store.seed_info()["cross_member"]["member_id"]
    cml = f"/v2/customers/{member}/crossMemberLedger"
    now = [NOON]
    store.clock = lambda: now[0]
    assert client.get(cml).status_code == 200
    client.get(cml)
    assert runs["getCrossMemberLedger"] == 1
    client.get(LEDGER, params=RICH)
    now[0] = NOON + timedelta(seconds=1)
    client.get(cml)
    assert runs["getCrossMemberLedger"] == 2
    # The ledger's answer does not read the clock: it is still kept.
    client.get(LEDGER, params=RICH)
    assert runs["getCustomerLedgerInfo"] == 1


def test_writes_and_unrouted_requests_are_never_kept(
    client: TestClient, runs: dict[str, int]
) -> None:
    body = {
        "pointsTobeTransferred": 1,
        "fromCustomerIdentifier": {"type": "ID", "value": "5007"},
        "toCustomerIdentifier": {"type": "ID", "value": "5008"},
        "code": "NOPE00",
    }
    for _ in range(2):
        assert client.post("/v2/points/transfer", json=body).status_code == 400
        assert client.get("/v2/nowhere").status_code == 404
    assert runs["transferPoints"] == 2


def test_an_application_with_hooks_keeps_no_answer(store: Store, runs: dict[str, int]) -> None:
    def same(operation_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return params

    client = app_client(store, hooks=Hooks().then(params_hook=same))
    first = client.get(LEDGER, params=RICH)
    assert client.get(LEDGER, params=RICH).content == first.content
    assert runs["getCustomerLedgerInfo"] == 2


def test_an_answer_computed_before_another_process_wrote_is_not_kept(store: Store) -> None:
    """A request that waits to send its answer while another process commits and another
    request sees that commit must not leave its older answer among the newer ones."""
    ran: list[str] = []
    cache: AnswerCache

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        ran.append(scope["path"])
        scope[SLOT].keep = True
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"] == "/slow" and len(ran) == 1:
            with sqlite3.connect(store.path) as other:
                other.execute("UPDATE customers SET first_name = 'Moved' WHERE customer_id = 5001")
            await cache(_scope("/other"), _nothing, _ignore)
        await send({"type": "http.response.body", "body": b"{}"})

    cache = AnswerCache(route, store)

    async def three_times() -> None:
        await cache(_scope("/slow"), _nothing, _ignore)
        await cache(_scope("/slow"), _nothing, _ignore)
        await cache(_scope("/slow"), _nothing, _ignore)

    asyncio.run(three_times())
    assert ran == ["/slow", "/other", "/slow"]


def _scope(path: str) -> Scope:
    return {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}


async def _nothing() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _ignore(message: Message) -> None:
    return None
