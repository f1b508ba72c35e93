"""execute() and JobControl: outcomes of a job, and pause / step / resume / cancel from another thread.

Every test that involves a second thread joins it with a timeout, so a bug shows up as a
failure, not as a hung test run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from workbench.core.events import Frame, LogMessage, Progress, Scalars
from workbench.core.field import Field
from workbench.core.jobs import JobControl, execute
from workbench.core.run import Run, RunStatus

TIMEOUT = 5.0


def frame(index: int, value: float = 0.0, n: int = 3) -> Frame:
    return Frame(index, 0.1 * index, {"u": Field("u", np.full(n, value))})


def wait_for(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    """Poll a condition that no event signals (e.g. the run's status changing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return predicate()


class Worker:
    """execute() on a background thread."""

    def __init__(self, job, control: JobControl, on_event=None) -> None:
        self.run = Run("test")
        self.result: Run | None = None
        self.raised: BaseException | None = None

        def target() -> None:
            try:
                self.result = execute(job, self.run, control, on_event)
            except BaseException as error:  # noqa: BLE001 - reported by finish()
                self.raised = error

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def finish(self) -> Run:
        self.thread.join(timeout=TIMEOUT)
        assert not self.thread.is_alive(), "execute() did not return within the timeout"
        assert self.raised is None, f"execute() raised {self.raised!r}"
        assert self.result is self.run
        return self.run


class Tracker:
    """A generator job whose progress and cleanup can be observed."""

    def __init__(self) -> None:
        self.finally_ran = threading.Event()
        self.produced = 0

    def endless(self, pause_s: float = 0.0):
        try:
            index = 0
            while True:
                self.produced += 1
                yield frame(index, float(index))
                index += 1
                if pause_s:
                    time.sleep(pause_s)
        finally:
            self.finally_ran.set()


# -- outcomes without a second thread ------------------------------------------------------------


def test_job_runs_to_success_with_progress_and_timings():
    tracker = Tracker()

    def job():
        try:
            for i in range(4):
                yield Progress(i / 4, f"step {i}")
                yield frame(i, float(i))
            yield Scalars(3, {"energy": 1.5})
            yield LogMessage("done")
        finally:
            tracker.finally_ran.set()

    run = Run("heat")
    result = execute(job(), run)
    assert result is run
    assert run.status is RunStatus.SUCCEEDED
    assert run.error is None
    assert run.progress == 1.0
    assert [f.index for f in run.frames] == [0, 1, 2, 3]
    assert run.curves == {"energy": [(3, 1.5)]}
    assert run.log == ["[info] done"]
    assert set(run.timings) == {"wall_s", "first_frame_s", "mean_frame_s"}
    assert 0.0 <= run.timings["first_frame_s"] <= run.timings["wall_s"]
    assert 0.0 <= run.timings["mean_frame_s"] <= run.timings["wall_s"]
    assert tracker.finally_ran.is_set()


def test_job_without_frames_has_only_wall_time():
    run = execute(iter([Progress(0.5), LogMessage("x")]), Run("noop"))
    assert run.status is RunStatus.SUCCEEDED
    assert set(run.timings) == {"wall_s"}
    assert run.frames == []


def test_frame_timings_measure_the_job():
    def job():
        for i in range(3):
            time.sleep(0.02)
            yield frame(i)

    run = execute(job(), Run("slow"))
    assert run.timings["first_frame_s"] >= 0.015
    assert run.timings["mean_frame_s"] >= 0.015
    assert run.timings["wall_s"] >= 0.05


def test_exception_in_job_fails_the_run_and_runs_finally():
    tracker = Tracker()

    def job():
        try:
            yield frame(0)
            yield frame(1)
            raise ValueError("matrix is singular")
        finally:
            tracker.finally_ran.set()

    run = execute(job(), Run("poisson"))
    assert run.status is RunStatus.FAILED
    assert run.error == "ValueError: matrix is singular"
    assert "[error] ValueError: matrix is singular" in run.log
    trace = "".join(line for line in run.log if line.startswith("[trace]"))
    assert "Traceback" in trace and "raise ValueError" in trace
    assert len(run.frames) == 2
    assert tracker.finally_ran.is_set()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_frame_fails_naming_field_and_frame(bad):
    tracker = Tracker()

    def job():
        try:
            yield frame(0, 1.0)
            yield frame(1, 2.0)
            values = np.ones(3)
            values[1] = bad
            yield Frame(7, 0.35, {"p": Field("p", np.zeros(3)), "u": Field("u", values)})
            yield frame(8, 3.0)
        finally:
            tracker.finally_ran.set()

    run = execute(job(), Run("heat"))
    assert run.status is RunStatus.FAILED
    assert run.error.startswith("SolverDiverged: ")
    assert "field 'u'" in run.error
    assert "frame 7" in run.error
    assert "t = 0.35" in run.error
    assert "'p'" not in run.error
    assert [f.index for f in run.frames] == [0, 1]  # the diverged frame is not recorded
    assert tracker.finally_ran.is_set()


def test_non_event_object_fails_the_run():
    tracker = Tracker()

    def job():
        try:
            yield frame(0)
            yield {"u": np.zeros(3)}
            yield frame(1)
        finally:
            tracker.finally_ran.set()

    run = execute(job(), Run("bad"))
    assert run.status is RunStatus.FAILED
    assert run.error.startswith("TypeError: ")
    assert "dict" in run.error and "not an event" in run.error
    assert len(run.frames) == 1
    assert tracker.finally_ran.is_set()


def test_keyboard_interrupt_cancels():
    tracker = Tracker()

    def job():
        try:
            yield frame(0)
            raise KeyboardInterrupt
        finally:
            tracker.finally_ran.set()

    run = execute(job(), Run("heat"))
    assert run.status is RunStatus.CANCELLED
    assert run.error is None
    assert "[info] interrupted" in run.log
    assert len(run.frames) == 1
    assert tracker.finally_ran.is_set()


def test_on_event_sees_every_event_in_order_after_recording():
    events = [
        LogMessage("start"),
        Progress(0.0),
        frame(0),
        Scalars(0, {"residual": 1.0}),
        Progress(0.5),
        frame(1),
        Scalars(1, {"residual": 0.1}),
        LogMessage("end", "warning"),
    ]
    run = Run("order")
    seen = []

    def on_event(event):
        # recorded before the callback: the run already contains it
        if isinstance(event, Frame):
            assert run.frames[-1] is event
        seen.append(event)

    execute(iter(events), run, on_event=on_event)
    assert run.status is RunStatus.SUCCEEDED
    assert len(seen) == len(events)
    assert all(a is b for a, b in zip(seen, events))


def test_plain_iterator_without_close_is_a_job():
    run = execute(iter([frame(0), frame(1)]), Run("iter"))
    assert run.status is RunStatus.SUCCEEDED and len(run.frames) == 2


class ClosingIterator:
    """A job (not a generator) whose close() raises."""

    def __init__(self, events, fail_with: Exception | None = None) -> None:
        self._events = iter(events)
        self._fail_with = fail_with
        self.closed = False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._events)
        except StopIteration:
            if self._fail_with is not None:
                raise self._fail_with from None
            raise

    def close(self):
        self.closed = True
        raise RuntimeError("cleanup broke")


def test_close_raising_keeps_success_and_warns():
    job = ClosingIterator([frame(0), frame(1)])
    run = execute(job, Run("heat"))
    assert job.closed
    assert run.status is RunStatus.SUCCEEDED
    assert run.error is None
    assert "[warning] job cleanup failed: cleanup broke" in run.log
    assert "wall_s" in run.timings


def test_close_raising_keeps_failure_and_warns():
    job = ClosingIterator([frame(0)], fail_with=ValueError("no convergence"))
    run = execute(job, Run("heat"))
    assert run.status is RunStatus.FAILED
    assert run.error == "ValueError: no convergence"
    assert "[warning] job cleanup failed: cleanup broke" in run.log


def test_generator_whose_finally_raises_on_cancel_stays_cancelled():
    control = JobControl()

    def job():
        try:
            while True:
                yield frame(0)
        finally:
            raise RuntimeError("cleanup broke")

    def on_event(event):
        control.cancel()

    run = execute(job(), Run("heat"), control, on_event)
    assert run.status is RunStatus.CANCELLED
    assert run.error is None
    assert len(run.frames) == 1
    assert "[warning] job cleanup failed: cleanup broke" in run.log


def test_cancel_before_start_never_runs_the_job():
    control = JobControl()
    control.cancel()
    started = threading.Event()

    def job():
        started.set()
        yield frame(0)

    run = execute(job(), Run("heat"), control)
    assert run.status is RunStatus.CANCELLED
    assert not started.is_set()
    assert run.frames == []
    assert "[info] cancelled by the user" in run.log


# -- control from another thread ------------------------------------------------------------------------


def test_cancel_from_another_thread_while_job_runs():
    tracker = Tracker()
    control = JobControl()
    reached = threading.Event()

    def on_event(event):
        if event.index == 3:
            reached.set()

    worker = Worker(tracker.endless(pause_s=0.001), control, on_event)
    assert reached.wait(TIMEOUT), "the job never produced frame 3"
    assert worker.run.status is RunStatus.RUNNING
    cancelled_at = time.perf_counter()
    control.cancel()
    run = worker.finish()
    assert time.perf_counter() - cancelled_at < 1.0
    assert run.status is RunStatus.CANCELLED
    assert "[info] cancelled by the user" in run.log
    assert tracker.finally_ran.is_set()
    assert control.cancelled


def test_cancel_during_a_step_stops_right_after_it():
    """The job is inside next() when cancel arrives: at most that one event is still recorded."""
    control = JobControl()
    tracker = Tracker()
    inside = threading.Event()
    release = threading.Event()

    def job():
        try:
            for i in range(1000):
                if i == 2:
                    inside.set()
                    assert release.wait(TIMEOUT)
                yield frame(i)
        finally:
            tracker.finally_ran.set()

    worker = Worker(job(), control)
    assert inside.wait(TIMEOUT)
    control.cancel()
    release.set()
    run = worker.finish()
    assert run.status is RunStatus.CANCELLED
    assert [f.index for f in run.frames] == [0, 1, 2]
    assert tracker.finally_ran.is_set()


def test_pause_step_resume_from_another_thread():
    control = JobControl()
    total = 6
    at_frame_1 = threading.Event()
    go_on = threading.Event()
    finally_ran = threading.Event()

    def job():
        try:
            for i in range(total):
                yield Progress(i / total)
                yield frame(i, float(i))
        finally:
            finally_ran.set()

    def on_event(event):
        if isinstance(event, Frame) and event.index == 1:
            at_frame_1.set()
            assert go_on.wait(TIMEOUT)

    worker = Worker(job(), control, on_event)
    run = worker.run
    assert at_frame_1.wait(TIMEOUT)
    control.pause()
    assert control.paused
    go_on.set()

    # paused after frame 1: the status says so and no frame progresses
    assert wait_for(lambda: run.status is RunStatus.PAUSED), f"status stayed {run.status}"
    assert len(run.frames) == 2
    time.sleep(0.05)
    assert len(run.frames) == 2
    assert run.status is RunStatus.PAUSED
    assert worker.thread.is_alive()

    # step: exactly one more frame (with the progress event before it), then paused again
    control.step()
    assert wait_for(lambda: len(run.frames) == 3 and run.status is RunStatus.PAUSED)
    time.sleep(0.05)
    assert len(run.frames) == 3
    assert run.status is RunStatus.PAUSED
    assert control.paused
    assert run.frames[-1].index == 2
    assert run.progress == pytest.approx(2 / total)

    # step(2): two more frames
    control.step(2)
    assert wait_for(lambda: len(run.frames) == 5 and run.status is RunStatus.PAUSED)
    time.sleep(0.05)
    assert len(run.frames) == 5

    control.resume()
    assert not control.paused
    run = worker.finish()
    assert run.status is RunStatus.SUCCEEDED
    assert [f.index for f in run.frames] == list(range(total))
    assert run.progress == 1.0
    assert finally_ran.is_set()


def test_pause_before_start_blocks_until_resume():
    control = JobControl()
    control.pause()
    started = threading.Event()

    def job():
        started.set()
        yield frame(0)
        yield frame(1)

    worker = Worker(job(), control)
    assert wait_for(lambda: worker.run.status is RunStatus.PAUSED)
    time.sleep(0.05)
    assert not started.is_set()
    control.resume()
    run = worker.finish()
    assert run.status is RunStatus.SUCCEEDED
    assert len(run.frames) == 2


def test_cancel_while_paused_unblocks_and_cancels():
    tracker = Tracker()
    control = JobControl()
    reached = threading.Event()

    def on_event(event):
        if event.index == 2:
            control.pause()
            reached.set()

    worker = Worker(tracker.endless(), control, on_event)
    assert reached.wait(TIMEOUT)
    assert wait_for(lambda: worker.run.status is RunStatus.PAUSED)
    produced = tracker.produced
    control.cancel()
    run = worker.finish()
    assert run.status is RunStatus.CANCELLED
    assert tracker.produced == produced == 3
    assert len(run.frames) == 3
    assert tracker.finally_ran.is_set()


def test_step_of_a_free_running_job_does_not_block_it():
    """step() on a job that is not paused lets n frames through and then pauses."""
    control = JobControl()
    control.step(2)
    tracker = Tracker()
    worker = Worker(tracker.endless(), control)
    assert wait_for(lambda: worker.run.status is RunStatus.PAUSED)
    assert len(worker.run.frames) == 2
    control.cancel()
    run = worker.finish()
    assert run.status is RunStatus.CANCELLED
    assert tracker.finally_ran.is_set()


def test_job_control_flags():
    control = JobControl()
    assert not control.paused and not control.cancelled
    control.pause()
    assert control.paused
    control.step()
    assert not control.paused
    control.frame_delivered()
    assert control.paused
    control.resume()
    assert not control.paused
    assert control.wait_until_allowed()
    control.cancel()
    assert control.cancelled
    assert not control.wait_until_allowed()
