"""``pdewb plugins new``: write a plugin package that installs, loads and passes its test as generated.

The package has the layout of the built-in plugins: ``pyproject.toml`` with the
entry point, ``src/PACKAGE/plugin.py`` (the descriptor, imported at start-up),
``src/PACKAGE/KIND.py`` (the implementation, imported when it runs) and
``tests/test_PACKAGE.py`` (using the :func:`workbench.testing.plugin_host` fixture).
The file texts are in :mod:`workbench.plugins.templates`.

The name must give a package that can be imported as itself: not a Python keyword
(``import`` cannot be imported), not a standard-library module and not a module
already installed (either would be shadowed, or shadow the plugin). The package
appears whole or not at all: it is written into a hidden temporary folder beside
its destination and renamed into place at the end.
"""

from __future__ import annotations

import contextlib
import importlib.util
import keyword
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ..core.errors import PluginError
from ..io.atomic import OutputError, describe_os_error, ensure_folder, temporary_name
from . import templates
from .hookspecs import HOOK_API_VERSION

KINDS = tuple(templates.IMPLEMENTATIONS)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*([-_][A-Za-z0-9]+)*$")


@dataclass(frozen=True)
class PluginNames:
    """Every name derived from the one the user gave: ``my-solvers`` -> ``my_solvers``, ``my_solvers.solver``."""

    distribution: str
    package: str
    kind: str

    @classmethod
    def from_name(cls, name: str, kind: str) -> PluginNames:
        if not _NAME.match(name):
            raise PluginError(f"'{name}' is not a usable plugin name: use letters, digits, '-' or '_', "
                              "starting with a letter (e.g. my-solvers)")
        if kind not in KINDS:
            raise PluginError(f"unknown plugin kind '{kind}' (known: {', '.join(KINDS)})")
        distribution = name.lower().replace("_", "-")
        package = distribution.replace("-", "_")
        problem = package_name_problem(package)
        if problem:
            raise PluginError(f"'{name}' is not a usable plugin name: its package '{package}' {problem}")
        return cls(distribution, package, kind)

    @property
    def contribution_id(self) -> str:
        return f"{self.package}.{self.kind}"

    @property
    def title(self) -> str:
        return self.distribution.replace("-", " ").capitalize()

    def substitutions(self) -> dict[str, str]:
        return {"distribution": self.distribution, "package": self.package, "kind": self.kind,
                "id": self.contribution_id, "title": self.title, "api": str(HOOK_API_VERSION)}


def package_name_problem(package: str) -> str | None:
    """Why ``package`` cannot be the plugin's top-level package, or None."""
    if keyword.iskeyword(package):
        return "is a Python keyword, which 'import' cannot name"
    if package in sys.stdlib_module_names:
        return "is a standard-library module, which it would shadow"
    try:
        installed = importlib.util.find_spec(package) is not None  # a top-level name: finds, imports nothing
    except (ImportError, ValueError):
        installed = True
    if installed:
        return "is already an installed module; the two would shadow each other"
    return None


@dataclass(frozen=True)
class CreatedPlugin:
    root: Path
    names: PluginNames
    files: list[Path]


def plugin_files(names: PluginNames) -> dict[str, str]:
    """Relative path -> text of every file of the new package."""
    values = names.substitutions()
    kind_module = templates.MODULE_NAMES[names.kind]
    files = {
        "pyproject.toml": templates.PYPROJECT,
        "README.md": templates.README,
        f"src/{names.package}/__init__.py": templates.INIT,
        f"src/{names.package}/plugin.py": templates.DESCRIPTORS[names.kind],
        f"src/{names.package}/{kind_module}.py": templates.IMPLEMENTATIONS[names.kind],
        f"tests/test_{names.package}.py": templates.TESTS[names.kind],
    }
    return {path: Template(text).substitute(values, module=kind_module) for path, text in files.items()}


def create_plugin(name: str, kind: str, parent: Path) -> CreatedPlugin:
    """Write the package into ``parent/NAME``, whole or not at all; refuses an existing, non-empty folder."""
    names = PluginNames.from_name(name, kind)
    root = Path(parent) / names.distribution
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise PluginError(f"{root} already exists and is not empty; choose another name or folder")
    ensure_folder(root.parent)
    staging = temporary_name(root)
    try:
        for relative, text in plugin_files(names).items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if root.exists():
            root.rmdir()  # the empty folder the user made for it; rename cannot replace a folder everywhere
        os.rename(staging, root)
    except OSError as error:
        raise OutputError(f"cannot create {root}: {describe_os_error(error)}; nothing was written") from error
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
    return CreatedPlugin(root, names, [root / relative for relative in plugin_files(names)])
