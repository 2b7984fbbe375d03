"""How each failed requirement stood up to being re-checked, and what the verdict lets through.

Every failing finding gets a label:

- `confirmed`: its exchange was sent again and failed the same way every time (a re-send
  answered by a timeout, 5xx or 429 where the failure had a proper answer is inconclusive and
  left out);
- `transient`: otherwise, when it came with a timeout, a broken connection, a 5xx or a 429
  (a 502 storm, a rate limit, a gateway timeout); a request a transport failure ended is sent
  again too, and holds when no re-send gets a proper answer;
- `intermittent`: otherwise, when a re-check came out differently (the server fails some
  requests, not all);
- `unchecked`: nothing judged it again (re-checks off, a write, a test that failed without an
  exchange to send, or every re-send inconclusive).

A failed requirement takes the strongest label among its findings, in the order confirmed,
unchecked, intermittent, transient; it is derived from the findings, so that a merge of shards
labels as a single run would.

A run told to tolerate labels (`--tolerate`) lets the failed requirements with those labels
through its verdict; the report's `confirmation` section counts the labels and says how many
it let through. Passing requirements carry no label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from points_conformance.records import (
    CONFIRMATIONS,
    CONFIRMED,
    INTERMITTENT,
    TOLERABLE,
    TRANSIENT,
    UNCHECKED,
)
from points_conformance.report.model import FAILED

LABEL_TEXT = {
    CONFIRMED: "confirmed: failed again the same way on every re-check",
    INTERMITTENT: "intermittent: a re-check came out differently",
    TRANSIENT: "transient: came only with timeouts, 5xx or 429 answers",
    UNCHECKED: "unchecked: not re-checked",
}


def is_transient(finding: Mapping[str, Any]) -> bool:
    """Whether a finding came with a timeout, a broken connection, a 5xx or a 429."""
    if finding.get("transport"):
        return True
    response = (finding.get("exchange") or {}).get("response") or {}
    status = response.get("status")
    return isinstance(status, int) and (status >= 500 or status == 429)


def _conclusive(recheck: Mapping[str, Any]) -> int:
    """The re-sends that judged the failure (not lost to a timeout, 5xx or 429)."""
    return int(recheck.get("sent") or 0) - int(recheck.get("inconclusive") or 0)


def finding_label(finding: Mapping[str, Any]) -> str:
    """The confirmation label of one failing finding."""
    recheck = finding.get("recheck") or {}
    conclusive = _conclusive(recheck)
    if conclusive and int(recheck.get("reproduced") or 0) == conclusive:
        return CONFIRMED
    if is_transient(finding):
        return TRANSIENT
    return INTERMITTENT if conclusive else UNCHECKED


# A requirement takes the strongest label among its findings: one failure that held on every
# re-check confirms it, and one that could not be re-checked must not be let through.
_STRENGTH = {CONFIRMED: 3, UNCHECKED: 2, INTERMITTENT: 1, TRANSIENT: 0}


def label(record: Mapping[str, Any]) -> str | None:
    """The confirmation label of a requirement record (None unless it failed)."""
    if record.get("status") != FAILED:
        return None
    findings = list(record.get("findings") or [])
    if not findings:
        return UNCHECKED
    # A test re-sends one exchange per requirement; its other findings of that requirement
    # stand or fall with the one re-sent.
    rechecked = {(f.get("test"), f.get("requirement")) for f in findings if f.get("recheck")}
    judged = [
        f
        for f in findings
        if f.get("recheck") or (f.get("test"), f.get("requirement")) not in rechecked
    ]
    return max((finding_label(f) for f in judged), key=_STRENGTH.__getitem__)


def confirm(report: dict[str, Any]) -> None:
    """Label every requirement record and write the report's `confirmation` section.

    The section keeps what the run asked for (`rechecks`, `tolerate`) and recomputes the rest:
    `labels` (failed requirements per label), `let_through` (how many failed requirements the
    verdict lets through) and `let_through_ids`.
    """
    given = report.get("confirmation") or {}
    tolerate = [t for t in TOLERABLE if t in (given.get("tolerate") or [])]
    labels = dict.fromkeys(CONFIRMATIONS, 0)
    let_through: list[str] = []
    for rid, record in report.get("requirements", {}).items():
        record["confirmation"] = label(record)
        if record["confirmation"] is None:
            continue
        labels[record["confirmation"]] += 1
        if record["confirmation"] in tolerate:
            let_through.append(rid)
    report["confirmation"] = {
        "rechecks": int(given.get("rechecks") or 0),
        "tolerate": tolerate,
        "labels": labels,
        "let_through": len(let_through),
        "let_through_ids": sorted(let_through),
    }


def let_through(report: Mapping[str, Any]) -> int:
    """How many failed requirements the verdict lets through."""
    return int((report.get("confirmation") or {}).get("let_through") or 0)


def summary_line(report: Mapping[str, Any]) -> str:
    """One sentence on the labels of the failures and what was let through ("" when none)."""
    section = report.get("confirmation") or {}
    labels = section.get("labels") or {}
    named = [f"{labels[k]} {k}" for k in CONFIRMATIONS if labels.get(k)]
    if not named:
        return ""
    rechecks = int(section.get("rechecks") or 0)
    text = f"Failed requirements: {', '.join(named)}"
    text += f" ({rechecks} re-checks of each failing read)" if rechecks else " (no re-checks)"
    if section.get("tolerate"):
        tolerated = " and ".join(section["tolerate"])
        text += f"; {section.get('let_through', 0)} let through ({tolerated} tolerated)"
    return text + "."
