"""What the window keeps about each run: its result, how it was started, and the mesh it ran on.

A run's frames only make sense on the mesh they were computed on, so every record
carries that mesh (and how it was opened: a file, a sample, or a solver's own grid).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.mesh import Mesh
from ..core.problem import BoundaryCondition
from ..core.run import Run


@dataclass
class RunSetup:
    """What a run was started with, besides its solver and parameters: kept to record it when it ends."""

    boundary_conditions: tuple[BoundaryCondition, ...]
    mesh: Mesh
    mesh_reference: str | None  # None: a solver's own grid, which has no file


@dataclass
class RunRecord:
    """A run the window knows about: its label, result, boundary conditions and the mesh it ran on.

    ``saved`` is True once the run is in a project file as it is now (saved or
    opened from one): closing the window asks before losing a run that is not.
    """

    name: str
    run: Run
    boundary_conditions: tuple[BoundaryCondition, ...]
    mesh: Mesh
    mesh_reference: str | None
    saved: bool = False


def same_mesh(a: Mesh | None, b: Mesh | None) -> bool:
    """True if both meshes have the same points and cells (a grid solver rebuilds an equal grid each run)."""
    if a is b:
        return True
    if a is None or b is None or a.points.shape != b.points.shape or len(a.cells) != len(b.cells):
        return False
    return np.array_equal(a.points, b.points) and all(
        x.type == y.type and np.array_equal(x.connectivity, y.connectivity) for x, y in zip(a.cells, b.cells)
    )
