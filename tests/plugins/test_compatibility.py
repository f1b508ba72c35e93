"""A plugin declares the hook API it was written for; an incompatible one is listed, not loaded, not fatal."""

import importlib
import json
import sys
import textwrap
import types

import pytest

from workbench.cli.main import main
from workbench.plugins import HOOK_API_VERSION, SolverContribution, hookimpl, load_plugins
from workbench.testing import host_with

FUTURE_PLUGIN = '''
from workbench.plugins import hookimpl, SolverContribution
PDEWB_HOOK_API = 99

@hookimpl
def pdewb_reference_solvers():
    return [SolverContribution(id="future.solver", title="From the future", implementation="x:y")]
'''


def plugin_module(name: str, **attributes) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def pdewb_reference_solvers():
        return [SolverContribution(id=f"{name}.solver", title=name, implementation="x:y")]

    module.pdewb_reference_solvers = pdewb_reference_solvers
    module.__dict__.update(attributes)
    return module


@pytest.mark.parametrize("declared, status, fragment", [
    (HOOK_API_VERSION, "loaded", None),
    (HOOK_API_VERSION + 1, "incompatible", "needs a newer PDE Workbench"),
    (0, "incompatible", "needs an older PDE Workbench"),
    ("1", "incompatible", "is not an integer hook API version"),
])
def test_the_declared_api_version_decides(declared, status, fragment):
    host = host_with(plugin_module("p", PDEWB_HOOK_API=declared))
    record = host.records[0]
    assert record.status == status
    if fragment:
        assert fragment in record.error and record.contributions == []
        assert not host.contributions(SolverContribution)
        assert not host._manager.get_plugin("p")  # nothing was registered with pluggy


def test_a_plugin_without_a_declaration_is_taken_for_version_1():
    record = host_with(plugin_module("legacy")).records[0]
    assert record.status == "loaded" and record.api_version == 1


def test_an_installed_incompatible_plugin_is_listed_and_skipped(tmp_path, monkeypatch, capsys):
    (tmp_path / "future_plugin.py").write_text(textwrap.dedent(FUTURE_PLUGIN))
    info = tmp_path / "future_plugin-2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: future-plugin\nVersion: 2.0\n")
    (info / "entry_points.txt").write_text("[pde_workbench.plugins]\nfuture = future_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        host = load_plugins(safe_mode=False)
        records = {r.name: r for r in host.records}
        assert records["future"].status == "incompatible"
        assert "written for hook API 99" in records["future"].error
        assert records["fem"].status == "loaded" and host.solver("fem.heat")
        assert main(["plugins", "list", "--json"]) == 0
        listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)["plugins"]}
        assert listed["future"]["status"] == "incompatible" and listed["future"]["distribution"] == "future-plugin"
        assert "needs a newer PDE Workbench" in listed["future"]["reason"]
    finally:
        sys.modules.pop("future_plugin", None)
