"""The catalogue as a report describes it: requirements, discrepancies, and the specs' digest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from points_conformance.operations import OPERATIONS
from points_conformance.redaction import masked_settings
from points_conformance.report.model import one_line
from points_conformance.settings import specs_dir


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _jsonable(value: Any) -> Any:
    """A catalogue value as JSON (dataclasses and odd types become plain data or text)."""
    return json.loads(json.dumps(masked_settings(value), default=str))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(_jsonable(value), sort_keys=True)


def requirement_meta(requirement: Any) -> dict[str, Any]:
    """The catalogue's description of a requirement, as plain data for a report."""
    operations = _get(requirement, "operations") or []
    if isinstance(operations, str):
        operations = list(OPERATIONS) if operations in ("*", "all") else [operations]
    source = _get(requirement, "source") or {}
    if isinstance(source, str):
        page, heading = source, ""
    else:
        page, heading = _get(source, "page", ""), _get(source, "heading", "")
    discrepancy = _get(requirement, "discrepancy")
    if isinstance(discrepancy, list | tuple):
        discrepancy = discrepancy[0] if discrepancy else None
    testable = _get(requirement, "testable", True)
    return {
        "operations": [str(op) for op in operations],
        "source": {"page": _text(page), "heading": _text(heading)},
        "statement": _text(_get(requirement, "statement")),
        "check": _text(_get(requirement, "check")),
        "discrepancy": str(discrepancy) if discrepancy else None,
        "strict_only": bool(_get(requirement, "strict_only", False)),
        "testable": True if testable is None else bool(testable),
        "untestable_reason": _text(
            _get(requirement, "untestable_reason") or _get(requirement, "reason")
        ),
    }


def discrepancy_meta(discrepancy: Any, strict: bool) -> dict[str, Any]:
    """A register entry, with the reading this run applied."""
    strict_reading = _get(discrepancy, "strict")
    stance = _get(discrepancy, "stance")
    applied_reading = stance
    if strict and isinstance(strict_reading, str) and strict_reading:
        applied_reading = strict_reading
    return {
        "id": str(_get(discrepancy, "id", "")),
        "title": _text(_get(discrepancy, "title")),
        "stance": _jsonable(stance),
        "strict": _jsonable(strict_reading),
        "affects": _jsonable(_get(discrepancy, "affects") or []),
        "enforced_by_strict": _jsonable(_get(discrepancy, "enforced_by_strict")),
        "applied": "strict" if strict else "lenient",
        "applied_reading": _text(applied_reading),
    }


def load_catalogue_meta(
    catalogue: Any, strict: bool
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], str | None]:
    """(requirements, discrepancies, error) from a catalogue, loading the real one if None."""
    if catalogue is None:
        try:
            from points_conformance.catalogue import load_catalogue

            catalogue = load_catalogue()
        except Exception as exc:  # the report must still be written without a catalogue
            return {}, [], one_line(f"catalogue not loaded: {type(exc).__name__}: {exc}")
    requirements = _get(catalogue, "requirements") or {}
    discrepancies = _get(catalogue, "discrepancies") or {}
    if isinstance(requirements, Mapping):
        req_items = [(str(k), v) for k, v in requirements.items()]
    else:
        req_items = [(str(_get(r, "id")), r) for r in requirements]
    if isinstance(discrepancies, Mapping):
        disc_items = list(discrepancies.values())
    else:
        disc_items = list(discrepancies)
    return (
        {rid: requirement_meta(req) for rid, req in req_items},
        [discrepancy_meta(d, strict) for d in disc_items],
        None,
    )


def spec_version(directory: Path | None = None) -> str:
    """A digest of specs/*.yaml: two runs with the same value checked the same rules."""
    directory = directory or specs_dir()
    files = sorted(directory.glob("*.yaml")) if directory and directory.is_dir() else []
    if not files:
        return "unknown"
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()
