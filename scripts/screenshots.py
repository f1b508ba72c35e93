"""Take the documentation screenshots of the real window (run under an X server).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py docs/

Grabs the X root window, which holds the OpenGL viewports as drawn (a widget
grab can miss GL content). Writes main_window.png, compare_view.png, and the surrogate
dialogs: surrogate_train.png (an FNO trained on a Darcy data set generated here, a minute
or so on two CPU cores) and surrogate_compare.png (that FNO against the reference solver on
held-out seeds).
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


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication(sys.argv)
    settings = QtCore.QSettings(str(out / ".screenshot-settings.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(load_plugins(safe_mode=True), settings)
    window.move(0, 0)
    window.resize(1500, 900)
    window.show()
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
    surrogate_dialogs(app, window, out)
    window.close()
    Path(out / ".screenshot-settings.ini").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))
