"""Surrogates from the window: train with live loss curves, cancel, failures, compare with the reference.

Tiny problems keep it fast on two loaded CPU cores: Darcy on 9x9 nodes, 16 training and
8 test samples (other seeds), an FNO of width 8 with 4 modes and 2 layers.
"""

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtGui, QtWidgets

from workbench.compute.comparison import SurrogateComparison
from workbench.compute.training import train_surrogate, training_request
from workbench.core.comparison import summarize_errors
from workbench.core.meshgen import interval_mesh, rectangle_mesh
from workbench.core.run import RunStatus
from workbench.gui.surrogate_compare import grid_to_points, line_coordinates, metric_rows
from workbench.io.checkpoints import read_checkpoint_document
from workbench.io.datasets import generate_dataset
from workbench.plugins import load_plugins
from workbench.plugins.contributions import SurrogateContribution

TINY = {"width": 8, "modes": 4, "layers": 2, "batch_size": 8, "validation_fraction": 0.25, "patience": 0}
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("surrogate-gui")
    darcy = load_plugins(safe_mode=True).solver("darcy.fd")
    generate_dataset(darcy, folder / "train.h5", 16, {"n": 8}, seed=0)
    generate_dataset(darcy, folder / "test.h5", 8, {"n": 8}, seed=1)
    return folder


@pytest.fixture(scope="module")
def checkpoint(data) -> Path:
    """A checkpoint trained headless, for the comparison tests."""
    fno = load_plugins(safe_mode=True).get("operators.fno", SurrogateContribution)
    path = data / "fno.safetensors"
    run = train_surrogate(fno, training_request(fno, data / "train.h5", path, {**TINY, "epochs": 3}))
    assert run.status is RunStatus.SUCCEEDED, run.error
    return path


def gui_thread():
    return QtWidgets.QApplication.instance().thread()


def train_dialog(window, dataset: Path, checkpoint: Path, **params):
    dialog = window.show_train_dialog()
    dialog.select_surrogate("operators.fno")
    dialog.set_dataset(dataset)
    dialog.set_checkpoint(checkpoint)
    dialog.form.set_values({**TINY, **params})
    return dialog


# -- training ------------------------------------------------------------------------------------


def test_training_draws_the_loss_curves_and_writes_the_checkpoint(qtbot, new_window, data, tmp_path):
    window = new_window()
    path = tmp_path / "fno.safetensors"
    dialog = train_dialog(window, data / "train.h5", path, epochs=5)
    assert dialog.isVisible() and not dialog.isModal()
    assert "darcy.fd: 16 samples" in dialog.dataset_info.text()
    assert dialog.start()
    task = dialog.task
    shown = []  # the progress bar's text after each event (the dialog's slot runs first)
    task.event.connect(lambda _event: shown.append(dialog.progress_bar.format()))
    assert not dialog.train_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)

    assert dialog.last_run.status is RunStatus.SUCCEEDED, dialog.status.text()
    assert task.ran_on == "pdewb-compute-cpu"  # the CPU's compute thread, shared with solver runs
    assert window.device_tasks.slot_threads == {gui_thread()}
    for name in ("train_loss", "validation_loss"):
        epochs, values = dialog.curve(name)
        assert epochs == [1, 2, 3, 4, 5] and all(v > 0 for v in values)
        np.testing.assert_array_equal(dialog.curves[name].getOriginalDataset()[1], values)
    assert dialog.plot.getPlotItem().ctrl.logYCheck.isChecked()
    assert any("elapsed, about" in text and text.endswith("left)") for text in shown)  # an ETA while it ran
    assert dialog.progress_bar.value() == 1000 and "succeeded" in dialog.progress_bar.format()

    document = read_checkpoint_document(path)
    assert document["training"]["epochs_run"] == 5 and document["architecture"]["width"] == 8
    summary = dialog.summary_text()
    mean = document["metrics"]["validation_relative_l2_mean"]
    assert summary["validation rel. L2, mean"] == f"{mean:.4g}"
    assert summary["parameters"] == f"{document['parameters']:,}" and summary["file"] == str(path)
    assert summary["epochs"].startswith("5 run") and summary["training time"].endswith(" s")
    assert str(path) in dialog.status.text()
    assert "checkpoint written to" in dialog.log_view.toPlainText()

    dialog.compare_button.click()  # on to the comparison, with this checkpoint
    compare = window.surrogate_compare_dialog
    assert compare.isVisible() and compare.checkpoint.text() == str(path)
    assert "operators.fno learned darcy.fd" in compare.checkpoint_info.text()


def test_cancel_keeps_the_best_checkpoint_and_marks_the_run_cancelled(qtbot, new_window, data, tmp_path):
    window = new_window()
    path = tmp_path / "cancelled.safetensors"
    dialog = train_dialog(window, data / "train.h5", path, epochs=100_000)
    assert dialog.start()
    qtbot.waitUntil(lambda: len(dialog.curve("validation_loss")[0]) >= 1, timeout=TIMEOUT_MS)
    assert "/100000" in dialog.status.text()  # the job's progress message: epoch or batch of 100000 epochs
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)

    assert dialog.last_run.status is RunStatus.CANCELLED
    training = read_checkpoint_document(path)["training"]
    assert training["epochs_run"] >= 1 and training["stop_reason"] == "cancelled"
    assert training["epochs_run"] == len(dialog.curve("validation_loss")[0])
    assert "Cancelled after" in dialog.status.text() and f"kept at {path}" in dialog.status.text()
    assert dialog.summary_text()["stopped"] == "cancelled"
    assert dialog.train_button.isEnabled() and not dialog.cancel_button.isEnabled()


def test_closing_the_window_stops_a_training_and_keeps_its_checkpoint(qtbot, new_window, data, tmp_path):
    window = new_window()
    path = tmp_path / "closed.safetensors"
    dialog = train_dialog(window, data / "train.h5", path, epochs=100_000)
    assert dialog.start()
    task = dialog.task
    qtbot.waitUntil(lambda: len(dialog.curve("validation_loss")[0]) >= 1, timeout=TIMEOUT_MS)
    window.close()
    assert task.control.cancelled and window.controller.threads["cpu"].isFinished()
    assert read_checkpoint_document(path)["training"]["stop_reason"] == "cancelled"


def test_a_broken_data_set_is_reported_without_blocking_and_the_window_stays_usable(qtbot, new_window, data,
                                                                                    tmp_path):
    window = new_window()
    out = tmp_path / "never.safetensors"
    dialog = train_dialog(window, tmp_path / "missing.h5", out, epochs=2)
    assert "does not exist" in dialog.dataset_info.text()
    assert not dialog.start()
    box = dialog.last_error_box
    assert box.isVisible() and not box.isModal() and "missing.h5 does not exist" in box.text()
    assert QtWidgets.QApplication.activeModalWidget() is None

    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"no HDF5 here")
    dialog.set_dataset(junk)
    assert not dialog.start() and "is not an HDF5 file" in dialog.last_error_box.text()

    # a failure inside the plugin's job, on the compute thread: more samples asked for than the file has
    dialog.set_dataset(data / "train.h5")
    dialog.form.set_values({"train_samples": 1000})
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)
    assert dialog.last_run.status is RunStatus.FAILED
    assert "train_samples = 1000" in dialog.status.text() and "holds 16 samples" in dialog.last_error_box.text()
    assert not dialog.last_error_box.isModal() and not out.exists()
    assert window.device_tasks.slot_threads == {gui_thread()}

    assert window.open_mesh("sample:plate-with-hole")  # the window goes on working
    assert dialog.train_button.isEnabled()
    assert window.show_train_dialog() is dialog  # one dialog, shown again


# -- comparison ----------------------------------------------------------------------------------


def test_compare_fills_the_metrics_and_shows_reference_surrogate_and_difference(qtbot, new_window, data,
                                                                                checkpoint, pixels):
    window = new_window()
    dialog = window.show_surrogate_compare_dialog()
    dialog.set_inputs(checkpoint, data / "test.h5")
    assert "operators.fno learned darcy.fd on a 9x9 grid" in dialog.checkpoint_info.text()
    assert "training samples" not in dialog.dataset_info.text()  # seed 1 vs training seed 0
    dialog.batch.setValue(4)
    dialog.repeats.setValue(1)
    assert dialog.start()
    task = dialog.task
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)
    assert dialog.outcome is not None, dialog.status.text()
    assert task.ran_on == "pdewb-compute-cpu"
    assert window.device_tasks.slot_threads == {gui_thread()}

    table = dialog.metrics_table()
    for label in ("relative L2, mean", "relative L2, median", "relative L2, p95", "relative L2, max",
                  "data generation (s)", "training (s)"):
        value, batched = table[label]
        assert np.isfinite(value) and value > 0 and batched is None, label
    for label in ("reference s / query", "surrogate s / query", "speedup"):
        assert all(np.isfinite(v) and v > 0 for v in table[label]), label
    assert table["grid"][0] == "9x9" and table["test samples"][0] == "8"
    errors = dialog.outcome.errors
    assert table["relative L2, max"][0] == errors.max()
    assert table["break-even queries"][0] > 0  # a count, or inf when the surrogate is not faster
    np.testing.assert_array_equal(dialog.error_points.getOriginalDataset()[1], np.sort(errors))

    worst = int(np.argmax(errors))
    assert dialog.sample_spin.value() == worst and dialog.sample_spin.maximum() == 7
    view = dialog.compare_view
    assert dialog.field_stack.currentWidget() is view and view.message_text == ""
    assert not view.slider.isVisible() and not view.table.isVisible()  # one frame: the dialog has its own numbers
    area = view.views[0].capture().shape[0] * view.views[0].capture().shape[1]
    before = [v.capture() for v in view.views]
    for image in before:
        assert pixels.coloured(image) > 0.05 * area
    shown = view.views[0]._field[1]  # the reference at the mesh points: the data set's u of that sample
    u = dialog.outcome.targets[worst, 0]
    np.testing.assert_array_equal(shown, u.reshape(-1))
    assert view.views[1].scalar_range() == view.views[0].scalar_range()  # one colour range for A and B

    median = int(np.argsort(errors)[4])
    dialog.sample_spin.setValue(median)
    assert f"seed {dialog.outcome.seed_of(median)}" in dialog.sample_info.text()
    after = [v.capture() for v in view.views]
    for old, new in zip(before, after):
        assert np.abs(new.astype(int) - old).mean() > 1  # another sample, another picture
    assert pixels.coloured(after[2]) > 0.05 * area
    assert window.show_surrogate_compare_dialog() is dialog


def test_compare_reports_a_missing_checkpoint_without_blocking(qtbot, new_window, data, tmp_path):
    window = new_window()
    dialog = window.show_surrogate_compare_dialog()
    dialog.set_inputs(tmp_path / "none.safetensors", data / "test.h5")
    assert "does not exist" in dialog.checkpoint_info.text()
    assert not dialog.start()
    assert not dialog.last_error_box.isModal() and "does not exist" in dialog.last_error_box.text()
    assert dialog.compare_button.isEnabled()


def test_a_1d_problem_is_shown_as_curves(qtbot, new_window, tmp_path, pixels):
    host = load_plugins(safe_mode=True)
    burgers, fno = host.solver("spectral.burgers"), host.get("operators.fno", SurrogateContribution)
    params = {"n": 32, "t_end": 0.05, "dt": 0.005, "n_out": 1}
    generate_dataset(burgers, tmp_path / "train.h5", 8, params, seed=0)
    generate_dataset(burgers, tmp_path / "test.h5", 4, params, seed=1)
    model = tmp_path / "burgers.safetensors"
    run = train_surrogate(fno, training_request(fno, tmp_path / "train.h5", model, {**TINY, "epochs": 1}))
    assert run.status is RunStatus.SUCCEEDED, run.error
    window = new_window(host)
    dialog = window.show_surrogate_compare_dialog()
    dialog.set_inputs(model, tmp_path / "test.h5")
    dialog.repeats.setValue(1)
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)
    outcome = dialog.outcome
    assert outcome is not None and outcome.dim == 1, dialog.status.text()
    assert dialog.field_stack.currentWidget() is dialog.line_plots and dialog.compare_view is None

    def curves():
        pair = dialog.sample_spin.value()
        x, reference = dialog.reference_curve.getData()
        _, surrogate = dialog.surrogate_curve.getData()
        _, difference = dialog.difference_curve.getData()
        return pair, x, reference, surrogate, difference

    pair, x, reference, surrogate, difference = curves()
    assert pair == int(np.argmax(outcome.errors))
    np.testing.assert_allclose(x, np.arange(33) / 32)  # the periodic copy of x = 0 closes the curve at x = 1
    np.testing.assert_array_equal(reference[:-1], outcome.targets[pair, 0])
    np.testing.assert_array_equal(surrogate[:-1], outcome.predictions[pair, 0])
    np.testing.assert_allclose(difference, surrogate - reference)
    image = dialog.line_plots.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    array = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    assert pixels.coloured(array[:, : 3 * image.width()].reshape(image.height(), image.width(), 3)) > 500

    dialog._choose_rank(0)  # the best sample
    assert curves()[0] == int(np.argmin(outcome.errors))
    assert not np.array_equal(curves()[2], reference)


# -- helpers -------------------------------------------------------------------------------------


def test_grid_values_land_on_the_grid_mesh_points():
    n = 4
    nodes = np.linspace(0, 1, n + 1)
    y, x = np.meshgrid(nodes, nodes, indexing="ij")  # Darcy: (n + 1)^2 nodes indexed [y, x]
    mesh = rectangle_mesh(n)
    np.testing.assert_allclose(grid_to_points(x + 10 * y, mesh.n_points), mesh.points[:, 0] + 10 * mesh.points[:, 1])

    periodic = np.arange(n) / n  # spectral: n^2 points x_i = i / n, the mesh adds the periodic copies
    y, x = np.meshgrid(periodic, periodic, indexing="ij")
    expected = (mesh.points[:, 0] % 1.0) + 10 * (mesh.points[:, 1] % 1.0)
    np.testing.assert_allclose(grid_to_points(x + 10 * y, mesh.n_points), expected)
    line = interval_mesh(n)
    np.testing.assert_allclose(grid_to_points(periodic, line.n_points), line.points[:, 0] % 1.0)
    x, copy = line_coordinates(n, {"kind": "periodic", "domain": [0, 1]})
    assert copy and np.allclose(x, line.points[:, 0])
    with pytest.raises(ValueError, match="does not fit"):
        grid_to_points(np.zeros((3, 3)), mesh.n_points)


def test_metric_rows_note_a_zero_shot_grid_and_unknown_setup_cost():
    errors = np.array([0.1, 0.2, 0.3])
    comparison = SurrogateComparison(
        "operators.fno", "darcy.fd", Path("m.safetensors"), Path("t.h5"), "cpu", [9, 9], [17, 17],
        np.arange(3), errors, summarize_errors(errors), 32, {"single": 1e-3, "batched": 1e-4},
        {"single": 1e-2, "batched": 1e-2})
    rows = {label: (single, batched) for label, single, batched in metric_rows(comparison)}
    assert rows["grid"][0] == "17x17 (zero-shot: trained on 9x9)"
    assert rows["speedup"] == (pytest.approx(10.0), pytest.approx(100.0))
    assert all(np.isnan(v) for v in rows["break-even queries"])  # shown as "unknown"
    assert rows["data + training"][0] == "not recorded in the checkpoint"
