"""1D linear advection u_t + a u_x = 0 on [-2, 2] (INSR paper, Sec. 5.1).

a = 0.25; u_0(x) = exp(-(x - c)^2 / (2 w^2)) with c = -1.5, w = 0.1; u = 0 at x = +-2
(the pulse stays far from the boundary); exact solution u(x, t) = u_0(x - a t).
"""

from __future__ import annotations

import math

import torch

from ..calculus import PointField, gradient, values
from .base import Box, NeuralPDE

SPEED, CENTRE, WIDTH = 0.25, -1.5, 0.1


def gaussian_pulse(x, centre: float = CENTRE, width: float = WIDTH):
    """exp(-(x - centre)^2 / (2 width^2)), for torch tensors and numpy arrays alike."""
    exp = torch.exp if isinstance(x, torch.Tensor) else __import__("numpy").exp
    return exp(-0.5 * ((x - centre) / width) ** 2)


class Advection1D(NeuralPDE):
    key = "advection_1d"
    title = "1D advection u_t + a u_x = 0"
    box = Box((-2.0,), (2.0,))
    slots = {"u": 1}
    integrators = ("explicit_euler", "implicit_euler", "midpoint")

    def __init__(self, speed: float = SPEED) -> None:
        self.speed = float(speed)

    def initial(self, slot: str, x: torch.Tensor) -> torch.Tensor:
        return gaussian_pulse(x)

    def rhs(self, field: PointField, x: torch.Tensor) -> torch.Tensor:
        """F(u) = -a u_x."""
        return -self.speed * gradient(field, x)[..., 0]

    def boundary_residual(self, field: PointField, x: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
        """u = 0 at x = +-2."""
        return values(field, x)

    def exact(self, x: torch.Tensor, t: float) -> torch.Tensor:
        return gaussian_pulse(x - self.speed * t)

    def period(self) -> float:
        return 4.0 / self.speed if self.speed else math.inf
