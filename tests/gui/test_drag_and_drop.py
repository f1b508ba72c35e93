"""Dropping files on the window: real QDragEnterEvent/QDropEvent sent where the user's pointer is.

The events go to the VTK interactor under the pointer, as a drop on the view
would; Qt hands drag events up to the first widget that accepts drops.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from workbench.core.meshgen import rectangle_mesh
from workbench.io.series import write_vtu

PLATE = "sample:plate-with-hole"
COPY = QtCore.Qt.DropAction.CopyAction
LEFT = QtCore.Qt.MouseButton.LeftButton
NO_KEYS = QtCore.Qt.KeyboardModifier.NoModifier


def urls(*items) -> QtCore.QMimeData:
    mime = QtCore.QMimeData()
    mime.setUrls([item if isinstance(item, QtCore.QUrl) else QtCore.QUrl.fromLocalFile(str(item)) for item in items])
    return mime


def drag_enter(target: QtWidgets.QWidget, mime: QtCore.QMimeData) -> QtGui.QDragEnterEvent:
    event = QtGui.QDragEnterEvent(target.rect().center(), COPY, mime, LEFT, NO_KEYS)
    QtWidgets.QApplication.sendEvent(target, event)
    return event


def drop(target: QtWidgets.QWidget, mime: QtCore.QMimeData) -> QtGui.QDropEvent:
    """Enter, then drop, as a drag ends; returns the drop event."""
    assert drag_enter(target, mime).isAccepted()
    event = QtGui.QDropEvent(QtCore.QPointF(target.rect().center()), COPY, mime, LEFT, NO_KEYS)
    QtWidgets.QApplication.sendEvent(target, event)
    return event


def shown_points(window) -> int:
    """Points of the mesh VTK draws (what the user sees), not just what the window holds."""
    return window.viewport.mapper.GetInput().GetNumberOfPoints()


def test_dropping_a_mesh_file_on_the_view_opens_it(qtbot, new_window, tmp_path):
    window = new_window()
    mesh_file = tmp_path / "square.vtu"
    write_vtu(mesh_file, rectangle_mesh(6))
    event = drop(window.viewport.interactor, urls(mesh_file))
    assert event.isAccepted()
    assert window.mesh.n_points == 49 and window.viewport.mesh is window.mesh
    assert shown_points(window) == 49
    assert window.mesh_reference == str(mesh_file)
    assert "square.vtu" in window.statusBar().currentMessage()


def test_dropping_a_corrupt_or_unsupported_file_keeps_the_mesh_and_says_why(qtbot, new_window, tmp_path):
    window = new_window()
    assert window.open_mesh(PLATE)
    broken = tmp_path / "broken.vtu"
    broken.write_text("<VTKFile> not really")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a mesh at all")
    for bad in (broken, notes):
        drop(window.viewport.interactor, urls(bad))
        box = window.last_error_box
        assert box.isVisible() and not box.isModal()  # shown without blocking the window
        assert bad.name in box.text() and bad.name in window.log_view.toPlainText()
        assert window.mesh.n_points == 2268 and window.mesh_reference == PLATE
        assert shown_points(window) == 2268


def test_only_local_files_are_accepted(qtbot, new_window):
    window = new_window()
    remote = drag_enter(window.viewport.interactor, urls(QtCore.QUrl("https://example.org/plate.msh")))
    assert not remote.isAccepted()
    text = QtCore.QMimeData()
    text.setText("/some/path.msh")
    assert not drag_enter(window.viewport.interactor, text).isAccepted()


def test_dropping_a_project_file_opens_the_project(qtbot, new_window, tmp_path, project_io):
    window = new_window()
    window.open_mesh(PLATE)
    assert project_io.save(window, tmp_path / "study.pdewb")
    other = new_window()
    with qtbot.waitSignal(other.file_tasks.finished) as blocker:
        drop(other.viewport.interactor, urls(tmp_path / "study.pdewb"))
    assert blocker.args == ["load", True]
    assert other.mesh_reference == PLATE and shown_points(other) == 2268
