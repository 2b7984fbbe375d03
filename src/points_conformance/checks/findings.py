"""How a check words what it found: one `Finding`, or one that lists the first few problems."""

from __future__ import annotations

from collections.abc import Iterable

from points_conformance.model import Exchange, Finding


def finding(
    requirement: str,
    message: str,
    *,
    expected: str,
    actual: str,
    exchange: Exchange | None,
    discrepancy: str | None = None,
) -> Finding:
    return Finding(requirement, message, expected, actual, exchange, discrepancy)


def body_excerpt(ex: Exchange) -> str:
    """The start of the response body as a finding's `actual`, or "(empty body)"."""
    return ex.response.excerpt(300) or "(empty body)"


def capped(items: Iterable[str], limit: int = 5) -> str:
    """A readable list of at most `limit` items, saying how many were left out."""
    listed = list(items)
    text = "; ".join(listed[:limit])
    if len(listed) > limit:
        text += f"; … and {len(listed) - limit} more"
    return text


def problems_finding(
    ex: Exchange,
    requirement: str,
    message: str,
    expected: str,
    problems: list[str],
    *,
    discrepancy: str | None = None,
) -> list[Finding]:
    """One finding that lists the first few `problems`, or none when there are none."""
    if not problems:
        return []
    return [
        finding(
            requirement,
            f"{message} ({len(problems)})",
            expected=expected,
            actual=capped(problems),
            exchange=ex,
            discrepancy=discrepancy,
        )
    ]
