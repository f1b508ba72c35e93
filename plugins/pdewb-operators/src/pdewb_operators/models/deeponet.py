"""DeepONet: an operator as a sum of learned basis functions with input-dependent coefficients.

    G(a)(y)_c = sum_{k=1..p} b_{c,k}(a(x_1), ..., a(x_m)) t_{c,k}(y) + b_{c,0}

The branch net b sees the input function at m fixed sensors x_i (a grid of `sensors`
points per axis), the trunk net t sees the point y where the output is wanted. Lu,
Jin, Pang, Zhang, Karniadakis, "Learning nonlinear operators via DeepONet based on the
universal approximation theorem of operators", Nature Machine Intelligence 3, 2021.
Each output channel c has its own p coefficients and basis functions (the branch and
trunk outputs are split into out_channels groups of p).

The trunk can be evaluated anywhere (:meth:`DeepONet.evaluate_at`), which is how a
DeepONet predicts at the nodes of an unstructured mesh; inputs given on a grid of
another resolution are linearly interpolated to the sensor grid first
(:func:`.grids.resample`).
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from .grids import coordinate_feature_count, coordinate_features, grid_points, resample


def mlp(in_features: int, width: int, depth: int, out_features: int, last_activation: bool = False) -> nn.Sequential:
    """depth hidden layers of `width` with GELU, then a linear layer (and GELU if last_activation)."""
    sizes = [in_features] + [width] * depth
    layers: list[nn.Module] = []
    for n_in, n_out in pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), nn.GELU()]
    layers.append(nn.Linear(sizes[-1], out_features))
    if last_activation:
        layers.append(nn.GELU())
    return nn.Sequential(*layers)


class DeepONet(nn.Module):
    """G(a)(y)_c = sum_k b_{c,k}(a at the sensors) t_{c,k}(y) + bias_c (Lu et al. 2021).

    forward(a): a (B, in_channels, *grid) -> (B, out_channels, *grid), the trunk
    evaluated at the points of a's grid. evaluate_at(a, points): at any points (P, dim)
    given as (x[, y]) in [0, 1]^dim -> (B, out_channels, P).
    """

    def __init__(self, *, dim: int, in_channels: int, out_channels: int, periodic: bool, sensors: int,
                 latent: int, branch_width: int, branch_depth: int, trunk_width: int, trunk_depth: int):
        super().__init__()
        self.dim, self.periodic, self.sensors = dim, periodic, sensors
        self.out_channels, self.latent = out_channels, latent
        self.branch = mlp(in_channels * sensors**dim, branch_width, branch_depth, out_channels * latent)
        # Lu et al. apply the activation to the trunk output too: t_k = sigma(...).
        self.trunk = mlp(coordinate_feature_count(dim, periodic), trunk_width, trunk_depth, out_channels * latent,
                         last_activation=True)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def coefficients(self, a: torch.Tensor) -> torch.Tensor:
        """Branch net: a (B, in_channels, *grid) -> b (B, out_channels, p)."""
        at_sensors = resample(a, self.sensors, self.periodic)
        return self.branch(at_sensors.flatten(1)).view(a.shape[0], self.out_channels, self.latent)

    def basis(self, points: torch.Tensor) -> torch.Tensor:
        """Trunk net: points (P, dim) -> t (P, out_channels, p)."""
        t = self.trunk(coordinate_features(points, self.periodic))
        return t.view(points.shape[0], self.out_channels, self.latent)

    def evaluate_at(self, a: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """G(a) at points (P, dim), columns (x[, y]) in [0, 1]^dim -> (B, out_channels, P)."""
        if points.dim() != 2 or points.shape[1] != self.dim:
            raise ValueError(f"points must have shape (P, {self.dim}), got {tuple(points.shape)}")
        b = self.coefficients(a)
        t = self.basis(points.to(dtype=a.dtype, device=a.device))
        return torch.einsum("bck,pck->bcp", b, t) + self.bias[:, None]

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        shape = tuple(a.shape[2:])
        points = grid_points(shape, self.periodic, dtype=a.dtype, device=a.device)
        return self.evaluate_at(a, points).reshape(a.shape[0], self.out_channels, *shape)
