"""The core must run headless: no Qt, VTK, pyqtgraph or torch at import time.

torch is allowed in workbench.core only inside function bodies (see workbench.core.device).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import workbench.core

CORE = Path(workbench.core.__file__).resolve().parent
FORBIDDEN = {"PySide6", "shiboken6", "PyQt5", "PyQt6", "vtk", "vtkmodules", "pyqtgraph", "torch"}


def module_level_imports(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, top-level package) of every import that runs when the module is imported.

    Function bodies are skipped (they run only when called); class bodies and
    if/try/with blocks at module level are not. ``if TYPE_CHECKING:`` blocks never run.
    Calls of ``importlib.import_module("name")`` and ``__import__("name")`` count too.
    """
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((node.lineno, first.value.split(".")[0]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source, filename=filename))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_dynamic_import(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id in {"__import__", "import_module"}) or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )


CORE_FILES = sorted(CORE.rglob("*.py"))


def test_core_has_modules_to_check():
    names = {path.name for path in CORE_FILES}
    assert {"__init__.py", "jobs.py", "device.py", "metrics.py"} <= names


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_no_gui_or_torch_import_at_module_level(path):
    offending = [
        f"{path.name}:{line} imports {package}"
        for line, package in module_level_imports(path.read_text(encoding="utf-8"), str(path))
        if package in FORBIDDEN
    ]
    assert not offending, "; ".join(offending)


def test_torch_is_imported_lazily_in_device_module():
    """device.py does use torch, but only inside functions (so the check above is not vacuous)."""
    tree = ast.parse((CORE / "device.py").read_text(encoding="utf-8"))
    inside_functions = [
        alias.name
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert "torch" in inside_functions


# -- the checker itself -----------------------------------------------------------------------------


CHECKER_CASES = [
    ("import torch\n", ["torch"]),
    ("import torch.nn as nn\n", ["torch"]),
    ("from PySide6.QtCore import QObject\n", ["PySide6"]),
    ("try:\n    import vtk\nexcept ImportError:\n    vtk = None\n", ["vtk"]),
    ("if True:\n    from vtkmodules.vtkCommonCore import vtkPoints\n", ["vtkmodules"]),
    ("class A:\n    import pyqtgraph\n", ["pyqtgraph"]),
    ("import importlib\nqt = importlib.import_module('PySide6.QtWidgets')\n", ["importlib", "PySide6"]),
    ("torch = __import__('torch')\n", ["torch"]),
    ("def f():\n    import torch\n    return torch\n", []),
    ("async def f():\n    import PySide6\n", []),
    ("class A:\n    def f(self):\n        import vtk\n", []),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n", ["typing"]),
    ("from . import device\nfrom .jobs import execute\n", []),
]


@pytest.mark.parametrize(("source", "expected"), CHECKER_CASES)
def test_checker_finds_module_level_imports(source, expected):
    assert [package for _, package in module_level_imports(source)] == expected


# -- dynamically, in a fresh interpreter ----------------------------------------------------------------


def test_importing_core_and_plugins_loads_no_gui_or_torch():
    code = (
        "import importlib, pkgutil, sys\n"
        "import workbench.core, workbench.plugins\n"
        "for info in pkgutil.walk_packages(workbench.core.__path__, 'workbench.core.'):\n"
        "    importlib.import_module(info.name)\n"
        f"forbidden = {sorted(FORBIDDEN)!r}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in forbidden)\n"
        "print('LOADED:' + ','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("LOADED:")]
    assert lines == ["LOADED:"], f"imported at start-up: {lines}"
