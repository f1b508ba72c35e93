"""Navier-Stokes 2D vorticity: Taylor-Green exact decay (CN order 2), invariants, batching, divergence."""

import math

import numpy as np
import pytest
import torch
from pdewb_spectral.common import make_generator
from pdewb_spectral.navier_stokes import VorticityStepper, grf_periodic_2d, grid_points, solve_batch

from workbench.core.errors import ParamError, SolverDiverged

K = 2.0 * math.pi


def taylor_green(n):
    """w0 = 2 k cos(kx) cos(ky): psi = w0 / (2 k^2) is a Laplacian eigenfunction, so u . grad w = 0."""
    p = grid_points(n)
    x, y = (torch.tensor(p[:, i].reshape(n, n)) for i in (0, 1))
    return 2.0 * K * torch.cos(K * x) * torch.cos(K * y)


def tg_error(nu, dt, t_end=1.0, n=32):
    w0 = taylor_green(n)
    w = solve_batch(w0[None], nu, dt, t_end, 1, "cpu", cfl_max=5.0)[0, -1]
    exact = w0 * math.exp(-2.0 * nu * K ** 2 * t_end)
    return float((w - exact).norm() / exact.norm())


def test_taylor_green_decays_exactly():
    error = tg_error(1e-3, 1e-3)
    print(f"\nTaylor-Green nu = 1e-3, dt = 1e-3, t = 1: relative error {error:.2e}")
    assert error < 1e-10


def test_crank_nicolson_is_second_order():
    dts = (0.1, 0.05, 0.025)
    errors = [tg_error(1e-2, dt) for dt in dts]
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(len(dts) - 1)]
    print("\nTaylor-Green nu = 1e-2, time:", [f"{e:.2e}" for e in errors], "orders", [f"{p:.3f}" for p in orders])
    assert all(abs(p - 2.0) < 0.05 for p in orders)


def test_heun_advection_is_second_order_on_a_nonlinear_flow():
    """No exact solution: self-convergence of a GRF run (x20 amplitude) against a dt/8 reference."""
    w0 = 20.0 * grf_periodic_2d(1, 32, make_generator(5))
    ref = solve_batch(w0, 1e-3, 0.02 / 8, 0.4, 1, "cpu")[0, -1]
    errors = [float((solve_batch(w0, 1e-3, dt, 0.4, 1, "cpu")[0, -1] - ref).norm() / ref.norm())
              for dt in (0.02, 0.01)]
    # |w_dt - w_ref| ~ C (dt^2 - (dt/8)^2) for order 2: the two errors' ratio is (63/64) / (15/64),
    # so rescale it by (15/16) / (63/64) before taking log2
    order = math.log2(errors[0] / errors[1] * (15 / 16) / (63 / 64))
    print(f"\nNS GRF self-convergence: errors {errors[0]:.2e}, {errors[1]:.2e}, observed order {order:.2f}")
    assert 1.9 < order < 2.1


def test_unforced_grf_decays_and_keeps_zero_mean():
    w0 = 20.0 * grf_periodic_2d(2, 32, make_generator(3))
    stepper = VorticityStepper(w0, 1e-3, 2e-3, None)
    history = []
    for _ in range(30):
        history.append(stepper.diagnostics())
        for _ in range(10):
            stepper.step()
    energy = torch.stack([h["energy"] for h in history])
    enstrophy = torch.stack([h["enstrophy"] for h in history])
    mean = torch.stack([h["mean_w"] for h in history])
    print(f"\nunforced GRF: enstrophy {enstrophy[0].tolist()} -> {enstrophy[-1].tolist()}, "
          f"energy {energy[0].tolist()} -> {energy[-1].tolist()}, max|mean w| {float(mean.abs().max()):.1e}")
    assert bool((enstrophy[1:] < enstrophy[:-1]).all()) and bool((energy[1:] < energy[:-1]).all())
    assert float(mean.abs().max()) < 1e-14


def test_grf_2d_variance_matches_the_covariance():
    w = grf_periodic_2d(2000, 16, make_generator(4))
    m = np.fft.fftfreq(16, 1 / 16)
    k2 = m[:, None] ** 2 + m[None, :] ** 2
    lam = 7.0 ** 1.5 * (4 * np.pi ** 2 * k2 + 49.0) ** -2.5
    lam[0, 0] = 0.0
    observed, expected = float(w.var()), float(lam.sum())
    print(f"\nGRF 2D variance: observed {observed:.4e}, expected {expected:.4e}")
    assert abs(observed / expected - 1.0) < 0.05 and float(w.mean(dim=(1, 2)).abs().max()) < 1e-15


def test_batched_equals_one_at_a_time():
    w0 = 20.0 * grf_periodic_2d(3, 32, make_generator(6))
    p = grid_points(32)
    f = torch.tensor(0.1 * (np.sin(2 * np.pi * (p[:, 0] + p[:, 1])) + np.cos(2 * np.pi * (p[:, 0] + p[:, 1]))))
    f = f.reshape(32, 32)
    batched = solve_batch(w0, 1e-4, 5e-3, 0.5, 2, "cpu", forcing=f)
    single = torch.cat([solve_batch(w0[i:i + 1], 1e-4, 5e-3, 0.5, 2, "cpu", forcing=f) for i in range(3)])
    assert batched.shape == (3, 3, 32, 32) and batched.dtype == torch.float64
    difference = float((batched - single).abs().max())
    print(f"\nNS batched vs one at a time: max difference {difference:.1e}")
    assert difference < 1e-12


def test_huge_dt_raises_solver_diverged_naming_step_time_and_cfl():
    w0 = 20.0 * grf_periodic_2d(1, 32, make_generator(7))
    with pytest.raises(SolverDiverged, match=r"CFL number .* exceeds 1 at step 1 \(t = 0"):
        solve_batch(w0, 1e-3, 1.0, 5.0, 1, "cpu")


def test_blow_up_during_the_run_is_caught_before_nan():
    """A step that is stable at first but grows: the error names a later step, never NaN frames."""
    w0 = 20.0 * grf_periodic_2d(1, 32, make_generator(7))
    with pytest.raises(SolverDiverged, match=r"at step \d+"):
        solve_batch(w0, 1e-5, 0.2, 50.0, 1, "cpu", cfl_max=1e30)


@pytest.mark.parametrize("nu", [0.0, -1e-3])
def test_bad_viscosity_is_a_param_error(nu):
    with pytest.raises(ParamError, match="nu"):
        solve_batch(torch.zeros(1, 16, 16, dtype=torch.float64), nu, 1e-3, 0.1, 1, "cpu")


def test_odd_grid_is_a_param_error():
    with pytest.raises(ParamError, match="even"):
        solve_batch(torch.zeros(1, 15, 15, dtype=torch.float64), 1e-3, 1e-3, 0.1, 1, "cpu")


def plain_step(w_hat, nu, dt, f_hat, n):
    """One CN + Heun step as the module docstring writes it, with rfft2/irfft2 and a 2D mask."""
    m_y, m_x = torch.fft.fftfreq(n, 1 / n, dtype=torch.float64), torch.fft.rfftfreq(n, 1 / n, dtype=torch.float64)
    mask = ((3 * m_y.abs()[:, None] < n) & (3 * m_x[None, :] < n)).double()
    ky, kx = 2 * math.pi * m_y[:, None], 2 * math.pi * m_x[None, :]
    k2 = kx ** 2 + ky ** 2
    inv_k2 = torch.where(k2 == 0, 0.0, 1 / torch.where(k2 == 0, 1.0, k2))

    def advection(w):
        psi = w * inv_k2
        u, v, wx, wy = (torch.fft.irfft2(s, s=(n, n)) for s in (1j * ky * psi, -1j * kx * psi, 1j * kx * w, 1j * ky * w))
        return -torch.fft.rfft2(u * wx + v * wy) * mask

    explicit, implicit = 1 - 0.5 * dt * nu * k2, 1 / (1 + 0.5 * dt * nu * k2)
    n0 = advection(w_hat)
    rhs = explicit * w_hat + dt * f_hat
    w_star = implicit * (rhs + dt * n0)
    return implicit * (rhs + 0.5 * dt * (n0 + advection(w_star))), mask


def test_stepper_equals_the_plain_2d_formulation_to_rounding():
    """The kept-modes layout and the regrouped factors change rounding only."""
    n, nu, dt = 32, 1e-3, 5e-3
    w0 = 20.0 * grf_periodic_2d(3, n, make_generator(9))
    p = grid_points(n)
    f = torch.tensor(0.1 * np.sin(2 * np.pi * (p[:, 0] + p[:, 1]))).reshape(n, n)
    stepper = VorticityStepper(w0, nu, dt, f)
    _, mask = plain_step(torch.fft.rfft2(w0), nu, dt, torch.fft.rfft2(f), n)
    w_hat, f_hat = torch.fft.rfft2(w0) * mask, torch.fft.rfft2(f) * mask
    for _ in range(20):
        stepper.step()
        w_hat, _ = plain_step(w_hat, nu, dt, f_hat, n)
    plain = torch.fft.irfft2(w_hat, s=(n, n))
    difference = float((stepper.vorticity() - plain).abs().max() / plain.abs().max())
    print(f"\nNS stepper vs plain rfft2 formulation after 20 steps: relative difference {difference:.1e}")
    assert difference < 1e-13


def test_chunks_and_threads_change_no_value(monkeypatch):
    from pdewb_spectral import common

    w0 = 20.0 * grf_periodic_2d(5, 16, make_generator(2))
    threads = torch.get_num_threads()
    whole = solve_batch(w0, 1e-3, 1e-2, 0.1, 2, "cpu")
    monkeypatch.setattr(common, "CHUNK_SAMPLES", 2)
    assert torch.equal(solve_batch(w0, 1e-3, 1e-2, 0.1, 2, "cpu"), whole)  # chunks of 2, 2, 1
    assert torch.get_num_threads() == threads
    with common.cpu_threads(1):
        assert torch.get_num_threads() == 1
        with common.cpu_threads(1):
            pass
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == threads
