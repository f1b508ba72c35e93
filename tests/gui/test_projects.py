"""Projects in the window: grid runs saved with their grid, meshes that moved, saving off the GUI thread."""

from __future__ import annotations

import errno
import shutil
import time

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from workbench.core import Field, Frame, Run, RunStatus
from workbench.core.meshgen import rectangle_mesh
from workbench.gui.run_records import RunRecord
from workbench.io.project import load_project
from workbench.io.series import write_vtu

RUN_TIMEOUT_MS = 30_000


def wait_finished(qtbot, window, runs: int = 1) -> Run:
    qtbot.waitUntil(lambda: len(window.runs) >= runs and not window.controller.busy, timeout=RUN_TIMEOUT_MS)
    return window.runs[-1].run


def run_darcy(qtbot, window, n: int) -> Run:
    window.run_panel.select_solver("darcy.fd")
    window.run_panel.form.set_values({"n": n, "seed": 3})
    before = len(window.runs)
    assert window.start_run()
    run = wait_finished(qtbot, window, before + 1)
    assert run.status is RunStatus.SUCCEEDED, run.error
    return run


def run_poisson(qtbot, window) -> Run:
    window.run_panel.select_solver("fem.poisson")
    window.run_panel.set_mesh(window.mesh)
    window.run_panel.boundaries.set_condition("boundary", "dirichlet", "x")  # a .vtu keeps no side names
    before = len(window.runs)
    assert window.start_run()
    run = wait_finished(qtbot, window, before + 1)
    assert run.status is RunStatus.SUCCEEDED, run.error
    return run


def assert_same_frames(a: Run, b: Run) -> None:
    assert len(a.frames) == len(b.frames) > 0
    for fa, fb in zip(a.frames, b.frames):
        assert fa.time == fb.time and list(fa.fields) == list(fb.fields)
        for key in fa.fields:
            np.testing.assert_array_equal(fa.fields[key].values, fb.fields[key].values)


# ---------------------------------------------------------------------------- grid solvers


def test_a_darcy_run_is_saved_with_its_grid_and_reopens_identical(qtbot, new_window, tmp_path, project_io):
    window = new_window()
    run = run_darcy(qtbot, window, n=16)
    assert window.mesh_reference is None and window.mesh.n_points == 17 * 17
    path = tmp_path / "darcy.pdewb"
    assert project_io.save(window, path)

    reopened = new_window()
    assert project_io.load(reopened, path)
    assert reopened.mesh_reference is None  # still the solver's grid, now from the file
    np.testing.assert_array_equal(reopened.mesh.points, window.mesh.points)
    np.testing.assert_array_equal(reopened.mesh.cells[0].connectivity, window.mesh.cells[0].connectivity)
    assert reopened.mesh.boundary_names() == window.mesh.boundary_names()
    assert reopened.viewport.mapper.GetInput().GetNumberOfPoints() == 17 * 17
    [record] = reopened.runs
    assert (record.run.solver_id, record.run.params) == ("darcy.fd", run.params)
    assert_same_frames(record.run, run)
    assert len(reopened.frames) == len(run.frames)  # the run is on display


def test_runs_on_two_grids_are_all_saved_each_with_its_own_grid(qtbot, new_window, tmp_path, project_io):
    window = new_window()
    coarse = run_darcy(qtbot, window, n=8)
    coarse_grid = window.mesh
    run_darcy(qtbot, window, n=16)
    run_darcy(qtbot, window, n=16)
    fine_grid = window.mesh
    assert window.runs[1].mesh is window.runs[2].mesh is fine_grid  # an equal grid is reused, not rebuilt

    path = tmp_path / "p.pdewb"
    assert project_io.save(window, path)
    saved = load_project(path)
    assert [(entry.name, entry.mesh) for entry in saved.runs] == [("darcy.fd #1", 1), ("darcy.fd #2", 0),
                                                                  ("darcy.fd #3", 0)]
    assert [m.embedded.n_points for m in saved.meshes] == [17 * 17, 9 * 9]  # the grid on display first
    assert "saved project" in window.log_view.toPlainText() and "(3 runs on 2 meshes)" in window.log_view.toPlainText()

    reopened = new_window()
    assert project_io.load(reopened, path)
    assert [r.name for r in reopened.runs] == ["darcy.fd #1", "darcy.fd #2", "darcy.fd #3"]
    assert reopened.runs[1].mesh is reopened.runs[2].mesh is not reopened.runs[0].mesh
    for old, new in zip(window.runs, reopened.runs):
        np.testing.assert_array_equal(new.mesh.points, old.mesh.points)
        assert_same_frames(new.run, old.run)
    assert not reopened.unsaved_runs()
    reopened.show_run(0)  # a run is always drawn on the mesh it ran on
    assert reopened.mesh.n_points == 81 and len(reopened.frames) == len(coarse.frames)

    window.show_run(0)
    assert window.mesh is coarse_grid
    window.compare_runs(0, 1)
    assert "different meshes" in window.last_error_box.text()


def test_a_mesh_file_and_a_solver_grid_in_one_sitting_are_both_saved(qtbot, new_window, tmp_path, project_io):
    mesh_file = tmp_path / "square.vtu"
    write_vtu(mesh_file, rectangle_mesh(6))
    window = new_window()
    assert window.open_mesh(mesh_file)
    run_poisson(qtbot, window)
    run_darcy(qtbot, window, n=8)  # the solver's own grid replaces the mesh on display
    path = tmp_path / "p.pdewb"
    assert project_io.save(window, path)
    saved = load_project(path)
    assert [m.reference for m in saved.meshes] == ["", str(mesh_file)]
    assert [(e.run.solver_id, e.mesh) for e in saved.runs] == [("fem.poisson", 1), ("darcy.fd", 0)]

    reopened = new_window()
    assert project_io.load(reopened, path)
    assert reopened.runs[0].mesh_reference == str(mesh_file) and reopened.runs[0].mesh.n_points == 49
    assert reopened.runs[1].mesh_reference is None and reopened.runs[1].mesh.n_points == 81


# ---------------------------------------------------------------------------- a mesh that moved


@pytest.fixture
def moved_mesh_project(qtbot, new_window, tmp_path, project_io):
    """A project whose mesh file was moved after saving: (project path, new mesh path, the run)."""
    mesh_file = tmp_path / "study" / "square.vtu"
    mesh_file.parent.mkdir()
    write_vtu(mesh_file, rectangle_mesh(6))
    window = new_window()
    assert window.open_mesh(mesh_file)
    run = run_poisson(qtbot, window)
    project = tmp_path / "elsewhere" / "study.pdewb"
    assert project_io.save(window, project)
    moved = tmp_path / "archive" / "square-v1.vtu"
    moved.parent.mkdir()
    shutil.move(mesh_file, moved)
    return project, moved, run


def answer_dialog(monkeypatch, *answers: str) -> list[str]:
    """Make the file dialog answer ``answers`` in turn; returns the captions it was shown with."""
    captions, queue = [], list(answers)

    def get_open_file_name(parent, caption="", folder="", filters=""):
        captions.append(caption)
        return (queue.pop(0) if queue else "", "")

    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", staticmethod(get_open_file_name))
    return captions


def test_a_moved_mesh_is_located_and_a_different_one_refused(qtbot, new_window, tmp_path, project_io,
                                                             moved_mesh_project, monkeypatch):
    project, moved, run = moved_mesh_project
    impostor = tmp_path / "other.vtu"
    write_vtu(impostor, rectangle_mesh(5))
    captions = answer_dialog(monkeypatch, str(impostor), str(moved))

    window = new_window()
    assert project_io.load(window, project)
    assert len(captions) == 2 and "square.vtu" in captions[0] and "49 points and 72 cells" in captions[0]
    log = window.log_view.toPlainText()
    assert "other.vtu: it has 36 points and 50 cells; the project's mesh had 49 points and 72 cells" in log
    assert window.mesh_reference == str(moved) and window.mesh.n_points == 49
    assert_same_frames(window.runs[0].run, run)
    assert "save the project to remember it" in log


def test_cancelling_the_locate_dialog_keeps_the_open_project(qtbot, new_window, project_io,
                                                             moved_mesh_project, monkeypatch):
    project, _moved, _run = moved_mesh_project
    window = new_window()
    window.open_mesh("sample:plate-with-hole")
    window.add_run(RunRecord("kept", Run("x", status=RunStatus.SUCCEEDED), (), window.mesh, window.mesh_reference))
    captions = answer_dialog(monkeypatch)  # the user cancels

    assert not project_io.load(window, project)
    assert len(captions) == 1
    assert window.mesh_reference == "sample:plate-with-hole" and window.mesh.n_points == 2268
    assert [r.name for r in window.runs] == ["kept"] and window.runs_list.count() == 1
    assert "was cancelled; the current project is unchanged" in window.log_view.toPlainText()


def test_a_mesh_file_replaced_by_another_mesh_is_refused(qtbot, new_window, project_io, moved_mesh_project,
                                                         monkeypatch, tmp_path):
    project, _moved, _run = moved_mesh_project
    write_vtu(tmp_path / "study" / "square.vtu", rectangle_mesh(4))  # same name, another mesh
    captions = answer_dialog(monkeypatch)
    window = new_window()
    assert not project_io.load(window, project)
    assert len(captions) == 1 and window.mesh is None and not window.runs
    assert "25 points and 32 cells" in window.last_error_box.text()


# ---------------------------------------------------------------------------- saving off the GUI thread


def big_run(window, megabytes: int) -> None:
    """A run with ``megabytes`` of float64 frames on the current mesh, as if it had been computed."""
    n = window.mesh.n_points
    frames = []
    for i in range(max(1, megabytes * 1_000_000 // (8 * n))):
        frames.append(Frame(i, 0.1 * i, {"u": Field("u", np.full(n, float(i)))}))
    run = Run("fem.heat", {"dt": 0.1}, RunStatus.SUCCEEDED, frames)
    window.add_run(RunRecord("big", run, (), window.mesh, window.mesh_reference))


@pytest.fixture
def big_window(new_window):
    window = new_window()
    window.show_mesh(rectangle_mesh(250), None)  # 63k points
    big_run(window, megabytes=50)
    return window


def test_the_event_loop_keeps_turning_while_a_50_mb_project_is_saved(qtbot, big_window, tmp_path):
    window = big_window
    ticks: list[float] = []
    timer = QtCore.QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    path = tmp_path / "big.pdewb"
    with qtbot.waitSignal(window.file_tasks.finished, timeout=RUN_TIMEOUT_MS) as blocker:
        started = time.perf_counter()
        assert window.save_project(path)
        returned = time.perf_counter()
        assert window.file_busy_bar.isVisible() and "Saving big.pdewb" in window.file_busy_label.text()
        assert not any(action.isEnabled() for action in window.project_actions)
        assert not window.save_project(tmp_path / "second.pdewb")  # one file task at a time
        assert "still in progress" in window.last_error_box.text()
    finished = time.perf_counter()
    timer.stop()
    assert blocker.args == ["save", True]
    during = [t for t in ticks if started < t < finished]
    print(f"\nsave: {returned - started:.3f} s on the GUI thread, {finished - started:.3f} s in all, "
          f"{len(during)} timer ticks meanwhile")
    assert returned - started < 0.2  # the snapshot only
    assert len(during) >= 3 and np.diff([started, *during, finished]).max() < 0.5
    assert not window.file_busy_bar.isVisible() and all(a.isEnabled() for a in window.project_actions)
    assert not (tmp_path / "second.pdewb").exists()
    back = load_project(path)
    assert back.runs[0].run.frames[-1].fields["u"].values[0] == window.runs[0].run.frames[-1].fields["u"].values[0]
    assert window.file_tasks.slot_threads == {QtWidgets.QApplication.instance().thread()}


def test_the_event_loop_keeps_turning_while_a_project_is_read(qtbot, big_window, tmp_path, project_io,
                                                              new_window, monkeypatch):
    import workbench.gui.project_files

    path = tmp_path / "big.pdewb"
    assert project_io.save(big_window, path)
    read_on: list[tuple[float, float, object]] = []

    def slow_disk_load(file):  # a disk as slow as a network share: the read alone takes 0.3 s
        started = time.perf_counter()
        time.sleep(0.3)
        project = load_project(file)
        read_on.append((started, time.perf_counter(), QtCore.QThread.currentThread()))
        return project

    monkeypatch.setattr(workbench.gui.project_files, "load_project", slow_disk_load)
    window = new_window()
    ticks: list[float] = []
    timer = QtCore.QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    with qtbot.waitSignal(window.file_tasks.finished, timeout=RUN_TIMEOUT_MS) as blocker:
        assert window.load_project(path)
        assert "Opening big.pdewb" in window.file_busy_label.text()
    timer.stop()
    assert blocker.args == ["load", True]
    [(read_start, read_end, thread)] = read_on
    assert thread is not QtWidgets.QApplication.instance().thread()
    assert len([t for t in ticks if read_start < t < read_end]) >= 10
    assert len(window.runs[0].run.frames) == len(big_window.runs[0].run.frames)
    assert window.mesh.n_points == big_window.mesh.n_points


def test_closing_while_saving_waits_for_the_file(qtbot, big_window, tmp_path):
    window = big_window
    path = tmp_path / "big.pdewb"
    assert window.save_project(path)
    assert not window.close()  # refused for now...
    assert window.isVisible() and "closes when it is done" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_TIMEOUT_MS)  # ...and done once written
    assert not window.file_tasks.busy
    assert len(load_project(path).runs[0].run.frames) == len(window.runs[0].run.frames)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_a_full_disk_is_reported_without_blocking_and_keeps_the_previous_file(qtbot, new_window, tmp_path,
                                                                              project_io, monkeypatch):
    window = new_window()
    window.open_mesh("sample:plate-with-hole")
    big_run(window, megabytes=1)
    path = tmp_path / "study.pdewb"
    assert project_io.save(window, path)
    before = path.read_bytes()
    calls, real_save = [], np.save

    def full_disk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(np, "save", full_disk)
    window.add_run(RunRecord("more", window.runs[0].run, (), window.mesh, window.mesh_reference))
    with qtbot.waitSignal(window.file_tasks.finished, timeout=RUN_TIMEOUT_MS) as blocker:
        assert window.save_project(path)
        assert not window.close()  # would close once saved...
    assert blocker.args == ["save", False]
    box = window.last_error_box
    assert box.isVisible() and not box.isModal()
    assert box.text() == "study.pdewb: cannot save: disk full; the previous file is unchanged"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.ini", "study.pdewb"]
    qtbot.wait(50)
    assert window.isVisible() and not window.file_tasks.busy  # ...but not saved: it stays open for a retry
    assert "the window stays open: the project was not saved" in window.log_view.toPlainText()
