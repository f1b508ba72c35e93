"""Slow file work (saving and opening projects) on a worker thread, one task at a time.

Writing a 160 MB project takes over half a second; on the GUI thread that would
freeze the window. The caller prepares what crosses threads on the GUI thread
(numpy arrays and bytes, never a Qt or VTK object), the task runs on a thread
of a private QThreadPool, and its result or error comes back through a queued
signal, so ``on_done`` and ``on_error`` always run on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6 import QtCore

from ..core.errors import WorkbenchError


class _Relay(QtCore.QObject):
    """Lives on the GUI thread; the pool thread emits its signals, Qt queues them to us."""

    succeeded = QtCore.Signal(object)
    failed = QtCore.Signal(str)


class _Runnable(QtCore.QRunnable):
    def __init__(self, work: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(False)  # FileTasks holds it until its result is delivered
        self._work, self._relay = work, relay

    def run(self) -> None:
        try:
            result = self._work()
        except (WorkbenchError, OSError) as error:  # already meant for the user
            self._relay.failed.emit(" ".join(str(error).split()))
        except Exception as error:  # noqa: BLE001 - a bug must surface as a message, not kill the thread
            self._relay.failed.emit(f"{type(error).__name__}: {error}")
        else:
            self._relay.succeeded.emit(result)


@dataclass
class _Task:
    kind: str
    description: str
    runnable: _Runnable
    relay: _Relay
    on_done: Callable[[Any], bool | None]
    on_error: Callable[[str], None]


class FileTasks(QtCore.QObject):
    """Runs one file task at a time; ``busy_changed`` lets the window show a busy state."""

    busy_changed = QtCore.Signal(bool)
    finished = QtCore.Signal(str, bool)  # kind ("save", "load"), succeeded

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._task: _Task | None = None
        # The finished task's runnable may still be returning from run() on the pool thread when its
        # result arrives here: it is kept until the pool is idle, never deleted under the thread's feet.
        self._finished_runnable: _Runnable | None = None
        self.slot_threads: set[QtCore.QThread] = set()  # threads the result slots ran on (tests check it)

    @property
    def busy(self) -> bool:
        return self._task is not None

    @property
    def description(self) -> str:
        """What the task in hand does, for the status bar ("Saving study.pdewb")."""
        return self._task.description if self._task is not None else ""

    def start(self, kind: str, description: str, work: Callable[[], Any],
              on_done: Callable[[Any], bool | None], on_error: Callable[[str], None]) -> bool:
        """Run ``work()`` on the pool thread; False (and nothing started) while another task runs.

        ``on_done(result)`` may return False to count the task as not done (a load the
        user cancelled); ``finished`` reports that.
        """
        if self.busy:
            return False
        self._pool.waitForDone()  # at most the previous run() returning
        self._finished_runnable = None
        relay = _Relay(self)
        relay.succeeded.connect(self._on_succeeded, QtCore.Qt.ConnectionType.QueuedConnection)
        relay.failed.connect(self._on_failed, QtCore.Qt.ConnectionType.QueuedConnection)
        self._task = _Task(kind, description, _Runnable(work, relay), relay, on_done, on_error)
        self.busy_changed.emit(True)
        self._pool.start(self._task.runnable)
        return True

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the pool thread is idle (at shutdown, so no thread outlives the window)."""
        return self._pool.waitForDone(timeout_ms)

    @QtCore.Slot(object)
    def _on_succeeded(self, result: Any) -> None:
        task = self._task
        try:  # still busy meanwhile: on_done may ask the user something (where a mesh moved)
            done = task.on_done(result) is not False
        finally:
            self._finish()
        self.finished.emit(task.kind, done)

    @QtCore.Slot(str)
    def _on_failed(self, message: str) -> None:
        task = self._task
        self._finish()
        task.on_error(message)
        self.finished.emit(task.kind, False)

    def _finish(self) -> None:
        self.slot_threads.add(QtCore.QThread.currentThread())
        self._task.relay.deleteLater()
        self._finished_runnable = self._task.runnable
        self._task = None
        self.busy_changed.emit(False)
