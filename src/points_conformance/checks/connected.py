"""Data scope of the connected-orgs ledger (000): entries come only from the orgs in scope."""

from __future__ import annotations

from points_conformance.checks.context import CheckContext
from points_conformance.checks.discrepancies import D_SCOPE_MISSING
from points_conformance.checks.findings import capped, finding
from points_conformance.checks.ledger import entries, entry_label
from points_conformance.checks.readers import header, same_id, success_object
from points_conformance.checks.registry import check
from points_conformance.model import Exchange, Finding

OPERATION = "getCustomerLedgerInfoConnectedOrgs"


def scoped_orgs(ctx: CheckContext, ex: Exchange) -> tuple[str, list[str]] | None:
    """(requirement, org ids in scope) for the DATA-SCOPE headers sent, or None."""
    scope = header(ex.request.headers, "DATA-SCOPE")
    if scope is None:
        # 000 names no default scope; answering as SELF is the lenient reading.
        own = [str(ctx.org_id)] if ctx.org_id is not None else []
        return ("CORG-SCOPE-MISSING", own) if own else None
    scope = scope.strip().upper()
    if scope == "SELF":
        if ctx.org_id is None:
            return None
        return "CORG-SCOPE-SELF", [str(ctx.org_id)]
    if scope == "OTHER":
        raw = header(ex.request.headers, "DATA-SCOPE-ORG") or ""
        orgs = [part.strip() for part in raw.split(",") if part.strip()]
        return ("CORG-SCOPE-OTHER", orgs) if orgs else None
    return None


@check(
    "connected.scope",
    requirements=("CORG-SCOPE-SELF", "CORG-SCOPE-OTHER", "CORG-SCOPE-MISSING"),
    operations=(OPERATION,),
)
def data_scope(ctx: CheckContext, ex: Exchange) -> list[Finding]:
    if success_object(ex) is None:
        return []
    if ctx.strict and header(ex.request.headers, "DATA-SCOPE") is None:
        return [
            finding(
                "CORG-SCOPE-MISSING",
                "a request without the DATA-SCOPE header was answered",
                expected="error 310144 (connected orgs not set properly in headers)",
                actual=f"HTTP {ex.response.status} with {len(entries(ex))} entries",
                exchange=ex,
                discrepancy=D_SCOPE_MISSING,
            )
        ]
    scope = scoped_orgs(ctx, ex)
    if scope is None:
        return []
    requirement, orgs = scope
    problems: list[str] = []
    for index, entry in enumerate(entries(ex)):
        org = entry.get("orgId")
        # 000 documents the field as orgID in its table and orgId in its examples.
        if org is None:
            org = entry.get("orgID")
        if org is None:
            continue
        if not any(same_id(org, allowed) for allowed in orgs):
            problems.append(f"{entry_label(entry, index)}: orgId {org!r}")
    if not problems:
        return []
    return [
        finding(
            requirement,
            f"entries from orgs outside the data scope came back ({len(problems)})",
            expected=f"only entries with orgId {' or '.join(orgs)} (or orgId null)",
            actual=capped(problems),
            exchange=ex,
        )
    ]
