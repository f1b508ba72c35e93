"""Background compute: solver jobs run on a QThread, results come back by queued signals.

Threading contract (the only place the GUI meets another thread):

- :class:`ComputeWorker` lives on a dedicated QThread and runs
  :func:`workbench.compute.runner.run_solver`, which drives the job protocol.
  Every event the job yields is emitted as it comes; events are immutable and
  own their arrays, so nothing is shared with the compute thread afterwards.
- :class:`RunController` lives on the GUI thread. Its slots receive those
  signals through Qt's queued connections, so they always run on the GUI
  thread; it keeps the frames it has received and re-emits them for views.
- Pause, step and cancel go through the core's thread-safe JobControl, never
  through the event loop, so they act even while the worker is busy.
"""

from __future__ import annotations

import time

from PySide6 import QtCore

from ..compute.runner import run_solver
from ..core.events import Event, Frame, LogMessage, Progress, Scalars
from ..core.jobs import JobControl
from ..core.problem import Problem
from ..core.run import Run, RunStatus
from ..plugins.contributions import SolverContribution


class ComputeWorker(QtCore.QObject):
    """Runs one job at a time on its own thread."""

    event = QtCore.Signal(object)  # a core event
    finished = QtCore.Signal(object)  # the finished Run

    @QtCore.Slot(object, object, object)
    def run(self, solver: SolverContribution, problem: Problem, control: JobControl) -> None:
        # run_solver never raises for a failing job: failures come back as a failed Run.
        result = run_solver(solver, problem, control, on_event=self.event.emit)
        self.finished.emit(result)


class RunController(QtCore.QObject):
    """Starts runs on the compute thread and turns their events into GUI-thread signals."""

    started = QtCore.Signal(object)  # solver id
    frame_arrived = QtCore.Signal(object)  # Frame
    progress = QtCore.Signal(float, str, float)  # fraction, message, seconds remaining (nan if unknown)
    log = QtCore.Signal(str, str)  # level, text
    scalars = QtCore.Signal(object)  # Scalars
    status_changed = QtCore.Signal(str)  # RunStatus value
    finished = QtCore.Signal(object)  # Run

    _start = QtCore.Signal(object, object, object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        # Qt owns both: the thread is our child, the worker is deleted on its own thread when
        # that thread ends, so nothing is left for Python's final garbage collection to tear down.
        self.thread = QtCore.QThread(self)
        self.thread.setObjectName("pdewb-compute")
        self.worker = ComputeWorker()
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        self._start.connect(self.worker.run)  # queued: the worker's thread runs it
        self.worker.event.connect(self._on_event)  # queued: back on the GUI thread
        self.worker.finished.connect(self._on_finished)
        self.thread.start()
        self.control: JobControl | None = None
        self.frames: list[Frame] = []
        self.last_run: Run | None = None
        self.slot_threads: set[QtCore.QThread] = set()  # threads our slots ran on (tests check it)
        self._started_at = 0.0

    @property
    def busy(self) -> bool:
        return self.control is not None

    def start(self, solver: SolverContribution, problem: Problem) -> None:
        if self.busy:
            raise RuntimeError("a run is already in progress")
        self.control = JobControl()
        self.frames = []
        self._started_at = time.perf_counter()
        self.started.emit(solver.id)
        self.status_changed.emit(RunStatus.RUNNING.value)
        self._start.emit(solver, problem, self.control)

    def pause(self) -> None:
        if self.control is not None:
            self.control.pause()
            self.status_changed.emit(RunStatus.PAUSED.value)

    def resume(self) -> None:
        if self.control is not None:
            self.control.resume()
            self.status_changed.emit(RunStatus.RUNNING.value)

    def step(self) -> None:
        if self.control is not None:
            self.control.step()

    def cancel(self) -> None:
        if self.control is not None:
            self.control.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel any run and stop the thread; True if it stopped in time."""
        self.cancel()
        self.thread.quit()
        return self.thread.wait(timeout_ms)

    @QtCore.Slot(object)
    def _on_event(self, event: Event) -> None:
        self.slot_threads.add(QtCore.QThread.currentThread())
        if isinstance(event, Frame):
            self.frames.append(event)
            self.frame_arrived.emit(event)
        elif isinstance(event, Progress):
            self.progress.emit(event.fraction, event.message, self._remaining(event.fraction))
        elif isinstance(event, LogMessage):
            self.log.emit(event.level, event.text)
        elif isinstance(event, Scalars):
            self.scalars.emit(event)

    @QtCore.Slot(object)
    def _on_finished(self, run: Run) -> None:
        self.slot_threads.add(QtCore.QThread.currentThread())
        self.control = None
        self.last_run = run
        if run.error:
            self.log.emit("error", run.error)
        self.status_changed.emit(run.status.value)
        self.finished.emit(run)

    def _remaining(self, fraction: float) -> float:
        elapsed = time.perf_counter() - self._started_at
        if fraction <= 0.01 or fraction >= 1.0:
            return float("nan")
        return elapsed * (1.0 - fraction) / fraction
