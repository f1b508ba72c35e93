"""Take the documentation screenshots of the real window (run under an X server).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py docs/ [--only mover]

Grabs the X root window, which holds the OpenGL viewports as drawn (a widget
grab can miss GL content). Writes main_window.png, compare_view.png, and the surrogate
dialogs: surrogate_train.png (an FNO trained on a Darcy data set generated here, a minute
or so on two CPU cores) and surrogate_compare.png (that FNO against the reference solver on
held-out seeds), and mover_dialog.png (Mesh > Move mesh: a ring front on a 40x40 square).
``--only NAME`` takes one of: main, surrogates, mover.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from workbench.gui.main_window import MainWindow
from workbench.plugins import load_plugins


def wait(app, condition, timeout=60.0) -> None:
    end = time.time() + timeout
    while not condition() and time.time() < end:
        app.processEvents()
        time.sleep(0.01)


def settle(app, seconds=0.5) -> None:
    wait(app, lambda: False, seconds)


def grab(app, window, path: Path) -> None:
    settle(app)
    window.raise_()
    settle(app, 0.2)
    geometry = window.frameGeometry()
    image = app.primaryScreen().grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height())
    image.save(str(path))
    print(f"wrote {path} ({image.width()}x{image.height()})")


def run_heat(app, window, scheme: str) -> None:
    panel = window.run_panel
    panel.select_solver("fem.heat")
    panel.set_mesh(window.mesh)
    panel.form.set_values({"dt": 0.005, "t_end": 0.3, "output_every": 2, "scheme": scheme,
                           "initial": "0", "source": "0"})
    panel.boundaries.set_condition("hole", "dirichlet", "1")
    panel.boundaries.set_condition("left", "dirichlet", "0")
    before = len(window.runs)
    window.start_run()
    wait(app, lambda: len(window.runs) > before and not window.controller.busy)


def surrogate_dialogs(app, window, out: Path) -> None:
    """Train an FNO on Darcy flow from Surrogates > Train surrogate, then compare it with the reference."""
    from workbench.io.datasets import generate_dataset

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        darcy = window.host.solver("darcy.fd")
        generate_dataset(darcy, folder / "darcy_train.h5", 96, {"n": 32}, batch=16, seed=0)
        generate_dataset(darcy, folder / "darcy_test.h5", 24, {"n": 32}, batch=16, seed=1)
        train = window.show_train_dialog()
        train.move(0, 0)
        train.select_surrogate("operators.fno")
        train.set_dataset(folder / "darcy_train.h5")
        train.form.set_values({"epochs": 50, "width": 16, "modes": 8, "batch_size": 16})
        train.start()
        wait(app, lambda: not train.busy, timeout=900)
        grab(app, train, out / "surrogate_train.png")
        train.close()
        compare = window.show_surrogate_compare_dialog()
        compare.move(0, 0)
        compare.set_inputs(train.checkpoint.text(), folder / "darcy_test.h5")
        compare.batch.setValue(8)
        compare.start()
        wait(app, lambda: not compare.busy, timeout=900)
        grab(app, compare, out / "surrogate_compare.png")
        compare.close()


def mover_dialog(app, window, out: Path) -> None:
    """Mesh > Move mesh: the Monge-Ampere mover pulls a 40x40 square's nodes onto a ring front."""
    from workbench.core.meshgen import rectangle_mesh
    from workbench.gui.mover_dialog import EXPRESSION_LABEL

    window.show_mesh(rectangle_mesh(40), None, label="unit square")
    dialog = window.show_mover_dialog()
    dialog.move(0, 0)
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findText(EXPRESSION_LABEL))
    dialog.expression_edit.setText("tanh((sqrt((x - 0.5)**2 + (y - 0.5)**2) - 0.25) / 0.02)")
    dialog.select_mover("movers.monge_ampere")
    dialog.form.set_values({"alpha": 5.0})
    dialog.start()
    wait(app, lambda: not dialog.busy, timeout=300)
    grab(app, dialog, out / "mover_dialog.png")
    dialog.close()


def main(out: Path, only: str | None = None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication(sys.argv)
    settings = QtCore.QSettings(str(out / ".screenshot-settings.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(load_plugins(safe_mode=True), settings)
    window.move(0, 0)
    window.resize(1500, 900)
    window.show()
    if only in (None, "mover"):
        mover_dialog(app, window, out)
    if only not in (None, "main", "surrogates"):
        window.close()
        return 0
    window.open_mesh("sample:plate-with-hole")
    window.edges_action.setChecked(True)
    run_heat(app, window, "crank-nicolson")
    run_heat(app, window, "implicit-euler")
    window.set_probe(window.viewport.pick_point_near((1.2, 0.5)))
    window.time_bar.select(20)
    window.scheduler.flush()
    grab(app, window, out / "main_window.png")
    window.runs_list.selectAll()
    window.compare_selected_runs()
    if window.compare_page is not None:
        window.compare_page.show_frame(5)
        grab(app, window, out / "compare_view.png")
    if only in (None, "surrogates"):
        surrogate_dialogs(app, window, out)
    window.discard_work_and_close()  # the demo runs are not worth a Save question
    Path(out / ".screenshot-settings.ini").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default="docs", type=Path)
    parser.add_argument("--only", choices=("main", "surrogates", "mover"))
    arguments = parser.parse_args()
    sys.exit(main(arguments.out, arguments.only))
