"""Requirement markers: IDs checked against the catalogue, operation markers derived from them.

`@pytest.mark.requirement("LEDGER-ERR-11029")` names what a test checks. An unknown ID fails
that test's collection; a known one also marks the test with its operations' markers (so
`-m transfer` selects it), with `writes` when it only concerns writing operations, and with the
ID itself (so `-m LEDGER-ERR-11029` selects it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from points_conformance import operations

if TYPE_CHECKING:
    from points_conformance.catalogue import Catalogue, Requirement

# <AREA>-<KIND>[-<SLUG>], upper case: how a requirement ID looks inside a `-m` expression.
REQUIREMENT_LIKE = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]*-[A-Z][A-Z0-9]*(?:-[A-Z0-9_-]+)?(?![\w-])")


def usage_exit(message: str) -> NoReturn:
    """End the run with status 2 and one line saying what the user must fix."""
    pytest.exit(f"points-conformance: {' '.join(message.split())}", returncode=2)


@functools.cache
def _catalogue() -> tuple[Catalogue | None, str | None]:
    """The requirement catalogue and None, or None and the one-line reason it cannot be had."""
    # Late: the catalogue reads the specs, which a run may point elsewhere before this is asked.
    from points_conformance.catalogue import CatalogueError, load_catalogue

    try:
        return load_catalogue(), None
    except CatalogueError as exc:
        return None, "requirement catalogue: " + " ".join(str(exc).split())


def catalogue_problem() -> str | None:
    """Why the catalogue cannot be loaded, or None."""
    return _catalogue()[1]


def known_requirements() -> Mapping[str, Requirement]:
    """Catalogue requirements by ID; empty when the catalogue cannot be loaded."""
    catalogue = _catalogue()[0]
    return catalogue.requirements if catalogue is not None else {}


def item_requirements(item: pytest.Item) -> list[str]:
    """The requirement IDs a test's markers name, in order, once each."""
    ids: list[str] = []
    for mark in item.iter_markers("requirement"):
        for arg in mark.args:
            if arg not in ids:
                ids.append(arg)
    return ids


def operations_of(ids: Iterable[str]) -> list[str]:
    """The operations the catalogue gives these requirements, in order, once each."""
    requirements = known_requirements()
    found: list[str] = []
    for rid in ids:
        requirement = requirements.get(rid)
        for op in requirement.operations if requirement is not None else ():
            if op not in found:
                found.append(str(op))
    return found


def _requirement_problem(item: pytest.Item) -> str | None:
    marks = list(item.iter_markers("requirement"))
    for mark in marks:
        if not mark.args:
            return f"{item.nodeid}: @pytest.mark.requirement needs at least one requirement ID"
        bad = [a for a in mark.args if not isinstance(a, str)]
        if bad:
            return f"{item.nodeid}: requirement IDs must be strings, not {bad[0]!r}"
    broken = catalogue_problem()
    if broken is not None:
        return f"{item.nodeid}: {broken}" if marks else None
    requirements = known_requirements()
    unknown = [rid for rid in item_requirements(item) if rid not in requirements]
    if unknown:
        return (
            f"{item.nodeid}: unknown requirement ID {', '.join(unknown)} in "
            "@pytest.mark.requirement (not in specs/requirements.yaml)"
        )
    return None


def requirement_tokens(config: pytest.Config) -> list[str]:
    """What looks like a requirement ID in the `-m` expression."""
    expression = config.getoption("markexpr", "") or ""
    return list(dict.fromkeys(REQUIREMENT_LIKE.findall(expression)))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("help", False):
        return
    problem = catalogue_problem()
    if problem is not None:
        if requirement_tokens(config):
            usage_exit(problem)
        return
    requirements = known_requirements()
    # Registered so that `-m LEDGER-ERR-11029` selects the tests of one requirement.
    for rid in requirements:
        config.addinivalue_line("markers", f"{rid}: requirement {rid} of the catalogue")
    unknown = [rid for rid in requirement_tokens(config) if rid not in requirements]
    if unknown:
        usage_exit(
            f"-m {config.getoption('markexpr', '')!r}: unknown requirement ID "
            f"{', '.join(unknown)} (not in specs/requirements.yaml)"
        )


class RequirementMarkerError(pytest.Collector):
    """Stands in for a test whose requirement marker is wrong, and fails to collect.

    A collection error (rather than an exception out of the collection hook) names the test and
    the ID, works the same under pytest-xdist, and never passes through other plugins' hooks.
    """

    problem: str = ""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        raise self.CollectError(self.problem)


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Generator[None, Any, Any]:
    result = yield
    items = result if isinstance(result, list) else [result]
    for item in items:
        if isinstance(item, pytest.Item):
            problem = _requirement_problem(item)
            if problem:
                error = RequirementMarkerError.from_parent(collector, name=name)
                error.problem = problem
                return error
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: the markers must exist before `-m` deselects by them.
    requirements = known_requirements()
    for item in items:
        ids = item_requirements(item)
        names: list[str] = [rid for rid in ids if rid in requirements]
        ops = operations_of(ids)
        names += [operations.MARKERS[op] for op in ops if op in operations.MARKERS]
        # Requirements of every operation (COMMON-*) say nothing about writing; those that
        # only concern transfers or reversals do.
        only_writes = bool(ops) and operations.WRITE_OPERATIONS.issuperset(ops)
        if only_writes or "writes_allowed" in getattr(item, "fixturenames", ()):
            names.append("writes")
        present = {m.name for m in item.iter_markers()}
        for marker in dict.fromkeys(names):
            if marker not in present:
                item.add_marker(getattr(pytest.mark, marker))
