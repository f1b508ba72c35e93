"""The plugin host: discovery through entry points, isolation of broken plugins."""

import types

import pytest

from workbench.core.errors import PluginError
from workbench.plugins import PluginHost, SolverContribution, hookimpl, load_plugins
from workbench.plugins.contributions import import_string
from workbench.testing import host_with


def _records(host):
    return {r.name: r for r in host.records}


def test_builtin_plugins_are_discovered_through_entry_points():
    records = _records(load_plugins(safe_mode=False))
    assert records["fem"].status == "loaded" and records["fem"].builtin
    assert {c.id for c in records["fem"].contributions} >= {"fem.poisson", "fem.heat"}
    assert records["samples"].distribution == "pde-workbench-samples"


def test_broken_plugins_are_reported_and_the_others_keep_working(fake_plugins):
    host = load_plugins(safe_mode=False)
    records = _records(host)
    assert records["good"].status == "loaded"
    assert host.solver("good.constant").title == "Constant field"
    assert host.solver("fem.heat").equation == "heat"

    expected_errors = {
        "broken_import": "import failed: ModuleNotFoundError",
        "bad_signature": "unexpected_argument",
        "raises_in_hook": "hook pdewb_reference_solvers raised RuntimeError: hook exploded",
        "typo_hook": "unknown hook(s) pdewb_reference_solver",
        "wrong_type": "returned dict instead of SolverContribution",
    }
    for name, fragment in expected_errors.items():
        record = records[name]
        assert record.status == "failed", name
        assert fragment in record.error, (name, record.error)
        assert "\n" not in record.error
        assert record.contributions == []
    assert {r.name for r in host.failed} == set(expected_errors)
    assert records["broken_import"].distribution == "fake-broken_import"
    assert records["broken_import"].version == "0.1"


def test_a_failed_plugin_leaves_no_hooks_behind(fake_plugins):
    host = load_plugins(safe_mode=False)
    # The raising plugin was unregistered, so a later hook call cannot reach it.
    for impl in host._manager.hook.pdewb_reference_solvers.get_hookimpls():
        assert impl.plugin_name not in {"raises_in_hook", "wrong_type"}


def test_safe_mode_loads_only_builtin_plugins(fake_plugins, monkeypatch):
    monkeypatch.setenv("PDEWB_SAFE_MODE", "1")
    records = _records(load_plugins())
    assert records["fem"].status == "loaded"
    assert records["good"].status == "skipped"
    assert "safe mode" in records["good"].error
    assert records["broken_import"].status == "skipped"  # never imported


def test_disabled_plugins_are_skipped(fake_plugins):
    records = _records(load_plugins(safe_mode=False, disabled={"good"}))
    assert records["good"].status == "skipped"
    assert records["good"].error == "disabled by the user"


def test_hook_tracing_goes_to_stderr(fake_plugins, monkeypatch, capfd):
    import logging

    monkeypatch.setenv("PDEWB_TRACE_HOOKS", "1")
    logger = logging.getLogger("workbench.plugins")
    monkeypatch.setattr(logger, "handlers", [])
    load_plugins(safe_mode=False)
    err = capfd.readouterr().err
    assert "fem.pdewb_reference_solvers -> 2 contribution(s)" in err
    assert "plugin broken_import failed" in err


def test_discovery_imports_no_implementation_modules():
    """Listing plugins imports only descriptor modules: no solver code, no torch."""
    import subprocess
    import sys

    heavy = ("pdewb_fem.heat", "pdewb_fem.poisson", "pdewb_fem.assembly", "pyamg", "torch", "PySide6")
    code = (
        "import sys; from workbench.plugins import load_plugins; host = load_plugins(); "
        "assert host.solver('fem.heat'); "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_unknown_contribution_lists_what_is_available():
    host = load_plugins(safe_mode=False)
    with pytest.raises(PluginError, match=r"no reference solver 'nope' \(available: .*fem.heat"):
        host.solver("nope")


def test_duplicate_contribution_ids_keep_the_first():
    def module(name):
        plugin = types.ModuleType(name)

        @hookimpl
        def pdewb_reference_solvers():
            return [SolverContribution(id="same.id", title=name, implementation="x:y")]

        plugin.pdewb_reference_solvers = pdewb_reference_solvers
        return plugin

    host = host_with(module("first"), module("second"))
    assert host.solver("same.id").title == "first"
    assert "duplicate contribution id 'same.id'" in _records(host)["second"].error


def test_registering_the_same_name_twice_is_a_failure_not_a_crash():
    plugin = types.ModuleType("p")
    host = host_with(plugin, plugin, names=["p", "p"])
    assert [r.status for r in host.records] == ["loaded", "failed"]


def test_missing_optional_requirement_is_reported_before_import():
    contribution = SolverContribution(
        id="needs.nothing", title="t", implementation="json:dumps", requires=("module_that_is_not_installed",)
    )
    with pytest.raises(PluginError, match="needs module_that_is_not_installed, which is not installed"):
        contribution.load()


@pytest.mark.parametrize(
    "target, message",
    [
        ("no_colon_here", "not an import string"),
        ("module_that_is_not_installed:thing", "cannot import 'module_that_is_not_installed'"),
        ("json:no_such_attribute", "'json' has no attribute 'no_such_attribute'"),
    ],
)
def test_import_string_errors_are_clear(target, message):
    with pytest.raises(PluginError, match=message):
        import_string(target)


def test_import_string_resolves_nested_attributes():
    assert import_string("os.path:join") is __import__("os").path.join


def test_contribution_describe_is_plain_data():
    import json

    contribution = load_plugins(safe_mode=False).solver("fem.heat")
    data = json.loads(json.dumps(contribution.describe()))
    assert data["family"] == "reference_solver"
    assert {p["name"] for p in data["params"]} >= {"dt", "t_end", "scheme"}


def test_host_with_registers_only_the_given_plugins():
    plugin = types.ModuleType("solo")

    @hookimpl
    def pdewb_reference_solvers():
        return [SolverContribution(id="solo.s", title="Solo", implementation="x:y")]

    plugin.pdewb_reference_solvers = pdewb_reference_solvers
    host = host_with(plugin)
    assert [c.id for c in host.contributions(SolverContribution)] == ["solo.s"]
    assert isinstance(host, PluginHost)
