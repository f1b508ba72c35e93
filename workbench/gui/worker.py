"""Background compute: solver jobs run on one QThread per device, results come back by queued signals.

Threading contract (the only place the GUI meets the compute threads):

- Each device string ("cpu", "cuda:0", ...) gets its own :class:`DeviceLane`: a
  QThread with a :class:`ComputeWorker` living on it, created the first time a
  job asks for that device. Jobs for one device queue on its thread (Qt's event
  queue runs them one after the other), so two GPU jobs never fight over one
  device's memory, while a CPU job and a GPU job run side by side.
- The worker runs :func:`workbench.compute.runner.run_solver`, which drives the
  job protocol. Every event the job yields is emitted as it comes; events are
  immutable and own their arrays, so nothing is shared afterwards.
- :class:`RunController` lives on the GUI thread. Its slots receive the workers'
  signals through Qt's queued connections, so they always run on the GUI thread.
- Pause, step and cancel go through the core's thread-safe JobControl, never
  through the event loop, so they act even while a worker is busy (a queued job
  cancelled before it starts ends at once as a cancelled run).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6 import QtCore

from ..compute.runner import run_solver
from ..core.events import Event, Frame, LogMessage, Progress, Scalars
from ..core.jobs import JobControl
from ..core.problem import Problem
from ..core.run import Run, RunStatus
from ..plugins.contributions import SolverContribution

CPU = "cpu"


def job_device(solver: SolverContribution, params: Mapping[str, Any]) -> str:
    """The device a job of ``solver`` computes on, decided as the job decides it.

    Solvers without torch compute on the CPU (numpy, scipy). Torch solvers take
    their ``device`` parameter when they offer one, else
    :func:`workbench.core.device.select_device`'s choice (``PDEWB_DEVICE``, then
    CUDA, MPS, CPU). That imports torch on the GUI thread the first time; a grid
    solver has imported it already while building its grid.
    """
    if "torch" not in solver.requires:
        return CPU
    from ..core.device import select_device

    try:
        device = select_device(str(params.get("device") or "") or None)
    except RuntimeError:  # an unavailable device: the job fails at once with that message, on any thread
        return CPU
    if device.type == "cuda":  # "cuda" means the current CUDA device, 0 unless the job sets another
        return f"cuda:{device.index or 0}"
    return device.type if device.index is None else f"{device.type}:{device.index}"


class ComputeWorker(QtCore.QObject):
    """Runs jobs one at a time on the thread it lives on."""

    event = QtCore.Signal(int, object)  # job id, a core event
    finished = QtCore.Signal(int, object)  # job id, the finished Run

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device

    @QtCore.Slot(int, object, object, object)
    def run(self, job_id: int, solver: SolverContribution, problem: Problem, control: JobControl) -> None:
        # run_solver never raises for a failing job: failures come back as a failed Run.
        device = self.device if "torch" in solver.requires else None
        result = run_solver(solver, problem, control, lambda event: self.event.emit(job_id, event), device)
        self.finished.emit(job_id, result)


class DeviceLane(QtCore.QObject):
    """One device's compute thread and the worker living on it."""

    submit = QtCore.Signal(int, object, object, object)  # job id, solver, problem, control

    def __init__(self, device: str, parent: QtCore.QObject) -> None:
        super().__init__(parent)
        self.device = device
        # Qt owns both: the thread is our child, the worker is deleted on its own thread when
        # that thread ends, so nothing is left for Python's final garbage collection to tear down.
        self.thread = QtCore.QThread(self)
        self.thread.setObjectName(f"pdewb-compute-{device}")
        self.worker = ComputeWorker(device)
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        self.submit.connect(self.worker.run)  # queued: the lane's thread runs the jobs in order
        self.thread.start()

    def stop(self) -> None:
        self.thread.quit()  # after the job in hand; queued jobs were cancelled and are dropped


@dataclass(eq=False)
class ComputeJob:
    """A job handed to a device lane. ``context`` is whatever the starter wants back with the run."""

    id: int
    solver_id: str
    device: str
    control: JobControl
    context: Any = None
    running_since: float | None = None  # its first event: a queued job waits before it runs
    run: Run | None = None  # set when it finishes

    @property
    def finished(self) -> bool:
        return self.run is not None


class RunController(QtCore.QObject):
    """Starts jobs on their device's thread and turns their events into GUI-thread signals.

    The streaming signals (frames, progress, log, scalars, status) follow one job:
    the last one started with ``follow=True``, which is what the window shows and
    what pause, step and cancel act on. Every job reports ``job_finished`` and
    ``finished``, whether followed or not.
    """

    started = QtCore.Signal(object)  # ComputeJob
    frame_arrived = QtCore.Signal(object)  # Frame
    progress = QtCore.Signal(float, str, float)  # fraction, message, seconds remaining (nan if unknown)
    log = QtCore.Signal(str, str)  # level, text
    scalars = QtCore.Signal(object)  # Scalars
    status_changed = QtCore.Signal(str)  # RunStatus value
    job_finished = QtCore.Signal(object)  # ComputeJob, its run set
    finished = QtCore.Signal(object)  # Run

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.lanes: dict[str, DeviceLane] = {}
        self.jobs: dict[int, ComputeJob] = {}  # started and not finished, queued ones included
        self.followed: ComputeJob | None = None
        self.slot_threads: set[QtCore.QThread] = set()  # threads our slots ran on (tests check it)
        self._ids = itertools.count(1)
        self._shut_down = False

    @property
    def busy(self) -> bool:
        return bool(self.jobs)

    @property
    def threads(self) -> dict[str, QtCore.QThread]:
        """The compute thread of every device used so far."""
        return {device: lane.thread for device, lane in self.lanes.items()}

    def start(self, solver: SolverContribution, problem: Problem, *, device: str | None = None,
              context: Any = None, follow: bool = True) -> ComputeJob:
        """Queue a job on its device's thread (``device`` None: :func:`job_device` decides)."""
        if self._shut_down:
            raise RuntimeError("the compute threads are shut down")
        device = device or job_device(solver, problem.params)
        job = ComputeJob(next(self._ids), solver.id, device, JobControl(), context)
        self.jobs[job.id] = job
        self.started.emit(job)
        if follow:
            self.followed = job
            self.status_changed.emit(RunStatus.RUNNING.value)
        self.lane(device).submit.emit(job.id, solver, problem, job.control)
        return job

    def lane(self, device: str) -> DeviceLane:
        """The compute thread of ``device`` (created on first use); other GUI tasks may queue work on it."""
        lane = self.lanes.get(device)
        if lane is None:
            lane = self.lanes[device] = DeviceLane(device, self)
            lane.worker.event.connect(self._on_event)  # queued: back on the GUI thread
            lane.worker.finished.connect(self._on_finished)
        return lane

    # -- steering the followed job ---------------------------------------------------

    @property
    def control(self) -> JobControl | None:
        job = self.followed
        return job.control if job is not None and not job.finished else None

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

    def cancel_all(self) -> None:
        for job in self.jobs.values():
            job.control.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel every job and stop every device thread; True if all stopped within ``timeout_ms``."""
        self._shut_down = True
        self.cancel_all()
        for lane in self.lanes.values():
            lane.stop()
        deadline = QtCore.QDeadlineTimer(timeout_ms)  # one budget for all threads, which stop in parallel
        stopped = [lane.thread.wait(deadline) for lane in self.lanes.values()]
        return all(stopped)

    # -- slots (GUI thread) ----------------------------------------------------------

    @QtCore.Slot(int, object)
    def _on_event(self, job_id: int, event: Event) -> None:
        self.slot_threads.add(QtCore.QThread.currentThread())
        job = self.jobs.get(job_id)
        if job is None:
            return
        if job.running_since is None:
            job.running_since = time.perf_counter()
        if job is not self.followed:
            return  # the run records every event itself; only the followed job streams to the views
        if isinstance(event, Frame):
            self.frame_arrived.emit(event)
        elif isinstance(event, Progress):
            self.progress.emit(event.fraction, event.message, self._remaining(job, event.fraction))
        elif isinstance(event, LogMessage):
            self.log.emit(event.level, event.text)
        elif isinstance(event, Scalars):
            self.scalars.emit(event)

    @QtCore.Slot(int, object)
    def _on_finished(self, job_id: int, run: Run) -> None:
        self.slot_threads.add(QtCore.QThread.currentThread())
        job = self.jobs.pop(job_id, None)
        if job is None:
            return
        job.run = run
        if job is self.followed:
            if run.error:
                self.log.emit("error", run.error)
            self.status_changed.emit(run.status.value)
        self.job_finished.emit(job)
        self.finished.emit(run)

    @staticmethod
    def _remaining(job: ComputeJob, fraction: float) -> float:
        elapsed = time.perf_counter() - job.running_since
        if fraction <= 0.01 or fraction >= 1.0:
            return float("nan")
        return elapsed * (1.0 - fraction) / fraction
