"""The Plugins dialog: pip's output streams in, a failed install leaves everything as it was, success offers a restart.

pip installs into a fresh environment of the test's own (tests/plugins/conftest.py explains
how), never into the workbench's.
"""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from workbench.plugins import installer, load_plugins

_spec = importlib.util.spec_from_file_location("plugin_test_environments",
                                               Path(__file__).parents[1] / "plugins" / "conftest.py")
environments = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(environments)

PLUGIN = 'from workbench.plugins import hookimpl\nPDEWB_HOOK_API = 1\n\n@hookimpl\ndef pdewb_sample_data():\n    return []\n'
PIP_TIMEOUT_MS = 60_000


@pytest.fixture(autouse=True)
def _own_plugin_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("PDEWB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PDEWB_PLUGIN_DIR", str(tmp_path / "plugin-folder"))


@pytest.fixture
def dialog(qtbot, settings, tmp_path, monkeypatch):
    from workbench.gui.plugins_dialog import PluginsDialog

    python = environments.make_environment(tmp_path / "venv")
    widget = PluginsDialog(load_plugins(safe_mode=False), settings, python=str(python))
    monkeypatch.setattr(widget, "confirm_install", lambda source, command: True)  # the user says yes
    qtbot.addWidget(widget)
    widget.show()
    return widget


def wait_for_pip(qtbot, dialog):
    qtbot.waitUntil(lambda: dialog.process is None, timeout=PIP_TIMEOUT_MS)


def test_a_failed_install_streams_pip_output_and_leaves_everything_as_it_was(dialog, qtbot, tmp_path):
    wheel = environments.make_wheel(tmp_path / "links", "needy-plugin", requires=("pdewb-no-such-package",),
                                    modules={"needy_plugin": PLUGIN}, entry_points={"needy": "needy_plugin"})
    before = installer.snapshot(dialog.python)
    rows = dialog.table.rowCount()
    assert dialog.start_install(str(wheel), no_index=True)
    assert not dialog.install_button.isEnabled()  # one pip at a time
    wait_for_pip(qtbot, dialog)
    shown = dialog.output.toPlainText()
    assert f"$ {dialog.python} -m pip install" in shown and "ERROR:" in shown  # pip's own words, streamed
    assert "installing needy-plugin failed" in dialog.status.text()
    assert "pdewb-no-such-package" in dialog.status.text() and "environment is unchanged" in dialog.status.text()
    assert dialog.isVisible() and dialog.install_button.isEnabled() and not dialog.restart_button.isVisible()
    assert dialog.table.rowCount() == rows
    assert installer.snapshot(dialog.python) == before


def test_a_successful_install_offers_a_restart_and_can_be_uninstalled(dialog, qtbot, tmp_path):
    wheel = environments.make_wheel(tmp_path / "links", "fine-plugin", modules={"fine_plugin": PLUGIN},
                                    entry_points={"fine": "fine_plugin"})
    assert dialog.start_install(str(wheel), no_index=True)
    wait_for_pip(qtbot, dialog)
    assert dialog.status.text().startswith("installed fine-plugin 0.1.0 (plugin fine)"), dialog.status.text()
    assert dialog.restart_button.isVisible()
    assert "fine-plugin" in installer.snapshot(dialog.python)

    from workbench.plugins.host import PluginRecord

    assert dialog.start_uninstall(PluginRecord("fine", "fine-plugin", "0.1.0"), confirm=False)
    wait_for_pip(qtbot, dialog)
    assert dialog.status.text().startswith("uninstalled fine-plugin"), dialog.status.text()
    assert "fine-plugin" not in installer.snapshot(dialog.python)


def test_bad_input_and_built_ins_get_a_one_line_reason(dialog):
    assert not dialog.start_install("./no/such/plugin.whl")
    assert dialog.status.text() == "no such wheel or folder: ./no/such/plugin.whl"
    fem = next(r for r in dialog.host.records if r.name == "fem")
    assert not dialog.start_uninstall(fem, confirm=False)
    assert "built-in plugin: disable it instead" in dialog.status.text()


def test_unchecking_a_plugin_disables_it_in_plugins_json(dialog):
    from PySide6 import QtCore

    from workbench.plugins.userconfig import PluginConfig

    row = next(i for i, r in enumerate(dialog.host.records) if r.name == "samples")
    dialog.table.item(row, 0).setCheckState(QtCore.Qt.CheckState.Unchecked)
    assert PluginConfig.load().disabled == {"samples"}
    dialog.table.item(row, 0).setCheckState(QtCore.Qt.CheckState.Checked)
    assert PluginConfig.load().disabled == set()


def test_without_pip_the_install_action_says_why(qtbot, settings, monkeypatch):
    from workbench.gui.plugins_dialog import PluginsDialog

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    widget = PluginsDialog(load_plugins(safe_mode=True), settings)
    qtbot.addWidget(widget)
    assert not widget.install_button.isEnabled()
    assert "frozen build" in widget.install_button.toolTip() and "frozen build" in widget.status.text()
    assert os.environ["PDEWB_PLUGIN_DIR"] in widget.status.text()
