"""Batched geometric multigrid as the preconditioner of CG, for a batch of Darcy matrices.

The B systems A_b u_b = f of a data-set batch share the grid and the 5-point sparsity
pattern; only the values differ. What depends on the pattern alone is built once per
grid size n (:class:`Hierarchy`, cached) and, per batch size, once more for the
block-diagonal layout (:func:`batch_layout`, cached):

* **Interpolation** P from the coarse to the fine level: bilinear, P = P_1 (x) P_1
  with P_1 the 1D linear interpolation. In 1D the coarse nodes are the fine nodes
  0, 2, 4, ... and n, so odd n coarsen too (n = 420 -> 210 -> 105 -> 53 ..., the FNO
  421-node grid), with one short last interval; a fine node between two coarse
  nodes takes half of each; boundary nodes carry u = 0 and drop out.
* **Galerkin coarse operators** A_c = P^T A P. For a fixed pattern the coarse values
  are *linear* in the fine ones, (A_c)_kl = sum_(i,j) P_ik A_ij P_jl, so one sparse
  matrix G (nnz_c x nnz_f, entries P_ik P_jl) maps the (B, nnz_f) values of a whole
  batch to the coarse ones in one sparse product, without per-sample sparse
  matrix-matrix products. Galerkin operators keep the V-cycle robust at the
  coefficient jumps (12 / 3), where a rediscretisation would need care.

Per batch, every level's B matrices form one CSR matrix that couples no samples
(block diagonal, with the samples interleaved: see :class:`Interleaved`), so a mat-vec,
a Gauss-Seidel sweep (pyamg's compiled kernel) or a restriction is one compiled loop
over all samples. Every reduction is per sample, so a sample's arithmetic is the same
in any batch: results do not depend on the batch, bit for bit (tested; the data sets
rely on it).

V-cycle (z = M r, zero initial guess): a forward Gauss-Seidel sweep, the residual,
restriction by P^T, the coarse correction, a backward sweep; the coarsest level (at
most :data:`COARSEST` unknowns) is solved exactly with precomputed inverses. Forward
before and backward after makes M symmetric positive definite, as CG needs. After a
forward sweep from x = 0, (D + L) x = b, so the residual is b - A x = -U x (U the
strict upper triangle): 2 instead of 5 entries per row.

CG (:func:`pcg_batched`): preconditioned CG (Saad, *Iterative Methods for Sparse
Linear Systems*, 2nd ed., Alg. 9.1) with one alpha and beta per sample (row-wise dot
products); each sample stops at ||b - A x|| <= rtol ||b|| and is then frozen
(alpha = beta = 0) while the others go on.

References: Trottenberg, Oosterlee, Schueller, *Multigrid* (2001), ch. 2, 7 (Galerkin
coarsening, Gauss-Seidel smoothing, multigrid as a CG preconditioner); Tatebe (1993),
"The multigrid preconditioned conjugate gradient method".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from pyamg.amg_core import gauss_seidel
from threadpoolctl import threadpool_limits

from workbench.core.errors import SolverDiverged

#: Coarsen until the coarsest level has at most this many unknowns (then a dense solve).
COARSEST = 64
MAXITER = 200
#: Sub-batches of about this many fine unknowns keep the level arrays in the caches.
CHUNK_UNKNOWNS = 49_152


def interpolation_1d(n: int) -> tuple[sp.csr_matrix, int]:
    """Linear interpolation from the coarse nodes {0, 2, 4, ...} + {n} to the fine nodes 0..n.

    Returns (P_1, n_c): P_1 maps the n_c - 1 interior coarse values to the n - 1 interior
    fine values; coarse node I sits at fine node 2 I, the last one (I = n_c) at n.
    """
    n_c = (n + 1) // 2
    rows, cols, vals = [], [], []
    for i in range(1, n):
        parents = [(i, 1.0)] if i % 2 == 0 else [(i - 1, 0.5), (i + 1, 0.5)]
        for j, weight in parents:
            coarse = n_c if j == n else j // 2
            if 0 < coarse < n_c:  # boundary nodes carry u = 0
                rows.append(i - 1)
                cols.append(coarse - 1)
                vals.append(weight)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n - 1, n_c - 1)), n_c


def _pattern_rows(indptr: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))


def galerkin_map(indptr: np.ndarray, indices: np.ndarray, P: sp.csr_matrix):
    """The pattern of P^T A P and the matrix G with data(P^T A P) = G @ data(A).

    ``indptr``/``indices``: A's CSR pattern. Returns (indptr_c, indices_c, G), G a CSR
    matrix (nnz_c, nnz_f), the coarse pattern with sorted column indices.
    """
    P = sp.csr_matrix(P)
    n_c = P.shape[1]
    rows, cols = _pattern_rows(indptr), np.asarray(indices)
    count = np.diff(P.indptr)
    pairs = count[rows] * count[cols]  # per fine entry (i, j): |row i of P| x |row j of P| products
    entry = np.repeat(np.arange(len(cols)), pairs)
    local = np.arange(len(entry)) - np.repeat(np.cumsum(pairs) - pairs, pairs)
    i, j = rows[entry], cols[entry]
    pk = P.indptr[i] + local // count[j]
    pl = P.indptr[j] + local % count[j]
    # coarse row and column, in int64: the keys k * n_c + m overflow int32 from n_c ~ 46k (n ~ 430) on
    k, m = P.indices[pk].astype(np.int64), P.indices[pl].astype(np.int64)
    pattern = sp.csr_matrix((np.ones(len(k)), (k, m)), shape=(n_c, n_c))
    pattern.sum_duplicates()
    pattern.sort_indices()
    keys = _pattern_rows(pattern.indptr) * n_c + pattern.indices  # increasing
    slot = np.searchsorted(keys, k * n_c + m)
    G = sp.csr_matrix((P.data[pk] * P.data[pl], (slot, entry)), shape=(len(keys), len(cols)))
    return pattern.indptr.copy(), pattern.indices.copy(), G


@dataclass(frozen=True)
class Level:
    """A level's CSR pattern; on all but the coarsest also P (from the next level) and G."""

    size: int
    indptr: np.ndarray
    indices: np.ndarray
    P: sp.csr_matrix | None = None
    G: sp.csr_matrix | None = None

    @property
    def upper(self) -> np.ndarray:
        """The pattern positions of the strict upper triangle (column > row)."""
        return np.flatnonzero(self.indices > _pattern_rows(self.indptr))


class Hierarchy:
    """Patterns, interpolations and Galerkin maps for one n x n grid, from its fine CSR pattern."""

    def __init__(self, n: int, indptr: np.ndarray, indices: np.ndarray, coarsest: int = COARSEST) -> None:
        levels = []
        size = (n - 1) ** 2
        while size > coarsest and n > 2:
            P1, n_c = interpolation_1d(n)
            P = sp.csr_matrix(sp.kron(P1, P1))  # unknowns numbered x fastest: kron(P_y, P_x)
            indptr_c, indices_c, G = galerkin_map(indptr, indices, P)
            levels.append(Level(size, indptr, indices, P, G))
            n, size, indptr, indices = n_c, (n_c - 1) ** 2, indptr_c, indices_c
        levels.append(Level(size, indptr, indices))
        self.levels = tuple(levels)

    def level_data(self, data: np.ndarray) -> list[np.ndarray]:
        """Per level, the values (nnz, B) of the batch's Galerkin operators, from the fine (B, nnz)."""
        out = [np.ascontiguousarray(np.asarray(data, dtype=np.float64).T)]
        for level in self.levels[:-1]:
            out.append(level.G @ out[-1])
        return out


@lru_cache(maxsize=8)
def hierarchy(n: int) -> Hierarchy:
    """The (cached) hierarchy of :class:`~pdewb_darcy.darcy.Stencil` (n)'s pattern."""
    from .darcy import Stencil

    stencil = Stencil(n)
    return Hierarchy(n, stencil.indptr, stencil.indices)


@dataclass(frozen=True)
class Interleaved:
    """The pattern of B matrices with one pattern, interleaved: unknown i of sample b is row i B + b.

    ``gather``: the big matrix's values are ``values.ravel()[gather]`` for per-sample
    values (nnz, B). Interleaving keeps each sample's Gauss-Seidel order (rows of one
    sample stay in order) but puts B independent rows between two dependent ones, so
    the sweep is not one long chain of dependent divisions.
    """

    indptr: np.ndarray
    indices: np.ndarray
    gather: np.ndarray

    @classmethod
    def build(cls, indptr: np.ndarray, indices: np.ndarray, B: int, keep: np.ndarray | None = None):
        """Only the pattern positions ``keep`` (default all), e.g. a triangle."""
        rows = _pattern_rows(indptr)
        keep = np.arange(len(indices)) if keep is None else keep
        count = np.bincount(rows[keep], minlength=len(indptr) - 1)
        first = np.searchsorted(rows[keep], np.arange(len(indptr) - 1))  # first kept entry of each row
        counts = np.repeat(count, B)  # big row i B + b has count[i] entries
        big_indptr = np.concatenate([[0], np.cumsum(counts)])
        big_row = np.repeat(np.arange(len(counts)), counts)
        i, b = np.divmod(big_row, B)
        k = keep[first[i] + np.arange(len(big_row)) - big_indptr[big_row]]
        return cls(big_indptr.astype(np.int32), (indices[k] * B + b).astype(np.int32), k * B + b)

    def matrix(self, values: np.ndarray) -> sp.csr_matrix:
        rows = len(self.indptr) - 1
        return sp.csr_matrix((values.ravel()[self.gather], self.indices, self.indptr), shape=(rows, rows), copy=False)


@dataclass(frozen=True)
class BatchLayout:
    """For B samples: per level the interleaved A and strict upper triangle U, P (x) I_B and P^T (x) I_B;
    the block-diagonal fine pattern for the CG mat-vec (vectors (B, N))."""

    A: tuple
    U: tuple
    P: tuple
    R: tuple
    fine: tuple


@lru_cache(maxsize=8)
def batch_layout(n: int, B: int) -> BatchLayout:
    levels = hierarchy(n).levels
    A = tuple(Interleaved.build(lv.indptr, lv.indices, B) for lv in levels)
    U = tuple(Interleaved.build(lv.indptr, lv.indices, B, lv.upper) for lv in levels[:-1])
    eye = sp.identity(B, format="csr")
    P = tuple(sp.kron(lv.P, eye, format="csr") for lv in levels[:-1])
    R = tuple(sp.csr_matrix(p.T) for p in P)
    fine = levels[0]
    size, nnz = fine.size, len(fine.indices)
    fine_indptr = np.append((fine.indptr[:-1][None, :] + nnz * np.arange(B)[:, None]).ravel(), B * nnz)
    fine_indices = (fine.indices[None, :] + size * np.arange(B)[:, None]).ravel()
    return BatchLayout(A, U, P, R, (fine_indptr.astype(np.int32), fine_indices.astype(np.int32)))


class BatchedMultigrid:
    """The operators of one batch on every level and the V-cycle z = M r.

    CG's vectors are (B, N) (contiguous per sample, for per-sample dot products);
    the V-cycle works on the interleaved (N, B) layout of :class:`Interleaved`.
    """

    def __init__(self, n: int, fine_data: np.ndarray) -> None:
        levels = hierarchy(n).levels
        self.B = B = fine_data.shape[0]
        self.sizes = [lv.size for lv in levels]
        layout = batch_layout(n, B)
        values = hierarchy(n).level_data(fine_data)  # (nnz, B) per level
        self.A = [pattern.matrix(v) for pattern, v in zip(layout.A, values)]
        self.U = [pattern.matrix(v) for pattern, v in zip(layout.U, values)]
        self.P, self.R = layout.P, layout.R
        rows = B * self.sizes[0]
        self.fine = sp.csr_matrix((np.ascontiguousarray(fine_data).ravel(), layout.fine[1], layout.fine[0]),
                                  shape=(rows, rows), copy=False)
        coarsest = levels[-1]
        dense = np.zeros((B, coarsest.size, coarsest.size))
        dense[:, _pattern_rows(coarsest.indptr), coarsest.indices] = values[-1].T
        self.coarse_inverse = np.linalg.inv(dense)

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """A x for x (B, N)."""
        return (self.fine @ x.ravel()).reshape(x.shape)

    def _cycle(self, level: int, b: np.ndarray) -> np.ndarray:
        """x ~ A^-1 b on ``level``, b and x interleaved (N B,)."""
        if level == len(self.A) - 1:
            rhs = np.ascontiguousarray(b.reshape(-1, self.B).T)[:, :, None]  # (B, m, 1)
            return np.ascontiguousarray(np.matmul(self.coarse_inverse, rhs)[:, :, 0].T).ravel()
        A, rows = self.A[level], len(b)
        x = np.zeros_like(b)
        gauss_seidel(A.indptr, A.indices, A.data, x, b, 0, rows, 1)
        residual = self.U[level] @ x  # = -(b - A x), see the module docstring
        x -= self.P[level] @ self._cycle(level + 1, self.R[level] @ residual)
        gauss_seidel(A.indptr, A.indices, A.data, x, b, rows - 1, -1, -1)
        return x

    def precondition(self, r: np.ndarray) -> np.ndarray:
        """z = M r for r (B, N): one V(1, 1)-cycle from a zero guess."""
        z = self._cycle(0, np.ascontiguousarray(r.T).ravel())
        return np.ascontiguousarray(z.reshape(-1, self.B).T)


def _rowdot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, y)


@dataclass
class BatchedCgResult:
    x: np.ndarray  # (B, N)
    iterations: np.ndarray  # (B,)
    residual: np.ndarray  # (B,): the relative true residual ||b - A x|| / ||b||


def pcg_batched(mg: BatchedMultigrid, rhs: np.ndarray, rtol: float, maxiter: int = MAXITER) -> BatchedCgResult:
    """Preconditioned CG for every row of rhs (B, N) at once, with the per-sample A and M of ``mg``."""
    rhs = np.ascontiguousarray(rhs, dtype=np.float64)
    bnorm = np.sqrt(_rowdot(rhs, rhs))
    target = rtol * bnorm
    x = np.zeros_like(rhs)
    r = rhs.copy()
    iterations = np.zeros(len(rhs), dtype=int)
    active = bnorm > target
    z = mg.precondition(r)
    p = z.copy()
    rz = _rowdot(r, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        while active.any() and iterations.max() < maxiter:
            q = mg.matvec(p)
            alpha = np.where(active, rz / _rowdot(p, q), 0.0)[:, None]  # 0: a converged sample stays put
            x += alpha * p
            r -= alpha * q
            iterations += active
            active &= np.sqrt(_rowdot(r, r)) > target
            if not active.any():
                break
            z = mg.precondition(r)
            rz_new = _rowdot(r, z)
            beta = np.where(active, rz_new / rz, 0.0)[:, None]
            rz = np.where(active, rz_new, rz)
            p *= beta
            p += z
    final = rhs - mg.matvec(x)
    true = np.sqrt(_rowdot(final, final))
    relative = np.divide(true, bnorm, out=np.zeros_like(true), where=bnorm > 0)
    if not np.all(np.isfinite(x)) or np.any(true > 10.0 * target):
        worst = int(np.argmax(np.where(np.isfinite(relative), relative, np.inf)))
        raise SolverDiverged(
            f"multigrid CG did not converge in {iterations[worst]} iterations for sample {worst} "
            f"(relative residual {relative[worst]:.2e}, wanted {rtol:.0e}); try linear_solver='direct'"
        )
    return BatchedCgResult(x, iterations, relative)


def chunk_size(n: int, unknowns: int = CHUNK_UNKNOWNS) -> int:
    """Samples per sub-batch: about ``unknowns`` fine unknowns, at least 1."""
    return max(1, unknowns // (n - 1) ** 2)


def solve_multigrid(fine_data: np.ndarray, n: int, rhs: np.ndarray, rtol: float,
                    chunk: int | None = None) -> BatchedCgResult:
    """Solve A_b u_b = rhs for the (B, nnz) CSR values of :class:`~pdewb_darcy.darcy.Stencil` (n).

    The batch is solved in sub-batches of ``chunk`` samples (default :func:`chunk_size`):
    beyond a few ten thousand unknowns the level arrays leave the CPU caches and the
    time per sample grows again (measured on 2 cores under load: n = 64 fastest at
    8-12 samples, 1.3-1.9x slower at 32; n = 128 fastest at 3-6). Below that, more
    samples per call share the Python overhead. Sub-batches change no result.
    """
    fine_data = np.atleast_2d(fine_data)
    chunk = chunk or chunk_size(n)
    parts = []
    with threadpool_limits(limits=1, user_api="blas"):  # tiny dense coarse solves; the same bits in any caller
        for start in range(0, len(fine_data), chunk):
            mg = BatchedMultigrid(n, fine_data[start:start + chunk])
            parts.append(pcg_batched(mg, np.broadcast_to(rhs, (mg.B, mg.sizes[0])), rtol))
    return BatchedCgResult(*(np.concatenate([getattr(p, name) for p in parts])
                             for name in ("x", "iterations", "residual")))
