"""Plain callables (training a surrogate, comparing it with its reference) on a device's compute thread.

Solver runs go through :class:`~workbench.gui.worker.RunController`, one QThread per
device. Surrogate work is not a solver run (it has no problem on a mesh) but computes
on the same devices, so it queues on the same threads: a training job on the CPU waits
for the CPU run in hand, and two GPU jobs never share one device's memory.

Threading contract, as in :mod:`workbench.gui.worker`:

- ``work(report)`` runs on the device's thread; it gets nothing from Qt and hands
  back plain objects (events, numpy arrays, dataclasses). ``report(item)`` sends an
  item to the GUI thread as it goes (the events of a job).
- A :class:`DeviceTask` lives on the GUI thread. The compute thread emits its
  private relay signals, which Qt queues to the task's slots on the GUI thread;
  those re-emit ``started``, ``event``, ``finished`` and ``failed``, so whatever is
  connected to them (bound methods, lambdas) runs on the GUI thread.
- Cancelling goes through the core's thread-safe :class:`~workbench.core.jobs.JobControl`
  that the work was given, never through the event loop.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore

from ..core.errors import WorkbenchError
from ..core.jobs import JobControl
from .worker import RunController

Work = Callable[[Callable[[Any], None]], Any]


class DeviceTask(QtCore.QObject):
    """One piece of work on a device's thread, seen from the GUI thread."""

    started = QtCore.Signal()  # it left the queue and runs now
    event = QtCore.Signal(object)  # an item the work reported
    finished = QtCore.Signal(object)  # what the work returned
    failed = QtCore.Signal(str)  # one line: why it raised

    _started_relay = QtCore.Signal(str)  # emitted on the compute thread: its name
    _event_relay = QtCore.Signal(object)
    _finished_relay = QtCore.Signal(object)
    _failed_relay = QtCore.Signal(str)

    def __init__(self, task_id: int, device: str, description: str, work: Work, control: JobControl | None,
                 owner: DeviceTasks) -> None:
        super().__init__(owner)
        self.id, self.device, self.description = task_id, device, description
        self.control = control
        self.ran_on = ""  # the name of the thread the work ran on
        self.running_since: float | None = None
        self.done = False
        self._work, self._owner = work, owner
        queued = QtCore.Qt.ConnectionType.QueuedConnection
        self._started_relay.connect(self._on_started, queued)
        self._event_relay.connect(self._on_event, queued)
        self._finished_relay.connect(self._on_finished, queued)
        self._failed_relay.connect(self._on_failed, queued)

    def cancel(self) -> bool:
        """Ask the work to stop (through its JobControl); False if it cannot be cancelled."""
        if self.control is None or self.done:
            return False
        self.control.cancel()
        return True

    # -- on the compute thread --------------------------------------------------------

    def execute(self) -> None:
        self._started_relay.emit(QtCore.QThread.currentThread().objectName())
        try:
            result = self._work(self._event_relay.emit)
        except WorkbenchError as error:  # meant for the user already
            self._failed_relay.emit(" ".join(str(error).split()))
        except Exception as error:  # noqa: BLE001 - a failing plugin must not take the thread down
            self._failed_relay.emit(f"{type(error).__name__}: {' '.join(str(error).split())}")
        else:
            self._finished_relay.emit(result)
        finally:
            self._work = None  # whatever it holds (arrays, a model) is not kept by the task

    # -- on the GUI thread --------------------------------------------------------------

    @QtCore.Slot(str)
    def _on_started(self, thread_name: str) -> None:
        self._owner.slot_threads.add(QtCore.QThread.currentThread())
        self.ran_on, self.running_since = thread_name, time.perf_counter()
        self.started.emit()

    @QtCore.Slot(object)
    def _on_event(self, item: Any) -> None:
        self._owner.slot_threads.add(QtCore.QThread.currentThread())
        if not self.done:
            self.event.emit(item)

    @QtCore.Slot(object)
    def _on_finished(self, result: Any) -> None:
        self._finish()
        self.finished.emit(result)

    @QtCore.Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish()
        self.failed.emit(message)

    def _finish(self) -> None:
        self._owner.slot_threads.add(QtCore.QThread.currentThread())
        self.done = True
        self._owner.running.pop(self.id, None)


class _LaneWorker(QtCore.QObject):
    """Lives on a device's compute thread and runs the tasks submitted to it, one after the other."""

    @QtCore.Slot(object)
    def run(self, task: DeviceTask) -> None:
        task.execute()


class _Submitter(QtCore.QObject):
    """Lives on the GUI thread; its signal is queued to one lane's worker."""

    submit = QtCore.Signal(object)


class DeviceTasks(QtCore.QObject):
    """Starts :class:`DeviceTask`\\ s on the RunController's device threads (created there if need be)."""

    def __init__(self, controller: RunController, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.running: dict[int, DeviceTask] = {}  # started and not finished, queued ones included
        self.slot_threads: set[QtCore.QThread] = set()  # threads our slots ran on (tests check it)
        self._submitters: dict[str, _Submitter] = {}
        self._workers: dict[str, _LaneWorker] = {}  # referenced here; deleted on their thread when it ends
        self._ids = itertools.count(1)
        self._shut_down = False

    @property
    def busy(self) -> bool:
        return bool(self.running)

    def start(self, device: str, description: str, work: Work, control: JobControl | None = None) -> DeviceTask:
        """Queue ``work(report)`` on ``device``'s compute thread; connect to the task's signals before
        returning to the event loop (nothing arrives earlier)."""
        if self._shut_down:
            raise RuntimeError("the compute threads are shut down")
        task = DeviceTask(next(self._ids), device, description, work, control, self)
        self.running[task.id] = task
        self._submitter(device).submit.emit(task)
        return task

    def ahead_of(self, task: DeviceTask) -> int:
        """Jobs on ``task``'s device that it waits for: solver runs and earlier tasks not finished."""
        runs = sum(job.device == task.device for job in self.controller.jobs.values())
        return runs + sum(other.device == task.device and other.id < task.id for other in self.running.values())

    def cancel_all(self) -> None:
        for task in list(self.running.values()):
            task.cancel()

    def shutdown(self) -> None:
        """Cancel what can be cancelled and accept no more work (the controller then stops the threads)."""
        self._shut_down = True
        self.cancel_all()

    def _submitter(self, device: str) -> _Submitter:
        submitter = self._submitters.get(device)
        if submitter is None:
            lane = self.controller.lane(device)  # the controller's own device thread, shared on purpose
            worker = _LaneWorker()
            worker.moveToThread(lane.thread)
            lane.thread.finished.connect(worker.deleteLater)
            submitter = _Submitter(self)
            submitter.submit.connect(worker.run, QtCore.Qt.ConnectionType.QueuedConnection)
            self._submitters[device], self._workers[device] = submitter, worker
        return submitter
