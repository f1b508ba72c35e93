"""The DMM network phi(xi; u) = sum_ab s_ab(u) t_ab(xi) and the map x = xi + grad phi.

Branch-trunk form (DeepONet, Lu et al., Nature Machine Intelligence 2021; DMM, Hu et
al., ICLR 2024, sec. 3): the *branch* reads the field through its monitor sampled on a
fixed G x G grid of the unit square and returns the coefficients s_ab(u); the *trunk*
is a fixed spectral basis of the computational point xi,

    t_ab(xi) = cos(pi a xi_1) cos(pi b xi_2) / lambda_ab,   lambda_ab = pi^2 (a^2 + b^2),
    0 <= a, b < F, (a, b) != (0, 0),

so -Laplacian(t_ab) = cos(pi a xi_1) cos(pi b xi_2): s_ab are the cosine coefficients of
the source s = -Laplacian(phi), each basis function's Hessian is O(1) whatever its
frequency (the inverse-Laplacian preconditioning of the classical mover's
cosine-transform solves), and every t_ab has zero normal derivative on the sides of
[0, 1]^2, so the Neumann condition grad(phi).n = 0 holds exactly and boundary nodes
slide along their side. The map is

    x(xi) = xi + grad_xi phi(xi; u).

The branch (:class:`SourceUNet`) predicts the source s on the G x G grid and takes its
cosine coefficients (least squares, exact for F = G). To first order the source is a
local function of the monitor (linearising m(xi + grad phi) det(I + H phi) = theta at
phi = 0 gives s = 1 - theta / m), so a convolutional branch carries over to front
shapes it never trained on.

Why this form: the fronts' maps need Hessian features of width ~0.02, which a smooth
learned trunk (the first DMM here: a tanh MLP on damped cosine features) did not
produce; its loss stalled far above what free coefficients on this fixed basis reach.
A convolutional branch that predicts the source locally carries over to front shapes
it never trained on (the Burgers shocks of benchmarks/bench_movers.py) better than a
global branch mapping the whole grid to coefficients. The U-Net's width is set by
batched inference, whose cost it dominates: the benchmark's 5x-faster-than-classical
target on 33 x 33 meshes (printed by benchmarks/bench_movers.py) allows 8 channels.
These design experiments were one-off runs (issue 6's notes), not tests.

Derivatives are separable. With X_a = cos(pi a xi_1), X'_a = -pi a sin(pi a xi_1),
X''_a = -(pi a)^2 X_a (Y likewise in xi_2) and P_ab = s_ab / lambda_ab,

    phi = X P Y^T,  phi_x = X' P Y^T,  phi_y = X P Y'^T,
    phi_xx = X'' P Y^T,  phi_xy = X' P Y'^T,  phi_yy = X P Y''^T      (per point),

one einsum each for all fields of a batch: the factors of a set of points
(:class:`SpectralFactors`, computed once) are shared by every field, and a trajectory
costs one branch pass and one contraction per mesh.

The branch input is q = m / mean(m) - 1 on the grid: the monitor is how the field enters
the Monge-Ampere equation, and m / mean(m) is what its solution depends on (a constant m
gives phi = 0), so the network need not learn the monitor recipe; the checkpoint records
that recipe (the MonitorSpec) and refuses another.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Architecture:
    """Sizes of the network; stored in the checkpoint, which rebuilds the network from it."""

    branch_grid: int = 64
    frequencies: int = 64
    channels: int = 8

    def __post_init__(self) -> None:
        if self.branch_grid % 8 or self.branch_grid < 16:
            raise ValueError(f"branch_grid must be a multiple of 8, >= 16, got {self.branch_grid}")
        if not 2 <= self.frequencies <= self.branch_grid:
            raise ValueError(f"frequencies must be in [2, branch_grid], got {self.frequencies}")

    def describe(self) -> dict:
        return asdict(self)


def conv(inputs: int, outputs: int, stride: int = 1) -> nn.Sequential:
    """3 x 3 convolution, zero padding (q = 0 outside: a uniform monitor), then GELU."""
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1), nn.GELU())


class SourceUNet(nn.Module):
    """(B, 1, G, G) relative monitor -> (B, F, F) coefficients s_ab of the source -Laplacian(phi).

    A U-Net (Ronneberger et al. 2015) predicts the source on the G x G grid, which the cosine
    analysis turns into s_ab: the source is a nearly local function of the monitor (to first
    order s = q / (1 + q)), so a convolutional map applies to front shapes it was not trained on.
    """

    def __init__(self, architecture: Architecture) -> None:
        super().__init__()
        c = architecture.channels
        self.down = nn.ModuleList([nn.Sequential(conv(1, c), conv(c, c)),
                                   nn.Sequential(conv(c, 2 * c, 2), conv(2 * c, 2 * c)),
                                   nn.Sequential(conv(2 * c, 4 * c, 2), conv(4 * c, 4 * c)),
                                   nn.Sequential(conv(4 * c, 4 * c, 2), conv(4 * c, 4 * c))])
        self.up = nn.ModuleList([conv(8 * c, 4 * c), conv(6 * c, 2 * c), conv(3 * c, c)])
        self.out = nn.Conv2d(c, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.register_buffer("analysis", cosine_analysis(architecture.branch_grid, architecture.frequencies),
                             persistent=False)

    def forward(self, relative_monitor: torch.Tensor) -> torch.Tensor:
        skips, h = [], relative_monitor
        for block in self.down:
            h = block(h)
            skips.append(h)
        skips.pop()
        for block in self.up:
            skip = skips.pop()
            h = block(torch.cat([nn.functional.interpolate(h, size=skip.shape[-2:], mode="bilinear"), skip], dim=1))
        return cosine_coefficients(self.out(h)[:, 0], self.analysis)


@dataclass
class SpectralFactors:
    """The 1D factors at P points: (P, F) for each of X, X', X'' (first axis) and Y, Y', Y'' (second axis)."""

    x: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    y: tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def spectral_factors(xi: torch.Tensor, frequencies: int) -> SpectralFactors:
    """cos(w t), -w sin(w t), -w^2 cos(w t) for w = pi a, a < F, at t = xi_1 and t = xi_2."""
    w = math.pi * torch.arange(frequencies, dtype=xi.dtype, device=xi.device)

    def axis(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        angle = t[:, None] * w
        cos = torch.cos(angle)
        return cos, -w * torch.sin(angle), -w * w * cos

    return SpectralFactors(axis(xi[:, 0]), axis(xi[:, 1]))


def inverse_eigenvalues(frequencies: int) -> torch.Tensor:
    """(F, F) 1 / lambda_ab = 1 / (pi^2 (a^2 + b^2)), and 0 for the constant mode (a, b) = (0, 0)."""
    # On the CPU even when the network is built on the meta device (the checkpoint check): small, and
    # arithmetic on meta tensors costs a one-time 1 s and 70 MB in torch.
    a = torch.arange(frequencies, dtype=torch.float32, device="cpu")
    eigenvalues = math.pi**2 * (a[:, None] ** 2 + a[None, :] ** 2)
    eigenvalues[0, 0] = math.inf
    return 1.0 / eigenvalues


def cosine_analysis(grid: int, frequencies: int) -> torch.Tensor:
    """(F, G) least-squares inverse of C_ia = cos(pi a i / (G - 1)): grid values -> cosine coefficients."""
    nodes = torch.linspace(0.0, 1.0, grid, dtype=torch.float64, device="cpu")  # CPU: see inverse_eigenvalues
    synthesis = torch.cos(math.pi * nodes[:, None] * torch.arange(frequencies, dtype=torch.float64, device="cpu"))
    return torch.linalg.pinv(synthesis).float()


def cosine_coefficients(values: torch.Tensor, analysis: torch.Tensor) -> torch.Tensor:
    """(B, F, F) c_nab with values[n, i, j] = sum_ab c_nab cos(pi a x_j) cos(pi b y_i) ([row y, column x])."""
    return torch.einsum("bi,nij,aj->nab", analysis, values, analysis)


class DMMNetwork(nn.Module):
    """phi(xi; u) = sum_ab s_ab(u) t_ab(xi); see the module docstring."""

    def __init__(self, architecture: Architecture) -> None:
        super().__init__()
        self.architecture = architecture
        self.branch = SourceUNet(architecture)
        self.register_buffer("inverse_eigenvalues", inverse_eigenvalues(architecture.frequencies), persistent=False)

    def coefficients(self, monitor_grids: torch.Tensor) -> torch.Tensor:
        """(B, G, G) monitor values on the branch grid -> (B, F, F) potential coefficients P_ab = s_ab / lambda_ab."""
        return self.branch(relative_monitor(monitor_grids).unsqueeze(1)) * self.inverse_eigenvalues

    def trunk_derivatives(self, xi: torch.Tensor) -> SpectralFactors:
        """The trunk's separable factors at (P, 2) points, shared by every field (see the module docstring)."""
        return spectral_factors(xi, self.architecture.frequencies)


def relative_monitor(monitor_grids: torch.Tensor) -> torch.Tensor:
    """q = m / mean(m) - 1 per field: 0 for a constant monitor (no motion)."""
    return monitor_grids / monitor_grids.mean(dim=(-2, -1), keepdim=True) - 1.0


def contract(coefficients: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """sum_ab x_pa P_nab y_pb: (B, P) from (B, F, F) coefficients and (P, F) factors."""
    return torch.einsum("pa,nab,pb->np", x, coefficients, y)


def potential_gradient(coefficients: torch.Tensor, trunk: SpectralFactors) -> torch.Tensor:
    """grad phi = (X' P Y^T, X P Y'^T): (B, P, 2)."""
    (x, dx, _), (y, dy, _) = trunk.x, trunk.y
    return torch.stack([contract(coefficients, dx, y), contract(coefficients, x, dy)], dim=-1)


def potential_hessian(coefficients: torch.Tensor, trunk: SpectralFactors) -> torch.Tensor:
    """H(phi) as (B, P, 3) = (X'' P Y^T, X' P Y'^T, X P Y''^T) = (phi_xx, phi_xy, phi_yy)."""
    (x, dx, ddx), (y, dy, ddy) = trunk.x, trunk.y
    return torch.stack([contract(coefficients, ddx, y), contract(coefficients, dx, dy),
                        contract(coefficients, x, ddy)], dim=-1)
