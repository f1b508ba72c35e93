"""Asking before work is lost: closing the window, or opening a project over runs not saved.

The window calls :func:`ask` whenever an action would throw away runs in
progress or runs made since the last save, and acts on the answer: Save (stop
the runs in progress, keep them as cancelled with their frames, then save
everything), Discard, or Cancel (nothing happens). The question is modal, like
every editor's: the action it guards waits for the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from PySide6 import QtWidgets

_LISTED = 4  # names shown before "and N more"


class Choice(Enum):
    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


@dataclass(frozen=True)
class UnsavedWork:
    """What an action would lose: the runs in progress and the finished runs not saved yet (their names)."""

    running: tuple[str, ...] = ()
    unsaved: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.running or self.unsaved)

    def describe(self) -> str:
        """The loss in words, one sentence per kind."""
        lines = []
        if self.running:
            object_, subject = ("it", "it") if len(self.running) == 1 else ("them", "they")
            lines.append(f"{_count(self.running, 'run is', 'runs are')} in progress ({_names(self.running)}); "
                         f"saving stops {object_} and keeps what {subject} computed so far.")
        if self.unsaved:
            lines.append(f"{_count(self.unsaved, 'run has', 'runs have')} not been saved: {_names(self.unsaved)}.")
        return "\n".join(lines)


def question_box(parent: QtWidgets.QWidget, work: UnsavedWork, action: str) -> QtWidgets.QMessageBox:
    """The Save / Discard / Cancel question before ``action`` ("closing", "opening another project")."""
    buttons = QtWidgets.QMessageBox.StandardButton
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Question, "Unsaved work",
                                f"Save the project before {action}?", buttons.Save | buttons.Discard | buttons.Cancel,
                                parent)
    box.setInformativeText(work.describe())
    box.setDefaultButton(buttons.Save)
    box.setEscapeButton(buttons.Cancel)
    box.button(buttons.Discard).setText("Discard" if not work.running else "Stop and discard")
    return box


def ask(parent: QtWidgets.QWidget, work: UnsavedWork, action: str) -> Choice:
    """Ask, and wait for the answer; closing the box counts as Cancel."""
    box = question_box(parent, work, action)
    box.exec()
    buttons = QtWidgets.QMessageBox.StandardButton
    answer = box.standardButton(box.clickedButton()) if box.clickedButton() is not None else buttons.Cancel
    box.deleteLater()
    return {buttons.Save: Choice.SAVE, buttons.Discard: Choice.DISCARD}.get(answer, Choice.CANCEL)


def _count(names: tuple[str, ...], one: str, many: str) -> str:
    return f"1 {one}" if len(names) == 1 else f"{len(names)} {many}"


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown if len(names) <= _LISTED else f"{shown} and {len(names) - _LISTED} more"
