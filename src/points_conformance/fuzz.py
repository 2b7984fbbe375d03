"""Property-based fuzzing with schemathesis, on the suite's own settings, client and checks.

`Fuzzer` turns the OpenAPI description into hypothesis strategies (positive and negative cases),
overlays the target's known test data on most of them (`KnownData`, a schema-scoped
`flatmap_case` hook), sends every case through the shared `ConformanceClient` (so auth, rate
limit, timeout, 429 retries and request counting are those of every other test) and judges each
answer twice: with schemathesis's built-in checks and with the suite's own rules
(`points_conformance.checks.run_checks`), registered as the schemathesis check
`PointsConformanceChecks`. Every failure becomes a `Finding` tagged with a requirement ID and
carrying the exchange, hence a curl repro with credentials masked.

Each operation gets `Settings.fuzz_examples` cases, three quarters positive and a quarter
negative, each mode seeded from `Settings.fuzz_seed` and the operation, so two runs with the
same settings send the same requests.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import http
import importlib
import json
import pkgutil
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import hypothesis
import requests
import requests.adapters
import schemathesis
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from schemathesis import Case, GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.failures import CustomFailure, Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok
from schemathesis.generation.meta import negated_parameters
from urllib3 import HTTPHeaderDict, HTTPResponse

from points_conformance.checks import CheckContext, run_checks
from points_conformance.checks.base import AREA
from points_conformance.client import ConformanceClient, TransportFailure
from points_conformance.model import MASK, OPERATIONS, Exchange, Finding, RequestInfo, ResponseInfo
from points_conformance.settings import Settings
from points_conformance.spec import _apply_mode, load_spec
from points_conformance.target import Customer, Group, TargetData

WRITE_OPERATIONS = frozenset({"transferPoints", "transferPointsUserGroup", "reversePoints"})
FUZZ_OPERATIONS: tuple[str, ...] = OPERATIONS
CHECK_NAME = "PointsConformanceChecks"

# Percentages of the budget generated positive (the rest negative) and of cases that get the
# target's known data laid over them (the rest keep what the generator drew).
POSITIVE_SHARE = 75
KNOWN_SHARE = 90

# Headers the transport adds for itself; the shared client sets its own.
_TRANSPORT_HEADERS = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "authorization"}
)

# -- requirements -------------------------------------------------------------------------------

SCHEMA_RESPONSE = {op: f"{AREA[op]}-SCHEMA-RESPONSE" for op in OPERATIONS}
# The requirement a request the schema forbids breaks when it is accepted, by the parameter the
# generator made invalid (None: any other).
REJECTION: dict[str, dict[str | None, str]] = {
    "getCustomerLedgerInfo": {
        None: "LEDGER-PARAM-REQUIRED",
        "limit": "LEDGER-PARAM-PAGING-RANGE",
        "offset": "LEDGER-PARAM-PAGING-RANGE",
        "startDate": "LEDGER-FORMAT-DATE-PARAM",
        "endDate": "LEDGER-FORMAT-DATE-PARAM",
    },
    "getCustomerLedgerInfoConnectedOrgs": {
        None: "LEDGER-PARAM-REQUIRED",
        "limit": "LEDGER-PARAM-PAGING-RANGE",
        "offset": "LEDGER-PARAM-PAGING-RANGE",
        "startDate": "LEDGER-FORMAT-DATE-PARAM",
        "endDate": "LEDGER-FORMAT-DATE-PARAM",
        "DATA-SCOPE": "CORG-ERR-310144",
        "DATA-SCOPE-ORG": "CORG-ERR-310144",
    },
    "getCrossMemberLedger": {
        None: "CML-PARAM-ID",
        "pageSize": "CML-ERR-1003",
        "pageNumber": "CML-ERR-1003",
        "scope": "CML-ERR-1004",
        "eventName": "CML-ERR-1004",
        "startDate": "CML-ERR-1001",
        "endDate": "CML-ERR-1001",
    },
    "getCustomerLedgerBalance": {None: "BAL-PARAM-REQUIRED", "limit": "BAL-LIMIT-MAX"},
    "isTransferrable": {None: "XFERCHK-SCHEMA-REQUEST"},
    "isTransferrableUserGroup": {None: "XFERCHK-SCHEMA-REQUEST-GROUP"},
    "transferPoints": {None: "XFER-SCHEMA-REQUEST"},
    "transferPointsUserGroup": {None: "XFER-SCHEMA-REQUEST"},
    "getPointsTransfers": {None: "XFERHIST-PARAM-REQUIRED"},
    "reversePoints": {None: "REV-SCHEMA-REQUEST"},
}


def fuzz_requirements(operation_id: str, *, strict: bool) -> tuple[str, ...]:
    """The requirements a fuzz test of `operation_id` is evidence for."""
    ids = [
        "COMMON-SERVER-ERROR",
        "COMMON-CONTENT-TYPE",
        "COMMON-ERR-ENVELOPE",
        "COMMON-AUTH-401",
        SCHEMA_RESPONSE[operation_id],
        *REJECTION[operation_id].values(),
    ]
    if strict:
        # Only the strict reading fixes the status of documented errors (D-016).
        ids.append("COMMON-ERR-STATUS")
    return tuple(dict.fromkeys(ids))


def operation_seed(seed: int, operation_id: str) -> int:
    """A seed per operation, so that each test draws the same cases wherever it runs."""
    digest = hashlib.sha256(f"{seed}:{operation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


# -- the schema ---------------------------------------------------------------------------------


def fuzz_document(*, strict: bool) -> dict[str, Any]:
    """The OpenAPI description in the reading of this run, as schemathesis should see it."""
    document: dict[str, Any] = _apply_mode(load_spec().document, lenient=not strict)
    if not strict:
        _lenient_parameters(document)
    return document


def _lenient_parameters(document: dict[str, Any]) -> None:
    # D-032: the lenient reading lets a server answer a v2.1 request without DATA-SCOPE as SELF,
    # so in that reading the header is optional and its absence is not invalid input.
    for item in (document.get("paths") or {}).values():
        for operation in item.values() if isinstance(item, dict) else ():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters") or ():
                if isinstance(parameter, dict) and parameter.get("x-discrepancy") == "D-032":
                    parameter["required"] = False


def _rate(limit: float) -> str:
    if limit >= 1:
        return f"{int(limit)}/s"
    return f"{max(1, int(limit * 60))}/m"


def check_context_kwargs(ctx: CheckContext) -> dict[str, Any]:
    """The plain fields of a check context, as schemathesis passes them to a check's __init__."""
    kwargs: dict[str, Any] = {}
    for item in dataclasses.fields(ctx):
        value = getattr(ctx, item.name)
        if not item.init or value is None or item.name == "spec_override":
            continue
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, bool | int | str | list):
            kwargs[item.name] = value
    return kwargs


def schemathesis_config(settings: Settings, ctx: CheckContext) -> schemathesis.Config:
    """schemathesis's configuration, derived from the run's settings only."""
    strict = settings.strict
    # Documented errors are HTTP 400 in the strict reading and any 4xx in the lenient one
    # (D-016); 5xx is left to not_a_server_error, so that each failure is reported once.
    accepted = ["2xx", "400", "401", "429", "5xx"] if strict else ["2xx", "4xx", "5xx"]
    rejected = ["400", "401", "429", "5xx"] if strict else ["4xx", "5xx"]
    project: dict[str, Any] = {
        "request-timeout": settings.timeout,
        "generation": {
            "with-security-parameters": False,
            "database": "none",
            "max-examples": settings.fuzz_examples,
        },
        "checks": {
            "positive_data_acceptance": {"expected-statuses": accepted},
            "negative_data_rejection": {"expected-statuses": rejected},
            CHECK_NAME: check_context_kwargs(ctx),
        },
    }
    if settings.base_url:
        project["base-url"] = settings.base_url
    if settings.rate_limit:
        project["rate-limit"] = _rate(settings.rate_limit)
    return schemathesis.Config.from_dict({"seed": settings.fuzz_seed, **project})


def load_schema(
    settings: Settings, ctx: CheckContext, known: KnownData | None = None
) -> schemathesis.BaseSchema:
    """The schemathesis schema of the description, with the known-data hook when given."""
    schema = schemathesis.openapi.from_dict(
        fuzz_document(strict=settings.strict), config=schemathesis_config(settings, ctx)
    )
    if known is not None:

        def flatmap_case(context: schemathesis.HookContext, case: Case[Any]) -> Any:
            return known.feed(case)

        schema.hook(flatmap_case)
    return schema


def operation_id_of(case: Case[Any]) -> str:
    raw = case.operation.definition.raw
    return str(raw.get("operationId") or "unknown") if isinstance(raw, Mapping) else "unknown"


# -- exchanges and findings ---------------------------------------------------------------------


def _masked(headers: Iterable[tuple[str, str | bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, raw in headers:
        value = raw.decode("latin-1") if isinstance(raw, bytes) else raw
        if key.lower() == "authorization":
            value = f"{value.split(' ', 1)[0]} {MASK}"
        out[key] = value
    return out


def _body_of(raw: Any) -> Any:
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def exchange_of(case: Case[Any], response: schemathesis.Response) -> Exchange:
    """The suite's view of one schemathesis call: what was sent and what came back."""
    sent = response.request
    request = RequestInfo(
        str(sent.method or case.method),
        str(sent.url),
        _masked(sent.headers.items()),
        _body_of(sent.body),
    )
    headers = {key: ", ".join(values) for key, values in response.headers.items()}
    text = response.content.decode(response.encoding or "utf-8", "replace")
    answer = ResponseInfo.from_parts(response.status_code, headers, text, response.elapsed)
    return Exchange(operation_id_of(case), request, answer)


class DomainFindings(AssertionError):
    """What the suite's own rules found in one answer."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__("; ".join(f.summary() for f in self.findings))


@schemathesis.check
class PointsConformanceChecks:
    """Every single-exchange rule of `points_conformance.checks`, on every fuzzed answer.

    schemathesis builds one instance per schema with the check context's fields from the
    schema's configuration (`schemathesis_config`), so the rules run with the run's stance.
    """

    def __init__(self, **context: Any) -> None:
        fields = {f.name for f in dataclasses.fields(CheckContext)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in context.items() if k in fields
        }
        self.context = CheckContext(**values)

    def after_response(
        self, ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Case[Any]
    ) -> bool | None:
        if operation_id_of(case) not in OPERATIONS:
            return None
        found = run_checks(self.context, exchange_of(case, response))
        if found:
            raise DomainFindings(found)
        return None


def _invalid_parameter(case: Case[Any]) -> str | None:
    meta = case.meta
    data = meta.phase.data if meta is not None else None
    parameter = getattr(data, "parameter", None)
    return str(parameter) if parameter else None


def builtin_requirement(check: str, case: Case[Any], status: int) -> str:
    """The catalogue requirement a failure of a schemathesis built-in check breaks."""
    op = operation_id_of(case)
    schema_id = SCHEMA_RESPONSE.get(op, "COMMON-ERR-ENVELOPE")
    if check == "not_a_server_error":
        return "COMMON-SERVER-ERROR"
    if check == "content_type_conformance":
        return "COMMON-CONTENT-TYPE"
    if check == "ignored_auth":
        return "COMMON-AUTH-401"
    if check == "positive_data_acceptance":
        return "COMMON-ERR-STATUS"
    if check == "negative_data_rejection":
        if case.operation.schema.is_security_param_negated(case):
            return "COMMON-AUTH-401"
        table = REJECTION.get(op, {None: schema_id})
        return table.get(_invalid_parameter(case), table[None])
    if status == 401:
        return "COMMON-AUTH-401"
    if status >= 400:
        return "COMMON-ERR-STATUS" if check == "status_code_conformance" else "COMMON-ERR-ENVELOPE"
    return schema_id


def _lines(message: str) -> list[str]:
    return [line.strip() for line in message.splitlines() if line.strip()]


def _field(lines: Sequence[str], *names: str) -> str:
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip().lower() in names and value.strip():
            return value.strip()
    return ""


def describe_failure(
    check: str, title: str, message: str, status: int, excerpt: str, *, strict: bool
) -> tuple[str, str, str]:
    """(message, expected, actual) of a finding, in the words of the suite's other findings."""
    lines = _lines(message)
    detail = "; ".join(lines)[:600]
    answered = f"HTTP {status}: {excerpt}" if excerpt else f"HTTP {status}"
    error_status = "HTTP 400" if strict else "a 4xx status"
    if check == "not_a_server_error":
        return (
            "the server failed to answer a request (HTTP 5xx)",
            f"HTTP 200, or {error_status} with the error envelope",
            answered,
        )
    if check == "negative_data_rejection":
        invalid = _field(lines, "invalid component") or detail
        return (
            "a request the OpenAPI description forbids was accepted",
            f"{error_status} with the error envelope (invalid: {invalid})",
            answered,
        )
    if check == "positive_data_acceptance":
        return (
            "a request the OpenAPI description allows got an undocumented status",
            "HTTP 200, or HTTP 400 (401 for credentials) with a documented error code",
            answered,
        )
    if check == "status_code_conformance":
        return (
            "the status is not one the OpenAPI description documents for this operation",
            f"one of {_field(lines, 'documented') or 'the documented statuses'}",
            answered,
        )
    if check == "ignored_auth":
        return (
            "the operation answered without valid credentials",
            "HTTP 401 when credentials are missing or wrong",
            detail or answered,
        )
    expected = _field(lines, "expected", "documented")
    actual = _field(lines, "received", "actual")
    return title, expected, actual or detail or answered


def findings_of(
    failures: Iterable[BaseException],
    case: Case[Any],
    response: schemathesis.Response,
    *,
    strict: bool = False,
) -> list[Finding]:
    """Findings for the failures schemathesis collected on one answer."""
    exchange = exchange_of(case, response)
    found: list[Finding] = []
    for failure in failures:
        if isinstance(failure, CustomFailure) and isinstance(failure.exception, DomainFindings):
            found.extend(failure.exception.findings)
            continue
        if isinstance(failure, DomainFindings):
            found.extend(failure.findings)
            continue
        checks = getattr(type(failure), "checks", ()) or ("custom",)
        shown = exchange
        if checks[0] == "ignored_auth":
            # The repro is the request without credentials that should have been refused.
            bare = {
                k: v for k, v in exchange.request.headers.items() if k.lower() != "authorization"
            }
            shown = dataclasses.replace(
                exchange, request=dataclasses.replace(exchange.request, headers=bare)
            )
        title = str(getattr(failure, "title", None) or type(failure).__name__)
        message = str(getattr(failure, "message", None) or failure)
        text, expected, actual = describe_failure(
            checks[0],
            title,
            message,
            response.status_code,
            exchange.response.excerpt(300),
            strict=strict,
        )
        found.append(
            Finding(
                builtin_requirement(checks[0], case, response.status_code),
                f"{text} (schemathesis check {checks[0]})",
                expected=expected,
                actual=actual,
                exchange=shown,
            )
        )
    return found


# -- sending through the shared client ----------------------------------------------------------


class ClientAdapter(requests.adapters.BaseAdapter):
    """A requests adapter that sends through the suite's `ConformanceClient`.

    schemathesis serialises a case into a `requests` call; mounting this adapter makes that call
    go out with the client's credentials, rate limit, timeout and 429 handling, and come back
    as a `requests.Response` schemathesis can judge. The request it carries is the one sent,
    with the Authorization value masked.
    """

    def __init__(self, client: ConformanceClient) -> None:
        super().__init__()
        self.client = client
        self.operation: str | None = None
        # False while a case that leaves out or spoils the credentials is sent: its own
        # Authorization header (or none) goes out instead of the configured one.
        self.credentials = True

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        dropped = _TRANSPORT_HEADERS if self.credentials else _TRANSPORT_HEADERS - {"authorization"}
        headers = {
            k: v.decode("latin-1") if isinstance(v, bytes) else v
            for k, v in request.headers.items()
            if k.lower() not in dropped
        }
        body = request.body
        content: bytes | None
        if body is None:
            content = None
        else:
            content = body if isinstance(body, bytes) else str(body).encode()
        exchange = self.client.request(
            self.operation,
            str(request.method or "GET"),
            self._relative(str(request.url)),
            headers=headers,
            content=content,
            auth=self.credentials,
        )
        return self._response(request, exchange)

    def _relative(self, url: str) -> str:
        # The client only ever sends to its own base URL, so the case's URL must lie under it.
        base = self.client.base_url.rstrip("/")
        if url != base and not url.startswith(base + "/") and not url.startswith(base + "?"):
            raise TransportFailure(f"{url}: not under the target's base URL {base}")
        return url[len(base) :] or "/"

    def _response(self, request: requests.PreparedRequest, exchange: Exchange) -> requests.Response:
        sent = request.copy()
        sent.url = exchange.request.url
        sent.headers = CaseInsensitiveDict(exchange.request.headers)
        status = exchange.response.status
        content = exchange.response.text.encode("utf-8")
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(exchange.response.headers)
        response._content = content
        response.encoding = "utf-8"
        response.url = exchange.request.url
        try:
            response.reason = http.HTTPStatus(status).phrase
        except ValueError:
            response.reason = ""
        response.elapsed = timedelta(seconds=exchange.response.elapsed)
        response.request = sent
        response.raw = HTTPResponse(
            body=b"",
            headers=HTTPHeaderDict(exchange.response.headers),
            status=status,
            version=11,
            preload_content=False,
        )
        response.connection = self  # type: ignore[assignment]
        return response

    def close(self) -> None:
        return None


# -- the target's known data --------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """A ledger the target file promises: a customer or a group, and what it is known to hold."""

    role: str
    identifiers: dict[str, str]
    group_type: str | None = None
    events: int | None = None
    program_ids: tuple[int, ...] = ()
    till_ids: tuple[int, ...] = ()
    store_ids: tuple[int, ...] = ()
    store_codes: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()

    @property
    def is_group(self) -> bool:
        return self.group_type is not None


# identifierName of getCustomerLedgerInfo -> Customer field.
LEDGER_NAMES = {
    "id": "id",
    "mobile": "mobile",
    "email": "email",
    "externalId": "external_id",
    "cardnumber": "cardnumber",
    "cardExternalId": "card_external_id",
}
CONNECTED_NAMES = ("id", "mobile", "email", "externalId")
BALANCE_NAMES = ("mobile", "email", "externalId", "cardnumber", "cardExternalId")
HISTORY_NAMES = ("mobile", "email", "externalId", "cardnumber")
# isTransferrable / transfer identifier type -> Customer field.
TRANSFER_TYPES = {"ID": "id", "MOBILE": "mobile", "EXTERNAL_ID": "external_id", "EMAIL": "email"}
# userGroup2 identifierType of a customer -> Customer field.
GROUP_CUSTOMER_TYPES = {"mobile": "mobile", "email": "email", "externalId": "external_id"}
# Flags of a ledger query that never turn a request for a real ledger into an error, and the
# values they take.
LEDGER_FLAGS: dict[str, tuple[str, ...]] = {
    "sort": ("ASC", "DESC"),
    "isFilterBasedOnDate": ("true", "false"),
    "includeLastOneYearData": ("true", "false"),
}
# Parameters of a ledger query that never turn a request for a real ledger into an error.
LEDGER_KEEP = frozenset(
    {"sort", "sortOrder", "isFilterBasedOnDate", "includeLastOneYearData", "ledgerEntryType"}
)


def _customer_owner(customer: Customer, names: Mapping[str, str]) -> Owner:
    identifiers = {
        name: str(getattr(customer, fld))
        for name, fld in names.items()
        if getattr(customer, fld, None)
    }
    return Owner(
        role=customer.role,
        identifiers=identifiers,
        events=customer.events,
        program_ids=customer.program_ids,
        till_ids=customer.till_ids,
        store_ids=customer.store_ids,
        store_codes=customer.store_codes,
        currencies=customer.alternate_currencies,
    )


def _group_owner(group: Group) -> Owner:
    identifiers = {
        name: str(value)
        for name, value in (
            ("groupId", group.id),
            ("externalId", group.external_id),
            ("primaryUserId", group.primary_user_id),
        )
        if value
    }
    return Owner(role=group.role, identifiers=identifiers, group_type=group.type)


def _query_date(value: Any) -> str | None:
    """A generated `YYYY-MM-DDThh:mm:ss` made a real date (the pattern allows month 79)."""
    if not isinstance(value, str) or len(value) != 19:
        return None
    digits = [int(part) for part in re.findall(r"[0-9]+", value)]
    if len(digits) != 6:
        return None
    year, month, day, hour, minute, second = digits
    moment = datetime(
        2000 + year % 40, 1 + month % 12, 1 + day % 28, hour % 24, minute % 60, second % 60
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _flag(value: Any) -> bool | None:
    """A generated boolean parameter: the generator writes them as they go on the wire."""
    text = str(value).strip().lower()
    return True if text == "true" else False if text == "false" else None


def _has_events(customer: Customer) -> bool:
    # Without a count, programs its ledger touches are the target file's word that it has one.
    return bool(customer.events) if customer.events is not None else bool(customer.program_ids)


def _int_in(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


QUERY = ParameterLocation.QUERY
HEADER = ParameterLocation.HEADER
PATH = ParameterLocation.PATH
BODY = ParameterLocation.BODY


def _negated(case: Case[Any]) -> dict[ParameterLocation, frozenset[str] | None]:
    """The parts of a negative case the generator made invalid: per location, the names of the
    parameters (or top-level body keys) it changed, or None when it changed the whole of it."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return {}
    named: dict[ParameterLocation, set[str]] = {}
    for name, location in negated_parameters(meta):
        named.setdefault(location, set()).add(name)
    for mutation in getattr(meta.phase.data, "mutations", ()) or ():
        location = mutation.parameter_location
        if location is None:
            continue
        if mutation.path:
            named.setdefault(location, set()).add(str(mutation.path[0]))
        elif "required" in mutation.keywords and isinstance(mutation.original_value, list):
            named.setdefault(location, set()).update(str(v) for v in mutation.original_value)
    return {
        location: frozenset(named[location]) if named.get(location) else None
        for location, info in meta.components.items()
        if info.mode.is_negative
    }


def _stable(value: Any) -> str:
    # repr() of some generated values (the missing body) shows a memory address.
    return type(value).__name__


@dataclass(frozen=True)
class _Snapshot:
    """A generated case's containers, taken once, so that laying data over it is repeatable."""

    query: dict[str, Any]
    headers: dict[str, Any]
    path: dict[str, Any]
    body: Any
    negated: dict[ParameterLocation, frozenset[str] | None]

    @classmethod
    def of(cls, case: Case[Any]) -> _Snapshot:
        return cls(
            query=dict(case.query or {}),
            headers=dict(case.headers or {}),
            path=dict(case.path_parameters or {}),
            body=copy.deepcopy(case.body) if isinstance(case.body, dict | list) else case.body,
            negated=_negated(case),
        )

    def valid(self, location: ParameterLocation) -> bool:
        """Whether the generator left this location valid, so that it may be rebuilt freely."""
        return location not in self.negated

    def overlay(
        self, location: ParameterLocation, base: dict[str, Any], values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """`base` with `values` laid over it, except over what the generator made invalid."""
        spoiled = self.negated.get(location, frozenset())
        if spoiled is None:
            return dict(base)
        return {**base, **{k: v for k, v in values.items() if k not in spoiled}}

    def body_object(self) -> dict[str, Any] | None:
        return copy.deepcopy(self.body) if isinstance(self.body, dict) else None

    def share(self) -> int:
        """0..99, a function of the generated values only.

        Whether known data is laid over a case is decided by it rather than drawn: hypothesis
        repeats its draws in runs, and a drawn share would swing from run to run.
        """
        text = json.dumps(
            [self.query, self.headers, self.path, self.body], sort_keys=True, default=_stable
        )
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % 100


def _settle(case: Case[Any]) -> Case[Any]:
    # schemathesis would re-judge the edited containers and misread the comma-joined values it
    # generates itself for `explode: false` arrays as invalid; the generated mode stands, since
    # only what the generator left valid was rebuilt, and always with valid values.
    case._record_starting_state()
    return case


class KnownData:
    """Lays the target file's test data over generated cases, so that most reach real data.

    Where the generator left a part of the request valid, it is rebuilt around a real customer
    or group so that the target's data can answer it (filters it holds, a page that exists);
    where it made a part invalid, only the real identity is laid over what it did not touch,
    so that the invalid value meets a real ledger. Writes never touch the ledgers whose
    contents other tests count, and never a redemption the reversal tests need.
    """

    def __init__(self, data: TargetData) -> None:
        self.data = data
        connected_role = str(data.connected_orgs.get("connected_customer") or "")
        connected = data.customer(connected_role.removeprefix("customers."))
        self.connected = _customer_owner(connected, LEDGER_NAMES) if connected else None
        # The connected customer's ledger lives in another organisation.
        customers = [c for c in data.customers.values() if connected is None or c is not connected]
        self.ledger_customers = [
            _customer_owner(c, LEDGER_NAMES) for c in customers if _has_events(c)
        ]
        self.groups = [_group_owner(g) for g in data.groups.values() if g.id]
        self.ledgers = [o for o in self.ledger_customers + self.groups if o.identifiers]
        self.own_customers = [_customer_owner(c, LEDGER_NAMES) for c in customers]
        self.connected_orgs = [
            str(o) for o in data.connected_orgs.get("connected_org_ids") or () if str(o)
        ]
        cross = data.cross_member
        members = [str(cross.get("member_id") or "")] + [
            str(m) for m in cross.get("member_ids") or ()
        ]
        self.cross_members = [m for m in dict.fromkeys(members) if m.isdigit()]
        self.transfer_from = data.customer("transfer_from")
        self.transfer_to = data.customer("transfer_to")
        self.pair_ids = [str(p) for p in data.transfer.get("pair_ids") or () if str(p).isdigit()]
        self.redeemer = {
            "type": str(data.redemptions.get("identifier_type") or ""),
            "value": str(data.redemptions.get("identifier_value") or ""),
        }
        self.reversed_id = data.redemptions.get("reversed_id")
        self._by_operation: dict[str, Callable[[Case[Any], _Snapshot], Any]] = {
            "getCustomerLedgerInfo": lambda c, s: self._ledger(c, s, connected=False),
            "getCustomerLedgerInfoConnectedOrgs": lambda c, s: self._ledger(c, s, connected=True),
            "getCrossMemberLedger": self._cross_member,
            "getCustomerLedgerBalance": self._balance,
            "getPointsTransfers": self._history,
            "isTransferrable": self._transfer_check,
            "isTransferrableUserGroup": self._group_check,
            "transferPoints": self._transfer,
            "transferPointsUserGroup": self._group_transfer,
            "reversePoints": self._reverse,
        }

    def feed(self, case: Case[Any]) -> st.SearchStrategy[Case[Any]]:
        """A strategy of `case` with known data laid over it (or untouched, now and then)."""
        feeder = self._by_operation.get(operation_id_of(case))
        if feeder is None:
            return st.just(case)
        snap = _Snapshot.of(case)
        if snap.share() >= KNOWN_SHARE:
            return st.just(case)
        fed: st.SearchStrategy[Case[Any]] = feeder(case, snap).map(_settle)
        return fed

    def _identity(self, owner: Owner, name: str) -> dict[str, Any]:
        query: dict[str, Any] = {
            "identifierName": name,
            "identifierValue": owner.identifiers[name],
            "source": self.data.source,
        }
        if self.data.account_id:
            query["accountId"] = self.data.account_id
        return query

    # -- ledgers ------------------------------------------------------------------------------

    def _ledger(
        self, case: Case[Any], snap: _Snapshot, *, connected: bool
    ) -> st.SearchStrategy[Case[Any]]:
        pool: list[tuple[Owner, str, bool]] = []
        for owner in self.ledgers:
            if connected and owner.is_group:
                # v2.1 has no `type`; only these names select the group form.
                names = [n for n in owner.identifiers if n in ("groupId", "primaryUserId")]
            elif connected:
                names = [n for n in owner.identifiers if n in CONNECTED_NAMES]
            else:
                names = list(owner.identifiers)
            pool += [(owner, name, False) for name in names]
        if connected and self.connected is not None and self.connected_orgs:
            other = self.connected
            pool += [(other, n, True) for n in other.identifiers if n in CONNECTED_NAMES]
        if not pool:
            return st.just(case)

        @st.composite
        def fed(draw: st.DrawFn) -> Case[Any]:
            owner, name, other_org = draw(st.sampled_from(pool))
            identity = self._identity(owner, name)
            if owner.is_group and not connected:
                identity["type"] = owner.group_type
            if connected:
                headers = dict(snap.headers)
                scope = {"DATA-SCOPE": "OTHER" if other_org else "SELF"}
                if other_org:
                    scope["DATA-SCOPE-ORG"] = ",".join(self.connected_orgs)
                elif snap.valid(HEADER):
                    headers.pop("DATA-SCOPE-ORG", None)
                case.headers = CaseInsensitiveDict(snap.overlay(HEADER, headers, scope))
            if snap.valid(QUERY):
                tidy = self._tidy_ledger(draw, snap.query, owner, connected)
                case.query = {**tidy, **identity}
            else:
                case.query = snap.overlay(QUERY, snap.query, identity)
            return case

        return fed()

    def _tidy_ledger(
        self, draw: st.DrawFn, generated: dict[str, Any], owner: Owner, connected: bool
    ) -> dict[str, Any]:
        query = {k: v for k, v in generated.items() if k in LEDGER_KEEP}
        for flag, values in LEDGER_FLAGS.items():
            # The generator leaves most optional flags out; real ledgers see them all.
            if flag not in query:
                chosen = draw(st.sampled_from((None, *values)))
                if chosen is not None:
                    query[flag] = chosen
        if owner.role != "rich":
            # Only the rich customer is promised rows of every entry type.
            query.pop("ledgerEntryType", None)
        limit = _int_in(generated.get("limit"), 1, 100)
        if limit is not None:
            query["limit"] = limit
        filters: list[tuple[str, Any]] = [("", None), ("", None)]
        filters += [("programId", p) for p in owner.program_ids]
        filters += [("tillId", t) for t in owner.till_ids]
        if owner.role == "rich":
            filters += [("pointCategoryType", c) for c in ("REGULAR", "PROMISED", "TRIGGER_BASED")]
        filters += [("alternateCurrencyNames", c) for c in owner.currencies]
        if not connected:
            filters += [("storeId", s) for s in owner.store_ids]
            filters += [("storeCode", s) for s in owner.store_codes]
            if len(owner.till_ids) > 1:
                filters.append(("tillIds", owner.till_ids))
        name, value = draw(st.sampled_from(filters))
        if name == "tillIds":
            tills = draw(st.lists(st.sampled_from(value), min_size=1, unique=True))
            query["tillIds"] = ",".join(str(t) for t in tills)
        elif name:
            query[name] = value
        if name == "programId":
            # Only meaningful, and only valid when true, together with programId.
            concept = _flag(generated.get("includeTillConceptEvents"))
            if concept is None:
                concept = draw(st.sampled_from((None, True, False)))
            if concept is not None:
                query["includeTillConceptEvents"] = "true" if concept else "false"
        if name == "alternateCurrencyNames":
            for key in ("includeAlternateCurrencies", "excludePointCategories"):
                if key in generated:
                    query[key] = generated[key]
        elif _flag(generated.get("includeAlternateCurrencies")) is False:
            query["includeAlternateCurrencies"] = "false"
        if name or query.get("ledgerEntryType") or not owner.events:
            # A filter may leave fewer pages than the whole ledger has.
            query["offset"] = 0
        else:
            pages = -(-owner.events // (limit or 10))
            query["offset"] = draw(st.integers(0, max(0, pages - 1)))
        return query

    def _balance(self, case: Case[Any], snap: _Snapshot) -> st.SearchStrategy[Case[Any]]:
        pool = [(o, n) for o in self.own_customers for n in BALANCE_NAMES if n in o.identifiers]
        if not pool:
            return st.just(case)
        kept = ("ledgerEntryType", "pointCategoryType", "includeTillConceptEvents")

        @st.composite
        def fed(draw: st.DrawFn) -> Case[Any]:
            owner, name = draw(st.sampled_from(pool))
            identity = self._identity(owner, name)
            if not snap.valid(QUERY):
                case.query = snap.overlay(QUERY, snap.query, identity)
                return case
            query = {k: v for k, v in snap.query.items() if k in kept}
            limit = _int_in(snap.query.get("limit"), 1, 10)
            if limit is not None:
                query["limit"] = limit
            offset = _int_in(snap.query.get("offset"), 0, 3)
            if offset is not None:
                query["offset"] = offset
            end = _query_date(snap.query.get("endDate"))
            if end is not None:
                query["endDate"] = end
            if "tillId" in snap.query and owner.till_ids:
                query["tillId"] = draw(st.sampled_from(owner.till_ids))
            case.query = {**query, **identity}
            return case

        return fed()

    def _cross_member(self, case: Case[Any], snap: _Snapshot) -> st.SearchStrategy[Case[Any]]:
        if not self.cross_members:
            return st.just(case)

        @st.composite
        def fed(draw: st.DrawFn) -> Case[Any]:
            member = int(draw(st.sampled_from(self.cross_members)))
            case.path_parameters = snap.overlay(PATH, snap.path, {"id": member})
            query = dict(snap.query)
            if snap.valid(QUERY) and draw(st.integers(0, 3)) > 0:
                # Random dates are mostly in the wrong order; the default window is not.
                query = {k: v for k, v in query.items() if k not in ("startDate", "endDate")}
            case.query = query
            return case

        return fed()

    def _history(self, case: Case[Any], snap: _Snapshot) -> st.SearchStrategy[Case[Any]]:
        pool: list[tuple[Owner, str]] = [
            (o, n) for o in self.own_customers for n in HISTORY_NAMES if n in o.identifiers
        ]
        pool += [(g, "id") for g in self.groups if "groupId" in g.identifiers]
        if not pool:
            return st.just(case)

        @st.composite
        def fed(draw: st.DrawFn) -> Case[Any]:
            owner, name = draw(st.sampled_from(pool))
            if owner.is_group:
                identity: dict[str, Any] = {
                    "identifierName": "id",
                    "identifierValue": owner.identifiers["groupId"],
                    "userEntityType": "USERGROUP2",
                }
            else:
                identity = self._identity(owner, name)
            query = dict(snap.query)
            if snap.valid(QUERY):
                for key in ("userEntityType", "source", "accountId"):
                    query.pop(key, None)
            case.query = snap.overlay(QUERY, query, identity)
            return case

        return fed()

    # -- points (003) -------------------------------------------------------------------------

    def _transfer_parties(self) -> list[tuple[Customer, Customer]]:
        pairs: list[tuple[Customer, Customer]] = []
        if self.transfer_from and self.transfer_to:
            pairs.append((self.transfer_from, self.transfer_to))
        rich = self.data.customer("rich")
        if rich and self.transfer_to:
            pairs.append((rich, self.transfer_to))
        return pairs

    @staticmethod
    def _identifier(customer: Customer, kind: str) -> dict[str, str] | None:
        value = getattr(customer, TRANSFER_TYPES[kind])
        return {"type": kind, "value": str(value)} if value else None

    def _body_fed(
        self,
        case: Case[Any],
        snap: _Snapshot,
        build: Callable[[st.DrawFn], tuple[dict[str, Any], dict[str, Any]]],
    ) -> st.SearchStrategy[Case[Any]]:
        """Lay `build`'s parties (always) and amounts (valid bodies only) over the body."""
        if not isinstance(snap.body, dict) or snap.negated.get(BODY, frozenset()) is None:
            return st.just(case)

        @st.composite
        def fed(draw: st.DrawFn) -> Case[Any]:
            parties, amounts = build(draw)
            body = snap.body_object() or {}
            if snap.valid(BODY):
                body.update(amounts)
                body = {k: v for k, v in body.items() if v is not None}
            case.body = snap.overlay(BODY, body, parties)
            return case

        return fed()

    def _transfer_check(self, case: Case[Any], snap: _Snapshot) -> st.SearchStrategy[Case[Any]]:
        pairs = self._transfer_parties()
        if not pairs:
            return st.just(case)

        def build(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
            source, destination = draw(st.sampled_from(pairs))
            parties: dict[str, Any] = {}
            for key, who in (
                ("fromCustomerIdentifier", source),
                ("toCustomerIdentifier", destination),
            ):
                ident = self._identifier(who, draw(st.sampled_from(sorted(TRANSFER_TYPES))))
                if ident is not None:
                    parties[key] = ident
            amounts = {
                "pointsTobeTransferred": draw(st.integers(1, 5)),
                "programId": source.program_ids[0] if source.program_ids else None,
            }
            return parties, amounts

        return self._body_fed(case, snap, build)

    def _group_party(self, customer: Customer, kind: str) -> dict[str, Any] | None:
        value = getattr(customer, GROUP_CUSTOMER_TYPES[kind])
        if not value:
            return None
        return {
            "type": "CUSTOMER",
            "identifierType": kind,
            "identifierValue": str(value),
            "source": self.data.source,
        }

    def _group_check(self, case: Case[Any], snap: _Snapshot) -> st.SearchStrategy[Case[Any]]:
        pairs = self._transfer_parties()
        groups = [g for g in self.groups if g.group_type == "USERGROUP2"]
        if not pairs:
            return st.just(case)

        def build(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
            source, destination = draw(st.sampled_from(pairs))
            kind = draw(st.sampled_from(sorted(GROUP_CUSTOMER_TYPES)))
            parties: dict[str, Any] = {}
            actor = self._group_party(source, kind)
            if actor is not None:
                parties["transferredBy"] = {k: v for k, v in actor.items() if k != "type"}
                parties["fromEntity"] = actor
            use_group: bool = draw(st.booleans()) if groups else False
            if use_group:
                group = draw(st.sampled_from(groups))
                parties["fromEntity"] = {
                    "type": "USERGROUP2",
                    "identifierType": "id",
                    "identifierValue": group.identifiers["groupId"],
                }
            receiver = self._group_party(destination, kind)
            if receiver is not None:
                parties["toEntity"] = receiver
            return parties, {"pointsTobeTransferred": draw(st.integers(1, 5)), "programId": None}

        return self._body_fed(case, snap, build)

    def _scratch_pairs(self) -> list[tuple[str, str]]:
        ids = self.pair_ids
        return [(ids[i], ids[i + 1]) for i in range(0, len(ids) - 1, 2)]

    def _transfer(self, case: Case[Any], snap: _Snapshot) -> st.SearchStrategy[Case[Any]]:
        pairs = self._scratch_pairs()
        if not pairs:
            return st.just(case)

        def build(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
            source, destination = draw(st.sampled_from(pairs))
            # The generated `code` stays: no OTP was issued for it, so nothing moves.
            parties = {
                "fromCustomerIdentifier": {"type": "ID", "value": source},
                "toCustomerIdentifier": {"type": "ID", "value": destination},
            }
            return parties, {"pointsTobeTransferred": draw(st.integers(1, 5)), "programId": None}

        return self._body_fed(case, snap, build)

    def _group_transfer(self, case: Case[Any], snap: _Snapshot) -> st.SearchStrategy[Case[Any]]:
        source, destination = self.transfer_from, self.transfer_to
        if source is None or destination is None:
            return st.just(case)
        kinds = [k for k, f in sorted(GROUP_CUSTOMER_TYPES.items()) if getattr(source, f)]
        if not kinds:
            return st.just(case)

        def build(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
            kind = draw(st.sampled_from(kinds))
            parties: dict[str, Any] = {}
            actor = self._group_party(source, kind)
            if actor is not None:
                parties["transferredBy"] = {k: v for k, v in actor.items() if k != "type"}
                parties["fromEntity"] = actor
            receiver = self._group_party(destination, kind)
            if receiver is not None:
                parties["toEntity"] = receiver
            # Small amounts between the two transfer customers: the transfer tests read their
            # balances only before and after their own transfers.
            return parties, {"pointsTobeTransferred": draw(st.integers(1, 5)), "programId": None}

        return self._body_fed(case, snap, build)

    def _reverse(self, case: Case[Any], snap: _Snapshot) -> st.SearchStrategy[Case[Any]]:
        if not self.redeemer["type"] or not self.redeemer["value"]:
            return st.just(case)

        def build(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
            parties: dict[str, Any] = {"identifier": dict(self.redeemer)}
            # Never a reversible redemption: those belong to the reversal tests. The one
            # already reversed can only be refused.
            if self.reversed_id is not None and draw(st.booleans()):
                parties["redemptionId"] = str(self.reversed_id)
            return parties, {}

        return self._body_fed(case, snap, build)


# -- running ------------------------------------------------------------------------------------


@dataclass
class OperationStats:
    """How the target answered the fuzzed requests of one operation."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def record(self, status: int) -> None:
        self.requests += 1
        self.statuses[status] += 1

    @property
    def ok(self) -> int:
        return self.statuses[200]

    def as_property(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


@dataclass
class FuzzOutcome:
    """One operation's fuzz run: the figures, and the findings of the smallest failing case."""

    operation: str
    stats: OperationStats
    findings: list[Finding] = field(default_factory=list)
    transport: TransportFailure | None = None
    seed: int = 0
    examples: int = 0

    def summary(self) -> str:
        return (
            f"fuzz {self.operation}: seed {self.seed} (--fuzz-seed), {self.examples} examples "
            f"(--fuzz-examples), {self.stats.requests} requests, {self.stats.ok} answered 200"
        )


@dataclass
class Step:
    """One request of a workflow: what was exchanged, and what the checks found in it."""

    exchange: Exchange
    findings: list[Finding]

    @property
    def status(self) -> int:
        return self.exchange.response.status

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next(
            (v for k, v in self.exchange.response.headers.items() if k.lower() == low), None
        )


class _ExampleFailed(Exception):
    """Raised inside hypothesis so that it shrinks the case; carries nothing itself."""


@dataclass
class _RunState:
    failing: list[Finding] = field(default_factory=list)
    broken: TransportFailure | None = None
    accepted: tuple[Case[Any], schemathesis.Response] | None = None


def load_local_modules() -> None:
    """Import every module of the package.

    hypothesis also draws constants found in the source of the project's modules loaded so
    far; with all of them loaded, the cases of a seed no longer depend on which tests happened
    to run earlier in the same process.
    """
    import points_conformance

    for module in pkgutil.walk_packages(points_conformance.__path__, "points_conformance."):
        importlib.import_module(module.name)


class Fuzzer:
    """Fuzzes one operation at a time against the target of `settings`, through `client`."""

    def __init__(
        self,
        settings: Settings,
        client: ConformanceClient,
        ctx: CheckContext,
        *,
        known: bool = True,
    ) -> None:
        load_local_modules()
        self.settings = settings
        self.client = client
        self.known = KnownData(settings.target_data) if known else None
        self.schema = load_schema(settings, ctx, self.known)
        self.operations: dict[str, schemathesis.APIOperation[Any, Any, Any, Any]] = {}
        for result in self.schema.get_all_operations():
            if not isinstance(result, Ok):
                raise result.err()
            operation = result.ok()
            raw = operation.definition.raw
            self.operations[str(raw.get("operationId"))] = operation
        self.adapter = ClientAdapter(client)
        self.session = requests.Session()
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)

    def close(self) -> None:
        self.session.close()

    def strategy(self, operation_id: str, mode: GenerationMode) -> st.SearchStrategy[Case[Any]]:
        """Cases of one operation in one generation mode, with known data laid over most."""
        strategy: st.SearchStrategy[Case[Any]] = self.operations[operation_id].as_strategy(
            generation_mode=mode
        )
        return strategy

    def budget(self) -> list[tuple[GenerationMode, int]]:
        """Examples per generation mode: `fuzz_examples` in all, a quarter of them negative."""
        total = self.settings.fuzz_examples
        negative = total * (100 - POSITIVE_SHARE) // 100
        return [(GenerationMode.POSITIVE, total - negative), (GenerationMode.NEGATIVE, negative)]

    def call(self, operation_id: str, case: Case[Any]) -> schemathesis.Response:
        """Send one case through the shared client."""
        self.adapter.operation = operation_id
        self.adapter.credentials = not self.schema.is_security_param_negated(case)
        return case.call(
            base_url=self.settings.base_url, session=self.session, allow_redirects=False
        )

    def step(
        self,
        operation_id: str,
        *,
        query: dict[str, Any] | None = None,
        path_parameters: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        body: Any = NOT_SET,
    ) -> Step:
        """Send one explicit case of an operation and judge its answer like a fuzzed one."""
        operation = self.operations[operation_id]
        case = operation.Case(
            query=query, path_parameters=path_parameters, headers=headers, body=body
        )
        response = self.call(operation_id, case)
        return Step(exchange_of(case, response), self.judge(case, response))

    def judge(self, case: Case[Any], response: schemathesis.Response) -> list[Finding]:
        """Findings of every check, built-in and the suite's, but ignored_auth (see `run`)."""
        try:
            case.validate_response(
                response,
                excluded_checks=[schemathesis.checks.ignored_auth],
                transport_kwargs={"base_url": self.settings.base_url},
            )
        except FailureGroup as group:
            return findings_of(group.exceptions, case, response, strict=self.settings.strict)
        except (Failure, DomainFindings) as failure:
            return findings_of([failure], case, response, strict=self.settings.strict)
        return []

    def check_auth(self, case: Case[Any], response: schemathesis.Response) -> list[Finding]:
        """schemathesis's ignored_auth once per operation: the same request without and with
        wrong credentials must not be answered like the accepted one."""
        try:
            case.validate_response(
                response,
                checks=[schemathesis.checks.ignored_auth],
                headers={"Authorization": MASK},
                transport_kwargs={"base_url": self.settings.base_url},
            )
        except FailureGroup as group:
            return findings_of(group.exceptions, case, response, strict=self.settings.strict)
        except Failure as failure:
            return findings_of([failure], case, response, strict=self.settings.strict)
        return []

    def run(self, operation_id: str) -> FuzzOutcome:
        """Fuzz one operation with the run's seed and budget; the smallest failing case of each
        generation mode is reported."""
        seed = self.settings.fuzz_seed
        outcome = FuzzOutcome(
            operation_id, OperationStats(), seed=seed, examples=self.settings.fuzz_examples
        )
        found: list[Finding] = []
        accepted: tuple[Case[Any], schemathesis.Response] | None = None
        for mode, examples in self.budget():
            if examples <= 0 or outcome.transport is not None:
                continue
            state = self._run_mode(operation_id, mode, examples, outcome.stats)
            found += state.failing
            outcome.transport = state.broken
            accepted = accepted or state.accepted
        # The probes of ignored_auth repeat the request outside the shared client, which must
        # see every write; negative cases without credentials still cover the writes.
        probe = operation_id not in WRITE_OPERATIONS and outcome.transport is None
        if accepted is not None and probe:
            found += self.check_auth(*accepted)
        note = f" (fuzz seed {seed}, --fuzz-seed)"
        outcome.findings = [dataclasses.replace(f, message=f.message + note) for f in found]
        return outcome

    def _run_mode(
        self, operation_id: str, mode: GenerationMode, examples: int, stats: OperationStats
    ) -> _RunState:
        state = _RunState()

        @hypothesis.settings(
            max_examples=examples,
            database=None,
            deadline=None,
            derandomize=False,
            print_blob=False,
            report_multiple_bugs=False,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=(hypothesis.Phase.generate, hypothesis.Phase.shrink),
            verbosity=hypothesis.Verbosity.quiet,
        )
        @hypothesis.seed(operation_seed(self.settings.fuzz_seed, f"{operation_id}:{mode.value}"))
        @hypothesis.given(case=self.strategy(operation_id, mode))
        def example(case: Case[Any]) -> None:
            if state.broken is not None:
                # The target stopped answering: shrink without sending anything more.
                raise state.broken
            try:
                response = self.call(operation_id, case)
            except TransportFailure as exc:
                state.broken = exc
                raise
            stats.record(response.status_code)
            found = self.judge(case, response)
            if found:
                state.failing = found
                raise _ExampleFailed()
            if state.accepted is None and 200 <= response.status_code < 300:
                state.accepted = (case, response)

        try:
            example()
        except TransportFailure:
            pass
        except Exception:
            if not state.failing:
                raise
        return state
