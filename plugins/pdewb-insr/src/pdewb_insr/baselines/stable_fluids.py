"""Stable fluids on a periodic MAC grid (Stam 1999; Bridson, Fluid Simulation, ch. 2-5).

Staggered unknowns on [-1, 1)^2 with n cells per side, h = 2 / n:
u[i, j] at (-1 + i h, -1 + (j + 1/2) h), v[i, j] at (-1 + (i + 1/2) h, -1 + j h),
pressure at cell centres. One step:

    advection:   u*(X) = u^n(X - dt u^n(X))     (bilinear interpolation, first-order backtrace)
    pressure:    L p = div_h u* / dt            (5-point Laplacian, periodic: solved by FFT)
    projection:  u^{n+1} = u* - dt grad_h p     (div_h u^{n+1} = 0 to rounding)

The same splitting as INSR's fluid integrator, on a grid.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


class MacGrid:
    def __init__(self, n: int) -> None:
        self.n, self.h = n, 2.0 / n
        i = np.arange(n)
        self.u_x, self.u_y = np.meshgrid(-1 + i * self.h, -1 + (i + 0.5) * self.h, indexing="ij")
        self.v_x, self.v_y = np.meshgrid(-1 + (i + 0.5) * self.h, -1 + i * self.h, indexing="ij")

    @property
    def n_values(self) -> int:
        """Floats stored: u and v faces (pressure is a temporary)."""
        return 2 * self.n * self.n

    def sample(self, velocity) -> tuple[np.ndarray, np.ndarray]:
        """Face values of a velocity function of points (N, 2) -> (N, 2)."""
        u = velocity(np.stack([self.u_x.ravel(), self.u_y.ravel()], -1))[:, 0].reshape(self.n, self.n)
        v = velocity(np.stack([self.v_x.ravel(), self.v_y.ravel()], -1))[:, 1].reshape(self.n, self.n)
        return u, v

    def step(self, u: np.ndarray, v: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        u_star, v_star = self.advect(u, v, dt)
        return self.project(u_star, v_star, dt)

    def advect(self, u: np.ndarray, v: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        h = self.h
        # velocity at u faces: own u, v averaged from the 4 surrounding v faces; likewise at v faces
        v_at_u = 0.25 * (v + np.roll(v, 1, 0) + np.roll(v, -1, 1) + np.roll(np.roll(v, 1, 0), -1, 1))
        u_at_v = 0.25 * (u + np.roll(u, -1, 0) + np.roll(u, 1, 1) + np.roll(np.roll(u, -1, 0), 1, 1))
        index = np.indices((self.n, self.n), dtype=float)
        # index coordinates: u[i, j] sits at index (i, j) of the u array; departure points in the u and v index spaces
        u_dep = index - dt * np.stack([u, v_at_u]) / h
        v_dep = index - dt * np.stack([u_at_v, v]) / h
        return (ndimage.map_coordinates(u, u_dep, order=1, mode="grid-wrap"),
                ndimage.map_coordinates(v, v_dep, order=1, mode="grid-wrap"))

    def divergence(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return (np.roll(u, -1, 0) - u + np.roll(v, -1, 1) - v) / self.h

    def project(self, u: np.ndarray, v: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        k = 2 * np.pi * np.fft.fftfreq(self.n)
        eigen = (2 * np.cos(k)[:, None] + 2 * np.cos(k)[None, :] - 4) / self.h ** 2
        eigen[0, 0] = 1.0
        p_hat = np.fft.fft2(self.divergence(u, v) / dt) / eigen
        p_hat[0, 0] = 0.0
        p = np.fft.ifft2(p_hat).real
        return (u - dt * (p - np.roll(p, 1, 0)) / self.h, v - dt * (p - np.roll(p, 1, 1)) / self.h)

    def at_nodes(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Velocity (n*n, 2) at the nodes (-1 + i h, -1 + j h): averages of the two adjacent faces."""
        u_node = 0.5 * (u + np.roll(u, 1, 1))
        v_node = 0.5 * (v + np.roll(v, 1, 0))
        return np.stack([u_node.ravel(), v_node.ravel()], -1)

    def node_points(self) -> np.ndarray:
        axis = -1 + self.h * np.arange(self.n)
        X, Y = np.meshgrid(axis, axis, indexing="ij")
        return np.stack([X.ravel(), Y.ravel()], -1)

    def kinetic_energy(self, u: np.ndarray, v: np.ndarray) -> float:
        return 0.5 * float((u ** 2).sum() + (v ** 2).sum()) * self.h ** 2
