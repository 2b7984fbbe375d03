"""A pytest plugin for harness tests: writes every requirement ID the collected tests name."""

from __future__ import annotations

import json
import os

import pytest


def pytest_collection_finish(session: pytest.Session) -> None:
    ids = sorted(
        {
            str(arg)
            for item in session.items
            for m in item.iter_markers("requirement")
            for arg in m.args
        }
    )
    with open(os.environ["POINTS_CONFORMANCE_REQUIREMENT_DUMP"], "w", encoding="utf-8") as out:
        json.dump(ids, out)
