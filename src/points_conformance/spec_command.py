"""`points-conformance spec`: prints the OpenAPI description as shipped, or its strict reading.

The file as shipped is the default reading, for any OpenAPI tool (mock servers, fuzzers, client
generators); `--strict` prints the document with every `x-strict` overlay merged in, which is
what the suite validates against under `--conformance-strict`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

import yaml

from points_conformance.spec import SpecError, load_spec, reading

PROG = "points-conformance spec"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Print the OpenAPI description: the file as shipped (the default reading), "
        "or with --strict the strict reading produced from it.",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="print the strict reading (every x-strict overlay merged in, the overlays dropped)",
    )
    return parser


def strict_text() -> str:
    """The strict reading of the description, as YAML."""
    document = reading(load_spec().document, strict=True)
    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100))


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a bad option (2), already reported by argparse
        return int(exc.code or 0)
    try:
        if args.strict:
            text = strict_text()
        else:
            source = load_spec().source
            assert source is not None  # load_spec always records the file it read
            text = source.read_text(encoding="utf-8")
    except (SpecError, OSError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    stream.write(text)
    return 0
