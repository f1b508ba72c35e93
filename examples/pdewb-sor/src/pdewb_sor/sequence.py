"""The sequence solver: K shifted Poisson problems, one SOR solve each, omega chosen per solve."""

from __future__ import annotations

import numpy as np

from workbench.core import Field, Frame, LogMessage, Progress, Scalars
from workbench.core.meshgen import rectangle_mesh

from .bandit import Exp3
from .sor import red_black_masks, solve_sor


def grid_mesh(params):
    """The grid as a mesh: points row by row (x fastest), the order of the frames' values."""
    return rectangle_mesh(params["n"])


def instance(n: int, shift_max: float, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """(c_k, f_k): a random shift and a Gaussian source at a random place."""
    x = np.linspace(0.0, 1.0, n + 1)
    xx, yy = np.meshgrid(x, x, indexing="xy")
    cx, cy = rng.uniform(0.2, 0.8, size=2)
    return float(rng.uniform(0.0, shift_max)), 100 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 0.02)


def solve(problem):
    p = problem.params
    rng = np.random.default_rng(p["seed"])
    arms = np.linspace(1.0, 1.95, p["arms"])
    bandit = Exp3(arms, p["instances"], np.random.default_rng([p["seed"], 1])) if p["policy"] == "bandit" else None
    masks = red_black_masks(p["n"])
    total = 0
    for k in range(p["instances"]):
        shift, source = instance(p["n"], p["shift_max"], rng)
        arm = bandit.choose() if bandit else -1
        omega = float(arms[arm]) if bandit else p["omega"]
        u, iterations, relative = solve_sor(source, shift, omega, p["tolerance"], p["max_iterations"], masks)
        if bandit:
            bandit.update(arm, iterations / p["max_iterations"])
        total += iterations
        yield Frame(k, float(k), {"u": Field("u", u.ravel())})
        yield Scalars(k, {"iterations": iterations, "omega": omega, "shift": shift})
        yield Progress((k + 1) / p["instances"], f"system {k + 1}: omega {omega:.3f}, {iterations} iterations")
        if relative > p["tolerance"]:
            yield LogMessage(f"system {k + 1} stopped at max_iterations (residual {relative:.1e})", "warning")
    summary = f"{p['instances']} systems, {total} SOR iterations in all"
    if bandit:
        favourite = int(np.argmax(bandit.probabilities))
        summary += f"; the bandit favours omega = {arms[favourite]:.3f} (p = {bandit.probabilities[favourite]:.2f})"
    yield LogMessage(summary)
