"""Warnings shown without blocking the window: the app stays usable while one is open."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


def show_warning(parent: QtWidgets.QWidget, title: str, message: str, modal: bool = False) -> QtWidgets.QMessageBox:
    """A warning box, non-modal unless asked, deleted when closed; returned so tests can inspect it."""
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, message,
                                QtWidgets.QMessageBox.StandardButton.Ok, parent)
    box.setModal(modal)
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box
