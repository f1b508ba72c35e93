"""2D incompressible Euler, Taylor-Green vortex on [-1, 1]^2 (INSR paper, Sec. 5.2).

    u_t + (u . grad) u = -grad p,   div u = 0,   u . n = 0 on the walls.

    u = ( sin(pi x) cos(pi y), -cos(pi x) sin(pi y) ),   p = (cos(2 pi x) + cos(2 pi y)) / 4

is a *steady* solution of the inviscid equations (u . grad u = -grad p exactly), so every
departure from it is numerical dissipation or dispersion of the scheme. The kinetic
energy (1/2) int |u|^2 = 1 is conserved by the PDE; the integrator's loss of it measures
the scheme's dissipation.
"""

from __future__ import annotations

import math

import torch

from ..calculus import PointField, gradient, values
from .base import Box, NeuralPDE


def taylor_green_velocity(x):
    """(N, 2) velocity at x (N, 2); torch or numpy."""
    lib = torch if isinstance(x, torch.Tensor) else __import__("numpy")
    px, py = math.pi * x[..., 0], math.pi * x[..., 1]
    return lib.stack([lib.sin(px) * lib.cos(py), -lib.cos(px) * lib.sin(py)], -1)


def taylor_green_pressure(x):
    lib = torch if isinstance(x, torch.Tensor) else __import__("numpy")
    return (lib.cos(2 * math.pi * x[..., 0]) + lib.cos(2 * math.pi * x[..., 1]))[..., None] / 4.0


class TaylorGreen(NeuralPDE):
    key = "taylor_green"
    title = "2D Euler, Taylor-Green vortex"
    box = Box((-1.0, -1.0), (1.0, 1.0))
    slots = {"u": 2, "p": 1}
    integrators = ("splitting",)
    #: exact (1/2) int |u|^2 over the box: (1/2) (sin^2 cos^2 + cos^2 sin^2) averages to 1/4, times area 4.
    KINETIC_ENERGY = 1.0

    def initial(self, slot: str, x: torch.Tensor) -> torch.Tensor:
        return taylor_green_velocity(x) if slot == "u" else taylor_green_pressure(x)

    def boundary_residual(self, field: PointField, x: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
        """No penetration: u . n = 0."""
        return (values(field, x) * normals).sum(-1)

    def pressure_boundary_residual(self, field: PointField, x: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
        """dp/dn = 0 (the intermediate velocity already satisfies u* . n = 0)."""
        return (gradient(field, x)[:, 0, :] * normals).sum(-1)

    def exact(self, x: torch.Tensor, t: float) -> torch.Tensor:
        return taylor_green_velocity(x)
