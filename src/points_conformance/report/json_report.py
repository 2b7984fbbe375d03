"""conformance.json: the report itself, from which every other file can be rendered again."""

from __future__ import annotations

import json
from typing import Any


def render_json(report: dict[str, Any]) -> str:
    # Without indentation: a run's report lists every test under every rule it credited, and
    # indenting that list made a quarter of the file; people read the HTML page and summary.md.
    return json.dumps(report, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"
