"""A few INSR steps of each integrator: residual reduced, error bounded (against the floor)."""

import numpy as np
import pytest
import torch
from pdewb_insr.floor import advection_floor
from pdewb_insr.inner_solvers import AdamSchedule, GaussNewton, Lbfgs
from pdewb_insr.problems import Advection1D, PassiveScalar, TaylorGreen
from pdewb_insr.problems.advection import gaussian_pulse
from pdewb_insr.simulation import InsrConfig, InsrSimulation
from pdewb_insr.simulation import run_to_end as drive

X = np.linspace(-2, 2, 801)[:, None]
TINY = dict(width=16, depth=2, n_interior=150, n_boundary=8)


def advect(integrator, steps=3, dt=0.1, solver=None):
    sim = InsrSimulation(Advection1D(), InsrConfig(integrator, dt=dt, **TINY),
                         solver or GaussNewton(max_iterations=15), GaussNewton(max_iterations=60))
    drive(sim.fit_initial())
    reports = [drive(sim.step()) for _ in range(steps)]
    return sim, reports


def warm_start_loss(sim):
    """Loss of the next step's first stage at the warm start (before any inner iteration)."""
    stage = sim.stages[0]
    loss = sim.build_loss(stage)
    return float(loss(sim.state[stage.target]).detach()), loss


@pytest.mark.parametrize("integrator", ["explicit_euler", "implicit_euler", "midpoint"])
def test_advection_steps_reduce_the_residual_and_track_the_floor(integrator):
    sim, _ = advect(integrator, steps=2)
    before, loss = warm_start_loss(sim)
    result = drive(GaussNewton(max_iterations=15).minimize(loss, sim.state["u"]))
    assert result.loss < 1e-3 * before
    sim.state["u"] = result.theta
    u = sim.field_values("u", torch.tensor(X)).numpy()[:, 0]
    floor = advection_floor(gaussian_pulse, 0.25, 0.1, 3, X[:, 0], integrator)
    exact = gaussian_pulse(X[:, 0] - 0.25 * 0.3)
    error, floor_error = (np.linalg.norm(v - exact) / np.linalg.norm(exact) for v in (u, floor))
    assert error < 2 * floor_error + 0.01, (error, floor_error)


def test_implicit_euler_damps_more_than_the_midpoint_rule():
    norms = {}
    for integrator in ("implicit_euler", "midpoint"):
        sim, _ = advect(integrator, steps=3, dt=0.2)
        norms[integrator] = float(sim.field_values("u", torch.tensor(X)).norm())
    initial = float(np.linalg.norm(gaussian_pulse(X)))
    assert norms["implicit_euler"] < 0.97 * initial  # floor: |g|^3 damps this pulse by ~5 %
    assert abs(norms["midpoint"] / initial - 1) < 0.01
    assert norms["implicit_euler"] < norms["midpoint"]


@pytest.mark.parametrize("solver", [Lbfgs(max_iterations=20), AdamSchedule(lr=1e-4, max_iterations=30)])
def test_first_order_inner_solvers_reduce_the_residual(solver):
    sim, _ = advect("implicit_euler", steps=1)
    before, loss = warm_start_loss(sim)
    result = drive(solver.minimize(loss, sim.state["u"]))
    assert result.loss < 0.5 * before
    assert result.stop_reason in ("tolerance", "plateau", "iteration cap")


def test_gauss_newton_jacobian_is_the_residual_jacobian():
    sim, _ = advect("midpoint", steps=0)
    _, loss = warm_start_loss(sim)
    theta = sim.state["u"]
    assert torch.allclose(loss.jacobian(theta), torch.func.jacrev(loss.stacked)(theta), atol=1e-10)


def test_taylor_green_splitting_stages_reduce_residuals_and_keep_the_vortex():
    config = InsrConfig("splitting", dt=0.05, width=16, depth=2, n_interior=400, n_boundary=32)
    sim = InsrSimulation(TaylorGreen(), config, GaussNewton(max_iterations=10), GaussNewton(max_iterations=60))
    drive(sim.fit_initial())
    before, _ = warm_start_loss(sim)
    report = drive(sim.step())
    assert [s.name for s in report.stages] == ["advection", "pressure", "projection"]
    assert report.stages[0].loss < 0.1 * before
    assert report.stages[0].loss < 1e-3 and report.stages[2].loss < 1e-3, report.stages
    axis = np.linspace(-0.9, 0.9, 19)
    x = torch.tensor(np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2))
    u, exact = sim.field_values("u", x), TaylorGreen().exact(x, 0.05)
    assert float((u - exact).norm() / exact.norm()) < 0.2  # tiny net: ~0.12 measured (floor 0.0065): representation-limited


def test_passive_scalar_step_follows_the_rotation():
    """omega_0 = 10: at 30 the tiny network's frequency content outruns the sample spacing and the
    initial fit of the width-0.1 blob stalls (relative error ~1; docs/insr.md)."""
    config = InsrConfig("implicit_euler", dt=0.05, width=16, depth=2, omega_0=10.0, n_interior=400, n_boundary=32)
    sim = InsrSimulation(PassiveScalar(), config, GaussNewton(max_iterations=10), GaussNewton(max_iterations=40))
    drive(sim.fit_initial())
    axis = np.linspace(-1, 1, 41)
    x = torch.tensor(np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2))
    fit, exact0 = sim.field_values("phi", x), PassiveScalar().exact(x, 0.0)
    assert float((fit - exact0).norm() / exact0.norm()) < 0.05  # measured 0.013
    report = drive(sim.step())
    assert report.stages[0].loss < 0.1 * report.stages[0].initial_loss
    phi, exact = sim.field_values("phi", x), PassiveScalar().exact(x, 0.05)
    assert float((phi - exact).norm() / exact.norm()) < 0.1  # measured 0.059, mostly implicit Euler's damping
