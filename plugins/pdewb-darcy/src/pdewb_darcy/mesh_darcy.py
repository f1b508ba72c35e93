"""Darcy flow -div(a grad u) = f on the user's triangle mesh with P1 finite elements.

The coefficient is the FNO Darcy recipe (Li et al. 2021, ``GRF.m``; see
:mod:`pdewb_darcy.grf`): a = 12 where a Gaussian random field (alpha 2, tau 3,
s = n + 1 cosine modes per axis) is >= 0, a = 3 elsewhere. The field is the one
``darcy.fd`` draws for the same seed and n, stretched over the mesh's bounding box
and summed as a cosine series at each triangle's centroid, so a is constant per
element (P1 stiffness needs one value per simplex) and the interfaces follow the
mesh edges closest to the field's zero level.

Weak form, as in :mod:`pdewb_fem.poisson`, solved by its `solve_stationary`:
find u_h in V_h with u_h = g_D on Gamma_D and

    int_Omega a grad u_h . grad v_h dx = int_Omega f v_h dx + int_{Gamma_N} g v_h ds

for all v_h vanishing on Gamma_D. Without user boundary conditions u = 0 on the
whole boundary (the recipe's condition).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
from pdewb_fem.boundary import BoundaryConditions
from pdewb_fem.poisson import solve_stationary

from workbench.core.errors import ParamError
from workbench.core.events import Event, Frame, LogMessage, Progress
from workbench.core.field import Field
from workbench.core.mesh import ALL_BOUNDARY, Mesh
from workbench.core.params import resolve_params
from workbench.core.problem import BoundaryCondition, Problem

from .grf import gaussian_random_field_at, threshold
from .plugin import DARCY_FEM


def solve(problem: Problem) -> Iterator[Event]:
    """The job: coefficient at the centroids, P1 assembly, solve; one frame with u (points) and a (cells)."""
    mesh = problem.mesh
    require_triangles(mesh)
    params = resolve_params(DARCY_FEM.params, problem.params)
    boundary = BoundaryConditions.from_problem(with_default_boundary(problem))
    if not boundary.has_dirichlet:
        raise ParamError(f"{DARCY_FEM.id}: without a Dirichlet condition u is only defined up to a constant; "
                         "set u on at least one boundary")
    yield Progress(0.0, f"coefficient from the random field (seed {params['seed']}, n = {params['n']})")
    a = centroid_coefficient(mesh, params["n"], params["seed"])
    yield Progress(0.2, f"assembling and solving on {mesh.n_cells} triangles")
    u, solver = solve_stationary(mesh, a, params["source"], boundary, params["linear_solver"])
    yield LogMessage(f"{DARCY_FEM.id}: {solver.describe()}")
    yield Frame(0, 0.0, {"u": Field("u", u, "point"), "a": Field("a", cell_values(mesh, a), "cell")})
    yield Progress(1.0, "done")


def require_triangles(mesh: Mesh) -> None:
    """The random field is two-dimensional: only planar triangle meshes, refused in one line otherwise."""
    types = sorted({block.type for block in mesh.cells})
    if types != ["triangle"] or mesh.gdim != 2:
        raise ParamError(f"{DARCY_FEM.id} needs a 2D triangle mesh; this one has {', '.join(types)} cells "
                         f"in {mesh.gdim}D")


def with_default_boundary(problem: Problem) -> Problem:
    """The user's conditions if any; else u = 0 on every boundary facet (the FNO Darcy problem)."""
    if problem.boundary_conditions:
        return problem
    return dataclasses.replace(problem, boundary_conditions=(BoundaryCondition(ALL_BOUNDARY, "dirichlet", "0"),))


def centroid_coefficient(mesh: Mesh, n: int, seed: int) -> np.ndarray:
    """a = 12 / 3 (thresholded GRF with s = n + 1 modes) at each simplex centroid, the field spanning the bounding box."""
    points = mesh.points[:, :2]
    bounds = tuple(zip(points.min(axis=0), points.max(axis=0)))  # ((x_low, x_high), (y_low, y_high))
    centroids = points[mesh.simplices].mean(axis=1)
    return threshold(gaussian_random_field_at(centroids, int(n) + 1, int(seed), bounds))


def cell_values(mesh: Mesh, per_simplex: np.ndarray) -> np.ndarray:
    """Per-simplex values as a cell field (one simplex per triangle, so this only reorders by parent cell)."""
    values = np.empty(mesh.n_cells)
    values[mesh.simplex_cells] = per_simplex
    return values
