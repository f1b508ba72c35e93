"""Generating a data set from the GUI: progress, stop, resume, same file as the CLI would write."""

import numpy as np
import pytest

from workbench.gui.datagen_dialog import DatagenDialog
from workbench.io.datasets import partial_path, read_dataset
from workbench.plugins import load_plugins


@pytest.fixture
def dialog(qtbot):
    dlg = DatagenDialog(load_plugins(safe_mode=True))
    qtbot.addWidget(dlg)
    dlg.show()
    yield dlg
    dlg.done(0)


def configure(dialog, out, samples, batch=2):
    dialog.select_solver("darcy.fd")
    dialog.form.set_values({"n": 16})
    dialog.samples.setValue(samples)
    dialog.batch.setValue(batch)
    dialog.seed.setValue(7)
    dialog.output.setText(str(out))


def test_generate_a_small_darcy_data_set(qtbot, dialog, tmp_path):
    out = tmp_path / "darcy.h5"
    configure(dialog, out, samples=6)
    assert "seed" not in dialog.form.values()  # per-sample seeds come from the data-set engine
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert dialog.last_summary is not None and out.exists() and not partial_path(out).exists()
    arrays, _meta = read_dataset(out)
    assert arrays["u"].shape == (6, 17, 17) and set(np.unique(arrays["a"])) <= {3.0, 12.0}
    assert "wrote" in dialog.status.text()


def test_stop_then_generate_again_resumes_to_the_same_file(qtbot, dialog, tmp_path):
    out = tmp_path / "resumed.h5"
    configure(dialog, out, samples=400, batch=1)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() > 0, timeout=30_000)
    dialog.cancel()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert "stopped after" in dialog.status.text()
    assert partial_path(out).exists() and not out.exists()

    dialog.samples.setValue(400)
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60_000)
    assert out.exists()
    resumed, _ = read_dataset(out)

    dialog.output.setText(str(tmp_path / "straight.h5"))
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60_000)
    straight, _ = read_dataset(tmp_path / "straight.h5")
    for name in straight:
        np.testing.assert_array_equal(resumed[name], straight[name])


def test_a_failure_is_a_status_line_not_a_modal_dialog(qtbot, dialog, tmp_path):
    from PySide6 import QtWidgets

    folder = tmp_path / "a-folder.h5"
    folder.mkdir()
    configure(dialog, folder, samples=2)
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert dialog.status.text().startswith("failed: refusing to write") and "not a regular file" in dialog.status.text()
    assert "\n" not in dialog.status.text() and QtWidgets.QApplication.activeModalWidget() is None
    assert folder.is_dir() and not any(folder.iterdir())  # nothing written into or beside it
    assert [path.name for path in tmp_path.iterdir()] == ["a-folder.h5"]
