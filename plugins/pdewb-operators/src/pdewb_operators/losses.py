"""Relative error norms used as training losses and as reported metrics.

The standard neural-operator loss (Li et al., ICLR 2021; Kovachki et al., "Neural
operator: learning maps between function spaces", JMLR 2023) is the relative L2 error
per sample, averaged over the batch:

    L2(pred, y) = mean_b ||pred_b - y_b|| / ||y_b||.

A ratio of two discrete norms on the same grid approximates the ratio of the continuous
norms, so it does not depend on the grid size, and it weights every sample equally
whatever its amplitude.

The relative H1 error adds the gradient (the Sobolev H1 norm, ||f||^2 + ||grad f||^2),
which penalises wrong small scales more; it helps where derivatives matter, e.g.
vorticity fields of Navier-Stokes (the neuraloperator library's ``H1Loss``):

    H1(pred, y) = mean_b sqrt( |e_b|_H1^2 / |y_b|_H1^2 ),  e = pred - y,

with the squared norms taken as grid means (so both terms scale like integrals over a
unit-volume domain):

- periodic grids: spectrally, with Parseval, mean(f^2) + mean(|grad f|^2)
  = sum_k (1 + |2 pi k / L|^2) |f_k|^2, f_k the forward-normalised DFT coefficients;
- nodal (non-periodic) grids: mean(f^2) + sum_d mean((Delta_d f / h_d)^2) with forward
  differences Delta_d and spacing h_d = L_d / (points_d - 1).

Channels count as components of one vector-valued function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

#: Keeps the ratio finite for an all-zero target; far below any meaningful norm.
TINY = 1e-12

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES = ("l2", "h1")


def _check_shapes(pred: torch.Tensor, y: torch.Tensor) -> None:
    if pred.shape != y.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(y.shape)} differ in shape")


def relative_l2_per_sample(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B,) relative errors ||pred_b - y_b||_2 / ||y_b||_2 over channels and grid points."""
    _check_shapes(pred, y)
    error = (pred - y).flatten(1).norm(dim=1)
    return error / y.flatten(1).norm(dim=1).clamp_min(TINY)


def relative_l2(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Scalar: the batch mean of :func:`relative_l2_per_sample`."""
    return relative_l2_per_sample(pred, y).mean()


def _spectral_h1_squared(f: torch.Tensor, dim: int, lengths: Sequence[float]) -> torch.Tensor:
    """(B,) sum over channels of sum_k (1 + |k|^2) |f_k|^2 on a periodic grid (Parseval)."""
    axes = tuple(range(-dim, 0))
    coefficients = torch.fft.fftn(f, dim=axes, norm="forward")
    weight = torch.ones(f.shape[-dim:], dtype=f.dtype, device=f.device)
    for axis, (points, length) in enumerate(zip(f.shape[-dim:], lengths)):
        wavenumber = 2 * torch.pi * torch.fft.fftfreq(points, d=length / points, device=f.device).to(weight.dtype)
        shape = [1] * dim
        shape[axis] = points
        weight = weight + wavenumber.reshape(shape) ** 2
    return (weight * coefficients.abs() ** 2).flatten(1).sum(dim=1)


def _nodal_h1_squared(f: torch.Tensor, dim: int, lengths: Sequence[float]) -> torch.Tensor:
    """(B,) mean(f^2) + sum_d mean((Delta_d f / h_d)^2), summed over channels, by forward differences."""
    total = (f ** 2).flatten(2).mean(dim=2).sum(dim=1)
    for axis, length in zip(range(f.ndim - dim, f.ndim), lengths):
        spacing = length / (f.shape[axis] - 1)
        derivative = torch.diff(f, dim=axis) / spacing
        total = total + (derivative ** 2).flatten(2).mean(dim=2).sum(dim=1)
    return total


def relative_h1_per_sample(pred: torch.Tensor, y: torch.Tensor, dim: int, periodic: bool,
                           lengths: Sequence[float] | None = None) -> torch.Tensor:
    """(B,) relative H1 errors |pred_b - y_b|_H1 / |y_b|_H1 on a ``dim``-dimensional grid.

    ``lengths``: the domain's side lengths (default 1 per axis); spectral derivatives
    when ``periodic``, forward differences on a nodal grid otherwise.
    """
    _check_shapes(pred, y)
    if pred.ndim != dim + 2:
        raise ValueError(f"expected (B, C, *grid) with a {dim}D grid, got {tuple(pred.shape)}")
    lengths = tuple(lengths) if lengths is not None else (1.0,) * dim
    squared_norm = _spectral_h1_squared if periodic else _nodal_h1_squared
    error = squared_norm(pred - y, dim, lengths)
    reference = squared_norm(y, dim, lengths)
    return torch.sqrt(error / reference.clamp_min(TINY ** 2))


def make_loss(name: str, dim: int, periodic: bool, lengths: Sequence[float] | None = None) -> LossFunction:
    """The batch-mean loss ``name`` ("l2" or "h1") as a function (pred, y) -> scalar tensor."""
    if name == "l2":
        return relative_l2
    if name == "h1":
        return lambda pred, y: relative_h1_per_sample(pred, y, dim, periodic, lengths).mean()
    raise ValueError(f"unknown loss '{name}'; choose one of {', '.join(LOSSES)}")
