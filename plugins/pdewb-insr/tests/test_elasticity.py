"""Neo-Hookean stretching by the variational implicit Euler: energy, steps, the uniaxial equilibrium."""

import math

import numpy as np
import torch
from pdewb_insr.inner_solvers import GaussNewton, Lbfgs
from pdewb_insr.problems.elasticity import HyperelasticStretch, neo_hookean_energy, uniaxial_lateral_stretch
from pdewb_insr.simulation import InsrConfig, InsrSimulation
from pdewb_insr.simulation import run_to_end as drive

AXIS_X, AXIS_Y = np.linspace(-0.95, 0.95, 20), np.linspace(-0.45, 0.45, 10)
GRID = torch.tensor(np.stack(np.meshgrid(AXIS_X, AXIS_Y, indexing="ij"), -1).reshape(-1, 2))


def stretched_bar(support, dt, cap, width=12, points=256):
    config = InsrConfig("variational_implicit_euler", dt=dt, width=width, depth=2, omega_0=10.0, n_interior=points)
    sim = InsrSimulation(HyperelasticStretch(support=support), config, Lbfgs(max_iterations=cap),
                         GaussNewton(max_iterations=40))
    drive(sim.fit_initial())
    return sim


def diag(a, b):
    return torch.tensor([[a, 0.0], [0.0, b]], dtype=torch.float64)


def test_neo_hookean_energy_rest_state_and_uniaxial_root():
    assert abs(float(neo_hookean_energy(torch.eye(2, dtype=torch.float64)[None], 1.0, 1.0))) < 1e-15
    a = 1.1
    b = uniaxial_lateral_stretch(a)
    assert 0.9 < b < 1.0  # lateral contraction
    energy = [float(neo_hookean_energy(diag(a, b + s)[None], 1.0, 1.0)) for s in (-1e-5, 0.0, 1e-5)]
    assert abs(energy[2] - energy[0]) / 2e-5 < 1e-8  # dW/dF_22 = P_22 = 0 at b
    assert energy[1] < min(energy[0], energy[2])
    inverted = float(neo_hookean_energy(diag(1.0, -0.1)[None], 1.0, 1.0))
    assert math.isfinite(inverted) and inverted > 10.0  # the barrier's continuation: large, not NaN


def test_variational_steps_reduce_the_incremental_potential_without_inversion():
    sim = stretched_bar("clamped", dt=0.05, cap=25)
    pde = sim.pde
    initial = pde.energies(sim.field("u"), sim.field("u"), GRID, 0.05)["total_energy"]
    for _ in range(3):
        report = drive(sim.step())
        stage = report.stages[0]
        assert stage.loss < stage.initial_loss, stage
    energies = pde.energies(sim.field("u"), sim.field("u", sim.previous["u"]), GRID, 0.05)
    assert energies["min_J"] > 0.5
    assert energies["kinetic_energy"] > 0.0  # the clamped bar has started to contract
    assert energies["total_energy"] < 1.02 * initial, (energies, initial)  # implicit Euler: no energy gain


def test_uniaxial_stretch_equilibrium_is_homogeneous():
    """Rollers at both ends, free long sides: the minimiser is F = diag(1 + delta/2, b). dt = 1e3 makes
    the incremental potential the elastic energy (inertia weight rho / (2 dt^2) = 5e-7)."""
    sim = stretched_bar("rollers", dt=1e3, cap=100, width=16, points=400)
    drive(sim.step())
    pde = sim.pde
    a = 1.0 + pde.stretch / 2
    exact = diag(a, uniaxial_lateral_stretch(a))
    F = pde.deformation_gradient(sim.field("u"), GRID).detach()
    assert float((F - exact).abs().max()) < 0.05
    assert float((F.mean(0) - exact).abs().max()) < 3e-3
    elastic = pde.energies(sim.field("u"), sim.field("u"), GRID, 1e3)["elastic_energy"]
    exact_energy = pde.box.volume * float(neo_hookean_energy(exact[None], pde.mu, pde.lam))
    assert abs(elastic / exact_energy - 1) < 0.02, (elastic, exact_energy)
