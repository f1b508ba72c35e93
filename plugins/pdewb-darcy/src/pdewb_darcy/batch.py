"""Batched Darcy solves for data generation, with reuse across samples.

``solve_batch(coefficients, f, method)`` solves -div(a_b grad u_b) = f for every
coefficient a_b of a batch (B, n+1, n+1) and returns u (B, n+1, n+1). All methods
assemble with the same :class:`~pdewb_darcy.darcy.Stencil` (pattern built once).
The iterative methods stop at ||b - A x|| <= 1e-10 ||b|| (they agree with the
direct solves to ~1e-12 relative, measured; checked by the tests at 1e-8).

Methods:

``multigrid`` (the fastest; the data-set default)
    All B systems at once: CG preconditioned by a geometric multigrid V-cycle with
    Galerkin coarse operators, vectorised over the batch
    (:mod:`pdewb_darcy.multigrid`). What reuses work across samples is the structure:
    interpolations, coarse patterns and the Galerkin maps are built once per grid
    size, every kernel runs once per level for the whole batch. Each sample still has
    its own operator hierarchy, so iterations stay at 10-12 for any n (a hierarchy
    shared across samples is what made ``shared-preconditioner`` slow). A sample's
    result does not depend on its batch, bit for bit.
``independent``
    ``scipy.sparse.linalg.spsolve`` per sample, default options: the plain baseline.
``direct``
    SuperLU per sample with the symmetric minimum-degree ordering (a tuned direct
    baseline, reported for honesty: it is what a careful user would do without reuse).
``amg-per-sample``
    A new Ruge-Stueben hierarchy per sample, CG preconditioned by one V-cycle.
``shared-preconditioner``
    One hierarchy, built from the matrix of the pointwise *mean* coefficient of the
    batch, is the CG preconditioner for every sample (the setup is paid once). The
    5-point matrices of a batch differ only in their coefficients (contrast 4), so the
    mean-coefficient operator is spectrally equivalent to each of them within a factor
    <= 4, and the shared V-cycle stays a good preconditioner.
``recycled``
    Sorting Krylov Recycling in the sense of SKR (``shared/papers/skr.md``), adapted to
    SPD systems and CG:

    1. *sort*: the samples are ordered by a greedy nearest-neighbour tour in the L1
       distance of their coefficients (start at the sample closest to the batch mean),
       so consecutive systems are similar;
    2. *shared preconditioner*: the hierarchy of ``shared-preconditioner``;
    3. *warm start*: x_0 = the solution of the previous system in the tour (f is the
       same for every sample);
    4. *recycled deflation space*: deflated PCG (see :mod:`pdewb_darcy.krylov`) with a
       k-dimensional space W (default k = 8) of approximate eigenvectors of M A
       for the smallest eigenvalues, computed after each solve as Ritz vectors for
       the *next* matrix from span(previous W, preconditioned residuals of this
       solve) and carried from system to system.

``recycled-amg``
    Steps 1 and 3 only (sorted tour, warm start) with a new hierarchy per sample as in
    ``amg-per-sample``; no deflation, because the Ritz update needs one fixed M.

    Limits: this is deflated CG with Ritz vectors (RCG / def-CG), not GCRO-DR with
    harmonic Ritz vectors (that is the nonsymmetric variant SKR uses with GMRES); the
    Ritz update costs (k + m) mat-vecs and O((k + m)^2 N) dense work per sample
    (m = stored residuals, at most ``store``), which the saved iterations must pay
    for; the space needs the same preconditioner for the whole batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse.linalg as spla
from threadpoolctl import threadpool_limits

from .darcy import Stencil, check_n, source_values
from .krylov import CG_RTOL, DirectSolver, amg_hierarchy, pcg, ritz_update
from .multigrid import solve_multigrid

METHODS = ("multigrid", "independent", "direct", "amg-per-sample", "shared-preconditioner", "recycled",
           "recycled-amg")


@dataclass
class BatchResult:
    solutions: np.ndarray  # (B, n+1, n+1)
    method: str
    iterations: np.ndarray  # (B,), CG iterations per sample (0 for direct solves), in input order
    seconds: float  # total wall time, set-up included
    setup_seconds: float = 0.0  # shared set-up (hierarchy, sorting)
    order: np.ndarray | None = None  # solve order (recycled)
    info: dict = field(default_factory=dict)

    @property
    def seconds_per_sample(self) -> float:
        return self.seconds / max(len(self.iterations), 1)


def greedy_order(coefficients: np.ndarray) -> np.ndarray:
    """A nearest-neighbour tour through the samples in the L1 distance of their coefficients."""
    B = coefficients.shape[0]
    flat = coefficients.reshape(B, -1)
    mean = flat.mean(axis=0)
    current = int(np.argmin(np.abs(flat - mean).sum(axis=1)))
    left = np.ones(B, dtype=bool)
    order = []
    for _ in range(B):
        order.append(current)
        left[current] = False
        if not left.any():
            break
        candidates = np.flatnonzero(left)
        distance = np.abs(flat[candidates] - flat[current]).sum(axis=1)
        current = int(candidates[np.argmin(distance)])
    return np.asarray(order)


def run_batch(coefficients, f=1.0, method: str = "multigrid", rtol: float = CG_RTOL, k: int = 8,
              store: int = 30, sort: bool = True, warm_start: bool = True, progress=None) -> BatchResult:
    """Solve the batch with ``method`` and report iterations and wall time."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    a = np.asarray(coefficients, dtype=np.float64)
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"coefficients must have shape (B, n+1, n+1), got {a.shape}")
    B, n = a.shape[0], check_n(a.shape[1] - 1)
    start = time.perf_counter()
    stencil = Stencil(n)
    rhs = stencil.rhs(source_values(f, n))
    out = np.zeros((B, n + 1, n + 1))
    if method == "multigrid":  # the whole batch at once
        with threadpool_limits(limits=1, user_api="blas"):
            result = solve_multigrid(stencil.csr_data(a), n, rhs, rtol)
        out[:, 1:-1, 1:-1] = result.x.reshape(B, n - 1, n - 1)
        if progress is not None:
            progress(B, B)
        return BatchResult(out, method, result.iterations, time.perf_counter() - start)
    iterations = np.zeros(B, dtype=int)
    setup = 0.0
    order = np.arange(B)
    info: dict = {}
    with threadpool_limits(limits=1, user_api="blas"):
        if method in ("shared-preconditioner", "recycled"):
            t0 = time.perf_counter()
            M = amg_hierarchy(stencil.matrix(a.mean(axis=0))).aspreconditioner(cycle="V")
            setup = time.perf_counter() - t0
        if method in ("recycled", "recycled-amg") and sort:
            t0 = time.perf_counter()
            order = greedy_order(a)
            setup += time.perf_counter() - t0
        x_prev, deflation = None, None
        for step, b in enumerate(order):
            A = stencil.matrix(a[b])
            if method == "independent":
                x = spla.spsolve(A.tocsc(), rhs)
            elif method == "direct":
                x = DirectSolver(A).solve(rhs)
            elif method == "amg-per-sample":
                result = pcg(A, rhs, amg_hierarchy(A).aspreconditioner(cycle="V"), rtol=rtol)
                x, iterations[b] = result.x, result.iterations
            elif method == "shared-preconditioner":
                result = pcg(A, rhs, M, rtol=rtol)
                x, iterations[b] = result.x, result.iterations
            elif method == "recycled-amg":
                result = pcg(A, rhs, amg_hierarchy(A).aspreconditioner(cycle="V"),
                             x0=x_prev if warm_start else None, rtol=rtol)
                x, iterations[b] = result.x, result.iterations
                x_prev = x
            else:  # recycled
                result = pcg(A, rhs, M, x0=x_prev if warm_start else None, rtol=rtol,
                             deflation=deflation, store=store if k > 0 else 0)
                x, iterations[b] = result.x, result.iterations
                x_prev = x
                if k > 0 and step + 1 < B:
                    deflation = ritz_update(stencil.matrix(a[order[step + 1]]), k, result, deflation)
            out[b] = stencil.expand(x)
            if progress is not None:
                progress(step + 1, B)
    seconds = time.perf_counter() - start
    return BatchResult(out, method, iterations, seconds, setup, order, info)


def solve_batch(coefficients, f=1.0, method: str = "multigrid", **options) -> np.ndarray:
    """u (B, n+1, n+1) for coefficients (B, n+1, n+1) and source f (number, expression, f(x, y) or array)."""
    return run_batch(coefficients, f, method, **options).solutions
