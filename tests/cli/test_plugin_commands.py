"""``pdewb plugins list --json`` and ``new --json``: the fields scripts rely on."""

import json

import pytest

from workbench.cli.main import main


@pytest.fixture(autouse=True)
def _own_plugin_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("PDEWB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PDEWB_PLUGIN_DIR", str(tmp_path / "plugin-folder"))


def test_list_json_has_id_distribution_version_origin_status_and_reason(capsys, tmp_path):
    assert main(["plugins", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    fem = {r["id"]: r for r in data["plugins"]}["fem"]
    assert {"id", "distribution", "version", "origin", "status", "reason", "api_version"} <= set(fem)
    assert (fem["distribution"], fem["origin"], fem["status"], fem["reason"]) == (
        "pde-workbench-fem", "built-in", "loaded", None)
    assert data["plugin_folder"] == str(tmp_path / "plugin-folder")


def test_new_json_names_what_it_created(capsys, tmp_path):
    assert main(["plugins", "new", "json-demo", "--kind", "surrogate", "--dir", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["distribution"] == "json-demo" and data["contribution"] == "json_demo.surrogate"
    assert {p.split("json-demo/")[1] for p in data["files"]} == {
        "pyproject.toml", "README.md", "src/json_demo/__init__.py", "src/json_demo/plugin.py",
        "src/json_demo/surrogate.py", "tests/test_json_demo.py"}


def test_an_unknown_kind_is_a_one_line_usage_error(capsys):
    assert main(["plugins", "new", "x", "--kind", "preconditioner"]) == 2
    assert "invalid choice: 'preconditioner'" in capsys.readouterr().err
