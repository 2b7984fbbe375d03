"""The pytest plugin behind the conformance suite (entry point `points_conformance`).

One module per job, each registered below so that pytest sees their hooks and fixtures:

- `base_url`: `--base-url`, its ini key and the `base_url` fixture, pytest-base-url's when it
  is installed;
- `options`: the command-line options and the markers the suite may use;
- `session`: resolves the options into the single `Settings`, hands them (and the embedded
  reference server) to pytest-xdist workers, and says whether the run writes a report;
- `preflight`: what must hold before any test runs (the OpenAPI description parses, the target
  accepts connections);
- `requirements`: validates `@pytest.mark.requirement` IDs against the catalogue and derives the
  operation markers from them;
- `lock`: keeps writing tests apart from the tests reading what they change, across
  pytest-xdist workers (the `touches` and `reads` markers), and has `scheduling` deal the
  tests that change the same data to one worker;
- `fixtures`: what tests use (`settings`, `target`, `client`, `check_context`, `findings`,
  `require*`, `writes_allowed`, `record_fuzz`);
- `recording`: fails a test that recorded findings and hands its `TestRecord` to the report.
"""

from __future__ import annotations

# In import order: a module comes after those it imports, so that pytest registers (and
# rewrites the asserts of) each before another module imports it.
pytest_plugins = [
    "points_conformance.plugin.base_url",
    "points_conformance.plugin.options",
    "points_conformance.plugin.lock",
    "points_conformance.plugin.requirements",
    "points_conformance.plugin.preflight",
    "points_conformance.plugin.session",
    "points_conformance.plugin.fixtures",
    "points_conformance.plugin.recording",
]
