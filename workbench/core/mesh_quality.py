"""The quality report of a moved mesh, computed by the host the same way for every mover.

Given the original triangle mesh (coordinates xi), the moved coordinates x (same
connectivity), a *reference* monitor fixed by the host (not the mover's own
settings) and the driving field as a reference, the report measures:

* inverted cells: triangles whose signed area changed sign (or vanished) against the
  original orientation;
* equidistribution: the coefficient of variation std/mean over cells of m|K|, with
  int_K m ~ |K| (m_0 + m_1 + m_2) / 3 (an equidistributed mesh has m|K| = const,
  Budd, Huang & Russell 2009, eq. 2.5);
* minimum angle (degrees) and maximum aspect ratio R / (2 r) (circumradius over twice
  the inradius: 1 for an equilateral triangle, infinite for a degenerate one);
* boundary drift: the largest distance of a moved boundary node from the original
  boundary polygon (0 when nodes only slide along it);
* interpolation error, the primary measure: the L2 norm of u - I_h u where I_h u is
  the P1 interpolant on the moved mesh of the driving field u, given either as a
  function of the points (integrated by a composite rule on each moved triangle,
  split into s^2 sub-triangles with the degree-2 edge-midpoint rule each) or as a
  field on a fine reference mesh (I_h u carried to the fine nodes by P1 transfer and
  the difference integrated exactly there, :func:`workbench.core.metrics.l2_norm`).
  A mesh that equidistributes but interpolates worse is worse.

The unmoved mesh gets the same report (x = xi), so rows of different movers and the
uniform baseline compare directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from .mesh import Mesh
from .metrics import l2_norm
from .transfer import PointLocator, interpolate


@dataclass(frozen=True)
class FineReference:
    """The driving field on a finer mesh of the same domain (when no formula for it exists)."""

    mesh: Mesh
    values: np.ndarray


Reference = Callable[[np.ndarray], np.ndarray] | FineReference


@dataclass(frozen=True)
class QualityReport:
    """One row of the movers' comparison table; see the module docstring for each measure."""

    mover: str
    points: int
    cells: int
    inverted_cells: int
    equidistribution_cov: float
    min_angle_deg: float
    max_aspect_ratio: float
    boundary_drift: float
    interpolation_error: float | None
    iterations: int
    wall_time_s: float
    note: str = ""

    def describe(self) -> dict:
        return asdict(self)


# -- per-cell geometry ------------------------------------------------------------------------


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Signed area of each triangle, positive when its corners run counter-clockwise."""
    a, b, c = (points[triangles[:, i]] for i in range(3))
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def inverted_cells(original: np.ndarray, moved: np.ndarray, triangles: np.ndarray) -> int:
    """Triangles whose orientation flipped or collapsed between ``original`` and ``moved`` coordinates."""
    orientation = np.sign(signed_areas(original, triangles))
    return int(np.count_nonzero(orientation * signed_areas(moved, triangles) <= 0.0))


def _edge_lengths(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(n, 3) lengths of the edges opposite corners 0, 1, 2."""
    corners = points[triangles]
    return np.stack([np.linalg.norm(corners[:, (i + 2) % 3] - corners[:, (i + 1) % 3], axis=1) for i in range(3)],
                    axis=1)


def min_angle_degrees(points: np.ndarray, triangles: np.ndarray) -> float:
    """Smallest interior angle over all triangles, by the law of cosines on the edge lengths."""
    lengths = _edge_lengths(points, triangles)
    a, b, c = lengths[:, 0], lengths[:, 1], lengths[:, 2]
    angles = []
    for opposite, side1, side2 in ((a, b, c), (b, c, a), (c, a, b)):
        with np.errstate(divide="ignore", invalid="ignore"):
            cosine = (side1**2 + side2**2 - opposite**2) / (2.0 * side1 * side2)
        angles.append(np.degrees(np.arccos(np.clip(np.nan_to_num(cosine, nan=1.0), -1.0, 1.0))))
    return float(np.min(angles))


def aspect_ratios(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """R / (2 r) per triangle: with sides a, b, c, area A, semi-perimeter s,
    R = abc / (4A) and r = A / s, so R / (2r) = abc s / (8 A^2); infinite when A = 0."""
    lengths = _edge_lengths(points, triangles)
    area = np.abs(signed_areas(points, triangles))
    semi = lengths.sum(axis=1) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(area > 0.0, lengths.prod(axis=1) * semi / (8.0 * area**2), np.inf)


def equidistribution_cov(points: np.ndarray, triangles: np.ndarray, monitor_at_points: np.ndarray) -> float:
    """Coefficient of variation of m|K| over cells (0 for a perfectly equidistributed mesh)."""
    mass = np.abs(signed_areas(points, triangles)) * monitor_at_points[triangles].mean(axis=1)
    mean = mass.mean()
    return float(mass.std() / mean) if mean > 0 else float("nan")


def boundary_drift(original: Mesh, moved: np.ndarray) -> float:
    """Largest distance of a moved boundary node from the original boundary (a polygon of segments)."""
    segments = original.boundary_facets()
    if segments.shape[1] != 2 or not len(segments):
        return 0.0
    nodes = np.unique(segments)
    start, end = original.points[segments[:, 0]], original.points[segments[:, 1]]
    direction = end - start
    length2 = np.maximum((direction**2).sum(axis=1), 1e-300)
    worst = 0.0
    for chunk in np.array_split(nodes, max(1, len(nodes) * len(segments) // 2_000_000 + 1)):
        p = moved[chunk][:, None, :]  # (m, 1, 2) against (1, s, 2)
        t = np.clip(((p - start[None]) * direction[None]).sum(axis=2) / length2[None], 0.0, 1.0)
        nearest = start[None] + t[:, :, None] * direction[None]
        worst = max(worst, float(np.sqrt(((p - nearest) ** 2).sum(axis=2).min(axis=1)).max(initial=0.0)))
    return worst


# -- interpolation error ------------------------------------------------------------------------


def composite_rule(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric points (q, 3) and weights (q,) summing to 1: the triangle split into s^2 congruent
    sub-triangles, each integrated by its three edge midpoints (exact for quadratics)."""
    s = subdivisions
    vertices, triangles = {}, []
    for i in range(s + 1):
        for j in range(s + 1 - i):
            vertices[(i, j)] = np.array([s - i - j, i, j], dtype=float) / s
    for i in range(s):
        for j in range(s - i):
            triangles.append(((i, j), (i + 1, j), (i, j + 1)))
            if i + j < s - 1:
                triangles.append(((i + 1, j), (i + 1, j + 1), (i, j + 1)))
    points = [(vertices[a] + vertices[b]) / 2 for tri in triangles for a, b in ((tri[0], tri[1]), (tri[1], tri[2]),
                                                                               (tri[2], tri[0]))]
    return np.array(points), np.full(len(points), 1.0 / len(points))


def interpolation_error(original: Mesh, moved: np.ndarray, reference: Reference, subdivisions: int = 4) -> float:
    """L2 error of the P1 interpolant of the reference on the moved mesh (see the module docstring)."""
    triangles = original.simplices
    if isinstance(reference, FineReference):
        nodal = interpolate(PointLocator.for_mesh(reference.mesh).locate(moved), reference.mesh.simplices,
                            reference.values)
        on_fine = interpolate(PointLocator(moved, triangles).locate(reference.mesh.points), triangles, nodal)
        return l2_norm(reference.mesh, on_fine - reference.values)
    nodal = np.asarray(reference(moved), dtype=np.float64)
    bary, weights = composite_rule(subdivisions)
    areas = np.abs(signed_areas(moved, triangles))
    total = 0.0
    for chunk in np.array_split(np.arange(len(triangles)), max(1, len(triangles) * len(bary) // 1_000_000)):
        corners = moved[triangles[chunk]]  # (c, 3, 2)
        quadrature_points = np.einsum("qi,cid->cqd", bary, corners).reshape(-1, 2)
        exact = np.asarray(reference(quadrature_points), dtype=np.float64).reshape(len(chunk), len(bary))
        interpolant = np.einsum("qi,ci->cq", bary, nodal[triangles[chunk]])  # einsum: no BLAS threads
        total += float(np.einsum("c,cq,q->", areas[chunk], (interpolant - exact) ** 2, weights))
    return float(np.sqrt(total))


# -- the report --------------------------------------------------------------------------------


def quality_report(
    original: Mesh,
    moved: np.ndarray,
    reference_monitor: Callable[[np.ndarray], np.ndarray],
    reference: Reference | None = None,
    *,
    mover: str = "uniform",
    iterations: int = 0,
    wall_time_s: float = 0.0,
    note: str = "",
    subdivisions: int = 4,
) -> QualityReport:
    """Every measure of the module docstring for ``moved`` coordinates of ``original``'s nodes.

    ``reference_monitor`` is the host's fixed monitor m(points); ``reference`` the driving
    field as a function of points or a :class:`FineReference` (None: no interpolation error).
    """
    moved = np.asarray(moved, dtype=np.float64)
    triangles = original.simplices
    if triangles.shape[1] != 3 or original.gdim != 2:
        raise ValueError("the mesh quality report is defined for planar triangle (or quad) meshes")
    return QualityReport(
        mover=mover,
        points=original.n_points,
        cells=len(triangles),
        inverted_cells=inverted_cells(original.points, moved, triangles),
        equidistribution_cov=equidistribution_cov(moved, triangles, reference_monitor(moved)),
        min_angle_deg=min_angle_degrees(moved, triangles),
        max_aspect_ratio=float(aspect_ratios(moved, triangles).max()),
        boundary_drift=boundary_drift(original, moved),
        interpolation_error=None if reference is None else interpolation_error(original, moved, reference, subdivisions),
        iterations=int(iterations),
        wall_time_s=float(wall_time_s),
        note=note,
    )
