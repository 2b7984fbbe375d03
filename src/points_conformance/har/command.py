"""`points-conformance validate FILE…`: judge recorded traffic (HAR 1.2) with the suite's checks.

Every exchange of the files that matches an operation of the OpenAPI description goes through
the checks a run applies to each answer, complete page walks through the walk rules and pairs
(balances and ledgers around a write, a repeated reversal) through the rules across
exchanges; the
report is the run's (conformance.json, .html, summary.md, junit.xml) in `--report-dir`.
The stance, the target file (org, timezone), credentials to scrub and the report folder come
through `Settings`, with the run's own flags. `conclude` (the report and the printed summary)
is also where `points-conformance proxy` ends.

Exit statuses: 0 no finding; 1 a finding; 2 a usage problem or a file that is not a readable
HAR (one line, no report); 3 nothing to judge (no exchange matched an operation).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from points_conformance.checks.context import context_for
from points_conformance.har.judging import SPEAKS_FOR, Judge, traffic_requirements
from points_conformance.har.matching import Matcher, Unmatched
from points_conformance.har.reading import Credentials, HarError, Recorded, read_har
from points_conformance.model import Exchange
from points_conformance.redaction import leak_forms, redact
from points_conformance.report.build import build_report, now
from points_conformance.report.collect import Collector
from points_conformance.report.output import write_all
from points_conformance.settings import OPTIONS, Settings, SettingsError, resolve_settings
from points_conformance.spec import SpecError, load_spec

NOTHING_TO_JUDGE = 3
# The run's options that mean something to a validation: stance, target file, secrets, folder.
_OPTIONS = ("strict", "target", "auth", "bearer", "report_dir")
MAX_SHOWN = 10
MAX_REASONS = 50


class ReportNotWritten(Exception):
    """The report folder cannot be written; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise SettingsError(f"validate: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="points-conformance validate",
        description="Judge recorded traffic (HAR 1.2 files) with the conformance checks.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="HAR files to judge")
    helps = {
        "strict": (None, "enforce the strict readings of specs/discrepancies.yaml"),
        "target": (
            "FILE",
            "target file (TOML): org, timezone and connected orgs of the recorded server",
        ),
        "auth": ("USER:PASSWORD", "Basic credentials of the recording (scrubbed from reports)"),
        "bearer": ("TOKEN", "bearer token of the recording (scrubbed from reports)"),
        "report_dir": ("DIR", "where the reports are written (default: reports)"),
    }
    for name in _OPTIONS:
        flag, variable = OPTIONS[name]
        metavar, text = helps[name]
        text = f"{text} [env {variable}]"
        if metavar is None:
            parser.add_argument(flag, dest=name, action="store_true", default=None, help=text)
        else:
            parser.add_argument(flag, dest=name, metavar=metavar, default=None, help=text)
    return parser


@dataclass
class Tally:
    """What a validation read: exchanges judged, entries left aside and why, unknown paths."""

    entries: int = 0
    judged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    unmatched: Unmatched = field(default_factory=Unmatched)

    def skip(self, reason: str) -> None:
        # Reasons may name a side file each; past a bound they are counted together.
        if reason in self.skipped or len(self.skipped) < MAX_REASONS:
            self.skipped[reason] += 1
        else:
            self.skipped["(other reasons)"] += 1

    def section(self, files: Sequence[str], judge: Judge) -> dict[str, Any]:
        return {
            "recorded": {
                "files": list(files),
                "entries": self.entries,
                "judged": self.judged,
                "walks_judged": judge.walks_judged,
                "walks_incomplete": judge.walks.dropped,
                "pairs_judged": judge.pairs_judged,
                "pairs_incomplete": judge.pairs.dropped,
                "not_judged": [
                    {"reason": reason, "count": n} for reason, n in self.skipped.most_common()
                ],
                "unmatched": self.unmatched.listing(),
                "judged_requirements": sorted(traffic_requirements()),
            }
        }


def _judge_file(path: Path, judge: Judge, tally: Tally, credentials: Credentials) -> None:
    matcher = Matcher(load_spec())
    source = path.name
    for item in read_har(path, credentials):
        tally.entries += 1
        if not isinstance(item, Recorded):
            tally.skip(item.reason)
            continue
        operation = matcher.operation(item.request.method, item.request.url)
        if operation is None:
            tally.unmatched.add(item.request.method, item.request.url)
            continue
        tally.judged += 1
        judge.judge(source, Exchange(operation, item.request, item.response))
    judge.file_ended()


def _print_summary(
    out: TextIO,
    command: str,
    tally: Tally,
    judge: Judge,
    report: dict[str, Any],
    secrets: list[str],
) -> None:
    def say(line: str) -> None:
        out.write(redact(line, secrets) + "\n")

    say(
        f"points-conformance {command} ({report['stance']}): {tally.entries} entries, "
        f"{tally.judged} judged, {judge.walks_judged} page walks judged, "
        f"{judge.pairs_judged} pairs judged, "
        f"{tally.unmatched.total} matched no operation, {sum(tally.skipped.values())} not judged"
    )
    for reason, count in tally.skipped.most_common(MAX_SHOWN):
        say(f"  not judged ({count}): {reason}")
    for row in tally.unmatched.listing()[:MAX_SHOWN]:
        say(f"  no operation ({row['count']}): {row['method']} {row['path']}")
    say(SPEAKS_FOR.format(n=len(traffic_requirements())))
    counts = judge.finding_counts
    failed = [rid for rid, r in report["requirements"].items() if r["status"] == "failed"]
    if failed:
        say(f"failed requirements ({len(failed)}):")
        for rid in failed:
            say(f"  {rid}  ({counts.get(rid, 0)} finding(s))")


@dataclass(frozen=True)
class Judged:
    """What judged traffic came from, as the report names it: the command and its sources."""

    command: str
    # "recorded traffic", "proxied traffic": what the verdict line speaks of.
    subject: str
    sources: list[str]
    target: str
    started: datetime


def conclude(
    judged: Judged,
    judge: Judge,
    tally: Tally,
    settings: Settings,
    credentials: Credentials,
    out: TextIO,
) -> tuple[int, dict[str, Any]]:
    """Write the report of judged traffic and print its summary; the exit status and report.

    `validate` and `proxy` both end here, so recorded and live traffic are reported alike.
    """
    collector = Collector()
    for phase in judge.phases():
        collector.add(phase)
    secrets = sorted({*settings.secrets(), *leak_forms(credentials.values)}, key=len, reverse=True)
    nothing = tally.judged == 0
    status = NOTHING_TO_JUDGE if nothing else (1 if judge.finding_counts else 0)
    report = build_report(
        collector,
        settings,
        started=judged.started,
        finished=now(),
        exit_status=status,
        tools={},
        target=judged.target,
        extra_secrets=credentials.values,
        sections=tally.section(judged.sources, judge),
    )
    try:
        paths = write_all(report, settings.report_dir)
    except OSError as exc:
        raise ReportNotWritten(f"report not written: {exc.strerror or exc}") from None
    _print_summary(out, judged.command, tally, judge, report, secrets)
    if nothing:
        out.write(
            f"nothing to judge: no exchange of the {judged.subject} matched an operation of the API\n"
        )
    else:
        verdict = "does NOT conform" if status else "conforms"
        out.write(f"verdict: the {judged.subject} {verdict}\n")
    out.write(f"report: {paths['html']}\n")
    return status, report


def validate(
    files: Sequence[str], settings: Settings, out: TextIO
) -> tuple[int, dict[str, Any] | None]:
    """Judge `files`; the exit status and the report written (None when none was)."""
    judge = Judge(context_for(settings))
    tally = Tally()
    credentials = Credentials()
    started = now()
    for name in files:
        _judge_file(Path(name), judge, tally, credentials)
    names = [Path(f).name for f in files]
    judged = Judged(
        "validate", "recorded traffic", names, "recorded traffic: " + ", ".join(names), started
    )
    return conclude(judged, judge, tally, settings, credentials, out)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        known = _parser().parse_args(args)
        settings = resolve_settings({name: getattr(known, name) for name in _OPTIONS})
        status, _ = validate(known.files, settings, stream)
    except (SettingsError, HarError, SpecError, ReportNotWritten) as exc:
        print(f"points-conformance: {exc}", file=sys.stderr)
        return 2
    return status
