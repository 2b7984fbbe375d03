"""Modules a newcomer can read in one sitting: no module of the package over 600 lines, and no
function over 80 lines unless a comment on its `def` line (or the line above) says why."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "points_conformance"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_module_is_over_the_limit() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_a_long_function_says_why() -> None:
    unexplained: list[str] = []
    for path in _modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines), filename=str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length <= MAX_FUNCTION_LINES:
                continue
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            around = lines[first - 2 : node.lineno]
            if not any("#" in line for line in around):
                unexplained.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({length})")
    assert unexplained == []
