"""The `points-conformance` command: one entry point, one module per subcommand.

Exit statuses: 0 success / conforming, 1 the target does not conform (or a regression, a missed
fault), 2 a usage problem (bad option, unreadable file, unreachable target before any test);
`validate` and `proxy` also exit 3 when no exchange matched an operation (nothing to judge).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

# Subcommand -> "module:function"; each function takes argv (without the subcommand) and
# returns an exit status. Imported lazily so that `serve` does not pay for pytest's import.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("points_conformance.embedded", "Run the reference server"),
    "run": ("points_conformance.runner", "Run the conformance suite against a target"),
    "discover": (
        "points_conformance.discover.command",
        "Write a target file from what a server's read operations show",
    ),
    "report": ("points_conformance.report.cli", "Merge or diff conformance reports"),
    "selftest": (
        "points_conformance.selftest",
        "Run the suite against every fault of the reference server",
    ),
    "bench": ("points_conformance.bench_entry", "Benchmark the harness and the reference server"),
    "spec": ("points_conformance.spec_command", "Print the OpenAPI description"),
    "validate": ("points_conformance.har.command", "Judge recorded traffic (HAR files)"),
    "proxy": (
        "points_conformance.proxy.command",
        "Forward traffic to a server and judge it as it goes by",
    ),
}

USAGE = (
    "usage: points-conformance {"
    + ",".join(SUBCOMMANDS)
    + "} [options]\n\n"
    + "\n".join(f"  {name:<9} {doc}" for name, (_, doc) in SUBCOMMANDS.items())
)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"points-conformance: unknown command {name!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[name][0])
    entry: Callable[[list[str]], int] = module.main
    try:
        return entry(rest)
    except KeyboardInterrupt:
        print("points-conformance: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
