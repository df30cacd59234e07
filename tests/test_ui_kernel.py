"""The ui kernel sits just above core: it imports nothing else of Otklik, and no app below web imports web."""

from __future__ import annotations

import ast
from pathlib import Path

import otklik

SRC = Path(otklik.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_ui_kernel_imports_only_core_and_itself():
    wrong = {
        f"{path.relative_to(SRC)}: {module}"
        for path in (SRC / "ui").rglob("*.py")
        for module in _imported_modules(path)
        if module.startswith("otklik.") and not module.startswith(("otklik.core", "otklik.ui"))
    }
    assert wrong == set()


def test_ui_kernel_no_app_below_web_imports_web():
    wrong = {
        f"{path.relative_to(SRC)}: {module}"
        for path in SRC.rglob("*.py")
        if path.relative_to(SRC).parts[0] not in ("web", "urls.py", "settings.py")
        for module in _imported_modules(path)
        if module == "otklik.web" or module.startswith("otklik.web.")
    }
    assert wrong == set()
