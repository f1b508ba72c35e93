"""Gaussian random fields on the unit square and the thresholded Darcy coefficients.

The recipe of the FNO Darcy data set (Li et al. 2021, ``GRF.m``): a centred
Gaussian field with covariance C = tau^(2 alpha - 2) (-Laplacian + tau^2)^(-alpha)
with homogeneous Neumann conditions, sampled by its Karhunen-Loeve expansion in
the cosine eigenfunctions of the Neumann Laplacian on [0, 1]^2. The eigenvalues
of -Laplacian are pi^2 (k1^2 + k2^2), so the KL coefficients are

    L[k1, k2] = s * tau^(alpha - 1) * (pi^2 (k1^2 + k2^2) + tau^2)^(-alpha / 2) * xi[k1, k2],
    xi ~ N(0, 1) i.i.d.,  L[0, 0] = 0 (the constant mode is removed: zero mean),

and the field on an s x s grid is the orthonormal inverse DCT-II of L
(``scipy.fft.idctn(L, type=2, norm="ortho")``, MATLAB's ``idct2``). Defaults
alpha = 2, tau = 3. The coefficient is then a = 12 where the field is >= 0 and
a = 3 elsewhere (two-phase medium, contrast 4).

Grid convention: the DCT-II samples the cosines at (j + 1/2) / s; as in the FNO
data we take those s = n + 1 values as the values at the n + 1 nodes x_j = j / n
of our grid (the field is a random sample either way; only its correlation
length, about 1 / tau, matters). Arrays are indexed [sample, y, x].
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from workbench.core.memory import require_memory

ALPHA = 2.0
TAU = 3.0
HIGH, LOW = 12.0, 3.0


def _generator(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def sqrt_eigenvalues(s: int, alpha: float = ALPHA, tau: float = TAU) -> np.ndarray:
    """The (s, s) KL scale factors s * sqrt(lambda_k) of the recipe, with the constant mode zeroed."""
    k = np.arange(s)
    k1, k2 = np.meshgrid(k, k, indexing="ij")
    coef = tau ** (alpha - 1.0) * (np.pi**2 * (k1**2 + k2**2) + tau**2) ** (-alpha / 2.0)
    scale = s * coef
    scale[0, 0] = 0.0
    return scale


def gaussian_random_field(batch: int, s: int, seed=None, alpha: float = ALPHA, tau: float = TAU) -> np.ndarray:
    """``batch`` samples of the GRF on an s x s grid, shape (batch, s, s); ``seed``: int or Generator."""
    if s < 2 or batch < 0:
        raise ValueError(f"need s >= 2 and batch >= 0, got s={s}, batch={batch}")
    rng = _generator(seed)
    xi = rng.standard_normal((batch, s, s))
    return scipy.fft.idctn(sqrt_eigenvalues(s, alpha, tau) * xi, type=2, norm="ortho", axes=(1, 2))


def threshold(field: np.ndarray, high: float = HIGH, low: float = LOW) -> np.ndarray:
    """``high`` where field >= 0, ``low`` elsewhere."""
    return np.where(np.asarray(field) >= 0.0, high, low)


def darcy_coefficients(batch: int, n: int, seed=None, alpha: float = ALPHA, tau: float = TAU) -> np.ndarray:
    """``batch`` thresholded coefficients at the (n + 1) x (n + 1) grid nodes, shape (batch, n + 1, n + 1)."""
    return threshold(gaussian_random_field(batch, n + 1, seed, alpha, tau))


def gaussian_random_field_at(
    points, s: int, seed=None, bounds=((0.0, 1.0), (0.0, 1.0)), alpha: float = ALPHA, tau: float = TAU
) -> np.ndarray:
    """The field of ``gaussian_random_field(1, s, seed)`` evaluated at arbitrary points (P, 2), shape (P,).

    The inverse DCT-II is a cosine series, so it can be summed at any point instead
    of the grid samples (Li et al. 2021, FNO ``GRF.m``, read as a continuous field):

        f(y, x) = sum_{k1, k2} L[k1, k2] c_k1 c_k2 cos(pi k1 (t_y + 1/2) / s) cos(pi k2 (t_x + 1/2) / s),
        t = (coordinate - low) / (high - low) * (s - 1),  c_0 = sqrt(1 / s), c_k = sqrt(2 / s),

    with the same KL coefficients L = sqrt_eigenvalues(s) * xi (xi drawn exactly as in
    :func:`gaussian_random_field`). Node j of the grid, at low + j (high - low) / (s - 1),
    gets t = j: the grid convention of the module, so the values there agree with the
    grid field to rounding. ``bounds`` = ((x_low, x_high), (y_low, y_high)).
    """
    if s < 2:
        raise ValueError(f"need s >= 2, got s={s}")
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    # float64 temporaries: about six (s, s) arrays for the KL coefficients, five (P, s) for the bases
    require_memory(8 * (6 * s * s + 5 * len(points) * s),
                   f"the random field with {s} modes per axis at {len(points):,} points")
    xi = _generator(seed).standard_normal((1, s, s))[0]  # the draw of gaussian_random_field(1, s, seed)
    coefficients = sqrt_eigenvalues(s, alpha, tau) * xi  # indexed [k1 (y), k2 (x)]
    basis_x = _cosine_basis(points[:, 0], bounds[0], s)
    basis_y = _cosine_basis(points[:, 1], bounds[1], s)
    # (P, s) @ (s, s) then a row-wise dot: O(P s^2), never the (P, s, s) tensor
    return ((basis_y @ coefficients) * basis_x).sum(axis=1)


def _cosine_basis(coordinate: np.ndarray, interval, s: int) -> np.ndarray:
    """c_k cos(pi k (t + 1/2) / s) for each point (rows) and mode k (columns): the orthonormal DCT-II basis."""
    low, high = (float(v) for v in interval)
    if not high > low:
        raise ValueError(f"empty interval {interval!r}")
    t = (coordinate - low) / (high - low) * (s - 1)
    k = np.arange(s)
    scale = np.full(s, np.sqrt(2.0 / s))
    scale[0] = np.sqrt(1.0 / s)
    return scale * np.cos(np.pi * np.outer(t + 0.5, k) / s)
