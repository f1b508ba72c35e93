"""Coalesce redraws: keep only the latest frame per view, draw at most ~30 times a second.

A fast solver can emit hundreds of frames a second; drawing each would starve the
event loop. Views submit a draw callable under a key; a newer submission for the
same key replaces the older one, and a timer draws whatever is pending.

When drawing itself is slow (a million-point mesh in software OpenGL takes a few
hundred ms), the interval grows to a few times the last draw's cost, so the event
loop spends most of its time on the user (slider, pause, cancel), not on drawing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from PySide6 import QtCore

FRAME_INTERVAL_MS = 33
#: The event loop gets at least this many times a draw's duration between two draws.
IDLE_PER_DRAW = 3


class RenderScheduler(QtCore.QObject):
    def __init__(self, parent: QtCore.QObject | None = None, interval_ms: int = FRAME_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._pending: dict[Hashable, Callable[[], None]] = {}
        self._timer = QtCore.QTimer(self)
        self._base_interval = interval_ms
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)
        self.draws = 0  # total draws performed (benchmarks and tests read it)
        self._stopped = False

    def submit(self, key: Hashable, draw: Callable[[], None]) -> None:
        if self._stopped:
            return
        self._pending[key] = draw
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        started = time.perf_counter()
        for draw in pending.values():
            draw()
            self.draws += 1
        spent_ms = 1e3 * (time.perf_counter() - started)
        self._timer.setInterval(max(self._base_interval, round(IDLE_PER_DRAW * spent_ms)))
        if not self._pending:
            self._timer.stop()

    def stop(self) -> None:
        """Drop pending draws and accept no more (the views are going away)."""
        self._stopped = True
        self._pending.clear()
        self._timer.stop()
