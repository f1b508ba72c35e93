"""Two runs of the same problem side by side: A | B | difference B - A, error curves, metrics.

Run A is the reference. With u_A, u_B the values of one field at one time, read
as P1 interpolants on the mesh (piecewise constants for cell fields):

    relative L2 error   e_L2(t)  = ||u_B - u_A||_L2 / ||u_A||_L2
    max error           e_max(t) = max_i |u_B,i - u_A,i|      (Euclidean over components)
    mean relative L2             = (1 / N) sum_n e_L2(t_n)     (over the N frames)
    speedup                      = wall_A / wall_B             (> 1: B is faster)

The L2 norms come from :mod:`workbench.core.metrics`, which integrates the P1
interpolant exactly with the element mass matrices; all of these are computed
once per :meth:`CompareView.set_runs` / :meth:`CompareView.set_field`, never per frame.

Colours: A and B share one sequential colour range, the union of their ranges at
the shown frame (or a locked one); the difference uses the diverging map on the
symmetric range [-m, m] with m = max |u_B - u_A| at the shown frame, so 0 is the
neutral middle colour and the colour bar carries the scale.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.field import Field
from ..core.mesh import Mesh
from ..core.metrics import error_series
from ..core.run import Run
from .viewport import DIVERGING, MeshViewport
from .plots import styled_plot

#: Rows of the metrics table, (key, label): a run row has a cell for A and one for B; a pair row
#: has one cell spanning both columns.
RUN_ROWS = (("name", "name"), ("solver", "solver"), ("frames", "frames"), ("wall_s", "wall time (s)"))
PAIR_ROWS = (
    ("relative_l2_final", "rel. L2 error, final"),
    ("max_error_final", "max error, final"),
    ("mean_relative_l2", "mean rel. L2 error"),
    ("speedup", "speedup (wall A / B)"),
)


# -- computations (no Qt) --------------------------------------------------------------------


def display_values(values: np.ndarray) -> np.ndarray:
    """What a viewport colours by: the values themselves, or the magnitude of vectors."""
    values = np.asarray(values, dtype=np.float64)
    return np.linalg.norm(values, axis=-1) if values.ndim > 1 else values


def difference_values(values_a: np.ndarray, values_b: np.ndarray) -> np.ndarray:
    """u_B - u_A for scalars; |u_B - u_A| for vectors (a signed difference needs one component)."""
    return display_values(np.asarray(values_b, dtype=np.float64) - np.asarray(values_a, dtype=np.float64))


def union_range(*arrays: np.ndarray) -> tuple[float, float]:
    """[min, max] over all the arrays: one colour range that covers every one of them."""
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if a.size]
    if not finite:
        return 0.0, 1.0
    return min(float(a.min()) for a in finite), max(float(a.max()) for a in finite)


def symmetric_range(difference: np.ndarray) -> tuple[float, float]:
    """[-m, m] with m = max |difference|, so that 0 sits on the diverging map's neutral middle."""
    finite = np.abs(difference[np.isfinite(difference)])
    m = float(finite.max()) if finite.size else 0.0
    return -m, m


def common_fields(run_a: Run, run_b: Run) -> list[str]:
    """Names of the fields both runs have, in A's order."""
    names_b = set(run_b.field_names())
    return [name for name in run_a.field_names() if name in names_b]


def compatibility_problem(mesh: Mesh, run_a: Run, run_b: Run, name_a: str = "A", name_b: str = "B") -> str | None:
    """Why the two runs cannot be compared frame by frame on ``mesh``, or None if they can."""
    for run, name in ((run_a, name_a), (run_b, name_b)):
        if not run.frames:
            return f"Run '{name}' has no frames."
    for name in common_fields(run_a, run_b):
        problem = _field_size_problem(mesh, run_a, run_b, name, name_a, name_b)
        if problem:
            return problem
    if not common_fields(run_a, run_b):
        return (f"The runs have no field in common: '{name_a}' has {run_a.field_names()}, "
                f"'{name_b}' has {run_b.field_names()}.")
    return _times_problem(run_a.times, run_b.times, name_a, name_b)


def _field_size_problem(mesh: Mesh, run_a: Run, run_b: Run, name: str, name_a: str, name_b: str) -> str | None:
    """A message if field ``name`` does not have one value per mesh point (or cell) in both runs."""
    field_a, field_b = run_a.frames[0].fields[name], run_b.frames[0].fields[name]
    if field_a.location != field_b.location:
        return f"Field '{name}' lives on {field_a.location}s in '{name_a}' but on {field_b.location}s in '{name_b}'."
    expected = mesh.n_points if field_a.location == "point" else mesh.n_cells
    sizes = (len(field_a.values), len(field_b.values))
    if sizes != (expected, expected):
        return (f"The runs are not on this mesh: field '{name}' has {sizes[0]} {field_a.location} values in "
                f"'{name_a}' and {sizes[1]} in '{name_b}'; the mesh has {expected} {field_a.location}s.")
    return None


def _times_problem(times_a: np.ndarray, times_b: np.ndarray, name_a: str, name_b: str) -> str | None:
    """A message unless both runs have the same number of frames at the same times."""
    if len(times_a) != len(times_b):
        return f"'{name_a}' has {len(times_a)} frames and '{name_b}' has {len(times_b)}: they must match."
    scale = max(float(np.abs(times_a).max(initial=0.0)), 1.0)
    differ = ~np.isclose(times_a, times_b, rtol=1e-9, atol=1e-12 * scale)
    if differ.any():
        i = int(np.argmax(differ))
        return (f"The frame times differ: frame {i} is at t = {times_a[i]:g} in '{name_a}' "
                f"and at t = {times_b[i]:g} in '{name_b}'.")
    return None


def run_summary(run: Run, name: str) -> dict:
    """One run's column of the table: name, solver, number of frames, wall time (NaN if unknown)."""
    return {"name": name, "solver": run.solver_id, "frames": len(run.frames),
            "wall_s": float(run.timings.get("wall_s", math.nan))}


def pair_metrics(curves: dict[str, np.ndarray], wall_a: float, wall_b: float) -> dict[str, float]:
    """The pair's numbers from the error curves of :func:`error_curves_of` and the wall times."""
    return {
        "relative_l2_final": float(curves["relative_l2"][-1]),
        "max_error_final": float(curves["max_error"][-1]),
        "mean_relative_l2": float(np.mean(curves["relative_l2"])),
        "speedup": speedup(wall_a, wall_b),
    }


def speedup(wall_a: float, wall_b: float) -> float:
    """wall_A / wall_B; NaN when either is unknown or B took no time."""
    if not (math.isfinite(wall_a) and math.isfinite(wall_b)) or wall_b <= 0.0:
        return math.nan
    return wall_a / wall_b


def error_curves_of(mesh: Mesh, series_a: Field, series_b: Field) -> dict[str, np.ndarray]:
    """time, relative L2 error and max error of B against the reference A at every frame."""
    return error_series(mesh, estimate=series_b, reference=series_a)


def format_number(value) -> str:
    """Table text: integers as they are, floats to 6 significant digits, unknown as a dash."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return "—" if not math.isfinite(value) else f"{value:.6g}"


def positive_points(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points a log axis can show (y > 0 and finite): an error of exactly 0 has no logarithm."""
    keep = np.isfinite(y) & (y > 0)
    return x[keep], y[keep]


# -- the widget ------------------------------------------------------------------------------


class CompareView(QtWidgets.QWidget):
    """Compares run B against the reference run A on one mesh."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._mesh: Mesh | None = None
        self._runs: tuple[Run, Run] | None = None
        self._names = ("A", "B")
        self._series: tuple[Field, Field] | None = None
        self._curves: dict[str, np.ndarray] = {}
        self._metrics: dict = {}
        self._index = 0
        self._locked_range: tuple[float, float] | None = None
        self._build()

    # -- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.field_combo = QtWidgets.QComboBox()
        self.field_combo.currentTextChanged.connect(self._on_field_chosen)
        self.lock_box = QtWidgets.QCheckBox("Lock range")
        self.lock_box.setToolTip("Keep the colour range of A and B while scrubbing through time")
        self.lock_box.toggled.connect(self.lock_range)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self.show_frame)
        self.time_label = QtWidgets.QLabel()
        widest = "t = -0.000000e-00  (0000/0000)"
        self.time_label.setMinimumWidth(self.time_label.fontMetrics().horizontalAdvance(widest))
        self.message = QtWidgets.QLabel()
        self.message.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("font-size: 14px; color: #b03030;")

        self._controls = (QtWidgets.QLabel("Field"), self.field_combo, self.lock_box, QtWidgets.QLabel("Time"),
                          self.slider, self.time_label)
        controls = QtWidgets.QHBoxLayout()
        for widget in self._controls:
            controls.addWidget(widget)
        controls.setStretch(4, 1)

        content = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        content.addWidget(self._build_views())
        self._lower = self._build_lower()
        content.addWidget(self._lower)
        content.setStretchFactor(0, 3)
        content.setStretchFactor(1, 2)

        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(content)
        self.stack.addWidget(self.message)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.stack, 1)
        self._show_message("Choose two runs to compare.")

    def _build_views(self) -> QtWidgets.QWidget:
        """Labels over three viewports, A | B | B - A, all looking through A's camera."""
        box = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        self.views = [MeshViewport(box) for _ in range(3)]
        self.labels = [QtWidgets.QLabel() for _ in range(3)]
        for column, (label, view) in enumerate(zip(self.labels, self.views)):
            label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(label, 0, column)
            grid.addWidget(view, 1, column)
            grid.setColumnStretch(column, 1)
        grid.setRowStretch(1, 1)
        view_a, view_b, view_diff = self.views
        view_b.share_camera_with(view_a)
        view_diff.share_camera_with(view_a)
        view_diff.share_camera_with(view_b)  # the same camera again; adds the B <-> diff re-renders
        view_diff.set_colormap(DIVERGING)
        return box

    def _build_lower(self) -> QtWidgets.QWidget:
        """The error-over-time plot (log y) and the metrics table, side by side."""
        self.plot = styled_plot("time", "error of B against A", log_y=True)
        self.plot.addLegend(offset=(10, 10))
        self.l2_curve = self.plot.plot(pen=pg.mkPen("#1f77b4", width=2), symbol="o", symbolSize=5,
                                       name="relative L2")
        self.max_curve = self.plot.plot(pen=pg.mkPen("#d62728", width=2), symbol="t", symbolSize=5,
                                        name="max error")
        dashed = pg.mkPen("#888", style=QtCore.Qt.PenStyle.DashLine)
        self.time_line = pg.InfiniteLine(angle=90, movable=False, pen=dashed)
        self.plot.addItem(self.time_line, ignoreBounds=True)

        self.table = QtWidgets.QTableWidget(len(RUN_ROWS) + len(PAIR_ROWS), 2)
        self.table.setVerticalHeaderLabels([label for _, label in RUN_ROWS + PAIR_ROWS])
        for row in range(len(RUN_ROWS), len(RUN_ROWS) + len(PAIR_ROWS)):
            self.table.setSpan(row, 0, 1, 2)  # one number for the pair, B against the reference A
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumWidth(340)  # room for run names and six significant digits

        lower = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        lower.addWidget(self.plot)
        lower.addWidget(self.table)
        lower.setStretchFactor(0, 1)
        lower.setStretchFactor(1, 1)
        return lower

    # -- public API --------------------------------------------------------------------------

    def set_runs(self, mesh: Mesh, run_a: Run, run_b: Run, name_a: str = "A", name_b: str = "B") -> None:
        """Compare ``run_b`` against the reference ``run_a``; shows a message instead if they do not fit."""
        self._runs, self._series = None, None
        self._curves, self._metrics = {}, {}
        try:
            problem = compatibility_problem(mesh, run_a, run_b, name_a, name_b)
            if problem:
                self._show_message(f"Cannot compare '{name_a}' and '{name_b}'.\n\n{problem}")
                return
            self._mesh, self._runs, self._names = mesh, (run_a, run_b), (name_a, name_b)
            self._set_titles()
            if self.views[0].mesh is not mesh:  # the mesh on show already keeps its camera
                for view in self.views:
                    view.set_mesh(mesh)
            self._fill_field_combo(common_fields(run_a, run_b))
            self._setup_slider(len(run_a.frames))
            self.stack.setCurrentIndex(0)
            self.set_field(self.field_combo.currentText())
        except Exception as error:  # a GUI page must not take the application down with it
            self._runs = None
            self._show_message(f"Cannot compare '{name_a}' and '{name_b}'.\n\n{type(error).__name__}: {error}")

    def set_field(self, name: str) -> None:
        """Compare field ``name``: recompute the error curves and the metrics, then redraw."""
        if self._runs is None or name not in common_fields(*self._runs):
            return
        if self.field_combo.currentText() != name:
            self.field_combo.setCurrentText(name)  # comes back here through the signal
            return
        run_a, run_b = self._runs
        self._series = (run_a.field(name), run_b.field(name))
        self._curves = error_curves_of(self._mesh, *self._series)
        self._metrics = self._compute_metrics()
        self._fill_table()
        self._draw_curves()
        if self.lock_box.isChecked():
            self._locked_range = self._frame_range(self._index)  # a range only means something per field
        self.show_frame(self._index)

    def show_frame(self, index: int) -> None:
        """Show frame ``index`` of both runs and their difference; moves the slider and the time line."""
        if self._series is None:
            return
        index = int(np.clip(index, 0, len(self._curves["time"]) - 1))
        self._index = index
        if self.slider.value() != index:
            self.slider.setValue(index)  # comes back here through the signal
            return
        self._update_views(index)
        time = float(self._curves["time"][index])
        self.time_line.setPos(time)
        self.time_label.setText(f"t = {time:.6g}  ({index + 1}/{len(self._curves['time'])})")

    def lock_range(self, locked: bool) -> None:
        """Keep (True) or release (False) the shared colour range of A and B shown now."""
        if self.lock_box.isChecked() != bool(locked):
            self.lock_box.setChecked(bool(locked))  # comes back here through the signal
            return
        if not locked or self._series is None:
            self._locked_range = None
        elif self._locked_range is None:
            self._locked_range = self._frame_range(self._index)
        if self._series is not None:
            self.show_frame(self._index)

    def set_details_visible(self, visible: bool) -> None:
        """Show (the default) or hide the controls, the error-over-time plot and the metrics table.

        Hidden where one-frame runs of one field are compared on a page that reports its
        own numbers (the surrogate comparison): only A | B | B - A remain.
        """
        for widget in (*self._controls, self._lower):
            widget.setVisible(visible)

    def metrics(self) -> dict:
        """The numbers in the table: ``{"a": {...}, "b": {...}, <pair metrics>}``; empty if nothing is compared."""
        return {key: dict(value) if isinstance(value, dict) else value for key, value in self._metrics.items()}

    def error_curves(self) -> dict[str, np.ndarray]:
        """``time``, ``relative_l2`` and ``max_error`` of B against A at every frame."""
        return {key: values.copy() for key, values in self._curves.items()}

    @property
    def message_text(self) -> str:
        """The message shown instead of the comparison ("" while a comparison is shown)."""
        return self.message.text() if self.stack.currentIndex() == 1 else ""

    def composite_image(self) -> QtGui.QImage:
        """The whole widget as an image, with the VTK renderings painted in.

        ``grab()`` alone leaves the VTK areas black on off-screen platforms, where VTK
        renders into its own buffer rather than the widget's window.
        """
        image = self.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
        painter = QtGui.QPainter(image)
        for view in self.views:
            if view.isVisible():
                pixels = view.capture()
                height, width, _ = pixels.shape
                rendering = QtGui.QImage(pixels.data, width, height, 3 * width, QtGui.QImage.Format.Format_RGB888)
                target = QtCore.QRect(view.mapTo(self, QtCore.QPoint(0, 0)), view.size())
                painter.drawImage(target, rendering)
        painter.end()
        return image

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        for view in self.views:
            view.finalize()  # releases each OpenGL context; children get no close event of their own
        super().closeEvent(event)

    # -- helpers -----------------------------------------------------------------------------

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentIndex(1)

    def _set_titles(self) -> None:
        name_a, name_b = self._names
        titles = (f"A: {name_a} (reference)", f"B: {name_b}", f"difference B − A  ({name_b} − {name_a})")
        for label, title in zip(self.labels, titles):
            label.setText(title)
        self.table.setHorizontalHeaderLabels([f"A: {name_a}", f"B: {name_b}"])

    def _fill_field_combo(self, names: list[str]) -> None:
        current = self.field_combo.currentText()
        self.field_combo.blockSignals(True)
        self.field_combo.clear()
        self.field_combo.addItems(names)
        self.field_combo.setCurrentText(current if current in names else names[0])
        self.field_combo.blockSignals(False)

    def _setup_slider(self, n_frames: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, n_frames - 1)
        self._index = min(self._index, n_frames - 1)
        self.slider.setValue(self._index)
        self.slider.blockSignals(False)

    def _on_field_chosen(self, name: str) -> None:
        if name:
            self.set_field(name)

    def _compute_metrics(self) -> dict:
        """Each run's summary and the pair's metrics, from the error curves computed once per field."""
        run_a, run_b = self._runs
        summary_a, summary_b = run_summary(run_a, self._names[0]), run_summary(run_b, self._names[1])
        pair = pair_metrics(self._curves, summary_a["wall_s"], summary_b["wall_s"])
        return {"a": summary_a, "b": summary_b, **pair}

    def _fill_table(self) -> None:
        for row, (key, _) in enumerate(RUN_ROWS):
            self._set_cell(row, 0, self._metrics["a"][key])
            self._set_cell(row, 1, self._metrics["b"][key])
        for row, (key, _) in enumerate(PAIR_ROWS, start=len(RUN_ROWS)):
            self._set_cell(row, 0, self._metrics[key])

    def _set_cell(self, row: int, column: int, value) -> None:
        """Shows ``value`` formatted; the exact value is kept under Qt.UserRole."""
        item = QtWidgets.QTableWidgetItem(format_number(value))
        item.setData(QtCore.Qt.ItemDataRole.UserRole, value)
        item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(row, column, item)

    def _draw_curves(self) -> None:
        time = self._curves["time"]
        self.l2_curve.setData(*positive_points(time, self._curves["relative_l2"]))
        self.max_curve.setData(*positive_points(time, self._curves["max_error"]))

    def _frame_values(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        series_a, series_b = self._series
        return series_a.values[index], series_b.values[index]

    def _frame_range(self, index: int) -> tuple[float, float]:
        """The shared range of A and B at frame ``index``: the union of both ranges."""
        values_a, values_b = self._frame_values(index)
        return union_range(display_values(values_a), display_values(values_b))

    def _update_views(self, index: int) -> None:
        """Pushes frame ``index`` to the three viewports with their colour ranges, and renders."""
        name = self._series[0].name
        location = self._series[0].location
        values_a, values_b = self._frame_values(index)
        shared = self._locked_range or self._frame_range(index)
        difference = difference_values(values_a, values_b)
        view_a, view_b, view_diff = self.views
        view_a.set_field(name, values_a, location, shared)
        view_b.set_field(name, values_b, location, shared)
        view_diff.set_field("B − A", difference, location, symmetric_range(difference))
        for view in self.views:
            view.render()
