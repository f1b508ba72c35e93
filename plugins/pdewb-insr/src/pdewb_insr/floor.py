"""The time-discretisation floor: the exact solution of the time-discrete scheme.

INSR discretises time only; its spatial representation is (ideally) exact. So its error
is to be read against the error of the *time-discrete* scheme solved exactly in space,
not against the PDE's exact solution: no network can do better than this floor.

Linear advection u_t + a u_x = 0: on Fourier modes exp(i k x), one step multiplies the
amplitude by

    explicit Euler  g = 1 - i a k dt
    implicit Euler  g = 1 / (1 + i a k dt)
    midpoint        g = (1 - i a k dt / 2) / (1 + i a k dt / 2)      (|g| = 1, phase error only)

evaluated exactly with an FFT on a fine periodic grid over [-8, 8], four times the
domain, so that the pulse is zero to rounding where the grid wraps around (a wrap-around
jump of 4e-6 at x = +-2 would put a 1/k tail into the spectrum). Explicit Euler
amplifies every mode (|g| > 1): modes whose initial amplitude is rounding noise
(below 1e-15 of the largest) are dropped, or the noise, not the scheme, would grow.

Taylor-Green splitting: u* (x) = u^n(x - dt u^n(x)), then the exact Leray projection. No
closed form; estimated on a fine collocated periodic grid with cubic-spline departure
interpolation (spatial error O(h^4)) and a spectral projection.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

AMPLIFICATION = {
    "explicit_euler": lambda z: 1.0 - z,
    "implicit_euler": lambda z: 1.0 / (1.0 + z),
    "midpoint": lambda z: (1.0 - z / 2) / (1.0 + z / 2),
}


def advection_floor(initial, speed: float, dt: float, steps: int, x: np.ndarray, integrator: str,
                    length: float = 16.0, lower: float = -8.0, n_fine: int = 16384) -> np.ndarray:
    """u^steps at the points x of the time-discrete scheme, exactly in space (FFT on n_fine points)."""
    grid = lower + length * np.arange(n_fine) / n_fine
    k = 2 * np.pi * np.fft.fftfreq(n_fine, d=length / n_fine)
    factor = AMPLIFICATION[integrator](1j * speed * k * dt) ** steps
    spectrum = np.fft.fft(initial(grid))
    spectrum[np.abs(spectrum) < 1e-15 * np.abs(spectrum).max()] = 0.0
    u = np.fft.ifft(factor * spectrum).real
    return np.interp(x, np.append(grid, lower + length), np.append(u, u[0]))


def taylor_green_floor(velocity, dt: float, steps: int, n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(grid points (n*n, 2), velocity (n*n, 2)) of the semi-Lagrangian + projection scheme after ``steps``.

    On the periodic box [-1, 1)^2 with n points per side (fine grid, cubic interpolation).
    """
    h = 2.0 / n
    axis = -1 + h * np.arange(n)
    X, Y = np.meshgrid(axis, axis, indexing="ij")
    points = np.stack([X.ravel(), Y.ravel()], -1)
    u = velocity(points).reshape(n, n, 2)
    for _ in range(steps):
        u = leray_projection(semi_lagrangian_collocated(u, dt, h), h)
    return points, u.reshape(-1, 2)


def semi_lagrangian_collocated(u: np.ndarray, dt: float, h: float) -> np.ndarray:
    """u*(x) = u(x - dt u(x)) on a periodic collocated grid, cubic splines."""
    n = u.shape[0]
    index = np.indices((n, n), dtype=float)
    departure = index - dt * np.moveaxis(u, -1, 0) / h
    return np.stack([ndimage.map_coordinates(u[..., c], departure, order=3, mode="grid-wrap") for c in range(2)], -1)


def leray_projection(u: np.ndarray, h: float) -> np.ndarray:
    """u - grad Lap^-1 div u, spectrally on the periodic grid (the divergence-free part)."""
    n = u.shape[0]
    k = 2 * np.pi * np.fft.fftfreq(n, d=h)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    k2 = kx ** 2 + ky ** 2
    k2[0, 0] = 1.0
    uh, vh = np.fft.fft2(u[..., 0]), np.fft.fft2(u[..., 1])
    div_over_k2 = (kx * uh + ky * vh) / k2
    return np.stack([np.fft.ifft2(uh - kx * div_over_k2).real, np.fft.ifft2(vh - ky * div_over_k2).real], -1)
