"""GUI tests run on a real X server: scripts/test starts Xvfb (xvfb-run) when there is no display.

Qt then uses its xcb platform and VTK a GLX window (Mesa's software renderer),
the same path as on a desktop. Qt's offscreen platform with VTK's OSMesa window
was tried first and crashed intermittently (3 to 5 runs in 6) once a second
QVTKRenderWindowInteractor was created in the process.
"""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _garbage_collected_on_the_gui_thread(qapp):
    """As in the application (workbench.gui.garbage): no collection may run on a compute thread
    while a test's widgets, or an earlier test's, wait in reference cycles."""
    from workbench.gui.garbage import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector(qapp)
    yield
    collector.stop()
    collector.deleteLater()


@pytest.fixture(autouse=True)
def _unsaved_work_is_discarded_unless_a_test_answers(monkeypatch):
    """Closing a window with runs asks Save / Discard / Cancel in a modal box that nobody clicks here:
    the answer is Discard unless a test patches ``workbench.gui.unsaved_work.ask`` itself."""
    from workbench.gui import unsaved_work

    monkeypatch.setattr(unsaved_work, "ask", lambda parent, work, action: unsaved_work.Choice.DISCARD)


def lit_pixels(image: np.ndarray, background_max: int = 90) -> int:
    """Pixels brighter than the dark viewport background (max channel above ``background_max``)."""
    return int((image.max(axis=2) > background_max).sum())


def coloured_pixels(image: np.ndarray, saturation: int = 40) -> int:
    """Pixels with a clear hue (not grey): max channel - min channel above ``saturation``."""
    channels = image.astype(np.int16)
    return int((channels.max(axis=2) - channels.min(axis=2) > saturation).sum())


@pytest.fixture
def pixels():
    """Pixel-counting helpers for rendered images."""
    return type("Pixels", (), {"lit": staticmethod(lit_pixels), "coloured": staticmethod(coloured_pixels)})


RUN_TIMEOUT_MS = 30_000


@pytest.fixture
def settings(tmp_path):
    """Settings in a file of the test's own (recent meshes, disabled plugins), not the user's."""
    from PySide6 import QtCore

    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)


@pytest.fixture
def new_window(qtbot, settings):
    """``new_window(host=None)``: a shown MainWindow (built-in plugins by default), closed after the test."""
    from workbench.gui.main_window import MainWindow
    from workbench.plugins import load_plugins

    windows = []

    def make(host=None):
        window = MainWindow(host or load_plugins(safe_mode=True), settings)
        qtbot.addWidget(window)
        window.resize(1000, 700)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        if window.file_tasks.busy:  # a test that failed mid-save: let the file thread end first
            qtbot.waitUntil(lambda w=window: not w.file_tasks.busy, timeout=RUN_TIMEOUT_MS)
        window.discard_work_and_close()  # whatever the test answered to "Save the project?"


def _wait_for_file_task(qtbot, window, kind: str, start) -> bool:
    with qtbot.waitSignal(window.file_tasks.finished, timeout=RUN_TIMEOUT_MS) as blocker:
        assert start(), f"the {kind} did not start: {window.log_view.toPlainText()[-500:]}"
    assert blocker.args[0] == kind
    return blocker.args[1]


@pytest.fixture
def project_io(qtbot):
    """``project_io.save(window, path)`` / ``.load(window, path)``: start, wait, return whether it succeeded."""
    return type("ProjectIO", (), {
        "save": staticmethod(lambda window, path: _wait_for_file_task(
            qtbot, window, "save", lambda: window.save_project(path))),
        "load": staticmethod(lambda window, path: _wait_for_file_task(
            qtbot, window, "load", lambda: window.load_project(path))),
    })
