"""The user plugin folder (a 'pip install --target' folder), enable/disable and plugins.json."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli.main import main
from workbench.plugins import load_plugins
from workbench.plugins.userconfig import PluginConfig

FOLDER_PLUGIN = '''
from workbench.plugins import hookimpl, SampleDataContribution
PDEWB_HOOK_API = 1

@hookimpl
def pdewb_sample_data():
    return [SampleDataContribution(id="folder.readme", title="A file", implementation="folder_plugin:path")]

def path():
    import pathlib
    return pathlib.Path(__file__)
'''


@pytest.fixture
def folder_plugin(wheels, tmp_path, monkeypatch):
    """A plugin installed with pip --target into the user plugin folder, as a frozen build's user would."""
    folder = Path(os.environ["PDEWB_PLUGIN_DIR"])
    wheel = wheels.make(tmp_path / "wheels", "folder-plugin", modules={"folder_plugin": FOLDER_PLUGIN},
                        entry_points={"folder": "folder_plugin"})
    subprocess.run([sys.executable, "-m", "pip", "install", "--target", str(folder), "--no-deps", "--no-index",
                    "--disable-pip-version-check", "-q", str(wheel)], check=True)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the host appends the folder: undone after the test
    importlib.invalidate_caches()
    yield folder
    sys.modules.pop("folder_plugin", None)


def test_plugins_in_the_user_folder_are_found_loaded_and_removable(folder_plugin, capsys):
    host = load_plugins(safe_mode=False)
    record = {r.name: r for r in host.records}["folder"]
    assert record.status == "loaded" and record.distribution == "folder-plugin"
    assert record.origin == f"user folder: {folder_plugin}"
    assert host.get("folder.readme").load()().name == "folder_plugin.py"
    assert sys.path[-1] == str(folder_plugin)  # last: the host's own packages win over the folder's

    assert main(["plugins", "uninstall", "folder"]) == 0
    assert "removed folder-plugin 0.1.0 from the user plugin folder" in capsys.readouterr().out
    assert not [p for p in folder_plugin.iterdir() if p.name != "bin"]
    assert "folder" not in {r.name for r in load_plugins(safe_mode=False).records}


def test_the_user_folder_is_not_loaded_in_safe_mode(folder_plugin):
    record = {r.name: r for r in load_plugins(safe_mode=True).records}["folder"]
    assert record.status == "skipped" and "safe mode" in record.error


def test_disable_and_enable_persist_in_plugins_json(capsys):
    assert main(["plugins", "disable", "samples"]) == 0
    assert "disabled samples" in capsys.readouterr().out
    config_file = Path(os.environ["PDEWB_CONFIG_DIR"]) / "plugins.json"
    assert json.loads(config_file.read_text())["disabled"] == ["samples"]
    record = {r.name: r for r in load_plugins(safe_mode=False).records}["samples"]
    assert (record.status, record.error) == ("skipped", "disabled by the user")

    assert main(["plugins", "enable", "samples"]) == 0
    assert {r.name: r for r in load_plugins(safe_mode=False).records}["samples"].status == "loaded"
    assert main(["plugins", "disable", "no-such-plugin"]) == 2
    assert "no plugin 'no-such-plugin' (installed: " in capsys.readouterr().err


def test_an_unreadable_plugins_json_is_kept_aside_and_the_host_starts():
    config_file = Path(os.environ["PDEWB_CONFIG_DIR"]) / "plugins.json"
    config_file.parent.mkdir(parents=True)
    config_file.write_text("{not json")
    host = load_plugins(safe_mode=False)
    assert host.solver("fem.heat")
    assert config_file.with_name("plugins.json.unreadable").read_text() == "{not json"
    config = PluginConfig.load()
    config.disabled.add("fem")
    config.save()
    assert PluginConfig.load().disabled == {"fem"}


def test_a_config_folder_that_is_a_file_is_said_so_and_nothing_is_moved(tmp_path, monkeypatch, caplog, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("mine")
    monkeypatch.setenv("PDEWB_CONFIG_DIR", str(blocker))
    assert load_plugins(safe_mode=False).solver("fem.heat")
    assert f"the config folder {blocker} is a file, not a folder" in caplog.text
    assert "kept as" not in caplog.text
    assert main(["plugins", "disable", "samples"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (f"pdewb: error: cannot save plugin settings: the config folder {blocker} is a file, "
                     "not a folder (move it, or point PDEWB_CONFIG_DIR elsewhere)")
    assert blocker.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


def test_a_plugins_json_that_is_a_folder_is_left_where_it_is(caplog):
    folder = Path(os.environ["PDEWB_CONFIG_DIR"]) / "plugins.json"
    folder.mkdir(parents=True)
    assert PluginConfig.load().disabled == set()
    assert "it is a folder, not a file" in caplog.text and "kept as" not in caplog.text
    assert folder.is_dir() and not folder.with_name("plugins.json.unreadable").exists()


def test_entries_of_the_wrong_type_are_dropped():
    config_file = Path(os.environ["PDEWB_CONFIG_DIR"]) / "plugins.json"
    config_file.parent.mkdir(parents=True)
    config_file.write_text(json.dumps({"disabled": "samples", "installed": {"x": 5, "y": {"source": "index: z"}}}))
    config = PluginConfig.load()
    assert config.disabled == set()  # not {"s", "a", "m", ...}
    assert config.installed == {"y": {"source": "index: z"}}
    config_file.write_text(json.dumps({"disabled": ["samples", 3, ["x"]]}))
    assert PluginConfig.load().disabled == {"samples"}
    assert {r.name: r for r in load_plugins(safe_mode=False).records}["samples"].status == "skipped"
