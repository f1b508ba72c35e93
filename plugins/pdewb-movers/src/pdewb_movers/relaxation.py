"""Parabolic Monge-Ampere relaxation with a guarded pseudo-time step (the mover's job).

Optimal-transport mesh movement (Budd, Huang & Russell, Acta Numerica 2009, sec. 6;
Budd & Williams, J. Phys. A 2006) seeks x = xi + grad(phi) with

    m(x) det(I + H(phi)) = theta,    theta = int_Omega m(x) dx / |Omega|,

so that the moved mesh equidistributes m. It is solved by the parabolic relaxation

    -d/dtau Lap(phi) = r(phi),   r = (m(xi + grad phi) det(I + H(phi)) - theta) / theta,

with d(phi)/dn = 0, stepped explicitly in pseudo-time: phi <- phi + dtau (-Lap)^{-1} r.
Near phi = 0 with m = theta, r ~ Lap(phi) and the step is phi <- (1 - dtau) phi, so
dtau ~ 1 is Newton-like; where m varies, the linearised coefficient reaches
max(m) / theta and the step must shrink to about theta / max(m), where it starts.

Each iteration re-evaluates the monitor on the moved nodes (the monitor interpolates
from the original mesh) and recomputes theta there. A trial step is accepted only if
no cell inverts or collapses (every cell Jacobian |K_x| / |K_xi|, signed in the
original orientation, stays above ``COLLAPSE_FRACTION`` theta / m_K, a tenth of what
equidistribution asks of that cell, m_K from the last accepted iterate) and the
residual does not grow by more than ``GROWTH_ALLOWED``; otherwise dtau is halved and
the step retried from the last accepted state. Accepted steps let dtau grow again by
``DTAU_GROWTH``.

Where only a few cells collapse (at most ``LOCAL_SHARE`` of them), the cause is local:
a re-entrant corner, or a curved boundary that the map x = xi + grad(phi) cannot
follow (Neumann conditions are exact only on straight sides; near a re-entrant
corner grad(phi) is singular). Those cells' nodes then get their displacement damped,
x = xi + s grad(phi) with s halved up to ``LOCAL_ROUNDS`` times and spread over the
neighbouring nodes (``DAMPING_SPREAD`` averaging passes, or the collapse just moves one
cell outward), instead of stalling the whole mesh; s never grows back, and the final
message counts the damped nodes.

The job stops when

* the RMS residual is below the tolerance (converged),
* it decreased by less than ``STALL_FRACTION`` over ``STALL_WINDOW`` iterations (the
  discrete equations' attainable accuracy, or a monitor too sharp for the mesh),
* dtau fell below ``MIN_DTAU`` (no admissible step: the last valid mesh is kept), or
* the iteration limit is reached,

and says which in its last log message. The last frame is always a valid mesh.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from workbench.core import Field, Frame, LogMessage, Progress, Scalars
from workbench.core.events import Event
from workbench.core.monitors import Monitor

from .discretisation import Discretisation

GROWTH_ALLOWED = 0.02
DTAU_GROWTH = 1.25
MAX_DTAU = 1.0
MIN_DTAU = 1e-4
STALL_WINDOW = 8
STALL_FRACTION = 0.02
#: At most this share of the cells may collapse for the local damping to handle it (else dtau is halved).
LOCAL_SHARE = 0.01
LOCAL_ROUNDS = 6
DAMPING_SPREAD = 2
#: Nodes whose damping factor fell below this are counted in the final message.
DAMPED_REPORTED = 0.9
#: A cell is collapsing when |K_x| / |K_xi| falls below this fraction of theta / m_K, the ratio that
#: equidistribution, m(x) |K_x| = theta |K_xi|, asks of it (m_K: the monitor at its corners).
COLLAPSE_FRACTION = 0.1


@dataclass(frozen=True, eq=False)
class State:
    """One iterate: the potential, the displacement damping, the moved nodes, the monitor there, the residual."""

    phi: np.ndarray
    damping: np.ndarray
    points: np.ndarray
    monitor: np.ndarray
    residual: np.ndarray
    norm: float
    theta: float


@dataclass(frozen=True)
class RelaxationSettings:
    max_iterations: int = 100
    tolerance: float = 1e-3
    pseudo_time_step: float = 0.0  # 0: theta / max(m), the linear stability estimate
    frame_every: int = 1


def evaluate(discretisation: Discretisation, monitor: Monitor, phi: np.ndarray, damping: np.ndarray,
             min_jacobian: np.ndarray | float = 0.0) -> tuple[State | None, np.ndarray]:
    """The state at phi, or None with the cells whose |K_x| / |K_xi| <= min_jacobian (per cell)."""
    points = discretisation.points(phi, damping)
    areas = discretisation.oriented_areas(points)
    collapsing = discretisation.jacobians(areas) <= min_jacobian
    if collapsing.any():
        return None, collapsing
    m = monitor(points)
    theta = discretisation.mean_monitor(areas, m)
    residual = m * discretisation.hessian_determinant(phi) / theta - 1.0
    return State(phi, damping, points, m, residual, discretisation.rms(residual), theta), collapsing


def collapse_thresholds(discretisation: Discretisation, state: State) -> np.ndarray:
    """Per cell, the Jacobian below which it counts as collapsing: COLLAPSE_FRACTION theta / m_K."""
    m = state.monitor[discretisation.triangles].mean(axis=1)
    return COLLAPSE_FRACTION * state.theta / m


def step(discretisation: Discretisation, monitor: Monitor, state: State, dtau: float) -> tuple[State | None, float, str]:
    """One guarded pseudo-time step: (the accepted state or None, the dtau used, why it failed)."""
    direction = discretisation.inverse_laplacian(state.residual)
    min_jacobian = collapse_thresholds(discretisation, state)
    local_limit = max(1, int(LOCAL_SHARE * len(discretisation.triangles)))
    damping, rounds, failure = state.damping, 0, ""
    while dtau >= MIN_DTAU:
        trial, collapsing = evaluate(discretisation, monitor, state.phi + dtau * direction, damping, min_jacobian)
        if trial is None and collapsing.sum() <= local_limit and rounds < LOCAL_ROUNDS:
            damping = damping.copy()
            damping[np.unique(discretisation.triangles[collapsing])] *= 0.5
            # Spread the damping over the neighbouring nodes, or the collapse only moves one cell outward.
            damping = np.minimum(damping, discretisation.averaging(damping, DAMPING_SPREAD))
            rounds += 1
            continue
        if trial is not None and trial.norm <= state.norm * (1 + GROWTH_ALLOWED):
            return trial, dtau, ""
        failure = "cells would collapse or invert" if trial is None else "the residual would grow"
        dtau, damping, rounds = dtau / 2, state.damping, 0
    return None, dtau, failure


def frame(index: int, state: State) -> Frame:
    return Frame(index, float(index), {
        "coordinates": Field("coordinates", state.points),
        "monitor": Field("monitor", state.monitor),
        "residual": Field("residual", state.residual),
    })


def relax(discretisation: Discretisation, monitor: Monitor, settings: RelaxationSettings) -> Iterator[Event]:
    """The mover's job: yields a Frame (moved coordinates) per iteration and ends with the stop reason."""
    yield LogMessage(discretisation.description)
    n = len(discretisation.reference)
    state, _ = evaluate(discretisation, monitor, np.zeros(n), np.ones(n))
    if state is None:
        raise ValueError("the original mesh has inverted or degenerate cells")
    initial_norm = state.norm
    dtau = settings.pseudo_time_step or min(MAX_DTAU, state.theta / float(state.monitor.max()))
    yield frame(0, state)
    yield Scalars(0, {"residual": state.norm, "dtau": dtau})
    history, reason, iteration = [state.norm], "", 0
    for iteration in range(1, settings.max_iterations + 1):
        if state.norm < settings.tolerance:
            reason = f"converged: residual {state.norm:.2e} below the tolerance {settings.tolerance:g}"
            iteration -= 1
            break
        trial, dtau, failure = step(discretisation, monitor, state, dtau)
        if trial is None:
            reason = (f"stopped: no admissible pseudo-time step ({failure} even with dtau < {MIN_DTAU:g}); "
                      f"kept the last valid mesh, residual {state.norm:.2e}")
            iteration -= 1
            break
        if trial.norm < state.norm:
            dtau = min(dtau * DTAU_GROWTH, settings.pseudo_time_step or MAX_DTAU)
        state = trial
        history.append(state.norm)
        if iteration % settings.frame_every == 0:
            yield frame(iteration, state)
        yield Scalars(iteration, {"residual": state.norm, "dtau": dtau, "theta": state.theta})
        yield Progress(iteration / settings.max_iterations, f"iteration {iteration}: residual {state.norm:.2e}")
        if len(history) > STALL_WINDOW and history[-1] > (1 - STALL_FRACTION) * history[-1 - STALL_WINDOW]:
            reason = (f"converged: residual stagnated at {state.norm:.2e} (from {initial_norm:.2e}; "
                      f"less than {STALL_FRACTION:.0%} decrease over {STALL_WINDOW} iterations)")
            break
    else:
        reason = f"stopped: reached the iteration limit {settings.max_iterations}, residual {state.norm:.2e}"
    if iteration % settings.frame_every != 0:
        yield frame(iteration, state)  # the final mesh is always the last frame
    summary = f"{reason} after {iteration} iterations"
    damped = int(np.count_nonzero(state.damping < DAMPED_REPORTED))
    if damped:
        summary += (f"; {damped} nodes near re-entrant corners or curved boundaries had their displacement "
                    f"damped (by more than {1 - DAMPED_REPORTED:.0%}) to keep cells from collapsing")
    yield LogMessage(summary, "info" if reason.startswith("converged") else "warning")
