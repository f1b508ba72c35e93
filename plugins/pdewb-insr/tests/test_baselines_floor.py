"""Convergence of the grid baselines and of the time-discretisation floor (observed orders)."""

import numpy as np
from pdewb_insr.baselines.advection_grid import crank_nicolson, grid_points, semi_lagrangian
from pdewb_insr.baselines.stable_fluids import MacGrid
from pdewb_insr.floor import advection_floor, taylor_green_floor
from pdewb_insr.problems.advection import gaussian_pulse
from pdewb_insr.problems.taylor_green import taylor_green_velocity

A = 0.25


def order(errors, ratio=2.0):
    return np.log(errors[0] / errors[-1]) / np.log(ratio ** (len(errors) - 1))


def rel(u, exact):
    return np.linalg.norm(u - exact) / np.linalg.norm(exact)


def test_crank_nicolson_is_second_order_in_time():
    x = grid_points(8000)
    errors = []
    for dt in (0.2, 0.1, 0.05):
        steps = int(round(1.0 / dt))
        errors.append(rel(crank_nicolson(gaussian_pulse(x), A, dt, steps, x[1] - x[0]), gaussian_pulse(x - A)))
    assert 1.8 < order(errors) < 2.2


def test_semi_lagrangian_linear_is_first_order_at_fixed_courant_number():
    errors = []
    for n in (200, 400, 800):
        x = grid_points(n)
        h = x[1] - x[0]
        dt = 0.7 * h / A  # a non-integer Courant number: integer ones shift exactly
        steps = int(round(0.5 / dt))
        errors.append(rel(semi_lagrangian(gaussian_pulse(x), A, dt, steps, h), gaussian_pulse(x - A * dt * steps)))
    assert 0.8 < order(errors) < 1.5


def test_floor_orders_and_midpoint_conserves_energy():
    x = np.linspace(-2, 2, 4001)
    exact = gaussian_pulse(x - A * 1.0)
    for integrator, expected in (("implicit_euler", 1.0), ("explicit_euler", 1.0), ("midpoint", 2.0)):
        errors = [rel(advection_floor(gaussian_pulse, A, dt, int(round(1 / dt)), x, integrator), exact)
                  for dt in (0.02, 0.01, 0.005)]
        assert abs(order(errors) - expected) < 0.2, (integrator, errors)
    nodes = np.arange(-2048, 2049) / 1024.0  # on the FFT grid: no interpolation
    midpoint = advection_floor(gaussian_pulse, A, 0.1, 10, nodes, "midpoint")
    assert abs(np.linalg.norm(midpoint) / np.linalg.norm(gaussian_pulse(nodes)) - 1) < 1e-10


def test_mac_stable_fluids_projects_and_converges_on_taylor_green():
    errors = []
    for n in (16, 32, 64):
        grid = MacGrid(n)
        u0, v0 = grid.sample(taylor_green_velocity)
        u, v = u0, v0
        dt = 1.6 / n  # fixed Courant number
        for _ in range(int(round(0.4 / dt))):
            u, v = grid.step(u, v, dt)
        assert np.abs(grid.divergence(u, v)).max() < 1e-10
        errors.append(np.sqrt(((u - u0) ** 2).sum() + ((v - v0) ** 2).sum()) / np.sqrt((u0 ** 2).sum() + (v0 ** 2).sum()))
    assert 0.7 < order(errors) < 1.5, errors


def test_taylor_green_floor_is_resolved_and_first_order_in_dt():
    coarse = taylor_green_floor(taylor_green_velocity, 0.1, 3, 64)[1]
    fine = taylor_green_floor(taylor_green_velocity, 0.1, 3, 128)[1].reshape(128, 128, 2)[::2, ::2].reshape(-1, 2)
    assert rel(coarse, fine) < 1e-3
    errors = []
    for dt in (0.1, 0.05):
        points, u = taylor_green_floor(taylor_green_velocity, dt, int(round(0.4 / dt)), 64)
        errors.append(rel(u, taylor_green_velocity(points)))
    assert 0.8 < order(errors) < 1.3, errors
