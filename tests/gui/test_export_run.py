"""File > Export > Whole run: a series replaces another only when the user confirmed it, and never part-way."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtWidgets

from workbench.core import Field, Frame
from workbench.core.meshgen import rectangle_mesh
from workbench.gui.main_window import MainWindow
from workbench.io.series import read_pvd
from workbench.plugins import load_plugins


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(load_plugins(safe_mode=True), settings)
    qtbot.addWidget(win)
    mesh = rectangle_mesh(4)
    win.show_mesh(mesh, None)
    win.frames = [Frame(i, 0.5 * i, {"u": Field("u", np.full(mesh.n_points, float(i)))}) for i in range(3)]
    yield win
    win.close()


def test_an_existing_series_is_replaced_only_when_asked(window, tmp_path):
    assert window.export_run(tmp_path, "heat")
    before = (tmp_path / "heat.pvd").read_bytes()
    assert not window.export_run(tmp_path, "heat")  # a non-modal notice, the old series kept
    assert "heat.pvd already exists" in window.log_view.toPlainText()
    assert not window.last_error_box.isModal()
    assert (tmp_path / "heat.pvd").read_bytes() == before
    window.frames = window.frames[:2]
    assert window.export_run(tmp_path, "heat", overwrite=True)
    assert [t for t, _ in read_pvd(tmp_path / "heat.pvd")] == [0.0, 0.5]


@pytest.mark.parametrize(("typed", "replaced"), [("heat.pvd", True), ("heat", False)])
def test_the_dialog_confirms_replacing_only_the_pvd_it_was_shown(window, tmp_path, monkeypatch, typed, replaced):
    assert window.export_run(tmp_path, "heat")
    before = (tmp_path / "heat.pvd").read_bytes()
    window.frames = window.frames[:1]
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *args: (str(tmp_path / typed), ""))
    window.export_run_dialog()
    assert ((tmp_path / "heat.pvd").read_bytes() != before) is replaced


def _fifo(path):
    import os

    os.mkfifo(path)
    return path


def _link(path):
    victim = path.with_name("victim.txt")
    victim.write_text("not yours")
    path.symlink_to(victim)
    return path


@pytest.mark.parametrize("make", [_fifo, _link], ids=["fifo", "symlink"])
@pytest.mark.parametrize("export", ["export_field", "export_screenshot", "export_metrics"])
def test_every_export_refuses_a_target_that_is_not_a_regular_file(window, tmp_path, make, export):
    import os

    target = make(tmp_path / "target")
    before = os.lstat(target)
    window.time_bar.set_times([f.time for f in window.frames])
    window.time_bar.select(0)
    assert not getattr(window, export)(target)
    assert "not a regular file" in window.last_error_box.text()
    assert not window.last_error_box.isModal()
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert not (tmp_path / "victim.txt").exists() or (tmp_path / "victim.txt").read_text() == "not yours"
    assert sorted(p.name for p in tmp_path.iterdir() if ".pdewb-" in p.name) == []
