"""The record of one solver run: status, frames, curves, timings, metrics, log, error."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from .errors import describe_failure
from .events import Event, Frame, LogMessage, Progress, Scalars
from .field import Field
from .frame_store import FrameStore
from .interrupts import Terminated


class RunStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


@dataclass(eq=False)
class Run:
    """Everything a run produced. Filled in by :func:`workbench.core.jobs.execute`.

    ``frames`` is a :class:`~.frame_store.FrameStore` (frames given as a list are
    moved into one): it behaves like a list and spills frames beyond the memory
    budget to disk. ``terminated`` is True when SIGTERM, not Ctrl-C or the user,
    cancelled the run (the CLI then exits with 143).
    """

    solver_id: str
    params: dict[str, Any] = field(default_factory=dict)
    status: RunStatus = RunStatus.PENDING
    frames: FrameStore = field(default_factory=FrameStore)
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    progress: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    error: str | None = None
    terminated: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.frames, FrameStore):
            self.frames = FrameStore(self.frames)

    def record(self, event: Event) -> None:
        if isinstance(event, Frame):
            self.frames.append(event)
        elif isinstance(event, Progress):
            fraction = float(event.fraction)
            if fraction == fraction:  # a NaN fraction leaves the progress where it was
                self.progress = min(max(fraction, 0.0), 1.0)
        elif isinstance(event, LogMessage):
            self.log.append(f"[{event.level}] {event.text}")
        elif isinstance(event, Scalars):
            for name, value in event.values.items():
                self.curves.setdefault(name, []).append((event.step, float(value)))
        else:
            raise TypeError(f"a job yielded {type(event).__name__}, which is not an event")

    def fail(self, error: BaseException) -> None:
        self.status = RunStatus.FAILED
        self.error = _one_line(error)
        self.log.append(f"[error] {self.error}")
        self.log.extend("[trace] " + line for line in traceback.format_exception(error)[-6:])

    def interrupt(self, interruption: KeyboardInterrupt) -> None:
        """Ctrl-C or SIGTERM (:class:`~.interrupts.Terminated`) stopped the run: cancelled, frames kept."""
        self.status = RunStatus.CANCELLED
        self.terminated = isinstance(interruption, Terminated)
        self.log.append("[info] terminated (SIGTERM)" if self.terminated else "[info] interrupted")

    @property
    def times(self) -> np.ndarray:
        return self.frames.times()  # from memory: spilled frames are not read back for their times

    def field_names(self) -> list[str]:
        return list(self.frames[0].fields) if self.frames else []

    def field(self, name: str) -> Field:
        """A field over all frames, as one time series."""
        if not self.frames:
            raise KeyError(f"run of '{self.solver_id}' has no frames")
        return Field.series([frame.fields[name] for frame in self.frames], self.times)


def _one_line(error: BaseException) -> str:
    return describe_failure(error)
