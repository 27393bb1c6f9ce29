"""Layering rules from the spec that a refactor could silently break."""

from __future__ import annotations

import ast
from pathlib import Path

import agentkeep

PACKAGE = Path(agentkeep.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_routes_never_import_sqlalchemy() -> None:
    # Reads go route → store, changes go route → lifecycle → store: SQL stays in store/.
    offenders = {
        p.name
        for p in (PACKAGE / "api").glob("*.py")
        if any(name.split(".")[0] == "sqlalchemy" for name in _imports(p))
    }
    assert offenders == set()


def test_modules_stay_under_400_lines() -> None:
    sizes = {
        str(p.relative_to(PACKAGE)): len(p.read_text().splitlines())
        for p in PACKAGE.rglob("*.py")
        if "migrations" not in p.parts
    }
    assert {name: n for name, n in sizes.items() if n > 400} == {}
