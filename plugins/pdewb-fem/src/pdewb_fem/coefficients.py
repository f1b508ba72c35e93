"""Spatially varying coefficients, one value per simplex.

k(x) is evaluated at simplex centroids (one-point quadrature): exact for
piecewise-constant k aligned with the mesh, and second-order consistent for
smooth k, which keeps P1's O(h^2) L2 accuracy. Discontinuous k (the two-phase
media of Darcy problems) is resolved to the mesh: an element takes the phase
of its centroid.
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import ParamError
from workbench.core.expressions import Expression


def per_simplex(text: str, name: str, points: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """Values of the expression ``text`` at simplex centroids; must be finite and positive."""
    expression = Expression(text)
    if expression.uses_time:
        raise ParamError(f"{name} = '{text}' must not depend on t")
    values = expression(points[simplices].mean(axis=1))
    if not np.isfinite(values).all() or values.min() <= 0.0:
        raise ParamError(f"{name} = '{text}' must be finite and positive everywhere (smallest value {values.min():.3g})")
    return values
