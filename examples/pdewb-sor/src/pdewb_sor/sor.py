"""Red-black SOR for -laplace(u) + c u = f on the unit square, u = 0 on the boundary (5-point stencil)."""

from __future__ import annotations

import numpy as np


def red_black_masks(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Interior nodes (n - 1 per side) split by the parity of i + j, so each half updates at once."""
    i, j = np.meshgrid(np.arange(1, n), np.arange(1, n), indexing="xy")
    red = (i + j) % 2 == 0
    return red, ~red


def residual(u: np.ndarray, f: np.ndarray, c: float, h: float) -> np.ndarray:
    """f - A u at the interior nodes (u and f are (n + 1, n + 1) arrays, boundary values included)."""
    laplacian = (4 * u[1:-1, 1:-1] - u[:-2, 1:-1] - u[2:, 1:-1] - u[1:-1, :-2] - u[1:-1, 2:]) / h**2
    return f[1:-1, 1:-1] - laplacian - c * u[1:-1, 1:-1]


def solve_sor(f: np.ndarray, c: float, omega: float, tolerance: float, max_iterations: int,
              masks: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, int, float]:
    """(u, iterations, relative residual): SOR sweeps from u = 0 until |f - A u| <= tolerance |f|."""
    n = f.shape[0] - 1
    h = 1.0 / n
    masks = masks or red_black_masks(n)
    u = np.zeros_like(f)
    scale = max(float(np.abs(f[1:-1, 1:-1]).max()), np.finfo(float).tiny)
    diagonal = 4 + c * h**2
    relative = 1.0
    for iteration in range(1, max_iterations + 1):
        for colour in masks:
            interior = u[1:-1, 1:-1]
            neighbours = u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:]
            gauss_seidel = (neighbours + h**2 * f[1:-1, 1:-1]) / diagonal
            interior[colour] += omega * (gauss_seidel[colour] - interior[colour])
        relative = float(np.abs(residual(u, f, c, h)).max()) / scale
        if relative <= tolerance:
            return u, iteration, relative
    return u, max_iterations, relative
