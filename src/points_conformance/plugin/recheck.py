"""Re-checks a failed test's findings before the verdict: each failing exchange is sent again
and the fresh answers are judged, so that a server that fails one request in three, or a 502
on the way, is told apart from a defect that holds every time.

Re-running the whole test would fail again by chance when the test sends many requests and
the server fails a few of them, so only the failing exchanges are sent again, each exactly as
it was first sent. A finding that the registered checks raise on its exchange alone is judged
by the same checks on each fresh answer (does the same requirement fail?); one that rests on
more than its exchange (a walk across pages, an error a test expected) is judged by the answer
itself: the same status and the same body fail the same way, anything else came out
differently. A re-send answered by a timeout, 5xx or 429 when the failure had a proper answer
is inconclusive: a 502 on the way says nothing about a wrong balance, and must not turn a
defect into one a tolerant gate lets through. Writes are never sent again: a transfer sent twice moves points twice, and a
reversal sent twice is refused as done, which differs by design rather than by chance; so are
the operations that write (`operations.WRITE_OPERATIONS`) and an isTransferrable that asks for
an OTP (a new OTP replaces the last). Reads sent by POST (isTransferrable without an OTP) are
sent again like GETs.

A test that a timeout, a broken connection or a 429 ended has no answer to judge; its request
is sent again (`recheck_failure`), and the failure holds when no re-send gets a proper answer.

`report.confirmation` turns the outcomes into a label per failed requirement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from points_conformance.client import ConformanceClient
from points_conformance.model import Exchange, Finding, ResponseInfo
from points_conformance.operations import WRITE_OPERATIONS
from points_conformance.pacing import TransportFailure
from points_conformance.records import Recheck

if TYPE_CHECKING:
    from points_conformance.checks import CheckContext

# Exchanges re-sent per failed test, one per failed requirement first: a fuzz test can fail
# hundreds of times on one rule, and a staging server's rate limit is shared.
MAX_EXCHANGES = 10
BY_CHECKS = "checks"
BY_ANSWER = "answer"

Judge = Callable[[Exchange], bool]


def recheck(
    client: ConformanceClient,
    context: CheckContext,
    findings: Sequence[Finding],
    times: int,
) -> tuple[Recheck, ...]:
    """Send each chosen failing exchange `times` more times and judge every fresh answer."""
    if times <= 0:
        return ()
    outcomes: list[Recheck] = []
    for exchange, indexes in _chosen(findings):
        judges = {i: _judge(context, exchange, findings[i]) for i in indexes}
        answers: list[str] = []
        reproduced = dict.fromkeys(indexes, 0)
        inconclusive = 0
        glitch_failed = glitch(exchange.response)
        for _ in range(times):
            try:
                fresh: Exchange | None = client.resend(exchange)
            except TransportFailure as exc:
                fresh = None
                answers.append(exc.message)
            except KeyError:
                break  # not kept (a write, or long ago): nothing was sent
            if fresh is not None:
                answers.append(f"HTTP {fresh.response.status}")
            if not glitch_failed and (fresh is None or glitch(fresh.response)):
                inconclusive += 1
                continue
            for i in indexes:
                reproduced[i] += fresh is not None and judges[i][1](fresh)
        if not answers:
            continue
        outcomes += [
            Recheck(i, len(answers), reproduced[i], judges[i][0], tuple(answers), inconclusive)
            for i in indexes
        ]
    return tuple(sorted(outcomes, key=lambda r: r.finding))


def recheck_failure(
    client: ConformanceClient, failure: TransportFailure, times: int
) -> Recheck | None:
    """Send the request a transport failure ended `times` more times: it fails again the same
    way when each re-send also gets no proper answer (a timeout, a broken connection, a 429
    given up). None when nothing was sent (a write, or a request the client did not keep)."""
    answers: list[str] = []
    reproduced = 0
    for _ in range(max(0, times)):
        try:
            fresh = client.resend(failure)
        except TransportFailure as exc:
            answers.append(exc.message)
            reproduced += 1
            continue
        except KeyError:
            break
        answers.append(f"HTTP {fresh.response.status}")
    return Recheck(0, len(answers), reproduced, BY_ANSWER, tuple(answers)) if answers else None


def _chosen(findings: Sequence[Finding]) -> list[tuple[Exchange, list[int]]]:
    """The exchanges to send again, each with the indexes of the findings it carries."""
    by_exchange: dict[int, tuple[Exchange, list[int]]] = {}
    covered: set[str] = set()
    order: list[int] = []
    # First one exchange per requirement, then the other findings of the exchanges chosen.
    for index, finding in enumerate(findings):
        exchange = finding.exchange
        if exchange is None or not resendable(exchange):
            continue
        key = id(exchange.request)
        if key in by_exchange:
            by_exchange[key][1].append(index)
        elif finding.requirement not in covered and len(order) < MAX_EXCHANGES:
            by_exchange[key] = (exchange, [index])
            order.append(key)
        else:
            continue
        covered.add(finding.requirement)
    return [by_exchange[key] for key in order]


def resendable(exchange: Exchange) -> bool:
    """Whether sending `exchange` again leaves the target's data as it was."""
    if exchange.operation in WRITE_OPERATIONS:
        return False
    return exchange.request.method.upper() in ("GET", "HEAD") or not _asks_otp(
        exchange.request.body
    )


def _asks_otp(body: object) -> bool:
    if isinstance(body, dict):
        return any(
            (key == "issueOtp" and value not in (None, False, "false")) or _asks_otp(value)
            for key, value in body.items()
        )
    return isinstance(body, list) and any(_asks_otp(item) for item in body)


def _judge(context: CheckContext, exchange: Exchange, finding: Finding) -> tuple[str, Judge]:
    """How a fresh answer to `exchange` is judged for `finding`: (how, fails the same way?)."""
    from points_conformance.checks import run_checks  # late: checks load the specs

    requirement = finding.requirement
    if any(f.requirement == requirement for f in run_checks(context, exchange)):

        def by_checks(fresh: Exchange) -> bool:
            return any(f.requirement == requirement for f in run_checks(context, fresh))

        return BY_CHECKS, by_checks

    def by_answer(fresh: Exchange) -> bool:
        return same_answer(exchange.response, fresh.response)

    return BY_ANSWER, by_answer


def glitch(response: ResponseInfo) -> bool:
    """A 5xx or 429: what a gateway, a restart or a rate limit gives, whatever the request."""
    return response.status >= 500 or response.status == 429


def same_answer(first: ResponseInfo, second: ResponseInfo) -> bool:
    """The same status and the same body (as JSON when both parse, else as text)."""
    if first.status != second.status:
        return False
    if first.json is not None and second.json is not None:
        return bool(first.json == second.json)
    return first.text == second.text
