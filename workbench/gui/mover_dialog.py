"""Mesh > Move mesh: r-adapt the current mesh to a field, watch it move, judge it against the uniform mesh.

The user picks a driving field (a point field of the frame on display, or an
expression of x and y such as a front ``tanh((sqrt((x-0.5)**2 + (y-0.5)**2) - 0.25) / 0.02)``),
a mover and its monitor settings. :func:`move_mesh` runs the mover through
:func:`workbench.compute.moving.run_mover` on the CPU's compute thread
(:mod:`workbench.gui.device_tasks`); each iteration's nodes come back as a
:class:`MeshStep` (fresh numpy arrays, the driving field already carried to the moved
nodes) and are drawn live. The host's quality report of the moved mesh is shown next
to the uniform mesh's (the same :class:`~workbench.compute.moving.MoverJudge`), and
the moved mesh can replace the current one, so the simulation continues on it, or be
exported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ..compute.moving import MoveOutcome, MoverJudge, moved_mesh, run_mover
from ..core.errors import WorkbenchError
from ..core.events import Frame, Scalars
from ..core.expressions import Expression
from ..core.jobs import JobControl
from ..core.mesh import Mesh
from ..core.mesh_quality import QualityReport
from ..core.transfer import PointLocator, interpolate
from ..plugins.contributions import MeshMoverContribution
from ..plugins.host import PluginHost
from .device_tasks import DeviceTask, DeviceTasks
from .notices import show_warning
from .param_form import ParamForm
from .plots import styled_plot
from .scheduler import RenderScheduler
from .viewport import MeshViewport

#: Offered when the frame on display has no point field: a ring front of width 0.02 in the unit square.
DEFAULT_EXPRESSION = "tanh((sqrt((x - 0.5)**2 + (y - 0.5)**2) - 0.25) / 0.02)"
EXPRESSION_LABEL = "Expression of x, y"
FIELD_NAME = "field"  # the colour bar's title
MOVER_DEVICE = "cpu"  # the movers are numpy/scipy; the DMM network is small enough for the CPU


@dataclass(frozen=True)
class DrivingSource:
    """A field the mesh can be moved toward: nodal values on the current mesh, or an expression text."""

    label: str
    field: np.ndarray | str


# -- on the compute thread (no Qt) ---------------------------------------------------------------


@dataclass(frozen=True)
class MeshStep:
    """One mover iteration for display: the moved nodes and the driving field at them."""

    iteration: int
    points: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class MoveResult:
    """What the worker hands back: both reports, the moved mesh and why the mover stopped."""

    uniform: QualityReport
    moved: QualityReport
    mesh: Mesh
    values: np.ndarray  # the driving field at the moved mesh's nodes, for display
    reason: str
    status: str


def field_on_moved_nodes(mesh: Mesh, field: np.ndarray | str) -> Callable[[np.ndarray], np.ndarray]:
    """``values(points)``: the driving field at moved nodes, exact for an expression, else its P1 interpolant.

    Moved nodes stay inside the mesh, so the P1 walk starts where each node was found one
    iteration ago (a hint) and takes a step or two.
    """
    if isinstance(field, str):
        return Expression(field)
    locator, values = PointLocator.for_mesh(mesh), np.asarray(field, dtype=np.float64)
    hint: list[np.ndarray | None] = [None]

    def values_at(points: np.ndarray) -> np.ndarray:
        location = locator.locate(points, hint=hint[0])
        hint[0] = location.simplices
        return interpolate(location, mesh.simplices, values)

    return values_at


def move_mesh(mover: MeshMoverContribution, mesh: Mesh, source: DrivingSource, params: dict[str, Any],
              control: JobControl, report: Callable[[Any], None],
              fallback: MeshMoverContribution | None = None) -> MoveResult:
    """Judge the uniform mesh, run the mover (streaming :class:`MeshStep` and residual Scalars), judge the result.

    A learned mover whose mesh inverts a cell is replaced by its ``fallback`` (the classical
    mover), whose iterations stream in turn; the reason says so.
    """
    judge = MoverJudge(mesh, source.field)
    uniform = judge.uniform()
    values_at = field_on_moved_nodes(mesh, source.field)

    def forward(event) -> None:
        if isinstance(event, Frame) and MeshMoverContribution.COORDINATES in event.fields:
            points = np.array(event.fields[MeshMoverContribution.COORDINATES].values, dtype=np.float64)
            report(MeshStep(event.index, points, values_at(points)))
        elif isinstance(event, Scalars):
            report(event)

    outcome: MoveOutcome = run_mover(mover, mesh, source.field, params, judge=judge, control=control,
                                     on_event=forward, device=MOVER_DEVICE, fallback=fallback)
    return MoveResult(uniform, outcome.report, outcome.mesh, values_at(outcome.mesh.points), outcome.reason,
                      outcome.run.status.value)


# -- the report -----------------------------------------------------------------------------------

#: (label, QualityReport attribute, format) of the report's rows.
REPORT_ROWS = (
    ("inverted cells", "inverted_cells", "{:d}"),
    ("equidistribution CoV", "equidistribution_cov", "{:.3f}"),
    ("min angle (deg)", "min_angle_deg", "{:.1f}"),
    ("max aspect ratio", "max_aspect_ratio", "{:.2f}"),
    ("boundary drift", "boundary_drift", "{:.1e}"),
    ("interpolation error", "interpolation_error", "{:.3e}"),
    ("iterations", "iterations", "{:d}"),
    ("wall time (s)", "wall_time_s", "{:.3f}"),
)


def report_cell(report: QualityReport, attribute: str, fmt: str) -> str:
    value = getattr(report, attribute)
    return "-" if value is None else fmt.format(value)


def error_reduction(uniform: QualityReport, moved: QualityReport) -> float | None:
    """Interpolation error of the uniform mesh over the moved mesh's (> 1: moving helped)."""
    if uniform.interpolation_error is None or not moved.interpolation_error:
        return None
    return uniform.interpolation_error / moved.interpolation_error


# -- the dialog (GUI thread) ----------------------------------------------------------------------


class MoveMeshDialog(QtWidgets.QDialog):
    """Choose a field, a mover and a monitor; watch the mesh move; compare with the uniform mesh."""

    #: The user wants to continue on the moved mesh.
    use_mesh = QtCore.Signal(object)

    def __init__(self, host: PluginHost, tasks: DeviceTasks, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Move mesh (r-adaptation)")
        self.resize(1150, 720)
        self.host, self.tasks = host, tasks
        self.mesh: Mesh | None = None
        self.movers = {m.id: m for m in host.contributions(MeshMoverContribution)}
        self.task: DeviceTask | None = None
        self.result: MoveResult | None = None
        self.steps_received = self.steps_drawn = 0  # iterations that reached the GUI thread / were drawn
        self._residuals: tuple[list[int], list[float]] = ([], [])
        self._started = 0.0
        self.scheduler = RenderScheduler(self)
        self._build()

    def _build(self) -> None:
        self.source_combo = QtWidgets.QComboBox()
        self.expression_edit = QtWidgets.QLineEdit(DEFAULT_EXPRESSION)
        self.mover_combo = QtWidgets.QComboBox()
        for mover in self.movers.values():
            self.mover_combo.addItem(mover.title, mover.id)
        self.form = ParamForm()
        form_scroll = QtWidgets.QScrollArea()
        form_scroll.setWidget(self.form)
        form_scroll.setWidgetResizable(True)
        self.move_button = QtWidgets.QPushButton("Move")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.status = QtWidgets.QLabel("Choose a field and a mover, then Move.")
        self.status.setWordWrap(True)

        controls = QtWidgets.QFormLayout()
        controls.addRow("Field", self.source_combo)
        controls.addRow("Expression", self.expression_edit)
        controls.addRow("Mover", self.mover_combo)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.move_button)
        buttons.addWidget(self.cancel_button)
        left = QtWidgets.QVBoxLayout()
        left.addLayout(controls)
        left.addWidget(form_scroll, stretch=1)
        left.addLayout(buttons)
        left.addWidget(self.status)

        self.viewport = MeshViewport(self, title="moved mesh")
        self.viewport.set_edges_visible(True)
        self.residual_plot = styled_plot("iteration", "residual", "Monge-Ampere residual", log_y=True)
        self.residual_curve = self.residual_plot.plot(pen=pg.mkPen("#1f77b4", width=2))
        self.table = QtWidgets.QTableWidget(len(REPORT_ROWS) + 2, 2)
        self.table.setHorizontalHeaderLabels(["uniform", "moved"])
        self.table.setVerticalHeaderLabels([row[0] for row in REPORT_ROWS] + ["error reduction", "stopped"])
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.use_button = QtWidgets.QPushButton("Continue on moved mesh")
        self.export_button = QtWidgets.QPushButton("Export moved mesh...")
        for button in (self.use_button, self.export_button):
            button.setEnabled(False)
        results = QtWidgets.QHBoxLayout()
        results.addWidget(self.use_button)
        results.addWidget(self.export_button)
        side = QtWidgets.QVBoxLayout()
        side.addWidget(self.table, stretch=2)
        side.addWidget(self.residual_plot, stretch=1)
        side.addLayout(results)

        layout = QtWidgets.QHBoxLayout(self)
        layout.addLayout(left, stretch=2)
        layout.addWidget(self.viewport, stretch=4)
        layout.addLayout(side, stretch=3)

        self.source_combo.currentIndexChanged.connect(self._source_changed)
        self.mover_combo.currentIndexChanged.connect(self._mover_changed)
        self.move_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(self._use_moved_mesh)
        self.export_button.clicked.connect(self._export_dialog)
        self._mover_changed()

    # -- inputs ----------------------------------------------------------------------------------

    def set_inputs(self, mesh: Mesh | None, sources: list[DrivingSource]) -> None:
        """The mesh to move and the fields offered (plus an expression, always)."""
        self.mesh = mesh
        self.source_combo.clear()
        for source in sources:
            self.source_combo.addItem(source.label, source)
        self.source_combo.addItem(EXPRESSION_LABEL, None)
        if mesh is not None:
            self.viewport.set_mesh(mesh)
            self._colour_unmoved(self.source())
            self.viewport.reset_camera()
            self.viewport.render()
        self.move_button.setEnabled(mesh is not None and bool(self.movers))
        if mesh is None:
            self._set_status("Open a mesh first.", error=True)
        elif not self.movers:
            self._set_status("No mesh mover is installed.", error=True)

    def select_mover(self, mover_id: str) -> None:
        self.mover_combo.setCurrentIndex(self.mover_combo.findData(mover_id))

    def mover(self) -> MeshMoverContribution | None:
        return self.movers.get(self.mover_combo.currentData())

    def source(self) -> DrivingSource:
        chosen = self.source_combo.currentData()
        return chosen if chosen is not None else DrivingSource(EXPRESSION_LABEL, self.expression_edit.text())

    def _source_changed(self) -> None:
        self.expression_edit.setEnabled(self.source_combo.currentData() is None)

    def _mover_changed(self) -> None:
        mover = self.mover()
        self.form.set_specs(mover.params if mover else ())

    # -- running ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done

    def start(self) -> bool:
        mover, mesh, source = self.mover(), self.mesh, self.source()
        if mover is None or mesh is None or self.busy:
            return False
        if isinstance(source.field, str):
            try:
                Expression(source.field)
            except WorkbenchError as error:
                self._set_status(str(error), error=True)
                return False
        params, control = self.form.values(), JobControl()
        fallback = self.movers.get(mover.fallback) if mover.fallback else None
        self.result, self.steps_received, self.steps_drawn, self._residuals = None, 0, 0, ([], [])
        self.residual_curve.setData([], [])
        self._fill_report(None)
        self.task = self.tasks.start(MOVER_DEVICE, f"moving the mesh with {mover.id}",
                                     lambda report: move_mesh(mover, mesh, source, params, control, report, fallback),
                                     control)
        self.task.event.connect(self._on_event)
        self.task.finished.connect(self._on_finished)
        self.task.failed.connect(self._on_failed)
        self._started = time.perf_counter()
        self._set_busy(True)
        self._set_status(f"Moving toward {source.label} with {mover.title}...")
        return True

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _on_event(self, item: Any) -> None:
        if isinstance(item, MeshStep):
            self.steps_received += 1
            self.scheduler.submit("mesh", lambda step=item: self._draw_step(step))
        elif isinstance(item, Scalars) and "residual" in item.values:
            steps, values = self._residuals
            steps.append(item.step)
            values.append(max(abs(item.values["residual"]), 1e-300))
            self.residual_curve.setData(steps, values)

    def _draw_step(self, step: MeshStep) -> None:
        self.viewport.set_mesh(moved_mesh(self.mesh, step.points))
        self.viewport.set_field(FIELD_NAME, step.values)
        self.viewport.render()
        self.steps_drawn += 1
        self._set_status(f"iteration {step.iteration}, {time.perf_counter() - self._started:.1f} s")

    def _on_finished(self, result: MoveResult) -> None:
        self.scheduler.flush()
        self.result = result
        self._set_busy(False)
        self._fill_report(result)
        self.viewport.set_mesh(result.mesh)
        self.viewport.set_field(FIELD_NAME, result.values)
        self.viewport.render()
        failed = result.status == "failed"
        self._set_status(f"{result.moved.mover}: {result.reason}", error=failed)
        self.use_button.setEnabled(not failed and result.moved.inverted_cells == 0)
        self.export_button.setEnabled(not failed)

    def _on_failed(self, message: str) -> None:
        self._set_busy(False)
        self._set_status(message, error=True)

    def _fill_report(self, result: MoveResult | None) -> None:
        for row, (_label, attribute, fmt) in enumerate(REPORT_ROWS):
            for column, report in enumerate((result.uniform, result.moved) if result else (None, None)):
                self._set_cell(row, column, report_cell(report, attribute, fmt) if report else "")
        reduction = error_reduction(result.uniform, result.moved) if result else None
        self._set_cell(len(REPORT_ROWS), 1, "-" if reduction is None else f"{reduction:.2f}x")
        self._set_cell(len(REPORT_ROWS) + 1, 1, result.reason if result else "")

    def _set_cell(self, row: int, column: int, text: str) -> None:
        item = QtWidgets.QTableWidgetItem(text)
        item.setToolTip(text)
        self.table.setItem(row, column, item)

    def report_text(self, row_label: str, column: int) -> str:
        """The text of one report cell, by row label (tests and screenshots read it)."""
        labels = [row[0] for row in REPORT_ROWS] + ["error reduction", "stopped"]
        item = self.table.item(labels.index(row_label), column)
        return item.text() if item else ""

    # -- results ---------------------------------------------------------------------------------

    def _use_moved_mesh(self) -> None:
        if self.result is not None:
            self.use_mesh.emit(self.result.mesh)

    def _export_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export moved mesh", "moved.vtu", "VTU (*.vtu)")
        if path:
            self.export(path)

    def export(self, path: str) -> bool:
        from ..io.series import write_vtu

        if self.result is None:
            return False
        try:
            write_vtu(path, self.result.mesh)
        except (OSError, WorkbenchError) as error:
            show_warning(self, "Export moved mesh", str(error))
            return False
        self._set_status(f"wrote {path}")
        return True

    # -- helpers ---------------------------------------------------------------------------------

    def _colour_unmoved(self, source: DrivingSource) -> None:
        """Colour the unmoved mesh by the driving field (its nodal values, or the expression at the nodes)."""
        try:
            values = source.field if isinstance(source.field, np.ndarray) else Expression(source.field)(self.mesh.points)
        except (WorkbenchError, ValueError):
            return  # an expression still being typed: the mesh shows bare
        self.viewport.set_field(FIELD_NAME, values)

    def _set_busy(self, busy: bool) -> None:
        self.move_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        for button in (self.use_button, self.export_button):
            button.setEnabled(False if busy else button.isEnabled())

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #b00020;" if error else "")
        self.status.setText(text)

    def finalize(self) -> None:
        """Stop drawing and release the VTK window (before the dialog goes away)."""
        self.cancel()
        self.scheduler.stop()
        self.viewport.finalize()

