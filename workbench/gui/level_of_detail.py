"""A light stand-in for a large planar mesh, drawn while a run streams frames.

Vertex clustering (Rossignac & Borrel, 1993): lay a uniform grid of about as many
bins as the stand-in should have points over the mesh's bounding box; in every
bin, the point farthest from the mesh's centre represents all the others (so bins
on the rim are represented by boundary points and the outline does not shrink);
a triangle survives if its three corners fall in three different bins, written
with their representatives, and duplicates are dropped.

In a view a few hundred pixels wide the difference is a few edge pixels
(tests/gui/test_level_of_detail.py); in software OpenGL a 1M-point mesh renders in
~200 ms and its 10k-point stand-in in ~50 ms (benchmarks/bench_gui.py).

Fields follow without interpolation: a point value of the stand-in is the value
at its representative point, a cell value that of the triangle it came from. Both
are single fancy-index gathers per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.mesh import CellBlock, Mesh

#: Meshes with more points than this get a stand-in.
STAND_IN_ABOVE_POINTS = 150_000
#: Points the stand-in aims for.
STAND_IN_POINTS = 10_000


@dataclass(frozen=True, eq=False)
class StandIn:
    """The coarse mesh, and where its values come from in the full mesh."""

    mesh: Mesh
    representatives: np.ndarray  # full-mesh point index of each stand-in point
    source_cells: np.ndarray  # full-mesh cell index of each stand-in triangle

    def gather(self, values: np.ndarray, location: str) -> np.ndarray:
        return values[self.representatives if location == "point" else self.source_cells]


def stand_in_for(mesh: Mesh, points: int = STAND_IN_POINTS) -> StandIn | None:
    """A clustered stand-in for a large planar triangle mesh; None where none is needed or possible."""
    if mesh.n_points <= STAND_IN_ABOVE_POINTS or mesh.gdim != 2 or [b.type for b in mesh.cells] != ["triangle"]:
        return None
    bins = _bin_of_each_point(mesh.points, points)
    outwardness = ((mesh.points - mesh.points.mean(axis=0)) ** 2).sum(axis=1)
    order = np.lexsort((-outwardness, bins))  # by bin, the outermost point first
    occupied, first, cluster_in_order = np.unique(bins[order], return_index=True, return_inverse=True)
    representatives = order[first]
    cluster_of_point = np.empty(mesh.n_points, dtype=np.int64)
    cluster_of_point[order] = cluster_in_order.reshape(-1)
    corners = cluster_of_point[mesh.cells[0].corners]
    distinct = (corners[:, 0] != corners[:, 1]) & (corners[:, 1] != corners[:, 2]) & (corners[:, 0] != corners[:, 2])
    kept = np.flatnonzero(distinct)
    key = np.sort(corners[kept], axis=1)
    _, first = np.unique(key[:, 0] * len(occupied) ** 2 + key[:, 1] * len(occupied) + key[:, 2], return_index=True)
    source_cells = kept[np.sort(first)]
    triangles = corners[source_cells]
    coarse = Mesh(mesh.points[representatives], (CellBlock("triangle", triangles, np.zeros(len(triangles))),), ())
    return StandIn(coarse, representatives, source_cells)


def _bin_of_each_point(points: np.ndarray, target: int) -> np.ndarray:
    lower, upper = points.min(axis=0), points.max(axis=0)
    extent = np.maximum(upper - lower, 1e-300)
    size = np.sqrt(extent[0] * extent[1] / target)  # square bins, ~target of them over the box
    counts = np.maximum(np.ceil(extent / size).astype(np.int64), 1)
    index = np.minimum(((points - lower) / size).astype(np.int64), counts - 1)
    return index[:, 1] * counts[0] + index[:, 0]
