"""Helpers for testing plugins against the host, without installing them.

The pytest way: import the ``plugin_host`` fixture and say which plugin modules are
under test with a ``pdewb_plugins`` fixture (in the test module or a conftest.py)::

    import pytest
    from workbench.testing import plugin_host  # noqa: F401 - a fixture
    import my_plugin.plugin

    @pytest.fixture
    def pdewb_plugins():
        return [my_plugin.plugin]

    def test_my_solver_is_discovered(plugin_host):
        assert plugin_host.solver("my.solver").title

``plugin_host`` registers exactly those modules (no entry points are scanned), through
the same API-version check, validation and hook calls as installed plugins, and fails
the test with the host's reason when one of them does not load. Outside pytest,
``host_with(*modules)`` returns such a host and leaves the records to you.
"""

from __future__ import annotations

from types import ModuleType

from .plugins.host import PluginHost, PluginRecord


def host_with(*plugins: ModuleType | object, names: list[str] | None = None) -> PluginHost:
    host = PluginHost(safe_mode=False, trace=False)
    for index, plugin in enumerate(plugins):
        name = names[index] if names else getattr(plugin, "__name__", f"plugin{index}")
        host.register(plugin, PluginRecord(name=name))
    return host


def not_loaded(host: PluginHost) -> list[str]:
    """One line per plugin that did not load: its name, status and reason."""
    return [f"{r.name}: {r.status}: {r.error}" for r in host.records if r.status != "loaded"]


try:
    import pytest
except ImportError:  # the application itself never needs pytest; host_with works without it
    pytest = None

if pytest is not None:

    @pytest.fixture
    def plugin_host(pdewb_plugins) -> PluginHost:
        """A plugin host with just the modules of the ``pdewb_plugins`` fixture, all of them loaded."""
        host = host_with(*pdewb_plugins)
        problems = not_loaded(host)
        if problems:
            pytest.fail("plugin(s) under test did not load: " + "; ".join(problems), pytrace=False)
        return host
