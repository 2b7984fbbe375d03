"""How a parallel run deals its tests to pytest-xdist workers: by the data they change.

Tests that hold the same resources exclusively (`lock.plan_for`) would only wait for each other on
different workers, so each group of them (`lock.resource_groups`) is one unit of work that goes to
one worker whole, the largest first, its tests in the order the groups file lists; every other test
is a unit of its own, dealt in collection order to whichever worker is free. This is xdist's
`loadscope` scheduling with the unit read from the groups file the workers write while collecting
(`lock.GROUPS_FILE`). Imported only when pytest-xdist asks for a scheduler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]  # no stubs


class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
    """xdist's scope scheduling, a test's scope being its resource group or itself."""

    def __init__(self, config: pytest.Config, log: Any, groups_file: Path) -> None:
        super().__init__(config, log)
        self._groups_file = groups_file
        self._groups: dict[str, str] | None = None
        # Where each grouped test stands in the file, which lists them in the order they run.
        self._rank: dict[str, int] = {}

    def _split_scope(self, nodeid: str) -> str:
        if self._groups is None:
            # Read once the workers have collected, which they have when xdist first asks.
            try:
                loaded = json.loads(self._groups_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = {}
            self._groups = {str(k): str(v) for k, v in loaded.items()}
            self._rank = {nodeid: rank for rank, nodeid in enumerate(self._groups)}
        group = self._groups.get(nodeid)
        return f"group:{group}" if group is not None else nodeid

    def _assign_work_unit(self, node: Any) -> None:
        if self.workqueue:
            scope, unit = next(iter(self.workqueue.items()))
            if scope.startswith("group:"):
                # xdist sends a unit's tests in collection order; a group's run in the file's.
                ordered = sorted(unit.items(), key=lambda entry: self._rank.get(entry[0], 0))
                self.workqueue[scope] = dict(ordered)
        super()._assign_work_unit(node)
