"""Non-finite numbers are failures: found, counted and named, never read as zero.

A NaN compares false with everything, so ``max``, ``error > 0`` or ``scale > 0``
quietly drop it or take the branch meant for zero: a NaN target once scored a
relative error of 0.0, "perfect". Every check that consumes numbers a user
relies on (an error summary, a data set about to be trained on or compared with,
a reproduction check) calls :func:`require_finite` first, which refuses with one
line saying what, how many and where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from .errors import WorkbenchError

#: Samples read at a time when checking an on-disk array, so a large data set is never read whole.
CHUNK_SAMPLES = 64


class NonFiniteError(WorkbenchError):
    """Numbers that must be finite are NaN or infinite (the message says which and where)."""


def non_finite_count(values) -> tuple[int, int]:
    """(NaN count, infinity count) of an array."""
    array = np.asarray(values)
    if not np.issubdtype(array.dtype, np.inexact):
        return 0, 0
    nan = int(np.count_nonzero(np.isnan(array)))
    return nan, int(np.count_nonzero(np.isinf(array)))


def describe_non_finite(nan: int, infinite: int) -> str:
    """'2 NaN and 1 infinite values', '1 NaN value'."""
    parts = [f"{nan} NaN" if nan else "", f"{infinite} infinite" if infinite else ""]
    text = " and ".join(part for part in parts if part)
    return f"{text} value{'s' * (nan + infinite > 1)}"


def require_finite(values, what: str) -> None:
    """NonFiniteError naming ``what`` and the first bad entry unless every value is finite."""
    array = np.asarray(values)
    nan, infinite = non_finite_count(array)
    if nan or infinite:
        first = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0]) if array.ndim else ()
        where = f" (first at index {first[0] if len(first) == 1 else first})" if first else ""
        raise NonFiniteError(f"{what} has {describe_non_finite(nan, infinite)}{where}")


def bad_samples(values) -> np.ndarray:
    """Indices along the first axis of the samples holding any non-finite value."""
    array = np.asarray(values)
    if array.ndim == 0 or not np.issubdtype(array.dtype, np.inexact):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))


def require_finite_samples(arrays: Mapping[str, object], source: str, seeds: Iterable[int] | None = None) -> None:
    """NonFiniteError unless every field of a data set (arrays or h5py datasets, samples first) is finite.

    On-disk arrays are read ``CHUNK_SAMPLES`` samples at a time. The message names
    the field, the number of samples affected and the first one (with its seed).
    """
    seeds = None if seeds is None else np.asarray(list(seeds))
    for name, array in arrays.items():
        count = len(array) if np.ndim(array) else 0
        bad = np.concatenate([bad_samples(array[start:start + CHUNK_SAMPLES]) + start
                              for start in range(0, count, CHUNK_SAMPLES)] or [np.zeros(0, dtype=np.int64)])
        if bad.size:
            first = int(bad[0])
            seed = f", seed {int(seeds[first])}" if seeds is not None and first < len(seeds) else ""
            raise NonFiniteError(
                f"{source}: field '{name}' has NaN or infinite values in {bad.size} of {count} samples "
                f"(first: sample {first}{seed}); a data set with non-finite values can be neither trained on "
                "nor compared with: regenerate it")
