"""The data-free DMM loss (Hu et al., ICLR 2024, eq. 5-7): no optimal mesh is needed.

For the map x = xi + grad phi of the unit square onto itself, equidistribution of a
monitor m is the Monge-Ampere equation

    m(xi + grad phi) det(I + H(phi)) = theta,   theta = int_Omega m(x) dx / |Omega|,

(change of variables: int m(x(xi)) det(dx/dxi) dxi = int m dx, so theta is fixed by m
alone; it is the trapezoidal mean of the monitor grid, :mod:`.grid_monitor`). The loss
of a batch is, per field, the importance-weighted means (:mod:`.sampling`)

    L_MA     = < w r^2 >,           r = m(xi + grad phi) det(I + H(phi)) / theta - 1,
    L_N      = < (grad phi . n)^2 >  on the boundary (x stays on its side; identically 0 for the
                                      spectral trunk of :mod:`.network`, kept as the paper's term and a check),
    L_convex = < w relu(delta - lambda_min(I + H(phi)))^2 >,

with lambda_min the smaller eigenvalue of the symmetric 2x2 matrix I + H: the map is the
gradient of the convex xi^2 / 2 + phi (Brenier's optimal transport map) exactly when
I + H is positive definite, and a cell folds when it is not. The margin delta > 0 keeps
the discrete cells, which see the map only at their corners, away from folding.
Total: L_MA + w_N L_N + w_c L_convex.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .grid_monitor import sample_grid
from .network import DMMNetwork, potential_gradient, potential_hessian
from .sampling import Collocation


@dataclass(frozen=True)
class LossWeights:
    neumann: float = 1.0
    convexity: float = 10.0
    convexity_margin: float = 0.05


def determinant(hessian: torch.Tensor) -> torch.Tensor:
    """det(I + H) from (..., 3) = (phi_xx, phi_xy, phi_yy)."""
    return (1.0 + hessian[..., 0]) * (1.0 + hessian[..., 2]) - hessian[..., 1] ** 2


def smallest_eigenvalue(hessian: torch.Tensor) -> torch.Tensor:
    """lambda_min(I + H) = 1 + (a + c) / 2 - sqrt(((a - c) / 2)^2 + b^2) for H = [[a, b], [b, c]]."""
    a, b, c = hessian[..., 0], hessian[..., 1], hessian[..., 2]
    return 1.0 + 0.5 * (a + c) - torch.sqrt(0.25 * (a - c) ** 2 + b**2 + 1e-12)


def monge_ampere_residual(monitor_at_x: torch.Tensor, hessian: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """r = m(x) det(I + H(phi)) / theta - 1, shape (B, P) with theta (B,)."""
    return monitor_at_x * determinant(hessian) / theta[:, None] - 1.0


def dmm_loss(network: DMMNetwork, coefficients: torch.Tensor, grids: torch.Tensor, theta: torch.Tensor,
             points: Collocation, weights: LossWeights) -> dict[str, torch.Tensor]:
    """The terms of the module docstring for (B, F, F) coefficients and (B, n, n) monitor grids; 'total' is their sum."""
    trunk = network.trunk_derivatives(points.points)
    moved = points.points + potential_gradient(coefficients, trunk)  # (B, P, 2)
    hessian = potential_hessian(coefficients, trunk)
    residual = monge_ampere_residual(sample_grid(grids, moved), hessian, theta)
    monge_ampere = (points.weights * residual**2).mean(dim=1)
    folding = torch.relu(weights.convexity_margin - smallest_eigenvalue(hessian))
    convexity = (points.weights * folding**2).mean(dim=1)
    edge_gradient = potential_gradient(coefficients, network.trunk_derivatives(points.boundary))
    neumann = ((edge_gradient * points.normals).sum(dim=-1) ** 2).mean(dim=1)
    terms = {"monge_ampere": monge_ampere.mean(), "neumann": neumann.mean(), "convexity": convexity.mean()}
    terms["total"] = terms["monge_ampere"] + weights.neumann * terms["neumann"] + weights.convexity * terms["convexity"]
    return terms
