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
