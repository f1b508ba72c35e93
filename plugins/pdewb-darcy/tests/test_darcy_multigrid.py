"""Batched multigrid-preconditioned CG: the pieces (interpolation, Galerkin map, symmetric V-cycle)
and the solves (same answers as spsolve per sample, bit for bit the same in any batch)."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pdewb_darcy.darcy import Stencil, solve_darcy
from pdewb_darcy.dataset import generate_batch
from pdewb_darcy.grf import darcy_coefficients
from pdewb_darcy.multigrid import (
    BatchedMultigrid,
    galerkin_map,
    hierarchy,
    interpolation_1d,
    pcg_batched,
    solve_multigrid,
)
from workbench.core.errors import SolverDiverged


@pytest.mark.parametrize("n", [8, 9, 16, 105])
def test_interpolation_is_linear_between_the_coarse_nodes(n):
    P1, n_c = interpolation_1d(n)
    coarse_x = np.append(np.arange(0, n, 2), n)  # fine positions of the coarse nodes 0..n_c
    assert len(coarse_x) == n_c + 1 and P1.shape == (n - 1, n_c - 1)
    for I in range(1, n_c):
        hat = np.interp(np.arange(1, n), coarse_x, np.eye(n_c + 1)[I])
        assert np.array_equal(P1[:, [I - 1]].toarray().ravel(), hat)


@pytest.mark.parametrize("n", [16, 18])
def test_galerkin_map_gives_pt_a_p(n):
    stencil = Stencil(n)
    a = darcy_coefficients(1, n, seed=4)[0]
    A = stencil.matrix(a)
    P1, _ = interpolation_1d(n)
    P = sp.csr_matrix(sp.kron(P1, P1))
    indptr, indices, G = galerkin_map(stencil.indptr, stencil.indices, P)
    coarse = sp.csr_matrix((G @ A.data, indices, indptr), shape=(P.shape[1],) * 2)
    expected = (P.T @ A @ P).toarray()
    assert np.abs(coarse.toarray() - expected).max() <= 1e-12 * np.abs(expected).max()


def test_v_cycle_is_a_symmetric_positive_definite_operator():
    n, B = 32, 2
    mg = BatchedMultigrid(n, Stencil(n).csr_data(darcy_coefficients(B, n, seed=5)))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, B, (n - 1) ** 2))
    xMy = np.einsum("ij,ij->i", x, mg.precondition(y))
    yMx = np.einsum("ij,ij->i", y, mg.precondition(x))
    assert np.allclose(xMy, yMx, rtol=1e-12, atol=0)
    assert np.all(np.einsum("ij,ij->i", x, mg.precondition(x)) > 0)


@pytest.mark.parametrize("n", [32, 50])  # 50 coarsens through odd n = 25
def test_matches_spsolve_per_sample(n):
    stencil = Stencil(n)
    a = darcy_coefficients(5, n, seed=6)
    f = stencil.rhs(np.add.outer(np.linspace(1, 2, n + 1), np.linspace(0, 1, n + 1)))  # a variable source
    result = solve_multigrid(stencil.csr_data(a), n, f, rtol=1e-10)
    print(f"\nn = {n}: levels {[level.size for level in hierarchy(n).levels]}, iterations "
          f"{result.iterations.tolist()}, relative residuals {result.residual.max():.1e}")
    for b in range(len(a)):
        A = stencil.matrix(a[b])
        reference = spla.spsolve(A.tocsc(), f)
        assert np.linalg.norm(f - A @ result.x[b]) <= 1e-10 * np.linalg.norm(f)
        assert np.abs(result.x[b] - reference).max() <= 1e-8 * np.abs(reference).max()
    assert result.iterations.max() <= 15


def test_a_sample_is_bit_identical_in_any_batch_and_chunk():
    n = 24
    stencil = Stencil(n)
    data = stencil.csr_data(darcy_coefficients(7, n, seed=8))
    f = stencil.rhs(np.ones((n + 1, n + 1)))
    full = solve_multigrid(data, n, f, 1e-10).x
    for chunk in (1, 3, 7):
        assert np.array_equal(solve_multigrid(data, n, f, 1e-10, chunk=chunk).x, full)
    for start, stop in ((0, 1), (2, 3), (1, 5), (6, 7)):
        assert np.array_equal(solve_multigrid(data[start:stop], n, f, 1e-10).x, full[start:stop])


def test_darcy_run_reproduces_the_data_set_sample():
    seeds = [11, 12, 13]
    batch = generate_batch({"n": 16}, seeds)
    u, description = solve_darcy(batch["a"][1])
    assert "multigrid" in description
    assert np.array_equal(u, batch["u"][1])


def test_not_converging_is_solver_diverged():
    n = 16
    mg = BatchedMultigrid(n, Stencil(n).csr_data(darcy_coefficients(2, n, seed=1)))
    with pytest.raises(SolverDiverged, match="did not converge"):
        pcg_batched(mg, np.ones((2, (n - 1) ** 2)), rtol=1e-10, maxiter=2)


def test_large_grids_whose_coarse_pattern_keys_overflow_int32():
    """From n ~ 430 the Galerkin map's keys k * n_c + m exceed 2^31 (they were int32: singular coarse matrices)."""

    a = np.ones((449, 449))
    u, description = solve_darcy(a, 1.0, "auto")
    reference, _ = solve_darcy(a, 1.0, "direct")
    assert "iterations" in description
    assert np.abs(u - reference).max() < 1e-8 * np.abs(reference).max()
