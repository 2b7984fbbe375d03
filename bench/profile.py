"""`python -m bench.profile`: cProfile of one suite run, on the harness's side and the server's.

Starts a bench server with its profiler on, runs the suite under `python -m cProfile` against
it, stops the server (which writes its profile) and prints the top functions of both by own
time and by cumulative time. The raw profiles stay in --out-dir for snakeviz or pstats.
"""

from __future__ import annotations

import argparse
import io
import pstats
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.procs import run_command, start_server


def _top(path: Path, sort: str, limit: int, restrict: str | None) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    if restrict:
        stats.sort_stats(sort).print_stats(restrict, limit)
    else:
        stats.strip_dirs().sort_stats(sort).print_stats(limit)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("paths", nargs="*", default=["tests/conformance"], help="suite paths")
    parser.add_argument("--out-dir", help="where the profiles go (default a temporary dir)")
    parser.add_argument("--size", default="small", help="store size of the server")
    parser.add_argument("--limit", type=int, default=25, help="rows per listing")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for the suite run")
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.limit <= 0:
        parser.error("--timeout and --limit must be positive")
    out_dir = Path(args.out_dir or tempfile.mkdtemp(prefix="points-profile-"))
    if out_dir.exists() and not out_dir.is_dir():
        parser.error(f"--out-dir {out_dir}: is not a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"--out-dir {out_dir}: {exc.strerror or exc}")
    client_prof = out_dir / "harness.prof"
    server_prof = out_dir / "server.prof"
    with start_server(out_dir, "server", size=args.size, profile=server_prof) as server:
        # A first run fills the bytecode cache, so the profile shows the run, not compilation.
        for name, profile in (("warmup", None), ("profiled", client_prof)):
            argv_run = [sys.executable]
            if profile is not None:
                argv_run += ["-m", "cProfile", "-o", str(profile)]
            argv_run += ["-m", "pytest", *args.paths, "-q", "-p", "no:cacheprovider"]
            argv_run += ["--base-url", server.url, "--target", str(server.target_file)]
            argv_run += ["--report-dir", str(out_dir / name)]
            result = run_command(
                argv_run, workdir=out_dir, log=out_dir / f"{name}.log", timeout=args.timeout
            )
            print(f"{name}: pytest exit {result.returncode} in {result.wall:.1f} s")
        requests = server.requests()
    print(f"server answered {requests} requests; profiles in {out_dir}")
    for label, path in (("harness", client_prof), ("server", server_prof)):
        if not path.exists():
            print(f"no {label} profile at {path}")
            continue
        print(f"\n== {label}: own time ==")
        print(_top(path, "tottime", args.limit, None))
        print(f"== {label}: cumulative, project code ==")
        print(_top(path, "cumulative", args.limit, "/src/points_conformance/|/tests/conformance/"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
