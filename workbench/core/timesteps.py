"""Uniform time steps that land exactly on the output times, or a one-line refusal before the first step.

A solver asked for ``dt`` over ``(0, t_end]`` with ``outputs`` equally spaced output
times takes ``m`` steps per output interval,

    m = ceil(t_end / (outputs * dt)),    dt' = t_end / (outputs * m) <= dt,

so every output time is a step time and no step is longer than asked. Three
requests have no sensible reading and are refused (ParamError) instead of run:

- a ``dt`` or ``t_end`` that is not a finite number, or ``dt <= 0``, ``t_end < 0``;
- ``dt > t_end``: one step of ``t_end`` would silently replace the step asked for
  (``dt = 1e308`` ran one step and reported success);
- more than :data:`MAX_TIME_STEPS` steps: ``dt = 1e-12`` is a typo, and the run
  would not end in a working day (at a microsecond a step, 10^7 steps already take
  minutes).
"""

from __future__ import annotations

import math

from .errors import ParamError

MAX_TIME_STEPS = 10_000_000
#: t_end / dt = 10.000000000001 is ten steps, not eleven: roundoff in the ratio is forgiven.
ROUNDOFF = 1e-12


def uniform_steps(solver: str, t_end: float, dt: float, outputs: int = 1) -> tuple[int, float]:
    """(m, dt'): steps per output interval and the step that lands on every output (see the module).

    ``t_end = 0`` takes no step: (0, dt). ``solver`` names the solver in refusals.
    """
    t_end, dt = float(t_end), float(dt)
    if not math.isfinite(dt) or dt <= 0.0:
        raise ParamError(f"{solver}: dt = {dt:g} must be a positive, finite time step")
    if not math.isfinite(t_end) or t_end < 0.0:
        raise ParamError(f"{solver}: t_end = {t_end:g} must be a finite time >= 0")
    if outputs < 1:
        raise ParamError(f"{solver}: the number of outputs must be at least 1, got {outputs}")
    if t_end == 0.0:
        return 0, dt
    if dt > t_end * (1.0 + ROUNDOFF):
        raise ParamError(f"{solver}: dt = {dt:g} is longer than the whole time span t_end = {t_end:g}; "
                         f"give dt <= t_end")
    steps = t_end / dt
    if steps > MAX_TIME_STEPS * (1.0 + ROUNDOFF):
        raise ParamError(f"{solver}: t_end / dt = {steps:.3g} time steps is more than {MAX_TIME_STEPS:,}; "
                         "raise dt or shorten t_end")
    per_output = max(1, math.ceil(t_end / (dt * outputs) * (1.0 - ROUNDOFF)))
    if per_output * outputs > MAX_TIME_STEPS:
        raise ParamError(f"{solver}: {outputs} outputs of {per_output} steps each is more than "
                         f"{MAX_TIME_STEPS:,} time steps; raise dt or lower the number of outputs")
    return per_output, t_end / (outputs * per_output)
