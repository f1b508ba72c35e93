"""P1 transfer between meshes: point location by walking, barycentric weights, snapping outside points."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import Delaunay

from workbench.core.mesh import Mesh
from workbench.core.meshgen import rectangle_mesh
from workbench.core.transfer import PointLocator, interpolate, interpolation_matrix, simplex_neighbours, transfer


def jittered_mesh(n: int = 12, seed: int = 3) -> Mesh:
    rng = np.random.default_rng(seed)
    xs = np.linspace(0.0, 1.0, n + 1)
    points = np.column_stack([np.tile(xs, n + 1), np.repeat(xs, n + 1)])
    inside = (points > 0).all(axis=1) & (points < 1).all(axis=1)
    points[inside] += rng.uniform(-0.3, 0.3, (inside.sum(), 2)) / n
    return Mesh.build(points, [("triangle", Delaunay(points).simplices)])


def l_shaped_mesh(n: int = 8) -> Mesh:
    """[0, 2]^2 without its upper-right quarter: a re-entrant corner that walks must get around."""
    square = rectangle_mesh(2 * n, 2 * n, x=(0.0, 2.0), y=(0.0, 2.0))
    keep = ~(square.points[square.simplices].mean(axis=1) > 1.0).all(axis=1)
    return Mesh.build(square.points, [("triangle", square.simplices[keep])])


def linear(points: np.ndarray) -> np.ndarray:
    return 1.5 + 2.0 * points[:, 0] - 3.0 * points[:, 1]


@pytest.mark.parametrize("mesh", [rectangle_mesh(9), jittered_mesh()], ids=["grid", "delaunay"])
def test_linear_fields_are_transferred_exactly(mesh):
    targets = np.random.default_rng(0).uniform(0.0, 1.0, (500, 2))
    assert np.allclose(transfer(mesh, linear(mesh.points), targets), linear(targets), atol=1e-12)


def test_points_on_vertices_and_edges_get_the_nodal_and_edge_values():
    mesh = rectangle_mesh(4)
    vertices = mesh.points.copy()
    a, b = mesh.simplices[:, 0], mesh.simplices[:, 1]
    midpoints = 0.5 * (mesh.points[a] + mesh.points[b])
    values = np.random.default_rng(1).standard_normal(mesh.n_points)
    assert np.allclose(transfer(mesh, values, vertices), values, atol=1e-12)
    assert np.allclose(transfer(mesh, values, midpoints), 0.5 * (values[a] + values[b]), atol=1e-12)
    location = PointLocator.for_mesh(mesh).locate(np.vstack([vertices, midpoints]))
    assert (location.weights >= 0).all() and np.allclose(location.weights.sum(axis=1), 1.0)
    assert not location.snapped.any()


def test_walk_from_a_bad_hint_and_around_a_reentrant_corner():
    mesh = l_shaped_mesh()
    locator = PointLocator.for_mesh(mesh)
    rng = np.random.default_rng(2)
    targets = rng.uniform(0.0, 2.0, (400, 2))
    targets = targets[~((targets[:, 0] > 1.0) & (targets[:, 1] > 1.0))]
    # Every walk starts in the cell at the origin corner; many must cross the missing quarter's edges.
    hint = np.zeros(len(targets), dtype=np.int64)
    location = locator.locate(targets, hint)
    assert not location.snapped.any()
    assert np.allclose(interpolate(location, mesh.simplices, linear(mesh.points)), linear(targets), atol=1e-12)
    inside = locator.barycentric(location.simplices, targets)
    assert (inside >= -1e-10).all()


def test_points_just_outside_are_snapped_onto_the_boundary():
    mesh = rectangle_mesh(5)
    outside = np.array([[1.0 + 1e-9, 0.5], [-1e-8, 0.3], [0.4, 1.0 + 1e-7], [1.0 + 1e-9, 1.0 + 1e-9]])
    location = PointLocator.for_mesh(mesh).locate(outside)
    assert location.snapped.sum() == 4
    assert (location.weights >= 0).all() and np.allclose(location.weights.sum(axis=1), 1.0)
    values = transfer(mesh, linear(mesh.points), outside)
    on_boundary = np.clip(outside, 0.0, 1.0)
    assert np.allclose(values, linear(on_boundary), atol=1e-6)


def test_interpolation_matrix_and_vector_fields_agree_with_transfer():
    source, target = jittered_mesh(10), rectangle_mesh(7)
    values = np.sin(3 * source.points[:, 0]) * np.cos(2 * source.points[:, 1])
    matrix = interpolation_matrix(source, target.points)
    assert matrix.shape == (target.n_points, source.n_points)
    assert np.allclose(matrix @ values, transfer(source, values, target.points))
    vector = np.column_stack([values, 2 * values])
    assert np.allclose(transfer(source, vector, target.points)[:, 1], 2 * (matrix @ values))


def test_neighbours_are_symmetric_and_boundary_facets_have_none():
    mesh = rectangle_mesh(3)
    neighbours = simplex_neighbours(mesh.simplices, mesh.n_points)
    for cell, row in enumerate(neighbours):
        for other in row[row >= 0]:
            assert cell in neighbours[other]
    assert (neighbours < 0).sum() == len(mesh.boundary_facets())
