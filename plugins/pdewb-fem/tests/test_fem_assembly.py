"""P1 assembly and linear solvers, checked against independent element-by-element references and identities."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from workbench.core import Mesh, ParamError, SolverDiverged
from workbench.core.meshgen import box_mesh, interval_mesh, rectangle_mesh
from pdewb_fem.assembly import (
    SparsityPattern, load_vector, mass_matrix, reference_mass, simplex_geometry, stiffness_matrix,
)
from pdewb_fem.linalg import DIRECT_LIMIT, AmgCgSolver, DirectSolver, choose_method, spd_solver


def jiggled(mesh: Mesh, amount: float = 0.2, seed: int = 0) -> Mesh:
    """The same connectivity with interior points moved randomly: an unstructured-looking mesh."""
    rng = np.random.default_rng(seed)
    boundary = np.unique(mesh.boundary_facets())
    h = mesh.simplex_measures.mean() ** (1 / mesh.dim)
    points = mesh.points + amount * h * rng.uniform(-1, 1, mesh.points.shape)
    points[boundary] = mesh.points[boundary]
    return Mesh.build(points, [(mesh.cells[0].type, mesh.simplices)])


def reference_matrices(points, simplices, conductivity):
    """Stiffness and mass by a plain loop over elements, gradients from numpy's inverse: the textbook way."""
    rows, cols, k_values, m_values = [], [], [], []
    nodes = simplices.shape[1]
    for e, simplex in enumerate(simplices):
        x = points[simplex]
        edges = x[1:] - x[0]
        gram = edges @ edges.T
        measure = np.sqrt(np.linalg.det(gram)) / np.prod(np.arange(1, nodes))
        tail = np.linalg.solve(gram, edges)
        grads = np.vstack([-tail.sum(axis=0), tail])
        rows.append(np.repeat(simplex, nodes))
        cols.append(np.tile(simplex, nodes))
        k_values.append((conductivity[e] * measure * grads @ grads.T).ravel())
        m_values.append((measure * (np.ones((nodes, nodes)) + np.eye(nodes)) / (nodes * (nodes + 1))).ravel())
    n = len(points)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    stiffness = sp.coo_matrix((np.concatenate(k_values), (rows, cols)), shape=(n, n)).tocsr()
    mass = sp.coo_matrix((np.concatenate(m_values), (rows, cols)), shape=(n, n)).tocsr()
    return stiffness, mass


MESHES = {
    "1d": lambda: jiggled(interval_mesh(7)),
    "2d": lambda: jiggled(rectangle_mesh(5, 4)),
    "3d": lambda: jiggled(box_mesh(3, 2, 3)),
}


@pytest.mark.parametrize("name", sorted(MESHES))
def test_matrices_match_an_element_by_element_reference(name):
    mesh = MESHES[name]()
    conductivity = np.random.default_rng(1).uniform(0.5, 2.0, len(mesh.simplices))
    geometry = simplex_geometry(mesh.points, mesh.simplices)
    pattern = SparsityPattern.from_simplices(mesh.simplices, mesh.n_points)
    stiffness, mass = reference_matrices(mesh.points, mesh.simplices, conductivity)
    assert abs(stiffness_matrix(geometry, pattern, conductivity) - stiffness).max() < 1e-12 * abs(stiffness).max()
    assert abs(mass_matrix(geometry, pattern) - mass).max() < 1e-14
    np.testing.assert_allclose(geometry.measures, mesh.simplex_measures, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(MESHES))
def test_pattern_is_canonical_csr_with_one_entry_per_edge_and_node(name):
    mesh = MESHES[name]()
    pattern = SparsityPattern.from_simplices(mesh.simplices, mesh.n_points)
    local = mesh.simplices.shape[1]
    edges = {tuple(sorted((s[i], s[j]))) for s in mesh.simplices.tolist() for i in range(local) for j in range(i)}
    assert pattern.nnz == mesh.n_points + 2 * len(edges)
    matrix = pattern.matrix(np.ones(pattern.nnz))
    check = sp.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=matrix.shape)
    check.has_sorted_indices = False
    check.sort_indices()
    assert np.array_equal(check.indices, pattern.indices)  # sorted within rows already
    assert (abs(matrix - matrix.T)).nnz == 0  # structurally symmetric


@pytest.mark.parametrize("name", sorted(MESHES))
def test_identities_constants_linears_and_measure(name):
    mesh = MESHES[name]()
    geometry = simplex_geometry(mesh.points, mesh.simplices)
    pattern = SparsityPattern.from_simplices(mesh.simplices, mesh.n_points)
    stiffness, mass = stiffness_matrix(geometry, pattern, 3.0), mass_matrix(geometry, pattern)
    ones = np.ones(mesh.n_points)
    volume = mesh.simplex_measures.sum()
    assert np.abs(stiffness @ ones).max() < 1e-10  # constants are in the kernel
    assert np.isclose(ones @ mass @ ones, volume)  # int 1 dx
    x = mesh.points[:, 0]
    assert np.isclose(x @ stiffness @ x, 3.0 * volume)  # int k |grad x|^2 dx
    f = np.cos(mesh.points).sum(axis=1)
    np.testing.assert_allclose(load_vector(mesh.points, mesh.simplices, f), mass @ f, rtol=1e-12, atol=1e-15)


def test_embedded_surface_uses_the_intrinsic_gradients():
    flat = jiggled(rectangle_mesh(4))
    rotation = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))[0]
    surface_points = np.column_stack([flat.points, np.zeros(flat.n_points)]) @ rotation.T
    flat_geometry = simplex_geometry(flat.points, flat.simplices)
    surface_geometry = simplex_geometry(surface_points, flat.simplices)
    pattern = SparsityPattern.from_simplices(flat.simplices, flat.n_points)
    difference = stiffness_matrix(surface_geometry, pattern) - stiffness_matrix(flat_geometry, pattern)
    assert abs(difference).max() < 1e-12
    np.testing.assert_allclose(surface_geometry.measures, flat_geometry.measures, rtol=1e-12)


def test_reference_mass_rows_sum_to_one_over_the_node_count():
    for nodes in (2, 3, 4):
        np.testing.assert_allclose(reference_mass(nodes).sum(axis=1), 1.0 / nodes)


def test_boundary_load_of_a_constant_flux_is_flux_times_length():
    mesh = rectangle_mesh(5)
    facets = mesh.boundary_facets("top")
    load = load_vector(mesh.points, facets, np.full(mesh.n_points, 2.5))
    assert np.isclose(load.sum(), 2.5 * 1.0) and np.all(load[np.setdiff1d(np.arange(mesh.n_points), facets)] == 0)


# -- linear solvers ----------------------------------------------------------------------------


def laplacian_2d(n: int) -> sp.csr_matrix:
    mesh = rectangle_mesh(n)
    geometry = simplex_geometry(mesh.points, mesh.simplices)
    stiffness = stiffness_matrix(geometry, SparsityPattern.from_simplices(mesh.simplices, mesh.n_points))
    free = np.setdiff1d(np.arange(mesh.n_points), np.unique(mesh.boundary_facets()))
    return stiffness[free][:, free].tocsr()


def test_direct_and_amg_cg_agree():
    matrix = laplacian_2d(24)
    rhs = np.random.default_rng(3).normal(size=matrix.shape[0])
    direct, amg = DirectSolver(matrix), AmgCgSolver(matrix)
    x_direct, x_amg = direct.solve(rhs), amg.solve(rhs)
    assert np.linalg.norm(matrix @ x_direct - rhs) < 1e-10 * np.linalg.norm(rhs)
    assert np.linalg.norm(matrix @ x_amg - rhs) <= 1e-10 * np.linalg.norm(rhs) * 1.0001
    assert 0 < amg.iterations < 40
    np.testing.assert_allclose(x_amg, x_direct, rtol=1e-7, atol=1e-9)


def test_cg_that_does_not_converge_raises_solver_diverged():
    matrix = laplacian_2d(16)
    with pytest.raises(SolverDiverged, match="did not converge in 1 iterations"):
        AmgCgSolver(matrix, maxiter=1).solve(np.ones(matrix.shape[0]))


def test_singular_matrix_raises_solver_diverged():
    with pytest.raises(SolverDiverged, match="singular"):
        DirectSolver(sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0]])))


def test_auto_picks_direct_for_small_and_amg_for_large_systems():
    assert choose_method("auto", DIRECT_LIMIT[2], 2) == "direct"
    assert choose_method("auto", DIRECT_LIMIT[2] + 1, 2) == "amg-cg"
    assert choose_method("auto", DIRECT_LIMIT[3] + 1, 3) == "amg-cg"
    assert choose_method("auto", DIRECT_LIMIT[3] + 1, 3, repeated=True) == "direct"  # factorise once, reuse per step
    assert choose_method("direct", 10**9, 3) == "direct"
    assert isinstance(spd_solver(laplacian_2d(4), "amg-cg"), AmgCgSolver)
    with pytest.raises(ParamError, match="linear_solver must be one of"):
        choose_method("cholesky", 10, 2)
