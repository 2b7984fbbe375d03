"""What the cross-member and points matrices share: judging a case, OTPs, balances, ledgers.

`judge` reads a case's `expect` field, one of:

- `ok`: HTTP 200; the response goes through every single-exchange check.
- a mapping with `ok: true` or `error: [codes]` (an empty list: any code, for failures the
  pages name no code for), or `ok_or_error: [codes]` (a 2xx judged by every single-exchange
  check and the optional keys below, or a refusal with one of the codes); `lenient: {...}`
  replaces those keys when the run is not strict
  (`lenient: {error: [...]}` adds codes the default run accepts; `discrepancy` names the
  register entry that allows them).
  With `ok`, optional keys add what the target's data promises: `rows: some|none` (entries of a
  crossMemberLedger page), `transferrable: true|false` (the check's answer), `otp: issued|none`
  (the sandbox OTP header of isTransferrable, when the target file names one), `echo: FIELD`
  (strict only: data[0].FIELD equals the request body's FIELD), `empty: true` (`data` is empty).

Under pytest-xdist, state-changing tests hold the customers and groups they touch (the
`touches` marker, see `points_conformance.plugin.lock`), and reversals draw redemption ids from
a counter the run's workers share (`RedemptionPool`).

Balances are read where the pages put them: a customer's from getCustomerLedgerBalance (the
Main category, of one program when the transfer names one, as of now), a user group's as the
signed sum of its whole ledger, since no documented operation shows a group's balance. Ledgers
compared before and after a write are read whole (`read_ledger`), never by a `sort` the
customer form does not document.
"""

from __future__ import annotations

import contextvars
import copy
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from points_conformance.checks import CheckContext, expect_error, run_checks
from points_conformance.checks.balance import BalanceKey, end_date_now, new_balance_rows
from points_conformance.checks.cross_member import cml_body, cml_entries
from points_conformance.checks.discrepancies import D_SUCCESS_STATUS
from points_conformance.checks.errors import warning_codes
from points_conformance.checks.ledger import entries, is_currency_row, signed_points
from points_conformance.checks.readers import (
    answered,
    dicts,
    header,
    is_success,
    refused_in_body,
    success_object,
    to_decimal,
)
from points_conformance.checks.readers import body as body_of
from points_conformance.checks.transfer_state import (
    BalanceReading,
    check_reversal_twice,
    closing_balance,
    ledger_entries,
)
from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, Finding
from points_conformance.operations import PATHS, POINTS_OPERATIONS
from points_conformance.plugin.fixtures import skip_missing
from points_conformance.target import Customer, Group, TargetData

from ._cases import Case

T = TypeVar("T")

CML = "getCrossMemberLedger"
CHECK = "isTransferrable"
CHECK_GROUP = "isTransferrableUserGroup"
TRANSFER = "transferPoints"
TRANSFER_GROUP = "transferPointsUserGroup"
HISTORY = "getPointsTransfers"
REVERSE = "reversePoints"
LEDGER_INFO = "getCustomerLedgerInfo"
BALANCE = "getCustomerLedgerBalance"
# The target-file keys of the customers the transfer tests move points between.
TRANSFER_PAIR = ("customers.transfer_from", "customers.transfer_to")
# isTransferrable / transfer identifier types (003) -> the target file's customer field.
IDENTIFIER_FIELDS = {"ID": "id", "MOBILE": "mobile", "EXTERNAL_ID": "external_id", "EMAIL": "email"}
# A ledger or balance larger than this many pages is not read (a balance read must stay cheap).
MAX_BALANCE_PAGES = 10
# Ledger entries per page when a whole ledger is read (the maximum 001 documents).
LEDGER_PAGE = 100


class LedgerReader(Protocol):
    """What balance and ledger readings need of a client: GET requests with a query; the
    `ConformanceClient` fixture is one, and so is a harness test's canned server."""

    def request(
        self,
        operation_id: str | None,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> Exchange: ...


def cml_path(member_id: str) -> str:
    return PATHS[CML].format(id=member_id)


GROUP_ACTOR_KEY = "groups.usergroup2.transferred_by"


def group_actor(target: TargetData) -> dict[str, str]:
    """The `{actor.*}` of a group transfer: the target's permitted user, else transfer_to."""
    group = target.group("usergroup2")
    named = group.transferred_by if group is not None else None
    destination = target.customer("transfer_to")
    mobile = named or (destination.mobile if destination is not None else None)
    return {"mobile": mobile} if mobile else {}


def group_transfer_body(
    target: TargetData, group: Group, mobile: str, *, points: int, notes: str
) -> dict[str, Any]:
    """A userGroup2/transfer body moving `points` from `group` to the customer with `mobile`."""
    entity: dict[str, Any] = {
        "identifierType": "mobile",
        "identifierValue": mobile,
        "type": "CUSTOMER",
        "source": target.source,
    }
    if target.account_id:
        entity["accountId"] = target.account_id
    actor = group_actor(target).get("mobile")
    return {
        "pointsTobeTransferred": points,
        "notes": notes,
        "transferredBy": {
            "identifierType": "mobile",
            "identifierValue": actor,
            "source": target.source,
        },
        "fromEntity": {"type": "USERGROUP2", "identifierType": "id", "identifierValue": group.id},
        "toEntity": entity,
    }


def unless_permitted(target: TargetData, ex: Exchange) -> None:
    """Skip, naming the key, when a group transfer by an unnamed user was refused.

    003 requires only that "The user should have permission to transfer points"; without a
    user the target names as permitted, a refusal may be that permission, so it is no finding.
    """
    group = target.group("usergroup2")
    if group is not None and group.transferred_by:
        return
    if not is_success(ex) or refused_in_body(ex, strict=False):
        skip_missing(
            GROUP_ACTOR_KEY,
            detail="the group transfer by transfer_to was refused; name a permitted user",
        )


def expectation(case: Case, *, strict: bool) -> dict[str, Any]:
    """The case's `expect` as a mapping, with lenient overrides applied when not strict."""
    raw = case.expect if case.expect is not None else "ok"
    if isinstance(raw, str):
        if raw != "ok":
            raise ValueError(f"case {case.table}:{case.id}: unknown expect {raw!r}")
        return {"ok": True}
    want = dict(raw)
    lenient = want.pop("lenient", None)
    if lenient and not strict:
        if {"ok", "error", "ok_or_error"} & set(lenient):
            want.pop("ok", None)
            want.pop("error", None)
            want.pop("ok_or_error", None)
        want.update(lenient)
    return want


def judge(
    ctx: CheckContext, case: Case, ex: Exchange, *, target: TargetData | None = None
) -> list[Finding]:
    """Findings for one response against the case's expectation (see the module docstring)."""
    want = expectation(case, strict=bool(ctx.strict))
    found = _judged(ctx, case, ex, want, target)
    refusal = "error" in want or not is_success(ex)
    if want.get("otp") == "none" and target is not None and refusal:
        # 003: isTransferrable "Sends OTP to the fromCustomer if the specified points are
        # transferrable": an answer that is (or should be) a refusal issues none either.
        found += _otp_header(case.requirements[0], ex, target, issued=False)
    return found


def _judged(
    ctx: CheckContext, case: Case, ex: Exchange, want: dict[str, Any], target: TargetData | None
) -> list[Finding]:
    requirement = case.requirements[0]
    raw = case.expect if isinstance(case.expect, dict) else {}
    lenient = raw.get("lenient") or {}
    # A lenient `ok_or_error` takes an answer, unless it is a refusal reported as a warning.
    warned = is_success(ex) and set(raw.get("warning") or ()) & set(warning_codes(body_of(ex)))
    taken = not ctx.strict and "ok_or_error" in lenient and not warned
    if "error" in raw and (lenient.get("error") or raw.get("warning")) and not taken:
        # Codes the pages name besides the strict one (or as a warning of a 2xx answer):
        # accepted unless --conformance-strict, and a strict finding names the register entry.
        return list(
            expect_error(
                ctx,
                ex,
                codes=set(raw["error"] or ()),
                lenient_codes=set(lenient.get("error") or ()),
                discrepancy=raw.get("discrepancy"),
                requirement=case.requirements,
                warnings=set(raw.get("warning") or ()),
            )
        )
    if "error" in want:
        return list(
            expect_error(ctx, ex, codes=set(want["error"] or ()), requirement=case.requirements)
        )
    if "ok_or_error" in want and (not is_success(ex) or refused_in_body(ex, strict=ctx.strict)):
        codes = set(want["ok_or_error"] or ())
        return list(expect_error(ctx, ex, codes=codes, requirement=case.requirements))
    if "ok_or_error" not in want and not answered(ex, strict=ctx.strict):
        what = f"{case.operation} ({case.id})"
        return [*not_accepted(ctx, case.requirements, what, ex), *run_checks(ctx, ex)]
    found = list(run_checks(ctx, ex))
    found += _rows(requirement, case, ex, want.get("rows"))
    if "transferrable" in want:
        found += _transferrable(requirement, case, ex, bool(want["transferrable"]))
    if "echo" in want and ctx.strict:
        found += _echo(requirement, ex, str(want["echo"]))
    if "otp" in want and target is not None:
        found += _otp_header(requirement, ex, target, issued=want["otp"] == "issued")
    if want.get("empty"):
        found += _empty(requirement, case, ex)
    return found


def _empty(requirement: str, case: Case, ex: Exchange) -> list[Finding]:
    items = data_items(ex)
    if not items:
        return []
    return [
        Finding(
            requirement,
            f"an answer for a party that does not exist lists {len(items)} items ({case.id})",
            expected="a refusal, or an empty data list",
            actual=f"{len(items)} data items",
            exchange=ex,
        )
    ]


def not_accepted(
    ctx: CheckContext, requirements: Sequence[str], what: str, ex: Exchange
) -> list[Finding]:
    """A valid request refused, or (strict) answered with a 2xx other than 200 (D-035)."""
    if is_success(ex):
        return [
            Finding(
                "PTS-SUCCESS-800" if ex.operation in POINTS_OPERATIONS else requirements[0],
                f"a valid request was answered with HTTP {ex.response.status}, not 200: {what}",
                expected="HTTP 200 with the documented body",
                actual=f"HTTP {ex.response.status}",
                exchange=ex,
                discrepancy=D_SUCCESS_STATUS,
            )
        ]
    wanted = "HTTP 200" if ctx.strict else "a 2xx status"
    return [
        Finding(
            requirement,
            f"a valid request was not answered with {wanted}: {what}",
            expected=f"{wanted} with the documented body",
            actual=f"HTTP {ex.response.status}: {ex.response.excerpt(300)}",
            exchange=ex,
        )
        for requirement in requirements
    ]


def ok(
    ctx: CheckContext, requirement: str, what: str, ex: Exchange | Sequence[Exchange]
) -> list[Finding]:
    """HTTP 200 and every single-exchange check, for a request the pages say is valid (for
    each page, given the pages of a whole reading)."""
    if not isinstance(ex, Exchange):
        return [f for page in ex for f in ok(ctx, requirement, what, page)]
    if not answered(ex, strict=ctx.strict):
        return [*not_accepted(ctx, [requirement], what, ex), *run_checks(ctx, ex)]
    return list(run_checks(ctx, ex))


def _rows(requirement: str, case: Case, ex: Exchange, rule: str | None) -> list[Finding]:
    if rule is None or ex.operation != CML or cml_body(ex) is None:
        return []
    count = len(cml_entries(ex))
    if rule == "some" and count == 0:
        return [
            Finding(
                requirement,
                f"no entries for a query the target's data matches ({case.id})",
                expected="at least one entry (the group has matching events)",
                actual="an empty page",
                exchange=ex,
            )
        ]
    if rule == "none" and count:
        return [
            Finding(
                requirement,
                f"entries came back where none can match ({case.id})",
                expected="no entries",
                actual=f"{count} entries",
                exchange=ex,
            )
        ]
    return []


def data_items(ex: Exchange) -> list[dict[str, Any]]:
    body = success_object(ex)
    return dicts(body.get("data")) if body is not None else []


def _transferrable(requirement: str, case: Case, ex: Exchange, wanted: bool) -> list[Finding]:
    answers = [item.get("transferrable") for item in data_items(ex)]
    if answers and all(a is wanted for a in answers):
        return []
    return [
        Finding(
            requirement,
            f"the check does not answer transferrable={str(wanted).lower()} ({case.id})",
            expected=f'data: [{{"transferrable": {str(wanted).lower()}, ...}}]',
            actual="transferrable: " + (", ".join(repr(a) for a in answers) or "no data items"),
            exchange=ex,
        )
    ]


def _echo(requirement: str, ex: Exchange, field: str) -> list[Finding]:
    sent = ex.request.body.get(field) if isinstance(ex.request.body, dict) else None
    wanted = to_decimal(sent)
    shown = [item.get(field) for item in data_items(ex)]
    if wanted is None or (shown and all(to_decimal(v) == wanted for v in shown)):
        return []
    return [
        Finding(
            requirement,
            f"the answer's {field} is not the amount requested",
            expected=f"data[].{field} = {sent}",
            actual=f"{field}: " + (", ".join(repr(v) for v in shown) or "no data items"),
            exchange=ex,
        )
    ]


def otp_header_name(target: TargetData) -> str | None:
    name = target.transfer.get("otp_header")
    return str(name) if name else None


def fixed_otp(target: TargetData) -> str | None:
    """The OTP the target accepts without issuing one, from the variable `otp_env` names."""
    name = target.transfer.get("otp_env")
    return os.environ.get(str(name)) or None if name else None


def _otp_header(
    requirement: str, ex: Exchange, target: TargetData, *, issued: bool
) -> list[Finding]:
    name = otp_header_name(target)
    if name is None:
        return []
    value = header(ex.response.headers, name)
    if issued and not value:
        return [
            Finding(
                requirement,
                "issueOtp=true on transferrable points issued no OTP",
                expected=f"the issued OTP in response header {name} (target file: "
                "transfer.otp_header)",
                actual=f"no {name} header",
                exchange=ex,
            )
        ]
    if not issued and value:
        return [
            Finding(
                requirement,
                "an OTP was issued although issueOtp was not true",
                expected=f"no {name} header: without issueOtp=true no OTP is generated (003)",
                actual=f"{name} present",
                exchange=ex,
            )
        ]
    return []


def customer_identifier(customer: Customer, kind: str) -> dict[str, str]:
    """`{"type": kind, "value": ...}` for a customer; skips naming the missing key."""
    field = IDENTIFIER_FIELDS[kind]
    value = getattr(customer, field)
    if not value:
        skip_missing(f"customers.{customer.role}.{field}")
    return {"type": kind, "value": str(value)}


def check_body(
    target: TargetData, source: Customer, destination: Customer, points: int, *, issue: bool
) -> dict[str, Any]:
    """An isTransferrable body between two customers, identified by mobile and by id."""
    body: dict[str, Any] = {
        "pointsTobeTransferred": points,
        "notes": "points-conformance check",
        "fromCustomerIdentifier": customer_identifier(source, "MOBILE"),
        "toCustomerIdentifier": customer_identifier(destination, "ID"),
        "issueOtp": issue,
    }
    if source.program_ids:
        body["programId"] = source.program_ids[0]
    return body


def obtain_otp(
    client: ConformanceClient,
    ctx: CheckContext,
    target: TargetData,
    source: Customer,
    destination: Customer,
) -> tuple[str | None, list[Finding]]:
    """An OTP for transfers from `source`: issued through isTransferrable, or the fixed one.

    Skips when the target exposes neither (transfer.otp_header, transfer.otp_env).
    """
    fixed = fixed_otp(target)
    name = otp_header_name(target)
    if name is None and fixed is None:
        skip_missing("transfer.otp_header", "transfer.otp_env", detail="either: no OTP to use")
    body = check_body(target, source, destination, 1, issue=True)
    ex = client.request(CHECK, "POST", PATHS[CHECK], json=body)
    found = ok(ctx, "XFERCHK-OTP-ISSUE", "isTransferrable with issueOtp=true", ex)
    if fixed is not None:
        return fixed, found
    code = header(ex.response.headers, name) if name else None
    if not code and not found:
        found.append(
            Finding(
                "XFERCHK-OTP-ISSUE",
                "isTransferrable with issueOtp=true issued no OTP",
                expected=f"the issued OTP in response header {name} (target file: "
                "transfer.otp_header)",
                actual=f"HTTP {ex.response.status} without {name}",
                exchange=ex,
            )
        )
    return code or None, found


# -- balances and ledgers --------------------------------------------------------------------


def customer_query(target: TargetData, customer: Customer) -> dict[str, Any]:
    """Ledger query parameters naming a customer by the first identifier the target gives."""
    for name, field in (
        ("mobile", "mobile"),
        ("email", "email"),
        ("externalId", "external_id"),
        ("cardnumber", "cardnumber"),
    ):
        value = getattr(customer, field)
        if value:
            params = {"identifierName": name, "identifierValue": value, "source": target.source}
            if target.account_id:
                params["accountId"] = target.account_id
            return params
    skip_missing(
        *(f"customers.{customer.role}.{key}" for key in ("mobile", "email", "external_id")),
        detail="any one of them",
    )


def group_query(target: TargetData, group: Group) -> dict[str, Any]:
    if not group.id:
        skip_missing(f"groups.{group.role}.id")
    params = {
        "type": group.type,
        "identifierName": "groupId",
        "identifierValue": group.id,
        "source": target.source,
    }
    if target.account_id:
        params["accountId"] = target.account_id
    return params


def read_customer_balance(
    client: LedgerReader,
    ctx: CheckContext,
    target: TargetData,
    customer: Customer,
    program_id: int | None,
    requirement: str = "XFER-STATE-CONSERVE",
) -> tuple[BalanceReading | None, list[Finding]]:
    """The customer's Main closing balance as of now (one program, or all), over its pages.

    endDate is sent, as the default one is "startDate plus 7 days" of an operation without
    startDate (D-025); each (program, category) counts once, as a server may show every balance
    on every page (D-079), and a page that brings no new one ends the reading.
    """
    base = {**customer_query(target, customer), "endDate": end_date_now()}
    pages: list[Exchange] = []
    found: list[Finding] = []
    seen: dict[BalanceKey, Decimal] = {}
    page, count = 0, 1
    while page < count:
        ex = client.request(BALANCE, "GET", PATHS[BALANCE], params={**base, "offset": page})
        pages.append(ex)
        found += ok(ctx, requirement, f"balance of customers.{customer.role}", ex)
        if ex.response.status != 200:
            return None, found
        fresh = new_balance_rows(seen, ex)
        if page > 0 and not fresh:
            break
        seen.update(fresh)
        count = _page_count(ex, f"customers.{customer.role}'s balance")
        page += 1
    value = closing_balance(pages, program_id=program_id)
    return BalanceReading(value if value is not None else Decimal(0), pages[0]), found


def _page_count(ex: Exchange, what: str) -> int:
    """pageCount of a page (1 when it gives none); skips past MAX_BALANCE_PAGES."""
    details = (success_object(ex) or {}).get("ledgerDetails") or {}
    count = details.get("pageCount") if isinstance(details, dict) else None
    if not isinstance(count, int) or isinstance(count, bool):
        return 1
    if count > MAX_BALANCE_PAGES:
        pytest.skip(f"{what} has {count} pages (cap {MAX_BALANCE_PAGES})")
    return count


def side_by_side(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Each call's result, in order, the calls made at the same time: readings of different
    customers or ledgers that do not depend on each other, whose waits overlap against a server
    far away. Each runs in a copy of the caller's context, so the checks it runs credit the
    test's requirements; the first exception, in order, is raised once all have ended."""
    if len(calls) < 2:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(contextvars.copy_context().run, call) for call in calls]
        return [future.result() for future in futures]


def balances_of(
    client: LedgerReader,
    ctx: CheckContext,
    target: TargetData,
    customers: list[Customer],
    program_id: int | None,
    requirement: str = "XFER-STATE-CONSERVE",
) -> Callable[[], tuple[list[BalanceReading] | None, list[Finding]]]:
    """`read_balances` of these customers, to call before, after and while watching a write."""
    return partial(read_balances, client, ctx, target, customers, program_id, requirement)


def read_balances(
    client: LedgerReader,
    ctx: CheckContext,
    target: TargetData,
    customers: list[Customer],
    program_id: int | None,
    requirement: str = "XFER-STATE-CONSERVE",
) -> tuple[list[BalanceReading] | None, list[Finding]]:
    """Each customer's balance, in order; None when one of them could not be read (the
    findings of the customers after it are left out, as when they were read one by one)."""
    readings: list[BalanceReading] = []
    found: list[Finding] = []
    read = side_by_side(
        [
            partial(read_customer_balance, client, ctx, target, customer, program_id, requirement)
            for customer in customers
        ]
    )
    for reading, problems in read:
        found += problems
        if reading is None:
            return None, found
        readings.append(reading)
    return readings, found


def read_group_balance(
    client: LedgerReader,
    ctx: CheckContext,
    target: TargetData,
    group: Group,
    program_id: int | None,
) -> tuple[BalanceReading | None, list[Finding]]:
    """A user group's Main balance: the signed sum of every points row of its whole ledger.

    Only differences of two readings are compared, so whether opening balances count (G-LV2-14)
    does not matter: a transfer adds no opening balance.
    """
    pages = read_ledger(client, group_query(target, group))
    found: list[Finding] = []
    for ex in pages:
        found += ok(ctx, "XFER-STATE-CONSERVE", f"ledger of groups.{group.role}", ex)
    if any(ex.response.status != 200 for ex in pages):
        return None, found
    total = Decimal(0)
    for entry in ledger_entries(pages):
        for row in dicts(entry.get("entryDetails")):
            if is_currency_row(row) or row.get("pointsCategory", "Main") != "Main":
                continue
            if program_id is not None and str(row.get("programId")) != str(program_id):
                continue
            value = signed_points(row)
            total += value if value is not None else Decimal(0)
    return BalanceReading(total, pages[0]), found


def read_ledger(client: LedgerReader, params: dict[str, Any]) -> list[Exchange]:
    """Every page of a customer's or group's whole ledger, in pages of LEDGER_PAGE entries.

    No `sort` is sent (001 documents it for the user-group form only, and before/after readings
    are compared by eventLogId, whatever the order). The customer form is asked for its whole
    history with isFilterBasedOnDate=false (001); the user-group form, which has no date
    parameters, pages by starting index or page number (D-004), and both readings are followed.
    Skips past MAX_BALANCE_PAGES pages.
    """
    group = "type" in params
    base = {**params, "limit": LEDGER_PAGE}
    if not group:
        base["isFilterBasedOnDate"] = "false"
    first = client.request(LEDGER_INFO, "GET", PATHS[LEDGER_INFO], params={**base, "offset": 0})
    pages = [first]
    count = _page_count(first, f"the ledger of {params.get('identifierValue')}")
    if first.response.status != 200 or count < 2:
        return pages
    step = 1
    for number in range(1, count):
        offset = number * step
        ex = client.request(
            LEDGER_INFO, "GET", PATHS[LEDGER_INFO], params={**base, "offset": offset}
        )
        if number == 1 and group and reads_offset_as_index(first, ex):
            step = len(entries(first))
            ex = client.request(
                LEDGER_INFO, "GET", PATHS[LEDGER_INFO], params={**base, "offset": step}
            )
        pages.append(ex)
        if ex.response.status != 200:
            break
    return pages


def reads_offset_as_index(first: Exchange, second: Exchange) -> bool:
    """offset=1 started at the second entry of page 0: a starting index, not a page number."""
    head = [e.get("eventLogId") for e in entries(first)]
    nxt = [e.get("eventLogId") for e in entries(second)]
    return len(head) > 1 and bool(nxt) and nxt[0] == head[1] and nxt[:1] != head[-1:]


def without(value: dict[str, Any], dotted: list[str]) -> dict[str, Any]:
    """A copy of a JSON body with the fields at the dotted paths removed."""
    result: dict[str, Any] = copy.deepcopy(value)
    for path in dotted:
        node: Any = result
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return result


def shared_dir(request: pytest.FixtureRequest) -> Path:
    """A directory every worker of this run sees (pytest's base temp, shared under xdist)."""
    base = Path(request.getfixturevalue("tmp_path_factory").getbasetemp())
    # An xdist worker's base temp sits inside the run's; asking the config (not the inherited
    # PYTEST_XDIST_WORKER variable) keeps a suite run started from inside a worker to its own.
    return base.parent if hasattr(request.config, "workerinput") else base


@contextmanager
def exclusive(directory: Path, name: str) -> Iterator[None]:
    """Holds the run-wide lock `name` (across xdist workers on this machine)."""
    try:
        import fcntl
    except ImportError:  # no POSIX locks (Windows): the plugin runs workers unlocked there too
        yield
        return
    with open(directory / f"points-conformance-{name}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class RedemptionPool:
    """Hands out the target's reversible redemptions, each once per run, across workers.

    The last id is kept back as the probe that refused reversals are aimed at; reversals that
    succeed take the others in order, counted in a file every worker of the run shares. Ids a
    test found already reversed (by an earlier run against the same server) are noted in
    `already_reversed`, so that running out of ids says why.
    """

    def __init__(self, ids: list[str], directory: Path) -> None:
        self.probe = ids[-1] if ids else None
        self._ids = ids[:-1]
        self._directory = directory
        self.already_reversed: list[str] = []

    @classmethod
    def of(cls, request: pytest.FixtureRequest, target: TargetData) -> RedemptionPool:
        """The run's pool of the target's reversible ids, shared by every test that reverses."""
        ids = [str(i) for i in target.redemptions.get("reversible_ids") or ()]
        return cls(ids, shared_dir(request))

    def take(self) -> str:
        counter = self._directory / "points-conformance-redemptions.count"
        with exclusive(self._directory, "redemptions"):
            text = counter.read_text() if counter.exists() else ""
            used = int(text) if text.strip().isdigit() else 0
            counter.write_text(str(used + 1))
        if used >= len(self._ids):
            reversed_here = self.already_reversed
            why = (
                f"; {len(reversed_here)} of them ({', '.join(reversed_here)}) were refused as "
                "already reversed, as an earlier run against this server leaves them"
                if reversed_here
                else ""
            )
            skip_missing(
                "redemptions.reversible_ids",
                detail=f"no unused id left ({len(self._ids)} usable, the last one is kept for "
                f"refused reversals{why}): list more",
            )
        return self._ids[used]

    def first_reversal(
        self, ctx: CheckContext, reverse: Callable[[str], T], exchange: Callable[[T], Exchange]
    ) -> tuple[str, T]:
        """An id from the pool and what `reverse` gave for its first reversal.

        The ids are fresh only in a run's first use of the target: a later run against the same
        server meets the ones an earlier run reversed in full, and the server rightly refuses
        them as already reversed (the refusal REV-STATE-TWICE asks for, in the run's stance).
        Such an id is passed over for the next one rather than blamed on the server.
        """
        while True:
            redemption = self.take()
            sent = reverse(redemption)
            if check_reversal_twice(ctx, exchange(sent)):
                return redemption, sent
            self.already_reversed.append(redemption)
