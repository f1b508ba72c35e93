"""Verification: observed orders of accuracy of the P1 solvers (run with -s to see them).

What is measured
----------------
Space (Poisson): manufactured solutions u on refined structured meshes. The errors
are ||u - u_h||_L2 and the H1 seminorm |u - u_h|_H1 = ||grad u - grad u_h||_L2, both
integrated with a collapsed Gauss rule on every simplex (exact for polynomials of
degree 6 in 2D and 5 in 3D, so the quadrature does not hide or add error), using the
exact u and grad u at the quadrature points, not only at the nodes.
P1 theory: L2 order 2, H1 order 1.

Time (heat): on one fixed mesh, the computed u_h(T) is compared with the exact
solution of the semi-discrete system M u' + K u = 0 (generalised eigen-decomposition),
so the spatial error cancels exactly and only the time-stepping error remains,
measured in the L2 norm of the P1 difference (workbench.core.metrics.l2_norm).
Theory: implicit Euler order 1, Crank-Nicolson order 2.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from workbench.core import BoundaryCondition, Frame, Problem, l2_norm
from workbench.core.meshgen import box_mesh, interval_mesh, rectangle_mesh
from pdewb_fem import heat, poisson

# -- error norms with high-order quadrature ------------------------------------------------


def simplex_rule(dim: int, points_per_axis: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric quadrature points (Q, dim + 1) and weights (Q,) summing to 1 on the reference simplex.

    Collapsed (Duffy) product of Gauss-Legendre rules: x_1 = s_1, x_2 = s_2 (1 - s_1),
    x_3 = s_3 (1 - s_1)(1 - s_2), Jacobian prod_i (1 - s_i)^(dim - i). With n points
    per axis it is exact for polynomials of degree 2n - dim.
    """
    nodes, weights = np.polynomial.legendre.leggauss(points_per_axis)
    nodes, weights = (nodes + 1) / 2, weights / 2
    grids = np.meshgrid(*[nodes] * dim, indexing="ij")
    s = np.stack([g.ravel() for g in grids], axis=1)
    w = np.prod(np.meshgrid(*[weights] * dim, indexing="ij"), axis=0).ravel()
    x = np.empty_like(s)
    scale = np.ones(len(s))
    for i in range(dim):
        x[:, i] = s[:, i] * scale
        w = w * (1 - s[:, i]) ** (dim - 1 - i)
        scale = scale * (1 - s[:, i])
    barycentric = np.column_stack([1 - x.sum(axis=1), x])
    return barycentric, w / w.sum()


def errors(mesh, u_h: np.ndarray, exact, exact_gradient) -> tuple[float, float]:
    """(||u - u_h||_L2, |u - u_h|_H1) by quadrature; grad u_h from the inverse edge matrix of each simplex."""
    simplices, dim = mesh.simplices, mesh.dim
    corners = mesh.points[simplices]  # (n, dim + 1, dim)
    barycentric, weights = simplex_rule(dim)
    x = np.einsum("qm,nmd->nqd", barycentric, corners).reshape(-1, dim)
    u_h_at_q = np.einsum("qm,nm->nq", barycentric, u_h[simplices])
    l2 = np.einsum("n,q,nq->", mesh.simplex_measures, weights, (exact(x).reshape(u_h_at_q.shape) - u_h_at_q) ** 2)
    edges = corners[:, 1:, :] - corners[:, :1, :]
    grad_lambda = np.linalg.inv(edges).transpose(0, 2, 1)  # rows: grad(lambda_1..dim)
    grad_lambda = np.concatenate([-grad_lambda.sum(axis=1, keepdims=True), grad_lambda], axis=1)
    grad_u_h = np.einsum("nm,nmd->nd", u_h[simplices], grad_lambda)
    difference = exact_gradient(x).reshape(len(simplices), -1, dim) - grad_u_h[:, None, :]
    h1 = np.einsum("n,q,nqd->", mesh.simplex_measures, weights, difference**2)
    return float(np.sqrt(l2)), float(np.sqrt(h1))


def observed_orders(sizes, errs) -> np.ndarray:
    """log(e_coarse / e_fine) / log(h_coarse / h_fine) for consecutive refinements."""
    h = 1.0 / np.asarray(sizes, dtype=float)
    e = np.asarray(errs)
    return np.log(e[:-1] / e[1:]) / np.log(h[:-1] / h[1:])


def solution(problem) -> np.ndarray:
    frames = [event for event in poisson.solve(problem) if isinstance(event, Frame)]
    assert len(frames) == 1 and frames[0].index == 0 and frames[0].time == 0.0
    return np.asarray(frames[0].fields["u"].values)


def report(title, sizes, columns: dict[str, list[float]]) -> dict[str, np.ndarray]:
    orders = {name: observed_orders(sizes, values) for name, values in columns.items()}
    print(f"\n{title}")
    print("    n  " + "  ".join(f"{name:>12s} {'order':>6s}" for name in columns))
    for i, n in enumerate(sizes):
        cells = [f"{columns[name][i]:12.4e} {orders[name][i - 1]:6.2f}" if i else f"{columns[name][i]:12.4e} {'':>6s}"
                 for name in columns]
        print(f"  {n:3d}  " + "  ".join(cells))
    return orders


# -- Poisson in 1D, 2D, 3D -------------------------------------------------------------------


def test_poisson_2d_mixed_conditions_converges_at_order_2_in_l2_and_1_in_h1():
    # u = sin(pi x) e^y + x^2 + y with k = 2: Dirichlet on left/bottom, Neumann flux
    # n . (k grad u) = g on right/top (given by formulas valid on those sides).
    k = 2.0
    exact = lambda p: np.sin(np.pi * p[:, 0]) * np.exp(p[:, 1]) + p[:, 0] ** 2 + p[:, 1]  # noqa: E731
    gradient = lambda p: np.column_stack(  # noqa: E731
        [np.pi * np.cos(np.pi * p[:, 0]) * np.exp(p[:, 1]) + 2 * p[:, 0], np.sin(np.pi * p[:, 0]) * np.exp(p[:, 1]) + 1]
    )
    u_text = "sin(pi*x)*exp(y) + x**2 + y"
    conditions = (
        BoundaryCondition("left", "dirichlet", u_text),
        BoundaryCondition("bottom", "dirichlet", u_text),
        BoundaryCondition("right", "neumann", f"{k}*(pi*cos(pi*x)*exp(y) + 2*x)"),
        BoundaryCondition("top", "neumann", f"{k}*(sin(pi*x)*exp(y) + 1)"),
    )
    params = {"conductivity": k, "source": f"{k}*((pi**2 - 1)*sin(pi*x)*exp(y) - 2)"}
    sizes, l2, h1 = [8, 16, 32, 64], [], []
    for n in sizes:
        mesh = rectangle_mesh(n)
        e0, e1 = errors(mesh, solution(Problem(mesh, "poisson", params, conditions)), exact, gradient)
        l2.append(e0)
        h1.append(e1)
    orders = report("2D Poisson, mixed Dirichlet/Neumann, k = 2", sizes, {"L2 error": l2, "H1 semi": h1})
    assert np.all((orders["L2 error"] > 1.85) & (orders["L2 error"] < 2.2)), orders
    assert np.all((orders["H1 semi"] > 0.9) & (orders["H1 semi"] < 1.2)), orders


def test_poisson_3d_converges_at_order_2_in_l2():
    # u = sin(pi x) sin(pi y) sin(pi z) + xyz: Dirichlet on five sides, Neumann du/dz on z = 1 ("back").
    exact = lambda p: np.prod(np.sin(np.pi * p), axis=1) + np.prod(p, axis=1)  # noqa: E731

    def gradient(p):
        s, c = np.sin(np.pi * p), np.cos(np.pi * p)
        columns = [np.pi * c[:, i] * np.prod(np.delete(s, i, axis=1), axis=1) + np.prod(np.delete(p, i, axis=1), axis=1)
                   for i in range(3)]
        return np.column_stack(columns)

    u_text = "sin(pi*x)*sin(pi*y)*sin(pi*z) + x*y*z"
    sides = ("left", "right", "bottom", "top", "front")
    conditions = tuple(BoundaryCondition(side, "dirichlet", u_text) for side in sides)
    conditions += (BoundaryCondition("back", "neumann", "pi*sin(pi*x)*sin(pi*y)*cos(pi*z) + x*y"),)
    params = {"source": "3*pi**2*sin(pi*x)*sin(pi*y)*sin(pi*z)"}
    sizes, l2, h1 = [6, 12, 24], [], []
    for n in sizes:
        mesh = box_mesh(n)
        e0, e1 = errors(mesh, solution(Problem(mesh, "poisson", params, conditions)), exact, gradient)
        l2.append(e0)
        h1.append(e1)
    orders = report("3D Poisson, Dirichlet + Neumann", sizes, {"L2 error": l2, "H1 semi": h1})
    assert 1.85 < orders["L2 error"][-1] < 2.2, orders
    assert 0.9 < orders["H1 semi"][-1] < 1.2, orders


def test_poisson_1d_converges_at_order_2_in_l2():
    exact = lambda p: np.exp(p[:, 0])  # noqa: E731  -u'' = -e^x, u(0) = 1, u'(1) = e
    conditions = (BoundaryCondition("left", "dirichlet", "1"), BoundaryCondition("right", "neumann", "exp(1)"))
    sizes = [8, 16, 32, 64]
    l2 = [errors(m, solution(Problem(m, "poisson", {"source": "-exp(x)"}, conditions)), exact, exact)[0]
          for m in map(interval_mesh, sizes)]
    orders = report("1D Poisson, Dirichlet + Neumann", sizes, {"L2 error": l2})
    assert np.all((orders["L2 error"] > 1.85) & (orders["L2 error"] < 2.2)), orders


# -- heat: temporal order --------------------------------------------------------------------


def semi_discrete_solution(mesh, initial: np.ndarray, t: float) -> np.ndarray:
    """Exact solution of M u' + K u = 0, u = 0 on the boundary: u(t) = V exp(-Lambda t) V^T M u(0).

    V holds the M-orthonormal generalised eigenvectors of (K_ff, M_ff); built from an
    independent dense assembly so the test does not trust the code under test.
    """
    stiffness, mass = dense_p1_matrices(mesh)
    free = np.setdiff1d(np.arange(mesh.n_points), np.unique(mesh.boundary_facets()))
    eigenvalues, vectors = scipy.linalg.eigh(stiffness[np.ix_(free, free)], mass[np.ix_(free, free)])
    u = np.zeros(mesh.n_points)
    u[free] = vectors @ (np.exp(-eigenvalues * t) * (vectors.T @ (mass[np.ix_(free, free)] @ initial[free])))
    return u


def dense_p1_matrices(mesh) -> tuple[np.ndarray, np.ndarray]:
    """Dense P1 stiffness and mass matrices of a triangle mesh, one element at a time (fine for small meshes)."""
    stiffness, mass = np.zeros((mesh.n_points,) * 2), np.zeros((mesh.n_points,) * 2)
    for triangle in mesh.simplices:
        x = mesh.points[triangle]
        edges = x[1:] - x[0]
        area = abs(np.linalg.det(edges)) / 2
        grads = np.vstack([np.zeros(2), np.linalg.inv(edges).T])
        grads[0] = -grads[1:].sum(axis=0)
        stiffness[np.ix_(triangle, triangle)] += area * grads @ grads.T
        mass[np.ix_(triangle, triangle)] += area * (np.ones((3, 3)) + np.eye(3)) / 12
    return stiffness, mass


@pytest.mark.parametrize(("scheme", "low", "high"), [("implicit-euler", 0.9, 1.15), ("crank-nicolson", 1.85, 2.2)])
def test_heat_time_stepping_order(scheme, low, high):
    mesh, t_end = rectangle_mesh(12), 0.1
    initial = "sin(pi*x)*sin(pi*y)*(1 + x)"  # not an eigenfunction: many modes take part
    u0 = np.sin(np.pi * mesh.points[:, 0]) * np.sin(np.pi * mesh.points[:, 1]) * (1 + mesh.points[:, 0])
    reference = semi_discrete_solution(mesh, u0, t_end)
    steps, errs = [5, 10, 20, 40, 80], []
    for n_steps in steps:
        params = {"initial": initial, "t_end": t_end, "dt": t_end / n_steps, "scheme": scheme, "output_every": n_steps}
        problem = Problem(mesh, "heat", params, (BoundaryCondition("boundary", "dirichlet", "0"),))
        final = [e for e in heat.solve(problem) if isinstance(e, Frame)][-1]
        assert final.time == t_end
        errs.append(l2_norm(mesh, final.fields["u"].values - reference))
    # dt = t_end / n_steps, so the order in dt is the order in 1 / n_steps.
    orders = report(f"heat, {scheme}: error at t = {t_end} vs exact semi-discrete solution", steps, {"L2 error": errs})
    assert np.all((orders["L2 error"][1:] > low) & (orders["L2 error"][1:] < high)), orders
