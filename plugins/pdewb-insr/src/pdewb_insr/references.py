"""Classical references advanced alongside an INSR run, sampled at the display points.

* "floor": the exact solution of the time-discrete scheme (:mod:`.floor`), what INSR's
  error should be read against;
* "reference": a grid solver (:mod:`.baselines`) with the same dt, on the display grid:
  Crank-Nicolson for advection, the stable-fluids MAC grid for Taylor-Green.
"""

from __future__ import annotations

import numpy as np

from .baselines.advection_grid import crank_nicolson
from .baselines.stable_fluids import MacGrid
from .floor import advection_floor, leray_projection, semi_lagrangian_collocated
from .problems.advection import gaussian_pulse
from .problems.taylor_green import taylor_green_velocity


class AdvectionReferences:
    """CN on a uniform grid of the display resolution, and the FFT floor, at points x (N, 1)."""

    def __init__(self, pde, integrator: str, dt: float, points: np.ndarray, n_grid: int = 400) -> None:
        self.pde, self.integrator, self.dt, self.x = pde, integrator, dt, points[:, 0]
        self.grid = np.linspace(pde.box.lower[0], pde.box.upper[0], n_grid + 1)
        self.u_grid, self.steps = gaussian_pulse(self.grid), 0

    def advance(self) -> dict[str, np.ndarray]:
        self.steps += 1
        self.u_grid = crank_nicolson(self.u_grid, self.pde.speed, self.dt, 1, self.grid[1] - self.grid[0])
        floor = advection_floor(gaussian_pulse, self.pde.speed, self.dt, self.steps, self.x, self.integrator)
        return {"reference": np.interp(self.x, self.grid, self.u_grid)[:, None], "floor": floor[:, None]}


class TaylorGreenReferences:
    """MAC stable fluids and the collocated fine-grid floor, both n x n periodic, at points (N, 2)."""

    def __init__(self, pde, integrator: str, dt: float, points: np.ndarray, n_grid: int = 64, n_floor: int = 128) -> None:
        self.dt, self.points = dt, points
        self.mac = MacGrid(n_grid)
        self.u, self.v = self.mac.sample(taylor_green_velocity)
        self.h_floor = 2.0 / n_floor
        axis = -1 + self.h_floor * np.arange(n_floor)
        X, Y = np.meshgrid(axis, axis, indexing="ij")
        self.floor = taylor_green_velocity(np.stack([X, Y], -1))

    def advance(self) -> dict[str, np.ndarray]:
        self.u, self.v = self.mac.step(self.u, self.v, self.dt)
        self.floor = leray_projection(semi_lagrangian_collocated(self.floor, self.dt, self.h_floor), self.h_floor)
        mac_nodes = self.mac.at_nodes(self.u, self.v).reshape(self.mac.n, self.mac.n, 2)
        return {"reference": periodic_lookup(mac_nodes, self.mac.h, self.points),
                "floor": periodic_lookup(self.floor, self.h_floor, self.points)}


def periodic_lookup(nodes: np.ndarray, h: float, points: np.ndarray) -> np.ndarray:
    """Values of a periodic node array (n, n, c) at points on [-1, 1]^2, bilinear (exact at nodes)."""
    from scipy import ndimage

    index = ((points + 1.0) / h).T
    return np.stack([ndimage.map_coordinates(nodes[..., c], index, order=1, mode="grid-wrap")
                     for c in range(nodes.shape[-1])], -1)


REFERENCES = {"advection_1d": AdvectionReferences, "taylor_green": TaylorGreenReferences}
