"""The numbers of a surrogate-versus-reference comparison: error statistics, speedup, break-even.

A surrogate earns its keep only after it has paid for its data and its training.
With ``setup`` the one-off cost (generating the training data plus training) and
``t_ref``, ``t_sur`` the cost of one query by the reference solver and by the
surrogate, the surrogate is cheaper in total after

    n* = setup / (t_ref - t_sur)

queries (the break-even number of queries). If the surrogate is not faster than the
reference, it never breaks even.

Errors are never quietly finite: a NaN in an estimate or a reference makes that
sample's error NaN, and a summary of errors refuses non-finite ones, naming the
samples (:class:`~workbench.core.finite.NonFiniteError`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .finite import NonFiniteError


@dataclass(frozen=True)
class ErrorSummary:
    """Statistics of per-sample relative errors over a set of test samples."""

    samples: int
    mean: float
    median: float
    p95: float
    max: float

    def describe(self) -> dict[str, float]:
        return asdict(self)


def summarize_errors(per_sample: np.ndarray, what: str = "the relative error") -> ErrorSummary:
    """Mean, median, 95th percentile (linear interpolation between order statistics) and max.

    NonFiniteError when an error is NaN or infinite: a statistic over it would be
    NaN (mean) or arbitrary (median, percentile), and max() may drop it.
    """
    errors = np.asarray(per_sample, dtype=np.float64).ravel()
    if errors.size == 0:
        raise ValueError("no samples to summarise")
    bad = np.flatnonzero(~np.isfinite(errors))
    if bad.size:
        shown = ", ".join(map(str, bad[:5])) + (", ..." if bad.size > 5 else "")
        raise NonFiniteError(f"{what} is NaN or infinite for {bad.size} of {errors.size} samples ({shown}): "
                             "a prediction or a target holds NaN or infinite values, or a target is zero")
    return ErrorSummary(
        samples=int(errors.size),
        mean=float(errors.mean()),
        median=float(np.median(errors)),
        p95=float(np.percentile(errors, 95)),
        max=float(errors.max()),
    )


def relative_l2_per_sample(estimate: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """||e_i - r_i||_2 / ||r_i||_2 for every sample i along the first axis (uniform grids).

    On a uniform grid the quadrature weights cancel in the ratio, so the plain
    Euclidean norm over the grid values is the relative L2 norm of the functions.
    A zero reference gives 0 for a zero estimate and inf otherwise; a NaN anywhere
    in a sample, or an infinite reference, gives NaN for that sample (never 0).
    """
    estimate = np.asarray(estimate, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if estimate.shape != reference.shape:
        raise ValueError(f"shapes differ: estimate {estimate.shape}, reference {reference.shape}")
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, which is the answer
        flat_error = (estimate - reference).reshape(len(reference), -1)
    flat_reference = reference.reshape(len(reference), -1)
    scale = np.linalg.norm(flat_reference, axis=1)
    error = np.linalg.norm(flat_error, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(scale == 0, np.where(error == 0, 0.0, np.inf), error / scale)
    return np.where(np.isnan(error) | ~np.isfinite(scale), np.nan, ratio)


def speedup(reference_seconds: float, surrogate_seconds: float) -> float:
    """How many times faster the surrogate answers one query."""
    if surrogate_seconds <= 0:
        return math.inf
    return reference_seconds / surrogate_seconds


def break_even_queries(setup_seconds: float, reference_seconds: float, surrogate_seconds: float) -> float:
    """n* = setup / (t_ref - t_sur), rounded up; inf when the surrogate is not faster."""
    saving = reference_seconds - surrogate_seconds
    if saving <= 0:
        return math.inf
    return float(math.ceil(setup_seconds / saving))
