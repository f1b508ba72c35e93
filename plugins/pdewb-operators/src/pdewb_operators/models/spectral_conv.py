"""Spectral convolution: the kernel integral operator of the Fourier neural operator.

    (K v)(x) = F^{-1}[ R_k . F[v](k) ](x),   k in the lowest `modes` frequencies,

with R_k a complex (out_channels x in_channels) matrix per retained frequency k and
F the Fourier transform of the grid function. Frequencies above `modes` are set to
zero. Li et al., "Fourier Neural Operator for Parametric Partial Differential
Equations", ICLR 2021, eq. (4)-(5).

The transforms use norm="forward": rfft divides by the number of points, so its
output approximates the Fourier coefficients of the underlying function whatever the
resolution, and irfft sums the truncated series at the grid points. The weights R_k
therefore act on the same physical frequencies at every resolution (zero-shot
super-resolution).

The weights are stored as real tensors with a trailing axis (real, imaginary), so
``module.double()`` makes them float64 (complex128 in use) and any checkpoint format
holds them.
"""

from __future__ import annotations

import torch
from torch import nn


def complex_weight(*shape: int, scale: float) -> nn.Parameter:
    """A parameter of complex numbers with uniform [0, scale) real and imaginary parts, stored real."""
    # The same values as scale * torch.rand(...), drawn in one C++ kernel: a scalar product on the meta
    # device (checkpoint loading builds the model there first) costs a one-time 1 s and 70 MB in torch.
    return nn.Parameter(torch.empty(*shape, 2).uniform_(0.0, scale))


class SpectralConv1d(nn.Module):
    """K v = irfft( R_k rfft(v)_k for k < modes ), v of shape (B, in, n)."""

    def __init__(self, in_channels: int, out_channels: int, modes: int):
        super().__init__()
        self.in_channels, self.out_channels, self.modes = in_channels, out_channels, modes
        self.weight = complex_weight(in_channels, out_channels, modes, scale=1.0 / (in_channels * out_channels))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        n = v.shape[-1]
        v_hat = torch.fft.rfft(v, norm="forward")  # (B, in, n // 2 + 1)
        m = min(self.modes, v_hat.shape[-1])
        R = torch.view_as_complex(self.weight)[..., :m]
        out_hat = v_hat.new_zeros(v.shape[0], self.out_channels, v_hat.shape[-1])
        out_hat[..., :m] = torch.einsum("bik,iok->bok", v_hat[..., :m], R)
        return torch.fft.irfft(out_hat, n=n, norm="forward")


class SpectralConv2d(nn.Module):
    """K v = irfft2( R_k rfft2(v)_k for |k_y| < modes, 0 <= k_x < modes ), v of shape (B, in, ny, nx).

    rfft2 keeps the non-negative frequencies of the last axis only, so the retained
    block of the first axis holds both the positive rows 0..modes-1 and the negative
    rows -modes..-1, each with its own weights (two weight blocks, as in the paper).
    Row k of weight_negative acts on the frequency k_y = k - modes.

    Same result as rfft2 / irfft2, but the transforms along y run on the retained
    columns only, a third of the work at the default sizes.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int):
        super().__init__()
        self.in_channels, self.out_channels, self.modes = in_channels, out_channels, modes
        scale = 1.0 / (in_channels * out_channels)
        self.weight_positive = complex_weight(in_channels, out_channels, modes, modes, scale=scale)
        self.weight_negative = complex_weight(in_channels, out_channels, modes, modes, scale=scale)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        ny, nx = v.shape[-2:]
        mx = min(self.modes, nx // 2 + 1)
        my = min(self.modes, ny // 2)  # rows 0..my-1 and ny-my..ny-1 do not overlap
        rows = torch.cat([torch.arange(max(my, 1)), torch.arange(ny - my, ny)]).to(v.device)  # k_y >= 0, then < 0
        R = torch.cat([torch.view_as_complex(self.weight_positive)[..., : max(my, 1), :mx],
                       torch.view_as_complex(self.weight_negative)[..., self.modes - my:, :mx]], dim=-2)
        v_hat = forward_transform(v, mx)[..., rows, :]  # (B, in, rows, mx)
        out_hat = torch.einsum("bipq,iopq->bopq", v_hat, R)
        return inverse_transform(out_hat, rows, (ny, nx))


def forward_transform(v: torch.Tensor, mx: int) -> torch.Tensor:
    """rfft2(v, norm="forward") restricted to the columns k_x < mx.

    The transform along y runs on the mx retained columns only (not on nx // 2 + 1).
    """
    v_hat = torch.fft.rfft(v, dim=-1, norm="forward")[..., :mx]
    return torch.fft.fft(v_hat, dim=-2, norm="forward")


def inverse_transform(out_hat: torch.Tensor, rows: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """irfft2(w, s=shape, norm="forward") of the spectrum w that is out_hat at (rows, k_x < mx), zero elsewhere."""
    ny, nx = shape
    full = out_hat.new_zeros(*out_hat.shape[:-2], ny, out_hat.shape[-1])
    full[..., rows, :] = out_hat
    full = torch.fft.ifft(full, dim=-2, norm="forward")
    return torch.fft.irfft(full, n=nx, dim=-1, norm="forward")


def spectral_conv(dim: int, in_channels: int, out_channels: int, modes: int) -> nn.Module:
    return (SpectralConv1d if dim == 1 else SpectralConv2d)(in_channels, out_channels, modes)
