"""The heat equation du/dt - div(k grad u) = f with P1 elements and a theta scheme.

Semi-discrete (method of lines): M du/dt + K u = F(t), where M is the consistent
mass matrix, K the stiffness matrix and F(t)_i = int f(t) phi_i dx + int_{Gamma_N} g(t) phi_i ds.
One step of the theta scheme from t_n to t_{n+1} = t_n + dt:

    (M + theta dt K) u^{n+1} = (M - (1 - theta) dt K) u^n + dt (theta F^{n+1} + (1 - theta) F^n),

with theta = 1 (implicit Euler: first order, L-stable, damps every mode) or
theta = 1/2 (Crank-Nicolson: second order, A-stable, lets stiff modes ring).
Dirichlet values are taken at t_{n+1} and lifted as in :mod:`pdewb_fem.boundary`.
The left-hand matrix does not change, so it is factorised (or its multigrid
hierarchy built) once before the first step.

Rannacher start-up (Rannacher 1984; Luskin & Rannacher 1982): Crank-Nicolson
barely damps high-frequency modes (amplification -> -1), so rough initial data,
or initial data that disagree with the Dirichlet values, ring and overshoot for
the whole run. The first ``startup_steps`` steps are therefore each replaced by
two implicit-Euler half-steps,

    (M + dt/2 K) u^{n+1/2} = M u^n + dt/2 F^{n+1/2},

which damp those modes and, being a fixed number of O(dt^2) local errors, keep
the scheme second order. Their matrix M + (dt/2) K is exactly Crank-Nicolson's,
so the same factorisation serves both.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np

from workbench.core.events import Event, Frame, LogMessage, Progress, Scalars
from workbench.core.expressions import Expression
from workbench.core.field import Field
from workbench.core.params import resolve_params
from workbench.core.problem import Problem
from workbench.core.timesteps import uniform_steps

from .assembly import SparsityPattern, mass_matrix, require_simplices, simplex_geometry, stiffness_matrix
from .coefficients import per_simplex
from .boundary import BoundaryConditions, ReducedSystem
from .linalg import spd_solver
from .plugin import HEAT

THETA = {"implicit-euler": 1.0, "crank-nicolson": 0.5}

#: A cancel or pause is honoured between two events; report progress at least this often.
PROGRESS_INTERVAL_S = 0.1


def time_steps(t_end: float, dt: float) -> tuple[int, float]:
    """The number of steps and the step that land exactly on t_end: n = ceil(t_end / dt), dt' = t_end / n <= dt.

    ParamError before any step for a dt longer than t_end or an absurd step count
    (:func:`workbench.core.timesteps.uniform_steps`).
    """
    return uniform_steps(HEAT.id, t_end, dt)


def solve(problem: Problem) -> Iterator[Event]:
    """Yield frame 0 (the initial condition), then a frame every ``output_every`` steps and at t_end."""
    mesh = problem.mesh
    require_simplices(mesh, HEAT.id)
    params = resolve_params(HEAT.params, problem.params)
    theta = THETA[params["scheme"]]
    n_steps, dt = time_steps(params["t_end"], params["dt"])
    if n_steps and not math.isclose(dt, params["dt"], rel_tol=1e-12):
        yield LogMessage(f"{HEAT.id}: dt = {params['dt']:g} does not divide t_end = {params['t_end']:g}; "
                         f"taking {n_steps} steps of dt = {dt:.6g} to land on t_end")
    boundary = BoundaryConditions.from_problem(problem)
    yield Progress(0.0, f"assembling on {mesh.n_cells} cells")
    geometry = simplex_geometry(mesh.points, mesh.simplices)
    pattern = SparsityPattern.from_simplices(mesh.simplices, mesh.n_points)
    conductivity = per_simplex(params["conductivity"], "conductivity", mesh.points, mesh.simplices)
    stiffness = stiffness_matrix(geometry, pattern, conductivity)
    mass = mass_matrix(geometry, pattern)
    forcing = _Forcing(Expression(params["source"]), mass, boundary)

    u = Expression(params["initial"])(mesh.points, 0.0)
    u[boundary.constrained] = boundary.constrained_values(0.0)
    yield _frame(0, 0.0, u)
    yield Scalars(0, _diagnostics(u, mass))
    if n_steps == 0:
        return

    yield Progress(0.0, f"preparing the solver for {len(boundary.free)} unknowns")
    # M and K share one sparsity pattern, so the scheme's matrices are sums of their data arrays.
    system = ReducedSystem.eliminate(pattern.matrix(mass.data + theta * dt * stiffness.data), boundary)
    explicit_part = pattern.matrix(mass.data - (1.0 - theta) * dt * stiffness.data)
    solver = spd_solver(system.free_free, params["linear_solver"], mesh.dim, repeated=True)
    yield LogMessage(f"{HEAT.id}: {params['scheme']}, {n_steps} steps of dt = {dt:.6g}; {solver.describe()}")

    def advance(rhs: np.ndarray, t: float) -> np.ndarray:
        values = boundary.constrained_values(t)
        return system.expand(solver.solve(system.rhs(rhs, values), x0=u[system.free]), values)

    startup = params["startup_steps"] if params["scheme"] == "crank-nicolson" else 0
    frame, last_report = 0, time.perf_counter()
    previous_load = forcing(0.0)
    for step in range(1, n_steps + 1):
        t = params["t_end"] if step == n_steps else step * dt
        if step <= startup:  # Rannacher: two implicit-Euler half-steps with Crank-Nicolson's matrix
            u = advance(mass @ u + 0.5 * dt * forcing(t - 0.5 * dt), t - 0.5 * dt)
            load = forcing(t)
            u = advance(mass @ u + 0.5 * dt * load, t)
        else:
            load = forcing(t)
            u = advance(explicit_part @ u + dt * (theta * load + (1.0 - theta) * previous_load), t)
        previous_load = load
        if step % params["output_every"] == 0 or step == n_steps:
            frame += 1
            yield _frame(frame, t, u)
            yield Scalars(step, _diagnostics(u, mass))
        if step == n_steps or time.perf_counter() - last_report >= PROGRESS_INTERVAL_S:
            last_report = time.perf_counter()
            yield Progress(step / n_steps, f"step {step} of {n_steps}, t = {t:.6g}")


class _Forcing:
    """F(t) = M f_h(t) + int_{Gamma_N} g(t) phi ds, evaluated once if nothing depends on t."""

    def __init__(self, source: Expression, mass, boundary: BoundaryConditions) -> None:
        self.source, self.mass, self.boundary = source, mass, boundary
        self.constant = None if source.uses_time or boundary.uses_time else self._evaluate(0.0)

    def __call__(self, t: float) -> np.ndarray:
        return self.constant if self.constant is not None else self._evaluate(t)

    def _evaluate(self, t: float) -> np.ndarray:
        return self.mass @ self.source(self.boundary.points, t) + self.boundary.neumann_load(t)


def _frame(index: int, t: float, u: np.ndarray) -> Frame:
    return Frame(index, t, {"u": Field("u", u, "point")})


def _diagnostics(u: np.ndarray, mass) -> dict[str, float]:
    """Thermal energy (1/2) int u^2 dx = (1/2) u^T M u, and the largest |u|."""
    return {"energy": 0.5 * float(u @ (mass @ u)), "max_abs_u": float(np.abs(u).max(initial=0.0))}
