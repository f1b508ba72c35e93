"""The parameter form keeps what it is given: small tolerances and viscosities are not rounded to 0."""

import pytest
from PySide6 import QtCore, QtGui

from workbench.core.params import ParamSpec
from workbench.gui.param_form import ParamForm, ScientificSpinBox

SPECS = (
    ParamSpec("tolerance", "float", 1e-9, minimum=0.0),
    ParamSpec("nu", "float", 1e-3, minimum=0.0, units="m^2/s"),
    ParamSpec("dt", "float", 0.05, minimum=1e-12),
)


def test_small_defaults_survive_the_form(qtbot):
    form = ParamForm(SPECS)
    qtbot.addWidget(form)
    assert form.values() == {"tolerance": 1e-9, "nu": 1e-3, "dt": 0.05}
    assert form.editor("tolerance").text() == "1e-09" and form.editor("dt").text() == "0.05"
    form.set_values({"nu": 2.5e-7})
    assert form.values()["nu"] == 2.5e-7 and form.editor("nu").text() == "2.5e-07 m^2/s"


def test_typing_scientific_notation(qtbot):
    form = ParamForm(SPECS)
    qtbot.addWidget(form)
    editor = form.editor("tolerance")
    editor.lineEdit().selectAll()
    qtbot.keyClicks(editor.lineEdit(), "3e-12")
    qtbot.keyClick(editor.lineEdit(), QtCore.Qt.Key.Key_Return)
    assert form.values()["tolerance"] == 3e-12


@pytest.mark.parametrize("text, state", [("1e-5", "Acceptable"), ("1e", "Intermediate"), ("-", "Intermediate"),
                                         ("abc", "Invalid"), ("-1", "Intermediate")])  # -1 < minimum 0
def test_the_validator_accepts_numbers_being_typed(qtbot, text, state):
    box = ScientificSpinBox()
    qtbot.addWidget(box)
    box.setRange(0.0, 10.0)
    assert box.validate(text, len(text))[0] == getattr(QtGui.QValidator.State, state)
