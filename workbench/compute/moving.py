"""Run a mesh mover through the job protocol and judge its mesh (Qt-free; the CLI and GUI share it).

    judge = MoverJudge(mesh, field, reference=exact_function)   # once per driving field
    uniform = judge.uniform()                                   # the unmoved mesh's report
    outcome = run_mover(host.get("movers.monge_ampere", MeshMoverContribution), mesh, field,
                        {"alpha": 4}, judge=judge)
    outcome.report, outcome.mesh, outcome.reason, outcome.run

The host, not the mover, builds the monitor the mover adapts to (from the mover's
monitor parameters, :class:`workbench.core.monitors.MonitorSpec`) and the *reference*
monitor the report measures equidistribution with (fixed settings,
:data:`~workbench.core.monitors.REFERENCE_MONITOR`, the same for every mover), so
the rows of different movers and of the uniform mesh compare directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import ParamError
from ..core.events import Event
from ..core.expressions import Expression
from ..core.jobs import JobControl, execute
from ..core.mesh import Mesh
from ..core.mesh_quality import QualityReport, Reference, quality_report
from ..core.monitors import REFERENCE_MONITOR, FieldMonitor, MonitorSpec
from ..core.params import resolve_params
from ..core.run import Run, RunStatus
from ..plugins.contributions import MeshMoverContribution
from .torch_context import job_context

#: A driving field: nodal values on the mesh, a function of the points, or an expression of x, y.
DrivingField = np.ndarray | Callable[[np.ndarray], np.ndarray] | str


@dataclass
class MoveOutcome:
    """A mover's run, the moved mesh (the original one if it produced none), its report and stop reason."""

    run: Run
    mesh: Mesh
    report: QualityReport
    reason: str


def moved_mesh(original: Mesh, points: np.ndarray) -> Mesh:
    """``original`` with its nodes at ``points``: same cells, boundary tags and names."""
    return Mesh(np.asarray(points, dtype=np.float64), original.cells, original.boundary,
                original.physical_names, {}, original.source)


def as_function(field: Callable[[np.ndarray], np.ndarray] | str) -> Callable[[np.ndarray], np.ndarray]:
    """A function of (n, d) points from a callable or an expression text such as 'tanh((x - 0.5) / 0.02)'."""
    return Expression(field) if isinstance(field, str) else field


def nodal_values(mesh: Mesh, field: DrivingField) -> np.ndarray:
    """The driving field at the nodes of ``mesh``."""
    values = np.asarray(field, dtype=np.float64) if isinstance(field, np.ndarray) else as_function(field)(mesh.points)
    if values.shape[0] != mesh.n_points:
        raise ParamError(f"the driving field has {values.shape[0]} values, the mesh {mesh.n_points} points")
    return values


class MoverJudge:
    """Computes every mover's quality report for one mesh and driving field, the same way.

    ``reference`` is what the interpolation error is measured against: a function of
    points, or a :class:`~workbench.core.mesh_quality.FineReference`. It defaults to
    the driving field itself when that is a function or expression; with nodal values
    only, there is nothing finer to compare with, and the error is not reported.
    """

    def __init__(self, mesh: Mesh, field: DrivingField, reference: Reference | None = None,
                 subdivisions: int = 4) -> None:
        self.mesh = mesh
        self.values = nodal_values(mesh, field)
        if reference is None and not isinstance(field, np.ndarray):
            reference = as_function(field)
        self.reference = reference
        self.subdivisions = subdivisions
        self.monitor = FieldMonitor(mesh, self.values, REFERENCE_MONITOR)

    def report(self, points: np.ndarray, mover: str, iterations: int = 0, wall_time_s: float = 0.0,
               note: str = "") -> QualityReport:
        return quality_report(self.mesh, points, self.monitor, self.reference, mover=mover, iterations=iterations,
                              wall_time_s=wall_time_s, note=note, subdivisions=self.subdivisions)

    def uniform(self) -> QualityReport:
        """The report of the unmoved mesh: the baseline row."""
        return self.report(self.mesh.points, "uniform")


def build_monitor(mesh: Mesh, values: np.ndarray, params: Mapping[str, Any]) -> FieldMonitor:
    """The monitor a mover adapts to, from its resolved monitor parameters."""
    return FieldMonitor(mesh, values, MonitorSpec.from_params(params))


def run_mover(
    mover: MeshMoverContribution,
    mesh: Mesh,
    field: DrivingField,
    params: Mapping[str, Any] | None = None,
    *,
    judge: MoverJudge | None = None,
    control: JobControl | None = None,
    on_event: Callable[[Event], None] | None = None,
    device: str | None = None,
) -> MoveOutcome:
    """Drive the mover's job to its end (failures end as a failed run) and report on the last valid mesh."""
    judge = judge or MoverJudge(mesh, field)
    run = Run(mover.id, {})
    started = time.perf_counter()
    try:
        _check_cells(mover, mesh)
        resolved = resolve_params(mover.params, params)
        run.params = dict(resolved)
        monitor = build_monitor(mesh, judge.values, resolved)
        job = mover.move_job(mesh, monitor, resolved)
        run.timings["setup_s"] = time.perf_counter() - started
        with job_context(mover.requires, device=device):
            execute(job, run, control, on_event)
    except Exception as error:  # noqa: BLE001 - a mover that cannot start is a failed run, not a crash
        run.fail(error)
    # The mover's time: building its monitor and running its job (not the report's quadrature).
    run.timings["mover_s"] = run.timings.get("setup_s", 0.0) + run.timings.get("wall_s", 0.0)
    points = final_coordinates(run, mesh)
    reason = stop_reason(run)
    report = judge.report(points, mover.id, iterations=run.frames[-1].index if run.frames else 0,
                          wall_time_s=run.timings["mover_s"], note=reason)
    return MoveOutcome(run, moved_mesh(mesh, points), report, reason)


def final_coordinates(run: Run, mesh: Mesh) -> np.ndarray:
    """The last frame's moved coordinates, or the original nodes when the run produced none."""
    for frame in reversed(run.frames):
        field = frame.fields.get(MeshMoverContribution.COORDINATES)
        if field is not None:
            points = np.asarray(field.values, dtype=np.float64)
            if points.shape != mesh.points.shape:
                raise ParamError(f"'{run.solver_id}' returned coordinates of shape {points.shape}, "
                                 f"the mesh has {mesh.points.shape}")
            return points
    return mesh.points


def stop_reason(run: Run) -> str:
    """Why the mover stopped: its last 'converged'/'stopped' message, or the run's status and error."""
    if run.status is RunStatus.FAILED:
        return f"failed: {run.error}"
    if run.status is RunStatus.CANCELLED:
        return "cancelled: kept the last mesh computed"
    for line in reversed(run.log):
        text = line.split("] ", 1)[-1]
        if text.startswith(("converged", "stopped")):
            return text
    return run.status.value


def _check_cells(mover: MeshMoverContribution, mesh: Mesh) -> None:
    unsupported = sorted({b.type for b in mesh.cells} - set(mover.cell_types)) if mover.cell_types else []
    if unsupported:
        raise ParamError(f"'{mover.id}' moves {', '.join(mover.cell_types)} meshes; this one has {', '.join(unsupported)}")


__all__ = [
    "DrivingField", "MoveOutcome", "MoverJudge", "build_monitor", "final_coordinates", "moved_mesh",
    "nodal_values", "run_mover", "stop_reason",
]
