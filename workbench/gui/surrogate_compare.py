"""Surrogates > Compare with reference: ``pdewb compare`` with tables, plots and fields.

:func:`run_comparison` runs on the compute thread of the surrogate's device
(:mod:`workbench.gui.device_tasks`): :func:`workbench.compute.comparison.compare_surrogate`
re-solves the test samples with the reference solver and times both sides (seconds
to minutes); then the surrogate's predictions of every sample are kept for display,
with the solver's grid mesh. Only numpy arrays and plain objects come back to the
GUI thread, which draws:

- the metrics table: relative L2 error statistics, seconds per query (one query per
  call and batched), speedup, break-even queries, data and training cost;
- the per-sample relative L2 errors, sorted (click a point to show that sample);
- one sample: reference | surrogate | difference in the compare view (one camera,
  one colour range) for 2D and 3D grids, or as curves for 1D grids.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ..core.errors import WorkbenchError
from ..core.events import Frame
from ..core.field import Field
from ..core.mesh import Mesh
from ..core.run import Run, RunStatus
from ..plugins.host import PluginHost
from .device_tasks import DeviceTask, DeviceTasks
from .train_dialog import ERROR_STYLE, NOTE_STYLE, _heading, _note_label, _with_browse, duration
from .plots import plain_axes, styled_plot
from .notices import show_warning

WARNING_STYLE = "color: #a06000;"
REFERENCE_PEN, SURROGATE_PEN, DIFFERENCE_PEN = "#1f77b4", "#ff7f0e", "#d62728"


# -- on the compute thread (no Qt) ---------------------------------------------------------------


@dataclass
class ComparisonOutcome:
    """What the worker hands back: the comparison and, per test pair, the two answers.

    ``targets`` and ``predictions`` are (P, C, *grid); ``pair_samples`` the data-set sample
    of each pair (P = samples, except for autoregressive tasks with several windows per
    sample); ``mesh`` the reference solver's grid mesh for 2D and 3D grids, else None.
    """

    comparison: Any  # workbench.compute.comparison.SurrogateComparison
    targets: np.ndarray
    predictions: np.ndarray
    pair_samples: np.ndarray
    field: str
    grid: dict
    mesh: Mesh | None
    mesh_problem: str = ""

    @property
    def dim(self) -> int:
        return self.targets.ndim - 2

    @property
    def errors(self) -> np.ndarray:
        return np.asarray(self.comparison.errors, dtype=np.float64)

    def seed_of(self, pair: int) -> int:
        return int(self.comparison.seeds[self.pair_samples[pair]])


def run_comparison(host: PluginHost, checkpoint: str | Path, dataset: str | Path, samples: int | None = None,
                   batch: int = 32, repeats: int = 3) -> ComparisonOutcome:
    """:func:`compare_surrogate`, plus the surrogate's answer to every test pair for display."""
    from ..compute.comparison import compare_surrogate
    from ..io.checkpoints import read_checkpoint_document
    from ..io.datasets import open_dataset

    comparison = compare_surrogate(host, checkpoint, dataset, samples, batch, repeats)
    predictions, targets = comparison.predictions, comparison.targets
    with open_dataset(dataset) as opened:
        metadata = dict(opened.metadata, attributes=opened.attributes)
    count = len(comparison.seeds)
    windows = max(1, len(targets) // max(count, 1))
    task = read_checkpoint_document(checkpoint).get("task", {})
    field = (task.get("output_fields") or ["u"])[0]
    mesh, problem = None, ""
    if targets.ndim - 2 >= 2:
        try:
            mesh = host.solver(comparison.solver_id).grid_mesh(metadata["attributes"]["params"])
            grid_to_points(targets[0, 0], mesh.n_points)  # fails here, not on the GUI thread, if it does not fit
        except Exception as error:  # noqa: BLE001 - the numbers stay useful without the picture
            mesh, problem = None, f"cannot show the fields on the solver's grid: {error}"
    return ComparisonOutcome(
        comparison=comparison, targets=np.asarray(targets, dtype=np.float64),
        predictions=np.asarray(predictions, dtype=np.float64),
        pair_samples=np.repeat(np.arange(count), windows)[:len(targets)],  # pairs come sample by sample
        field=field, grid=dict(metadata.get("grid", {})), mesh=mesh, mesh_problem=problem)


def grid_to_points(values: np.ndarray, n_points: int) -> np.ndarray:
    """Grid values (indexed [..., y, x] as data sets store them) in the order of the grid mesh's points.

    A nodal grid (Darcy: (n + 1)^d nodes, boundary included) is the mesh's point order
    flattened; a periodic grid of n^d points gets the periodic copies the mesh has at the
    far ends (the mesh has (n + 1)^d points), as the spectral solvers' frames do.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == n_points:
        return values.reshape(-1)
    wrapped = np.pad(values, [(0, 1)] * values.ndim, mode="wrap")
    if wrapped.size == n_points:
        return wrapped.reshape(-1)
    raise ValueError(f"a {'x'.join(map(str, values.shape))} grid does not fit a mesh of {n_points} points")


def line_coordinates(n: int, grid: dict) -> tuple[np.ndarray, bool]:
    """x of a 1D grid's points, and whether it is periodic (then one more x, for the copy of x_0)."""
    domain = grid.get("domain", [0.0, 1.0])
    if isinstance(domain[0], (list, tuple)):  # [[x0, x1]]
        domain = domain[0]
    low, high = float(domain[0]), float(domain[1])
    if grid.get("kind") == "periodic":
        return low + (high - low) * np.arange(n + 1) / n, True
    return np.linspace(low, high, n), False


def sample_runs(outcome: ComparisonOutcome, pair: int) -> tuple[Run, Run]:
    """The reference's and the surrogate's answer to one pair, as one-frame runs on the grid mesh."""
    comparison, name = outcome.comparison, outcome.field
    runs = []
    for solver_id, values, seconds in ((comparison.solver_id, outcome.targets[pair, 0],
                                        comparison.reference_seconds["single"]),
                                       (comparison.surrogate_id, outcome.predictions[pair, 0],
                                        comparison.surrogate_seconds["single"])):
        run = Run(solver_id, status=RunStatus.SUCCEEDED, timings={"wall_s": float(seconds)})
        run.record(Frame(0, 0.0, {name: Field(name, grid_to_points(values, outcome.mesh.n_points))}))
        runs.append(run)
    return runs[0], runs[1]


def metric_rows(comparison) -> list[tuple[str, Any, Any]]:
    """Table rows (label, single, batched); batched is None for rows with one value for both."""
    errors, speedups, break_even = comparison.summary, comparison.speedups(), comparison.break_even()
    grid = "x".join(map(str, comparison.tested_grid))
    if comparison.zero_shot:
        grid += f" (zero-shot: trained on {'x'.join(map(str, comparison.trained_grid))})"
    pairs = len(comparison.errors)
    samples = f"{len(comparison.seeds)}" + (f" ({pairs} pairs)" if pairs != len(comparison.seeds) else "")
    rows: list[tuple[str, Any, Any]] = [
        ("surrogate", comparison.surrogate_id, None), ("reference solver", comparison.solver_id, None),
        ("device", comparison.device, None), ("test samples", samples, None), ("grid", grid, None),
        ("relative L2, mean", errors.mean, None), ("relative L2, median", errors.median, None),
        ("relative L2, p95", errors.p95, None), ("relative L2, max", errors.max, None),
        ("reference s / query", comparison.reference_seconds["single"], comparison.reference_seconds["batched"]),
        ("surrogate s / query", comparison.surrogate_seconds["single"], comparison.surrogate_seconds["batched"]),
        ("speedup", speedups["single"], speedups["batched"]),
        ("break-even queries", _unknown_as_nan(break_even["single"]), _unknown_as_nan(break_even["batched"])),
    ]
    if comparison.setup_seconds:
        rows.append(("data generation (s)", comparison.setup_seconds["data"], None))
        rows.append(("training (s)", comparison.setup_seconds["training"], None))
    else:
        rows.append(("data + training", "not recorded in the checkpoint", None))
    rows.append(("re-solved vs stored", comparison.reference_reproduction_error, None))
    return rows


def _unknown_as_nan(count: float | None) -> float:
    return math.nan if count is None else float(count)


def format_value(value: Any, label: str = "") -> str:
    """Table text: six significant digits or fewer, speedups as 3.2x, break-even as a count."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if label == "break-even queries":
        return "unknown" if math.isnan(value) else "never" if value == math.inf else f"{int(value):,}"
    if not math.isfinite(value):
        return "—"
    if label == "speedup":
        return f"{value:.3g}x"
    return f"{value:.3e}" if (abs(value) < 1e-2 or abs(value) >= 1e4) and value != 0 else f"{value:.4g}"


# -- the dialog ----------------------------------------------------------------------------------


class SurrogateCompareDialog(QtWidgets.QDialog):
    """Pick a checkpoint and a held-out data set; compare on the device's thread; explore the samples."""

    def __init__(self, host: PluginHost, tasks: DeviceTasks, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare surrogate with reference")
        self.setModal(False)
        self.resize(1480, 900)
        self.host, self.tasks = host, tasks
        self.task: DeviceTask | None = None
        self.outcome: ComparisonOutcome | None = None
        self.compare_view = None  # built on first use: three viewports cost start-up time
        self.last_error_box: QtWidgets.QMessageBox | None = None
        self._order = np.empty(0, dtype=int)  # pairs sorted by error, ascending
        self._fitted_mesh: Mesh | None = None
        self._log_errors = True
        self._started = 0.0
        self._build()
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._tick)
        self._set_busy(False)

    # -- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.checkpoint = QtWidgets.QLineEdit()
        self.checkpoint.setPlaceholderText("a .safetensors checkpoint from Surrogates > Train surrogate or pdewb train")
        self.checkpoint.editingFinished.connect(self._inputs_changed)
        self.dataset = QtWidgets.QLineEdit()
        self.dataset.setPlaceholderText("a data set with other seeds than the training data (pdewb datagen --seed)")
        self.dataset.editingFinished.connect(self._inputs_changed)
        self.checkpoint_info, self.dataset_info = _note_label(), _note_label()
        self.samples = _spin(0, 10**7, 0, "all")
        self.samples.setToolTip("Compare on the first N samples of the data set (all: every sample)")
        self.batch = _spin(1, 10**5, 32)
        self.batch.setToolTip("Queries per call for the batched timings")
        self.repeats = _spin(1, 100, 3)
        self.repeats.setToolTip("Timing repeats (the median is reported)")
        self.compare_button = QtWidgets.QPushButton("Compare")
        self.compare_button.setDefault(True)
        self.compare_button.clicked.connect(self.start)
        self.busy_bar = QtWidgets.QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(140)
        self.status = QtWidgets.QLabel("Choose a checkpoint and a test data set, then press Compare.")
        self.status.setWordWrap(True)

        inputs = QtWidgets.QGridLayout()
        inputs.setColumnStretch(1, 1)
        inputs.addWidget(QtWidgets.QLabel("Checkpoint"), 0, 0)
        inputs.addWidget(_with_browse(self.checkpoint, self._browse_checkpoint), 0, 1)
        inputs.addWidget(self.checkpoint_info, 1, 1)
        inputs.addWidget(QtWidgets.QLabel("Test data set"), 2, 0)
        inputs.addWidget(_with_browse(self.dataset, self._browse_dataset), 2, 1)
        inputs.addWidget(self.dataset_info, 3, 1)
        options = QtWidgets.QHBoxLayout()
        for label, widget in (("samples", self.samples), ("batch", self.batch), ("repeats", self.repeats)):
            options.addWidget(QtWidgets.QLabel(label))
            options.addWidget(widget)
            options.addSpacing(10)
        options.addWidget(self.compare_button)
        options.addWidget(self.busy_bar)
        options.addWidget(self.status, 1)
        inputs.addLayout(options, 4, 0, 1, 2)

        self.table = QtWidgets.QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["1 query per call", "batched"])
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setMinimumWidth(420)
        self.error_plot = styled_plot("samples, sorted by error", "relative L2",
                                      "Relative L2 error per test sample", log_y=True)
        self.error_points = self.error_plot.plot(pen=pg.mkPen("#9aa7b5", width=1), symbol="o", symbolSize=7,
                                                 symbolBrush="#1f77b4", symbolPen=None)
        self.error_points.sigPointsClicked.connect(self._on_point_clicked)
        self.chosen_point = self.error_plot.plot(pen=None, symbol="o", symbolSize=13, symbolBrush=(0, 0, 0, 0),
                                                 symbolPen=pg.mkPen("#d62728", width=2.5))
        dashed = QtCore.Qt.PenStyle.DashLine
        self.mean_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen("#2ca02c", style=dashed),
                                         label="mean", labelOpts={"position": 0.02, "color": "#2ca02c",
                                                                  "anchors": [(0, 1), (0, 1)]})
        self.p95_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen("#9467bd", style=dashed),
                                        label="p95", labelOpts={"position": 0.02, "color": "#9467bd",
                                                                "anchors": [(0, 1), (0, 1)]})
        for line in (self.mean_line, self.p95_line):
            line.hide()
            self.error_plot.addItem(line, ignoreBounds=True)
        self.zero_shot_note = _note_label()
        self.zero_shot_note.setStyleSheet(WARNING_STYLE)
        self.zero_shot_note.hide()
        legend = _note_label()
        legend.setText("Relative L2: ||surrogate - reference|| / ||reference|| per test sample. Seconds per query: "
                       "both on the same device, median of the repeats after a warm-up call; speedup = reference / "
                       "surrogate. Break-even: queries after which the data generation and training time is paid "
                       "back. Re-solved vs stored: largest relative difference between the reference solver's "
                       "answers now and the data set's.")
        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 6, 0)
        left_layout.addWidget(_heading("Metrics"))
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.zero_shot_note)
        left_layout.addWidget(legend)

        self.sample_spin = QtWidgets.QSpinBox()
        self.sample_spin.setRange(0, 0)
        self.sample_spin.setToolTip("Index of the test sample (pair) shown")
        self.sample_spin.valueChanged.connect(self.show_sample)
        worst = QtWidgets.QPushButton("Worst")
        worst.setAutoDefault(False)
        worst.clicked.connect(lambda: self._choose_rank(-1))
        median = QtWidgets.QPushButton("Median")
        median.setAutoDefault(False)
        median.clicked.connect(lambda: self._choose_rank(None))
        self.sample_info = QtWidgets.QLabel()
        sample_row = QtWidgets.QHBoxLayout()
        sample_row.addWidget(QtWidgets.QLabel("Sample"))
        sample_row.addWidget(self.sample_spin)
        sample_row.addWidget(worst)
        sample_row.addWidget(median)
        sample_row.addSpacing(10)
        sample_row.addWidget(self.sample_info, 1)

        self.field_message = QtWidgets.QLabel("The reference, the surrogate and their difference appear here.")
        self.field_message.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.field_message.setWordWrap(True)
        self.field_message.setStyleSheet(NOTE_STYLE + " font-size: 14px;")
        self.line_plots = self._build_line_plots()
        self.field_stack = QtWidgets.QStackedWidget()
        self.field_stack.addWidget(self.field_message)
        self.field_stack.addWidget(self.line_plots)
        sample = QtWidgets.QWidget()
        sample_layout = QtWidgets.QVBoxLayout(sample)
        sample_layout.setContentsMargins(0, 0, 0, 0)
        sample_layout.addLayout(sample_row)
        sample_layout.addWidget(self.field_stack, 1)
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(sample)
        right.addWidget(self.error_plot)
        right.setSizes([500, 240])
        right.setStretchFactor(0, 1)

        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([470, 1000])
        splitter.setStretchFactor(1, 1)
        close_button = QtWidgets.QPushButton("Close")
        close_button.setAutoDefault(False)
        close_button.clicked.connect(self.close)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(inputs)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

    def _build_line_plots(self) -> pg.GraphicsLayoutWidget:
        """1D grids: reference and surrogate over x, and below it their difference."""
        widget = pg.GraphicsLayoutWidget()
        widget.setBackground("w")
        self.values_plot = widget.addPlot(row=0, col=0)
        self.values_plot.addLegend(offset=(-10, 10))
        self.values_plot.showGrid(x=True, y=True, alpha=0.3)
        self.values_plot.setTitle("reference (A) and surrogate (B)", color="#303030")
        self.difference_plot = widget.addPlot(row=1, col=0)
        self.difference_plot.showGrid(x=True, y=True, alpha=0.3)
        self.difference_plot.setTitle("difference B − A (surrogate − reference)", color="#303030")
        self.difference_plot.setXLink(self.values_plot)
        self.difference_plot.setLabel("bottom", "x")
        self.difference_plot.addItem(pg.InfiniteLine(angle=0, pen=pg.mkPen("#888")), ignoreBounds=True)
        widget.ci.layout.setRowStretchFactor(0, 3)
        widget.ci.layout.setRowStretchFactor(1, 2)
        self.reference_curve = self.values_plot.plot(pen=pg.mkPen(REFERENCE_PEN, width=2.5), name="reference")
        self.surrogate_curve = self.values_plot.plot(
            pen=pg.mkPen(SURROGATE_PEN, width=2, style=QtCore.Qt.PenStyle.DashLine), name="surrogate")
        self.difference_curve = self.difference_plot.plot(pen=pg.mkPen(DIFFERENCE_PEN, width=2))
        for plot in (self.values_plot, self.difference_plot):
            plain_axes(plot)
        return widget

    # -- inputs ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.task is not None

    def set_checkpoint(self, checkpoint: str | Path) -> None:
        self.checkpoint.setText(str(checkpoint))
        self._inputs_changed()

    def set_inputs(self, checkpoint: str | Path, dataset: str | Path) -> None:
        self.checkpoint.setText(str(checkpoint))
        self.dataset.setText(str(dataset))
        self._inputs_changed()

    def _inputs_changed(self) -> None:
        """Say what the checkpoint and the data set are, and warn when the data set holds training samples."""
        from ..io.checkpoints import read_checkpoint_document
        from .train_dialog import describe_dataset

        document = None
        path = self.checkpoint.text().strip()
        if path:
            try:
                document = read_checkpoint_document(path)
                task = document.get("task", {})
                error = document.get("metrics", {}).get("validation_relative_l2_mean")
                trained = f", validation rel. L2 {error:.3g}" if isinstance(error, float) else ""
                grid = "x".join(map(str, task.get("grid", [])))
                _note(self.checkpoint_info, f"{document.get('surrogate')} learned {task.get('solver')} on a {grid} "
                                            f"grid from {task.get('samples')} samples (base seed "
                                            f"{task.get('base_seed')}){trained}")
            except WorkbenchError as error:
                _note(self.checkpoint_info, str(error), ERROR_STYLE)
        else:
            self.checkpoint_info.setText("")
        path = self.dataset.text().strip()
        if not path:
            self.dataset_info.setText("")
            return
        try:
            text = describe_dataset(path)
        except (WorkbenchError, OSError, KeyError) as error:
            _note(self.dataset_info, str(error), ERROR_STYLE)
            return
        overlap = _training_overlap(document, path)
        _note(self.dataset_info, text + (f". {overlap}" if overlap else ""), WARNING_STYLE if overlap else NOTE_STYLE)

    def _browse_checkpoint(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Checkpoint", self.checkpoint.text(),
                                                        "Checkpoints (*.safetensors);;All files (*)")
        if path:
            self.checkpoint.setText(path)
            self._inputs_changed()

    def _browse_dataset(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Test data set", self.dataset.text(),
                                                        "Data sets (*.h5 *.hdf5);;All files (*)")
        if path:
            self.dataset.setText(path)
            self._inputs_changed()

    # -- the comparison ----------------------------------------------------------------------

    def start(self) -> bool:
        """Queue the comparison on the surrogate's device; False (and a message) if it cannot start."""
        from ..io.checkpoints import read_checkpoint_document, surrogate_of
        from ..plugins.contributions import SurrogateContribution
        from .worker import job_device

        if self.busy:
            return False
        checkpoint, dataset = self.checkpoint.text().strip(), self.dataset.text().strip()
        if not checkpoint or not dataset:
            self._report_error("Cannot compare", "choose a checkpoint and a test data set first")
            return False
        try:
            document = read_checkpoint_document(checkpoint)
            contribution = self.host.get(surrogate_of(checkpoint, document), SurrogateContribution)
            device = job_device(contribution, {})
        except WorkbenchError as error:
            self._report_error("Cannot compare", str(error))
            return False
        host, samples = self.host, self.samples.value() or None
        batch, repeats = self.batch.value(), self.repeats.value()

        def work(_report: Callable[[Any], None]) -> ComparisonOutcome:
            return run_comparison(host, checkpoint, dataset, samples, batch, repeats)

        self.task = self.tasks.start(device, f"comparing {contribution.id}", work)
        self.task.started.connect(lambda: self._set_status("Re-solving the samples with the reference solver and "
                                                           "timing both sides..."))
        self.task.finished.connect(self._on_finished)
        self.task.failed.connect(self._on_failed)
        self._started = time.perf_counter()
        self._set_busy(True)
        waiting = self.tasks.ahead_of(self.task)
        self._set_status(f"Queued on the {device} compute thread behind {waiting} job{'s' * (waiting > 1)}: the "
                         "comparison starts when they end." if waiting else f"Starting on {device}...")
        return True

    def _on_finished(self, outcome: ComparisonOutcome) -> None:
        self.task = None
        self._set_busy(False)
        try:
            self.show_outcome(outcome)
        except Exception as error:  # noqa: BLE001 - a page that cannot draw must not leave the dialog half-updated
            self._report_error("Cannot show the comparison", f"{type(error).__name__}: {error}")
            return
        comparison = outcome.comparison
        seconds = time.perf_counter() - self._started
        pairs = len(comparison.errors)
        samples = f"{len(comparison.seeds)} test samples" + (f" ({pairs} pairs)" if pairs != len(comparison.seeds)
                                                            else "")
        self._set_status(f"Compared {samples} on {comparison.device} in {duration(seconds)}: mean relative L2 "
                         f"{comparison.summary.mean:.3g}.")

    def _on_failed(self, message: str) -> None:
        self.task = None
        self._set_busy(False)
        self._report_error("Comparison failed", message)

    def show_outcome(self, outcome: ComparisonOutcome) -> None:
        """Fill the table and the error plot, then show the worst sample."""
        self.outcome = outcome
        self._fill_table(outcome.comparison)
        comparison = outcome.comparison
        self.zero_shot_note.setVisible(comparison.zero_shot)
        self.zero_shot_note.setText(f"Zero-shot: the surrogate learned on a "
                                    f"{'x'.join(map(str, comparison.trained_grid))} grid and answers on "
                                    f"{'x'.join(map(str, comparison.tested_grid))} without retraining.")
        errors = outcome.errors
        self._order = np.argsort(errors, kind="stable")
        sorted_errors = errors[self._order]
        positive = np.isfinite(sorted_errors) & (sorted_errors > 0)
        ranks = np.arange(1, len(errors) + 1)
        shown = sorted_errors[positive]
        # a log axis when the errors span a decade or so; within a narrow band it would show no tick labels
        self._log_errors = bool(len(shown) and shown[-1] > 3 * shown[0])
        self.error_plot.setLogMode(x=False, y=self._log_errors)
        self.error_points.setData(ranks[positive], shown)
        summary = outcome.comparison.summary
        for line, value, name in ((self.mean_line, summary.mean, "mean"), (self.p95_line, summary.p95, "p95")):
            line.setVisible(value > 0 and math.isfinite(value))
            if line.isVisible():
                line.setPos(math.log10(value) if self._log_errors else value)  # log axes place items at log10
                line.label.setFormat(f"{name} {value:.3g}")
        self.sample_spin.blockSignals(True)
        self.sample_spin.setRange(0, max(len(errors) - 1, 0))
        self.sample_spin.blockSignals(False)
        if outcome.dim == 1:
            self.field_stack.setCurrentWidget(self.line_plots)
        elif outcome.mesh is None:
            self.field_message.setText(outcome.mesh_problem or "No picture for this grid.")
            self.field_stack.setCurrentWidget(self.field_message)
        else:
            view = self._compare_view()
            self.field_stack.setCurrentWidget(view)
        self._choose_rank(-1)

    def show_sample(self, pair: int) -> None:
        """Show test pair ``pair``: reference | surrogate | difference, and mark it in the error plot."""
        outcome = self.outcome
        if outcome is None or not 0 <= pair < len(outcome.errors):
            return
        if self.sample_spin.value() != pair:
            self.sample_spin.setValue(pair)  # comes back here through the signal
            return
        errors = outcome.errors
        rank = int(np.nonzero(self._order == pair)[0][0])
        if errors[pair] > 0 and math.isfinite(errors[pair]):
            self.chosen_point.setData([rank + 1], [errors[pair]])
        windows = len(errors) // max(len(outcome.comparison.seeds), 1)
        where = f"sample {outcome.pair_samples[pair]}, " if windows > 1 else ""
        self.sample_info.setText(f"{where}seed {outcome.seed_of(pair)}: relative L2 {errors[pair]:.3e}  "
                                 f"(rank {rank + 1} of {len(errors)}, 1 = best)")
        if outcome.dim == 1:
            self._draw_lines(outcome, pair)
        elif outcome.mesh is not None:
            reference, surrogate = sample_runs(outcome, pair)
            comparison = outcome.comparison
            view = self._compare_view()
            view.set_runs(outcome.mesh, reference, surrogate, comparison.solver_id, comparison.surrogate_id)
            if self._fitted_mesh is not outcome.mesh:
                # fit again now that the views are shown at their size (set_runs fits before showing them);
                # another sample of the same comparison keeps the user's camera
                self._fitted_mesh = outcome.mesh
                view.views[0].reset_camera()
                for other in view.views[1:]:
                    other.render()

    def _draw_lines(self, outcome: ComparisonOutcome, pair: int) -> None:
        reference, surrogate = outcome.targets[pair, 0], outcome.predictions[pair, 0]
        x, periodic = line_coordinates(len(reference), outcome.grid)
        if periodic:
            reference, surrogate = np.append(reference, reference[0]), np.append(surrogate, surrogate[0])
        self.reference_curve.setData(x, reference)
        self.surrogate_curve.setData(x, surrogate)
        self.difference_curve.setData(x, surrogate - reference)
        self.values_plot.setLabel("left", outcome.field)
        self.difference_plot.setLabel("left", f"Δ{outcome.field}")

    def metrics_table(self) -> dict[str, tuple[Any, Any]]:
        """label -> (value, batched value or None) as shown, the exact numbers (Qt.UserRole)."""
        table, rows = self.table, {}
        for row in range(table.rowCount()):
            cells = [table.item(row, column) for column in (0, 1)]
            values = [c.data(QtCore.Qt.ItemDataRole.UserRole) if c is not None else None for c in cells]
            rows[table.verticalHeaderItem(row).text()] = (values[0], values[1] if table.columnSpan(row, 0) == 1
                                                          else None)
        return rows

    # -- helpers -----------------------------------------------------------------------------

    def _compare_view(self):
        if self.compare_view is None:
            from .compare_view import CompareView

            self.compare_view = CompareView()
            self.compare_view.set_details_visible(False)
            self.field_stack.addWidget(self.compare_view)
        return self.compare_view

    def _fill_table(self, comparison) -> None:
        rows = metric_rows(comparison)
        self.table.clearSpans()
        self.table.clearContents()
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(["1 query per call", f"{comparison.batch} queries per call"])
        self.table.setVerticalHeaderLabels([label for label, _, _ in rows])
        for row, (label, single, batched) in enumerate(rows):
            self._set_cell(row, 0, label, single)
            if batched is None:
                self.table.setSpan(row, 0, 1, 2)
            else:
                self._set_cell(row, 1, label, batched)

    def _set_cell(self, row: int, column: int, label: str, value: Any) -> None:
        item = QtWidgets.QTableWidgetItem(format_value(value, label))
        item.setData(QtCore.Qt.ItemDataRole.UserRole, value)
        item.setToolTip(item.text())
        if not isinstance(value, str):
            item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(row, column, item)

    def _choose_rank(self, rank: int | None) -> None:
        """Show the sample of the given error rank (-1: the worst; None: the median)."""
        if self.outcome is None or not len(self._order):
            return
        rank = len(self._order) // 2 if rank is None else rank
        self.show_sample(int(self._order[rank]))

    def _on_point_clicked(self, _item, points, *_args) -> None:
        if len(points) and self.outcome is not None:
            errors = self.outcome.errors[self._order]
            shown = np.nonzero(np.isfinite(errors) & (errors > 0))[0]
            self.show_sample(int(self._order[shown[points[0].index()]]))

    def _tick(self) -> None:
        if self.busy and self.task.running_since is not None:
            self._set_status(f"Re-solving the samples with the reference solver and timing both sides... "
                             f"{duration(time.perf_counter() - self.task.running_since)}")

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.compare_button, self.checkpoint, self.dataset, self.samples, self.batch, self.repeats):
            widget.setEnabled(not busy)
        self.busy_bar.setVisible(busy)
        if busy:
            self._timer.start()
        else:
            self._timer.stop()

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet(ERROR_STYLE if error else "")
        self.status.setText(text)

    def _report_error(self, title: str, message: str) -> None:
        self._set_status(f"{title}: {message}", error=True)
        self.last_error_box = show_warning(self, title, message)

    def finalize(self) -> None:
        """Release the viewports' OpenGL contexts (when the window closes)."""
        if self.compare_view is not None:
            self.compare_view.close()


def _training_overlap(document: dict | None, dataset: str) -> str:
    """A warning when the test data set shares seeds with the checkpoint's training data."""
    from ..io.datasets import open_dataset

    if not document:
        return ""
    task = document.get("task", {})
    try:
        with open_dataset(dataset) as opened:
            attributes = opened.attributes
    except WorkbenchError:
        return ""
    if attributes["solver"] == task.get("solver") and attributes["base_seed"] == task.get("base_seed"):
        shared = min(int(attributes["samples"]), int(task.get("samples") or 0))
        return (f"Its first {shared} samples are training samples (same base seed {attributes['base_seed']}): "
                "generate test data with another seed")
    return ""


def _note(label: QtWidgets.QLabel, text: str, style: str = NOTE_STYLE) -> None:
    label.setText(text)
    label.setStyleSheet(style)


def _spin(low: int, high: int, value: int, special: str = "") -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    if special:
        spin.setSpecialValueText(special)
    return spin
