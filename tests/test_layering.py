"""The import rules of docs/ARCHITECTURE.md, checked on the source: a new import against the
direction of the layers fails here instead of slowly tangling the package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "finlineage"

# What each part may import from finlineage (besides itself and the top-level modules listed).
ALLOWED: dict[str, set[str]] = {
    "lineage": set(),
    "store": {"lineage", "settings"},
    "ingest": {"lineage", "store", "settings"},
    "query": {"store", "lineage", "settings", "__init__"},
    "chat": {"query", "store", "lineage", "settings", "__init__"},
    "realtime": {"query", "store", "settings", "__init__"},
    "demo": set(),
    "mcp": {"query", "chat", "store", "settings", "__init__"},
    "api": {"query", "chat", "mcp", "ingest", "realtime", "store", "lineage", "settings", "web", "__init__"},
    "web": {"settings", "__init__"},
    "cli": {
        "api",
        "query",
        "chat",
        "mcp",
        "ingest",
        "realtime",
        "store",
        "lineage",
        "settings",
        "demo",
        "__init__",
    },
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "finlineage":
                names = [f"finlineage.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "finlineage":
                top = parts[1] if len(parts) > 1 else "__init__"
                found.add("__init__" if top.startswith("__") else top)  # e.g. __version__
    return found


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_imports_point_one_way(part: str) -> None:
    violations = []
    for path in sorted((PACKAGE / part).rglob("*.py")):
        for imported in _imports(path) - {part}:
            if imported not in ALLOWED[part]:
                violations.append(f"{path.relative_to(PACKAGE)} imports finlineage.{imported}")
    assert violations == []


def test_lineage_engine_imports_only_stdlib_and_sqlglot() -> None:
    import sys

    allowed_roots = set(sys.stdlib_module_names) | {"sqlglot", "finlineage"}
    for path in sorted((PACKAGE / "lineage").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed_roots, f"{path.name} imports {roots - allowed_roots}"
