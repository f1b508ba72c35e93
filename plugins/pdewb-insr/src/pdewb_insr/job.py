"""The workbench job: run an INSR simulation and report it through the job protocol.

Per inner iteration: a ``Progress`` (so that cancel and pause act within one iteration).
Per step: a ``Frame`` of the network sampled at the display mesh's points (and the exact,
floor and grid-reference fields where available), ``Scalars`` (loss per term, iterations,
seconds, errors, invariants) and a ``LogMessage`` with each stage's stop reason.
The host runs jobs under ``torch.inference_mode``; :func:`with_autograd` re-enables
autograd for each resumption of the job, never across a yield.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from workbench.core.events import Event, Frame, LogMessage, Progress, Scalars
from workbench.core.field import Field
from workbench.core.mesh import Mesh
from workbench.core.meshgen import interval_mesh, rectangle_mesh
from workbench.core.problem import Problem

from .calculus import divergence, network_field
from .inner_solvers import autograd_on, make_inner_solver
from .problems import PROBLEMS
from .references import REFERENCES
from .simulation import InsrConfig, InsrSimulation, StepReport


def grid_mesh(params: Mapping[str, Any]) -> Mesh:
    """The display mesh: n cells per side of the problem's box."""
    pde = PROBLEMS[params["problem"]]
    n, box = int(params["display_n"]), pde.box
    if box.dim == 1:
        return interval_mesh(n, box.lower[0], box.upper[0])
    return rectangle_mesh(n, n, (box.lower[0], box.upper[0]), (box.lower[1], box.upper[1]))


def integrate(problem: Problem) -> Iterator[Event]:
    return with_autograd(_integrate(problem.params, problem.mesh))


def with_autograd(job: Iterator[Event]) -> Iterator[Event]:
    """Drive ``job`` with autograd on while it computes, off (the caller's mode) while it is suspended."""
    try:
        while True:
            with autograd_on():
                try:
                    event = next(job)
                except StopIteration:
                    return
            yield event
    finally:
        job.close()


def simulation_from_params(params: Mapping[str, Any]) -> InsrSimulation:
    pde = PROBLEMS[params["problem"]]()
    config = InsrConfig(params["integrator"], dt=params["dt"], width=params["width"], depth=params["depth"],
                        omega_0=params["omega_0"], n_interior=params["points"],
                        n_boundary=max(4, params["points"] // 16), extrapolate=params["extrapolate"],
                        seed=params["seed"])
    inner = make_inner_solver(params["inner_solver"], params["max_iterations"], params["tolerance"])
    first = make_inner_solver(params["inner_solver"], 4 * params["max_iterations"], params["tolerance"])
    return InsrSimulation(pde, config, inner, first)


def _integrate(params: Mapping[str, Any], mesh: Mesh) -> Iterator[Event]:
    torch.manual_seed(int(params["seed"]))
    sim = simulation_from_params(params)
    steps, pde = int(params["steps"]), sim.pde
    points = np.asarray(mesh.points[:, : pde.box.dim], dtype=np.float64)
    x = torch.tensor(points)
    references = REFERENCES[pde.key](pde, params["integrator"], params["dt"], points) if pde.key in REFERENCES else None
    yield LogMessage(f"INSR {pde.key}, {params['integrator']}, {params['inner_solver']}: SIREN width "
                     f"{params['width']} depth {params['depth']}, {sim.n_params} parameters ({sim.n_bytes} bytes)")
    report = yield from _with_progress(sim.fit_initial(), 0, steps)
    yield from _step_events(sim, report, x, {})
    for _ in range(steps):
        report = yield from _with_progress(sim.step(), sim.step_index, steps)
        extra = references.advance() if references is not None else {}
        yield from _step_events(sim, report, x, extra)


def _with_progress(iterations, step: int, steps: int):
    """Forward each inner iteration as a Progress event; return the generator's StepReport."""
    while True:
        try:
            event = next(iterations)
        except StopIteration as done:
            return done.value
        yield Progress(step / (steps + 1), f"step {step}: {event.stage}, iteration {event.iteration}, loss {event.loss:.3e}")


def _step_events(sim: InsrSimulation, report: StepReport, x: torch.Tensor, extra: dict[str, np.ndarray]):
    main = next(iter(sim.pde.slots))
    u = sim.field_values(main, x).numpy()
    fields = {main: u}
    exact = sim.pde.exact(x, sim.time)
    scalars = _report_scalars(report)
    if exact is not None:
        fields["exact"] = exact.numpy()
        fields["error"] = np.linalg.norm(u - fields["exact"], axis=-1)
        scalars["error"] = relative_l2(u, fields["exact"])
        for name, values in extra.items():
            fields[name] = values
            scalars[f"error.{name}"] = relative_l2(values, fields["exact"])
    scalars.update(invariants(sim, x))
    yield Frame(report.step, report.time, {name: Field(name, _squeeze(v)) for name, v in fields.items()})
    yield Scalars(report.step, scalars)
    stops = ", ".join(f"{s.name}: {s.stop_reason} after {s.iterations} iterations (loss {s.loss:.2e})" for s in report.stages)
    yield LogMessage(f"step {report.step} (t = {report.time:g}, {report.seconds:.2f} s): {stops}")


def _report_scalars(report: StepReport) -> dict[str, float]:
    scalars = {"loss": report.loss, "iterations": float(report.iterations), "seconds": report.seconds}
    for stage in report.stages:
        prefix = "loss." if len(report.stages) == 1 else f"loss.{stage.name}."
        scalars.update({prefix + term: value for term, value in stage.terms.items()})
    return scalars


def invariants(sim: InsrSimulation, x: torch.Tensor) -> dict[str, float]:
    """Kinetic energy (1/2) int |u|^2 and max |div u| for velocity fields; mass int u for scalars;
    kinetic + elastic energy (and min J) for a deforming body."""
    main = next(iter(sim.pde.slots))
    if hasattr(sim.pde, "energies"):
        before = sim.field(main, sim.previous.get(main, sim.state[main]))
        return sim.pde.energies(sim.field(main), before, x, sim.config.dt)
    u = sim.field_values(main, x)
    volume = sim.pde.box.volume
    if sim.pde.slots[main] == sim.pde.box.dim and sim.pde.box.dim > 1:
        div = divergence(network_field(sim.networks[main], sim.state[main]), x).detach()
        return {"kinetic_energy": 0.5 * volume * float(u.pow(2).sum(-1).mean()),
                "max_divergence": float(div.abs().max())}
    return {"mass": volume * float(u.mean())}


def relative_l2(values: np.ndarray, exact: np.ndarray) -> float:
    return float(np.linalg.norm(values - exact) / np.linalg.norm(exact))


def _squeeze(values: np.ndarray) -> np.ndarray:
    return values[:, 0] if values.ndim == 2 and values.shape[1] == 1 else values
