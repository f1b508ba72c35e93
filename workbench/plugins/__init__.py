"""The plugin host and everything a plugin author imports.

A plugin module needs only::

    from workbench.plugins import hookimpl, SolverContribution, ParamSpec
"""

from ..core.params import ParamSpec
from .contributions import (
    Contribution,
    IntegratorContribution,
    MeshFormatContribution,
    MeshMoverContribution,
    SampleDataContribution,
    SolverContribution,
    SurrogateContribution,
    import_string,
)
from .hookspecs import HOOK_API_VERSION, hookimpl, hookspec
from .host import ENTRY_POINT_GROUP, PluginHost, PluginRecord, load_plugins

__all__ = [
    "ENTRY_POINT_GROUP", "HOOK_API_VERSION", "Contribution", "IntegratorContribution", "MeshFormatContribution",
    "MeshMoverContribution", "ParamSpec", "PluginHost", "PluginRecord", "SampleDataContribution",
    "SolverContribution", "SurrogateContribution", "hookimpl", "hookspec", "import_string", "load_plugins",
]
