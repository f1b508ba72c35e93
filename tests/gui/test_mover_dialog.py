"""Mesh > Move mesh, driven with pytest-qt: a ring front moves the nodes of a 24x24 square live, the report
is judged against the uniform mesh, the simulation continues on the moved mesh, a run's field drives a mover."""

from __future__ import annotations

import meshio
import numpy as np
import pytest

from workbench.core import RunStatus
from workbench.core.meshgen import rectangle_mesh
from workbench.gui.mover_dialog import EXPRESSION_LABEL, MoveMeshDialog

RING = "tanh((sqrt((x - 0.5)**2 + (y - 0.5)**2) - 0.25) / 0.03)"
TIMEOUT_MS = 60_000


def band_fraction(points: np.ndarray, width: float = 0.06) -> float:
    """Share of the nodes within ``width`` of the ring r = 0.25 around (0.5, 0.5)."""
    radius = np.hypot(points[:, 0] - 0.5, points[:, 1] - 0.5)
    return float(np.mean(np.abs(radius - 0.25) < width))


def moved(qtbot, dialog: MoveMeshDialog, **params) -> None:
    dialog.select_mover("movers.monge_ampere")
    dialog.form.set_values({"alpha": 4.0, "max_iterations": 40, **params})
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)


@pytest.fixture
def square_window(new_window):
    window = new_window()
    window.show_mesh(rectangle_mesh(24), None, label="unit square")
    return window


def test_a_ring_front_moves_the_mesh_live_and_beats_the_uniform_mesh(qtbot, square_window, pixels, tmp_path):
    window = square_window
    dialog = window.show_mover_dialog()
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findText(EXPRESSION_LABEL))
    dialog.expression_edit.setText(RING)
    moved(qtbot, dialog)

    result = dialog.result
    assert result is not None and result.status == "succeeded", dialog.status.text()
    # Every iteration reached the GUI thread as it came; the scheduler drew the latest at most ~30 times a second.
    assert dialog.steps_received == result.moved.iterations + 1 and dialog.steps_drawn >= 1
    assert len(dialog.residual_curve.getData()[0]) >= 2
    assert result.moved.inverted_cells == 0 and dialog.report_text("inverted cells", 1) == "0"
    reduction = result.uniform.interpolation_error / result.moved.interpolation_error
    assert reduction > 1.3
    assert dialog.report_text("error reduction", 1) == f"{reduction:.2f}x"
    assert band_fraction(result.mesh.points) > 1.3 * band_fraction(window.mesh.points)  # nodes went to the front

    image = dialog.viewport.capture()
    area = image.shape[0] * image.shape[1]
    assert pixels.coloured(image) > 0.15 * area  # the square, coloured by the ring field

    assert dialog.export(str(tmp_path / "moved.vtu"))
    assert np.allclose(meshio.read(tmp_path / "moved.vtu").points[:, :2], result.mesh.points)

    dialog.use_button.click()  # continue the simulation on the moved mesh
    assert window.mesh is result.mesh and window.mesh_reference is None
    panel = window.run_panel
    panel.select_solver("fem.heat")
    panel.form.set_values({"dt": 0.01, "t_end": 0.03, "output_every": 1})
    panel.boundaries.set_condition("left", "dirichlet", "1")
    panel.boundaries.set_condition("right", "dirichlet", "0")
    assert window.start_run()
    qtbot.waitUntil(lambda: not window.controller.busy and bool(window.runs), timeout=TIMEOUT_MS)
    assert window.runs[-1].run.status is RunStatus.SUCCEEDED
    assert window.runs[-1].mesh is result.mesh


def test_a_field_of_the_run_on_display_drives_the_mover(qtbot, square_window):
    window = square_window
    panel = window.run_panel
    panel.select_solver("fem.heat")
    panel.form.set_values({"dt": 0.002, "t_end": 0.004, "output_every": 1})
    panel.boundaries.set_condition("left", "dirichlet", "1")
    assert window.start_run()
    qtbot.waitUntil(lambda: not window.controller.busy and bool(window.runs), timeout=TIMEOUT_MS)

    dialog = window.show_mover_dialog()
    labels = [dialog.source_combo.itemText(i) for i in range(dialog.source_combo.count())]
    assert labels[0] == "u at t = 0.004" and labels[-1] == EXPRESSION_LABEL
    moved(qtbot, dialog, max_iterations=15)
    result = dialog.result
    assert result.status == "succeeded" and result.moved.inverted_cells == 0
    assert dialog.report_text("interpolation error", 1) == "-"  # nodal values: nothing finer to compare with
    # The thin boundary layer at x = 0 pulls nodes toward the left side.
    assert np.mean(result.mesh.points[:, 0] < 0.1) > np.mean(window.mesh.points[:, 0] < 0.1)


def test_cancel_keeps_the_dialog_usable_and_a_bad_expression_does_not_start(qtbot, new_window):
    window = new_window()
    window.show_mesh(rectangle_mesh(120), None, label="a finer square: P1 iterations of ~0.1 s")
    dialog = window.show_mover_dialog()
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findText(EXPRESSION_LABEL))
    dialog.expression_edit.setText("tanh(x / ")
    assert not dialog.start()
    assert dialog.status.text() and not dialog.busy

    dialog.expression_edit.setText(RING)
    dialog.select_mover("movers.monge_ampere")
    dialog.form.set_values({"max_iterations": 5000, "tolerance": 0.0, "discretisation": "unstructured"})
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.steps_drawn >= 1, timeout=TIMEOUT_MS)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)
    assert dialog.result.status == "cancelled", dialog.result.reason
    assert dialog.result.moved.inverted_cells == 0  # the last mesh computed, never an inverted one
    assert dialog.move_button.isEnabled()


def test_without_a_mesh_the_dialog_says_so(qtbot, new_window):
    dialog = new_window().show_mover_dialog()
    assert not dialog.move_button.isEnabled()
    assert "Open a mesh" in dialog.status.text()


def test_the_neural_mover_moves_the_mesh_in_one_pass_with_its_classical_fallback_at_hand(qtbot, square_window):
    dialog = square_window.show_mover_dialog()
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findText(EXPRESSION_LABEL))
    dialog.expression_edit.setText(RING)
    dialog.select_mover("movers.dmm")
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)
    result = dialog.result
    assert result.status == "succeeded", result.reason
    assert result.moved.inverted_cells == 0
    assert "fell back" in result.reason or result.moved.iterations == 1  # one forward pass, or the classical mover
    assert result.uniform.interpolation_error / result.moved.interpolation_error > 1.2
    assert band_fraction(result.mesh.points) > band_fraction(square_window.mesh.points)
