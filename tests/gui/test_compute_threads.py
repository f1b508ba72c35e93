"""One compute thread per device: jobs for one device queue on its thread, other devices run beside it."""

from __future__ import annotations

import sys
import threading
import time
import types

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from workbench.compute.runner import build_problem
from workbench.core import Field, Frame, RunStatus
from workbench.gui.worker import job_device
from workbench.plugins import ParamSpec, SolverContribution, hookimpl
from workbench.testing import host_with

RUN_TIMEOUT_MS = 30_000
#: What each job of the test solver saw: (label, thread name, start, end).
SEEN: list[tuple[str, str, float, float]] = []
SEEN_LOCK = threading.Lock()


def ticking_plugin():
    """A solver on its own small grid that yields ``frames`` frames ``pause`` seconds apart (-1: until cancelled)."""
    plugin = types.ModuleType("ticking_solver_plugin")

    def grid_mesh(params):
        from workbench.core.meshgen import rectangle_mesh

        return rectangle_mesh(2)

    def solve(problem):
        label, started = problem.params["label"], time.perf_counter()
        try:
            step = 0
            while step != problem.params["frames"]:
                time.sleep(problem.params["pause"])
                yield Frame(step, float(step), {"u": Field("u", np.full(problem.mesh.n_points, float(step)))})
                step += 1
        finally:
            with SEEN_LOCK:
                SEEN.append((label, QtCore.QThread.currentThread().objectName(), started, time.perf_counter()))

    plugin.grid_mesh, plugin.solve = grid_mesh, solve

    @hookimpl
    def pdewb_reference_solvers():
        return [SolverContribution(
            id="test.ticking", title="Ticking", implementation="ticking_solver_plugin:solve",
            grid="ticking_solver_plugin:grid_mesh",
            params=(ParamSpec("label", "str", "a"), ParamSpec("frames", "int", 3, minimum=-1),
                    ParamSpec("pause", "float", 0.05)),
        )]

    plugin.pdewb_reference_solvers = pdewb_reference_solvers
    return plugin


@pytest.fixture
def ticking(monkeypatch):
    plugin = ticking_plugin()
    monkeypatch.setitem(sys.modules, plugin.__name__, plugin)
    SEEN.clear()
    host = host_with(plugin)
    solver = host.contributions(SolverContribution)[0]
    return host, solver


def start(window, solver, device=None, **params):
    problem = build_problem(solver, None, params)
    return window.controller.start(solver, problem, device=device, follow=False)


def test_jobs_without_torch_compute_on_the_cpu(ticking):
    _host, solver = ticking
    assert job_device(solver, {}) == "cpu"


def test_torch_jobs_take_the_device_the_core_selects(monkeypatch):
    import workbench.core.device

    asked = []

    def select_device(preferred=None):
        asked.append(preferred)
        if preferred == "mps":
            raise RuntimeError("device 'mps' was requested but Apple's MPS is not available")
        return types.SimpleNamespace(type="cuda", index=None if preferred is None else int(preferred[-1]))

    monkeypatch.setattr(workbench.core.device, "select_device", select_device)
    torch_solver = SolverContribution(id="t", title="t", implementation="x:y", requires=("torch",))
    assert job_device(torch_solver, {}) == "cuda:0"  # "cuda" is the current CUDA device: 0 unless set
    assert job_device(torch_solver, {"device": "cuda:1"}) == "cuda:1"  # the solver's own device parameter
    assert job_device(torch_solver, {"device": "mps"}) == "cpu"  # unavailable: the job fails on its own
    assert asked == [None, "cuda:1", "mps"]


def test_two_runs_for_one_device_queue_on_its_thread_another_device_gets_its_own(qtbot, new_window, ticking):
    host, solver = ticking
    window = new_window(host)
    assert window.controller.threads == {}  # created lazily, on the first job for a device
    finished = []
    window.controller.job_finished.connect(finished.append)
    first = start(window, solver, label="cpu-1")
    second = start(window, solver, label="cpu-2")
    other = start(window, solver, device="cuda:1", label="gpu")  # a second device, faked
    assert (first.device, second.device, other.device) == ("cpu", "cpu", "cuda:1")
    qtbot.waitUntil(lambda: len(finished) == 3, timeout=RUN_TIMEOUT_MS)

    assert all(job.run.status is RunStatus.SUCCEEDED for job in finished)
    threads = window.controller.threads
    assert set(threads) == {"cpu", "cuda:1"} and threads["cpu"] is not threads["cuda:1"]
    seen = {label: (thread, start, end) for label, thread, start, end in SEEN}
    assert seen["cpu-1"][0] == seen["cpu-2"][0] == "pdewb-compute-cpu"
    assert seen["gpu"][0] == "pdewb-compute-cuda:1"
    assert seen["cpu-2"][1] >= seen["cpu-1"][2]  # queued: the second starts once the first has ended
    assert [job.run.params["label"] for job in finished if job.device == "cpu"] == ["cpu-1", "cpu-2"]
    assert window.controller.slot_threads == {QtWidgets.QApplication.instance().thread()}


def test_a_run_started_from_the_panel_streams_while_a_background_job_does_not(qtbot, new_window, ticking):
    host, solver = ticking
    window = new_window(host)
    finished = []
    window.controller.job_finished.connect(finished.append)
    start(window, solver, device="cuda:1", label="background", frames=6)
    window.run_panel.select_solver("test.ticking")
    window.run_panel.form.set_values({"label": "shown", "frames": 4})
    assert window.start_run()
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=RUN_TIMEOUT_MS)
    assert {job.run.params["label"]: len(job.run.frames) for job in finished} == {"background": 6, "shown": 4}
    assert len(window.frames) == 4  # only the followed job's frames reach the view...
    assert [r.run.params["label"] for r in window.runs] == ["shown"]  # ...and the Runs panel lists the window's


def test_closing_the_window_cancels_the_jobs_of_every_device(qtbot, new_window, ticking):
    host, solver = ticking
    window = new_window(host)
    window.run_panel.select_solver("test.ticking")
    window.run_panel.form.set_values({"label": "cpu", "frames": -1, "pause": 0.01})
    assert window.start_run()
    start(window, solver, device="cuda:1", label="gpu", frames=-1, pause=0.01)
    queued = start(window, solver, device="cuda:1", label="queued", frames=-1, pause=0.01)
    finished = []
    window.controller.job_finished.connect(finished.append)
    qtbot.waitUntil(lambda: len(window.frames) >= 3 and len(SEEN) == 0, timeout=RUN_TIMEOUT_MS)

    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 5
    assert all(thread.isFinished() for thread in window.controller.threads.values())
    assert set(window.controller.threads) == {"cpu", "cuda:1"}
    assert {label for label, *_ in SEEN} >= {"cpu", "gpu"}  # both running jobs ended (their finally ran)
    qtbot.waitUntil(lambda: {job.run.params["label"] for job in finished} >= {"cpu", "gpu"}, timeout=5000)
    for job in finished:
        assert job.run.status is RunStatus.CANCELLED and "[info] cancelled by the user" in job.run.log
    assert queued.control.cancelled  # never started, and never will: its thread is gone


def test_frames_of_a_running_job_never_land_on_another_mesh(qtbot, new_window, ticking):
    from workbench.core.meshgen import rectangle_mesh

    host, _solver = ticking
    window = new_window(host)
    window.run_panel.select_solver("test.ticking")
    window.run_panel.form.set_values({"label": "long", "frames": -1, "pause": 0.01})
    assert window.start_run()
    qtbot.waitUntil(lambda: len(window.frames) >= 2, timeout=RUN_TIMEOUT_MS)
    other = rectangle_mesh(5)
    window.show_mesh(other, None)  # the user opens another mesh while the run goes on
    qtbot.wait(100)
    assert window.frames == [] and window.viewport.mesh is other
    window.run_panel.cancel_button.click()
    qtbot.waitUntil(lambda: bool(window.runs) and not window.controller.busy, timeout=RUN_TIMEOUT_MS)
    [record] = window.runs
    assert record.run.status is RunStatus.CANCELLED and len(record.run.frames) >= 5
    assert record.mesh is not other and record.mesh.n_points == 9  # recorded on the grid it ran on
    window.show_run(0)
    assert window.viewport.mesh is record.mesh and len(window.frames) == len(record.run.frames)
