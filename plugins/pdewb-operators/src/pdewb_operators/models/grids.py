"""Grid conventions shared by the operator models: coordinates, padding, resampling.

A field on a grid is a tensor (B, C, *grid). In 2D the grid axes are (y, x), i.e. the
tensor is indexed [..., j, i] = [..., y, x] with x along the last axis, the workbench's
convention for node arrays (see ``pdewb_darcy.darcy``). Points and coordinates are
always given as (x,) in 1D and (x, y) in 2D, like mesh points.

Two kinds of grid on the unit interval, per axis with n points:

* periodic: x_j = j / n, j = 0..n-1 (the point x = 1 is x = 0 again);
* nodal (non-periodic): x_j = j / (n - 1), j = 0..n-1, both end points included.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def axis_points(n: int, periodic: bool, *, dtype=None, device=None) -> torch.Tensor:
    """The n coordinates of one grid axis: j / n (periodic) or j / (n - 1) (nodal)."""
    j = torch.arange(n, dtype=dtype or torch.get_default_dtype(), device=device)
    return j / n if periodic else j / max(n - 1, 1)


def grid_points(shape: tuple[int, ...], periodic: bool, *, dtype=None, device=None) -> torch.Tensor:
    """All points of a grid as (prod(shape), dim), rows in the tensor's memory order, columns (x[, y])."""
    axes = [axis_points(n, periodic, dtype=dtype, device=device) for n in shape]
    mesh = torch.meshgrid(*axes, indexing="ij")  # mesh[d] is the coordinate along grid axis d
    return torch.stack([m.reshape(-1) for m in reversed(mesh)], dim=-1)


def coordinate_features(points: torch.Tensor, periodic: bool) -> torch.Tensor:
    """Coordinates as network inputs, (..., dim) -> (..., features).

    Nodal grids: the coordinate itself, 2 x - 1 in [-1, 1] (FNO appends the grid).
    Periodic grids: (cos 2 pi x, sin 2 pi x) per coordinate, which is periodic and
    band-limited, so the feature takes the same values at x and x + 1 and its Fourier
    coefficients do not depend on the resolution (a sawtooth x would).
    """
    if not periodic:
        return 2.0 * points - 1.0
    angle = 2.0 * math.pi * points
    return torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1)


def coordinate_channels(x: torch.Tensor, periodic: bool) -> torch.Tensor:
    """The coordinate features on the grid of x (B, C, *grid) as channels (B, F, *grid)."""
    shape = tuple(x.shape[2:])
    points = grid_points(shape, periodic, dtype=x.dtype, device=x.device)
    features = coordinate_features(points, periodic)  # (prod(shape), F)
    channels = features.T.reshape(1, -1, *shape)
    return channels.expand(x.shape[0], -1, *shape)


def append_coordinates(x: torch.Tensor, periodic: bool) -> torch.Tensor:
    """x (B, C, *grid) -> (B, C + F, *grid) with the coordinate features appended."""
    return torch.cat([x, coordinate_channels(x, periodic)], dim=1)


def coordinate_feature_count(dim: int, periodic: bool) -> int:
    return 2 * dim if periodic else dim


def pad_amount(n: int, fraction: float, periodic: bool) -> int:
    """Grid points added at the end of an axis of n points: about fraction of the domain length.

    Nodal grids have n - 1 intervals on the unit domain, periodic grids n, so the padded
    domain is about (1 + fraction) long at every resolution. The padded size is rounded
    up to the next FFT-friendly size (no prime factor above 5): 65 nodes padded by 0.1
    give 72 points, not the prime 71, whose transform is several times slower.
    """
    if fraction <= 0:
        return 0
    intervals = n if periodic else n - 1
    return fast_fft_size(n + round(fraction * intervals)) - n


def fast_fft_size(n: int) -> int:
    """The smallest m >= n whose prime factors are 2, 3 and 5."""
    m = max(n, 1)
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


def pad_end(x: torch.Tensor, pads: tuple[int, ...]) -> torch.Tensor:
    """Zero-pad the end of each grid axis of x (B, C, *grid) by pads[d] points."""
    spec: list[int] = []
    for p in reversed(pads):  # F.pad lists the last axis first
        spec += [0, p]
    return F.pad(x, spec) if any(pads) else x


def crop(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """The leading shape[d] points of each grid axis of x (B, C, *grid)."""
    index = (Ellipsis,) + tuple(slice(0, n) for n in shape)
    return x[index]


def resample(x: torch.Tensor, size: int, periodic: bool) -> torch.Tensor:
    """Linear interpolation of x (B, C, *grid) onto the grid with `size` points per axis.

    Nodal grids: interpolate with align_corners=True (the end points are nodes).
    Periodic grids: append the first point after the last (it is x = 1), interpolate
    that nodal grid of n + 1 points onto size + 1 points and drop the last again, so
    the interpolation wraps around.
    """
    dim = x.dim() - 2
    mode = "linear" if dim == 1 else "bilinear"
    if tuple(x.shape[2:]) == (size,) * dim:
        return x
    if not periodic:
        return F.interpolate(x, size=(size,) * dim, mode=mode, align_corners=True)
    wrapped = F.pad(x, [0, 1] * dim, mode="circular")
    fine = F.interpolate(wrapped, size=(size + 1,) * dim, mode=mode, align_corners=True)
    return crop(fine, (size,) * dim)
