"""The Poisson equation -div(k grad u) = f with P1 finite elements.

Weak form: find u_h in V_h (continuous, piecewise linear) with u_h = g_D at the
Dirichlet nodes, such that for every v_h in V_h vanishing on Gamma_D

    int_Omega k grad u_h . grad v_h dx = int_Omega f v_h dx + int_{Gamma_N} g v_h ds,

i.e. K u = F restricted to the free nodes (see :mod:`pdewb_fem.boundary`).

Without any Dirichlet condition u is determined only up to a constant and K is
singular; rather than pick a constant silently, :func:`solve` refuses such a
problem with a ParamError that says what to add.
"""

from __future__ import annotations

from collections.abc import Iterator

from workbench.core.errors import ParamError
from workbench.core.events import Event, Frame, LogMessage, Progress
from workbench.core.expressions import Expression
from workbench.core.field import Field
from workbench.core.params import resolve_params
from workbench.core.problem import Problem

from .assembly import SparsityPattern, load_vector, require_simplices, simplex_geometry, stiffness_matrix
from .coefficients import per_simplex
from .boundary import BoundaryConditions, ReducedSystem
from .linalg import spd_solver
from .plugin import POISSON


def solve(problem: Problem) -> Iterator[Event]:
    """Assemble, solve, and yield the solution as one frame (index 0, time 0)."""
    mesh = problem.mesh
    require_simplices(mesh, POISSON.id)
    params = resolve_params(POISSON.params, problem.params)
    boundary = BoundaryConditions.from_problem(problem)
    if not boundary.has_dirichlet:
        raise ParamError(
            f"{POISSON.id}: without a Dirichlet condition the solution is only defined up to a constant; "
            "set u on at least one boundary"
        )
    for warning in _time_warnings(params["source"], boundary):
        yield LogMessage(warning, level="warning")
    yield Progress(0.0, f"assembling and solving on {mesh.n_cells} cells")
    conductivity = per_simplex(params["conductivity"], "conductivity", mesh.points, mesh.simplices)
    u, solver = solve_stationary(mesh, conductivity, params["source"], boundary, params["linear_solver"])
    yield LogMessage(f"{POISSON.id}: {solver.describe()}" + _iterations(solver))
    yield Frame(0, 0.0, {"u": Field("u", u, "point")})
    yield Progress(1.0, "done")


def solve_stationary(mesh, conductivity, source: str, boundary: BoundaryConditions, linear_solver: str):
    """u_h of -div(k grad u) = f with k one value per simplex (or a number): (u at the nodes, solver).

    Assembles K and F (with the Neumann loads), eliminates the Dirichlet nodes and
    solves the SPD system on the free ones; shared by every stationary P1 solver.
    """
    geometry = simplex_geometry(mesh.points, mesh.simplices)
    pattern = SparsityPattern.from_simplices(mesh.simplices, mesh.n_points)
    stiffness = stiffness_matrix(geometry, pattern, conductivity)
    values_f = Expression(source)(mesh.points, 0.0)
    load = load_vector(mesh.points, mesh.simplices, values_f, geometry.measures) + boundary.neumann_load(0.0)
    system = ReducedSystem.eliminate(stiffness, boundary)
    solver = spd_solver(system.free_free, linear_solver, mesh.dim)
    values = boundary.constrained_values(0.0)
    return system.expand(solver.solve(system.rhs(load, values)), values), solver


def _time_warnings(source: str, boundary: BoundaryConditions) -> list[str]:
    """The equation is stationary: anything written in terms of t is evaluated at t = 0, and said so."""
    parts = (*boundary.dirichlet, *boundary.neumann)
    names = [f"boundary value on '{part.tag}'" for part in parts if part.value.uses_time]
    if Expression(source).uses_time:
        names.insert(0, "source")
    return [f"{POISSON.id} is stationary: the {name} uses t and is evaluated at t = 0" for name in names]


def _iterations(solver) -> str:
    count = getattr(solver, "iterations", None)
    return f"; converged in {count} CG iterations" if count is not None else ""
