"""The run panel: pick a solver, set parameters and boundary conditions, run and steer."""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from ..core.mesh import ALL_BOUNDARY, Mesh
from ..core.problem import BOUNDARY_KINDS, BoundaryCondition
from ..plugins.contributions import IntegratorContribution, SolverContribution
from .param_form import ParamForm


class BoundaryTable(QtWidgets.QTableWidget):
    """One row per named boundary of the mesh: kind (none/dirichlet/neumann) and value."""

    NONE = "natural"

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["boundary", "condition", "value"])
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().hide()

    def set_mesh(self, mesh: Mesh | None, kinds: tuple[str, ...] = BOUNDARY_KINDS) -> None:
        names = [n for n in mesh.boundary_names() if n != ALL_BOUNDARY] if mesh is not None else []
        names = names or ([ALL_BOUNDARY] if mesh is not None else [])
        self.setRowCount(0)  # drops the previous rows' cell widgets, which would otherwise linger on screen
        self.setRowCount(len(names))
        for row, name in enumerate(names):
            item = QtWidgets.QTableWidgetItem(name)
            item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsEditable)
            self.setItem(row, 0, item)
            combo = QtWidgets.QComboBox()
            combo.addItems([self.NONE, *kinds])
            self.setCellWidget(row, 1, combo)
            self.setItem(row, 2, QtWidgets.QTableWidgetItem("0"))

    def set_condition(self, tag: str, kind: str, value: str) -> None:
        for row in range(self.rowCount()):
            if self.item(row, 0).text() == tag:
                self.cellWidget(row, 1).setCurrentText(kind)
                self.item(row, 2).setText(value)
                return
        raise KeyError(tag)

    def conditions(self) -> tuple[BoundaryCondition, ...]:
        result = []
        for row in range(self.rowCount()):
            kind = self.cellWidget(row, 1).currentText()
            if kind != self.NONE:
                result.append(BoundaryCondition(self.item(row, 0).text(), kind, self.item(row, 2).text() or "0"))
        return tuple(result)


class RunPanel(QtWidgets.QWidget):
    """Emits ``run_requested``; the main window builds the problem and starts it."""

    run_requested = QtCore.Signal()
    pause_requested = QtCore.Signal()
    resume_requested = QtCore.Signal()
    step_requested = QtCore.Signal()
    cancel_requested = QtCore.Signal()

    def __init__(self, solvers: list[SolverContribution | IntegratorContribution], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._solvers = {s.id: s for s in solvers}
        self.solver_combo = QtWidgets.QComboBox()
        for solver in solvers:
            self.solver_combo.addItem(solver.title, solver.id)
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: palette(mid);")
        self.form = ParamForm()
        self.boundaries = BoundaryTable()
        self.run_button = QtWidgets.QPushButton("Run")
        self.pause_button = QtWidgets.QPushButton("Pause")
        self.step_button = QtWidgets.QPushButton("Step")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_label = QtWidgets.QLabel("idle")
        self._paused = False
        self._layout()
        self.solver_combo.currentIndexChanged.connect(self._solver_changed)
        self.run_button.clicked.connect(self.run_requested)
        self.pause_button.clicked.connect(self._toggle_pause)
        self.step_button.clicked.connect(self.step_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self._solver_changed()
        self.set_running(False)

    def _layout(self) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel("<b>Solver</b>"))
        layout.addWidget(self.solver_combo)
        layout.addWidget(self.summary)
        layout.addWidget(QtWidgets.QLabel("<b>Parameters</b>"))
        layout.addWidget(self.form)
        layout.addWidget(QtWidgets.QLabel("<b>Boundary conditions</b>"))
        layout.addWidget(self.boundaries, stretch=1)
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.run_button, self.pause_button, self.step_button, self.cancel_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)

    @property
    def solver(self) -> SolverContribution | IntegratorContribution | None:
        return self._solvers.get(self.solver_combo.currentData())

    def select_solver(self, solver_id: str) -> None:
        index = self.solver_combo.findData(solver_id)
        if index < 0:
            raise KeyError(solver_id)
        self.solver_combo.setCurrentIndex(index)

    def set_mesh(self, mesh: Mesh | None) -> None:
        solver = self.solver
        self.boundaries.set_mesh(mesh, solver.boundary_kinds if solver and solver.boundary_kinds else BOUNDARY_KINDS)

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.solver_combo.setEnabled(not running)
        for button in (self.pause_button, self.step_button, self.cancel_button):
            button.setEnabled(running)
        if not running:
            self._paused = False
            self.pause_button.setText("Pause")

    def show_progress(self, fraction: float, message: str, remaining_s: float) -> None:
        self.progress_bar.setValue(int(round(100 * fraction)))
        eta = "" if math.isnan(remaining_s) else f" - about {remaining_s:.0f} s left"
        self.progress_label.setText(f"{message}{eta}")

    def _toggle_pause(self) -> None:
        self._paused = not self._paused
        self.pause_button.setText("Resume" if self._paused else "Pause")
        (self.pause_requested if self._paused else self.resume_requested).emit()

    def _solver_changed(self) -> None:
        solver = self.solver
        self.form.set_specs(solver.params if solver else ())
        self.summary.setText(solver.summary if solver else "No reference solver is installed.")


class TimeBar(QtWidgets.QWidget):
    """A slider over the stored frames with play/pause; emits ``frame_selected(index)``."""

    frame_selected = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setText("Play")
        self.play_button.setCheckable(True)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.time_label = QtWidgets.QLabel("t = -")
        self.time_label.setMinimumWidth(110)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, stretch=1)
        layout.addWidget(self.time_label)
        self._times: list[float] = []
        self._follow_latest = True
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._advance)
        self.play_button.toggled.connect(self._play_toggled)
        self.slider.valueChanged.connect(self._slider_moved)

    def set_times(self, times: list[float], follow_latest: bool | None = None) -> None:
        """The frame times; the slider jumps to the newest frame unless the user moved it back."""
        if follow_latest is not None:
            self._follow_latest = follow_latest
        self._times = list(times)
        at_end = self.slider.value() == self.slider.maximum()
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(len(self._times) - 1, 0))
        if self._follow_latest and at_end:
            self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)
        self._show_time(self.slider.value())

    @property
    def index(self) -> int:
        return self.slider.value()

    def select(self, index: int) -> None:
        self.slider.setValue(index)

    def _slider_moved(self, index: int) -> None:
        self._follow_latest = index == self.slider.maximum()
        self._show_time(index)
        self.frame_selected.emit(index)

    def _show_time(self, index: int) -> None:
        self.time_label.setText(f"t = {self._times[index]:.4g}" if 0 <= index < len(self._times) else "t = -")

    def _play_toggled(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing and self.slider.value() == self.slider.maximum():
            self.slider.setValue(0)
        self._timer.start() if playing else self._timer.stop()

    def _advance(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.play_button.setChecked(False)
            return
        self.slider.setValue(self.slider.value() + 1)
