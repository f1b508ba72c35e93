"""Scenario files: a solver, a mesh, parameters and boundary conditions in TOML.

Example::

    solver = "fem.heat"
    mesh = "sample:plate-with-hole"     # or a path, relative to this file

    [parameters]
    dt = 0.01
    t_end = 0.5

    [[boundary]]
    tag = "hole"
    kind = "dirichlet"
    value = "1"

    [output]
    directory = "results/heat-plate"     # relative to this file
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ScenarioError, WorkbenchError
from ..core.problem import BoundaryCondition

_TOP_LEVEL = {"solver", "mesh", "parameters", "boundary", "output", "title"}
_OUTPUT_KEYS = {"directory"}
_BOUNDARY_KEYS = {"tag", "kind", "value"}


@dataclass(frozen=True)
class Scenario:
    solver: str
    mesh: str
    parameters: dict[str, Any] = field(default_factory=dict)
    boundary: tuple[BoundaryCondition, ...] = ()
    output_directory: Path | None = None
    title: str = ""
    base: Path = Path(".")


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path.name}: not valid TOML: {error}") from None
    try:
        return _parse(data, path.parent.resolve())
    except WorkbenchError as error:
        raise ScenarioError(f"{path.name}: {error}") from None


def _parse(data: dict[str, Any], base: Path) -> Scenario:
    """The scenario in ``data``; every key of the wrong type is a ScenarioError naming it."""
    _refuse_unknown(data, _TOP_LEVEL, "")
    if not isinstance(data.get("solver"), str):
        raise ScenarioError("'solver' must be given as a string")
    if not isinstance(data.get("mesh", ""), str):
        raise ScenarioError("'mesh' must be a string (a path or sample:ID); solvers with a grid of their own need none")
    if not isinstance(data.get("title", ""), str):
        raise ScenarioError("'title' must be a string")
    parameters = data.get("parameters", {})
    if not isinstance(parameters, dict):
        raise ScenarioError("[parameters] must be a table")
    boundary = data.get("boundary", [])
    if not isinstance(boundary, list):
        raise ScenarioError("boundary conditions must be given as [[boundary]] tables")
    directory = _output_directory(data.get("output", {}))
    return Scenario(
        solver=data["solver"],
        mesh=data.get("mesh", ""),
        parameters=dict(parameters),
        boundary=tuple(_boundary_condition(entry) for entry in boundary),
        output_directory=(base / directory) if directory else None,
        title=data.get("title", ""),
        base=base,
    )


def _output_directory(output: Any) -> str | None:
    """``[output] directory``, a non-empty string, or None when not given."""
    if not isinstance(output, dict):
        raise ScenarioError("[output] must be a table, e.g. [output] directory = \"results/run\"")
    _refuse_unknown(output, _OUTPUT_KEYS, "[output] ")
    directory = output.get("directory")
    if directory is not None and (not isinstance(directory, str) or not directory.strip()):
        raise ScenarioError("[output] directory must be a non-empty string (a folder, relative to the scenario)")
    return directory


def _boundary_condition(entry: Any) -> BoundaryCondition:
    if not isinstance(entry, dict) or not {"tag", "kind"} <= set(entry):
        raise ScenarioError("each [[boundary]] needs 'tag' and 'kind' (and optionally 'value')")
    # a misspelt 'value' would otherwise leave the default 0 in its place
    _refuse_unknown(entry, _BOUNDARY_KEYS, "[[boundary]] ")
    tag, kind, value = entry["tag"], entry["kind"], entry.get("value", "0")
    if isinstance(tag, bool) or not isinstance(tag, (str, int)):
        raise ScenarioError(f"[[boundary]] tag must be a name or a tag number, not {tag!r}")
    if not isinstance(kind, str):
        raise ScenarioError(f"[[boundary]] kind must be a string such as \"dirichlet\", not {kind!r}")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ScenarioError(f"[[boundary]] value must be an expression or a number, not {value!r}")
    return BoundaryCondition(str(tag), kind.lower(), str(value))


def _refuse_unknown(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ScenarioError(f"{where}unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
