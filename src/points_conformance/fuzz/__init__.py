"""Property-based fuzzing with schemathesis, on the suite's own settings, client and checks.

`fuzzer.Fuzzer` turns the OpenAPI description (`schema`) into hypothesis strategies (positive and
negative cases), overlays the target's known test data on most of them (`known_data`, a
schema-scoped `flatmap_case` hook), sends every case through the shared `ConformanceClient`
(`client_adapter`, so auth, rate limit, timeout, 429 retries and request counting are those of
every other test) and judges each answer twice (`judging`): with schemathesis's built-in checks
and with the suite's own rules (`points_conformance.checks.run_checks`), registered as the
schemathesis check `PointsConformanceChecks`. Every failure becomes a `Finding` tagged with a
requirement ID (`requirements`) and carrying the exchange (`exchanges`), hence a curl repro with
credentials masked. `outcomes` holds what a run and a workflow step leave behind.

Each operation gets `Settings.fuzz_examples` cases, three quarters positive and a quarter
negative, each mode seeded from `Settings.fuzz_seed` and the operation, so two runs with the
same settings send the same requests.
"""
