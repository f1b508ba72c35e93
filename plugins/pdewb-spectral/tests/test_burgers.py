"""Burgers 1D: Cole-Hopf exact solution (spectral convergence in space, order 4 in time), GRF, job."""

import math

import numpy as np
import pytest
import torch
from pdewb_spectral.burgers import grf_periodic_1d, solve_batch
from pdewb_spectral.common import make_generator

from workbench.core.errors import ParamError, SolverDiverged

NU, T_END = 0.1, 0.2


def cole_hopf(x, t, nu):
    """u = -2 nu phi_x / phi, phi = 2 + cos(2 pi x) exp(-4 pi^2 nu t) solves phi_t = nu phi_xx."""
    a = math.exp(-4.0 * math.pi ** 2 * nu * t)
    return 4.0 * math.pi * nu * torch.sin(2 * math.pi * x) * a / (2.0 + torch.cos(2 * math.pi * x) * a)


def relative_error(n, dt, nu=NU, t_end=T_END, cfl_max=1.0):
    x = torch.arange(n, dtype=torch.float64) / n
    u = solve_batch(cole_hopf(x, 0.0, nu)[None], nu, dt, t_end, 1, "cpu", cfl_max=cfl_max)[0, -1]
    exact = cole_hopf(x, t_end, nu)
    return float((u - exact).norm() / exact.norm())


def test_spectral_convergence_in_space():
    errors = {n: relative_error(n, 1e-4) for n in (16, 32, 64)}
    print("\nBurgers Cole-Hopf, space (dt = 1e-4):", {n: f"{e:.2e}" for n, e in errors.items()},
          f"ratios {errors[16] / errors[32]:.3g}, {errors[32] / errors[64]:.3g}")
    assert errors[16] / errors[32] > 100 and errors[32] / errors[64] > 100
    assert errors[64] < 1e-11


def test_if_rk4_is_fourth_order_in_time():
    dts = (0.02, 0.01, 0.005)
    errors = [relative_error(128, dt, cfl_max=10.0) for dt in dts]
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(len(dts) - 1)]
    print("\nBurgers Cole-Hopf, time (n = 128):", [f"{e:.2e}" for e in errors], "orders", [f"{p:.2f}" for p in orders])
    assert orders[-1] > 3.7 and all(p > 3.4 for p in orders)


def test_grf_is_seeded_real_zero_mean_with_the_right_variance():
    a = grf_periodic_1d(20000, 64, make_generator(1))
    b = grf_periodic_1d(20000, 64, make_generator(1))
    assert torch.equal(a, b) and a.dtype == torch.float64
    assert float(a.mean(dim=1).abs().max()) < 1e-13
    # pointwise variance = sum over m != 0 of 625 (4 pi^2 m^2 + 25)^-2 (modes -31..32)
    m = np.arange(-31, 33)
    m = m[m != 0]
    expected = np.sum(625.0 * (4 * np.pi ** 2 * m ** 2 + 25.0) ** -2.0)
    observed = float(a.var())
    print(f"\nGRF 1D variance: observed {observed:.4f}, expected {expected:.4f}")
    assert abs(observed / expected - 1.0) < 0.03


def test_batched_equals_one_at_a_time():
    u0 = grf_periodic_1d(3, 128, make_generator(2))
    batched = solve_batch(u0, 0.01, 1e-3, 0.1, 2, "cpu")
    single = torch.cat([solve_batch(u0[i:i + 1], 0.01, 1e-3, 0.1, 2, "cpu") for i in range(3)])
    assert batched.shape == (3, 3, 128)
    assert float((batched - single).abs().max()) < 1e-12


def test_huge_dt_raises_solver_diverged_naming_the_step():
    u0 = grf_periodic_1d(2, 128, make_generator(0))
    with pytest.raises(SolverDiverged, match=r"step 1 .*CFL|CFL .* step 1"):
        solve_batch(u0, 1e-3, 0.5, 1.0, 1, "cpu")


@pytest.mark.parametrize("nu", [0.0, -0.1])
def test_bad_viscosity_is_a_param_error(nu):
    with pytest.raises(ParamError, match="nu"):
        solve_batch(torch.zeros(1, 16, dtype=torch.float64), nu, 1e-3, 0.1, 1, "cpu")


@pytest.mark.parametrize("n", [15, 6])
def test_bad_grid_size_is_a_param_error(n):
    with pytest.raises(ParamError, match="even and at least 8"):
        solve_batch(torch.zeros(1, n, dtype=torch.float64), 0.1, 1e-3, 0.1, 1, "cpu")


def test_stepper_equals_the_plain_if_rk4_to_rounding():
    """IF-RK4 as the module docstring writes it (full rfft spectrum, mask, four stages) vs the stepper."""
    from pdewb_spectral.burgers import BurgersStepper

    n, nu, dt = 256, 1e-2, 1e-3
    u0 = grf_periodic_1d(3, n, make_generator(4))
    m = torch.arange(n // 2 + 1, dtype=torch.float64)
    k, mask = 2 * math.pi * m, (3 * m < n).double()
    e = torch.exp(-nu * k ** 2 * dt / 2)

    def nonlinear(v):
        u = torch.fft.irfft(v, n=n)
        return -0.5j * k * mask * torch.fft.rfft(u * u)

    u_hat = torch.fft.rfft(u0) * mask
    stepper = BurgersStepper(u0, nu, dt)
    for _ in range(50):
        k1 = dt * nonlinear(u_hat)
        k2 = dt * nonlinear(e * (u_hat + 0.5 * k1))
        k3 = dt * nonlinear(e * u_hat + 0.5 * k2)
        k4 = dt * nonlinear(e * e * u_hat + e * k3)
        u_hat = e * e * u_hat + (e * e * k1 + 2 * e * (k2 + k3) + k4) / 6
        stepper.step()
    plain = torch.fft.irfft(u_hat, n=n)
    difference = float((stepper.physical() - plain).abs().max() / plain.abs().max())
    print(f"\nBurgers stepper vs plain IF-RK4 after 50 steps: relative difference {difference:.1e}")
    assert difference < 1e-13
