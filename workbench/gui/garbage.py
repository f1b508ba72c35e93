"""Python's cyclic garbage collector, run on the GUI thread only.

The collector runs in whichever thread allocates when a generation's threshold is
crossed. If that is a compute thread and the garbage holds a Qt object (a closed
dialog caught in a reference cycle), the object's C++ destructor runs on the wrong
thread, and PySide6 can deadlock there: seen in the test suite, where a training
job's first Adam step (importing torch._dynamo on the compute thread) collected a
widget of an earlier test and ~QObject waited for the GIL forever. As calibre does,
automatic collection is switched off and a timer on the GUI thread collects what the
thresholds would have collected.
"""

from __future__ import annotations

import gc

from PySide6 import QtCore

CHECK_INTERVAL_MS = 500


class GuiThreadGarbageCollector(QtCore.QObject):
    """Disables automatic collection; collects on the GUI thread when the thresholds say so."""

    def __init__(self, parent: QtCore.QObject, interval_ms: int = CHECK_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start(interval_ms)

    @QtCore.Slot()
    def collect_due(self) -> None:
        """Collect the oldest generation whose allocation count passed its threshold."""
        counts = gc.get_count()
        if counts[0] <= self.thresholds[0]:
            return
        generation = 2 if counts[2] > self.thresholds[2] else 1 if counts[1] > self.thresholds[1] else 0
        gc.collect(generation)

    def stop(self) -> None:
        """Hand collection back to Python (everything pending is collected here, on this thread)."""
        self.timer.stop()
        gc.collect()
        if self.was_enabled:
            gc.enable()


def collect_on_gui_thread(app: QtCore.QCoreApplication) -> GuiThreadGarbageCollector:
    """Install the collector for the application's lifetime (call on the GUI thread)."""
    return GuiThreadGarbageCollector(app)
