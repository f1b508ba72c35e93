"""Set up a problem for a solver contribution and run it through the job protocol.

Shared by the CLI and the GUI: both validate the same way and get the same Run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..core.errors import PLUGIN_FAILURES, ParamError, PluginError, WorkbenchError, describe_failure
from ..core.events import Event
from ..core.jobs import JobControl, execute
from ..core.mesh import Mesh
from ..core.params import resolve_params
from ..core.problem import BoundaryCondition, Problem
from ..core.run import Run
from ..core.timesteps import uniform_steps
from ..plugins.contributions import SolverContribution
from .torch_context import job_context


def build_problem(
    solver: SolverContribution,
    mesh: Mesh | None,
    params: Mapping[str, Any] | None = None,
    boundary_conditions: Iterable[BoundaryCondition] = (),
) -> Problem:
    """Check the mesh and conditions against what the solver declares, resolve parameters.

    A solver with a grid of its own gets that grid as its mesh (``mesh`` is ignored).
    Building the grid runs plugin code before any run exists to record a failure, so
    a failure there (a bug, a grid too large for memory) is a one-line PluginError;
    a plugin's own WorkbenchError (a parameter it refuses) keeps its message.

    A time-dependent solver stepping with ``dt`` to ``t_end`` has its step checked
    here, before anything runs or is written (dt <= t_end, not absurdly many steps:
    :func:`~workbench.core.timesteps.uniform_steps`).
    """
    resolved = resolve_params(solver.params, params)
    _check_time_steps(solver, resolved)
    if solver.grid:
        mesh = _grid_of(solver, resolved)
    elif mesh is None:
        raise ParamError(f"'{solver.id}' solves on a mesh: open or name one")
    unsupported = sorted({b.type for b in mesh.cells} - set(solver.cell_types)) if solver.cell_types else []
    if unsupported:
        raise ParamError(
            f"'{solver.id}' works on {', '.join(solver.cell_types)} cells; this mesh has {', '.join(unsupported)}"
        )
    boundary_conditions = tuple(boundary_conditions)
    for condition in boundary_conditions:
        if solver.boundary_kinds and condition.kind not in solver.boundary_kinds:
            raise ParamError(f"'{solver.id}' does not support {condition.kind} conditions (on '{condition.tag}')")
    return Problem(mesh, solver.equation, resolved, boundary_conditions)


def _check_time_steps(solver: SolverContribution, params: Mapping[str, Any]) -> None:
    """The shared time-step refusals for solvers that follow the dt / t_end convention (the solver
    repeats them for callers that build a Problem themselves)."""
    if solver.time_dependent and {"dt", "t_end"} <= set(params):
        uniform_steps(solver.id, params["t_end"], params["dt"])


def _grid_of(solver: SolverContribution, params: Mapping[str, Any]) -> Mesh:
    try:
        return solver.grid_mesh(params)
    except WorkbenchError:
        raise
    except MemoryError:
        raise PluginError(f"'{solver.id}': not enough memory to build its grid for these parameters "
                          "(lower the grid size)") from None
    except PLUGIN_FAILURES as error:
        raise PluginError(f"'{solver.id}' could not build its grid: {describe_failure(error)}") from None


def run_solver(
    solver: SolverContribution,
    problem: Problem,
    control: JobControl | None = None,
    on_event: Callable[[Event], None] | None = None,
    device: str | None = None,
) -> Run:
    """Load the solver's implementation and drive it; failures end as a failed Run.

    Solvers that need torch run under :func:`~.torch_context.torch_job_context`
    (``device`` or the selected one, inference mode) on the calling thread.
    """
    run = Run(solver.id, dict(problem.params))
    try:
        job = solver.load()(problem)
        with job_context(solver.requires, device=device) as device:
            if device is not None:
                run.log.append(f"[info] torch device: {device}")
            return execute(job, run, control, on_event)
    except PLUGIN_FAILURES as error:  # a plugin that cannot start is a failed run, not a crash
        run.fail(error)
        return run
