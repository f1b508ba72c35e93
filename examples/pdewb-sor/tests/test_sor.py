"""The SOR example: correct solves, a bandit that learns, and fewer iterations than Gauss-Seidel."""

import numpy as np
import pytest

from workbench.compute.runner import build_problem, run_solver
from workbench.core import RunStatus

import pdewb_sor.plugin
from pdewb_sor.bandit import Exp3
from pdewb_sor.sor import residual, solve_sor


@pytest.fixture
def pdewb_plugins():
    return [pdewb_sor.plugin]


def test_sor_solves_a_manufactured_problem():
    n, c = 32, 10.0
    x = np.linspace(0, 1, n + 1)
    xx, yy = np.meshgrid(x, x, indexing="xy")
    exact = np.sin(np.pi * xx) * np.sin(np.pi * yy)
    f = (2 * np.pi**2 + c) * exact
    u, iterations, relative = solve_sor(f, c, 1.8, 1e-10, 5000)
    assert relative <= 1e-10 and iterations < 300
    assert np.abs(u - exact).max() < 2e-3  # the 5-point scheme's O(h^2) error
    assert np.abs(residual(u, f, c, 1 / n)).max() <= 1e-10 * np.abs(f).max()


def test_exp3_learns_the_cheapest_arm_from_costs_alone():
    arms = np.linspace(1.0, 1.9, 10)
    bandit = Exp3(arms, rounds=3000, rng=np.random.default_rng(0))
    cost = lambda omega: 0.2 + 0.8 * abs(omega - 1.6)  # noqa: E731 - best arm: 1.6
    for _ in range(3000):
        arm = bandit.choose()
        bandit.update(arm, cost(arms[arm]))
    assert arms[np.argmax(bandit.probabilities)] == pytest.approx(1.6)


def test_the_tuned_sequence_needs_far_fewer_iterations_than_gauss_seidel(plugin_host):
    solver = plugin_host.solver("sor.sequence")
    common = {"n": 16, "instances": 12, "seed": 3}
    tuned = run_solver(solver, build_problem(solver, None, {**common, "policy": "bandit"}))
    gauss_seidel = run_solver(solver, build_problem(solver, None, {**common, "policy": "fixed", "omega": 1.0}))
    assert tuned.status is gauss_seidel.status is RunStatus.SUCCEEDED
    assert len(tuned.frames) == 12
    total = lambda run: sum(value for _, value in run.curves["iterations"])  # noqa: E731
    assert total(tuned) < 0.6 * total(gauss_seidel)
    assert "the bandit favours omega" in tuned.log[-1]
