"""The JSON examples of the documentation pages, extracted into specs/examples/ with provenance.

The pages in specs/docs/ are the source: `extract_examples` reads every fenced ```json block
(and the two unfenced example responses of the crossMemberLedger page) and says which operation,
direction and status each one belongs to. `python -m points_conformance.examples --write`
regenerates specs/examples/ and its index.yaml; `--check` exits 1 when they differ from the pages.

Examples that contradict their own page's tables are listed in `STRICT_DEVIATIONS` (or, when
only their numbers disagree, in `ARITHMETIC_DEVIATIONS`) with the register entry
(specs/discrepancies.yaml) that explains them, so that tests can expect them to fail the strict
reading instead of silently bending a schema.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from points_conformance.docs import operations_of
from points_conformance.locations import DOCS_SUBDIR, EXAMPLES_SUBDIR
from points_conformance.settings import specs_dir

PAGES = (
    "000_0106f8c1297b8228.txt",
    "001_b96dfa32a18b4525.txt",
    "002_85e51d55da94fd56.txt",
    "003_b5780386a3db93a6.txt",
)

# The crossMemberLedger page has no markdown: its examples follow this line, unfenced.
UNFENCED_MARKER = "Example response"


@dataclass(frozen=True)
class Deviation:
    """Why an example contradicts its page, and the register entry that records it."""

    discrepancy: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"discrepancy": self.discrepancy, "reason": self.reason}


# Keyed by example file name. `strict` deviations fail the strict schema (tests expect that);
# `arithmetic` deviations are schema-valid but break a documented relation between numbers.
_USER_ID_ZERO = Deviation(
    "D-015",
    "entries of a customer's ledger carry customerDetails {\"userId\": 0}, while 001's table "
    "says it is null when not a user group",
)
STRICT_DEVIATIONS: dict[str, Deviation] = {
    "000-01-getCustomerLedgerInfoConnectedOrgs-response-self.json": _USER_ID_ZERO,
    "000-02-getCustomerLedgerInfoConnectedOrgs-response-other.json": _USER_ID_ZERO,
    "001-03-getCustomerLedgerInfo-response-with-alternate-currency.json": _USER_ID_ZERO,
    "001-05-getCustomerLedgerInfo-response-with-single-tillid-filter.json": _USER_ID_ZERO,
    "001-06-getCustomerLedgerInfo-response-with-mutiple-tillids-filter.json": _USER_ID_ZERO,
    "001-07-getCustomerLedgerInfo-response-with-storecode-filter.json": _USER_ID_ZERO,
    "001-08-getCustomerLedgerInfo-response-with-storeid-filter.json": _USER_ID_ZERO,
    "003-03-isTransferrableUserGroup-request.json": Deviation(
        "D-022",
        "pointsTobeTransferred is 10.5, while the table of this operation types it int",
    ),
}
ARITHMETIC_DEVIATIONS: dict[str, Deviation] = {
    "001-08-getCustomerLedgerInfo-response-with-storeid-filter.json": Deviation(
        "D-045",
        "netPointsOnEvent 46.688, -311.034 and 311.034 on rows shown as 46.69, 311.03 and "
        "311.03: equal only after display rounding",
    ),
    "003-04-isTransferrableUserGroup-response.json": Deviation(
        "D-022",
        "pointsTobeTransferred 10.0 answers a request (003-03) for 10.5",
    ),
    "003-06-reversePoints-response.json": Deviation(
        "D-019",
        "pointsToBeReversed and pointsReversed are 20.0 for a request (003-05) of 10",
    ),
    "003-08-transferPoints-response.json": Deviation(
        "D-023",
        "pointsTransferred 15.0 for a request (003-07) of 123",
    ),
    "003-10-transferPointsUserGroup-response.json": Deviation(
        "D-022",
        "pointsTransferred 10.0 for a request (003-09) of 10.5",
    ),
    "003-12-getCustomerLedgerBalance-response.json": Deviation(
        "D-046",
        "page 0 of size 10 out of 17 entries holds 6 closing balances, not 10",
    ),
    "003-13-getCustomerLedgerInfo-response.json": Deviation(
        "D-011",
        "netPointsOnEvent 437.080 on event 30405652 whose credit rows are 300.00 and 137 "
        "(437.00); also 2 entries on page 0 of size 10 out of 17 (D-046)",
    ),
}


@dataclass(frozen=True)
class Example:
    """One JSON example as the page gives it.

    `body` is the parsed value (floats for non-integers); `text` is its canonical rendering,
    which keeps every number literal as printed on the page (`"1250.000"` stays `1250.000`).
    """

    file: str
    page: str
    line: int
    title: str
    heading: str
    label: str
    kind: str  # "request" or "response"
    operation_id: str
    status: int | None
    body: Any
    text: str
    pair: str | None = None  # the request/response example documented with this one

    @property
    def expected_deviation(self) -> Deviation | None:
        return STRICT_DEVIATIONS.get(self.file)

    @property
    def arithmetic_deviation(self) -> Deviation | None:
        return ARITHMETIC_DEVIATIONS.get(self.file)

    def index_entry(self) -> dict[str, Any]:
        strict, arith = self.expected_deviation, self.arithmetic_deviation
        return {
            "file": self.file,
            "page": self.page,
            "line": self.line,
            "title": self.title,
            "heading": self.heading,
            "label": self.label,
            "kind": self.kind,
            "operationId": self.operation_id,
            "status": self.status,
            "pair": self.pair,
            "expected_deviation": strict.to_dict() if strict else None,
            "arithmetic_deviation": arith.to_dict() if arith else None,
        }


@dataclass(frozen=True)
class IndexEntry:
    """One row of specs/examples/index.yaml."""

    file: str
    page: str
    line: int
    title: str
    heading: str
    label: str
    kind: str
    operation_id: str
    status: int | None
    pair: str | None
    expected_deviation: Deviation | None
    arithmetic_deviation: Deviation | None
    directory: Path

    @property
    def path(self) -> Path:
        return self.directory / self.file

    def load(self) -> Any:
        """The example's JSON value, non-integers as floats."""
        return json.loads(self.path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Extraction


def _front_matter_title(lines: list[str]) -> str:
    if lines and lines[0].strip() == "---":
        for line in lines[1:]:
            if line.strip() == "---":
                break
            match = re.match(r"title:\s*(.*)$", line)
            if match:
                return match.group(1).strip().strip("'\"").strip()
    for line in lines:
        if line.strip():
            return line.strip().lstrip("#").strip()
    return ""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _label_slug(raw: _Raw) -> str:
    """The part of a file name that tells same-operation examples apart; empty when generic."""
    slug = _slug(raw.label)
    if slug in ("sample-post-request", "sample-response", "untitled") or raw.label.startswith(
        UNFENCED_MARKER
    ):
        return ""
    slug = re.sub(r"^response-", "", slug)
    if len(slug) > 40:
        slug = slug[:40].rsplit("-", 1)[0]
    return slug


def render_json(value: Any, indent: int = 0) -> str:
    """JSON text, two-space indented, with Decimal literals written exactly as parsed."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {render_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        rows = [inner + render_json(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(rows) + "\n" + pad + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _parse(text: str, where: str) -> tuple[Any, str]:
    try:
        exact = json.loads(text, parse_float=Decimal)
        body = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{where}: example is not JSON: {exc}") from exc
    return body, render_json(exact) + "\n"


def _match_object(text: str, start: int) -> int:
    """Index just past the JSON object that opens at `start` (strings may hold braces)."""
    depth, in_string, escaped = 0, False, False
    for pos in range(start, len(text)):
        char = text[pos]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return pos + 1
    raise ValueError(f"unbalanced braces in the object starting at offset {start}")


@dataclass
class _Raw:
    page: str
    line: int
    title: str
    heading: str
    label: str
    body: Any
    text: str


def _fenced(page: str, lines: list[str], title: str) -> list[_Raw]:
    found: list[_Raw] = []
    heading, sample = "", ""
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped.startswith("```"):
            info = stripped[3:].strip()
            end = index + 1
            while end < len(lines) and not lines[end].strip().startswith("```"):
                end += 1
            if info.split(" ", 1)[0].lower() == "json":
                fence_label = info[4:].strip()
                body, text = _parse("\n".join(lines[index + 1 : end]), f"{page}:{index + 1}")
                label = fence_label or sample or "untitled"
                found.append(_Raw(page, index + 2, title, heading, label, body, text))
            index = end + 1
            continue
        if re.match(r"#{1,6}\s", line):
            heading, sample = line.lstrip("#").strip(), ""
        elif stripped.startswith("> Sample"):
            sample = stripped[1:].strip()
        index += 1
    return found


def _unfenced(page: str, source: str, title: str) -> list[_Raw]:
    found: list[_Raw] = []
    for match in re.finditer(rf"^{re.escape(UNFENCED_MARKER)}\s*$", source, flags=re.M):
        pos = match.end()
        number = 0
        while True:
            while pos < len(source) and source[pos].isspace():
                pos += 1
            if pos >= len(source) or source[pos] != "{":
                break
            end = _match_object(source, pos)
            line = source.count("\n", 0, pos) + 1
            body, text = _parse(source[pos:end], f"{page}:{line}")
            number += 1
            label = f"{UNFENCED_MARKER} {number}"
            found.append(_Raw(page, line, title, title, label, body, text))
            pos = end
    return found


def _classify(raw: _Raw) -> tuple[str, str, int | None]:
    """(operationId, kind, status) of an example, from its page, heading and label."""
    prefix = raw.page[:3]
    # Pages 000-002 document one operation each; 003 one per `##` section, and its sections
    # about several operations (codes, shared response fields) hold no example.
    operations = operations_of(prefix, raw.heading)
    if len(operations) != 1:
        raise ValueError(f"{raw.page}:{raw.line}: no operation for heading {raw.heading!r}")
    if "request" in raw.label.lower():
        return operations[0], "request", None
    return operations[0], "response", 200


def extract_examples(docs_dir: str | Path | None = None) -> list[Example]:
    """Every JSON example of the pages, in page order, with provenance and file names."""
    directory = Path(docs_dir) if docs_dir is not None else specs_dir() / DOCS_SUBDIR
    raws: list[_Raw] = []
    for page in PAGES:
        source = (directory / page).read_text(encoding="utf-8")
        lines = source.splitlines()
        title = _front_matter_title(lines)
        page_raws = _fenced(page, lines, title)
        if not page_raws:
            page_raws = _unfenced(page, source, title)
        raws.extend(page_raws)

    examples: list[Example] = []
    counters: dict[str, int] = {}
    for raw in raws:
        operation, kind, status = _classify(raw)
        prefix = raw.page[:3]
        counters[prefix] = counters.get(prefix, 0) + 1
        name = "-".join(
            part
            for part in (prefix, f"{counters[prefix]:02d}", operation, kind, _label_slug(raw))
            if part
        )
        examples.append(
            Example(
                file=name + ".json",
                page=raw.page,
                line=raw.line,
                title=raw.title,
                heading=raw.heading,
                label=raw.label,
                kind=kind,
                operation_id=operation,
                status=status,
                body=raw.body,
                text=raw.text,
            )
        )
    return _paired(examples)


def _paired(examples: list[Example]) -> list[Example]:
    """Link each request example to the response documented right after it under one heading."""
    result = list(examples)
    for pos, example in enumerate(examples[:-1]):
        following = examples[pos + 1]
        if (
            example.kind == "request"
            and following.kind == "response"
            and (example.page, example.heading) == (following.page, following.heading)
        ):
            result[pos] = _with_pair(example, following.file)
            result[pos + 1] = _with_pair(following, example.file)
    return result


def _with_pair(example: Example, pair: str) -> Example:
    return Example(**{**example.__dict__, "pair": pair})


# ---------------------------------------------------------------------------------------------
# Files on disk


def examples_dir() -> Path:
    return specs_dir() / EXAMPLES_SUBDIR


def render_index(examples: Sequence[Example]) -> str:
    header = (
        "# Generated by `python -m points_conformance.examples --write` from specs/docs/.\n"
        "# expected_deviation: the example fails the strict schema for the reason given.\n"
        "# arithmetic_deviation: schema-valid, but its numbers break a documented relation.\n"
    )
    body = yaml.safe_dump(
        {"examples": [example.index_entry() for example in examples]},
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return header + body


def expected_files(examples: Sequence[Example]) -> dict[str, str]:
    """File name -> content that specs/examples/ must hold."""
    files = {example.file: example.text for example in examples}
    files["index.yaml"] = render_index(examples)
    return files


def load_index(directory: str | Path | None = None) -> list[IndexEntry]:
    """The rows of specs/examples/index.yaml, in page order."""
    base = Path(directory) if directory is not None else examples_dir()
    data = yaml.safe_load((base / "index.yaml").read_text(encoding="utf-8"))
    entries: list[IndexEntry] = []
    for row in data["examples"]:
        entries.append(
            IndexEntry(
                file=row["file"],
                page=row["page"],
                line=int(row["line"]),
                title=row["title"],
                heading=row["heading"],
                label=row["label"],
                kind=row["kind"],
                operation_id=row["operationId"],
                status=row["status"],
                pair=row.get("pair"),
                expected_deviation=_deviation(row.get("expected_deviation")),
                arithmetic_deviation=_deviation(row.get("arithmetic_deviation")),
                directory=base,
            )
        )
    return entries


def _deviation(value: Any) -> Deviation | None:
    if not value:
        return None
    return Deviation(discrepancy=str(value["discrepancy"]), reason=str(value["reason"]))


def differences(examples: Sequence[Example], directory: Path) -> list[str]:
    """What differs between the generated files and `directory`, one line per file."""
    wanted = expected_files(examples)
    problems: list[str] = []
    for name, content in wanted.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{name}: differs from the pages")
    if directory.exists():
        for path in sorted(directory.glob("*.json")):
            if path.name not in wanted:
                problems.append(f"{path.name}: not an example of the pages")
    return problems


def write(examples: Sequence[Example], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    wanted = expected_files(examples)
    for path in directory.glob("*.json"):
        if path.name not in wanted:
            path.unlink()
    for name, content in wanted.items():
        (directory / name).write_text(content, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m points_conformance.examples",
        description="Extract the JSON examples of specs/docs/ into specs/examples/.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate specs/examples/")
    mode.add_argument("--check", action="store_true", help="exit 1 if specs/examples/ is stale")
    args = parser.parse_args(argv)
    examples = extract_examples()
    target = examples_dir()
    if args.write:
        write(examples, target)
        print(f"wrote {len(examples)} examples and index.yaml to {target}")
        return 0
    problems = differences(examples, target)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
