"""Structured meshes of intervals, rectangles and boxes, with named sides.

Used by tests, benchmarks and the sample-data plugin; users bring their own meshes.
Sides are tagged ``left``/``right`` (x), ``bottom``/``top`` (y) and, in 3D,
``front``/``back`` (z).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .mesh import CellBlock, Mesh

SIDES = (("left", 0, 0), ("right", 0, 1), ("bottom", 1, 0), ("top", 1, 1), ("front", 2, 0), ("back", 2, 1))


def interval_mesh(n: int, a: float = 0.0, b: float = 1.0) -> Mesh:
    points = np.linspace(a, b, n + 1)[:, None]
    lines = np.column_stack([np.arange(n), np.arange(1, n + 1)])
    return label_sides(Mesh.build(points, [("line", lines)]))


def rectangle_mesh(nx: int, ny: int | None = None, x=(0.0, 1.0), y=(0.0, 1.0)) -> Mesh:
    """(nx x ny) squares, each cut into two triangles along the same diagonal."""
    ny = nx if ny is None else ny
    xs, ys = np.linspace(*x, nx + 1), np.linspace(*y, ny + 1)
    points = np.column_stack([np.tile(xs, ny + 1), np.repeat(ys, nx + 1)])
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy")
    lower_left = (j * (nx + 1) + i).ravel()
    lower_right, upper_left = lower_left + 1, lower_left + nx + 1
    upper_right = upper_left + 1
    triangles = np.concatenate(
        [np.column_stack([lower_left, lower_right, upper_right]), np.column_stack([lower_left, upper_right, upper_left])]
    )
    return label_sides(Mesh.build(points, [("triangle", triangles)]))


def box_mesh(nx: int, ny: int | None = None, nz: int | None = None, bounds=((0.0, 1.0),) * 3) -> Mesh:
    """(nx x ny x nz) hexahedra, each cut into six tetrahedra around its main diagonal."""
    ny = nx if ny is None else ny
    nz = nx if nz is None else nz
    axes = [np.linspace(lo, hi, n + 1) for (lo, hi), n in zip(bounds, (nx, ny, nz))]
    gx, gy, gz = np.meshgrid(*axes, indexing="ij")
    points = np.column_stack([gx.ravel(), gy.ravel(), gz.ravel()])

    def node(i, j, k):
        return (i * (ny + 1) + j) * (nz + 1) + k

    i, j, k = (a.ravel() for a in np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij"))
    hexes = np.column_stack(
        [node(i, j, k), node(i + 1, j, k), node(i + 1, j + 1, k), node(i, j + 1, k),
         node(i, j, k + 1), node(i + 1, j, k + 1), node(i + 1, j + 1, k + 1), node(i, j + 1, k + 1)]
    )
    split = CellBlock("hexahedron", hexes, np.zeros(len(hexes))).kind.simplices
    tetrahedra = np.concatenate([hexes[:, list(s)] for s in split])
    return label_sides(Mesh.build(points, [("tetra", tetrahedra)]))


def label_sides(mesh: Mesh, tolerance: float = 1e-12) -> Mesh:
    """Tag the boundary facets lying on each side of the mesh's bounding box."""
    lower, upper = mesh.points.min(axis=0), mesh.points.max(axis=0)
    selectors = {}
    for name, axis, end in SIDES:
        if axis < mesh.gdim:
            target = (lower, upper)[end][axis]
            selectors[name] = lambda c, axis=axis, target=target: np.abs(c[:, axis] - target) <= tolerance
    return label_boundary(mesh, selectors)


def label_boundary(mesh: Mesh, selectors: Mapping[str, Callable[[np.ndarray], np.ndarray]]) -> Mesh:
    """A copy of ``mesh`` whose boundary facets are tagged by predicates on their centroids.

    Tags are numbered 1, 2, ... in the order given; a facet matched by several
    selectors keeps the first. Existing boundary tags are replaced.
    """
    names = {name: (tag, mesh.dim - 1) for tag, name in enumerate(selectors, start=1)}
    blocks = []
    for block in mesh.boundary:
        centroids = mesh.points[block.corners].mean(axis=1)
        tags = np.zeros(len(block), dtype=np.int64)
        for name, select in reversed(list(selectors.items())):
            tags[np.asarray(select(centroids), dtype=bool)] = names[name][0]
        blocks.append(CellBlock(block.type, block.connectivity, tags))
    regions = {n: v for n, v in mesh.physical_names.items() if v[1] != mesh.dim - 1}
    return Mesh(mesh.points, mesh.cells, tuple(blocks), {**regions, **names}, mesh.point_data, mesh.source)
