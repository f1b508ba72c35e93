"""Solvers for the sparse symmetric positive definite systems of P1 problems.

Each solver is built once from a matrix and then solves for many right-hand sides,
which is what time stepping needs: the LU factors, or the multigrid hierarchy,
are computed once and reused at every step.

* ``direct``: sparse LU (SuperLU) with a symmetric fill-reducing ordering
  (minimum degree on A^T + A, pivots kept on the diagonal). Exact to rounding,
  and cheapest for small and medium 2D problems, but its fill grows fast in 3D.
* ``amg-cg``: conjugate gradients preconditioned by one V-cycle of classical
  (Ruge-Stueben) algebraic multigrid (pyamg), stopped at ||b - A x|| <= rtol ||b||.
  Its cost grows about linearly with the number of unknowns. P1 Laplacians are
  M-matrices, the case classical AMG was designed for: on 5e5 unknowns it needs
  7 CG iterations and 1.0 s where smoothed aggregation needs 17 and 2.4 s
  (benchmarks/solver_crossover.py). BLAS runs single-threaded inside: setup and CG
  make many short vector calls; on an idle machine threads change nothing, but
  when another process held a core, OpenBLAS threads waiting for it made the
  smoothed-aggregation solve 7.0 s instead of 2.55 s.
* ``auto``: direct up to :data:`DIRECT_LIMIT` unknowns (by dimension; larger
  limits when one matrix serves many time steps), AMG-CG above.
"""

from __future__ import annotations

import numpy as np
import pyamg
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from threadpoolctl import threadpool_limits

from workbench.core.errors import ParamError, SolverDiverged

METHODS = ("auto", "direct", "amg-cg")

#: Largest system 'auto' solves directly, by spatial dimension, for one solve and
#: for many solves with the same matrix (time stepping: the factorisation is paid once,
#: then each step costs two triangular solves, much less than a CG solve).
#: Measured with this module on P1 matrices of the structured test meshes (2 cores,
#: best of 2; see benchmarks/solver_crossover.py):
#:   one solve, 2D:   2.5e4 unknowns LU 0.053 s vs AMG-CG 0.046 s; 1e5: 0.36 s vs 0.18 s
#:   one solve, 3D:   3.4e3 unknowns LU 0.019 s vs 0.018 s; 2.4e4: 1.2 s vs 0.12 s
#:   50 solves, 2D:   1e5 unknowns LU 1.2 s vs 4.5 s (LU still ahead)
#:   50 solves, 3D:   9.3e3 unknowns LU 0.40 s vs 0.80 s; 2.4e4: 3.2 s vs 2.0 s
DIRECT_LIMIT = {1: 10**7, 2: 20_000, 3: 3_000}
DIRECT_LIMIT_REPEATED = {1: 10**7, 2: 250_000, 3: 15_000}

#: Relative residual at which CG stops.
CG_RTOL = 1e-10


def choose_method(method: str, n_unknowns: int, dim: int, repeated: bool = False) -> str:
    """Resolve 'auto' to 'direct' or 'amg-cg' by problem size, dimension and number of solves."""
    if method not in METHODS:
        raise ParamError(f"linear_solver must be one of {', '.join(METHODS)}, not '{method}'")
    if method != "auto":
        return method
    limits = DIRECT_LIMIT_REPEATED if repeated else DIRECT_LIMIT
    return "direct" if n_unknowns <= limits.get(dim, limits[3]) else "amg-cg"


def spd_solver(matrix: sp.spmatrix, method: str = "auto", dim: int = 2, repeated: bool = False):
    """A reusable solver for the SPD ``matrix``: call ``solver.solve(b, x0=None)``.

    ``repeated`` says the matrix will be solved with many right-hand sides (time steps).
    """
    chosen = choose_method(method, matrix.shape[0], dim, repeated)
    return DirectSolver(matrix) if chosen == "direct" else AmgCgSolver(matrix)


class DirectSolver:
    """Sparse LU factors, computed once."""

    name = "direct"

    def __init__(self, matrix: sp.spmatrix) -> None:
        self.shape = matrix.shape
        if matrix.shape[0] == 0:
            self._factors = None
            return
        try:
            self._factors = spla.splu(
                sp.csc_matrix(matrix),
                permc_spec="MMD_AT_PLUS_A",  # symmetric ordering: much less fill than COLAMD for SPD matrices
                diag_pivot_thresh=0.0,  # SPD: diagonal pivots are stable, keep the symmetric ordering
                options={"SymmetricMode": True},
            )
        except RuntimeError as error:  # SuperLU says "Factor is exactly singular"
            raise SolverDiverged(
                f"the system matrix is singular ({error}); is every part of the domain constrained?"
            ) from None

    def solve(self, rhs: np.ndarray, x0: np.ndarray | None = None) -> np.ndarray:
        """x = A^{-1} rhs; ``x0`` is ignored (a direct solve needs no initial guess)."""
        if self._factors is None:
            return np.zeros(0)
        return self._factors.solve(np.asarray(rhs, dtype=np.float64))

    def describe(self) -> str:
        fill = self._factors.nnz if self._factors is not None else 0
        return f"sparse LU (SuperLU, minimum-degree ordering), {self.shape[0]} unknowns, {fill} nonzeros in the factors"


class AmgCgSolver:
    """CG preconditioned by a Ruge-Stueben AMG V-cycle; the hierarchy is built once."""

    name = "amg-cg"

    def __init__(self, matrix: sp.spmatrix, rtol: float = CG_RTOL, maxiter: int | None = None) -> None:
        self.matrix = sp.csr_matrix(matrix)
        self.rtol = rtol
        self.maxiter = maxiter or max(200, 10 * int(np.sqrt(matrix.shape[0])))
        self.iterations: int = 0
        self._hierarchy = None
        self._preconditioner = None
        if matrix.shape[0]:
            with threadpool_limits(limits=1, user_api="blas"):
                self._hierarchy = pyamg.ruge_stuben_solver(self.matrix)
            self._preconditioner = self._hierarchy.aspreconditioner(cycle="V")

    def solve(self, rhs: np.ndarray, x0: np.ndarray | None = None) -> np.ndarray:
        """Iterate until ||rhs - A x|| <= rtol ||rhs||; raise SolverDiverged if CG does not get there."""
        if self._hierarchy is None:
            return np.zeros(0)
        counter = _Counter()
        with threadpool_limits(limits=1, user_api="blas"):
            x, info = spla.cg(
                self.matrix, rhs, x0=x0, rtol=self.rtol, atol=0.0, maxiter=self.maxiter, M=self._preconditioner,
                callback=counter,
            )
        self.iterations = counter.count
        if info != 0 or not np.all(np.isfinite(x)):
            residual = np.linalg.norm(rhs - self.matrix @ x) / max(np.linalg.norm(rhs), np.finfo(float).tiny)
            raise SolverDiverged(
                f"AMG-preconditioned CG did not converge in {counter.count} iterations "
                f"(relative residual {residual:.2e}, wanted {self.rtol:.0e}); try linear_solver='direct'"
            )
        return x

    def describe(self) -> str:
        levels = len(self._hierarchy.levels) if self._hierarchy else 0
        return f"CG + Ruge-Stueben AMG ({levels} levels), {self.matrix.shape[0]} unknowns, rtol {self.rtol:.0e}"


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _xk) -> None:
        self.count += 1
