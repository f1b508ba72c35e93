"""A form generated from a contribution's ParamSpecs, validated by the same rules as the CLI."""

from __future__ import annotations

from typing import Any

from PySide6 import QtGui, QtWidgets

from ..core.errors import ParamError
from ..core.params import ParamSpec

_INVALID_STYLE = "background-color: #5c2a2a;"


class ParamForm(QtWidgets.QWidget):
    """One editor per ParamSpec: spin boxes with ranges and units, combos, checkboxes, text.

    ``values()`` returns the raw values; :func:`workbench.core.params.resolve_params`
    (called by the runner) is the single source of validation. Text fields are
    checked as you type, so a bad expression shows before Run is pressed.
    """

    def __init__(self, specs: tuple[ParamSpec, ...] = (), parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QtWidgets.QFormLayout(self)
        self._layout.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._editors: dict[str, tuple[ParamSpec, QtWidgets.QWidget]] = {}
        self.set_specs(specs)

    def set_specs(self, specs: tuple[ParamSpec, ...]) -> None:
        while self._layout.rowCount():
            self._layout.removeRow(0)
        self._editors = {}
        for spec in specs:
            editor = _editor_for(spec)
            editor.setToolTip(spec.help)
            label = QtWidgets.QLabel(spec.name.replace("_", " "))
            label.setToolTip(spec.help)
            self._layout.addRow(label, editor)
            self._editors[spec.name] = (spec, editor)

    def values(self) -> dict[str, Any]:
        return {name: _read(spec, editor) for name, (spec, editor) in self._editors.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name in self._editors:
                _write(*self._editors[name], value)

    def editor(self, name: str) -> QtWidgets.QWidget:
        return self._editors[name][1]

    def errors(self) -> dict[str, str]:
        """Parameters whose current value does not pass its ParamSpec."""
        problems = {}
        for name, (spec, editor) in self._editors.items():
            try:
                spec.coerce(_read(spec, editor))
            except ParamError as error:
                problems[name] = str(error)
        return problems


class ScientificSpinBox(QtWidgets.QDoubleSpinBox):
    """A float spin box that keeps every value it is given: 1e-9 stays 1e-9, shown as '1e-09'.

    QDoubleSpinBox rounds values to ``decimals()`` places, so a tolerance of 1e-9 or a
    viscosity of 1e-7 silently became 0 with six decimals. Here the decimals are set to
    the most Qt allows (no rounding in practice) and the text is the shortest form that
    reads back to the value (``repr``), or ``%g`` while it is long.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(323)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's name
        short = f"{value:.6g}"
        return short if float(short) == value else repr(float(value))

    def valueFromText(self, text: str) -> float:  # noqa: N802
        return float(self._number(text))

    def validate(self, text: str, position: int):
        number = self._number(text)
        try:
            value = float(number)
        except ValueError:
            # Part of a number being typed ('1e', '-', '2.') is Intermediate, anything else Invalid.
            partial = number in ("", "-", "+", ".") or number[-1:] in ("e", "E", "-", "+", ".")
            state = QtGui.QValidator.State.Intermediate if partial else QtGui.QValidator.State.Invalid
            return state, text, position
        inside = self.minimum() <= value <= self.maximum()
        return (QtGui.QValidator.State.Acceptable if inside else QtGui.QValidator.State.Intermediate), text, position

    def _number(self, text: str) -> str:
        suffix = self.suffix()
        return (text[: -len(suffix)] if suffix and text.endswith(suffix) else text).strip()


def _editor_for(spec: ParamSpec) -> QtWidgets.QWidget:
    if spec.type == "float":
        editor = ScientificSpinBox()
        editor.setRange(spec.minimum if spec.minimum is not None else -1e12,
                        spec.maximum if spec.maximum is not None else 1e12)
        editor.setStepType(QtWidgets.QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        if spec.units:
            editor.setSuffix(f" {spec.units}")
    elif spec.type == "int":
        editor = QtWidgets.QSpinBox()
        editor.setRange(int(spec.minimum) if spec.minimum is not None else -(2**31),
                        int(spec.maximum) if spec.maximum is not None else 2**31 - 1)
        if spec.units:
            editor.setSuffix(f" {spec.units}")
    elif spec.type == "bool":
        editor = QtWidgets.QCheckBox()
    elif spec.type == "choice":
        editor = QtWidgets.QComboBox()
        editor.addItems(list(spec.choices))
    else:  # str, expression
        editor = QtWidgets.QLineEdit()
        editor.textChanged.connect(lambda _text, s=spec, e=editor: _mark_validity(s, e))
        if spec.type == "expression":
            editor.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
            editor.setPlaceholderText("expression of x, y, z, t")
    _write(spec, editor, spec.default)
    return editor


def _read(spec: ParamSpec, editor: QtWidgets.QWidget) -> Any:
    if isinstance(editor, (QtWidgets.QDoubleSpinBox, QtWidgets.QSpinBox)):
        return editor.value()
    if isinstance(editor, QtWidgets.QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QtWidgets.QComboBox):
        return editor.currentText()
    return editor.text()


def _write(spec: ParamSpec, editor: QtWidgets.QWidget, value: Any) -> None:
    if isinstance(editor, (QtWidgets.QDoubleSpinBox, QtWidgets.QSpinBox)):
        editor.setValue(value)
    elif isinstance(editor, QtWidgets.QCheckBox):
        editor.setChecked(bool(value))
    elif isinstance(editor, QtWidgets.QComboBox):
        editor.setCurrentText(str(value))
    else:
        editor.setText(str(value))


def _mark_validity(spec: ParamSpec, editor: QtWidgets.QLineEdit) -> None:
    try:
        spec.coerce(editor.text())
    except ParamError as error:
        editor.setStyleSheet(_INVALID_STYLE)
        editor.setToolTip(str(error))
        return
    editor.setStyleSheet("")
    editor.setToolTip(spec.help)
