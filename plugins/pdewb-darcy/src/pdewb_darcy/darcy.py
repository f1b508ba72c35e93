"""Darcy flow -div(a grad u) = f on (0, 1)^2, u = 0 on the boundary, 5-point finite differences.

Grid: the (n + 1) x (n + 1) nodes x_i = i h, y_j = j h, h = 1 / n, numbered with x
fastest (the point order of :func:`workbench.core.meshgen.rectangle_mesh`); node
arrays are indexed [j, i] = [y, x]. The unknowns are the (n - 1)^2 interior nodes.
At an interior node

    (1/h^2) [ a_e (u_P - u_E) + a_w (u_P - u_W) + a_n (u_P - u_N) + a_s (u_P - u_S) ] = f_P,

where a_e is the coefficient on the face between P and its east neighbour E, etc.;
boundary neighbours carry u = 0 and drop out. The matrix is symmetric positive
definite (an M-matrix).

Face coefficients: the *harmonic* mean of the two node values,
a_e = 2 a_P a_E / (a_P + a_E). The flux between two nodes crosses a segment where a
jumps; for a piecewise-constant a that segment is two resistors in series, whose
exact conductance is the harmonic mean (the arithmetic mean over-estimates the flux
through a low-permeability layer by up to (1 + c)^2 / (4 c) = 1.56 for the contrast
c = 4 of the GRF coefficients). For smooth a both means equal a at the face midpoint
up to O(h^2), so the scheme stays second order (verified in the tests).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from workbench.core.errors import ParamError
from workbench.core.events import Event, Frame, LogMessage, Progress
from workbench.core.expressions import Expression
from workbench.core.field import Field
from workbench.core.memory import require_memory
from workbench.core.meshgen import rectangle_mesh
from workbench.core.params import resolve_params
from workbench.core.problem import Problem

from .plugin import DARCY

#: Peak memory of a darcy.fd run per grid node (the grid mesh, the solver, the frame and its
#: output): ``/usr/bin/time -v pdewb run --solver darcy.fd`` peaks 2.6 kB per node above the
#: interpreter's 78 MB at n = 512, 2.9 kB at n = 1024. Slightly under that, so only a run that
#: surely does not fit is refused (n = 30000 asked for 2 TB and the kernel killed the process).
RUN_BYTES_PER_NODE = 2_500


def check_n(n) -> int:
    """n must be an even integer >= 4 (one-line ParamError otherwise)."""
    if isinstance(n, bool) or int(n) != n:
        raise ParamError(f"darcy: n must be an integer, got {n!r}")
    n = int(n)
    if n < 4:
        raise ParamError(f"darcy: n = {n} is too small; need n >= 4")
    if n % 2:
        raise ParamError(f"darcy: n = {n} must be even")
    return n


def grid_mesh(params):
    """The solver's own grid: rectangle_mesh(n), (n + 1)^2 nodes on the unit square.

    Refused (NotEnoughMemory, one line) before anything is allocated when the run
    would not fit in the memory available (:data:`RUN_BYTES_PER_NODE`).
    """
    n = check_n(params["n"])
    require_memory((n + 1) ** 2 * RUN_BYTES_PER_NODE, f"{DARCY.id} with n = {n} ({(n + 1) ** 2:,} grid nodes)")
    return rectangle_mesh(n)


def node_coordinates(n: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y at the nodes, each (n + 1, n + 1) indexed [y, x]."""
    t = np.linspace(0.0, 1.0, n + 1)
    y, x = np.meshgrid(t, t, indexing="ij")
    return x, y


def face_mean(a: np.ndarray, b: np.ndarray, mean: str = "harmonic") -> np.ndarray:
    if mean == "harmonic":
        return 2.0 * a * b / (a + b)
    if mean == "arithmetic":
        return 0.5 * (a + b)
    raise ValueError(f"mean must be 'harmonic' or 'arithmetic', not {mean!r}")


class Stencil:
    """The fixed sparsity pattern of the 5-point matrix on an n x n grid.

    Built once per n; :meth:`matrix` then fills in the values for a coefficient with
    vectorised array operations only (one gather into the CSR data array), which is
    what a batch of thousands of samples needs.
    """

    def __init__(self, n: int) -> None:
        self.n = n = check_n(n)
        m = n - 1
        self.size = m * m
        idx = np.arange(self.size).reshape(m, m)  # [j-1, i-1]
        # COO triples in a fixed order: diagonal, then east/west/north/south couplings
        east_r, east_c = idx[:, :-1].ravel(), idx[:, 1:].ravel()
        north_r, north_c = idx[:-1, :].ravel(), idx[1:, :].ravel()
        rows = np.concatenate([idx.ravel(), east_r, east_c, north_r, north_c])
        cols = np.concatenate([idx.ravel(), east_c, east_r, north_c, north_r])
        order = sp.csr_matrix(
            (np.arange(1, len(rows) + 1, dtype=np.float64), (rows, cols)), shape=(self.size, self.size)
        )
        order.sort_indices()
        self._perm = order.data.astype(np.int64) - 1  # CSR slot -> COO entry
        self._indices = order.indices.copy()
        self._indptr = order.indptr.copy()

    def coo_values(self, a: np.ndarray, mean: str = "harmonic") -> np.ndarray:
        """Matrix entries in the COO order of the pattern, for node coefficients a (..., n+1, n+1).

        Leading batch axes are kept: a (B, n+1, n+1) gives (B, nnz)."""
        n = self.n
        a = np.asarray(a, dtype=np.float64)
        if a.shape[-2:] != (n + 1, n + 1):
            raise ValueError(f"coefficient shape {a.shape}, expected {(n + 1, n + 1)}")
        ax = face_mean(a[..., :, :-1], a[..., :, 1:], mean)  # (n+1, n): face between x-nodes i and i+1, row j
        ay = face_mean(a[..., :-1, :], a[..., 1:, :], mean)  # (n, n+1): face between y-nodes j and j+1, column i
        inv_h2 = float(n * n)
        west, east = ax[..., 1:-1, :-1], ax[..., 1:-1, 1:]  # at interior nodes (j, i) = 1..n-1
        south, north = ay[..., :-1, 1:-1], ay[..., 1:, 1:-1]
        batch = a.shape[:-2]
        diag = ((west + east + south + north) * inv_h2).reshape(*batch, -1)
        ex = (-ax[..., 1:-1, 1:-1] * inv_h2).reshape(*batch, -1)  # couplings between interior x-neighbours
        ny = (-ay[..., 1:-1, 1:-1] * inv_h2).reshape(*batch, -1)
        return np.concatenate([diag, ex, ex, ny, ny], axis=-1)

    def csr_data(self, a: np.ndarray, mean: str = "harmonic") -> np.ndarray:
        """The CSR data arrays (..., nnz) of the matrices for coefficients a (..., n+1, n+1),
        in the order of :attr:`indptr` / :attr:`indices` (sorted column indices)."""
        return self.coo_values(a, mean)[..., self._perm]

    @property
    def indptr(self) -> np.ndarray:
        return self._indptr

    @property
    def indices(self) -> np.ndarray:
        return self._indices

    def matrix(self, a: np.ndarray, mean: str = "harmonic") -> sp.csr_matrix:
        """The SPD system matrix for node coefficients a, shape (n+1, n+1) indexed [y, x]."""
        if np.ndim(a) != 2:
            raise ValueError(f"coefficient shape {np.shape(a)}, expected {(self.n + 1, self.n + 1)}")
        data = self.csr_data(a, mean)
        return sp.csr_matrix((data, self._indices.copy(), self._indptr.copy()), shape=(self.size, self.size))

    def rhs(self, f: np.ndarray) -> np.ndarray:
        """Interior values of the node source f (n+1, n+1) as the right-hand side (u = 0 on the boundary)."""
        return np.ascontiguousarray(np.asarray(f, dtype=np.float64)[1:-1, 1:-1]).ravel()

    def expand(self, interior: np.ndarray) -> np.ndarray:
        """Interior unknowns -> (n+1, n+1) node array with zeros on the boundary."""
        n = self.n
        u = np.zeros((n + 1, n + 1))
        u[1:-1, 1:-1] = np.asarray(interior).reshape(n - 1, n - 1)
        return u


def assemble(a: np.ndarray, mean: str = "harmonic") -> sp.csr_matrix:
    """One-off assembly: the matrix for node coefficients a (n+1, n+1)."""
    return Stencil(np.asarray(a).shape[0] - 1).matrix(a, mean)


def source_values(source, n: int) -> np.ndarray:
    """f at the nodes, (n+1, n+1): from a number, an expression text, a callable f(x, y) or an array."""
    x, y = node_coordinates(n)
    if isinstance(source, Expression):
        source = source.text
    if isinstance(source, str):
        points = np.column_stack([x.ravel(), y.ravel()])
        return Expression(source)(points).reshape(n + 1, n + 1)
    if callable(source):
        return np.broadcast_to(np.asarray(source(x, y), dtype=np.float64), x.shape).copy()
    values = np.asarray(source, dtype=np.float64)
    if values.ndim == 0:
        return np.full(x.shape, float(values))
    if values.shape != x.shape:
        raise ValueError(f"source shape {values.shape}, expected {x.shape}")
    return values


def solve_darcy(a: np.ndarray, source=1.0, linear_solver: str = "auto", mean: str = "harmonic"):
    """Solve one problem; returns (u at the nodes (n+1, n+1), solver description).

    'auto' is multigrid-preconditioned CG (:mod:`pdewb_darcy.multigrid`), the solver of
    the data sets, so a run with ``seed = s`` reproduces the data-set sample of seed s
    bit for bit; 'direct' and 'amg-cg' are :func:`pdewb_darcy.krylov.make_solver`'s.
    """
    from .krylov import CG_RTOL, make_solver
    from .multigrid import solve_multigrid

    a = np.asarray(a, dtype=np.float64)
    n = check_n(a.shape[0] - 1)
    stencil = Stencil(n)
    rhs = stencil.rhs(source_values(source, n))
    if linear_solver == "auto":
        result = solve_multigrid(stencil.csr_data(a, mean)[None], n, rhs, CG_RTOL)
        return stencil.expand(result.x[0]), (
            f"CG + geometric multigrid (Galerkin, V(1,1) Gauss-Seidel), {stencil.size} unknowns, "
            f"{result.iterations[0]} iterations to rtol {CG_RTOL:.0e}")
    solver = make_solver(stencil.matrix(a, mean), linear_solver)
    return stencil.expand(solver.solve(rhs)), solver.describe()


def coefficient_field(params) -> np.ndarray:
    """Node coefficient (n+1, n+1) for the resolved parameters."""
    n = check_n(params["n"])
    kind = params["coefficient"]
    if kind == "grf":
        from .grf import darcy_coefficients

        return darcy_coefficients(1, n, params["seed"])[0]
    if kind == "constant":
        value = params["coefficient_value"]
        return np.full((n + 1, n + 1), float(value))
    if kind == "expression":
        a = source_values(params["coefficient_expression"], n)
        if not np.all(np.isfinite(a)) or np.any(a <= 0.0):
            raise ParamError("darcy: the coefficient expression must be finite and positive at every node")
        return a
    raise ParamError(f"darcy: unknown coefficient kind {kind!r}")


def solve(problem: Problem) -> Iterator[Event]:
    """The job: build the coefficient, assemble, solve, yield one frame with u and a."""
    params = resolve_params(DARCY.params, problem.params)
    n = check_n(params["n"])
    mesh = problem.mesh
    if mesh.n_points != (n + 1) ** 2:
        raise ParamError(f"darcy: the mesh has {mesh.n_points} points, the grid for n = {n} has {(n + 1) ** 2}")
    yield Progress(0.0, f"coefficient '{params['coefficient']}' on the {n} x {n} grid")
    a = coefficient_field(params)
    yield Progress(0.2, f"assembling and solving for {(n - 1) ** 2} unknowns")
    u, description = solve_darcy(a, params["source"], params["linear_solver"])
    yield LogMessage(f"{DARCY.id}: {description}")
    yield Frame(0, 0.0, {"u": Field("u", u.ravel().copy(), "point"), "a": Field("a", a.ravel().copy(), "point")})
    yield Progress(1.0, "done")
