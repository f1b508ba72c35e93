"""The DMM network phi(xi; u) = sum_k b_k(u) t_k(xi) and the map x = xi + grad phi.

Branch-trunk form (DeepONet, Lu et al., Nature Machine Intelligence 2021; DMM, Hu et
al., ICLR 2024, sec. 3): the *branch* reads the field through its monitor sampled on a
fixed G x G grid of the unit square and returns K coefficients b_k; the *trunk* maps a
computational point xi to K basis functions t_k(xi). The potential is their inner
product, and the mesh map is its gradient plus the identity,

    x(xi) = xi + grad_xi phi(xi; u) = xi + sum_k b_k(u) grad t_k(xi),

so the trunk's derivatives are computed once for a set of points and shared by every
field of a batch (a whole trajectory costs one branch pass and one contraction).

The branch input is q = m / mean(m) - 1 on the grid: the monitor is how the field enters
the Monge-Ampere equation, and m / mean(m) is what its solution depends on (a constant m
gives phi = 0), so the network need not learn the monitor recipe; the checkpoint records
that recipe (the MonitorSpec) and refuses another.

Trunk features (``trunk_features``):

* "cosine":  cos(pi a xi_1), cos(pi a xi_2), a = 0..F-1. Every feature has zero normal
  derivative on the sides of [0, 1]^2, hence so has phi: the Neumann condition
  grad(phi).n = 0 holds exactly and boundary nodes slide along their side.
* "fourier": cos and sin of pi a xi_d; the Neumann condition is then only the loss's
  penalty term, as in the paper.

Derivatives in xi are propagated forward through the trunk with its values (Taylor
mode, written out: a linear layer maps value, gradient and Hessian alike; y = tanh(z)
gives grad y = s' grad z and H y = s'' grad z grad z^T + s' H z with s' = 1 - y^2,
s'' = -2 y s'), about six forward passes' work, and stay differentiable in the
network's weights for training.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

TRUNK_FEATURES = ("cosine", "fourier")


@dataclass(frozen=True)
class Architecture:
    """Sizes of the network; stored in the checkpoint, which rebuilds the network from it."""

    branch_grid: int = 32
    basis: int = 128
    trunk_width: int = 128
    trunk_depth: int = 2
    frequencies: int = 16
    trunk_features: str = "cosine"
    potential_scale: float = 0.05

    def __post_init__(self) -> None:
        if self.trunk_features not in TRUNK_FEATURES:
            raise ValueError(f"unknown trunk features '{self.trunk_features}' (known: {', '.join(TRUNK_FEATURES)})")
        if self.branch_grid % 8 or self.branch_grid < 16:
            raise ValueError(f"branch_grid must be a multiple of 8, >= 16, got {self.branch_grid}")

    def describe(self) -> dict:
        return asdict(self)


class Branch(nn.Module):
    """(B, 1, G, G) relative monitor -> (B, K) coefficients: three stride-2 convolutions and two linear layers."""

    def __init__(self, grid: int, basis: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.GELU(),
            nn.Flatten(),
            nn.Linear(64 * (grid // 8) ** 2, 128), nn.GELU(),
        )
        self.coefficients = nn.Linear(128, basis)
        # Zero coefficients at initialisation: phi = 0, the identity map, a valid mesh to start from.
        nn.init.zeros_(self.coefficients.weight)
        nn.init.zeros_(self.coefficients.bias)

    def forward(self, relative_monitor: torch.Tensor) -> torch.Tensor:
        return self.coefficients(self.features(relative_monitor))


class Trunk(nn.Module):
    """(P, 2) points of [0, 1]^2 -> (P, K) basis functions t_k(xi): an MLP on cosine (or Fourier) features."""

    def __init__(self, architecture: Architecture) -> None:
        super().__init__()
        self.kind = architecture.trunk_features
        self.register_buffer("frequencies", math.pi * torch.arange(architecture.frequencies, dtype=torch.float32))
        # Amplitude 1 / (1 + a)^2 for frequency pi a: every feature's second derivative is at most pi^2, so
        # I + H(phi) starts near I and high frequencies enter only as far as the loss asks (the same
        # smoothing as the inverse Laplacian of the classical relaxation).
        self.register_buffer("amplitudes", 1.0 / (1.0 + torch.arange(architecture.frequencies, dtype=torch.float32)) ** 2)
        width = architecture.trunk_width
        inputs = 2 * architecture.frequencies * (1 if self.kind == "cosine" else 2)
        layers: list[nn.Module] = [nn.Linear(inputs, width), nn.Tanh()]
        for _ in range(architecture.trunk_depth - 1):
            layers += [nn.Linear(width, width), nn.Tanh()]
        layers.append(nn.Linear(width, architecture.basis))
        self.mlp = nn.Sequential(*layers)

    def features(self, xi: torch.Tensor) -> torch.Tensor:
        angles = xi[:, :, None] * self.frequencies  # (P, 2, F)
        parts = [torch.cos(angles)] if self.kind == "cosine" else [torch.cos(angles), torch.sin(angles)]
        parts = [self.amplitudes * part for part in parts]
        return torch.cat([part.flatten(1) for part in parts], dim=1)

    def forward(self, xi: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.features(xi))

    def feature_jet(self, xi: torch.Tensor, hessian: bool) -> torch.Tensor:
        """(P, C, n) features and their derivatives, C = 3 (value, d/dx, d/dy) or 6 (+ xx, xy, yy).

        cos(w xi_d): derivative -w sin(w xi_d) along axis d, second derivative -w^2 cos(w xi_d);
        sin(w xi_d): w cos(w xi_d) and -w^2 sin(w xi_d); every cross derivative is zero
        (each times its amplitude).
        """
        w = self.frequencies
        angles = xi[:, :, None] * w  # (P, 2, F)
        cos, sin = self.amplitudes * torch.cos(angles), self.amplitudes * torch.sin(angles)
        blocks = [(cos, -w * sin, -w * w * cos)]
        if self.kind == "fourier":
            blocks.append((sin, w * cos, -w * w * sin))
        channels = 6 if hessian else 3
        jet = []
        for value, first, second in blocks:
            part = value.new_zeros((len(xi), channels, 2, len(w)))
            part[:, 0] = value
            for axis in range(2):
                part[:, 1 + axis, axis] = first[:, axis]
                if hessian:
                    part[:, 3 + 2 * axis, axis] = second[:, axis]  # xx at channel 3, yy at channel 5; xy stays 0
            jet.append(part.flatten(2))
        return torch.cat(jet, dim=2)

    def jet(self, xi: torch.Tensor, hessian: bool = False) -> torch.Tensor:
        """(P, C, K): the trunk's values, gradients and (if asked) Hessians, channels as in :meth:`feature_jet`."""
        jet = self.feature_jet(xi, hessian)
        for layer in self.mlp:
            if isinstance(layer, nn.Linear):
                jet = jet @ layer.weight.T
                jet = torch.cat([jet[:, :1] + layer.bias, jet[:, 1:]], dim=1)  # the bias shifts values only
            else:
                jet = tanh_jet(jet)
        return jet


@dataclass
class TrunkDerivatives:
    """The trunk at P points: values (P, K), gradient (P, K, 2) and, if asked, the Hessian (P, K, 3) as xx, xy, yy."""

    values: torch.Tensor
    gradient: torch.Tensor
    hessian: torch.Tensor | None = None


class DMMNetwork(nn.Module):
    """phi(xi; u) = sum_k b_k(u) t_k(xi); see the module docstring.

    ``potential_scale`` multiplies the branch's output: the map's displacement is a
    fraction of the domain, so b_k of order ``potential_scale`` keeps Adam's first
    steps (of order the learning rate in every weight) from folding the map.
    """

    def __init__(self, architecture: Architecture) -> None:
        super().__init__()
        self.architecture = architecture
        self.branch = Branch(architecture.branch_grid, architecture.basis)
        self.trunk = Trunk(architecture)

    def coefficients(self, monitor_grids: torch.Tensor) -> torch.Tensor:
        """(B, G, G) monitor values on the branch grid -> (B, K) coefficients b_k(u)."""
        return self.architecture.potential_scale * self.branch(relative_monitor(monitor_grids).unsqueeze(1))

    def trunk_derivatives(self, xi: torch.Tensor, hessian: bool = False) -> TrunkDerivatives:
        """The trunk and its xi-derivatives at (P, 2) points (Taylor mode, see the module docstring)."""
        jet = self.trunk.jet(xi, hessian)
        gradient = jet[:, 1:3].transpose(1, 2)
        return TrunkDerivatives(jet[:, 0], gradient, jet[:, 3:6].transpose(1, 2) if hessian else None)


def tanh_jet(jet: torch.Tensor) -> torch.Tensor:
    """y = tanh(z) on a (P, C, n) jet: y, s' grad z and s'' dz_i dz_j + s' d2z_ij (s' = 1 - y^2, s'' = -2 y s')."""
    y = torch.tanh(jet[:, 0])
    s1 = 1.0 - y * y
    s2 = -2.0 * y * s1
    out = [y] + [s1 * jet[:, c] for c in (1, 2)]
    if jet.shape[1] == 6:
        zx, zy = jet[:, 1], jet[:, 2]
        out += [s2 * zx * zx + s1 * jet[:, 3], s2 * zx * zy + s1 * jet[:, 4], s2 * zy * zy + s1 * jet[:, 5]]
    return torch.stack(out, dim=1)


def relative_monitor(monitor_grids: torch.Tensor) -> torch.Tensor:
    """q = m / mean(m) - 1 per field: 0 for a constant monitor (no motion)."""
    return monitor_grids / monitor_grids.mean(dim=(-2, -1), keepdim=True) - 1.0


def potential_gradient(coefficients: torch.Tensor, trunk: TrunkDerivatives) -> torch.Tensor:
    """grad phi = sum_k b_k grad t_k: (B, P, 2) from (B, K) coefficients."""
    return torch.einsum("bk,pkd->bpd", coefficients, trunk.gradient)


def potential_hessian(coefficients: torch.Tensor, trunk: TrunkDerivatives) -> torch.Tensor:
    """H(phi) as (B, P, 3) = (phi_xx, phi_xy, phi_yy)."""
    return torch.einsum("bk,pkc->bpc", coefficients, trunk.hessian)
