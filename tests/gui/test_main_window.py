"""The real main window, driven with pytest-qt: open, run, pause, step, cancel, scrub, export, save."""

from __future__ import annotations

import time
import types

import numpy as np
import pytest
from PySide6 import QtGui, QtWidgets

from workbench.core import RunStatus
from workbench.gui.main_window import MainWindow
from workbench.plugins import SolverContribution, hookimpl, load_plugins
from workbench.testing import host_with

PLATE = "sample:plate-with-hole"
RUN_TIMEOUT_MS = 30_000


def make_window(qtbot, host, settings) -> MainWindow:
    window = MainWindow(host, settings)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot, settings):
    win = make_window(qtbot, load_plugins(safe_mode=True), settings)
    yield win
    win.close()


def set_heat(window: MainWindow, **params) -> None:
    panel = window.run_panel
    panel.select_solver("fem.heat")
    panel.set_mesh(window.mesh)
    panel.form.set_values({"dt": 0.01, "t_end": 0.2, "output_every": 1, **params})
    panel.boundaries.set_condition("hole", "dirichlet", "1")
    panel.boundaries.set_condition("outer", "dirichlet", "0")


def wait_finished(qtbot, window: MainWindow, timeout: int = RUN_TIMEOUT_MS):
    qtbot.waitUntil(lambda: not window.controller.busy and bool(window.runs), timeout=timeout)
    return window.runs[-1].run


def flush(qtbot, window: MainWindow) -> None:
    window.scheduler.flush()
    qtbot.wait(10)


def test_open_the_plate_run_heat_and_scrub(qtbot, window, pixels):
    assert window.open_mesh(PLATE)
    assert window.mesh.n_points == 2268
    bare = window.viewport.capture()
    assert pixels.lit(bare) > 0.1 * bare.shape[0] * bare.shape[1]  # the grey mesh surface
    assert pixels.coloured(bare) < 0.01 * bare.shape[0] * bare.shape[1]

    set_heat(window)
    assert window.start_run()
    run = wait_finished(qtbot, window)
    assert run.status is RunStatus.SUCCEEDED
    assert len(window.frames) == 21 and window.time_bar.slider.maximum() == 20
    # Every frame slot ran on the GUI thread.
    assert window.controller.slot_threads == {QtWidgets.QApplication.instance().thread()}

    window.time_bar.select(20)
    flush(qtbot, window)
    late = window.viewport.capture()
    assert pixels.coloured(late) > 0.1 * late.shape[0] * late.shape[1]  # viridis colours the plate
    u = window.frames[20].fields["u"].values
    assert window.viewport.scalar_range() == pytest.approx((u.min(), u.max()))

    window.time_bar.select(1)  # scrub back: an early, barely warmed plate
    flush(qtbot, window)
    early = window.viewport.capture()
    u1 = window.frames[1].fields["u"].values
    assert window.viewport.scalar_range() == pytest.approx((u1.min(), u1.max()))
    changed = np.abs(early.astype(int) - late.astype(int)).max(axis=2) > 30
    assert changed.sum() > 0.02 * changed.size  # a changed field changes the image


def test_pause_step_and_cancel(qtbot, window):
    window.open_mesh(PLATE)
    set_heat(window, dt=0.0005, t_end=100.0)
    window.start_run()
    qtbot.waitUntil(lambda: len(window.frames) >= 3, timeout=RUN_TIMEOUT_MS)

    window.run_panel.pause_button.click()  # pause
    qtbot.wait(200)  # a frame already in flight may still arrive
    paused_at = len(window.frames)
    qtbot.wait(400)
    assert len(window.frames) == paused_at

    window.run_panel.step_button.click()
    qtbot.waitUntil(lambda: len(window.frames) == paused_at + 1, timeout=5000)
    qtbot.wait(400)
    assert len(window.frames) == paused_at + 1  # exactly one frame per step

    window.run_panel.cancel_button.click()
    run = wait_finished(qtbot, window, timeout=5000)
    assert run.status is RunStatus.CANCELLED
    assert window.run_panel.run_button.isEnabled()


def _raising_plugin():
    plugin = types.ModuleType("raising_solver_plugin")

    def solve(problem):
        yield from ()
        raise RuntimeError("CUDA out of memory (simulated)")

    plugin.solve = solve

    @hookimpl
    def pdewb_reference_solvers():
        return [SolverContribution(id="test.raises", title="Raises", implementation="raising_solver_plugin:solve")]

    plugin.pdewb_reference_solvers = pdewb_reference_solvers
    return plugin


def test_a_job_raising_runtime_error_fails_within_seconds_and_the_app_stays_up(qtbot, settings, monkeypatch):
    import sys

    plugin = _raising_plugin()
    monkeypatch.setitem(sys.modules, plugin.__name__, plugin)
    import pdewb_samples.plugin

    window = make_window(qtbot, host_with(plugin, pdewb_samples.plugin), settings)
    window.open_mesh(PLATE)
    window.run_panel.select_solver("test.raises")
    started = time.perf_counter()
    assert window.start_run()
    run = wait_finished(qtbot, window, timeout=5000)
    assert time.perf_counter() - started < 5
    assert run.status is RunStatus.FAILED and "RuntimeError: CUDA out of memory" in run.error
    assert "CUDA out of memory" in window.log_view.toPlainText()
    assert window.isVisible() and window.run_panel.run_button.isEnabled()
    window.close()


def test_a_bad_mesh_is_reported_and_the_current_mesh_kept(qtbot, window, tmp_path):
    window.open_mesh(PLATE)
    broken = tmp_path / "broken.vtu"
    broken.write_text("<VTKFile> not really")
    assert not window.open_mesh(broken)
    assert window.mesh.n_points == 2268
    assert "broken.vtu" in window.log_view.toPlainText()
    assert "broken.vtu" in window.statusBar().currentMessage()


def test_invalid_parameters_are_refused_before_running(qtbot, window):
    window.open_mesh(PLATE)
    set_heat(window)
    window.run_panel.form.editor("source").setText("sin(")
    assert not window.start_run()
    assert not window.controller.busy
    assert "source" in window.log_view.toPlainText()


def test_closing_the_window_while_running_cancels_the_job(qtbot, settings):
    window = make_window(qtbot, load_plugins(safe_mode=True), settings)
    window.open_mesh(PLATE)
    set_heat(window, dt=0.0005, t_end=100.0)
    window.start_run()
    qtbot.waitUntil(lambda: len(window.frames) >= 2, timeout=RUN_TIMEOUT_MS)
    window.close()
    assert window.controller.threads and all(t.isFinished() for t in window.controller.threads.values())


def test_export_save_and_reload_a_project(qtbot, window, settings, tmp_path, project_io):
    window.open_mesh(PLATE)
    set_heat(window, t_end=0.05)
    window.start_run()
    wait_finished(qtbot, window)
    set_heat(window, t_end=0.05, scheme="implicit-euler")
    window.start_run()
    qtbot.waitUntil(lambda: len(window.runs) == 2 and not window.controller.busy, timeout=RUN_TIMEOUT_MS)

    assert window.export_run(tmp_path / "pvd")
    assert (tmp_path / "pvd" / "run.pvd").exists()
    assert window.export_field(tmp_path / "field.vtu")
    assert window.export_screenshot(tmp_path / "shot.png")
    shot = QtGui.QImage(str(tmp_path / "shot.png"))
    assert shot.width() > 100 and shot.height() > 100
    assert window.export_metrics(tmp_path / "metrics.csv")
    assert "fem.heat #2" in (tmp_path / "metrics.csv").read_text()
    window.set_probe(window.viewport.pick_point_near((1.0, 0.5)))
    assert window.export_probe(tmp_path / "probe.csv")
    assert len((tmp_path / "probe.csv").read_text().splitlines()) == 1 + len(window.frames)

    project = tmp_path / "study.pdewb"
    assert project_io.save(window, project)
    reopened = make_window(qtbot, load_plugins(safe_mode=True), settings)
    assert project_io.load(reopened, project)
    assert [r.name for r in reopened.runs] == [r.name for r in window.runs]
    for old, new in zip(window.runs, reopened.runs):
        assert new.run.status is old.run.status
        np.testing.assert_array_equal(new.run.frames[-1].fields["u"].values, old.run.frames[-1].fields["u"].values)
    reopened.close()


def test_recent_meshes_are_remembered(qtbot, window, settings):
    window.open_mesh(PLATE)
    assert settings.value("recent_meshes", [], list)[0] == PLATE
    assert [a.text() for a in window.recent_menu.actions()] == [PLATE]


def test_comparing_two_runs_from_the_runs_panel(qtbot, window):
    window.open_mesh(PLATE)
    for scheme in ("crank-nicolson", "implicit-euler"):
        set_heat(window, t_end=0.05, dt=0.005, scheme=scheme)
        window.start_run()
        qtbot.waitUntil(lambda: not window.controller.busy and len(window.runs) > 0, timeout=RUN_TIMEOUT_MS)
        qtbot.waitUntil(lambda: not window.controller.busy, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(window.runs) == 2, timeout=RUN_TIMEOUT_MS)
    window.runs_list.selectAll()
    window.compare_selected_runs()
    assert window.tabs.currentWidget() is window.compare_page
    assert not window.docks["Plots"].isVisible()  # the compare view brings its own plots
    metrics = window.compare_page.metrics()
    from workbench.core.metrics import relative_l2

    a, b = (r.run.frames[-1].fields["u"].values for r in window.runs)
    assert metrics["relative_l2_final"] == pytest.approx(relative_l2(window.mesh, b, a))
    assert 0 < metrics["relative_l2_final"] < 0.05  # two consistent schemes, close but not equal


def test_a_solver_with_its_own_grid_runs_without_opening_a_mesh(qtbot, window, pixels):
    pytest.importorskip("torch")
    window.run_panel.select_solver("spectral.navier_stokes")
    window.run_panel.form.set_values({"n": 32, "t_end": 0.2, "dt": 0.01, "n_out": 4, "initial": "sin(2*pi*x)*cos(2*pi*y)"})
    assert window.mesh is None
    assert window.start_run()
    run = wait_finished(qtbot, window)
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert window.mesh.n_points == 33 * 33  # the solver's periodic grid, shown in the viewport
    assert len(window.frames) == 5
    flush(qtbot, window)
    image = window.viewport.capture()
    assert pixels.coloured(image) > 0.1 * image.shape[0] * image.shape[1]


def test_a_1d_run_is_drawn_as_curves_with_its_exact_and_reference_companions(qtbot, window, pixels):
    """A 1D mesh in the 3D view is a hairline: the window shows the field as a curve instead."""
    from workbench.core import Field, Frame, Run
    from workbench.core.meshgen import interval_mesh
    from workbench.gui.run_records import RunRecord

    mesh = interval_mesh(64, -2.0, 2.0)
    x = mesh.points[:, 0]
    run = Run("test.pulse", {})
    for n in range(3):
        exact = np.exp(-((x + 1.5 - 0.25 * n) / 0.1) ** 2)
        run.record(Frame(n, 0.25 * n, {"u": Field("u", 0.98 * exact, "point"), "exact": Field("exact", exact, "point"),
                                       "error": Field("error", 0.02 * exact, "point")}))
    window.add_run(RunRecord("pulse", run, (), mesh, None))
    window.show_run(0)
    flush(qtbot, window)
    assert window.views.currentWidget() is window.line_view
    assert set(window.line_view.curves) == {"u", "exact"}  # the chosen field and its exact companion
    drawn_x, drawn_u = window.line_view.curves["u"].getData()
    assert np.allclose(drawn_x, x) and np.allclose(drawn_u, run.frames[2].fields["u"].values)
    image = window.line_view.capture()
    assert pixels.coloured(image) > 200  # the blue curve (not just axes and grid)

    window.open_mesh(PLATE)  # a 2D mesh brings the 3D view back
    assert window.views.currentWidget() is window.viewport
