"""The Monge-Ampere relaxation on any triangle mesh with P1 finite elements.

phi is a P1 function on the computational (original) mesh. Its nodal gradient and
Hessian are recovered by least-squares quadratic fits over the nearest nodes
(:class:`workbench.core.recovery.QuadraticFitRecovery`), exact for quadratics on any
mesh. Simple area-weighted averaging is not enough here: on an irregular mesh it
leaves node-to-node noise of O(h |H|) in grad(phi), which is the node displacement,
and that folded cells of a jittered Delaunay mesh in the very first step. The
boundary is then imposed on the gradient (tangential part at sliding nodes, zero at
corners; sliding nodes move along the boundary polygon, :mod:`pdewb_movers.boundary`).

The pseudo-time step -Lap(delta) = r is taken in weak form with natural (Neumann)
conditions, K delta = M r, with the P1 stiffness K_ij = sum_K |K| grad(l_i).grad(l_j)
and mass M_ij = sum_K |K| (1 + delta_ij) / 12 (McRae, Cotter & Budd, SIAM J. Sci.
Comput. 2018, use the same weak form). K is singular (constants); the right-hand
side is made orthogonal to them, one node is pinned, and the sparse LU factors,
computed once (the computational mesh does not move), serve every iteration.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from workbench.core.mesh import Mesh
from workbench.core.recovery import QuadraticFitRecovery, simplex_gradients

from .boundary import classify_boundary
from .discretisation import Discretisation


def p1_matrices(points: np.ndarray, triangles: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """P1 stiffness and consistent mass matrices, vectorised over triangles."""
    signed, gradients = simplex_gradients(points, triangles)
    areas = np.abs(signed)
    rows = np.repeat(triangles, 3, axis=1).ravel()
    columns = np.tile(triangles, (1, 3)).ravel()
    local_stiffness = areas[:, None, None] * np.einsum("nid,njd->nij", gradients, gradients)
    local_mass = areas[:, None, None] * (np.ones((3, 3)) + np.eye(3))[None] / 12.0
    shape = (len(points), len(points))
    stiffness = sp.csr_matrix((local_stiffness.ravel(), (rows, columns)), shape=shape)
    mass = sp.csr_matrix((local_mass.ravel(), (rows, columns)), shape=shape)
    return stiffness, mass


class P1Discretisation(Discretisation):
    """P1 finite elements with gradient recovery on an unstructured triangle mesh."""

    def __init__(self, mesh: Mesh, curved: str = "slide") -> None:
        super().__init__(mesh)
        self.recovery = QuadraticFitRecovery(self.reference)
        self.boundary = classify_boundary(mesh, curved)
        stiffness, self.mass = p1_matrices(self.reference, self.triangles)
        self._lumped = np.asarray(self.mass.sum(axis=1)).ravel()
        self._pinned = int(self.boundary.fixed[0]) if len(self.boundary.fixed) else 0
        keep = np.ones(mesh.n_points, dtype=bool)
        keep[self._pinned] = False
        self._free = np.flatnonzero(keep)
        self._factors = splu(stiffness[self._free][:, self._free].tocsc())
        self.description = f"unstructured P1, {mesh.n_points} nodes: {self.boundary.describe()}"

    @property
    def weights(self) -> np.ndarray:
        return self._lumped

    def displacement(self, phi: np.ndarray) -> np.ndarray:
        return self.boundary.project_displacement(self.recovery.gradient(phi))

    def points(self, phi: np.ndarray, damping: np.ndarray | None = None) -> np.ndarray:
        displacement = self.displacement(phi)
        if damping is not None:
            displacement *= damping[:, None]
        return self.boundary.place(self.reference, displacement)

    def hessian_determinant(self, phi: np.ndarray) -> np.ndarray:
        hessian = self.recovery.hessian(phi)
        return (1 + hessian[:, 0, 0]) * (1 + hessian[:, 1, 1]) - hessian[:, 0, 1] ** 2

    def inverse_laplacian(self, residual: np.ndarray) -> np.ndarray:
        load = self.mass @ residual
        load -= self._lumped * (load.sum() / self._lumped.sum())  # orthogonal to the constants: solvable
        delta = np.zeros_like(load)
        delta[self._free] = self._factors.solve(load[self._free])
        return delta - np.sum(self._lumped * delta) / self._lumped.sum()
