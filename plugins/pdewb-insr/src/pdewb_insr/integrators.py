"""Time integrators as lists of stages (INSR paper, Sec. 4).

Each stage trains one network slot (``target``) while the others, and the previous
step's weights, stay frozen; its loss is the time-discrete residual. For u_t = F(u),
with u^n the frozen previous network and u the trainable one:

    explicit Euler:  u - u^n - dt F(u^n)             = 0
    implicit Euler:  u - u^n - dt F(u)               = 0
    midpoint:        u - u^n - dt F((u + u^n) / 2)   = 0

plus the boundary residual of the problem. Operator splitting for incompressible flow
(Stam's stable fluids, written for networks as in INSR Sec. 5.2):

    advection (semi-Lagrangian):  u*(x) - u^n(x - dt u^n(x))   = 0,   u* . n = 0
    pressure Poisson:             dt Lap p - div u*             = 0,   dp/dn = 0
    projection:                   u - (u* - dt grad p)          = 0,   u . n = 0

Variational implicit Euler for hyperelasticity (INSR Sec. 5.3; incremental potential):

    x^{n+1} = argmin_x  sum_i [ m_i / (2 dt^2) |x_i - x~_i|^2 + W(F(x_i)) vol_i ],   x~ = x^n + dt v^n,

with v^n = (x^n - x^{n-1}) / dt (zero at the start), so x~ = 2 x^n - x^{n-1}; its
stationarity condition is implicit Euler for rho x_tt = div P. In displacements,
x - x~ = u - (2 u^n - u^(n-1)); m_i = rho |Omega| / M, vol_i = |Omega| / M.

Frozen quantities that do not depend on the trainable weights (u^n, F(u^n), u^n at the
departure points, div u*) are evaluated once per stage and passed as per-point data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from .calculus import average_field, divergence, gradient, laplacian, network_field, values
from .losses import EnergyLoss, StageLoss, Term
from .siren import Siren

State = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class Points:
    """Collocation points of one stage: interior x, boundary xb with outward normals."""

    interior: torch.Tensor
    boundary: torch.Tensor
    normals: torch.Tensor


@dataclass(frozen=True)
class Stage:
    """Trains ``target``; ``build(pde, networks, state, points, dt)`` returns its loss.

    A stage with ``history`` also gets ``previous=`` the target's weights one step earlier.
    """

    name: str
    target: str
    build: Callable[..., StageLoss | EnergyLoss]
    history: bool = False


def _boundary_term(pde, net: Siren, points: Points, residual=None) -> Term:
    residual = residual or pde.boundary_residual
    return Term(lambda theta, d: residual(network_field(net, theta), d["x"], d["normal"]),
                {"x": points.boundary, "normal": points.normals})


def _match_term(net: Siren, x: torch.Tensor, target: torch.Tensor) -> Term:
    """u(x) - target(x): fit the network to frozen values."""
    return Term(lambda theta, d: values(network_field(net, theta), d["x"]) - d["target"],
                {"x": x, "target": target.detach()})


def initial_fit(slot: str) -> Stage:
    """Fit the network to the initial condition: u - u_0 = 0."""

    def build(pde, networks, state, points, dt) -> StageLoss:
        net, x = networks[slot], points.interior
        fit = Term(lambda theta, d: values(pde.field(network_field(net, theta)), d["x"]) - d["target"],
                   {"x": x, "target": pde.initial(slot, x)})
        return StageLoss({"fit": fit})

    return Stage(f"initial {slot}", slot, build)


def _method_of_lines(scheme: str, slot: str) -> Stage:
    def build(pde, networks, state, points, dt) -> StageLoss:
        net, x = networks[slot], points.interior
        old = network_field(net, state[slot].detach())
        u_old = values(old, x).detach()
        if scheme == "explicit_euler":
            pde_term = _match_term(net, x, u_old + dt * pde.rhs(old, x))
        elif scheme == "implicit_euler":
            pde_term = Term(lambda theta, d: values(network_field(net, theta), d["x"]) - d["old"]
                            - dt * pde.rhs(network_field(net, theta), d["x"]), {"x": x, "old": u_old})
        else:
            def midpoint(theta, d):
                new = network_field(net, theta)
                return values(new, d["x"]) - d["old"] - dt * pde.rhs(average_field(new, old), d["x"])
            pde_term = Term(midpoint, {"x": x, "old": u_old})
        return StageLoss({"pde": pde_term, "boundary": _boundary_term(pde, net, points)})

    return Stage(scheme.replace("_", " "), slot, build)


def _advection_stage() -> Stage:
    def build(pde, networks, state, points, dt) -> StageLoss:
        net, x = networks["u"], points.interior
        old = network_field(net, state["u"].detach())
        lower, upper = (x.new_tensor(b) for b in (pde.box.lower, pde.box.upper))
        departure = torch.clamp(x - dt * values(old, x), lower, upper)
        return StageLoss({"advection": _match_term(net, x, values(old, departure)),
                          "boundary": _boundary_term(pde, net, points)})

    return Stage("advection", "u", build)


def _pressure_stage() -> Stage:
    def build(pde, networks, state, points, dt) -> StageLoss:
        net, x = networks["p"], points.interior
        div_star = divergence(network_field(networks["u"], state["u"].detach()), x).detach()
        poisson = Term(lambda theta, d: dt * laplacian(network_field(net, theta), d["x"])[:, 0] - d["div"],
                       {"x": x, "div": div_star})
        return StageLoss({"poisson": poisson,
                          "neumann": _boundary_term(pde, net, points, pde.pressure_boundary_residual)})

    return Stage("pressure", "p", build)


def _projection_stage() -> Stage:
    def build(pde, networks, state, points, dt) -> StageLoss:
        net, x = networks["u"], points.interior
        u_star = values(network_field(net, state["u"].detach()), x)
        grad_p = gradient(network_field(networks["p"], state["p"].detach()), x)[:, 0, :]
        return StageLoss({"projection": _match_term(net, x, u_star - dt * grad_p),
                          "boundary": _boundary_term(pde, net, points)})

    return Stage("projection", "u", build)


def _incremental_potential_stage() -> Stage:
    def build(pde, networks, state, points, dt, previous=None) -> EnergyLoss:
        net, x, area = networks["u"], points.interior, pde.box.volume

        def displacement(theta):
            return pde.field(network_field(net, theta))

        now = values(displacement(state["u"].detach()), x)
        before = now if previous is None else values(displacement(previous.detach()), x)
        predicted = (2.0 * now - before).detach()  # x~ = x^n + dt v^n, as a displacement

        def inertia(theta):
            return area * pde.density / (2 * dt ** 2) * (values(displacement(theta), x) - predicted).pow(2).sum(-1).mean()

        def elastic(theta):
            return area * pde.elastic_density(displacement(theta), x).mean()

        return EnergyLoss({"inertia": inertia, "elastic": elastic})

    return Stage("incremental potential", "u", build, history=True)


def method_of_lines(scheme: str) -> Callable[[object], list[Stage]]:
    def stages(pde) -> list[Stage]:
        return [_method_of_lines(scheme, next(iter(pde.slots)))]

    return stages


#: integrator key -> (title, stages(pde)).
INTEGRATORS: dict[str, tuple[str, Callable[[object], list[Stage]]]] = {
    "explicit_euler": ("explicit Euler", method_of_lines("explicit_euler")),
    "implicit_euler": ("implicit Euler", method_of_lines("implicit_euler")),
    "midpoint": ("implicit midpoint", method_of_lines("midpoint")),
    "splitting": ("operator splitting (advection, pressure, projection)",
                  lambda pde: [_advection_stage(), _pressure_stage(), _projection_stage()]),
    "variational_implicit_euler": ("variational implicit Euler (incremental potential)",
                                   lambda pde: [_incremental_potential_stage()]),
}


def stages_for(integrator: str, pde) -> list[Stage]:
    if integrator not in pde.integrators:
        raise ValueError(f"{pde.key} supports the integrators {', '.join(pde.integrators)}, not '{integrator}'")
    return INTEGRATORS[integrator][1](pde)


def networks_for(pde, width: int, depth: int, omega_0: float = 30.0) -> dict[str, Siren]:
    return {slot: Siren(pde.box.dim, components, width, depth, omega_0, pde.box.centre, pde.box.half_width)
            for slot, components in pde.slots.items()}
