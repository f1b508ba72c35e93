"""P1 transfer of point fields from one simplex mesh to arbitrary points (another mesh's nodes).

A point field on a mesh is read as its P1 interpolant: inside a simplex K with corners
x_0..x_d, u(p) = sum_i lambda_i(p) u_i, where the barycentric coordinates solve

    p = x_0 + T (lambda_1, ..., lambda_d)^T,   T = [x_1 - x_0, ..., x_d - x_0],   lambda_0 = 1 - sum_{i>0} lambda_i.

Transferring a field to target points therefore means *locating* each target in a
simplex and taking its barycentric weights. :class:`PointLocator` does it by a
vectorised walk: every target starts in a guess simplex (a hint, such as where the
same node was found one mover iteration ago, or the simplex with the nearest
centroid) and steps across the facet opposite its most negative coordinate until
all coordinates are >= 0. Walks that leave the mesh (non-convex domains, holes) or
take too long fall back to testing the simplices with the k nearest centroids.

Targets outside the source mesh, typically a moved boundary node off by roundoff,
are *snapped*: their negative coordinates are clipped to 0 and the rest rescaled,
which puts them on the nearest face of the best candidate simplex, so transfer
never extrapolates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from .mesh import Mesh

#: Barycentric coordinates down to -INSIDE_TOLERANCE count as inside (points on edges and vertices).
INSIDE_TOLERANCE = 1e-10
#: Walk steps before the nearest-centroid fallback takes over.
MAX_WALK_STEPS = 64
#: Candidate simplices tested per point by the fallback, first and second round.
FALLBACK_CANDIDATES = (16, 64)


@dataclass(frozen=True, eq=False)
class Location:
    """Where target points lie: a simplex each, its barycentric weights, and who was snapped.

    simplices: (n,) simplex indices; weights: (n, d + 1) barycentric coordinates
    (>= 0, summing to 1); snapped: (n,) True for targets outside the source mesh.
    """

    simplices: np.ndarray
    weights: np.ndarray
    snapped: np.ndarray


class PointLocator:
    """Locates points in the simplices of a full-dimensional simplex mesh (triangles in 2D, tetrahedra in 3D)."""

    def __init__(self, points: np.ndarray, simplices: np.ndarray) -> None:
        self.points = np.asarray(points, dtype=np.float64)
        self.simplices = np.asarray(simplices, dtype=np.int64)
        d = self.points.shape[1]
        if self.simplices.shape[1] != d + 1:
            raise ValueError(f"P1 transfer needs {d}-simplices in {d}D, got cells of {self.simplices.shape[1]} corners")
        corners = self.points[self.simplices]  # (n, d + 1, d)
        self._origin = [np.ascontiguousarray(corners[:, 0, axis]) for axis in range(d)]
        inverse = np.linalg.inv(np.transpose(corners[:, 1:, :] - corners[:, :1, :], (0, 2, 1)))
        # Entry (i, j) of every inverse as its own contiguous array: gathering them by simplex is cheap.
        self._inverse = [[np.ascontiguousarray(inverse[:, i, j]) for j in range(d)] for i in range(d)]
        self._centroids = corners.mean(axis=1)
        self.neighbours = simplex_neighbours(self.simplices, len(self.points))
        self._tree: cKDTree | None = None

    @classmethod
    def for_mesh(cls, mesh: Mesh) -> PointLocator:
        return cls(mesh.points, mesh.simplices)

    def barycentric(self, simplices: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(n, d + 1) barycentric coordinates of targets[k] in simplices[k] (any sign)."""
        d = len(self._origin)
        offsets = [targets[:, j] - self._origin[j][simplices] for j in range(d)]
        lam = np.empty((len(simplices), d + 1))
        for i in range(d):
            lam[:, i + 1] = sum(self._inverse[i][j][simplices] * offsets[j] for j in range(d))
        lam[:, 0] = 1.0 - lam[:, 1:].sum(axis=1)
        return lam

    def locate(self, targets: np.ndarray, hint: np.ndarray | None = None) -> Location:
        """The simplex and barycentric weights of every target; ``hint`` is a starting simplex per target."""
        targets = np.asarray(targets, dtype=np.float64)
        n, width = len(targets), self.simplices.shape[1]
        simplices = np.full(n, -1, dtype=np.int64)
        weights = np.zeros((n, width))
        start = self._nearest(targets, 1)[:, 0] if hint is None else np.asarray(hint, dtype=np.int64).copy()
        lost = self._walk(targets, start, simplices, weights)
        for k in FALLBACK_CANDIDATES:
            if not lost.size:
                break
            lost = self._search(targets, lost, k, simplices, weights)
        snapped = np.zeros(n, dtype=bool)
        if lost.size:
            self._snap(targets, lost, simplices, weights)
            snapped[lost] = True
        return Location(simplices, weights, snapped)

    def _nearest(self, targets: np.ndarray, k: int) -> np.ndarray:
        if self._tree is None:
            self._tree = cKDTree(self._centroids)
        k = min(k, len(self._centroids))
        _, nearest = self._tree.query(targets, k=k)
        return np.asarray(nearest, dtype=np.int64).reshape(len(targets), k)

    def _walk(self, targets, current, simplices, weights) -> np.ndarray:
        """Step each target toward its simplex; returns the targets the walk could not place."""
        active = np.arange(len(targets))
        current = current.copy()
        stranded = []
        for _ in range(MAX_WALK_STEPS):
            if not active.size:
                break
            lam = self.barycentric(current[active], targets[active])
            inside = lam.min(axis=1) >= -INSIDE_TOLERANCE
            placed = active[inside]
            simplices[placed], weights[placed] = current[placed], lam[inside]
            active, lam = active[~inside], lam[~inside]
            following = self.neighbours[current[active], lam.argmin(axis=1)]
            at_boundary = following < 0  # the walk would leave the mesh: a hole, a re-entrant corner or outside
            stranded.append(active[at_boundary])
            current[active[~at_boundary]] = following[~at_boundary]
            active = active[~at_boundary]
        return np.concatenate(stranded + [active])

    def _search(self, targets, lost, k, simplices, weights) -> np.ndarray:
        """Test the k simplices with the nearest centroids; returns the targets still not placed."""
        candidates = self._nearest(targets[lost], k)  # (m, k)
        lam = self.barycentric(candidates.ravel(), np.repeat(targets[lost], candidates.shape[1], axis=0))
        lam = lam.reshape(len(lost), candidates.shape[1], -1)
        inside = lam.min(axis=2) >= -INSIDE_TOLERANCE
        found = inside.any(axis=1)
        first = inside.argmax(axis=1)
        rows = np.flatnonzero(found)
        simplices[lost[rows]] = candidates[rows, first[rows]]
        weights[lost[rows]] = lam[rows, first[rows]]
        return lost[~found]

    def _snap(self, targets, lost, simplices, weights) -> None:
        """Clip negative coordinates in each candidate; keep the candidate whose clipped point is nearest."""
        candidates = self._nearest(targets[lost], FALLBACK_CANDIDATES[0])
        m, k = candidates.shape
        lam = self.barycentric(candidates.ravel(), np.repeat(targets[lost], k, axis=0))
        clipped = np.clip(lam, 0.0, None)
        clipped /= clipped.sum(axis=1, keepdims=True)
        projected = np.einsum("ni,nid->nd", clipped, self.points[self.simplices[candidates.ravel()]])
        distance = np.linalg.norm(projected - np.repeat(targets[lost], k, axis=0), axis=1).reshape(m, k)
        best = distance.argmin(axis=1)
        simplices[lost] = candidates[np.arange(m), best]
        weights[lost] = clipped.reshape(m, k, -1)[np.arange(m), best]


def simplex_neighbours(simplices: np.ndarray, n_points: int) -> np.ndarray:
    """(n, d + 1): the simplex across the facet opposite each corner, -1 on the boundary."""
    n, width = simplices.shape
    facets = np.stack([np.delete(simplices, corner, axis=1) for corner in range(width)], axis=1)  # (n, w, d)
    keys = np.zeros((n, width), dtype=np.int64)
    for column in range(width - 1):  # pack the sorted facet corners into one integer key
        keys = keys * n_points + np.sort(facets, axis=2)[:, :, column]
    flat = keys.ravel()
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    pairs = np.flatnonzero(ordered[1:] == ordered[:-1])  # interior facets appear exactly twice
    neighbours = np.full(n * width, -1, dtype=np.int64)
    first, second = order[pairs], order[pairs + 1]
    neighbours[first], neighbours[second] = second // width, first // width
    return neighbours.reshape(n, width)


def interpolate(location: Location, source_simplices: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values of the P1 interpolant at located targets (scalar (n,) or vector (n, c) fields)."""
    values = np.asarray(values, dtype=np.float64)
    corners = values[source_simplices[location.simplices]]  # (m, d + 1[, c])
    if values.ndim == 1:
        return np.einsum("mi,mi->m", location.weights, corners)
    return np.einsum("mi,mic->mc", location.weights, corners)


def transfer(source: Mesh, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The P1 interpolant of a point field on ``source`` evaluated at ``targets`` (n, d)."""
    location = PointLocator.for_mesh(source).locate(targets)
    return interpolate(location, source.simplices, values)


def interpolation_matrix(source: Mesh, targets: np.ndarray) -> sp.csr_matrix:
    """Sparse (n_targets, n_source_points) matrix A with A @ u = the P1 interpolant of u at the targets.

    Worth building when many fields move between the same two meshes (a whole trajectory).
    """
    location = PointLocator.for_mesh(source).locate(targets)
    rows = np.repeat(np.arange(len(targets)), location.weights.shape[1])
    columns = source.simplices[location.simplices].ravel()
    return sp.csr_matrix((location.weights.ravel(), (rows, columns)), shape=(len(targets), source.n_points))
