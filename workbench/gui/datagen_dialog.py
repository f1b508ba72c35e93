"""Generate a training data set from the GUI: the same engine as ``pdewb datagen``.

Generation runs on its own QThread. Stop asks the worker to stop after the batch
being written (the progress callback raises KeyboardInterrupt there); the batches
written so far stay in ``PATH.partial/`` and pressing Generate again with the same
settings resumes. Failures (a bad setting, a full disk, a failing plugin, another
process generating into the same file) are shown in the status line, never as a
dialog that blocks the window.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from ..core.errors import PLUGIN_FAILURES, WorkbenchError, describe_failure
from ..plugins.contributions import SolverContribution
from ..plugins.host import PluginHost
from .param_form import ParamForm

#: The data-set engine draws per-sample seeds itself; the solver's own seed is not offered.
HIDDEN_PARAMS = {"seed"}


class DatasetWorker(QtCore.QObject):
    progress = QtCore.Signal(int, int, float)  # done, total, samples per second
    finished = QtCore.Signal(object)  # DatasetSummary
    interrupted = QtCore.Signal(int, int)  # completed, total
    failed = QtCore.Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.cancel_requested = threading.Event()

    @QtCore.Slot(object, str, int, object, int, int, bool)
    def generate(self, solver, out, samples, params, batch, seed, overwrite) -> None:
        from ..compute.torch_context import job_context
        from ..io.datasets import DatasetInterrupted, generate_dataset

        def progress(done: int, total: int, rate: float) -> None:
            self.progress.emit(done, total, rate)
            if self.cancel_requested.is_set():
                raise KeyboardInterrupt  # after a complete batch: the partial file stays consistent

        try:
            with job_context(solver.requires) as device:
                summary = generate_dataset(solver, out, samples, params, batch=batch, seed=seed,
                                           overwrite=overwrite, device=device, progress=progress)
        except DatasetInterrupted as stop:
            self.interrupted.emit(stop.completed, stop.samples)
        except WorkbenchError as error:
            self.failed.emit(" ".join(str(error).split()))
        except PLUGIN_FAILURES as error:  # a failing plugin (or sys.exit() in it) must not take the dialog down
            self.failed.emit(describe_failure(error))
        else:
            self.finished.emit(summary)


class DatagenDialog(QtWidgets.QDialog):
    _generate = QtCore.Signal(object, str, int, object, int, int, bool)

    def __init__(self, host: PluginHost, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Generate data set")
        self.resize(520, 640)
        self._solvers = [c for c in host.contributions(SolverContribution) if c.dataset]
        self.solver_combo = QtWidgets.QComboBox()
        for solver in self._solvers:
            self.solver_combo.addItem(solver.title, solver.id)
        self.form = ParamForm()
        self.samples = _spin(1, 10**7, 100)
        self.batch = _spin(1, 10**5, 32)
        self.seed = _spin(0, 2**31 - 1, 0)
        self.output = QtWidgets.QLineEdit(str(Path.cwd() / "dataset.h5"))
        browse = QtWidgets.QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        self.overwrite = QtWidgets.QCheckBox("replace an existing file")
        self.generate_button = QtWidgets.QPushButton("Generate")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.progress_bar = QtWidgets.QProgressBar()
        self.status = QtWidgets.QLabel("Generating again after a cancel resumes where it stopped.")
        self.status.setWordWrap(True)
        self._layout(browse)
        self._thread = QtCore.QThread(self)
        self.worker = DatasetWorker()
        self.worker.moveToThread(self._thread)
        self._thread.finished.connect(self.worker.deleteLater)
        self._generate.connect(self.worker.generate)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.interrupted.connect(self._on_interrupted)
        self.worker.failed.connect(self._on_failed)
        self._thread.start()
        self.solver_combo.currentIndexChanged.connect(self._solver_changed)
        self.generate_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.busy = False
        self.last_summary = None
        self._started = 0.0
        self._solver_changed()
        self._set_busy(False)

    def _layout(self, browse: QtWidgets.QPushButton) -> None:
        form = QtWidgets.QFormLayout()
        form.addRow("solver", self.solver_combo)
        form.addRow("samples", self.samples)
        form.addRow("batch", self.batch)
        form.addRow("seed", self.seed)
        path_row = QtWidgets.QHBoxLayout()
        path_row.addWidget(self.output, 1)
        path_row.addWidget(browse)
        form.addRow("output (.h5)", path_row)
        form.addRow("", self.overwrite)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.cancel_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QtWidgets.QLabel("<b>Solver parameters</b>"))
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    @property
    def solver(self) -> SolverContribution | None:
        index = self.solver_combo.currentIndex()
        return self._solvers[index] if index >= 0 else None

    def select_solver(self, solver_id: str) -> None:
        self.solver_combo.setCurrentIndex(self.solver_combo.findData(solver_id))

    def start(self) -> bool:
        solver = self.solver
        if solver is None or self.busy:
            self.status.setText("No solver here can generate data sets." if solver is None else self.status.text())
            return False
        self.worker.cancel_requested.clear()
        self._set_busy(True)
        self._started = time.perf_counter()
        self.status.setText(f"generating {self.samples.value()} samples of {solver.id}...")
        self._generate.emit(solver, self.output.text(), self.samples.value(), self.form.values(),
                            self.batch.value(), self.seed.value(), self.overwrite.isChecked())
        return True

    def cancel(self) -> None:
        if self.busy:
            self.worker.cancel_requested.set()
            self.status.setText("stopping after the current batch...")
        else:
            self.reject()

    def done(self, result: int) -> None:  # closing the dialog stops generation cleanly
        self.worker.cancel_requested.set()
        self._thread.quit()
        self._thread.wait(30_000)
        super().done(result)

    def _on_progress(self, done: int, total: int, rate: float) -> None:
        self.progress_bar.setValue(int(100 * done / max(total, 1)))
        eta = f", about {(total - done) / rate:.0f} s left" if rate > 0 and done < total else ""
        self.status.setText(f"{done} / {total} samples, {rate:.3g} samples/s{eta}")

    def _on_finished(self, summary) -> None:
        self._set_busy(False)
        self.last_summary = summary
        self.progress_bar.setValue(100)
        self.status.setText(f"wrote {summary.path}: {summary.completed} samples in {summary.seconds:.1f} s "
                            f"({summary.samples_per_s:.3g} samples/s)")

    def _on_interrupted(self, completed: int, total: int) -> None:
        self._set_busy(False)
        self.status.setText(f"stopped after {completed} of {total} samples; Generate resumes from there")

    def _on_failed(self, message: str) -> None:
        self._set_busy(False)
        self.status.setText(f"failed: {message}")

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.generate_button.setEnabled(not busy)
        self.solver_combo.setEnabled(not busy)
        self.cancel_button.setText("Stop" if busy else "Close")

    def _solver_changed(self) -> None:
        solver = self.solver
        specs = tuple(p for p in solver.params if p.name not in HIDDEN_PARAMS) if solver else ()
        self.form.set_specs(specs)

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Data set file", self.output.text(), "HDF5 (*.h5)")
        if path:
            self.output.setText(path)


def _spin(low: int, high: int, value: int) -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    return spin
