"""What must hold before any conformance test runs; each problem ends the run with status 2."""

from __future__ import annotations

import pytest

from points_conformance.pacing import TargetUnreachable, probe
from points_conformance.plugin.requirements import (
    catalogue_problem,
    known_requirements,
    usage_exit,
)
from points_conformance.settings import Settings
from points_conformance.spec import SpecError, load_spec


def will_run_tests(config: pytest.Config) -> bool:
    """False for the invocations that only list (tests, fixtures, markers)."""
    listing = ("collectonly", "markers", "showfixtures", "show_fixtures_per_test")
    return not any(config.getoption(name, False) for name in listing)


def check_catalogue() -> None:
    problem = catalogue_problem()
    if problem is not None:
        usage_exit(problem)


def check_spec() -> None:
    """A broken OpenAPI description is a usage problem: one line, before any test."""
    try:
        load_spec()
    except SpecError as exc:
        usage_exit(f"OpenAPI description: {exc}")


def check_reachable(settings: Settings) -> None:
    """A target that refuses connections or fails TLS ends the run before any test (status 2).

    A target that accepts connections and then misbehaves is left to the tests, which report
    what it did requirement by requirement.
    """
    try:
        probe(settings)
    except TargetUnreachable as exc:
        usage_exit(f"target not reachable, no test was run: {settings.redact(exc.message)}")


def check_waivers(settings: Settings) -> None:
    """A waiver naming a requirement the catalogue does not have is a usage problem."""
    known = known_requirements()
    for waiver in settings.waivers:
        if waiver.requirement is not None and waiver.requirement not in known:
            usage_exit(
                f"{settings.waivers_file}: {waiver.name}: unknown requirement "
                f"{waiver.requirement!r} (not in specs/requirements.yaml)"
            )
