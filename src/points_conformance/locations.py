"""Where things are: the specs folder and its files, and the report folder and its files.

The one home of these names. Which folder to use when the environment names one is decided by
`settings` (the only reader of the environment), which passes it here as `override`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SPEC_FILE = "points-api.openapi.yaml"
REQUIREMENTS_FILE = "requirements.yaml"
DISCREPANCIES_FILE = "discrepancies.yaml"
COVERAGE_GAPS_FILE = "coverage-gaps.yaml"
EXAMPLES_SUBDIR = "examples"
DOCS_SUBDIR = "docs"
# The installed copy of specs/ (pyproject's package-dir maps it).
SPECS_PACKAGE = "points_conformance_specs"
# The suite (tests/conformance) as an installed package, for `pytest --pyargs`.
SUITE_PACKAGE = "points_conformance_suite"

DEFAULT_REPORT_DIR = Path("reports")
REPORT_JSON = "conformance.json"
REPORT_HTML = "conformance.html"
REPORT_MARKDOWN = "summary.md"
REPORT_JUNIT = "junit.xml"
DRY_RUN_FILE = "dry-run.txt"
BENCH_FILE = "bench.json"

_REPO_SPECS = Path(__file__).resolve().parents[2] / "specs"


def specs_dir(override: str | Path | None = None) -> Path:
    """The specs folder: `override` when given, else the repository's, else the installed copy."""
    if override:
        return Path(override)
    if _REPO_SPECS.is_dir() and (_REPO_SPECS / SPEC_FILE).is_file():
        return _REPO_SPECS
    return Path(str(resources.files(SPECS_PACKAGE)))
