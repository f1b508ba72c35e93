"""MgNO: neural operator layers whose linear operators are multigrid V-cycles.

A layer maps v (in channels) to sigma(W v + b) (out channels), where the linear
operator W is one V-cycle for "A u = f" with f = v, every operator a learnable
convolution with channel mixing (He, Liu, Xu et al., "MgNO: Efficient
Parameterization of Linear Operators via Multigrid", ICLR 2024). On level l
(l = 0 the input grid, each next level coarser by two):

    u^l = S^{l,0} * f^l                                  first smoothing, from u = 0
    u^l <- u^l + S^{l,i} * (f^l - A^l * u^l)             i = 1..pre_smoothing-1
    f^{l+1} = R^l * (f^l - A^l * u^l)                    restriction, stride-2 convolution
    u^l <- u^l + P^l * u^{l+1}                            prolongation, transposed convolution
    u^l <- u^l + S^{l,post} * (f^l - A^l * u^l)          post_smoothing times

and W v = u^0. A^l, S^{l,i} are 3 (1D) or 3 x 3 (2D) convolutions, A from the solution
channels to the right-hand-side channels and S back, so a layer can change the number
of channels. There is no lifting or projection network: the input channels are the
first layer's f and the last layer's u has out_channels.

Boundary conditions enter through the padding of every convolution: zeros for
non-periodic data (Dirichlet), circular for periodic data. A periodic MgNO without
coordinate channels commutes with circular shifts by multiples of 2^(levels-1).

Grids of any size: restriction with padding 1 maps n points to ceil(n / 2) (on a
nodal grid of 2^k + 1 points the coarse nodes are the even fine nodes), and
prolongation returns exactly the fine size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .grids import append_coordinates, coordinate_feature_count


def padding_mode(periodic: bool) -> str:
    return "circular" if periodic else "zeros"


def stencil(dim: int, in_channels: int, out_channels: int, periodic: bool, stride: int = 1) -> nn.Module:
    """A 3-point (1D) or 3 x 3 (2D) convolution with channel mixing and no bias."""
    conv = nn.Conv1d if dim == 1 else nn.Conv2d
    return conv(in_channels, out_channels, kernel_size=3, stride=stride, padding=1,
                padding_mode=padding_mode(periodic), bias=False)


class Prolongation(nn.Module):
    """Transposed stride-2 convolution P from a coarse grid to a given fine grid.

    Coarse point i sits on fine point 2 i and spreads to fine points 2 i - 1, 2 i, 2 i + 1
    with learnable channel-mixing weights. The coarse grid is padded by one point
    (circularly or with zeros) first, so the spreading wraps around on periodic grids,
    and the result is cropped to the fine size, which may be odd or even.
    """

    def __init__(self, dim: int, channels: int, periodic: bool):
        super().__init__()
        self.dim, self.periodic = dim, periodic
        template = (nn.ConvTranspose1d if dim == 1 else nn.ConvTranspose2d)(channels, channels, 3, stride=2, bias=False)
        self.weight = template.weight  # (in, out, 3[, 3]), PyTorch's default initialisation

    def forward(self, coarse: torch.Tensor, fine_shape: tuple[int, ...]) -> torch.Tensor:
        padded = F.pad(coarse, [1, 1] * self.dim, mode="circular" if self.periodic else "constant")
        transpose = F.conv_transpose1d if self.dim == 1 else F.conv_transpose2d
        out = transpose(padded, self.weight, stride=2)  # fine point f is out[f + 3]
        return out[(Ellipsis,) + tuple(slice(3, 3 + n) for n in fine_shape)]


class Level(nn.Module):
    """The operators of one grid level: A, the smoothers S and the transfers to the next coarser level."""

    def __init__(self, dim: int, in_channels: int, out_channels: int, periodic: bool,
                 pre_smoothing: int, post_smoothing: int, coarsest: bool):
        super().__init__()
        needs_residual = not coarsest or pre_smoothing > 1  # the coarsest level may only smooth once
        self.A = stencil(dim, out_channels, in_channels, periodic) if needs_residual else None
        self.pre = nn.ModuleList(stencil(dim, in_channels, out_channels, periodic) for _ in range(pre_smoothing))
        self.post = nn.ModuleList(
            () if coarsest else (stencil(dim, in_channels, out_channels, periodic) for _ in range(post_smoothing))
        )
        self.restrict = None if coarsest else stencil(dim, in_channels, in_channels, periodic, stride=2)
        self.prolong = None if coarsest else Prolongation(dim, out_channels, periodic)

    def residual(self, f: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return f - self.A(u)


class VCycle(nn.Module):
    """The linear operator W f = u^0 of one MgNO layer: one V-cycle over `levels` grids."""

    def __init__(self, dim: int, in_channels: int, out_channels: int, periodic: bool,
                 levels: int, pre_smoothing: int, post_smoothing: int):
        super().__init__()
        self.levels = nn.ModuleList(
            Level(dim, in_channels, out_channels, periodic, pre_smoothing, post_smoothing, coarsest=(k == levels - 1))
            for k in range(levels)
        )

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.cycle(f, 0)

    def cycle(self, f: torch.Tensor, k: int) -> torch.Tensor:
        """u^k for the right-hand side f^k on level k (and recursively on the coarser ones)."""
        level = self.levels[k]
        u = level.pre[0](f)
        for S in level.pre[1:]:
            u = u + S(level.residual(f, u))
        if level.restrict is None:
            return u
        f_coarse = level.restrict(level.residual(f, u))
        u = u + level.prolong(self.cycle(f_coarse, k + 1), tuple(u.shape[2:]))
        for S in level.post:
            u = u + S(level.residual(f, u))
        return u


class MgNOLayer(nn.Module):
    """v -> sigma(W v + b) with W a V-cycle and b a constant per output channel."""

    def __init__(self, dim: int, in_channels: int, out_channels: int, periodic: bool,
                 levels: int, pre_smoothing: int, post_smoothing: int, activation: bool):
        super().__init__()
        self.W = VCycle(dim, in_channels, out_channels, periodic, levels, pre_smoothing, post_smoothing)
        self.bias = nn.Parameter(torch.zeros(out_channels, *(1,) * dim))
        self.activation = nn.GELU() if activation else nn.Identity()

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.activation(self.W(v) + self.bias)


class MgNO(nn.Module):
    """Multigrid neural operator u = O_L( ... O_1(a) ), O(v) = sigma(W v + b), W a V-cycle (He et al. 2024).

    forward(a): a (B, in_channels, *grid) -> u (B, out_channels, *grid), any grid size;
    layers - 1 hidden layers of `width` channels with GELU, the last layer linear.
    With coordinates=True the coordinate features of :mod:`.grids` are appended to a.
    """

    def __init__(self, *, dim: int, in_channels: int, out_channels: int, periodic: bool, width: int,
                 layers: int, levels: int, pre_smoothing: int, post_smoothing: int, coordinates: bool):
        super().__init__()
        self.periodic, self.coordinates = periodic, coordinates
        first = in_channels + (coordinate_feature_count(dim, periodic) if coordinates else 0)
        channels = [first] + [width] * (layers - 1) + [out_channels]
        self.layers = nn.ModuleList(
            MgNOLayer(dim, channels[i], channels[i + 1], periodic, levels, pre_smoothing, post_smoothing,
                      activation=(i < layers - 1))
            for i in range(layers)
        )

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        v = append_coordinates(a, self.periodic) if self.coordinates else a
        for layer in self.layers:
            v = layer(v)
        return v
