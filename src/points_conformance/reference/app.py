"""The reference server's HTTP layer: the ten documented operations on top of `Store`.

Every route goes through the same wrapper: the request becomes a params dict, `params_hook`
may rewrite it, Basic credentials are checked, the operation runs (a read on the event loop, a
write in a worker thread) and its (status, body) passes through `response_hook`. Rules come
from `Behaviour` only. Input is never validated by the framework: each bad value is answered
with the documented code in the error envelope, and anything unexpected becomes a logged 500
envelope, never a traceback. The routes are those of `points_conformance.operations`; the
handlers live in one module per family.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from points_conformance.operations import TABLE, WRITE_OPERATIONS
from points_conformance.reference.answers import SLOT, AnswerCache, AnswerSlot
from points_conformance.reference.auth import credentials_ok
from points_conformance.reference.balance import ledger_balance
from points_conformance.reference.behaviour import BODY_INVALID, NO_BODY, Behaviour, Hooks
from points_conformance.reference.context import ApiError, Ctx, Handler, Result
from points_conformance.reference.cross_member import cross_member_ledger
from points_conformance.reference.formatting import dumps, error_body
from points_conformance.reference.ledger import ledger_info
from points_conformance.reference.params import MAX_BODY, parse_json
from points_conformance.reference.reverse import reverse_points
from points_conformance.reference.store import (
    Store,
)
from points_conformance.reference.transfer_history import points_transfers
from points_conformance.reference.transfers import (
    is_transferrable,
    is_transferrable_group,
    transfer_points,
    transfer_points_group,
)

log = logging.getLogger("points_conformance.reference")

DEFAULT_CREDENTIALS = ("conformance", "conformance-secret")
DEFAULT_ORG = 50406


HANDLERS: dict[str, Handler] = {
    "getCustomerLedgerInfo": lambda c, p: ledger_info(c, p, connected=False),
    "getCustomerLedgerInfoConnectedOrgs": lambda c, p: ledger_info(c, p, connected=True),
    "getCrossMemberLedger": cross_member_ledger,
    "getCustomerLedgerBalance": ledger_balance,
    "isTransferrable": is_transferrable,
    "isTransferrableUserGroup": is_transferrable_group,
    "transferPoints": transfer_points,
    "transferPointsUserGroup": transfer_points_group,
    "getPointsTransfers": points_transfers,
    "reversePoints": reverse_points,
}


class _SlashCollapse:
    """Treats `//` in a path as `/` (one page writes its URLs as `/v2//pointsLedger/...`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope.get("path", ""):
            path = re.sub("/{2,}", "/", scope["path"])
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


class _Server:
    """What every route shares: the store, the rules and hooks, the credentials, the caller."""

    def __init__(
        self,
        store: Store,
        rules: Behaviour,
        taps: Hooks,
        credentials: tuple[str, str],
        org_id: int | None,
    ) -> None:
        self.store, self.rules, self.taps = store, rules, taps
        self.user, self.password = credentials
        self.org_id = org_id
        self.caller: dict[str, Any] = {}

    def caller_org(self) -> tuple[int, int | None]:
        caller, store = self.caller, self.store
        if not caller:
            org = self.org_id
            if org is None:
                try:
                    org = int(store.seed_info().get("org_id", DEFAULT_ORG))
                except (LookupError, sqlite3.Error):
                    org = DEFAULT_ORG
            row = (
                store.conn()
                .execute("SELECT MIN(till_id) FROM tills WHERE org_id = ?", (org,))
                .fetchone()
            )
            caller["org"] = org
            caller["till"] = int(row[0]) if row and row[0] is not None else None
        return int(caller["org"]), caller["till"]

    def run(
        self, operation_id: str, params: dict[str, Any], slot: AnswerSlot | None = None
    ) -> Result:
        """The operation's answer; `slot`, when given, learns whether the route read the clock."""
        rules = self.rules
        handler = HANDLERS[operation_id]
        headers = params.get("headers") or {}
        if not credentials_ok(headers.get("authorization"), self.user, self.password):
            return Result(
                rules.auth_status,
                error_body(
                    operation_id, rules.err_auth, "Unauthorized: invalid or missing credentials"
                ),
                {"WWW-Authenticate": 'Basic realm="points"'},
            )
        org, till = self.caller_org()
        ctx = Ctx(self.store, rules, org, till)
        try:
            return handler(ctx, params)
        except ApiError as exc:
            status = exc.status if exc.status is not None else rules.error_status
            return Result(status, error_body(operation_id, exc.code, exc.message), {})
        finally:
            if slot is not None:
                slot.clock = ctx.clock_read

    def endpoint(self, operation_id: str) -> Callable[[Request], Awaitable[Response]]:
        rules, taps = self.rules, self.taps
        # Reads take well under a millisecond: the hop to a worker thread would cost about as
        # much. Writes keep their thread, as they may wait for the write lock (or, in a faulty
        # variant, sleep between check and move) without holding up the other connections.
        inline = operation_id not in WRITE_OPERATIONS

        async def handle(request: Request) -> Response:
            status: int
            body: Any
            headers: dict[str, str] = {}
            # Where a read says its answer may be kept whole (`AnswerCache`): once it answered
            # without an unexpected error.
            slot: AnswerSlot | None = request.scope.get(SLOT) if inline else None
            try:
                raw = await request.body() if request.method == "POST" else b""
                params: dict[str, Any] = {
                    "query": list(request.query_params.multi_items()),
                    "path": dict(request.path_params),
                    "headers": {k.lower(): v for k, v in request.headers.items()},
                    "body": parse_json(raw) if len(raw) <= MAX_BODY else BODY_INVALID,
                }
                params = taps.params_hook(operation_id, params)
                if inline:
                    result = self.run(operation_id, params, slot)
                    if slot is not None:
                        slot.keep = True
                else:
                    result = await run_in_threadpool(self.run, operation_id, params)
                status, body, headers = result.status, result.body, result.headers
            except Exception:
                log.exception("unexpected error in %s", operation_id)
                status = rules.internal_status
                body = error_body(operation_id, rules.err_internal, "Internal server error")
            try:
                status, body = taps.response_hook(operation_id, request, status, body)
                content = b"" if body is NO_BODY else dumps(body)
            except Exception:
                if slot is not None:
                    slot.keep = False
                log.exception("unexpected error answering %s", operation_id)
                status = rules.internal_status
                content = dumps(
                    error_body(operation_id, rules.err_internal, "Internal server error")
                )
            media_type = None
            if content:
                media_type = rules.error_media_type if status >= 400 else "application/json"
            return Response(content, status_code=status, headers=headers, media_type=media_type)

        return handle

    async def http_error(self, request: Request, exc: Exception) -> Response:
        rules = self.rules
        code = exc.status_code if isinstance(exc, HTTPException) else rules.internal_status
        if code == 404:
            body = error_body("", rules.err_not_found, f"No such resource: {request.url.path}")
            code = rules.not_found_status
        elif code == 405:
            body = error_body("", rules.err_method, f"Method {request.method} is not allowed here")
            code = rules.method_status
        else:
            body = error_body("", code, "Request failed")
        return Response(dumps(body), status_code=code, media_type=rules.error_media_type)

    async def crash(self, request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        body = error_body("", self.rules.err_internal, "Internal server error")
        return Response(
            dumps(body),
            status_code=self.rules.internal_status,
            media_type=self.rules.error_media_type,
        )


def create_app(
    store: Store,
    behaviour: Behaviour | None = None,
    hooks: Hooks | None = None,
    credentials: tuple[str, str] = DEFAULT_CREDENTIALS,
    *,
    org_id: int | None = None,
) -> Starlette:
    """The ASGI application serving `store` with the given rules, hooks and credentials."""
    rules = behaviour if behaviour is not None else Behaviour()
    taps = hooks if hooks is not None else Hooks()
    server = _Server(store, rules, taps, credentials, org_id)
    routes = [
        Route(op.path, server.endpoint(op.id), methods=[op.method], name=op.id) for op in TABLE
    ]
    # A hook may answer the same request differently (faults and readings): no kept answers.
    kept = [Middleware(AnswerCache, store=store)] if taps == Hooks() else []
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: server.http_error, Exception: server.crash},
        middleware=[*kept, Middleware(_SlashCollapse)],
    )
    app.state.store = store
    app.state.behaviour = rules
    app.state.hooks = taps
    return app
