"""Surrogates > Train surrogate: the same training as ``pdewb train``, with live loss curves.

The dialog only collects the request and draws what comes back. Training runs on the
compute thread of its device (:mod:`workbench.gui.device_tasks`) through
:func:`workbench.compute.training.train_surrogate`, which sets the torch device and
autograd there and drives the plugin's job with a :class:`~workbench.core.jobs.JobControl`.
Cancel closes the job; the job writes the best checkpoint it reached on the way out,
and the dialog says whether one was written. The dialog is not modal: closing it
leaves a training running, and opening it again shows it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.errors import WorkbenchError
from ..core.events import LogMessage, Progress, Scalars
from ..core.jobs import JobControl
from ..core.run import Run, RunStatus
from ..io.checkpoints import with_suffix
from ..plugins.contributions import SurrogateContribution
from ..plugins.host import PluginHost
from .device_tasks import DeviceTask, DeviceTasks
from .param_form import ParamForm
from .plots import styled_plot
from .notices import show_warning

#: Curves drawn from the job's Scalars (the learning rate is logged in the checkpoint, not drawn).
LOSS_CURVES = (("train_loss", "training loss", "#1f77b4"), ("validation_loss", "validation loss", "#ff7f0e"))
ERROR_STYLE = "color: #b03030;"
NOTE_STYLE = "color: #606060;"


# -- plain helpers (no Qt) -----------------------------------------------------------------------


def describe_dataset(path: str | Path) -> str:
    """One line about a data set file (solver, samples, grid, base seed); WorkbenchError if unreadable."""
    from ..io.datasets import open_dataset

    with open_dataset(path) as dataset:
        attributes, grid = dataset.attributes, dataset.metadata.get("grid", {})
        shape = grid.get("shape") or [grid.get("n")] * int(grid.get("dims", 1))
        return (f"{attributes['solver']}: {attributes['samples']} samples on a "
                f"{'x'.join(str(s) for s in shape)} {grid.get('kind', '')} grid, base seed {attributes['base_seed']}")


def checkpoint_rows(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What a checkpoint's header says about the model, as (label, text) rows."""
    task, training = document.get("task", {}), document.get("training", {})
    metrics = document.get("metrics", {})
    rows = [("surrogate", str(document.get("surrogate", "?"))),
            ("learned from", f"{task.get('solver', '?')} ({task.get('mapping', '')})".replace(" ()", "")),
            ("grid", "x".join(map(str, task.get("grid", []))))]
    for key, label in (("validation_relative_l2_mean", "validation rel. L2, mean"),
                       ("validation_relative_l2_median", "validation rel. L2, median"),
                       ("validation_relative_l2_p95", "validation rel. L2, p95")):
        if key in metrics:
            rows.append((label, _number(metrics[key])))
    if training:
        best = training.get("best_epoch")
        rows.append(("epochs", f"{training.get('epochs_run')} run, best {best}" if best else
                     str(training.get("epochs_run"))))
        rows.append(("training time", f"{float(training.get('seconds', 0.0)):.1f} s"))
        if training.get("stop_reason"):
            rows.append(("stopped", str(training["stop_reason"])))
        rows.append(("pairs", f"{training.get('train_pairs')} training, {training.get('validation_pairs')} validation"))
    if "parameters" in document:
        rows.append(("parameters", f"{int(document['parameters']):,}"))
    if task.get("generation_seconds") is not None:
        rows.append(("data generation", f"{float(task['generation_seconds']):.1f} s"))
    return rows


def duration(seconds: float) -> str:
    """Seconds as people read them: 42 s, 3 min 05 s, 1 h 12 min."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _stamp(path: Path) -> tuple[int, int] | None:
    """What identifies one version of a file (an atomic replace gives a new inode), None if absent."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns


# -- the dialog ----------------------------------------------------------------------------------


class TrainDialog(QtWidgets.QDialog):
    """Pick a surrogate, a data set and a checkpoint path; train on the device's compute thread."""

    compare_requested = QtCore.Signal(str)  # a checkpoint written here, to compare with its reference

    def __init__(self, host: PluginHost, tasks: DeviceTasks, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train surrogate")
        self.setModal(False)
        self.resize(1180, 760)
        self.host, self.tasks = host, tasks
        self._surrogates = host.contributions(SurrogateContribution)
        self.task: DeviceTask | None = None
        self.control: JobControl | None = None
        self.last_run: Run | None = None
        self.last_document: dict | None = None
        self.last_error_box: QtWidgets.QMessageBox | None = None
        self._checkpoint_path: Path | None = None
        self._checkpoint_before: tuple[int, int] | None = None
        self._checkpoint_edited = False
        self._curve_data: dict[str, tuple[list[float], list[float]]] = {}
        self._queued_at = 0.0
        self._shown_specs: tuple = ()
        self._build()
        self._surrogate_changed()
        self._set_busy(False)

    # -- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.surrogate_combo = QtWidgets.QComboBox()
        for surrogate in self._surrogates:
            self.surrogate_combo.addItem(surrogate.title, surrogate.id)
        self.surrogate_combo.currentIndexChanged.connect(self._surrogate_changed)
        self.summary = _note_label()
        self.dataset = QtWidgets.QLineEdit()
        self.dataset.setPlaceholderText("a .h5 file from Data > Generate data set or pdewb datagen")
        self.dataset.editingFinished.connect(self._dataset_changed)
        self.dataset_info = _note_label()
        self.checkpoint = QtWidgets.QLineEdit(str(Path.cwd() / "surrogate.safetensors"))
        self.checkpoint.textEdited.connect(lambda _text: setattr(self, "_checkpoint_edited", True))
        self.form = ParamForm()

        inputs = QtWidgets.QGridLayout()
        inputs.setColumnStretch(1, 1)
        rows = (("Surrogate", self.surrogate_combo), ("", self.summary),
                ("Training data", _with_browse(self.dataset, self._browse_dataset)), ("", self.dataset_info),
                ("Checkpoint", _with_browse(self.checkpoint, self._browse_checkpoint)))
        for row, (label, widget) in enumerate(rows):
            if label:
                inputs.addWidget(QtWidgets.QLabel(label), row, 0)
            inputs.addWidget(widget, row, 1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 6, 0)
        left_layout.addLayout(inputs)
        left_layout.addWidget(_heading("Hyperparameters"))
        left_layout.addWidget(scroll, 1)

        self.plot = styled_plot("epoch", "loss", "Loss per epoch", log_y=True)
        self.plot.addLegend(offset=(-10, 10))
        self.curves = {name: self.plot.plot(pen=pg.mkPen(colour, width=2), name=label)
                       for name, label, colour in LOSS_CURVES}
        self.best_marker = self.plot.plot(pen=None, symbol="star", symbolSize=14, symbolBrush="#d62728",
                                          symbolPen=None, name="best validation")
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log_view = QtWidgets.QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(2000)
        self.log_view.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.summary_table = QtWidgets.QTableWidget(0, 1)
        self.summary_table.horizontalHeader().setVisible(False)
        self.summary_table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.summary_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary_table.setMinimumWidth(300)
        self.summary_table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)

        lower = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        lower.addWidget(_titled("Log", self.log_view))
        lower.addWidget(_titled("Checkpoint", self.summary_table))
        lower.setSizes([380, 380])
        right_splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right_splitter.addWidget(self.plot)
        right_splitter.addWidget(lower)
        right_splitter.setSizes([370, 290])
        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(6, 0, 0, 0)
        right_layout.addWidget(right_splitter, 1)
        right_layout.addWidget(self.progress_bar)
        right_layout.addWidget(self.status)

        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([420, 760])
        splitter.setStretchFactor(1, 1)

        self.train_button = QtWidgets.QPushButton("Train")
        self.train_button.setDefault(True)
        self.train_button.clicked.connect(self.start)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop training; the best checkpoint so far is kept")
        self.cancel_button.clicked.connect(self.cancel)
        self.compare_button = QtWidgets.QPushButton("Compare with reference...")
        self.compare_button.setAutoDefault(False)
        self.compare_button.setToolTip("Open Surrogates > Compare with reference with this checkpoint")
        self.compare_button.clicked.connect(lambda: self.compare_requested.emit(self.checkpoint.text().strip()))
        close_button = QtWidgets.QPushButton("Close")
        close_button.setAutoDefault(False)
        close_button.clicked.connect(self.close)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.compare_button)
        buttons.addWidget(close_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

    # -- state -------------------------------------------------------------------------------

    @property
    def surrogate(self) -> SurrogateContribution | None:
        index = self.surrogate_combo.currentIndex()
        return self._surrogates[index] if index >= 0 else None

    @property
    def busy(self) -> bool:
        return self.task is not None

    def select_surrogate(self, surrogate_id: str) -> None:
        self.surrogate_combo.setCurrentIndex(self.surrogate_combo.findData(surrogate_id))

    def set_dataset(self, path: str | Path) -> None:
        self.dataset.setText(str(path))
        self._dataset_changed()

    def set_checkpoint(self, path: str | Path) -> None:
        self.checkpoint.setText(str(path))
        self._checkpoint_edited = True

    def curve(self, name: str) -> tuple[list[float], list[float]]:
        """The (epochs, values) drawn so far for ``train_loss`` or ``validation_loss``."""
        epochs, values = self._curve_data.get(name, ([], []))
        return list(epochs), list(values)

    # -- training ----------------------------------------------------------------------------

    def start(self) -> bool:
        """Check the request and queue the training on its device; False (and a message) if it cannot start."""
        from ..compute.training import training_request
        from .worker import job_device

        surrogate = self.surrogate
        if self.busy:
            return False
        if surrogate is None:
            self._report_error("Cannot train", "no operator surrogate is installed (see Plugins > Installed plugins)")
            return False
        if not self.dataset.text().strip():
            self._report_error("Cannot train", "choose a training data set (.h5) first")
            return False
        checkpoint = Path(self.checkpoint.text().strip() or "surrogate.safetensors")
        try:
            request = training_request(surrogate, self.dataset.text().strip(), checkpoint, self.form.values())
            device = job_device(surrogate, request.params)
        except WorkbenchError as error:
            self._report_error("Cannot train", str(error))
            return False
        self._reset_view()
        self.control = JobControl()
        checkpoint = request.checkpoint  # with the .safetensors suffix the training writes
        self._checkpoint_path, self._checkpoint_before = checkpoint, _stamp(checkpoint)
        control = self.control

        def work(report):
            from ..compute.training import train_surrogate

            return train_surrogate(surrogate, request, control, on_event=report)

        self.task = self.tasks.start(device, f"training {surrogate.id}", work, control)
        self.task.started.connect(self._on_started)
        self.task.event.connect(self._on_event)
        self.task.finished.connect(self._on_finished)
        self.task.failed.connect(self._on_task_failed)
        self._queued_at = time.perf_counter()
        self._set_busy(True)
        waiting = self.tasks.ahead_of(self.task)
        self._set_status(f"Queued on the {device} compute thread behind {waiting} job{'s' * (waiting > 1)}: "
                         "training starts when they end." if waiting else f"Starting on {device}...")
        self._log(f"training {surrogate.id} on {request.dataset}; checkpoint {checkpoint}; device {device}")
        return True

    def cancel(self) -> None:
        """Stop the training in hand; the job writes the best checkpoint it reached."""
        if self.task is None or self.control is None:
            return
        self.control.cancel()
        self.cancel_button.setEnabled(False)
        self._set_status("Stopping after the current step; the best checkpoint so far is written...")

    def _on_started(self) -> None:
        self._set_status("Training started; the first epoch is running...")

    def _on_event(self, event) -> None:
        if isinstance(event, Scalars):
            self._add_scalars(event)
        elif isinstance(event, Progress):
            self._show_progress(event)
        elif isinstance(event, LogMessage):
            self._log(event.text, event.level)

    def _add_scalars(self, scalars: Scalars) -> None:
        for name, _label, _colour in LOSS_CURVES:
            value = scalars.values.get(name)
            if value is None or not math.isfinite(value) or value <= 0:
                continue  # a log axis has no place for it
            epochs, values = self._curve_data.setdefault(name, ([], []))
            epochs.append(scalars.step)
            values.append(float(value))
            self.curves[name].setData(epochs, values)
        epochs, values = self._curve_data.get("validation_loss", ([], []))
        if values:
            best = min(range(len(values)), key=values.__getitem__)
            self.best_marker.setData([epochs[best]], [values[best]])

    def _show_progress(self, progress: Progress) -> None:
        fraction = min(max(float(progress.fraction), 0.0), 1.0)
        self.progress_bar.setValue(round(1000 * fraction))
        started = self.task.running_since if self.task is not None else None
        elapsed = time.perf_counter() - (started or self._queued_at)
        timing = f"{duration(elapsed)} elapsed"
        if 0.005 < fraction < 1.0:
            timing += f", about {duration(elapsed * (1.0 - fraction) / fraction)} left"
        self.progress_bar.setFormat(f"%p%  ({timing})")
        self._set_status(progress.message or "training...")

    def _on_finished(self, run: Run) -> None:
        self.task, self.control = None, None
        self.last_run = run
        self._set_busy(False)
        path = self._checkpoint_path
        written = path is not None and _stamp(path) not in (None, self._checkpoint_before)
        if written:
            self._show_checkpoint(path)
        self.compare_button.setEnabled(self.last_document is not None)
        wall = run.timings.get("wall_s", 0.0)
        self.progress_bar.setFormat(f"%p%  ({run.status.value} after {duration(wall)})")
        if run.status is RunStatus.SUCCEEDED:
            self.progress_bar.setValue(1000)
            self._set_status(f"Done in {duration(wall)}: the checkpoint is {path}" if written else
                             f"Done in {duration(wall)}, but no checkpoint was written to {path}.")
        elif run.status is RunStatus.CANCELLED:
            if written:
                training = (self.last_document or {}).get("training", {})
                self._set_status(f"Cancelled after {training.get('epochs_run', '?')} epochs. The best checkpoint "
                                 f"so far (epoch {training.get('best_epoch', '?')}) is kept at {path}.")
            else:
                self._set_status("Cancelled before the first epoch ended: no checkpoint was written.")
        else:
            kept = f" The best checkpoint so far is kept at {path}." if written else ""
            self._report_error("Training failed", f"{run.error or 'unknown error'}{kept}")
        self._log(f"training {run.status.value} after {wall:.1f} s")

    def _on_task_failed(self, message: str) -> None:
        self.task, self.control = None, None
        self._set_busy(False)
        self._report_error("Training failed", message)

    def _show_checkpoint(self, path: Path) -> None:
        from ..io.checkpoints import read_checkpoint_document

        try:
            self.last_document = read_checkpoint_document(path)
        except WorkbenchError as error:
            self.last_document = None
            self._log(f"cannot read the checkpoint's summary: {error}", "warning")
            return
        rows = checkpoint_rows(self.last_document) + [("file", str(path))]
        self.summary_table.setRowCount(len(rows))
        self.summary_table.setVerticalHeaderLabels([label for label, _ in rows])
        for row, (_label, text) in enumerate(rows):
            item = QtWidgets.QTableWidgetItem(text)
            item.setToolTip(text)
            self.summary_table.setItem(row, 0, item)

    def summary_text(self) -> dict[str, str]:
        """The checkpoint summary shown, label -> text."""
        table = self.summary_table
        return {table.verticalHeaderItem(row).text(): table.item(row, 0).text() for row in range(table.rowCount())}

    # -- helpers -----------------------------------------------------------------------------

    def _reset_view(self) -> None:
        self._curve_data = {}
        for curve in self.curves.values():
            curve.setData([], [])
        self.best_marker.setData([], [])
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p%")
        self.summary_table.setRowCount(0)
        self.last_run, self.last_document = None, None

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.train_button, self.surrogate_combo, self.dataset, self.checkpoint, self.form):
            widget.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.compare_button.setEnabled(not busy and self.last_document is not None)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet(ERROR_STYLE if error else "")
        self.status.setText(text)

    def _log(self, text: str, level: str = "info") -> None:
        self.log_view.appendPlainText(f"[{level}] {text}")

    def _report_error(self, title: str, message: str) -> None:
        """Say what went wrong in the dialog and in a box that blocks nothing."""
        self._set_status(f"{title}: {message}", error=True)
        self._log(f"{title}: {message}", "error")
        self.last_error_box = show_warning(self, title, message)

    def _surrogate_changed(self) -> None:
        surrogate = self.surrogate
        if surrogate is None:
            self.summary.setText("No operator surrogate is installed: see Plugins > Installed plugins.")
            self.form.set_specs(())
            self._shown_specs = ()
            return
        values = self.form.values()
        previous = {spec.name: (spec, values[spec.name]) for spec in self._shown_specs if spec.name in values}
        self.form.set_specs(surrogate.params)
        self._shown_specs = surrogate.params
        # settings the surrogates share (epochs, learning rate, ...) carry over; architecture sizes do not
        self.form.set_values({spec.name: previous[spec.name][1] for spec in surrogate.params
                              if spec.name in previous and previous[spec.name][0] == spec})
        learns = f" Learns from data sets of {', '.join(surrogate.learns)}." if surrogate.learns else ""
        self.summary.setText(surrogate.summary + learns)
        self._suggest_checkpoint()

    def _dataset_changed(self) -> None:
        path = self.dataset.text().strip()
        if not path:
            self.dataset_info.setText("")
            return
        try:
            self.dataset_info.setText(describe_dataset(path))
            self.dataset_info.setStyleSheet(NOTE_STYLE)
        except (WorkbenchError, OSError, KeyError) as error:
            self.dataset_info.setText(str(error))
            self.dataset_info.setStyleSheet(ERROR_STYLE)
        self._suggest_checkpoint()

    def _suggest_checkpoint(self) -> None:
        """Next to the data set, named after it and the architecture, until the user types a path."""
        dataset, surrogate = self.dataset.text().strip(), self.surrogate
        if self._checkpoint_edited or not dataset or surrogate is None:
            return
        kind = surrogate.id.rpartition(".")[2]
        self.checkpoint.setText(str(Path(dataset).with_name(f"{Path(dataset).stem}_{kind}.safetensors")))

    def _browse_dataset(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Training data set", self.dataset.text(),
                                                        "Data sets (*.h5 *.hdf5);;All files (*)")
        if path:
            self.set_dataset(path)

    def _browse_checkpoint(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Checkpoint", self.checkpoint.text(),
                                                        "Checkpoints (*.safetensors)")
        if path:
            self.set_checkpoint(str(with_suffix(path)))

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.busy:
            self._log("the dialog was closed; training goes on (Surrogates > Train surrogate shows it)")
        super().closeEvent(event)


# -- small widgets -------------------------------------------------------------------------------


def _note_label() -> QtWidgets.QLabel:
    label = QtWidgets.QLabel()
    label.setWordWrap(True)
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
    label.setStyleSheet(NOTE_STYLE)
    label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _heading(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def _titled(title: str, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    box = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(box)
    layout.setContentsMargins(0, 4, 0, 0)
    layout.addWidget(_heading(title))
    layout.addWidget(widget, 1)
    return box


def _with_browse(edit: QtWidgets.QLineEdit, browse) -> QtWidgets.QWidget:
    row = QtWidgets.QWidget()
    layout = QtWidgets.QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    button = QtWidgets.QPushButton("Browse...")
    button.setAutoDefault(False)
    button.clicked.connect(browse)
    layout.addWidget(button)
    return row

