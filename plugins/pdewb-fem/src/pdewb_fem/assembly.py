"""Vectorised assembly of P1 (piecewise linear) finite-element matrices on simplices.

On a k-simplex K with corners x_0..x_k the P1 basis functions are the barycentric
coordinates lambda_0..lambda_k. Everything here is computed for all simplices at
once with numpy; there is no Python loop over elements.

* stiffness  K_ij = sum_K int_K c grad(phi_i) . grad(phi_j) dx
             = sum_K c_K |K| grad(lambda_i) . grad(lambda_j)       (gradients are constant on K)
* mass       M_ij = sum_K int_K phi_i phi_j dx
             = sum_K |K| (1 + delta_ij) / ((k + 1)(k + 2))
* load       b_i  = sum_K int_K (I_h f) phi_i dx = (M f_h)_i,  f_h = nodal values of f

The load uses the P1 interpolant of f, which keeps the O(h^2) L2 accuracy of P1
elements for smooth f. The same element-mass formula on boundary facets (k - 1
simplices) gives Neumann loads.

Matrices are written straight into CSR arrays: :class:`SparsityPattern` computes,
once per mesh, the CSR structure and the data slot of every local entry, so each
matrix is a single ``np.bincount`` of its element matrices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from workbench.core.errors import ParamError
from workbench.core.geometry import simplex_measures
from workbench.core.mesh import Mesh

__all__ = [
    "SimplexGeometry", "SparsityPattern", "load_vector", "mass_matrix", "reference_mass", "require_simplices",
    "simplex_geometry", "stiffness_matrix",
]


def require_simplices(mesh: Mesh, solver_id: str) -> None:
    """P1 elements here are defined on simplices only; say so in one line otherwise."""
    if mesh.is_simplicial:
        return
    others = sorted({b.type for b in mesh.cells if not b.kind.is_simplex})
    raise ParamError(
        f"{solver_id} needs triangles or tetrahedra (or lines in 1D); this mesh has {', '.join(others)} cells"
    )


# -- geometry ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SimplexGeometry:
    """Per-simplex quantities of a P1 discretisation, stored component-major.

    corners: (k + 1, n) corner indices (the transposed simplex array);
    measures: (n,) |K|; gradients: (k + 1, d, n) grad(lambda_i), constant on each simplex.
    The element axis comes last so every arithmetic step runs over long contiguous rows.
    """

    corners: np.ndarray
    measures: np.ndarray
    gradients: np.ndarray

    @property
    def nodes_per_simplex(self) -> int:
        return self.corners.shape[0]


def simplex_geometry(points: np.ndarray, simplices: np.ndarray) -> SimplexGeometry:
    """Measures and barycentric gradients of every simplex, from its edge matrix.

    With edges e_j = x_j - x_0 (the rows of E, j = 1..k), x = x_0 + sum_j lambda_j e_j,
    so the gradients grad(lambda_j) are the rows of the pseudo-inverse G = (E E^T)^{-1} E
    (the inverse transpose of E when k = d), and grad(lambda_0) = -sum_j grad(lambda_j)
    because the lambdas sum to one. Full-dimensional 2D and 3D simplices use closed
    forms (:func:`_gradients_2d`, :func:`_gradients_3d`) instead of batched LAPACK calls.
    """
    corners = np.ascontiguousarray(np.asarray(simplices, dtype=np.int64).T)
    k, d = corners.shape[0] - 1, points.shape[1]
    coordinates = np.stack([np.asarray(points[:, axis], dtype=np.float64)[corners] for axis in range(d)])
    edges = coordinates[:, 1:, :] - coordinates[:, :1, :]  # (d, k, n): edges[:, j - 1] = x_j - x_0
    if k == d == 2:
        measures, tail = _gradients_2d(edges)
    elif k == d == 3:
        measures, tail = _gradients_3d(edges)
    else:
        measures, tail = _gradients_general(edges)
    gradients = np.concatenate([-tail.sum(axis=0, keepdims=True), tail], axis=0)
    return SimplexGeometry(corners, measures, gradients)


def _gradients_2d(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """grad(lambda_1) = perp(e_2) / det, grad(lambda_2) = -perp(e_1) / det, perp(a, b) = (b, -a).

    Each gradient is orthogonal to the other edge and satisfies e_j . grad(lambda_j) = 1.
    """
    (ax, bx), (ay, by) = edges  # e_1 = (ax, ay), e_2 = (bx, by)
    det = ax * by - ay * bx
    inverse = 1.0 / det
    tail = np.stack([np.stack([by, -bx]), np.stack([-ay, ax])]) * inverse
    return np.abs(det) / 2.0, tail


def _gradients_3d(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """grad(lambda_1), grad(lambda_2), grad(lambda_3) = (e_2 x e_3, e_3 x e_1, e_1 x e_2) / det."""
    e1, e2, e3 = edges[:, 0], edges[:, 1], edges[:, 2]
    tail = np.stack([_cross(e2, e3), _cross(e3, e1), _cross(e1, e2)])  # (3, 3, n)
    det = (e1 * tail[0]).sum(axis=0)
    tail /= det
    return np.abs(det) / 6.0, tail


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of (3, n) arrays of vectors."""
    return np.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _gradients_general(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Any k-simplex in R^d, k <= d (lines, or surfaces embedded in space), via the Gram matrix E E^T."""
    k = edges.shape[1]
    rows = edges.transpose(2, 1, 0)  # (n, k, d)
    gram = np.einsum("nid,njd->nij", rows, rows)
    measures = np.sqrt(np.clip(np.linalg.det(gram), 0.0, None)) / math.factorial(k)
    return measures, np.linalg.solve(gram, rows).transpose(1, 2, 0)


# -- sparsity ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SparsityPattern:
    """CSR structure of P1 matrices on a mesh, and where each element entry goes.

    ``slots[i, j, e]`` is the index into the CSR data array of the entry
    (corner i, corner j) of simplex e, so assembling is one scatter-add,
    ``data = bincount(slots, element_matrices)``. Column indices are sorted within rows.
    """

    n: int
    indptr: np.ndarray
    indices: np.ndarray
    slots: np.ndarray

    @property
    def nnz(self) -> int:
        return len(self.indices)

    @classmethod
    def from_simplices(cls, simplices: np.ndarray, n_points: int) -> SparsityPattern:
        """Build the pattern from the mesh edges.

        Off-diagonal nonzeros are the edges of the mesh. Row r of the CSR matrix holds
        its lower neighbours (edges (c, r), c < r), then r itself, then its upper
        neighbours (edges (r, c), c > r), so each entry's position follows from
        counting: only the n k(k + 1)/2 local edges are sorted (to number them), never
        all n (k + 1)^2 entries as a COO to CSR conversion would.
        """
        corners = np.ascontiguousarray(np.asarray(simplices, dtype=np.int64).T)
        local_edges = _local_edges(len(corners))
        edge_of_local, low, high = _number_edges(corners, local_edges, n_points)
        n_lower = np.bincount(high, minlength=n_points)
        n_upper = np.bincount(low, minlength=n_points)
        indptr = np.zeros(n_points + 1, dtype=np.int64)
        np.cumsum(n_lower + n_upper + 1, out=indptr[1:])
        diagonal = indptr[:-1] + n_lower
        upper = _upper_positions(low, n_upper, diagonal)
        lower = _lower_positions(low, high, n_lower, indptr)
        indices = np.empty(indptr[-1], dtype=np.int64)
        indices[diagonal], indices[upper], indices[lower] = np.arange(n_points), high, low
        slots = _slots(corners, local_edges, edge_of_local, diagonal, upper, lower)
        return cls(n_points, indptr, indices, slots)

    def assemble(self, local: np.ndarray) -> sp.csr_matrix:
        """Sum element matrices, given as (k + 1, k + 1, n), into an (n_points, n_points) CSR matrix."""
        data = np.bincount(self.slots.ravel(), weights=local.ravel(), minlength=self.nnz)
        return self.matrix(data)

    def matrix(self, data: np.ndarray) -> sp.csr_matrix:
        """A CSR matrix with this pattern; scipy is told the indices are canonical so it never re-sorts."""
        matrix = sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n, self.n), copy=False)
        matrix.has_sorted_indices = True
        matrix.has_canonical_format = True
        return matrix


def _local_edges(nodes: int) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of local corner numbers: the edges of one simplex."""
    return [(i, j) for i in range(nodes) for j in range(i + 1, nodes)]


def _number_edges(corners: np.ndarray, local_edges, n_points: int):
    """Number the mesh edges.

    Returns the global edge of every local edge, (n_local_edges, n), and the two
    ends (low < high) of every edge, with edges sorted by (low, high).
    """
    first = corners[[i for i, _ in local_edges]]
    second = corners[[j for _, j in local_edges]]
    keys = np.minimum(first, second)
    keys *= n_points
    keys += np.maximum(first, second)
    keys = keys.ravel()
    order = np.argsort(keys)
    sorted_keys = keys[order]
    is_new = np.empty(len(keys), dtype=bool)
    is_new[:1] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=is_new[1:])
    edge_of_local = np.empty(len(keys), dtype=np.int64)
    edge_of_local[order] = np.cumsum(is_new) - 1
    low, high = np.divmod(sorted_keys[is_new], n_points)
    return edge_of_local.reshape(first.shape), low, high


def _upper_positions(low: np.ndarray, n_upper: np.ndarray, diagonal: np.ndarray) -> np.ndarray:
    """CSR position of entry (low, high): edges sorted by (low, high) are in row order already."""
    first_of_row = np.cumsum(n_upper) - n_upper
    rank_in_row = np.arange(len(low)) - first_of_row[low]
    return diagonal[low] + 1 + rank_in_row


def _lower_positions(low: np.ndarray, high: np.ndarray, n_lower: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """CSR position of entry (high, low), the transposed edge.

    Lower entries of a row must come ordered by column: that is the edges grouped by
    high and sorted by low, i.e. the transpose of the upper triangle. scipy's CSR to
    CSC conversion is a linear-time counting sort, so it carries edge numbers through it.
    """
    n_points, n_edges = len(n_lower), len(low)
    upper_indptr = np.concatenate([[0], np.cumsum(np.bincount(low, minlength=n_points))])
    upper = sp.csr_matrix((np.arange(n_edges, dtype=np.float64), high, upper_indptr), shape=(n_points, n_points))
    by_column = upper.tocsc()  # column = high, rows (= low) ascending, data = edge numbers
    edges = by_column.data.astype(np.int64)
    rows = np.repeat(np.arange(n_points), n_lower)
    positions = np.empty(n_edges, dtype=np.int64)
    positions[edges] = indptr[rows] + np.arange(n_edges) - by_column.indptr[rows]
    return positions


def _slots(corners, local_edges, edge_of_local, diagonal, upper, lower) -> np.ndarray:
    nodes, n = corners.shape
    n_edges = len(upper)
    positions = np.concatenate([upper, lower])  # edge e: upper entry at [e], lower entry at [n_edges + e]
    slots = np.empty((nodes, nodes, n), dtype=np.int64)
    for i in range(nodes):  # loops run over the (k + 1)^2 local entries, never over elements
        slots[i, i] = diagonal[corners[i]]
    for column, (i, j) in enumerate(local_edges):
        edge = edge_of_local[column]
        i_is_high = corners[i] > corners[j]
        slots[i, j] = positions[edge + n_edges * i_is_high]
        slots[j, i] = positions[edge + n_edges * ~i_is_high]
    return slots


# -- matrices and vectors -----------------------------------------------------------------


def stiffness_matrix(geometry: SimplexGeometry, pattern: SparsityPattern, conductivity=1.0) -> sp.csr_matrix:
    """K_ij = sum_K c_K |K| grad(lambda_i) . grad(lambda_j); ``conductivity`` is a number or one per simplex."""
    weights = np.asarray(conductivity, dtype=np.float64) * geometry.measures
    grads = geometry.gradients
    nodes = geometry.nodes_per_simplex
    local = np.empty((nodes, nodes, len(weights)))
    for i in range(nodes):  # symmetric: compute the upper triangle, mirror it
        for j in range(i, nodes):
            np.multiply(np.einsum("dn,dn->n", grads[i], grads[j]), weights, out=local[i, j])
            if j != i:
                local[j, i] = local[i, j]
    return pattern.assemble(local)


def reference_mass(nodes: int) -> np.ndarray:
    """P1 element mass matrix divided by |K|: (1 + delta_ij) / ((k + 1)(k + 2)) with k + 1 = nodes."""
    return (np.ones((nodes, nodes)) + np.eye(nodes)) / (nodes * (nodes + 1))


def mass_matrix(geometry: SimplexGeometry, pattern: SparsityPattern) -> sp.csr_matrix:
    """Consistent mass M_ij = sum_K |K| (1 + delta_ij) / ((k + 1)(k + 2))."""
    reference = reference_mass(geometry.nodes_per_simplex)
    return pattern.assemble(reference[:, :, None] * geometry.measures[None, None, :])


def load_vector(points: np.ndarray, simplices: np.ndarray, nodal: np.ndarray, measures: np.ndarray | None = None):
    """b_i = int (I_h f) phi_i dx over the given simplices (n, k + 1), without forming a matrix.

    On a k-simplex, (M_K f)_i = |K| (f_i + sum_j f_j) / ((k + 1)(k + 2)). Pass the
    domain simplices for a source term, or boundary facets (one dimension lower) for
    a Neumann flux int_Gamma g phi_i ds. ``measures`` may be given if already known.
    """
    simplices = np.asarray(simplices, dtype=np.int64)
    if len(simplices) == 0:
        return np.zeros(len(points))
    if measures is None:
        measures = simplex_measures(points, simplices)
    nodes = simplices.shape[1]
    values = nodal[simplices]
    local = (values + values.sum(axis=1, keepdims=True)) * (measures / (nodes * (nodes + 1)))[:, None]
    return np.bincount(simplices.ravel(), weights=local.ravel(), minlength=len(points))
