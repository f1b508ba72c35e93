"""Hook specifications: what a PDE Workbench plugin may implement.

Every hook takes no arguments and returns a list of contributions (descriptors,
see :mod:`workbench.plugins.contributions`). A plugin module implements any
subset, marking each function with :data:`hookimpl`::

    from workbench.plugins import hookimpl, SolverContribution

    @hookimpl
    def pdewb_reference_solvers():
        return [SolverContribution(id="my.poisson", title="My Poisson",
                                   implementation="my_pkg.poisson:solve", equation="poisson")]

Hooks must stay cheap: return descriptors, import nothing heavy.
"""

from __future__ import annotations

import pluggy

PROJECT = "pde_workbench"
#: Version of this hook API; bumped when a hook's meaning changes incompatibly.
HOOK_API_VERSION = 1

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def pdewb_reference_solvers() -> list:
    """Classical solvers used as ground truth (list of SolverContribution)."""


@hookspec
def pdewb_operator_surrogates() -> list:
    """Neural operators trained on reference data (list of SurrogateContribution)."""


@hookspec
def pdewb_mesh_movers() -> list:
    """r-adaptation methods (list of MeshMoverContribution)."""


@hookspec
def pdewb_time_integrators() -> list:
    """INSR time integrators (list of IntegratorContribution)."""


@hookspec
def pdewb_mesh_formats() -> list:
    """Mesh readers/writers beyond meshio's formats (list of MeshFormatContribution)."""


@hookspec
def pdewb_sample_data() -> list:
    """Sample meshes and scenarios (list of SampleDataContribution)."""
