"""What got worse since a baseline report: the comparison `run --baseline` and `report diff` share.

A requirement got worse when it fails now (no live waiver covers it) and did not fail in the
baseline, whatever it was there (passed, waived, skipped, not exercised, absent), or when it
failed in both but now with a finding whose signature the baseline does not have. It improved
when it failed in the baseline and passes now.

A finding's signature is stable across runs against the same server: the requirement, the
operation, and the check's message with every token that holds a digit (ids, dates, counts,
amounts, generated references) replaced by `#`. It never holds a test run's nonce or a time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from points_conformance.report.model import FAILED, finding_operation, one_line

# A token with a digit in it: an id, a date or time, a count, an amount, a generated reference.
_VOLATILE = re.compile(r"[\w.+:-]*\d[\w.+:-]*")


def normalise(message: str) -> str:
    """A check's message with its volatile parts replaced, on one line."""
    return " ".join(_VOLATILE.sub("#", str(message)).split())


def signature(finding: Mapping[str, Any]) -> str:
    """The stable signature of one finding (see the module's docstring)."""
    operation = finding_operation(finding) or ""
    return (
        f"{finding.get('requirement', '')} | {operation} | {normalise(finding.get('message', ''))}"
    )


def signatures(record: Mapping[str, Any]) -> set[str]:
    """The signatures of a failed requirement's findings (from its kept findings when the
    report predates signatures)."""
    kept = record.get("signatures")
    if kept:
        return {str(s) for s in kept}
    return {signature(f) for f in record.get("findings") or []}


def new_signatures(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[str]:
    """The signatures `after` fails with that `before` did not (empty unless both failed)."""
    if before is None or before.get("status") != FAILED or after.get("status") != FAILED:
        return []
    return sorted(signatures(after) - signatures(before))


def got_worse(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
    if after is None or after.get("status") != FAILED:
        return False
    if before is None or before.get("status") != FAILED:
        return True
    return bool(new_signatures(before, after))


def why_worse(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> str:
    """One line: the current reason, and the first new signature when that is what is new."""
    fresh = new_signatures(before, after)
    if fresh:
        more = f" (+{len(fresh) - 1} more)" if len(fresh) > 1 else ""
        return one_line(f"new finding: {fresh[0]}{more}")
    return one_line(after.get("reason", ""))
