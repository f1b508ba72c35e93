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

Fallback: a mover that declares one (``MeshMoverContribution.fallback``, e.g. the DMM
network falls back to ``movers.monge_ampere``) and whose mesh inverts a cell is rerun
as that mover when the caller passes it::

    dmm = host.get("movers.dmm", MeshMoverContribution)
    outcome = run_mover(dmm, mesh, field, fallback=host.get(dmm.fallback, MeshMoverContribution))
    outcome.fell_back, outcome.reason   # True, "movers.dmm inverted 3 cells; fell back to movers.monge_ampere: ..."

The fallback gets the monitor parameters it shares with the mover; the report is the
fallback's mesh, its time the two runs together, and ``outcome.first_run`` the
mover's own run. Many fields on one mesh (a trajectory) in one pass, for movers whose
implementation module also defines ``move_many(mesh, fields, params) -> (T, N, 2)``::

    outcomes = run_mover_batch(dmm, mesh, fields, fallback=classical)   # one outcome per field
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..core.errors import PLUGIN_FAILURES, ParamError
from ..core.events import Event, Frame, LogMessage
from ..core.field import Field
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
    """A mover's run, the moved mesh (the original one if it produced none), its report and stop reason.

    After a fallback, ``run`` is the fallback mover's run (whose mesh this is) and
    ``first_run`` the original mover's, whose mesh inverted cells.
    """

    run: Run
    mesh: Mesh
    report: QualityReport
    reason: str
    first_run: Run | None = None

    @property
    def fell_back(self) -> bool:
        return self.first_run is not None


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
    fallback: MeshMoverContribution | None = None,
) -> MoveOutcome:
    """Drive the mover's job to its end (failures end as a failed run) and report on the last mesh.

    With ``fallback`` (the contribution ``mover.fallback`` names), a mesh with an inverted
    cell is replaced by the fallback mover's, and the reason says so (module docstring).
    """
    judge = judge or MoverJudge(mesh, field)
    outcome = _run_once(mover, mesh, params, judge, control, on_event, device)
    if outcome.report.inverted_cells and mover.fallback:
        return fall_back(mover, outcome, fallback, mesh, judge, control=control, on_event=on_event, device=device)
    return outcome


def fall_back(mover: MeshMoverContribution, outcome: MoveOutcome, fallback: MeshMoverContribution | None,
              mesh: Mesh, judge: MoverJudge, **driving: Any) -> MoveOutcome:
    """The fallback mover's outcome for a mesh of ``mover`` that inverted cells, its reason saying so."""
    inverted = outcome.report.inverted_cells
    if fallback is None:
        reason = (f"{mover.id} inverted {inverted} cells; its fallback {mover.fallback} was not given "
                  f"(pass fallback=...): the inverted mesh is kept")
        return replace(outcome, reason=reason, report=replace(outcome.report, note=reason))
    shared = {spec.name for spec in fallback.params}
    params = {name: value for name, value in outcome.run.params.items() if name in shared}
    on_event = driving.get("on_event")
    if on_event is not None:
        on_event(LogMessage(f"{mover.id} inverted {inverted} cells; falling back to {fallback.id}", "warning"))
    second = _run_once(fallback, mesh, params, judge, driving.get("control"), on_event, driving.get("device"))
    reason = f"{mover.id} inverted {inverted} cells; fell back to {fallback.id}: {second.reason}"
    total = outcome.report.wall_time_s + second.report.wall_time_s
    report = replace(second.report, mover=mover.id, note=reason, wall_time_s=total)
    return MoveOutcome(second.run, second.mesh, report, reason, first_run=outcome.run)


def _run_once(mover: MeshMoverContribution, mesh: Mesh, params: Mapping[str, Any] | None, judge: MoverJudge,
              control: JobControl | None, on_event: Callable[[Event], None] | None, device: str | None) -> MoveOutcome:
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
    except PLUGIN_FAILURES as error:  # a mover that cannot start is a failed run, not a crash
        run.fail(error)
    # The mover's time: building its monitor and running its job (not the report's quadrature).
    run.timings["mover_s"] = run.timings.get("setup_s", 0.0) + run.timings.get("wall_s", 0.0)
    points = final_coordinates(run, mesh)
    reason = stop_reason(run)
    report = judge.report(points, mover.id, iterations=run.frames[-1].index if run.frames else 0,
                          wall_time_s=run.timings["mover_s"], note=reason)
    return MoveOutcome(run, moved_mesh(mesh, points), report, reason)


def run_mover_batch(
    mover: MeshMoverContribution,
    mesh: Mesh,
    fields: Sequence[DrivingField] | np.ndarray,
    params: Mapping[str, Any] | None = None,
    *,
    judges: Sequence[MoverJudge] | None = None,
    device: str | None = None,
    fallback: MeshMoverContribution | None = None,
) -> list[MoveOutcome]:
    """One outcome per field of ``fields`` on ``mesh`` (a trajectory), moved in one pass when the mover can.

    A mover whose implementation module defines ``move_many(mesh, fields, params)`` moves
    all (T, N) nodal fields at once, and each field's time is the batch's divided by T;
    any other mover runs field by field through :func:`run_mover`. Fields whose mesh
    inverts a cell fall back as in :func:`run_mover`.
    """
    judges = list(judges) if judges is not None else [MoverJudge(mesh, field) for field in fields]
    batched = _batched_implementation(mover)
    if batched is None:
        return [run_mover(mover, mesh, judge.values, params, judge=judge, device=device, fallback=fallback)
                for judge in judges]
    started = time.perf_counter()
    resolved = dict(resolve_params(mover.params, params))
    _check_cells(mover, mesh)
    with job_context(mover.requires, device=device):
        moved = batched(mesh, np.stack([judge.values for judge in judges]), resolved)
    per_field = (time.perf_counter() - started) / len(judges)
    outcomes = []
    for judge, points in zip(judges, moved, strict=True):
        run = Run(mover.id, resolved)
        run.record(Frame(1, 1.0, {MeshMoverContribution.COORDINATES: Field(MeshMoverContribution.COORDINATES,
                                                                          points, "point")}))
        run.record(LogMessage(f"stopped: moved in a batch of {len(judges)} fields"))
        run.status, run.timings["mover_s"] = RunStatus.SUCCEEDED, per_field
        reason = stop_reason(run)
        report = judge.report(points, mover.id, iterations=1, wall_time_s=per_field, note=reason)
        outcome = MoveOutcome(run, moved_mesh(mesh, points), report, reason)
        if report.inverted_cells and mover.fallback:
            outcome = fall_back(mover, outcome, fallback, mesh, judge, device=device)
        outcomes.append(outcome)
    return outcomes


def _batched_implementation(mover: MeshMoverContribution) -> Callable | None:
    """``move_many`` of the module that holds the mover's ``move``, if it defines one."""
    module_name = mover.implementation.partition(":")[0]
    return getattr(importlib.import_module(module_name), "move_many", None)


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
    "DrivingField", "MoveOutcome", "MoverJudge", "build_monitor", "fall_back", "final_coordinates", "moved_mesh",
    "nodal_values", "run_mover", "run_mover_batch", "stop_reason",
]
