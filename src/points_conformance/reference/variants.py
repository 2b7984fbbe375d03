"""What faulty and reading variants of the reference server are built from.

A variant is a function `(Behaviour, Hooks) -> Behaviour | Hooks | (Behaviour, Hooks)`;
`compose` applies several in turn. The hook helpers read and rewrite a request's params and a
route's answer, and `rerun` asks a route for its answer to other params.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar

from starlette.requests import Request

from points_conformance.reference.app import DEFAULT_ORG, HANDLERS
from points_conformance.reference.behaviour import Behaviour, Hooks, ParamsHook, ResponseHook
from points_conformance.reference.context import ApiError, Ctx
from points_conformance.reference.formatting import error_body

VariantResult = Behaviour | Hooks | tuple[Behaviour, Hooks]
VariantFunction = Callable[[Behaviour, Hooks], VariantResult]


def switch(**changes: Any) -> VariantFunction:
    """A variant that only changes `Behaviour` fields (`switch(otp_single_use=False)`)."""

    def changed(behaviour: Behaviour, hooks: Hooks) -> VariantResult:
        return replace(behaviour, **changes)

    return changed


class Variant(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def function(self) -> VariantFunction: ...


V = TypeVar("V", bound=Variant)


class Registry(Generic[V]):
    """Variants of one kind (faults, readings) by name, in registration order."""

    def __init__(self, kind: str, listing: str) -> None:
        self.kind = kind
        self.listing = listing  # the serve option that lists them, for error messages
        self._items: dict[str, V] = {}

    def add(self, item: V) -> None:
        if item.name in self._items:
            raise ValueError(f"{self.kind} {item.name!r} is registered twice")
        self._items[item.name] = item

    def view(self) -> MappingProxyType[str, V]:
        return MappingProxyType(self._items)

    def get(self, name: str) -> V:
        found = self._items.get(name)
        if found is None:
            raise KeyError(
                f"no {self.kind} named {name!r} (points-conformance serve {self.listing})"
            )
        return found

    def apply(
        self, names: Iterable[str], behaviour: Behaviour, hooks: Hooks
    ) -> tuple[Behaviour, Hooks]:
        """The rules and hooks with every named variant; KeyError for an unknown name."""
        chosen = [self.get(name) for name in dict.fromkeys(names)]
        return compose([v.function for v in chosen], behaviour, hooks)


# The params of the request being answered, as the route received them (set per request task).
_PARAMS: ContextVar[dict[str, Any] | None] = ContextVar("points_fault_params", default=None)


def compose(
    functions: Sequence[VariantFunction], behaviour: Behaviour, hooks: Hooks
) -> tuple[Behaviour, Hooks]:
    """Each function applied in turn to the rules and hooks (also how readings apply)."""
    for function in functions:
        result = function(behaviour, hooks)
        if isinstance(result, Behaviour):
            behaviour = result
        elif isinstance(result, Hooks):
            hooks = result
        else:
            behaviour, hooks = result
    if functions:
        # Last, so that a rerun sees the request exactly as the route did.
        hooks = hooks.then(params_hook=remember)
    return behaviour, hooks


def remember(operation_id: str, params: dict[str, Any]) -> dict[str, Any]:
    _PARAMS.set(params)
    return params


def seen_params() -> dict[str, Any] | None:
    return _PARAMS.get()


def caller_of(store: Any) -> tuple[int, int | None]:
    """The calling org and till, derived from the seed as `create_app` derives them."""
    org = int(store.seed_info().get("org_id", DEFAULT_ORG))
    row = store.conn().execute("SELECT MIN(till_id) FROM tills WHERE org_id = ?", (org,)).fetchone()
    return org, (int(row[0]) if row and row[0] is not None else None)


def rerun(operation_id: str, request: Request, params: dict[str, Any]) -> tuple[int, Any]:
    """The operation's answer to `params`, computed again (credentials are not checked)."""
    store = request.app.state.store
    rules: Behaviour = request.app.state.behaviour
    org, till = caller_of(store)
    ctx = Ctx(store, rules, org, till)
    try:
        result = HANDLERS[operation_id](ctx, params)
    except ApiError as exc:
        status = exc.status if exc.status is not None else rules.error_status
        return status, error_body(operation_id, exc.code, exc.message)
    return result.status, result.body


def query_pairs(params: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), str(v)) for k, v in params.get("query") or []]


def with_query(params: dict[str, Any], query: list[tuple[str, str]]) -> dict[str, Any]:
    return {**params, "query": query}


def without_query(params: dict[str, Any], names: Collection[str]) -> dict[str, Any]:
    """The request's params with the query parameters `names` left out."""
    return with_query(params, [(k, v) for k, v in query_pairs(params) if k not in names])


def replace_value(
    params: dict[str, Any], name: str, change: Callable[[str], str]
) -> dict[str, Any]:
    """The request's params with every value of the query parameter `name` passed through
    `change` (which returns a value as it is to leave it)."""
    return with_query(params, [(k, change(v) if k == name else v) for k, v in query_pairs(params)])


def respond(operations: Collection[str], change: ResponseHook) -> ResponseHook:
    """A response hook that only touches the given operations."""

    def hook(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        if operation_id not in operations:
            return status, body
        return change(operation_id, request, status, body)

    return hook


def on_success(
    operations: Collection[str], change: Callable[[dict[str, Any], Request], None]
) -> ResponseHook:
    """Change a successful JSON object body in place."""

    def hook(operation_id: str, request: Request, status: int, body: Any) -> tuple[int, Any]:
        if status == 200 and isinstance(body, dict):
            change(body, request)
        return status, body

    return respond(operations, hook)


def on_each_entry(
    operations: Collection[str], change: Callable[[dict[str, Any]], None]
) -> ResponseHook:
    """Change each ledger entry of a successful JSON object body in place."""

    def each(body: dict[str, Any], request: Request) -> None:
        for entry in entries_of(body):
            change(entry)

    return on_success(operations, each)


def rewrite_params(
    operations: Collection[str], change: Callable[[dict[str, Any]], dict[str, Any]]
) -> ParamsHook:
    def hook(operation_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return change(params) if operation_id in operations else params

    return hook


def entries_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = body.get("ledgerEntries", body.get("entries"))
    if found is None and isinstance(body.get("entity"), dict):
        found = body["entity"].get("entries")
    return [e for e in found or [] if isinstance(e, dict)]


def details_of(body: dict[str, Any]) -> dict[str, Any]:
    found = body.get("ledgerDetails", body.get("pageDetails"))
    return found if isinstance(found, dict) else {}


def as_number(text: Any) -> Any:
    """A decimal string as a JSON number (anything else unchanged)."""
    if isinstance(text, str):
        try:
            return float(Decimal(text))
        except InvalidOperation:
            return text
    return text


def error_codes(body: Any) -> list[int]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return [
        e["code"] for e in errors or [] if isinstance(e, dict) and isinstance(e.get("code"), int)
    ]


def group_details_of(body: dict[str, Any]) -> dict[str, Any]:
    found = body.get("groupDetails")
    if found is None and isinstance(body.get("entity"), dict):
        found = body["entity"].get("groupDetails")
    return found if isinstance(found, dict) else {}


def points_as_numbers(entry: dict[str, Any]) -> None:
    """An entry's decimal-string points (net, rows, alternate currencies) as JSON numbers."""
    entry["netPointsOnEvent"] = as_number(entry.get("netPointsOnEvent"))
    for row in entry.get("entryDetails") or []:
        if isinstance(row, dict):
            row["points"] = as_number(row.get("points"))
    nets = entry.get("netAlternateCurrenciesOnEvent")
    if isinstance(nets, dict):
        entry["netAlternateCurrenciesOnEvent"] = {k: as_number(v) for k, v in nets.items()}


def add_user_roles(body: dict[str, Any], caller: str) -> None:
    """Each cross-member entry's userRole, relative to the customer the path names."""
    for entry in entries_of(body):
        transacting = str(entry.get("transactingCustomerId")) == caller
        rows = entry.get("entryDetails") or []
        source = any(isinstance(r, dict) and str(r.get("customerId")) == caller for r in rows)
        role = "BOTH" if transacting and source else "TRANSACTING" if transacting else "SOURCE"
        entry["userRole"] = role
