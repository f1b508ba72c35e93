"""Manufactured solution with a smooth variable coefficient: observed order 2."""

import numpy as np
import pytest

from pdewb_darcy.darcy import node_coordinates, solve_darcy

PI = np.pi


def a_fun(x, y):
    return 1.0 + 0.5 * np.sin(2 * PI * x) * np.sin(2 * PI * y)


def u_fun(x, y):  # u = g(x) h(y), zero on the whole boundary
    return np.exp(x) * np.sin(PI * x) * (1 - y) * np.sin(PI * y)


def f_fun(x, y):
    """f = -div(a grad u) = -(a_x u_x + a_y u_y + a (u_xx + u_yy)), by hand."""
    g = np.exp(x) * np.sin(PI * x)
    g1 = np.exp(x) * (np.sin(PI * x) + PI * np.cos(PI * x))
    g2 = np.exp(x) * ((1 - PI**2) * np.sin(PI * x) + 2 * PI * np.cos(PI * x))
    h = (1 - y) * np.sin(PI * y)
    h1 = PI * (1 - y) * np.cos(PI * y) - np.sin(PI * y)
    h2 = -(PI**2) * (1 - y) * np.sin(PI * y) - 2 * PI * np.cos(PI * y)
    ax = PI * np.cos(2 * PI * x) * np.sin(2 * PI * y)
    ay = PI * np.sin(2 * PI * x) * np.cos(2 * PI * y)
    return -(ax * g1 * h + ay * g * h1 + a_fun(x, y) * (g2 * h + g * h2))


def test_source_matches_the_operator():
    """The hand-derived f agrees with -div(a grad u) by central differences of the exact functions."""
    rng = np.random.default_rng(0)
    x, y, e = rng.uniform(0.1, 0.9, 20), rng.uniform(0.1, 0.9, 20), 1e-4

    def flux_x(x, y):
        return a_fun(x, y) * (u_fun(x + e, y) - u_fun(x - e, y)) / (2 * e)

    def flux_y(x, y):
        return a_fun(x, y) * (u_fun(x, y + e) - u_fun(x, y - e)) / (2 * e)

    div = (flux_x(x + e, y) - flux_x(x - e, y)) / (2 * e) + (flux_y(x, y + e) - flux_y(x, y - e)) / (2 * e)
    assert np.allclose(-div, f_fun(x, y), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mean", ["harmonic", "arithmetic"])
def test_second_order(mean):
    ns = (16, 32, 64, 128)
    err_max, err_l2 = [], []
    for n in ns:
        x, y = node_coordinates(n)
        from pdewb_darcy.darcy import Stencil
        from pdewb_darcy.krylov import make_solver

        stencil = Stencil(n)
        A = stencil.matrix(a_fun(x, y), mean)
        u = stencil.expand(make_solver(A, "direct").solve(stencil.rhs(f_fun(x, y))))
        e = u - u_fun(x, y)
        err_max.append(np.abs(e).max())
        err_l2.append(np.sqrt(np.sum(e**2) / n**2))
    rate_max = np.log2(np.array(err_max[:-1]) / err_max[1:])
    rate_l2 = np.log2(np.array(err_l2[:-1]) / err_l2[1:])
    print(f"\n[{mean}] n = {ns}\n  max err {['%.3e' % v for v in err_max]} orders {np.round(rate_max, 3)}"
          f"\n  L2  err {['%.3e' % v for v in err_l2]} orders {np.round(rate_l2, 3)}")
    assert np.all(np.abs(rate_max - 2) < 0.1) and np.all(np.abs(rate_l2 - 2) < 0.1)


def test_solver_paths_agree_and_expression_source():
    n = 32
    x, y = node_coordinates(n)
    a = a_fun(x, y)
    u1, _ = solve_darcy(a, f_fun, "direct")
    u2, description = solve_darcy(a, f_fun, "amg-cg")
    assert "iterations" in description
    assert np.abs(u1 - u2).max() <= 1e-8 * np.abs(u1).max()
    # constant a = 1, f as expression text: compare with the callable form
    u3, _ = solve_darcy(np.ones_like(a), "2*pi**2*sin(pi*x)*sin(pi*y)", "direct")
    assert np.abs(u3 - np.sin(PI * x) * np.sin(PI * y)).max() < 2e-3
