"""Spatial derivatives of a field by automatic differentiation (``torch.func``).

A *field* is a point function ``f(x) -> values``: x has shape (d,), values shape (c,).
The operators below differentiate it with forward-mode AD and ``vmap`` it over points
x of shape (N, d). Being ``torch.func`` transforms they compose with
``torch.func.jacrev`` over the network weights, which the Gauss-Newton solver needs.

    gradient:   (grad f)_{ij}  = d f_i / d x_j                 -> (N, c, d)
    divergence: div f          = sum_i d f_i / d x_i           -> (N,)
    laplacian:  (Lap f)_i      = sum_j d^2 f_i / d x_j^2       -> (N, c)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.func import hessian, jacfwd, vmap

PointField = Callable[[torch.Tensor], torch.Tensor]


def values(field: PointField, x: torch.Tensor) -> torch.Tensor:
    return vmap(field)(x)


def gradient(field: PointField, x: torch.Tensor) -> torch.Tensor:
    return vmap(jacfwd(field))(x)


def divergence(field: PointField, x: torch.Tensor) -> torch.Tensor:
    return torch.diagonal(gradient(field, x), dim1=-2, dim2=-1).sum(-1)


def laplacian(field: PointField, x: torch.Tensor) -> torch.Tensor:
    return torch.diagonal(vmap(hessian(field))(x), dim1=-2, dim2=-1).sum(-1)


def network_field(network, theta: torch.Tensor) -> PointField:
    """The point function x -> network(theta, x)."""
    return lambda x: network(theta, x)


def average_field(first: PointField, second: PointField) -> PointField:
    """(first + second) / 2, pointwise: the midpoint rule's state."""
    return lambda x: 0.5 * (first(x) + second(x))
