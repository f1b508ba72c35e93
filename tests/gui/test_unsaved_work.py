"""The window does not lose work: closing or opening asks, a failed save keeps the file, probes follow the mesh."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from workbench.core import Field, Frame, Run, RunStatus
from workbench.gui import unsaved_work
from workbench.gui.run_records import RunRecord
from workbench.gui.unsaved_work import Choice, UnsavedWork
from workbench.gui.unsaved_work import ask as real_ask  # before the suite's fixture answers Discard
from workbench.io.project import load_project

from .test_projects import run_darcy

PLATE = "sample:plate-with-hole"
RUN_TIMEOUT_MS = 30_000


def answer(monkeypatch, choice: Choice) -> list[tuple[UnsavedWork, str]]:
    """Answer every question with ``choice``; returns what was asked, in turn."""
    asked = []

    def ask(parent, work, action):
        asked.append((work, action))
        return choice

    monkeypatch.setattr(unsaved_work, "ask", ask)
    return asked


def finished_run(window, name: str = "heat #1", frames: int = 3, points: int | None = None) -> RunRecord:
    """A run on the current mesh, as if it had just been computed (not saved)."""
    n = points or window.mesh.n_points
    run = Run("fem.heat", {"dt": 0.1}, RunStatus.SUCCEEDED,
              [Frame(i, 0.1 * i, {"u": Field("u", np.full(n, float(i)))}) for i in range(frames)])
    record = RunRecord(name, run, (), window.mesh, window.mesh_reference)
    window.add_run(record)
    return record


def start_long_heat_run(qtbot, window) -> None:
    panel = window.run_panel
    panel.select_solver("fem.heat")
    panel.set_mesh(window.mesh)
    panel.form.set_values({"dt": 0.0005, "t_end": 100.0, "output_every": 1})
    panel.boundaries.set_condition("hole", "dirichlet", "1")
    panel.boundaries.set_condition("outer", "dirichlet", "0")
    assert window.start_run()
    qtbot.waitUntil(lambda: len(window.frames) >= 2, timeout=RUN_TIMEOUT_MS)


def temporaries(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and "pdewb-" in p.name)


@pytest.fixture
def plate_window(new_window):
    window = new_window()
    assert window.open_mesh(PLATE)
    return window


# ---------------------------------------------------------------------------- closing


def test_closing_with_runs_not_saved_asks_and_cancel_keeps_the_window(plate_window, monkeypatch):
    window = plate_window
    finished_run(window, "heat #1")
    finished_run(window, "heat #2")
    asked = answer(monkeypatch, Choice.CANCEL)
    assert not window.close()
    assert window.isVisible() and len(window.runs) == 2
    [(work, action)] = asked
    assert work == UnsavedWork(running=(), unsaved=("heat #1", "heat #2")) and action == "closing"

    answer(monkeypatch, Choice.DISCARD)
    assert window.close() and not window.isVisible()


def test_file_quit_asks_too_and_nothing_to_lose_asks_nothing(plate_window, new_window, monkeypatch):
    window = plate_window
    finished_run(window)
    asked = answer(monkeypatch, Choice.CANCEL)
    quit_action = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "&Quit")
    quit_action.trigger()
    assert len(asked) == 1 and window.isVisible()

    idle = new_window()
    idle.open_mesh(PLATE)  # a mesh and no runs: nothing would be lost
    assert idle.close() and len(asked) == 1


def test_saving_at_close_without_a_project_file_asks_where_and_cancelling_that_stays_open(qtbot, plate_window,
                                                                                          monkeypatch, tmp_path):
    window = plate_window
    finished_run(window)
    answer(monkeypatch, Choice.SAVE)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    assert not window.close()
    assert window.isVisible() and not window.file_tasks.busy

    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "chosen"), "")))
    assert not window.close()  # closes once the file is written
    assert window.file_tasks.busy
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_TIMEOUT_MS)
    assert [e.name for e in load_project(tmp_path / "chosen.pdewb").runs] == ["heat #1"]


def test_closing_mid_run_and_saving_keeps_the_stopped_run_with_its_frames(qtbot, plate_window, tmp_path, project_io,
                                                                        monkeypatch):
    window = plate_window
    finished_run(window, "heat #1")
    path = tmp_path / "study.pdewb"
    assert project_io.save(window, path)
    assert window.project_path == path and not window.unsaved_runs()

    start_long_heat_run(qtbot, window)
    asked = answer(monkeypatch, Choice.SAVE)
    assert not window.close()  # the run must stop and be recorded first
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_TIMEOUT_MS)
    [(work, _)] = asked
    assert work.running == ("fem.heat",) and work.unsaved == ()

    saved = load_project(path)
    assert [e.name for e in saved.runs] == ["heat #1", "fem.heat #2"]
    stopped = saved.runs[1].run
    assert stopped.status is RunStatus.CANCELLED and len(stopped.frames) >= 2
    assert stopped.frames[-1].fields["u"].values.shape == (2268,)
    assert temporaries(tmp_path) == []


def test_closing_mid_run_and_discarding_keeps_the_previous_project_byte_identical(qtbot, plate_window, tmp_path,
                                                                                 project_io, monkeypatch):
    window = plate_window
    finished_run(window)
    path = tmp_path / "study.pdewb"
    assert project_io.save(window, path)
    before = path.read_bytes()
    start_long_heat_run(qtbot, window)
    answer(monkeypatch, Choice.DISCARD)
    assert window.close()
    assert all(t.isFinished() for t in window.controller.threads.values())
    assert path.read_bytes() == before and temporaries(tmp_path) == []


def test_a_really_full_disk_keeps_the_previous_project_and_the_runs_unsaved(qtbot, plate_window, tiny_disk,
                                                                           project_io, monkeypatch):
    window = plate_window
    finished_run(window, "small", frames=2)
    path = tiny_disk / "study.pdewb"
    assert project_io.save(window, path)
    before = path.read_bytes()
    finished_run(window, "big", frames=60)  # 60 frames of 2268 values: 1.1 MB on a 1 MB disk
    assert not project_io.save(window, path)
    box = window.last_error_box
    assert box.isVisible() and not box.isModal()
    assert box.text() == "study.pdewb: cannot save: disk full; the previous file is unchanged"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["study.pdewb"]
    assert [r.name for r in window.unsaved_runs()] == ["big"]  # so closing still asks
    asked = answer(monkeypatch, Choice.CANCEL)
    assert not window.close() and asked[0][0].unsaved == ("big",)


# ---------------------------------------------------------------------------- opening another project


def test_opening_a_project_over_unsaved_runs_asks_and_save_writes_them_first(qtbot, plate_window, new_window,
                                                                             tmp_path, project_io, monkeypatch):
    other = new_window()
    other.open_mesh(PLATE)
    finished_run(other, "theirs")
    theirs = tmp_path / "theirs.pdewb"
    assert project_io.save(other, theirs)

    window = plate_window
    finished_run(window, "mine")
    asked = answer(monkeypatch, Choice.CANCEL)
    assert not window.load_project(theirs)
    assert [r.name for r in window.runs] == ["mine"] and asked[0][1] == "opening another project"

    answer(monkeypatch, Choice.SAVE)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "mine"), "")))
    window.load_project(theirs)
    qtbot.waitUntil(lambda: [r.name for r in window.runs] == ["theirs"], timeout=RUN_TIMEOUT_MS)
    assert [e.name for e in load_project(tmp_path / "mine.pdewb").runs] == ["mine"]
    assert window.project_path == theirs and not window.unsaved_runs()


# ---------------------------------------------------------------------------- probes


def test_a_probe_on_one_mesh_is_cleared_when_a_run_brings_a_smaller_mesh(qtbot, plate_window):
    window = plate_window
    finished_run(window, "on the plate")
    window.show_run(0)
    window.set_probe(2000)
    assert window.probe_point == 2000 and len(window.probe_series()[0]) == 3
    run_darcy(qtbot, window, n=8)  # 81 points: its frames must not be indexed at point 2000
    assert window.probe_point is None and len(window.probe_series()[0]) == 0
    window.set_probe(2000)  # not a point of this mesh: ignored
    assert window.probe_point is None
    window.set_probe(40)
    assert len(window.probe_series()[0]) == len(window.frames) > 0
    window.show_run(0)  # back on the plate
    assert window.probe_point is None


# ---------------------------------------------------------------------------- the question itself


def test_the_question_names_what_would_be_lost_and_its_buttons_answer(qtbot, plate_window, monkeypatch, tmp_path):
    monkeypatch.setattr(unsaved_work, "ask", real_ask)
    window = plate_window
    for i in range(6):
        finished_run(window, f"heat #{i + 1}")
    start_long_heat_run(qtbot, window)
    seen = {}

    def click(button):
        box = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(box, QtWidgets.QMessageBox) or "text" in seen:
            return
        seen.update(text=box.text(), info=box.informativeText(), discard=box.button(
            QtWidgets.QMessageBox.StandardButton.Discard).text())
        box.grab().save(str(tmp_path / "unsaved-work.png"))
        box.button(button).click()

    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: click(QtWidgets.QMessageBox.StandardButton.Cancel))
    timer.start(20)
    assert not window.close()
    timer.stop()
    assert seen["text"] == "Save the project before closing?"
    assert seen["info"] == ("1 run is in progress (fem.heat); saving stops it and keeps what it computed so far.\n"
                            "6 runs have not been saved: heat #1, heat #2, heat #3, heat #4 and 2 more.")
    assert seen["discard"] == "Stop and discard"
    assert window.isVisible() and window.controller.busy  # Cancel: the run goes on
    assert (tmp_path / "unsaved-work.png").stat().st_size > 1000

    seen.clear()
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: click(QtWidgets.QMessageBox.StandardButton.Discard))
    timer.start(20)
    assert window.close()
    timer.stop()
    assert not window.isVisible()
