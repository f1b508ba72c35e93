"""Installed plugins: version, origin, contributions, status and errors; enable/disable."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from ..plugins.host import PluginHost

DISABLED_KEY = "plugins/disabled"


def disabled_plugins(settings: QtCore.QSettings) -> set[str]:
    return set(settings.value(DISABLED_KEY, [], list))


class PluginsDialog(QtWidgets.QDialog):
    """A table of plugin records; unchecking 'enabled' takes effect at the next start."""

    COLUMNS = ("enabled", "plugin", "version", "origin", "status", "contributions / error")

    def __init__(self, host: PluginHost, settings: QtCore.QSettings, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Plugins")
        self.resize(860, 360)
        self.settings = settings
        self.table = QtWidgets.QTableWidget(len(host.records), len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        disabled = disabled_plugins(settings)
        for row, record in enumerate(host.records):
            check = QtWidgets.QTableWidgetItem()
            check.setFlags(QtCore.Qt.ItemFlag.ItemIsUserCheckable | QtCore.Qt.ItemFlag.ItemIsEnabled)
            check.setCheckState(QtCore.Qt.CheckState.Unchecked if record.name in disabled else QtCore.Qt.CheckState.Checked)
            detail = ", ".join(c.id for c in record.contributions) or (record.error or "")
            origin = "built-in" if record.builtin else (record.distribution or "registered in code")
            cells = [check, record.name, record.version or "-", origin, record.status, detail]
            for column, value in enumerate(cells):
                item = value if isinstance(value, QtWidgets.QTableWidgetItem) else QtWidgets.QTableWidgetItem(value)
                if column:
                    item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsEditable)
                if record.status == "failed" and column:
                    item.setForeground(QtCore.Qt.GlobalColor.red)
                    item.setToolTip(record.error or "")
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        note = QtWidgets.QLabel("Enabling or disabling a plugin takes effect when the workbench restarts.")
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.table.itemChanged.connect(self._save_enabled)

    def _save_enabled(self, item: QtWidgets.QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        names = {
            self.table.item(row, 1).text()
            for row in range(self.table.rowCount())
            if self.table.item(row, 0).checkState() == QtCore.Qt.CheckState.Unchecked
        }
        self.settings.setValue(DISABLED_KEY, sorted(names))
