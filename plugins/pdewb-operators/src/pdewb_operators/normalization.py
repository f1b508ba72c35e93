"""Per-channel normalisation around a neural operator.

Neural operators train best on inputs and targets of order one (Li et al., "Fourier
neural operator for parametric partial differential equations", ICLR 2021, normalise
both). The statistics here are one mean and one standard deviation *per channel*,
taken over samples and all grid points, rather than per grid point as in the FNO
reference code: per-point statistics would tie the model to the training grid, while
per-channel scalars apply unchanged at any resolution (zero-shot super-resolution).

The normalisers are buffers of :class:`NormalizedOperator`, so a checkpoint (its
``state_dict``) carries them and a loaded model maps physical inputs to physical outputs.
"""

from __future__ import annotations

import torch
from torch import nn

#: A channel whose standard deviation is below this (relative to its scale) is treated as constant.
CONSTANT_CHANNEL_TOLERANCE = 1e-7


class ChannelNormalizer(nn.Module):
    """z = (x - mean_c) / std_c for each channel c of x: (B, C, *grid).

    ``mean`` and ``std`` are (C,) buffers. A constant channel (std ~ 0) gets std = 1, so it
    is shifted to zero instead of divided by zero.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))

    @classmethod
    def fit(cls, x: torch.Tensor) -> ChannelNormalizer:
        """Statistics of x: (N, C, *grid) over samples and grid points, per channel.

        mean_c = E[x_c], std_c = sqrt(E[(x_c - mean_c)^2]) (population standard deviation),
        accumulated in float64 so that large data sets do not lose digits.
        """
        if x.ndim < 2 or x.shape[0] == 0:
            raise ValueError(f"fit needs data of shape (N, C, *grid) with N >= 1, got {tuple(x.shape)}")
        channels = x.shape[1]
        per_channel = x.detach().transpose(0, 1).reshape(channels, -1).to(torch.float64)
        mean = per_channel.mean(dim=1)
        std = per_channel.std(dim=1, correction=0)
        scale = torch.maximum(mean.abs(), torch.ones_like(mean))
        std = torch.where(std > CONSTANT_CHANNEL_TOLERANCE * scale, std, torch.ones_like(std))
        normalizer = cls(channels)
        normalizer.mean.copy_(mean.to(normalizer.mean.dtype))
        normalizer.std.copy_(std.to(normalizer.std.dtype))
        return normalizer

    @property
    def channels(self) -> int:
        return self.mean.shape[0]

    def _broadcast(self, buffer: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(C,) -> (1, C, 1, ..., 1) matching x, in x's dtype."""
        if x.ndim < 2 or x.shape[1] != self.channels:
            raise ValueError(f"expected (B, {self.channels}, *grid), got {tuple(x.shape)}")
        return buffer.to(x.dtype).reshape(1, -1, *([1] * (x.ndim - 2)))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = (x - mean) / std."""
        return (x - self._broadcast(self.mean, x)) / self._broadcast(self.std, x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """x = z * std + mean (the inverse of :meth:`encode`)."""
        return z * self._broadcast(self.std, z) + self._broadcast(self.mean, z)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class NormalizedOperator(nn.Module):
    """G(x) = D_out(N(E_in(x))): a network N between an input encoder and an output decoder.

    E_in is ``input_normalizer.encode`` and D_out is ``output_normalizer.decode``, so the
    network works on order-one data while callers see physical units. The whole
    ``state_dict()`` (keys ``input_normalizer.*``, ``network.*``, ``output_normalizer.*``)
    is what a checkpoint stores.
    """

    def __init__(self, input_normalizer: ChannelNormalizer, network: nn.Module,
                 output_normalizer: ChannelNormalizer) -> None:
        super().__init__()
        self.input_normalizer = input_normalizer
        self.network = network
        self.output_normalizer = output_normalizer

    @classmethod
    def fit(cls, network: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> NormalizedOperator:
        """Wrap ``network`` with normalisers fitted on training inputs (N, C_in, ...) and targets (N, C_out, ...)."""
        return cls(ChannelNormalizer.fit(inputs), network, ChannelNormalizer.fit(targets))

    @classmethod
    def unfitted(cls, network: nn.Module, in_channels: int, out_channels: int) -> NormalizedOperator:
        """Identity normalisers of the right size: the skeleton a checkpoint's tensors are loaded into."""
        return cls(ChannelNormalizer(in_channels), network, ChannelNormalizer(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_normalizer.decode(self.network(self.input_normalizer.encode(x)))
