"""The compute protocol, independent of any GUI toolkit.

A *job* is a generator of events (:mod:`workbench.core.events`). :func:`execute`
drives it step by step, and between two steps it honours a :class:`JobControl`:
pause, single-step and cancel. Whatever happens inside the job ends as a finished
:class:`~workbench.core.run.Run`: an exception becomes a failed run carrying the
message, non-finite values become a failed run that says where the solver
diverged, and a cancel closes the generator (running its ``finally`` blocks).

The CLI calls :func:`execute` directly; the GUI calls it from a worker thread and
forwards events to the GUI thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from .errors import PLUGIN_FAILURES, SolverDiverged
from .events import Event, Frame
from .run import Run, RunStatus

Job = Iterator[Event]


class JobControl:
    """Thread-safe pause / step / cancel switches, checked by :func:`execute` between steps.

    ``frames_allowed`` is None while running freely; 0 while paused; n > 0 while
    single-stepping (run until n more frames, then pause again).
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._cancelled = False
        self._frames_allowed: int | None = None

    def pause(self) -> None:
        with self._condition:
            self._frames_allowed = 0

    def resume(self) -> None:
        with self._condition:
            self._frames_allowed = None
            self._condition.notify_all()

    def step(self, frames: int = 1) -> None:
        """Let a paused job produce ``frames`` more frames, then pause again."""
        with self._condition:
            self._frames_allowed = (self._frames_allowed or 0) + frames
            self._condition.notify_all()

    def cancel(self) -> None:
        with self._condition:
            self._cancelled = True
            self._condition.notify_all()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def paused(self) -> bool:
        return self._frames_allowed == 0

    def wait_until_allowed(self, on_pause: Callable[[], None] | None = None) -> bool:
        """Block while paused; return False if the job must stop."""
        with self._condition:
            if self._frames_allowed == 0 and on_pause is not None:
                on_pause()
            while self._frames_allowed == 0 and not self._cancelled:
                self._condition.wait()
            return not self._cancelled

    def frame_delivered(self) -> None:
        with self._condition:
            if self._frames_allowed:
                self._frames_allowed -= 1


def execute(
    job: Job,
    run: Run,
    control: JobControl | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> Run:
    """Drive ``job`` to completion, recording into ``run``; never raises for job failures.

    ``on_event`` sees every event after it is recorded (a GUI forwards it to its
    thread). KeyboardInterrupt counts as a cancel.
    """
    control = control or JobControl()
    started = time.perf_counter()
    run.status = RunStatus.RUNNING
    frame_seconds: list[float] = []
    last = started

    def mark_paused() -> None:
        run.status = RunStatus.PAUSED

    try:
        while True:
            if not control.wait_until_allowed(on_pause=mark_paused):
                run.status = RunStatus.CANCELLED
                run.log.append("[info] cancelled by the user")
                break
            run.status = RunStatus.RUNNING
            try:
                event = next(job)
            except StopIteration:
                run.status = RunStatus.SUCCEEDED
                run.progress = 1.0
                break
            if isinstance(event, Frame):
                _require_finite(event)
                now = time.perf_counter()
                frame_seconds.append(now - last)
                last = now
            run.record(event)
            if on_event is not None:
                on_event(event)
            if isinstance(event, Frame):
                control.frame_delivered()
    except KeyboardInterrupt as interruption:  # Ctrl-C, or SIGTERM under terminate_as_interrupt()
        run.interrupt(interruption)
    except PLUGIN_FAILURES as error:  # every job failure (sys.exit() included) becomes a failed run
        run.fail(error)
    finally:
        _close(job, run)
        run.timings["wall_s"] = time.perf_counter() - started
        if frame_seconds:
            run.timings["first_frame_s"] = frame_seconds[0]
            run.timings["mean_frame_s"] = float(np.mean(frame_seconds))
    return run


def _require_finite(frame: Frame) -> None:
    for name, field in frame.fields.items():
        if not np.isfinite(field.values).all():
            raise SolverDiverged(
                f"the solution diverged: field '{name}' has NaN or infinite values at frame {frame.index} (t = {frame.time:g})"
            )


def _close(job: Job, run: Run) -> None:
    close = getattr(job, "close", None)
    if close is None:
        return
    try:
        close()
    except PLUGIN_FAILURES as error:  # a failing cleanup must not hide the run's outcome
        run.log.append(f"[warning] job cleanup failed: {error}")
