"""`points-conformance bench`: runs the benchmarks of the checkout's `bench` package.

The benchmarks live next to the sources, not in the installed package, so this only works from
a checkout; elsewhere it says so in one line and exits with status 2.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def main(argv: Sequence[str] | None = None) -> int:
    if (CHECKOUT / "bench" / "__init__.py").is_file() and str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    try:
        module = importlib.import_module("bench.cli")
    except ModuleNotFoundError as exc:
        if exc.name not in ("bench", "bench.cli"):
            raise
        print(
            "points-conformance bench: the benchmarks need a checkout of the repository "
            "(no `bench` package next to the installed sources)",
            file=sys.stderr,
        )
        return 2
    entry: Callable[[list[str]], int] = module.main
    return entry(list(sys.argv[1:] if argv is None else argv))
