"""What the Monge-Ampere relaxation needs from a discretisation, and the geometry they share.

The relaxation (:mod:`pdewb_movers.relaxation`) works with a potential phi at the
nodes of the computational mesh (the original mesh, coordinates xi) and needs:

* ``displacement(phi)``: grad(phi) at the nodes, already respecting the boundary
  (normal part removed, fixed nodes held), so x = xi + displacement;
* ``hessian_determinant(phi)``: det(I + H(phi)) at the nodes;
* ``inverse_laplacian(r)``: the solution of -Lap(delta) = r with homogeneous Neumann
  conditions and zero mean (the constant mode, undetermined, is removed);
* ``weights``: the nodal quadrature weights on the computational mesh (for norms).

Vector dot products here and in the loop are written as sums of products, not ``@``:
a BLAS call per iteration costs little itself, but multithreaded BLAS keeps its worker
threads spinning afterwards, which slowed every other step of the loop fourfold on a
busy two-core machine.

Two implementations: :class:`~pdewb_movers.grid.GridDiscretisation` (finite
differences and cosine transforms on a uniform tensor grid) and
:class:`~pdewb_movers.p1.P1Discretisation` (P1 finite elements on any triangle mesh).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from workbench.core.mesh import Mesh
from workbench.core.mesh_quality import signed_areas
from workbench.core.recovery import GradientRecovery


class Discretisation(ABC):
    """Geometry of the computational mesh shared by both discretisations."""

    #: Shown in the log: how the equation is discretised.
    description: str = ""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.reference = mesh.points
        self.triangles = mesh.simplices
        areas = signed_areas(self.reference, self.triangles)
        self.orientation = np.sign(areas)
        self.reference_areas = np.abs(areas)

    @property
    @abstractmethod
    def weights(self) -> np.ndarray: ...

    @abstractmethod
    def displacement(self, phi: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def hessian_determinant(self, phi: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def inverse_laplacian(self, residual: np.ndarray) -> np.ndarray: ...

    def points(self, phi: np.ndarray, damping: np.ndarray | None = None) -> np.ndarray:
        """Moved coordinates x = xi + s grad(phi), s a per-node damping in [0, 1] (None: 1)."""
        displacement = self.displacement(phi)
        if damping is not None:
            displacement *= damping[:, None]
        return self.reference + displacement

    def oriented_areas(self, points: np.ndarray) -> np.ndarray:
        """Cell areas of the moved mesh, signed against the original orientation (<= 0: inverted)."""
        return signed_areas(points, self.triangles) * self.orientation

    def jacobians(self, oriented_areas: np.ndarray) -> np.ndarray:
        """|K_x| / |K_xi| per cell."""
        return oriented_areas / self.reference_areas

    def mean_monitor(self, areas: np.ndarray, monitor: np.ndarray) -> float:
        """theta = int_Omega m(x) dx / |Omega| on the moved mesh with cell ``areas`` (P1 quadrature of m)."""
        corners = self.triangles
        cell_means = (monitor[corners[:, 0]] + monitor[corners[:, 1]] + monitor[corners[:, 2]]) / 3.0
        return float(np.sum(areas * cell_means) / areas.sum())

    def averaging(self, values: np.ndarray, passes: int) -> np.ndarray:
        """Nodal patch averaging on the computational mesh (built on first use)."""
        if getattr(self, "_recovery", None) is None:
            self._recovery = GradientRecovery(self.reference, self.triangles)
        return self._recovery.smooth(values, passes)

    def rms(self, values: np.ndarray) -> float:
        """Root mean square over the computational domain, with the nodal quadrature weights."""
        return float(np.sqrt(np.sum(self.weights * values**2) / self.weights.sum()))
