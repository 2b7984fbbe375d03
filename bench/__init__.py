"""Benchmarks of the conformance harness and the reference server (never timed tests).

`python -m bench` (or `points-conformance bench`) starts reference servers on 127.0.0.1, runs
the suite, the fuzz tests, schemathesis's CLI and plain httpx loops against them, and writes
`reports/bench.json` with a short table on stdout.
"""
