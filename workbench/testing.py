"""Helpers for testing plugins against the host, without installing them.

    from workbench.testing import host_with
    import my_plugin.plugin

    def test_my_solver_is_discovered():
        host = host_with(my_plugin.plugin)
        assert host.solver("my.solver").title

``host_with`` registers exactly the given plugin modules (no entry points are
scanned), through the same validation and hook calls as installed plugins.
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
