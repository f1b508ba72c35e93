"""2D hyperelastic stretching: a neo-Hookean bar, the variational implicit Euler (INSR paper, Sec. 5.3).

Reference body Omega_0 = [-1, 1] x [-0.5, 0.5]; the deformation phi(X) = X + u(X), with
the displacement u a SIREN. Deformation gradient F = I + grad u, J = det F, and the
compressible neo-Hookean energy density

    W(F) = mu / 2 (tr(F^T F) - 2) - mu log J + lambda / 2 (log J)^2

(zero and stress-free at F = I; the volumetric part f(J) = -mu log J + lambda/2 (log J)^2
is a barrier against inversion, J -> 0). First Piola-Kirchhoff stress
P = dW/dF = mu (F - F^-T) + lambda log(J) F^-T. Below J_0 = 0.1 (far outside any state
reached here) f is continued by its second-order Taylor polynomial at J_0, finite and
still steeply rising as J falls: an optimiser's trial step through an inverted state
then gets a large finite energy to back off from, not NaN.

Boundary conditions are built into the displacement (hard constraints, exact for any
weights): with the network output n(X) and d(X) = 1 - X_1^2, which vanishes on both ends,

    u(X) = g(X) + D(X) n(X),      g(X) = delta (X_1 + 1) / 2 e_1,

"clamped": D = diag(d, d): u = 0 at X_1 = -1, u = (delta, 0) at X_1 = +1;
"rollers": D = diag(d, 1): u_1 = 0 / delta at the ends, u_2 free (no friction).
The long sides are traction-free, the natural condition of the energy. Initial state:
u^0 = g (the bar stretched along X_1 only, at rest); it then contracts laterally.

Uniaxial equilibrium (rollers): the homogeneous F = diag(a, b), a = 1 + delta / 2, with
zero lateral stress P_22 = 0, i.e. mu (b^2 - 1) + lambda log(a b) = 0, minimises the
elastic energy (:func:`uniaxial_lateral_stretch`).
"""

from __future__ import annotations

import math

import torch

from ..calculus import PointField, gradient, values
from .base import Box, NeuralPDE

MU, LAMBDA, DENSITY, STRETCH = 1.0, 1.0, 1.0, 0.2


J_0 = 0.1


def volumetric_energy(J: torch.Tensor, mu: float, lam: float) -> torch.Tensor:
    """f(J) = -mu log J + lambda/2 (log J)^2 for J >= J_0, its Taylor polynomial at J_0 below:
    f' = (lambda log J - mu) / J, f'' = (mu + lambda - lambda log J) / J^2 > 0."""
    log_j = torch.log(torch.clamp(J, min=J_0))
    log_0 = math.log(J_0)
    f_0 = -mu * log_0 + 0.5 * lam * log_0 ** 2
    df_0, d2f_0 = (lam * log_0 - mu) / J_0, (mu + lam - lam * log_0) / J_0 ** 2
    taylor = f_0 + df_0 * (J - J_0) + 0.5 * d2f_0 * (J - J_0) ** 2
    return torch.where(J >= J_0, -mu * log_j + 0.5 * lam * log_j ** 2, taylor)


def neo_hookean_energy(F: torch.Tensor, mu: float, lam: float) -> torch.Tensor:
    """W(F) = mu/2 (|F|^2 - 2) + f(det F) per point, F of shape (N, 2, 2)."""
    return 0.5 * mu * (F.pow(2).sum((-2, -1)) - 2.0) + volumetric_energy(torch.linalg.det(F), mu, lam)


def uniaxial_lateral_stretch(a: float, mu: float = MU, lam: float = LAMBDA) -> float:
    """b solving mu (b^2 - 1) + lambda log(a b) = 0 (Newton from b = 1; the root is unique, b > 0)."""
    b = 1.0
    for _ in range(50):
        residual, slope = mu * (b * b - 1) + lam * math.log(a * b), 2 * mu * b + lam / b
        b -= residual / slope
        if abs(residual) < 1e-15:
            break
    return b


class HyperelasticStretch(NeuralPDE):
    key = "elasticity_stretch"
    title = "2D neo-Hookean bar, stretched"
    box = Box((-1.0, -0.5), (1.0, 0.5))
    slots = {"u": 2}
    integrators = ("variational_implicit_euler",)

    def __init__(self, mu: float = MU, lam: float = LAMBDA, density: float = DENSITY, stretch: float = STRETCH,
                 support: str = "clamped") -> None:
        if support not in ("clamped", "rollers"):
            raise ValueError(f"support is 'clamped' or 'rollers', not {support!r}")
        self.mu, self.lam, self.density, self.stretch, self.support = mu, lam, density, stretch, support

    def prescribed(self, x: torch.Tensor) -> torch.Tensor:
        """g(X) = delta (X_1 + 1) / 2 e_1: satisfies both end conditions."""
        return torch.stack([0.5 * self.stretch * (x[..., 0] + 1.0), torch.zeros_like(x[..., 0])], -1)

    def field(self, raw: PointField) -> PointField:
        """u(X) = g(X) + D(X) n(X): the network output n made to satisfy the boundary conditions."""
        def displacement(x):
            d = 1.0 - x[..., 0] ** 2
            mask = torch.stack([d, d if self.support == "clamped" else torch.ones_like(d)], -1)
            return self.prescribed(x) + mask * raw(x)
        return displacement

    def initial(self, slot: str, x: torch.Tensor) -> torch.Tensor:
        return self.prescribed(x)

    def deformation_gradient(self, displacement: PointField, x: torch.Tensor) -> torch.Tensor:
        """F = I + grad u at x: (N, 2, 2)."""
        return torch.eye(2, dtype=x.dtype) + gradient(displacement, x)

    def elastic_density(self, displacement: PointField, x: torch.Tensor) -> torch.Tensor:
        return neo_hookean_energy(self.deformation_gradient(displacement, x), self.mu, self.lam)

    def energies(self, now: PointField, before: PointField, x: torch.Tensor, dt: float) -> dict[str, float]:
        """Kinetic (rho / 2) int |v|^2 with v = (u^n - u^(n-1)) / dt, elastic int W(F), and their sum,
        by the mean over the points x (uniform over the body) times its area."""
        area = self.box.volume
        v = (values(now, x) - values(before, x)) / dt
        kinetic = 0.5 * self.density * area * float(v.pow(2).sum(-1).mean())
        elastic = area * float(self.elastic_density(now, x).mean())
        return {"kinetic_energy": kinetic, "elastic_energy": elastic, "total_energy": kinetic + elastic,
                "min_J": float(torch.linalg.det(self.deformation_gradient(now, x)).min())}
