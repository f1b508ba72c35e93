"""The Monge-Ampere relaxation on a uniform tensor grid: finite differences and cosine transforms.

Nodes (i, j) at xi = (x0 + i hx, y0 + j hy), i = 0..nx, j = 0..ny, stored as arrays
P[j, i]. The Neumann condition d(phi)/dn = 0 is imposed by even reflection across
the boundary (P[-1] = P[1]), so

* grad(phi) by central differences has zero normal component on each side (the
  nodes slide along it) and vanishes at the corners (which stay put);
* phi_xx = (P[i+1] - 2 P[i] + P[i-1]) / hx^2 with the reflected ghost at the ends,
  phi_xy = the central y-difference of phi_x (zero on every side, by symmetry);
* the 5-point Neumann Laplacian with reflection is diagonalised by the type-I
  discrete cosine transform: mode (k, l) has eigenvalue
  -[(2 - 2 cos(pi k / nx)) / hx^2 + (2 - 2 cos(pi l / ny)) / hy^2], so -Lap(delta) = r
  costs two fast transforms (scipy.fft.dctn, type 1), and the zero mode, the
  undetermined constant, is dropped (Budd & Williams 2009 use the same fast solves).
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dctn, idctn

from workbench.core.mesh import Mesh

from .discretisation import Discretisation


def tensor_grid(mesh: Mesh) -> tuple[np.ndarray, np.ndarray] | None:
    """(xs, ys) when the mesh nodes are a uniform tensor grid in row-major (x fastest) order, else None.

    This is the node layout of :func:`workbench.core.meshgen.rectangle_mesh`; the cells
    may be cut along any diagonal.
    """
    if mesh.gdim != 2 or mesh.simplices.shape[1] != 3:
        return None
    points = mesh.points
    xs, ys = np.unique(points[:, 0]), np.unique(points[:, 1])
    if len(xs) < 3 or len(ys) < 3 or len(xs) * len(ys) != mesh.n_points:
        return None
    expected = np.column_stack([np.tile(xs, len(ys)), np.repeat(ys, len(xs))])
    if not np.array_equal(points, expected):
        return None
    for axis in (xs, ys):
        steps = np.diff(axis)
        if np.ptp(steps) > 1e-9 * steps.mean():
            return None
    return xs, ys


class GridDiscretisation(Discretisation):
    """Finite differences with fast cosine-transform Poisson solves on a uniform tensor grid."""

    def __init__(self, mesh: Mesh, xs: np.ndarray, ys: np.ndarray) -> None:
        super().__init__(mesh)
        self.shape = (len(ys), len(xs))
        self.hx, self.hy = (xs[-1] - xs[0]) / (len(xs) - 1), (ys[-1] - ys[0]) / (len(ys) - 1)
        self.lower = np.array([xs[0], ys[0]])
        self.upper = np.array([xs[-1], ys[-1]])
        kx = np.arange(len(xs)) * np.pi / (len(xs) - 1)
        ky = np.arange(len(ys)) * np.pi / (len(ys) - 1)
        symbol = (2 - 2 * np.cos(ky))[:, None] / self.hy**2 + (2 - 2 * np.cos(kx))[None, :] / self.hx**2
        symbol[0, 0] = np.inf  # the constant mode: dropped
        self._inverse_symbol = 1.0 / symbol
        trapezoid_x = np.full(len(xs), self.hx)
        trapezoid_x[[0, -1]] /= 2
        trapezoid_y = np.full(len(ys), self.hy)
        trapezoid_y[[0, -1]] /= 2
        self._weights = np.outer(trapezoid_y, trapezoid_x).ravel()
        self.description = f"structured {len(xs) - 1}x{len(ys) - 1} grid: finite differences, DCT Poisson solves"

    @property
    def weights(self) -> np.ndarray:
        return self._weights

    def _grid(self, values: np.ndarray) -> np.ndarray:
        return values.reshape(self.shape)

    def _gradient(self, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        P = self._grid(phi)
        gx, gy = np.zeros_like(P), np.zeros_like(P)
        gx[:, 1:-1] = (P[:, 2:] - P[:, :-2]) / (2 * self.hx)
        gy[1:-1, :] = (P[2:, :] - P[:-2, :]) / (2 * self.hy)
        return gx, gy

    def displacement(self, phi: np.ndarray) -> np.ndarray:
        gx, gy = self._gradient(phi)
        return np.column_stack([gx.ravel(), gy.ravel()])

    def points(self, phi: np.ndarray, damping: np.ndarray | None = None) -> np.ndarray:
        # Sides stay sides exactly: clip the roundoff a sliding node may carry past its corner.
        return np.clip(super().points(phi, damping), self.lower, self.upper)

    def hessian_determinant(self, phi: np.ndarray) -> np.ndarray:
        P = np.pad(self._grid(phi), 1, mode="reflect")
        centre = P[1:-1, 1:-1]
        pxx = (P[1:-1, 2:] - 2 * centre + P[1:-1, :-2]) / self.hx**2
        pyy = (P[2:, 1:-1] - 2 * centre + P[:-2, 1:-1]) / self.hy**2
        gx = np.pad(self._gradient(phi)[0], ((1, 1), (0, 0)), mode="reflect")  # phi_x is even in y
        pxy = (gx[2:, :] - gx[:-2, :]) / (2 * self.hy)
        return ((1 + pxx) * (1 + pyy) - pxy**2).ravel()

    def inverse_laplacian(self, residual: np.ndarray) -> np.ndarray:
        spectrum = dctn(self._grid(residual), type=1, workers=1)
        return idctn(spectrum * self._inverse_symbol, type=1, workers=1).ravel()
