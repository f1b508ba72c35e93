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
    unknown = sorted(set(data) - _TOP_LEVEL)
    if unknown:
        raise ScenarioError(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_TOP_LEVEL))})")
    if not isinstance(data.get("solver"), str):
        raise ScenarioError("'solver' must be given as a string")
    if not isinstance(data.get("mesh", ""), str):
        raise ScenarioError("'mesh' must be a string (a path or sample:ID); solvers with a grid of their own need none")
    parameters = data.get("parameters", {})
    if not isinstance(parameters, dict):
        raise ScenarioError("[parameters] must be a table")
    boundary = tuple(_boundary_condition(entry) for entry in data.get("boundary", []))
    directory = data.get("output", {}).get("directory")
    return Scenario(
        solver=data["solver"],
        mesh=data.get("mesh", ""),
        parameters=dict(parameters),
        boundary=boundary,
        output_directory=(base / directory) if directory else None,
        title=str(data.get("title", "")),
        base=base,
    )


def _boundary_condition(entry: Any) -> BoundaryCondition:
    if not isinstance(entry, dict) or not {"tag", "kind"} <= set(entry):
        raise ScenarioError("each [[boundary]] needs 'tag' and 'kind' (and optionally 'value')")
    return BoundaryCondition(str(entry["tag"]), str(entry["kind"]).lower(), str(entry.get("value", "0")))
