"""The Plugins dialog: installed plugins with status and origin; install, uninstall, enable, disable.

pip runs in a QProcess (never on the GUI thread's time) with its output streamed into
the dialog; the command line and constraints come from the Qt-free
:mod:`workbench.plugins.installer`, shared with ``pdewb plugins install``. Installing
runs the package's code, so it happens only after the user has seen the package, its
source and the pip command and said yes. A failed install shows pip's reason and
leaves the dialog (and the application) as they were; a successful one offers a
restart, since plugins are loaded when the workbench starts.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from ..core.errors import WorkbenchError
from ..plugins import installer
from ..plugins.host import PluginHost, PluginRecord, is_in_folder, normalise_distribution
from ..plugins.userconfig import PluginConfig, plugin_folder

LEGACY_DISABLED_KEY = "plugins/disabled"  # where versions before plugins.json kept the list


def disabled_plugins(settings: QtCore.QSettings) -> set[str]:
    """Plugins the user disabled: plugins.json, plus any list an older version left in the settings."""
    return PluginConfig.load().disabled | set(settings.value(LEGACY_DISABLED_KEY, [], list))


class PluginsDialog(QtWidgets.QDialog):
    COLUMNS = ("enabled", "plugin", "version", "status", "contributions / reason", "origin")

    def __init__(self, host: PluginHost, settings: QtCore.QSettings, parent: QtWidgets.QWidget | None = None,
                 *, python: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Plugins")
        self.resize(980, 560)
        self.host, self.settings = host, settings
        self.python = python or sys.executable  # the environment pip installs into
        self.process: QtCore.QProcess | None = None
        self._pending: dict = {}
        self.table = self._build_table()
        self.output = QtWidgets.QPlainTextEdit(readOnly=True)
        self.output.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        self.output.setPlaceholderText("pip's output appears here while it runs.")
        self.status = QtWidgets.QLabel("Enabling or disabling a plugin takes effect when the workbench restarts.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.install_button = QtWidgets.QPushButton("Install...")
        self.uninstall_button = QtWidgets.QPushButton("Uninstall")
        self.restart_button = QtWidgets.QPushButton("Restart now")
        self.restart_button.hide()
        self.install_button.clicked.connect(self._ask_and_install)
        self.uninstall_button.clicked.connect(self._uninstall_selected)
        self.restart_button.clicked.connect(self.restart_application)
        problem = installer.pip_problem(self.python)
        if problem:
            self.install_button.setEnabled(False)
            self.install_button.setToolTip(problem)
            self.status.setText(f"Installing is not available: {problem}")
        self._layout()
        self.table.itemChanged.connect(self._save_enabled)

    # -- layout -------------------------------------------------------------------------

    def _build_table(self) -> QtWidgets.QTableWidget:
        table = QtWidgets.QTableWidget(len(self.host.records), len(self.COLUMNS))
        table.setHorizontalHeaderLabels(self.COLUMNS)
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().hide()
        table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        disabled = disabled_plugins(self.settings)
        for row, record in enumerate(self.host.records):
            for column, item in enumerate(self._row_items(record, record.name in disabled)):
                table.setItem(row, column, item)
        table.resizeColumnsToContents()
        return table

    def _row_items(self, record: PluginRecord, disabled: bool) -> list[QtWidgets.QTableWidgetItem]:
        check = QtWidgets.QTableWidgetItem()
        check.setFlags(QtCore.Qt.ItemFlag.ItemIsUserCheckable | QtCore.Qt.ItemFlag.ItemIsEnabled)
        check.setCheckState(QtCore.Qt.CheckState.Unchecked if disabled else QtCore.Qt.CheckState.Checked)
        detail = ", ".join(c.id for c in record.contributions) or (record.error or "")
        items = [check] + [QtWidgets.QTableWidgetItem(text) for text in
                           (record.name, record.version or "-", record.status, detail, record.origin)]
        for item in items[1:]:
            item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsEditable)
            if record.status in ("failed", "incompatible"):
                item.setForeground(QtCore.Qt.GlobalColor.red)
                item.setToolTip(record.error or "")
        return items

    def _layout(self) -> None:
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.install_button, self.uninstall_button, self.restart_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        buttons.addWidget(close)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.status)
        layout.addWidget(self.output, 2)
        layout.addLayout(buttons)

    # -- enable / disable -----------------------------------------------------------------

    def _save_enabled(self, item: QtWidgets.QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        config = PluginConfig.load()
        name = self.table.item(item.row(), 1).text()
        if item.checkState() == QtCore.Qt.CheckState.Unchecked:
            config.disabled.add(name)
        else:
            config.disabled.discard(name)
        try:
            config.save()
        except OSError as error:
            self._show_failure(f"could not save the plugin settings: {error}")
            return
        self.settings.remove(LEGACY_DISABLED_KEY)  # plugins.json is the one place from now on

    # -- install ------------------------------------------------------------------------

    def _ask_and_install(self) -> None:
        target, ok = QtWidgets.QInputDialog.getText(
            self, "Install a plugin", "Package name (from the package index), wheel file (.whl) or project folder:")
        if ok and target.strip():
            self.start_install(target.strip())

    def start_install(self, target: str, *, index_url: str | None = None, find_links: tuple[str, ...] = (),
                      no_index: bool = False) -> bool:
        """Show what would be installed from where, and run pip if the user agrees. False if nothing started."""
        if self.process is not None:
            return False
        try:
            source = installer.resolve_source(target, index_url=index_url, find_links=find_links, no_index=no_index)
            scratch = tempfile.TemporaryDirectory(prefix="pdewb-install-")
            command = installer.install_command(source, Path(scratch.name) / "constraints.txt", python=self.python,
                                                index_url=index_url, find_links=find_links, no_index=no_index)
        except WorkbenchError as error:
            self._show_failure(str(error))
            return False
        if not self.confirm_install(source, command):
            scratch.cleanup()
            self.status.setText("Nothing was installed.")
            return False
        self._pending = {"source": source, "scratch": scratch, "before": installer.snapshot(self.python)}
        self._run(command, f"Installing {source.describe()}")
        return True

    def confirm_install(self, source: installer.PackageSource, command: installer.PipCommand) -> bool:
        """Ask the user, showing the package, its source and the pip command (installing runs its code)."""
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Install a plugin?",
                                    f"Install {source.package}?", parent=self)
        box.setInformativeText(f"Source: {source.kind} {source.location}\n\n"
                               "Installing runs code from this package with your permissions. "
                               "Install only plugins you trust.")
        box.setDetailedText(f"pip command:\n{command}")
        box.setStandardButtons(QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        return box.exec() == QtWidgets.QMessageBox.StandardButton.Yes

    # -- uninstall ----------------------------------------------------------------------

    def _uninstall_selected(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        if not rows:
            self.status.setText("Select the plugin to uninstall first.")
            return
        record = self.host.records[rows.pop()]
        self.start_uninstall(record)

    def start_uninstall(self, record: PluginRecord, confirm: bool = True) -> bool:
        if self.process is not None:
            return False
        if record.distribution is None:
            self._show_failure(f"'{record.name}' was registered in code, not installed: there is nothing to uninstall")
            return False
        try:
            installer.check_removable(record.distribution)
        except WorkbenchError as error:
            self._show_failure(str(error))
            return False
        if confirm and QtWidgets.QMessageBox.question(
                self, "Uninstall a plugin?", f"Uninstall {record.distribution} ({record.origin})?") != \
                QtWidgets.QMessageBox.StandardButton.Yes:
            return False
        folder = plugin_folder()
        dist = _installed_distribution(record.distribution)
        if dist is not None and folder.is_dir() and is_in_folder(dist, folder):
            installer.remove_from_plugin_folder(dist, folder)
            self._show_success(f"removed {record.distribution} from the user plugin folder")
            return True
        self._pending = {"uninstall": record.distribution}
        self._run(installer.uninstall_command(record.distribution, python=self.python),
                  f"Uninstalling {record.distribution}")
        return True

    # -- the pip process ----------------------------------------------------------------

    def _run(self, command: installer.PipCommand, title: str) -> None:
        self.output.clear()
        self.output.appendPlainText(f"{title}\n$ {command}\n")
        self._output_text = []
        self.process = QtCore.QProcess(self)
        self.process.setProcessChannelMode(QtCore.QProcess.ProcessChannelMode.MergedChannels)
        environment = QtCore.QProcessEnvironment.systemEnvironment()
        for name, value in installer.pip_environment().items():
            environment.insert(name, value)
        self.process.setProcessEnvironment(environment)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._process_error)
        self._set_busy(True)
        self.status.setText(f"{title}...")
        self.process.start(command.argv[0], command.argv[1:])

    def _read_output(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode(errors="replace")
        self._output_text.append(text)
        self.output.moveCursor(QtGui.QTextCursor.MoveOperation.End)
        self.output.insertPlainText(text)
        self.output.ensureCursorVisible()

    def _process_error(self, error: QtCore.QProcess.ProcessError) -> None:
        if error == QtCore.QProcess.ProcessError.FailedToStart:
            self._done()
            self._show_failure(f"pip could not be started ({self.python}): {self.process_error_text}")

    @property
    def process_error_text(self) -> str:
        return self.process.errorString() if self.process is not None else ""

    def _finished(self, exit_code: int, exit_status: QtCore.QProcess.ExitStatus) -> None:
        self._read_output()
        output = "".join(self._output_text)
        crashed = exit_status != QtCore.QProcess.ExitStatus.NormalExit
        code = 1 if crashed else exit_code
        pending = self._pending
        self._done()
        if "uninstall" in pending:
            if code == 0:
                self._show_success(f"uninstalled {pending['uninstall']}")
            else:
                self._show_failure(f"uninstalling {pending['uninstall']} failed: {installer.pip_failure_reason(output)}")
            return
        try:
            outcome = installer.finish_install(pending["source"], code, output, pending["before"], self.python)
        finally:
            pending["scratch"].cleanup()
        if not outcome.ok:
            self._show_failure(outcome.message)
            return
        if pending["source"].kind == "package index":
            config = PluginConfig.load()
            config.installed[normalise_distribution(pending["source"].package)] = {"source": pending["source"].record()}
            config.save()
        self._show_success(outcome.message)

    def _done(self) -> None:
        if self.process is not None:
            self.process.deleteLater()
        self.process, self._pending = None, {}
        self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        for button in (self.install_button, self.uninstall_button):
            button.setEnabled(not busy)
        if not busy and installer.pip_problem(self.python):
            self.install_button.setEnabled(False)

    def _show_failure(self, message: str) -> None:
        self.status.setStyleSheet("color: #c0392b")
        self.status.setText(" ".join(message.split()))

    def _show_success(self, message: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(f"{message}. Plugins are loaded when the workbench starts: restart to use it.")
        self.restart_button.show()

    def reject(self) -> None:
        if self.process is not None:
            self.status.setText("pip is still running; close the dialog when it has finished.")
            return
        super().reject()

    def restart_application(self) -> None:
        """Start a new workbench with the same command line, then quit this one."""
        if QtCore.QProcess.startDetached(sys.executable, ["-m", "workbench.gui.app", *sys.argv[1:]]):
            QtWidgets.QApplication.quit()
        else:
            self._show_failure("could not start a new workbench; restart it yourself")


def _installed_distribution(name: str):
    from importlib import metadata

    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
