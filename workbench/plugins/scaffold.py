"""``pdewb plugins new``: write a plugin package that installs, loads and passes its test as generated.

The package has the layout of the built-in plugins: ``pyproject.toml`` with the
entry point, ``src/PACKAGE/plugin.py`` (the descriptor, imported at start-up),
``src/PACKAGE/KIND.py`` (the implementation, imported when it runs) and
``tests/test_PACKAGE.py`` (using the :func:`workbench.testing.plugin_host` fixture).
The file texts are in :mod:`workbench.plugins.templates`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ..core.errors import PluginError
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
        return cls(distribution, distribution.replace("-", "_"), kind)

    @property
    def contribution_id(self) -> str:
        return f"{self.package}.{self.kind}"

    @property
    def title(self) -> str:
        return self.distribution.replace("-", " ").capitalize()

    def substitutions(self) -> dict[str, str]:
        return {"distribution": self.distribution, "package": self.package, "kind": self.kind,
                "id": self.contribution_id, "title": self.title, "api": str(HOOK_API_VERSION)}


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
    """Write the package into ``parent/NAME``; refuses to touch an existing, non-empty folder."""
    names = PluginNames.from_name(name, kind)
    root = parent / names.distribution
    if root.exists() and any(root.iterdir()):
        raise PluginError(f"{root} already exists and is not empty; choose another name or folder")
    written = []
    for relative, text in plugin_files(names).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return CreatedPlugin(root, names, written)
