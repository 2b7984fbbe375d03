"""What the selftest prints: progress, the tables, the summaries, and --json."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from points_conformance.selftest.plan import (
    CAUGHT,
    DISTINGUISHED,
    ERROR,
    FALSE_ALARM,
    MISSED,
    NOT_DISTINGUISHED,
    PASSED,
    STRICT_ONLY,
    UNRELATED,
    Outcome,
)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def progress_line(out: TextIO) -> Callable[[Outcome, int, int], None]:
    width = 0

    def show(outcome: Outcome, done: int, total: int) -> None:
        nonlocal width
        width = max(width, len(str(total)))
        if outcome.verdict == ERROR:
            what = f"error: {outcome.error}"
        elif outcome.reading is not None:
            what = _reading_progress(outcome)
        elif outcome.fault is not None and outcome.discrepancy is not None:
            what = _strict_only_cell(outcome)
        elif outcome.fault is None:
            what = (
                f"{len(outcome.failed)} false alarm(s): {', '.join(outcome.failed)}"
                if outcome.failed
                else "no false alarm"
            )
        elif outcome.verdict == MISSED:
            what = "MISSED"
        else:
            shown = ", ".join(outcome.failed[:4]) + (" …" if len(outcome.failed) > 4 else "")
            what = f"{outcome.verdict} by {shown}"
        out.write(
            f"[{done:>{width}}/{total}] {outcome.label}: {what} ({outcome.wall:.0f} s, "
            f"{outcome.tests} tests)\n"
        )
        out.flush()

    return show


def _reading_progress(outcome: Outcome) -> str:
    if not outcome.strict:
        if outcome.failed:
            return f"FALSE ALARM in the default stance: {', '.join(outcome.failed)}"
        return "passes in the default stance"
    if outcome.related:
        return f"strict: distinguished by {', '.join(outcome.related)}"
    shown = f" (failed only {', '.join(outcome.failed)})" if outcome.failed else ""
    return f"strict: not distinguished{shown}"


def print_table(outcomes: Sequence[Outcome], out: TextIO) -> None:
    rows = [o for o in outcomes if o.fault is not None]
    if not rows:
        return
    headers = ("fault", "requirement", "result", "claimed", "first failure", "run", "caught by")
    table = [
        (
            o.label,
            o.requirement or "",
            o.verdict,
            "-" if o.discrepancy else "yes" if o.claimed_caught else "no",
            _seconds(o.first_failure),
            f"{o.wall:.0f} s",
            _caught_by(o),
        )
        for o in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers[:-1])]
    out.write("\n" + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)))
    out.write("  " + headers[-1] + "\n")
    for row in table:
        cells = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
        out.write(f"{cells}  {row[-1]}\n")


def _strict_only_cell(outcome: Outcome) -> str:
    entry = outcome.discrepancy
    if outcome.verdict == STRICT_ONLY:
        return f"strict only ({entry}): the default run fails nothing, as it must"
    if outcome.verdict == FALSE_ALARM:
        return f"FALSE ALARM: strict only ({entry}), yet the default run failed " + ", ".join(
            outcome.failed
        )
    return outcome.error


def _caught_by(outcome: Outcome) -> str:
    if outcome.verdict == ERROR:
        return outcome.error
    if outcome.discrepancy is not None:
        return _strict_only_cell(outcome)
    return ", ".join(outcome.failed)


def summary(outcomes: Sequence[Outcome], stance: str = "strict") -> dict[str, Any]:
    """The facts of a run of the faults. In the default stance the faults of a strict reading
    only (their register entry in `discrepancy`) are not counted as faults: any requirement
    their run failed is a false alarm."""
    held = [o for o in outcomes if o.fault is not None and o.discrepancy is not None]
    faults = [o for o in outcomes if o.fault is not None and o.discrepancy is None]
    baselines = [o for o in outcomes if o.fault is None]
    caught = [o for o in faults if o.verdict == CAUGHT]
    alarms = {("strict" if o.strict else "lenient"): o.failed for o in baselines}
    alarms |= {o.label: o.failed for o in held if o.failed}
    return {
        "stance": stance,
        "strict_only": {o.label: o.discrepancy for o in held},
        "faults": len(faults),
        "caught": len(caught),
        "caught_by_claimed_requirement": sum(1 for o in faults if o.claimed_caught),
        "missed": [o.label for o in faults if o.verdict == MISSED],
        "unrelated": [o.label for o in faults if o.verdict == UNRELATED],
        "errors": [o.label for o in outcomes if o.verdict == ERROR],
        "mutation_score": round(len(caught) / len(faults), 4) if faults else None,
        "false_alarms": sum(len(ids) for ids in alarms.values()),
        "false_alarm_requirements": alarms,
    }


def print_summary(facts: Mapping[str, Any], out: TextIO) -> None:
    total = facts["faults"]
    if total:
        score = facts["mutation_score"] or 0.0
        out.write(
            f"\nmutation score: {facts['caught']}/{total} caught ({score:.0%}); "
            f"{facts['caught_by_claimed_requirement']}/{total} by the requirement they break\n"
        )
        for key, label in (
            ("missed", "missed"),
            ("unrelated", "caught only by unrelated requirements"),
        ):
            if facts[key]:
                out.write(f"{label}: {', '.join(facts[key])}\n")
    held = facts["strict_only"]
    if held:
        out.write(
            f"{len(held)} faults break only a register entry's strict reading; the "
            f"{facts['stance']} run must fail nothing against them: "
            + ", ".join(f"{name} ({entry})" for name, entry in held.items())
            + "\n"
        )
    alarms = facts["false_alarm_requirements"]
    where = "the faultless server" + (" and the strict-only faults" if held else "")
    out.write(f"false alarms on {where}: {facts['false_alarms']}")
    listed = [f"{mode}: {', '.join(ids)}" for mode, ids in alarms.items() if ids]
    out.write(f" ({'; '.join(listed)})\n" if listed else "\n")
    if facts["errors"]:
        out.write(f"runs that did not complete: {', '.join(facts['errors'])}\n")


def _reading_rows(outcomes: Sequence[Outcome]) -> dict[str, dict[bool, Outcome]]:
    rows: dict[str, dict[bool, Outcome]] = {}
    for o in outcomes:
        if o.reading is not None:
            rows.setdefault(o.reading, {})[o.strict] = o
    return rows


def _stance_cell(outcome: Outcome | None) -> str:
    if outcome is None:
        return "-"
    if outcome.verdict == NOT_DISTINGUISHED:
        return "NOT DISTINGUISHED"
    if outcome.verdict == FALSE_ALARM:
        return "FALSE ALARM"
    return outcome.verdict


def print_reading_table(outcomes: Sequence[Outcome], out: TextIO) -> None:
    headers = ("reading", "entry", "default stance", "strict", "run", "requirements")
    table: list[tuple[str, ...]] = []
    for name, runs in _reading_rows(outcomes).items():
        default, strict = runs.get(False), runs.get(True)
        notes: list[str] = []
        for o in (default, strict):
            if o is None:
                continue
            stance = "strict" if o.strict else "default"
            if o.verdict == ERROR:
                notes.append(f"{stance}: {o.error}")
            elif o.strict and o.related:
                others = [rid for rid in o.failed if rid not in o.related]
                notes.append(
                    f"strict: {', '.join(o.related)}"
                    + (f" (also {', '.join(others)})" if others else "")
                )
            elif o.failed:
                notes.append(f"{stance}: {', '.join(o.failed)}")
        any_run = default or strict
        wall = sum(o.wall for o in (default, strict) if o is not None)
        table.append(
            (
                name,
                (any_run.discrepancy or "") if any_run is not None else "",
                _stance_cell(default),
                _stance_cell(strict) if strict is not None else "not enforced",
                f"{wall:.0f} s",
                "; ".join(notes),
            )
        )
    if not table:
        return
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers[:-1])]
    out.write("\n" + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)))
    out.write("  " + headers[-1] + "\n")
    for row in table:
        cells = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
        out.write(f"{cells}  {row[-1]}\n".rstrip() + "\n")


def reading_summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    rows = _reading_rows(outcomes)
    defaults = [runs[False] for runs in rows.values() if False in runs]
    stricts = [runs[True] for runs in rows.values() if True in runs]
    return {
        "readings": len(rows),
        "passed": [o.reading for o in defaults if o.verdict == PASSED],
        "false_alarms": sum(len(o.failed) for o in defaults if o.verdict == FALSE_ALARM),
        "false_alarm_requirements": {
            o.reading: o.failed for o in defaults if o.verdict == FALSE_ALARM
        },
        "distinguished": {o.reading: o.related for o in stricts if o.verdict == DISTINGUISHED},
        "not_distinguished": [o.reading for o in stricts if o.verdict == NOT_DISTINGUISHED],
        "strict_not_enforced": [name for name, runs in rows.items() if True not in runs],
        "errors": [o.label for o in outcomes if o.verdict == ERROR],
    }


def print_reading_summary(facts: Mapping[str, Any], out: TextIO) -> None:
    total = facts["readings"]
    out.write(
        f"\nreadings: {len(facts['passed'])}/{total} pass in the default stance; "
        f"{len(facts['distinguished'])} told apart by --conformance-strict\n"
    )
    alarms = facts["false_alarm_requirements"]
    out.write(f"false alarms in the default stance: {facts['false_alarms']}")
    listed = [f"{name}: {', '.join(ids)}" for name, ids in alarms.items()]
    out.write(f" ({'; '.join(listed)})\n" if listed else "\n")
    for name in facts["not_distinguished"]:
        out.write(
            f"warning: --conformance-strict did not distinguish {name} (no failed requirement of its "
            "entry; the seed may hold no data that shows it)\n"
        )
    if facts["errors"]:
        out.write(f"runs that did not complete: {', '.join(facts['errors'])}\n")


# -- the command ---------------------------------------------------------------------------------


def write_json(
    path: str | None, keep_reports: bool, outcomes: list[Outcome], facts: Mapping[str, Any]
) -> None:
    """--json: the summary and every run (report directories only when they are kept)."""
    if not path:
        return
    runs = [asdict(o) for o in outcomes]
    if not keep_reports:
        for run in runs:
            run["report_dir"] = ""
    document = {"summary": facts, "runs": runs}
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
