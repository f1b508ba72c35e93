"""Set up a problem for a solver contribution and run it through the job protocol.

Shared by the CLI and the GUI: both validate the same way and get the same Run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..core.errors import PLUGIN_FAILURES, ParamError
from ..core.events import Event
from ..core.jobs import JobControl, execute
from ..core.mesh import Mesh
from ..core.params import resolve_params
from ..core.problem import BoundaryCondition, Problem
from ..core.run import Run
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
    """
    resolved = resolve_params(solver.params, params)
    if solver.grid:
        mesh = solver.grid_mesh(resolved)
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
