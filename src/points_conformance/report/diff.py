"""Compares two conformance reports: what regressed, what was fixed, what appeared or went away.

A regression is what `report.baseline` calls worse: a requirement that fails now and did not
in the baseline, or fails with a finding whose signature is new. It is what a CI gate on a
baseline report (`report diff`, `run --baseline`) fails on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from points_conformance.report.baseline import got_worse, why_worse
from points_conformance.report.model import FAILED, LABELS, PASSED, one_line, validate


@dataclass(frozen=True)
class Change:
    requirement: str
    before: str | None  # None: absent from the baseline
    after: str | None  # None: absent from the current report
    reason: str = ""  # the current one-line reason, for a failure

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Diff:
    regressed: list[Change] = field(default_factory=list)  # fails now, did not or not so
    fixed: list[Change] = field(default_factory=list)  # failed -> passed
    new: list[Change] = field(default_factory=list)  # only in the current report
    disappeared: list[Change] = field(default_factory=list)  # only in the baseline
    changed: list[Change] = field(default_factory=list)  # any other change of status

    @property
    def has_regressions(self) -> bool:
        return bool(self.regressed)

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {
            name: [c.to_dict() for c in getattr(self, name)]
            for name in ("regressed", "fixed", "new", "disappeared", "changed")
        }

    def to_text(self) -> str:
        def label(status: str | None) -> str:
            return LABELS.get(status, "absent") if status else "absent"

        lines: list[str] = []
        sections = (
            ("Regressed (fails now, or with a new finding)", self.regressed),
            ("Fixed (failed -> passed)", self.fixed),
            ("New", self.new),
            ("Disappeared", self.disappeared),
            ("Other changes", self.changed),
        )
        for title, changes in sections:
            if not changes:
                continue
            lines.append(f"{title}: {len(changes)}")
            for c in changes:
                line = f"  {c.requirement}: {label(c.before)} -> {label(c.after)}"
                if c.reason:
                    line += f"  ({c.reason})"
                lines.append(line)
        if not lines:
            lines.append("No requirement changed status.")
        verdict = f"{len(self.regressed)} regression(s)" if self.regressed else "no regression"
        lines.append(
            f"Summary: {verdict}, {len(self.fixed)} fixed, {len(self.new)} new, "
            f"{len(self.disappeared)} disappeared, {len(self.changed)} other changes."
        )
        return "\n".join(lines)


def diff_reports(baseline: dict[str, Any], current: dict[str, Any]) -> Diff:
    """How `current` differs from `baseline`, requirement by requirement."""
    before = validate(baseline, "baseline")["requirements"]
    after = validate(current, "current")["requirements"]
    diff = Diff()
    for rid in sorted(set(before) | set(after)):
        old = before.get(rid, {}).get("status")
        new = after.get(rid, {}).get("status")
        reason = one_line(after[rid].get("reason", "")) if new == FAILED else ""
        change = Change(rid, old, new, reason)
        if got_worse(before.get(rid), after.get(rid)):
            diff.regressed.append(Change(rid, old, new, why_worse(before.get(rid), after[rid])))
        elif old is None:
            diff.new.append(change)
        elif new is None:
            diff.disappeared.append(change)
        elif old == FAILED and new == PASSED:
            diff.fixed.append(change)
        elif old != new:
            diff.changed.append(change)
    return diff
