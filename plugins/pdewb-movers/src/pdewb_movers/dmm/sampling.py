"""Importance sampling of collocation points by the monitor density (DMM, sec. 3.2).

The residual is large where the monitor is, so most collocation points are drawn
there. For a batch of B fields with monitors m_b on an (n x n) grid, each field
contributes ``per_field`` points with the piecewise-constant density

    p_b(xi) = mbar_b(K) / sum_K' mbar_b(K') |K'|     on grid cell K (mbar: mean of its 4 corners),

and ``uniform`` more points are uniform on [0, 1]^2 (so no region is left unsampled).
All points are shared by the batch: the trunk's derivatives are computed once. They
follow the mixture q = (U + S sum_b p_b) / (U + B S), and a field's loss is the
self-normalised importance-sampling mean with weights 1 / q(xi), an estimate of the
plain mean over Omega whose variance is lowest where the residual is large.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Collocation:
    """Shared interior points (P, 2), their importance weights (P,) (mean 1) and boundary points with normals."""

    points: torch.Tensor
    weights: torch.Tensor
    boundary: torch.Tensor
    normals: torch.Tensor


def cell_density(grids: torch.Tensor) -> torch.Tensor:
    """(B, n-1, n-1) densities p_b on the grid cells (each integrates to 1 over [0, 1]^2)."""
    cell_means = 0.25 * (grids[:, 1:, 1:] + grids[:, 1:, :-1] + grids[:, :-1, 1:] + grids[:, :-1, :-1])
    cells = cell_means.shape[-1] ** 2
    return cell_means / cell_means.flatten(1).mean(dim=1)[:, None, None] if cells else cell_means


def draw_in_cells(density: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` points per field, cells chosen with probability ~ density, uniform inside: (B * count, 2)."""
    batch, cells = density.shape[0], density.shape[-1]
    chosen = torch.multinomial(density.flatten(1), count, replacement=True, generator=generator)  # (B, count)
    row, column = chosen // cells, chosen % cells  # row: y, column: x
    corner = torch.stack([column, row], dim=-1).to(density.dtype)
    offset = torch.rand(batch, count, 2, generator=generator, dtype=density.dtype)
    return ((corner + offset) / cells).reshape(-1, 2)


def mixture_density(points: torch.Tensor, density: torch.Tensor, uniform: int, per_field: int) -> torch.Tensor:
    """q(xi) = (U + S sum_b p_b(xi)) / (U + B S) at (P, 2) points."""
    batch, cells = density.shape[0], density.shape[-1]
    index = (points * cells).long().clamp(0, cells - 1)
    per_field_density = density[:, index[:, 1], index[:, 0]]  # (B, P)
    return (uniform + per_field * per_field_density.sum(dim=0)) / (uniform + batch * per_field)


def boundary_points(count: int, generator: torch.Generator, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` points spread over the four sides of [0, 1]^2 (uniform on each) and their outward normals."""
    side = torch.arange(count) % 4
    t = torch.rand(count, generator=generator, dtype=dtype)
    zero, one = torch.zeros(count, dtype=dtype), torch.ones(count, dtype=dtype)
    x = torch.where(side == 0, zero, torch.where(side == 1, one, t))
    y = torch.where(side == 2, zero, torch.where(side == 3, one, t))
    normals = torch.tensor([[-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]], dtype=dtype)[side]
    return torch.stack([x, y], dim=1), normals


def collocation(grids: torch.Tensor, uniform: int, per_field: int, boundary: int,
                generator: torch.Generator) -> Collocation:
    """Points for one batch of (B, n, n) monitor grids; see the module docstring."""
    density = cell_density(grids)
    points = torch.cat([torch.rand(uniform, 2, generator=generator, dtype=grids.dtype),
                        draw_in_cells(density, per_field, generator)])
    weights = 1.0 / mixture_density(points, density, uniform, per_field)
    edge, normals = boundary_points(boundary, generator, grids.dtype)
    return Collocation(points, weights / weights.mean(), edge, normals)
