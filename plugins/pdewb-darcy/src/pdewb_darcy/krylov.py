"""Linear solvers for the SPD Darcy matrices: sparse LU, AMG-preconditioned CG, and
deflated (recycling) preconditioned CG.

* :class:`DirectSolver`: SuperLU with a symmetric minimum-degree ordering.
* :func:`pcg`: preconditioned CG that can *deflate* a subspace span(W): the
  initial guess is corrected so that W^T r_0 = 0, and every search direction is
  made A-orthogonal to W (Saad, Yeung, Erhel, Guyomarc'h 2000, "A deflated version
  of the conjugate gradient algorithm"; with a preconditioner M). The components of
  the error in span(W) are then solved exactly by the small Galerkin system
  W^T A W, and CG only sees the rest of the spectrum of M A. It can also store
  the (preconditioned) residuals it produces, for the recycle update below.
* :func:`ritz_update`: the next recycle space. Z = [W, z_0, ..., z_m] (old space and
  this solve's preconditioned residuals z_j = M r_j) with M^{-1} Z = [M^{-1} W, r_0, ...]
  known without applying M^{-1}; the Ritz pairs of the pencil (Z^T A' Z, Z^T M^{-1} Z)
  for the *next* matrix A' approximate the eigenvectors of M A' with the smallest
  eigenvalues, the ones that slow CG down. The k smallest become the next W, and
  M^{-1} W is carried along, so this needs a fixed preconditioner M for the whole
  sequence (it is the shared AMG hierarchy in :mod:`pdewb_darcy.batch`).

BLAS runs single-threaded (as in the FEM plugin): the iterations are many short
vector operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyamg
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from workbench.core.errors import ParamError, SolverDiverged

METHODS = ("auto", "direct", "amg-cg")
#: For a bare matrix, 'auto' solves directly up to this many unknowns (2D 5-point matrices: LU
#: fill is mild); the darcy.fd solver itself sends 'auto' to the multigrid CG instead
#: (:func:`pdewb_darcy.darcy.solve_darcy`), which needs the grid, not just the matrix. The
#: limit is the crossover the FEM plugin measured for 2D P1 matrices (2 cores).
DIRECT_LIMIT = 20_000
#: CG stops at ||b - A x|| <= rtol ||b||.
CG_RTOL = 1e-10


class DirectSolver:
    name = "direct"

    def __init__(self, matrix: sp.spmatrix) -> None:
        self.shape = matrix.shape
        self.iterations = 0
        self._factors = spla.splu(
            sp.csc_matrix(matrix), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True}
        )

    def solve(self, rhs: np.ndarray, x0=None) -> np.ndarray:
        return self._factors.solve(np.asarray(rhs, dtype=np.float64))

    def describe(self) -> str:
        return f"sparse LU (SuperLU, minimum-degree ordering), {self.shape[0]} unknowns, {self._factors.nnz} nonzeros in the factors"


def amg_hierarchy(matrix: sp.spmatrix):
    """Classical Ruge-Stueben AMG (the 5-point Darcy matrix is an M-matrix)."""
    return pyamg.ruge_stuben_solver(sp.csr_matrix(matrix))


class AmgCgSolver:
    name = "amg-cg"

    def __init__(self, matrix: sp.spmatrix, rtol: float = CG_RTOL) -> None:
        self.matrix = sp.csr_matrix(matrix)
        self.rtol = rtol
        self.iterations = 0
        self._hierarchy = amg_hierarchy(self.matrix)
        self._M = self._hierarchy.aspreconditioner(cycle="V")

    def solve(self, rhs: np.ndarray, x0=None) -> np.ndarray:
        result = pcg(self.matrix, rhs, self._M, x0=x0, rtol=self.rtol)
        self.iterations = result.iterations
        return result.x

    def describe(self) -> str:
        return (f"CG + Ruge-Stueben AMG ({len(self._hierarchy.levels)} levels), {self.matrix.shape[0]} unknowns, "
                f"{self.iterations} iterations to rtol {self.rtol:.0e}")


def make_solver(matrix: sp.spmatrix, method: str = "auto"):
    if method not in METHODS:
        raise ParamError(f"linear_solver must be one of {', '.join(METHODS)}, not '{method}'")
    if method == "auto":
        method = "direct" if matrix.shape[0] <= DIRECT_LIMIT else "amg-cg"
    if method == "direct":
        return DirectSolver(matrix)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return AmgCgSolver(matrix)


@dataclass
class Deflation:
    """A recycle space W (N x k) with AW = A W, M^{-1} W, and the Cholesky factor of W^T A W."""

    W: np.ndarray
    AW: np.ndarray
    MinvW: np.ndarray
    chol: tuple = field(repr=False, default=None)

    @classmethod
    def build(cls, matrix, W: np.ndarray, MinvW: np.ndarray) -> "Deflation":
        AW = np.asarray(matrix @ W)
        E = W.T @ AW
        E = 0.5 * (E + E.T)
        return cls(W, AW, MinvW, sla.cho_factor(E))

    def coarse(self, v: np.ndarray) -> np.ndarray:
        """(W^T A W)^{-1} v."""
        return sla.cho_solve(self.chol, v)


@dataclass
class PcgResult:
    x: np.ndarray
    iterations: int
    residual: float
    Z: np.ndarray | None = None  # stored preconditioned residuals (columns)
    R: np.ndarray | None = None  # the matching residuals: M^{-1} Z


def pcg(A, b, M, x0=None, rtol: float = CG_RTOL, maxiter: int | None = None,
        deflation: Deflation | None = None, store: int = 0) -> PcgResult:
    """(Deflated) preconditioned CG for SPD A and SPD M (an operator: z = M @ r).

    Stops at ||b - A x|| <= rtol ||b|| (the true residual is recomputed at the end and
    checked). ``store``: keep up to this many normalised (z_j, r_j) pairs.
    """
    n = b.shape[0]
    maxiter = maxiter or max(200, 10 * int(np.sqrt(n)))
    bnorm = np.linalg.norm(b)
    if bnorm == 0.0:
        return PcgResult(np.zeros(n), 0, 0.0)
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=np.float64)
    r = b - A @ x if x0 is not None else b.copy()
    if deflation is not None:  # x0 <- x0 + W E^{-1} W^T r0, so that W^T r0 = 0
        x += deflation.W @ deflation.coarse(deflation.W.T @ r)
        r = b - A @ x
    target = rtol * bnorm
    Zs, Rs = [], []
    z = M @ r
    p = z.copy()
    if deflation is not None:
        p -= deflation.W @ deflation.coarse(deflation.AW.T @ z)
    rz = r @ z
    it = 0
    rnorm = np.linalg.norm(r)
    while rnorm > target and it < maxiter:
        if len(Zs) < store:
            s = 1.0 / np.linalg.norm(z)
            Zs.append(z * s)
            Rs.append(r * s)
        q = A @ p
        pq = p @ q
        if not pq > 0.0:
            break
        alpha = rz / pq
        x += alpha * p
        r -= alpha * q
        it += 1
        rnorm = np.linalg.norm(r)
        if rnorm <= target:
            break
        z = M @ r
        rz_new = r @ z
        beta = rz_new / rz
        rz = rz_new
        p *= beta
        p += z
        if deflation is not None:
            p -= deflation.W @ deflation.coarse(deflation.AW.T @ z)
    true = np.linalg.norm(b - A @ x)
    if not np.all(np.isfinite(x)) or true > 10.0 * target:
        raise SolverDiverged(
            f"preconditioned CG did not converge in {it} iterations (relative residual {true / bnorm:.2e}, "
            f"wanted {rtol:.0e}); try linear_solver='direct'"
        )
    Z = np.column_stack(Zs) if Zs else None
    R = np.column_stack(Rs) if Rs else None
    return PcgResult(x, it, true / bnorm, Z, R)


def ritz_update(next_matrix, k: int, result: PcgResult, previous: Deflation | None) -> Deflation | None:
    """The k Ritz vectors of M A' (A' = ``next_matrix``) with the smallest Ritz values, from
    span([W_previous, stored z_j]). Returns None if there is nothing to build from."""
    blocks_z, blocks_r = [], []
    if previous is not None:
        blocks_z.append(previous.W)
        blocks_r.append(previous.MinvW)
    if result.Z is not None:
        blocks_z.append(result.Z)
        blocks_r.append(result.R)
    if not blocks_z:
        return None
    Z = np.hstack(blocks_z)
    R = np.hstack(blocks_r)
    F = Z.T @ R  # Z^T M^{-1} Z
    F = 0.5 * (F + F.T)
    d, V = np.linalg.eigh(F)
    keep = d > 1e-10 * d[-1]
    T = V[:, keep] / np.sqrt(d[keep])  # F-orthonormal basis of the well-conditioned part
    AZ = np.asarray(next_matrix @ Z)
    G = Z.T @ AZ
    G = T.T @ (0.5 * (G + G.T)) @ T
    theta, Y = np.linalg.eigh(G)
    Y = T @ Y[:, : min(k, len(theta))]
    W = Z @ Y
    E = Y.T @ (Z.T @ AZ) @ Y  # W^T A' W, from AZ (no extra mat-vecs)
    E = 0.5 * (E + E.T)
    try:
        chol = sla.cho_factor(E)
    except np.linalg.LinAlgError:
        return None
    return Deflation(W, AZ @ Y, R @ Y, chol)
