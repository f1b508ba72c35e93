"""Seeded fields with fronts on the unit square: what DMM trains on and is benchmarked with.

Two families, each a function u(points) of (n, 2) points:

* ring fronts     u = tanh((|x - c| - r) / eps), c in [0.3, 0.7]^2, r in [0.12, 0.3], eps in [0.01, 0.04];
* Gaussian bumps  u = sum_j s_j exp(-|x - c_j|^2 / (2 w_j^2)), 3 to 5 bumps, c_j in [0.15, 0.85]^2,
  w_j in [0.03, 0.10], s_j = +-1.

A seed fixes one field (the family alternates with the seed's parity), so a training set
is ``range(n)`` and a held-out set is seeds from :data:`HELD_OUT_START` on, which no
training run draws.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Field = Callable[[np.ndarray], np.ndarray]

#: Seeds from here on are held out: training draws seeds below it.
HELD_OUT_START = 1_000_000
FAMILIES = ("ring", "gaussians")


def ring(cx: float, cy: float, radius: float, width: float) -> Field:
    """u = tanh((|x - c| - r) / eps): a circular front of width eps."""
    return lambda p: np.tanh((np.hypot(p[:, 0] - cx, p[:, 1] - cy) - radius) / width)


def gaussians(centres: np.ndarray, widths: np.ndarray, signs: np.ndarray) -> Field:
    """u = sum_j s_j exp(-|x - c_j|^2 / (2 w_j^2))."""

    def field(p: np.ndarray) -> np.ndarray:
        d2 = ((p[:, None, :] - centres[None]) ** 2).sum(axis=2)
        return (signs * np.exp(-d2 / (2 * widths**2))).sum(axis=1)

    return field


def random_ring(rng: np.random.Generator) -> Field:
    cx, cy = rng.uniform(0.3, 0.7, 2)
    return ring(cx, cy, rng.uniform(0.12, 0.3), rng.uniform(0.01, 0.04))


def random_gaussians(rng: np.random.Generator) -> Field:
    count = int(rng.integers(3, 6))
    return gaussians(rng.uniform(0.15, 0.85, (count, 2)), rng.uniform(0.03, 0.10, count),
                     rng.choice([-1.0, 1.0], count))


def front_family(seed: int) -> str:
    return FAMILIES[seed % 2]


def front_field(seed: int, family: str | None = None) -> Field:
    """The field of ``seed``: a ring for even seeds, Gaussians for odd ones (or the ``family`` asked for)."""
    rng = np.random.default_rng([int(seed), 6])  # the 6 of issue 6: not the stream of other seeded tools
    family = family or front_family(seed)
    if family == "ring":
        return random_ring(rng)
    if family == "gaussians":
        return random_gaussians(rng)
    raise ValueError(f"unknown front family '{family}' (known: {', '.join(FAMILIES)})")


def held_out_fields(count: int, family: str) -> list[Field]:
    """``count`` fields of one family from the held-out seeds."""
    return [front_field(HELD_OUT_START + index, family) for index in range(count)]
