"""Passive scalar phi_t + v . grad phi = 0 carried by a given velocity: solid-body rotation.

v(x, y) = omega (-y, x) on [-1, 1]^2 with omega = pi / 2 (a quarter turn per unit time);
phi_0 is a Gaussian blob of width 0.1 centred at (0.5, 0), phi = 0 on the boundary (the
blob stays inside the unit disc). Exact solution: phi(x, t) = phi_0(R(-omega t) x).
"""

from __future__ import annotations

import math

import torch

from ..calculus import PointField, gradient, values
from .base import Box, NeuralPDE

OMEGA, BLOB_CENTRE, BLOB_WIDTH = math.pi / 2, (0.5, 0.0), 0.1


def blob(x):
    lib = torch if isinstance(x, torch.Tensor) else __import__("numpy")
    r2 = (x[..., 0] - BLOB_CENTRE[0]) ** 2 + (x[..., 1] - BLOB_CENTRE[1]) ** 2
    return lib.exp(-0.5 * r2 / BLOB_WIDTH ** 2)[..., None]


def rotation_velocity(x: torch.Tensor) -> torch.Tensor:
    return OMEGA * torch.stack([-x[..., 1], x[..., 0]], -1)


class PassiveScalar(NeuralPDE):
    key = "passive_scalar"
    title = "Passive scalar in a rotating flow"
    box = Box((-1.0, -1.0), (1.0, 1.0))
    slots = {"phi": 1}
    integrators = ("explicit_euler", "implicit_euler", "midpoint")

    def initial(self, slot: str, x: torch.Tensor) -> torch.Tensor:
        return blob(x)

    def rhs(self, field: PointField, x: torch.Tensor) -> torch.Tensor:
        """F(phi) = -v . grad phi."""
        return -(gradient(field, x)[:, 0, :] * rotation_velocity(x)).sum(-1, keepdim=True)

    def boundary_residual(self, field: PointField, x: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
        return values(field, x)[:, 0]

    def exact(self, x: torch.Tensor, t: float) -> torch.Tensor:
        c, s = math.cos(OMEGA * t), math.sin(OMEGA * t)
        back = torch.stack([c * x[..., 0] + s * x[..., 1], -s * x[..., 0] + c * x[..., 1]], -1)
        return blob(back)
