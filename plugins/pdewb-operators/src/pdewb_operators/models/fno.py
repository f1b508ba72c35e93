"""The Fourier neural operator (FNO) in one and two space dimensions.

    v_0 = P(a, x)                                   lifting, pointwise
    v_{l+1} = sigma( W_l v_l + K_l v_l ),  l = 0..L-1   Fourier layers
    u = Q(v_L)                                      projection, pointwise two-layer MLP

with K_l the spectral convolution of :mod:`.spectral_conv`, W_l a pointwise linear map
(with bias) and sigma = GELU. Li, Kovachki, Azizzadenesheli, Liu, Bhattacharya,
Stuart, Anandkumar, "Fourier Neural Operator for Parametric Partial Differential
Equations", ICLR 2021.

Non-periodic data are zero-padded at the end of each axis by `padding` times the
domain length before the Fourier layers and cropped after the last one, so the
Fourier layers see a periodic extension with a gap instead of a jump; the padding is
a fraction of the domain, so the padded domain and the frequencies the weights act on
are the same at every resolution.
"""

from __future__ import annotations

import torch
from torch import nn

from .grids import append_coordinates, coordinate_feature_count, crop, pad_amount, pad_end
from .spectral_conv import spectral_conv


def pointwise(dim: int, in_channels: int, out_channels: int) -> nn.Module:
    """A linear map of the channels at every grid point (a 1 x 1 convolution)."""
    return (nn.Conv1d if dim == 1 else nn.Conv2d)(in_channels, out_channels, kernel_size=1)


class FourierLayer(nn.Module):
    """v -> sigma(W v + K v): pointwise linear part plus spectral convolution."""

    def __init__(self, dim: int, width: int, modes: int, activation: bool = True):
        super().__init__()
        self.spectral = spectral_conv(dim, width, width, modes)
        self.linear = pointwise(dim, width, width)
        self.activation = nn.GELU() if activation else nn.Identity()

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.activation(self.linear(v) + self.spectral(v))


class FNO(nn.Module):
    """Fourier neural operator u = Q( sigma(W_L + K_L) ... sigma(W_1 + K_1) P(a, x) ) (Li et al. 2021).

    forward(a): a (B, in_channels, *grid) -> u (B, out_channels, *grid), any grid size;
    the coordinate features of :func:`.grids.coordinate_features` are appended to a
    before the lifting P.
    """

    def __init__(self, *, dim: int, in_channels: int, out_channels: int, periodic: bool,
                 modes: int, width: int, layers: int, padding: float, projection_width: int):
        super().__init__()
        self.dim, self.periodic, self.padding = dim, periodic, padding
        self.lifting = pointwise(dim, in_channels + coordinate_feature_count(dim, periodic), width)
        self.layers = nn.ModuleList(FourierLayer(dim, width, modes) for _ in range(layers))
        self.projection = nn.Sequential(
            pointwise(dim, width, projection_width), nn.GELU(), pointwise(dim, projection_width, out_channels)
        )

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        shape = tuple(a.shape[2:])
        v = self.lifting(append_coordinates(a, self.periodic))
        v = pad_end(v, tuple(pad_amount(n, self.padding, self.periodic) for n in shape))
        for layer in self.layers:
            v = layer(v)
        return self.projection(crop(v, shape))
