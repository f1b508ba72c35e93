"""The classical Monge-Ampere mover: ``move(mesh, monitor, params) -> Job``.

Picks the discretisation (a uniform tensor grid gets finite differences with fast
cosine-transform solves, any other triangle mesh P1 finite elements) and runs the
guarded parabolic relaxation of :mod:`pdewb_movers.relaxation`. The job yields a
Frame per iteration whose "coordinates" field holds the moved nodes; the last frame
is the result, and the last log message says why it stopped.

References: Budd, Huang & Russell, "Adaptivity with moving grids", Acta Numerica 18
(2009), sec. 6 (optimal transport and the parabolic Monge-Ampere relaxation);
McRae, Cotter & Budd, SIAM J. Sci. Comput. 40 (2018) (its P1 finite-element form).
The data-free neural mover DMM (Hu et al., "Better Neural PDE Solvers Through
Data-Free Mesh Movers", ICLR 2024) trains a network phi(xi; u) on the same residual;
this mover is its classical reference and fallback.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from workbench.core.errors import ParamError
from workbench.core.events import Event
from workbench.core.mesh import Mesh
from workbench.core.monitors import Monitor

from .discretisation import Discretisation
from .grid import GridDiscretisation, tensor_grid
from .p1 import P1Discretisation
from .relaxation import RelaxationSettings, relax

DISCRETISATIONS = ("auto", "structured", "unstructured")


def discretise(mesh: Mesh, choice: str = "auto", curved: str = "slide") -> Discretisation:
    """The discretisation for ``mesh``: 'structured' needs a uniform tensor grid, 'auto' uses one if it is."""
    if mesh.gdim != 2 or not all(block.type in ("triangle", "quad") for block in mesh.cells):
        raise ParamError("the Monge-Ampere mover works on planar triangle (or quad) meshes")
    grid = tensor_grid(mesh) if choice in ("auto", "structured") else None
    if grid is not None:
        return GridDiscretisation(mesh, *grid)
    if choice == "structured":
        raise ParamError("discretisation 'structured' needs a uniform tensor-grid mesh (such as a generated rectangle)")
    return P1Discretisation(mesh, curved)


def move(mesh: Mesh, monitor: Monitor, params: Mapping[str, Any]) -> Iterator[Event]:
    """Relax the mesh toward equidistribution of ``monitor``; see the module docstring."""
    settings = RelaxationSettings(
        max_iterations=int(params.get("max_iterations", 100)),
        tolerance=float(params.get("tolerance", 1e-3)),
        pseudo_time_step=float(params.get("pseudo_time_step", 0.0)),
        frame_every=int(params.get("frame_every", 1)),
    )
    discretisation = discretise(mesh, str(params.get("discretisation", "auto")), str(params.get("curved_boundary", "slide")))
    yield from relax(discretisation, monitor, settings)
