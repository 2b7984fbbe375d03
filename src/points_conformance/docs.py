"""The documentation pages in `specs/docs/` and every table in them, parsed into rows.

The pages are the only source of truth; the catalogue names the table rows it derives from
("<page>#<heading>#<row key>"), and the harness proves, from the parsed pages, that no row and
no documented code is left without a requirement. Three table styles occur: markdown pipe
tables (with or without outer pipes), one HTML `<Table>` whose first cells carry `*`/`-`
nesting markers, and tables whose cells were glued together when a page was flattened to text
("FieldTypeRequiredDescription" followed by rows like `scopeEnumOptionalScope of …`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from points_conformance.locations import DOCS_SUBDIR
from points_conformance.operations import POINTS_OPERATIONS, TABLE
from points_conformance.settings import specs_dir

# Which operations each page documents. 003 gathers several operations on one page, so its
# tables are attributed by the `##` section they sit in instead.
PAGE_OPERATIONS: dict[str, tuple[str, ...]] = {
    page: tuple(op.id for op in TABLE if op.page == page)
    for page in sorted({op.page for op in TABLE})
}
SECTION_OPERATIONS_003: dict[str, tuple[str, ...]] = {
    "Check if Points Transferrable (Customer)": ("isTransferrable",),
    "Check if Points Transferrable (Group)": ("isTransferrableUserGroup",),
    "Reverse Redeemed Points": ("reversePoints",),
    "Transfer Points (Customer to Customer)": ("transferPoints",),
    "Transfer Points (Group)": ("transferPointsUserGroup",),
    "Get Points Transfer Details": ("getPointsTransfers",),
    "Response Codes": POINTS_OPERATIONS,
    "Get Customer Ledger Balance": ("getCustomerLedgerBalance",),
    # 001's operation is documented on 003 too.
    "Get Customer Ledger Information": ("getCustomerLedgerInfo",),
    # The response table follows the two ledger sections and describes both responses
    # (it lists ledgerClosingBalance and closingBalance next to ledgerEntries fields).
    "Response Parameters": ("getCustomerLedgerInfo", "getCustomerLedgerBalance"),
}

# Type words of the glued tables, longest first so that "String (CSV)" wins over "String".
GLUED_TYPES = (
    "String (CSV)",
    "DateTime",
    "Boolean",
    "Integer",
    "Object",
    "String",
    "Number",
    "Double",
    "Array",
    "Float",
    "Long",
    "Enum",
    "Date",
)
GLUED_REQUIRED = ("Optional", "Required", "Conditional", "Yes", "No")
GLUED_CODE_KINDS = ("Error", "Warning", "Success", "Info")
GLUED_HEADER_WORDS = frozenset({"Field", "Type", "Required", "Description", "Code"})

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SEPARATOR_CELL = re.compile(r"^:?-{1,}:?$")
_IDENT = re.compile(r"[a-z][A-Za-z0-9]*")


class DocsError(Exception):
    """A page is missing or a page name does not resolve to exactly one page."""


@dataclass(frozen=True)
class Table:
    """One table of one page.

    `heading` is the nearest preceding heading (or title line on pages without markdown
    headings); when that heading text occurs more than once on the page (003 has one
    "Request Body Parameters" per operation) it is qualified by its parent section:
    "Transfer Points (Group) > Request Body Parameters". `kind` is one of `parameters`,
    `response`, `codes`, `behaviour` (a table of parameter combinations) or `info` (resource
    information such as HTTP method and rate limit). `depths` and `markers` run parallel to
    `rows`: the nesting depth shown by `*`/`-`/`&nbsp;`/`.` markers, and the mandatory marker
    (`*`, or `**` on 003's conditionally required rows; empty when none).
    """

    page: str
    heading: str
    columns: list[str]
    rows: list[dict[str, str]]
    kind: str
    operations: tuple[str, ...]
    line: int
    style: str
    depths: list[int] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)

    def row_keys(self) -> list[str]:
        """First-column values, normalised: markers, backticks, bold and leading dots removed."""
        first = self.columns[0]
        return [normalise_key(row[first]) for row in self.rows]

    def refs(self, index: int) -> tuple[str, str]:
        """The two names a `covers` entry may use for row `index` (0-based).

        "<page>#<heading>#<key>" names every row with that key (001 lists 11026 twice, once
        per cause); "<page>#<heading>#@<n>" names the n-th row (1-based) and is the only way
        to name rows whose first cell repeats, such as the `true`/`false` combinations.
        """
        prefix = f"{self.page}#{self.heading}#"
        return prefix + self.row_keys()[index], f"{prefix}@{index + 1}"


# --------------------------------------------------------------------------------------------
# locating and loading the pages


def operations_of(prefix: str, section: str) -> tuple[str, ...]:
    """The operations a table documents, from its page's number and its `##` section."""
    if prefix == "003":
        return SECTION_OPERATIONS_003.get(section, ())
    return PAGE_OPERATIONS.get(prefix, ())


def docs_dir() -> Path:
    return specs_dir() / DOCS_SUBDIR


@cache
def _load_pages(directory: str) -> dict[str, str]:
    path = Path(directory)
    if not path.is_dir():
        raise DocsError(f"documentation directory not found: {path}")
    pages = {p.name: p.read_text(encoding="utf-8") for p in sorted(path.glob("*.txt"))}
    if not pages:
        raise DocsError(f"no documentation pages (*.txt) in {path}")
    return pages


def load_pages() -> dict[str, str]:
    """Every page, file name -> text."""
    return dict(_load_pages(str(docs_dir())))


def resolve_page(page: str) -> str:
    """The file name of a page given its file name or its three-digit prefix ("001")."""
    names = list(load_pages())
    if page in names:
        return page
    matches = [n for n in names if n.split("_", 1)[0] == page]
    if len(matches) != 1:
        raise DocsError(f"unknown page {page!r}; pages: {', '.join(names)}")
    return matches[0]


# --------------------------------------------------------------------------------------------
# cell and key normalisation


def clean_cell(text: str) -> str:
    """A cell's text with markdown escapes, `&nbsp;` indents and runs of whitespace removed."""
    text = text.replace("&nbsp;", " ").replace("\t", " ")
    text = re.sub(r"\\([*_|`\\])", r"\1", text)
    text = html.unescape(text)
    return re.sub(r"\s+", " ", text).strip()


def _split_marker(cell: str) -> tuple[str, int, str]:
    """(bare key, depth, mandatory marker) of a first cell."""
    raw = cell.replace("\t", " ")
    depth = 1 if raw.lstrip(" ").startswith("&nbsp;") else 0
    text = clean_cell(raw)
    nest = re.match(r"^(\*|-+|\.+)\s*(?=\S)", text)
    if nest and not text.startswith("**"):
        marker = nest.group(1)
        depth = 1 if marker == "*" else len(marker)
        text = text[nest.end() :]
    text = text.replace("`", "")
    bold = re.fullmatch(r"\*\*(.+)\*\*", text)
    if bold:
        text = bold.group(1)
    stars = re.search(r"\*+$", text)
    mandatory = stars.group(0) if stars else ""
    text = text[: stars.start()] if stars else text
    text = re.sub(r"^_\((.*)\)_$", r"\1", text)
    text = text.strip().strip('"').strip()
    return text, depth, mandatory


def normalise_key(cell: str) -> str:
    """A first cell reduced to its name: `**identifierName***` -> identifierName."""
    return _split_marker(cell)[0]


def _column_name(text: str) -> str:
    name = clean_cell(text).replace("`", "")
    # "Parameter _(Parameters marked with * are mandatory)_" names the column "Parameter".
    name = re.split(r"\s+_?\(", name, maxsplit=1)[0]
    return name.strip("*_ ").strip()


# --------------------------------------------------------------------------------------------
# parsing


@dataclass
class _Heading:
    level: int
    text: str
    line: int


def _split_pipe_row(line: str) -> list[str]:
    text = line.strip()
    cells = re.split(r"(?<!\\)\|", text)
    if text.startswith("|"):
        cells = cells[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        cells = cells[:-1]
    return [c.strip() for c in cells]


def _is_separator(line: str) -> bool:
    if "-" not in line or "|" not in line:
        return False
    cells = _split_pipe_row(line)
    return bool(cells) and all(_SEPARATOR_CELL.match(c.strip()) for c in cells if c.strip())


def _heading_lines(lines: list[str]) -> list[_Heading]:
    """Markdown headings outside code fences and front matter; the front-matter title as level 0."""
    found: list[_Heading] = []
    in_fence = False
    start = 0
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                start = i + 1
                break
            title = re.match(r"^title:\s*['\"]?(.*?)['\"]?\s*$", lines[i])
            if title:
                found.append(_Heading(0, title.group(1).strip(), i + 1))
    for i in range(start, len(lines)):
        line = lines[i]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        match = _HEADING.match(line)
        if match:
            found.append(_Heading(len(match.group(1)), clean_cell(match.group(2)), i + 1))
    return found


def _fence_mask(lines: list[str]) -> list[bool]:
    mask: list[bool] = []
    in_fence = False
    for line in lines:
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            mask.append(True)
        else:
            mask.append(in_fence)
    return mask


def _glued_field(line: str, with_required: bool) -> list[str] | None:
    """Split `scopeEnumOptionalScope of …` into its cells, or None when the line is not a row.

    Field names are camelCase and may contain a type word ("pageNumber", "createdDateISO"), and
    a description may start with one ("Number of entries"), so every split is tried; a split is
    valid when the description starts like a sentence (not with a lower-case word, not with a
    type word glued to the next word), and the longest valid field name wins.
    """
    dots = re.match(r"^\.*", line)
    lead = dots.group(0) if dots else ""
    rest = line[len(lead) :]
    best: list[str] | None = None
    for end in range(1, len(rest)):
        name = rest[:end]
        if not _IDENT.fullmatch(name):
            break
        tail = rest[end:]
        for type_word in GLUED_TYPES:
            if not tail.startswith(type_word):
                continue
            after = tail[len(type_word) :]
            required = ""
            if with_required:
                req = next((r for r in GLUED_REQUIRED if after.startswith(r)), None)
                if req is None:
                    continue
                required, after = req, after[len(req) :]
            description = after.strip()
            if not description or description[0].islower():
                continue
            glued = any(re.match(re.escape(t) + r"[A-Z(]", description) for t in GLUED_TYPES) or (
                with_required and any(description.startswith(r) for r in GLUED_REQUIRED)
            )
            if glued:
                continue
            cells = [lead + name, type_word]
            if with_required:
                cells.append(required)
            best = [*cells, description]
            break
    return best


def _glued_code(line: str) -> list[str] | None:
    kinds = "|".join(GLUED_CODE_KINDS)
    match = re.match(rf"^(\d+)({kinds})(\S.*)$", line.strip())
    return [match.group(1), match.group(2), match.group(3).strip()] if match else None


def _glued_header(line: str) -> list[str] | None:
    text = line.strip()
    if not re.fullmatch(r"(?:[A-Z][a-z]+){2,}", text):
        return None
    words = re.findall(r"[A-Z][a-z]+", text)
    if set(words) <= GLUED_HEADER_WORDS and "Description" in words:
        return words
    return None


def _kind(heading: str, columns: list[str]) -> str:
    low = heading.lower()
    first = columns[0].lower() if columns else ""
    if first in ("code", "error", "error code") or "codes" in low:
        return "codes"
    if low.startswith("behaviour") or low.startswith("behavior"):
        return "behaviour"
    unnamed = all(re.fullmatch(r"col\d+", c) for c in columns)
    if unnamed or any(w in low for w in ("api specification", "resource information")):
        return "info"
    if "response" in low:
        return "response"
    return "parameters"


class _PageParser:
    def __init__(self, page: str, text: str) -> None:
        self.page = page
        self.prefix = page.split("_", 1)[0]
        self.lines = text.splitlines()
        self.headings = _heading_lines(self.lines)
        self.fenced = _fence_mask(self.lines)
        self.tables: list[Table] = []

    def _heading_for(self, line: int, title: str | None = None) -> tuple[str, str]:
        """(qualified heading, top-level `##` section or page title) for a table at `line`."""
        before = [h for h in self.headings if h.line < line]
        if title is not None:
            return title, title
        if not before:
            return self.lines[0].strip(), self.lines[0].strip()
        nearest = before[-1]
        text = nearest.text
        same = [h for h in self.headings if h.text == nearest.text and h.level == nearest.level]
        if len(same) > 1:
            parent = next((h for h in reversed(before) if h.level < nearest.level), None)
            if parent is not None:
                text = f"{parent.text} > {nearest.text}"
        section = next((h.text for h in reversed(before) if h.level == 2), nearest.text)
        return text, section

    def _add(
        self,
        start: int,
        columns: list[str],
        raw_rows: list[list[str]],
        style: str,
        title: str | None = None,
        depths: list[int] | None = None,
    ) -> None:
        names = [_column_name(c) or f"col{i + 1}" for i, c in enumerate(columns)]
        heading, section = self._heading_for(start, title)
        rows: list[dict[str, str]] = []
        found_depths: list[int] = []
        markers: list[str] = []
        for i, cells in enumerate(raw_rows):
            padded = [*cells, *([""] * (len(names) - len(cells)))][: len(names)]
            _, depth, mandatory = _split_marker(padded[0])
            if depths is not None:
                depth = depths[i]
            row = {n: clean_cell(c) for n, c in zip(names, padded, strict=True)}
            if row.get("Required") == "Yes":
                mandatory = "*"
            rows.append(row)
            found_depths.append(depth)
            markers.append(mandatory)
        table = Table(
            page=self.page,
            heading=heading,
            columns=names,
            rows=rows,
            kind=_kind(heading, names),
            operations=operations_of(self.prefix, section),
            line=start,
            style=style,
            depths=found_depths,
            markers=markers,
        )
        self.tables.append(table)

    def parse(self) -> list[Table]:
        self._pipe_tables()
        self._html_tables()
        self._glued_tables()
        return sorted(self.tables, key=lambda t: t.line)

    def _pipe_tables(self) -> None:
        lines = self.lines
        i = 0
        while i < len(lines) - 1:
            header, sep = lines[i], lines[i + 1]
            if self.fenced[i] or "|" not in header or not _is_separator(sep):
                i += 1
                continue
            columns = _split_pipe_row(header)
            rows: list[list[str]] = []
            j = i + 2
            while j < len(lines) and "|" in lines[j] and lines[j].strip() and not self.fenced[j]:
                rows.append(_split_pipe_row(lines[j]))
                j += 1
            self._add(i + 1, columns, rows, "pipe")
            i = j

    def _html_tables(self) -> None:
        text = "\n".join(self.lines)
        for match in re.finditer(r"<Table\b[^>]*>(.*?)</Table>", text, re.S | re.I):
            start = text.count("\n", 0, match.start()) + 1
            body = match.group(1)
            header: list[str] = []
            rows: list[list[str]] = []
            for tr in re.findall(r"<tr\b[^>]*>(.*?)</tr>", body, re.S | re.I):
                cells = re.findall(r"<(t[dh])\b[^>]*>(.*?)</t[dh]>", tr, re.S | re.I)
                values = [re.sub(r"\s+", " ", c).strip() for _, c in cells]
                if cells and all(tag.lower() == "th" for tag, _ in cells):
                    header = values
                else:
                    rows.append(values)
            if header:
                self._add(start, header, rows, "html")

    def _glued_tables(self) -> None:
        lines = self.lines
        for i, line in enumerate(lines):
            if self.fenced[i]:
                continue
            header = _glued_header(line)
            if header is None:
                continue
            title = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
            rows: list[list[str]] = []
            depths: list[int] = []
            for follow in lines[i + 1 :]:
                if header[0] == "Code":
                    cells = _glued_code(follow)
                else:
                    cells = _glued_field(follow.strip(), "Required" in header)
                if cells is None:
                    break
                depths.append(len(cells[0]) - len(cells[0].lstrip(".")))
                rows.append(cells)
            if rows:
                self._add(i + 1, header, rows, "glued", title=title, depths=depths)


@cache
def _parse(page: str, text: str) -> tuple[Table, ...]:
    return tuple(_PageParser(page, text).parse())


def tables(page: str) -> list[Table]:
    """Every table of a page (file name or prefix), in page order."""
    name = resolve_page(page)
    return list(_parse(name, load_pages()[name]))


def all_tables() -> list[Table]:
    return [t for name in load_pages() for t in tables(name)]


def code_kind(table: Table, row: dict[str, str]) -> str:
    """error, warning or success for one row of a code table."""
    kind = row.get("Type", "").lower()
    if kind in ("error", "warning", "success"):
        return kind
    low = table.heading.lower()
    if "success" in low:
        return "success"
    if "warning" in low:
        return "warning"
    return "error"


def error_codes(page: str) -> dict[int, list[str]]:
    """Every code of every code table of a page, with the kind(s) it is listed as."""
    codes: dict[int, list[str]] = {}
    for table in tables(page):
        if table.kind != "codes":
            continue
        for key, row in zip(table.row_keys(), table.rows, strict=True):
            if not key.isdigit():
                continue
            kinds = codes.setdefault(int(key), [])
            kind = code_kind(table, row)
            if kind not in kinds:
                kinds.append(kind)
    return codes


def headings(page: str) -> list[str]:
    """Every heading a `source` may name on a page.

    Markdown headings (also in their "Parent > Heading" form), the front-matter title, the
    title lines of glued tables, every table's heading and, on pages flattened to plain text,
    short standalone lines ("Example request", "Responses").
    """
    name = resolve_page(page)
    lines = load_pages()[name].splitlines()
    found = _heading_lines(lines)
    names: list[str] = [h.text for h in found]
    for index, heading in enumerate(found):
        parent = next((h for h in reversed(found[:index]) if h.level < heading.level), None)
        if parent is not None and heading.level > 0:
            names.append(f"{parent.text} > {heading.text}")
    names += [t.heading for t in tables(name)]
    if not any(h.level > 0 for h in found):
        fenced = _fence_mask(lines)
        for i, line in enumerate(lines):
            text = line.strip()
            if fenced[i] or len(text.split()) > 8 or _glued_header(text) is not None:
                continue
            if not re.fullmatch(r"[A-Z][A-Za-z0-9 ()/,'’—-]*[A-Za-z)]", text):
                continue
            before = lines[i - 1].strip() if i else ""
            after = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if i == 0 or not before or not after:
                names.append(text)
    return list(dict.fromkeys(names))


def normalise_text(text: str) -> str:
    """Text with markdown escapes, `&nbsp;`, tabs and runs of whitespace reduced, for quoting."""
    text = text.replace("&nbsp;", " ").replace("\t", " ")
    text = re.sub(r"\\([*_|`\\])", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def quote_in_page(page: str, quote: str) -> bool:
    """Whether `quote` occurs verbatim in the page, up to whitespace and markdown escapes."""
    name = resolve_page(page)
    return normalise_text(quote) in normalise_text(load_pages()[name])


def row_refs() -> dict[str, tuple[Table, int]]:
    """Every name a `covers` entry may use, mapped to one table row it names."""
    refs: dict[str, tuple[Table, int]] = {}
    for table in all_tables():
        for index in range(len(table.rows)):
            for ref in table.refs(index):
                refs.setdefault(ref, (table, index))
    return refs
