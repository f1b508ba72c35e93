"""Error metrics shared by every plugin, integrated over the mesh.

For a point field, the discrete values are read as the P1 interpolant on the
mesh's simplices, and the L2 norm is integrated exactly: on a k-simplex K with
nodal values e_0..e_k,

    int_K e^2 dx = |K| / ((k+1)(k+2)) * ( (sum_i e_i)^2 + sum_i e_i^2 ),

which is e^T M_K e with the P1 element mass matrix M_K = |K| (1 + delta_ij) / ((k+1)(k+2)).
For a cell field (piecewise constant), int_K e^2 dx = |K| e_K^2.
Vector fields add their components. A plain vector norm would weight every node
equally however unevenly the mesh is refined; these norms do not.

Non-finite values make every metric NaN (or inf for an infinite error against a
finite reference), never 0: a NaN compares false with everything, so a ``max`` or
an ``if scale == 0`` would otherwise read it as a perfect match. Checks that
consume these numbers refuse them (:mod:`workbench.core.finite`).
"""

from __future__ import annotations

import numpy as np

from .field import Field, Location
from .mesh import Mesh


def l2_norm(mesh: Mesh, values: np.ndarray, location: Location = "point") -> float:
    """L2 norm over the domain of one snapshot (scalar or vector)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if location == "cell":
        _expect_length(values, mesh.n_cells, "cell")
        return float(np.sqrt(np.einsum("c,cj,cj->", mesh.cell_measures, values, values)))
    _expect_length(values, mesh.n_points, "point")
    k = mesh.simplices.shape[1] - 1
    nodal = values[mesh.simplices]  # (n_simplices, k + 1, components)
    per_simplex = nodal.sum(axis=1) ** 2 + (nodal**2).sum(axis=1)
    integral = float(mesh.simplex_measures @ per_simplex.sum(axis=1) / ((k + 1) * (k + 2)))
    if np.isnan(integral):
        return integral
    return float(np.sqrt(max(integral, 0.0)))  # the form is positive semi-definite: < 0 is roundoff


def relative_l2(mesh: Mesh, estimate: np.ndarray, reference: np.ndarray, location: Location = "point") -> float:
    """||estimate - reference||_L2 / ||reference||_L2.

    If the reference is identically zero the ratio is undefined: the result is 0.0
    when the estimate is zero too, and inf otherwise. NaN when either holds a NaN
    or the reference an infinity.
    """
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, which is the answer
        difference = np.asarray(estimate, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    error = l2_norm(mesh, difference, location)
    scale = l2_norm(mesh, reference, location)
    if np.isnan(error) or not np.isfinite(scale):
        return float("nan")
    if scale == 0.0:
        return 0.0 if error == 0.0 else float("inf")
    return error / scale


def max_error(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Largest pointwise error (Euclidean over components for vector fields); NaN if any error is NaN."""
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, which is the answer
        difference = np.asarray(estimate, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    if difference.ndim > 1:
        difference = np.linalg.norm(difference.reshape(len(difference), -1), axis=1)
    return float(np.abs(difference).max(initial=0.0))


def error_series(mesh: Mesh, estimate: Field, reference: Field) -> dict[str, np.ndarray]:
    """Relative L2 and max error at every time of two series on the same times."""
    if not (estimate.is_series and reference.is_series):
        raise ValueError("error_series needs two time series")
    if len(estimate.times) != len(reference.times) or not np.allclose(estimate.times, reference.times):
        raise ValueError(f"'{estimate.name}' and '{reference.name}' are not sampled at the same times")
    if estimate.location != reference.location:
        raise ValueError("both fields must live on the same location (points or cells)")
    pairs = list(zip(estimate.values, reference.values))
    return {
        "time": np.array(reference.times),
        "relative_l2": np.array([relative_l2(mesh, e, r, reference.location) for e, r in pairs]),
        "max_error": np.array([max_error(e, r) for e, r in pairs]),
    }


def _expect_length(values: np.ndarray, n: int, where: str) -> None:
    if len(values) != n:
        raise ValueError(f"expected {n} {where} values, got {len(values)}")
