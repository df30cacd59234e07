"""No module imports another module's private names: what modules share is public (issue 13)."""

from __future__ import annotations

import ast
from pathlib import Path

import otklik

SOURCE = Path(otklik.__file__).parent


def _private_imports(path: Path) -> list[str]:
    """Return `module:name` for each private name `path` imports from another otklik module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("otklik"):
            continue
        module = node.module or ""
        private_module = any(part.startswith("_") and not part.startswith("__") for part in module.split("."))
        for alias in node.names:
            if private_module or (alias.name.startswith("_") and not alias.name.startswith("__")):
                found.append(f"{path.relative_to(SOURCE)}: {module}:{alias.name}")
    return found


def test_source_private_names_imported_from_other_modules_none():
    found = [hit for path in sorted(SOURCE.rglob("*.py")) for hit in _private_imports(path)]
    assert found == []
