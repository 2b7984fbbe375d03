"""The OpenAPI file as shipped: what tools other than the suite see when given it.

The file on disk is the default reading. Every example of the pages must validate against it
with no transformation (a plain JSON Schema validator that ignores `x-` keywords, as Prism,
schemathesis or a client generator do), Spectral's OpenAPI ruleset must find no error in it, and
`points-conformance spec` prints it unchanged or, with `--strict`, the strict reading.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from points_conformance import spec_command
from points_conformance.examples import IndexEntry, load_index
from points_conformance.locations import SPEC_FILE
from points_conformance.settings import specs_dir
from points_conformance.spec import load_spec, reading

REPO = Path(__file__).resolve().parents[2]
INDEX = load_index()
_URI = "urn:shipped"


def _shipped() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((specs_dir() / SPEC_FILE).read_text(encoding="utf-8"))
    return document


def _pointer(document: dict[str, Any], entry: IndexEntry) -> str:
    """Where the example's schema sits in the file, following `$ref`s to responses."""
    template = next(
        path
        for path, item in document["paths"].items()
        for operation in item.values()
        if isinstance(operation, dict) and operation.get("operationId") == entry.operation_id
    )
    method = next(
        m
        for m, operation in document["paths"][template].items()
        if isinstance(operation, dict) and operation.get("operationId") == entry.operation_id
    )
    escaped = template.replace("~", "~0").replace("/", "~1")
    if entry.kind == "request":
        return f"#/paths/{escaped}/{method}/requestBody/content/application~1json/schema"
    return f"#/paths/{escaped}/{method}/responses/{entry.status}/content/application~1json/schema"


def _shipped_errors(document: dict[str, Any], entry: IndexEntry, body: Any) -> list[str]:
    registry: Registry[Any] = Registry().with_resource(
        _URI, Resource.from_contents(document, DRAFT202012)
    )
    pointer = _pointer(document, entry).replace("{", "%7B").replace("}", "%7D")
    validator = Draft202012Validator({"$ref": _URI + pointer}, registry=registry)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


@pytest.mark.parametrize("entry", INDEX, ids=[entry.file for entry in INDEX])
def test_every_example_validates_against_the_file_as_shipped(entry: IndexEntry) -> None:
    body = json.loads(entry.path.read_text(encoding="utf-8"))
    assert _shipped_errors(_shipped(), entry, body) == []


def test_the_plain_validator_sees_what_the_file_requires() -> None:
    # The same validation fails a body the file forbids, so the test above can fail.
    entry = next(e for e in INDEX if e.file.startswith("003-12"))
    body = json.loads(entry.path.read_text(encoding="utf-8"))
    body["ledgerDetails"]["pageNumber"] = "first"
    assert _shipped_errors(_shipped(), entry, body) == [
        "['ledgerDetails', 'pageNumber']: 'first' is not of type 'integer'"
    ]


def test_the_file_as_shipped_is_the_default_reading() -> None:
    document = _shipped()
    assert reading(document, strict=False) == _without_overlays(document)
    assert load_spec().document == document


def _without_overlays(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_overlays(v) for k, v in node.items() if k != "x-strict"}
    if isinstance(node, list):
        return [_without_overlays(item) for item in node]
    return node


def test_the_strict_reading_is_valid_openapi_without_overlays() -> None:
    strict = reading(_shipped(), strict=True)
    validate(strict)
    assert _without_overlays(strict) == strict
    assert strict != _without_overlays(_shipped())


def test_overlays_merge_as_json_merge_patch() -> None:
    node = {
        "anyOf": [{"type": "number"}, {"type": "string"}],
        "description": "kept",
        "properties": {"a": {"type": "string", "x-strict": {"pattern": "^x$"}}},
        "x-strict": {"anyOf": None, "type": "number", "properties": {"a": {"maxLength": 3}}},
    }
    assert reading(node, strict=True) == {
        "description": "kept",
        "properties": {"a": {"type": "string", "maxLength": 3, "pattern": "^x$"}},
        "type": "number",
    }
    assert reading(node, strict=False) == {
        "anyOf": [{"type": "number"}, {"type": "string"}],
        "description": "kept",
        "properties": {"a": {"type": "string"}},
    }


# --- the `spec` command -----------------------------------------------------------------------


def test_spec_command_prints_the_file_as_shipped() -> None:
    out = io.StringIO()
    assert spec_command.main([], out=out) == 0
    assert out.getvalue() == (specs_dir() / SPEC_FILE).read_text(encoding="utf-8")


def test_spec_command_prints_the_strict_reading() -> None:
    out = io.StringIO()
    assert spec_command.main(["--strict"], out=out) == 0
    printed = yaml.safe_load(out.getvalue())
    assert printed == reading(_shipped(), strict=True)
    assert printed["components"]["schemas"]["LedgerEntry"]["unevaluatedProperties"] is False


def test_spec_command_through_the_entry_point(tmp_path: Path) -> None:
    strict = tmp_path / "strict.yaml"
    with strict.open("w", encoding="utf-8") as stream:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "points-conformance"), "spec", "--strict"],
            stdout=stream,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    validate(yaml.safe_load(strict.read_text(encoding="utf-8")))


def test_spec_command_reports_a_broken_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / SPEC_FILE).write_text("openapi: [\n", encoding="utf-8")
    monkeypatch.setenv("POINTS_CONFORMANCE_SPECS_DIR", str(tmp_path))
    assert spec_command.main(["--strict"], out=io.StringIO()) == 2
    assert "does not parse" in capsys.readouterr().err
    assert spec_command.main(["--no-such-option"], out=io.StringIO()) == 2


# --- Spectral ---------------------------------------------------------------------------------


def _spectral() -> str | None:
    local = REPO / ".tools" / "node_modules" / ".bin" / "spectral"
    if local.is_file():
        return str(local)
    return shutil.which("spectral")


def test_spectral_finds_no_error_in_the_file_as_shipped() -> None:
    spectral = _spectral()
    if spectral is None:
        if os.environ.get("CI") == "true":
            pytest.fail("spectral is not installed (scripts/setup installs it into .tools/)")
        pytest.skip("spectral is not installed (scripts/setup installs it into .tools/)")
    done = subprocess.run(
        [
            spectral,
            "lint",
            "--ruleset",
            str(REPO / ".spectral.yaml"),
            "--format",
            "json",
            "--quiet",
            str(specs_dir() / SPEC_FILE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    results = json.loads(done.stdout or "[]")
    errors = [
        f"{r['code']} at {'.'.join(map(str, r['path']))}" for r in results if r["severity"] == 0
    ]
    assert errors == []
    assert done.returncode == 0, done.stderr
