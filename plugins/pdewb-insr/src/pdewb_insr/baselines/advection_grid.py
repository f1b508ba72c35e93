"""Grid solvers for u_t + a u_x = 0 on [lower, upper] with u = 0 at both ends.

Crank-Nicolson with second-order central differences (2nd order in space and time,
non-dissipative, dispersive):

    (I + a dt / 2 D) u^{n+1} = (I - a dt / 2 D) u^n,   (D u)_j = (u_{j+1} - u_{j-1}) / (2 h)

Semi-Lagrangian (exact characteristics, interpolation at the departure points):

    u^{n+1}(x_j) = I[u^n](x_j - a dt),

with I linear (order 1: the error O(h^2 / dt) is first order at a fixed Courant number)
or a cubic spline (O(h^4 / dt): third order at fixed Courant number).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.linalg import solve_banded


def grid_points(n: int, lower: float = -2.0, upper: float = 2.0) -> np.ndarray:
    """n + 1 points including both ends."""
    return np.linspace(lower, upper, n + 1)


def crank_nicolson(u0: np.ndarray, speed: float, dt: float, steps: int, h: float) -> np.ndarray:
    """u after ``steps`` CN steps; u0 on grid_points (the end values are held at 0)."""
    c = speed * dt / (4 * h)  # a dt / 2 times the 1 / (2 h) of D
    interior = u0[1:-1].astype(float).copy()
    m = len(interior)
    banded = np.zeros((3, m))
    banded[0, 1:], banded[1, :], banded[2, :-1] = c, 1.0, -c
    for _ in range(steps):
        rhs = interior.copy()
        rhs[:-1] -= c * interior[1:]
        rhs[1:] += c * interior[:-1]
        interior = solve_banded((1, 1), banded, rhs)
    return np.concatenate([[0.0], interior, [0.0]])


def semi_lagrangian(u0: np.ndarray, speed: float, dt: float, steps: int, h: float, order: int = 1) -> np.ndarray:
    """u after ``steps`` semi-Lagrangian steps; zero inflow outside the grid."""
    u = u0.astype(float).copy()
    departure = (np.arange(len(u)) - speed * dt / h)[None, :]
    for _ in range(steps):
        u = ndimage.map_coordinates(u, departure, order=order, mode="constant", cval=0.0)
    return u
