"""Nodal gradients and Hessians of P1 fields by area-weighted averaging (gradient recovery).

A P1 field u_h has a constant gradient on each simplex K,

    grad u_h |_K = sum_i u_i grad(lambda_i),

discontinuous across faces. The recovered gradient at node p averages the gradients
of the simplices around it, weighted by their measure,

    G u (p) = sum_{K ni p} |K| grad u_h|_K  /  sum_{K ni p} |K|,

which is second-order accurate at interior nodes of smooth meshes (Zienkiewicz & Zhu
1992; the simple averaging of Budd, Huang & Russell 2009, sec. 2.4). The recovered
Hessian applies the same operator to the recovered gradient, H u = G (G u),
symmetrised. Both are sparse matrices built once per mesh, so a mesh mover that
recovers them every iteration pays two sparse products per derivative.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp


def simplex_gradients(points: np.ndarray, simplices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed measures (n,) and barycentric gradients (n, d + 1, d) of full-dimensional simplices.

    With T = [x_1 - x_0, ..., x_d - x_0] (columns), the gradients of lambda_1..lambda_d
    are the rows of T^{-1}, grad(lambda_0) = -sum of the others, and the signed measure
    is det(T) / d! (positive for counter-clockwise triangles).
    """
    corners = np.asarray(points, dtype=np.float64)[simplices]
    edges = np.transpose(corners[:, 1:, :] - corners[:, :1, :], (0, 2, 1))  # (n, d, d), columns are edges
    d = edges.shape[1]
    signed = np.linalg.det(edges) / math.factorial(d)
    tail = np.linalg.inv(edges)  # rows: grad(lambda_1..d)
    gradients = np.concatenate([-tail.sum(axis=1, keepdims=True), tail], axis=1)
    return signed, gradients


class GradientRecovery:
    """Sparse operators of gradient recovery and nodal averaging on one fixed simplex mesh."""

    def __init__(self, points: np.ndarray, simplices: np.ndarray) -> None:
        points = np.asarray(points, dtype=np.float64)
        simplices = np.asarray(simplices, dtype=np.int64)
        n_points, width = len(points), simplices.shape[1]
        signed, gradients = simplex_gradients(points, simplices)
        measures = np.abs(signed)
        patch = np.bincount(simplices.ravel(), weights=np.repeat(measures, width), minlength=n_points)
        #: Measure of the patch of simplices around each node (its lumped-mass weight times d + 1).
        self.patch_measures = patch
        inverse_patch = np.divide(1.0, patch, out=np.zeros_like(patch), where=patch > 0)  # orphan nodes get 0
        rows = np.repeat(simplices, width, axis=1).ravel()  # node p of K, for every corner j of K
        columns = np.tile(simplices, (1, width)).ravel()
        scale = (measures[:, None, None] * inverse_patch[simplices][:, :, None])  # (n, w, 1): |K| / |patch(p)|
        shape = (n_points, n_points)
        self.components = tuple(
            sp.csr_matrix(((scale * gradients[:, None, :, axis]).ravel(), (rows, columns)), shape=shape)
            for axis in range(points.shape[1])
        )
        averaging = np.broadcast_to(scale / width, (len(simplices), width, width))
        self.averaging = sp.csr_matrix((averaging.ravel(), (rows, columns)), shape=shape)

    @property
    def dim(self) -> int:
        return len(self.components)

    def gradient(self, values: np.ndarray) -> np.ndarray:
        """(n_points, d) recovered gradient of a nodal field."""
        return np.column_stack([component @ values for component in self.components])

    def hessian(self, gradient: np.ndarray) -> np.ndarray:
        """(n_points, d, d) symmetrised recovered Hessian from a (recovered) nodal gradient."""
        raw = np.stack([np.column_stack([c @ gradient[:, j] for c in self.components]) for j in range(self.dim)], axis=2)
        return 0.5 * (raw + np.transpose(raw, (0, 2, 1)))

    def smooth(self, values: np.ndarray, passes: int = 1) -> np.ndarray:
        """Mass-weighted nodal averaging: each pass replaces u(p) by the mean of u over the patch of p."""
        for _ in range(passes):
            values = self.averaging @ values
        return values


#: Nodes whose values a quadratic is fitted to, around each node (the node itself included).
FIT_NEIGHBOURS = 12


class QuadraticFitRecovery:
    """Gradient and Hessian at each node from a least-squares quadratic through its nearest nodes.

    Around node p, u(x) ~ c0 + c . (x - p) + (x - p)^T C (x - p) / 2 is fitted to the
    values at the ``neighbours`` nearest nodes; then grad u(p) = c and H u(p) = C.
    This is exact for quadratics on any mesh, so the gradient is second-order and the
    Hessian first-order accurate also on irregular meshes, where the averaging of
    :class:`GradientRecovery` leaves O(h |H|) node-to-node noise in the gradient (and
    O(|H|) noise in a Hessian recovered from it): enough to fold cells when a mesh
    mover displaces nodes by the recovered gradient (Huang & Russell, "Adaptive Moving
    Mesh Methods", 2011, sec. 4.4.3, recover Hessians by such fits). The fit only
    depends on the node positions, so it is stored as sparse matrices.
    """

    def __init__(self, points: np.ndarray, neighbours: int = FIT_NEIGHBOURS) -> None:
        from scipy.spatial import cKDTree

        points = np.asarray(points, dtype=np.float64)
        if points.shape[1] != 2:
            raise ValueError("the quadratic fit recovery is written for planar meshes")
        n = len(points)
        k = min(neighbours, n)
        _, nearest = cKDTree(points).query(points, k=k)
        offsets = points[nearest] - points[:, None, :]  # (n, k, 2)
        scale = np.abs(offsets).max(axis=(1, 2))[:, None, None]  # local units keep the fit well conditioned
        dx, dy = np.moveaxis(offsets / scale, 2, 0)
        basis = np.stack([np.ones_like(dx), dx, dy, dx * dx / 2, dx * dy, dy * dy / 2], axis=2)  # (n, k, 6)
        fit = np.linalg.pinv(basis)  # (n, 6, k): coefficients = fit @ values
        rows, columns = np.repeat(np.arange(n), k), nearest.ravel()
        s = scale[:, 0, 0]
        divisors = {1: s, 2: s, 3: s**2, 4: s**2, 5: s**2}  # back from local units
        self._operators = {
            c: sp.csr_matrix(((fit[:, c, :] / divisors[c][:, None]).ravel(), (rows, columns)), shape=(n, n))
            for c in divisors
        }

    def gradient(self, values: np.ndarray) -> np.ndarray:
        """(n_points, 2) fitted gradient."""
        return np.column_stack([self._operators[1] @ values, self._operators[2] @ values])

    def hessian(self, values: np.ndarray) -> np.ndarray:
        """(n_points, 2, 2) fitted Hessian (symmetric by construction)."""
        xx, xy, yy = (self._operators[c] @ values for c in (3, 4, 5))
        return np.stack([np.stack([xx, xy], axis=1), np.stack([xy, yy], axis=1)], axis=1)
