"""Faulty variants of the reference server: the ways an implementer could misread the pages.

Each fault is a small function registered with `@fault(name, requirement=..., description=...)`
that takes the current `Behaviour` and `Hooks` and returns a changed `Behaviour`
(`dataclasses.replace`), hooks that run after the existing ones (`hooks.then(...)`), or both;
a fault that only changes `Behaviour` fields is registered as `fault(...)(switch(field=value))`.
Faults therefore compose: `apply(["a", "b"], Behaviour(), Hooks())` gives a server with both.
Every fault names the one catalogue requirement (specs/requirements.yaml) it breaks; the
self-test (`points-conformance selftest`) checks that the suite catches each of them there.

Hooks that need a second answer of the same operation (a filter that is ignored, a page that
overlaps the previous one) call the operation's handler again through `rerun`, with the
request as the route finally saw it. The faults live in one module per operation family
(`faults_ledger`, `faults_ledger_refusals`, `faults_cml`, `faults_balance`, `faults_points`),
on the parts of `fault_registry`; this module holds them all.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from points_conformance.reference.fault_registry import FAULTS

# The families register their faults when imported, so this order is --list-faults' order.
FAMILIES: tuple[ModuleType, ...] = tuple(
    importlib.import_module(f"points_conformance.reference.{name}")
    for name in (
        "faults_ledger",
        "faults_ledger_refusals",
        "faults_cml",
        "faults_balance",
        "faults_points",
    )
)

registry = FAULTS.view  # every fault by name, in registration order
get_fault = FAULTS.get
apply = FAULTS.apply  # the rules and hooks of a server with every named fault


def list_faults() -> list[tuple[str, str, str]]:
    """(name, requirement, description) of every fault, in registration order."""
    return [(f.name, f.requirement, f.description) for f in registry().values()]
