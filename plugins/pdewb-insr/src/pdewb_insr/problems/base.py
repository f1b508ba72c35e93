"""What an INSR problem provides, independent of the time integrator and the network.

A problem lives on an axis-aligned box. Its unknowns are *network slots* (``"u"``, and
``"p"`` for a pressure), each a field with a fixed number of components. A problem
solved by the method of lines, u_t = F(u), gives F by :meth:`NeuralPDE.rhs`, written with
the autograd operators of :mod:`pdewb_insr.calculus`; fluid and elasticity problems give
their own stages instead (:mod:`pdewb_insr.integrators`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..calculus import PointField


@dataclass(frozen=True)
class Box:
    """The domain prod_i [lower_i, upper_i]."""

    lower: tuple[float, ...]
    upper: tuple[float, ...]

    @property
    def dim(self) -> int:
        return len(self.lower)

    @property
    def centre(self) -> tuple[float, ...]:
        return tuple((a + b) / 2 for a, b in zip(self.lower, self.upper))

    @property
    def half_width(self) -> tuple[float, ...]:
        return tuple((b - a) / 2 for a, b in zip(self.lower, self.upper))

    @property
    def volume(self) -> float:
        return float(torch.tensor(self.half_width).prod() * 2 ** self.dim)

    def sample_interior(self, n: int, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
        """n points, stratified: one uniform sample in each cell of a regular m^d partition
        (m = floor(n^(1/d))), the n - m^d others uniform in the box.

        Stratified (jittered) points leave no gaps a network could overfit through: with
        few points per weight, a sin network interpolates i.i.d. points and oscillates between them.
        """
        lower = torch.tensor(self.lower, dtype=dtype)
        width = torch.tensor(self.upper, dtype=dtype) - lower
        m = int(round(n ** (1.0 / self.dim) + 1e-9))
        m = m if m ** self.dim <= n else m - 1
        cells = torch.stack(torch.meshgrid(*[torch.arange(m, dtype=dtype)] * self.dim, indexing="ij"), -1).reshape(-1, self.dim)
        jittered = (cells + torch.rand(cells.shape, generator=generator, dtype=dtype)) / m
        extra = torch.rand((n - len(cells), self.dim), generator=generator, dtype=dtype)
        return lower + width * torch.cat([jittered, extra])

    def sample_boundary(self, n: int, generator: torch.Generator, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
        """n points spread over the 2d faces (uniform on each face), and their outward normals."""
        faces = torch.arange(n) % (2 * self.dim)
        axis, upper_side = faces // 2, faces % 2 == 1
        points = self.sample_interior(n, generator, dtype)
        if self.dim == 1:
            points = torch.where(upper_side, torch.tensor(self.upper, dtype=dtype), torch.tensor(self.lower, dtype=dtype))[:, None]
        else:
            rows = torch.arange(n)
            points[rows, axis] = torch.where(upper_side, torch.tensor(self.upper, dtype=dtype)[axis], torch.tensor(self.lower, dtype=dtype)[axis])
        normals = torch.zeros((n, self.dim), dtype=dtype)
        normals[torch.arange(n), axis] = torch.where(upper_side, 1.0, -1.0).to(dtype)
        return points, normals


class NeuralPDE:
    """Base of the problems. Subclasses set the class attributes and the methods they support."""

    key: ClassVar[str]
    title: ClassVar[str]
    box: ClassVar[Box]
    #: network slot -> number of components; the first slot is the displayed field.
    slots: ClassVar[dict[str, int]]
    #: time integrators that make sense for this problem (keys of integrators.INTEGRATORS).
    integrators: ClassVar[tuple[str, ...]]

    def field(self, raw: PointField) -> PointField:
        """The physical field of a slot from its network's output (identity unless the problem
        builds its boundary conditions into the field, as the elasticity problem does)."""
        return raw

    def initial(self, slot: str, x: torch.Tensor) -> torch.Tensor:
        """Initial values (N, components) of ``slot`` at x (N, d)."""
        raise NotImplementedError

    def rhs(self, field: PointField, x: torch.Tensor) -> torch.Tensor:
        """F(u) at x for the method of lines u_t = F(u): (N, components)."""
        raise NotImplementedError(f"{self.key} is not written as u_t = F(u)")

    def boundary_residual(self, field: PointField, x: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
        """Residual of the boundary condition of the main slot at boundary points (zero: satisfied)."""
        raise NotImplementedError

    def exact(self, x: torch.Tensor, t: float) -> torch.Tensor | None:
        """The exact solution of the main slot, where known (else None)."""
        return None
