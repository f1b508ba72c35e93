"""The monitor of a field on a uniform tensor grid of the unit square, as torch tensors.

Training needs m(x) at the moved collocation points x = xi + grad phi and its
derivative in x (the loss differentiates through it), so the monitor is held as nodal
values on an (n x n) grid and read by bilinear interpolation, ``grid_sample`` with
``align_corners=True``: the grid nodes are exactly x_i = i / (n - 1). The nodal values
are the host's monitor (:func:`workbench.core.monitors.monitor_values`, with the
checkpoint's :class:`~workbench.core.monitors.MonitorSpec`) of the field on
``rectangle_mesh(n - 1)``, the same recipe the host applies to a user's mesh.

theta = int_Omega m dx / |Omega| is the trapezoidal mean of the nodal values (the
integral of the bilinear interpolant), so the residual's theta is the exact mean of
the m(x) the loss evaluates.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from workbench.core.meshgen import rectangle_mesh
from workbench.core.monitors import MonitorSpec, monitor_values

from .fronts import Field


def grid_points(n: int) -> np.ndarray:
    """(n * n, 2) nodes of the uniform grid of [0, 1]^2, x fastest (rectangle_mesh's order)."""
    xs = np.linspace(0.0, 1.0, n)
    return np.column_stack([np.tile(xs, n), np.repeat(xs, n)])


def nodal_monitor(field: Field, n: int, spec: MonitorSpec) -> np.ndarray:
    """(n, n) monitor values [row y, column x] of ``field`` sampled on rectangle_mesh(n - 1)."""
    mesh = rectangle_mesh(n - 1)
    return monitor_values(mesh, field(mesh.points), spec).reshape(n, n)


def sample_grid(grids: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bilinear values of (B, n, n) nodal grids at (B, P, 2) points in [0, 1]^2: (B, P), differentiable in points."""
    where = (2.0 * points - 1.0).unsqueeze(1)  # grid_sample reads [-1, 1]; (B, 1, P, 2) with (x, y) order
    values = F.grid_sample(grids.unsqueeze(1), where, mode="bilinear", padding_mode="border", align_corners=True)
    return values[:, 0, 0, :]


def trapezoid_mean(grids: torch.Tensor) -> torch.Tensor:
    """(B,) mean over [0, 1]^2 of the bilinear interpolant of (B, n, n) nodal values: theta."""
    n = grids.shape[-1]
    weights = torch.ones(n, dtype=grids.dtype, device=grids.device)
    weights[0] = weights[-1] = 0.5
    weights = weights / (n - 1)
    return torch.einsum("bij,i,j->b", grids, weights, weights)
