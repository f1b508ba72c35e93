"""The INSR time loop: per step, each stage fits its network slot, warm-started.

    theta^{n+1} = argmin_theta  L_stage(theta; theta^n, dt)     (INSR paper, Eq. 4)

The first step fits the initial condition. Warm start: the previous weights, or the
linear extrapolation 2 theta^n - theta^{n-1} (``extrapolate=True``). ``step()`` and
``fit_initial()`` are generators that yield after every inner iteration
(:class:`IterationEvent`) and return a :class:`StepReport`.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field

import torch

from .calculus import values
from .integrators import Points, Stage, initial_fit, networks_for, stages_for
from .problems.base import NeuralPDE


@dataclass(frozen=True)
class IterationEvent:
    stage: str
    iteration: int
    loss: float


@dataclass
class StageReport:
    name: str
    iterations: int
    stop_reason: str
    loss: float
    terms: dict[str, float]
    initial_loss: float = float("nan")  # at the warm start, on the same points


@dataclass
class StepReport:
    step: int
    time: float
    seconds: float = 0.0
    stages: list[StageReport] = field(default_factory=list)

    @property
    def iterations(self) -> int:
        return sum(s.iterations for s in self.stages)

    @property
    def loss(self) -> float:
        return sum(s.loss for s in self.stages)


@dataclass
class InsrConfig:
    integrator: str
    dt: float = 0.05
    width: int = 32
    depth: int = 3
    omega_0: float = 30.0
    n_interior: int = 400
    n_boundary: int = 16
    extrapolate: bool = False
    seed: int = 0
    dtype: torch.dtype = torch.float64


class InsrSimulation:
    """State (one weight vector per slot) and the step loop for one problem and integrator."""

    def __init__(self, pde: NeuralPDE, config: InsrConfig, inner_solver, initial_solver=None) -> None:
        self.pde, self.config = pde, config
        self.inner_solver, self.initial_solver = inner_solver, initial_solver or inner_solver
        self.stages = stages_for(config.integrator, pde)
        self.networks = networks_for(pde, config.width, config.depth, config.omega_0)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.state = {slot: net.init(self.generator, config.dtype) for slot, net in self.networks.items()}
        self.previous: dict[str, torch.Tensor] = {}
        self.step_index, self.time = 0, 0.0

    @property
    def n_params(self) -> int:
        return sum(net.n_params for net in self.networks.values())

    @property
    def n_bytes(self) -> int:
        return sum(net.n_bytes(self.config.dtype) for net in self.networks.values())

    def sample_points(self) -> Points:
        c, box = self.config, self.pde.box
        boundary, normals = box.sample_boundary(c.n_boundary, self.generator, c.dtype)
        return Points(box.sample_interior(c.n_interior, self.generator, c.dtype), boundary, normals)

    def fit_initial(self) -> Generator[IterationEvent, None, StepReport]:
        report = StepReport(0, 0.0)
        started = time.perf_counter()
        for slot in self.networks:
            yield from self._run_stage(initial_fit(slot), report, self.initial_solver, self.state[slot])
        report.seconds = time.perf_counter() - started
        return report

    def step(self) -> Generator[IterationEvent, None, StepReport]:
        """Advance by dt; the stages' reports land in the returned StepReport."""
        report = StepReport(self.step_index + 1, self.time + self.config.dt)
        started = time.perf_counter()
        start_of_step = {slot: theta.clone() for slot, theta in self.state.items()}
        trained: set[str] = set()
        for stage in self.stages:
            first_touch = stage.target not in trained
            yield from self._run_stage(stage, report, self.inner_solver, self._warm_start(stage.target, first_touch))
            trained.add(stage.target)
        self.previous = start_of_step
        self.step_index, self.time = report.step, report.time
        report.seconds = time.perf_counter() - started
        return report

    def _warm_start(self, slot: str, first_touch: bool) -> torch.Tensor:
        theta = self.state[slot]
        if self.config.extrapolate and first_touch and slot in self.previous:
            return 2.0 * theta - self.previous[slot]
        return theta

    def build_loss(self, stage: Stage):
        """The stage's loss at the current state, on freshly sampled points."""
        history = {"previous": self.previous.get(stage.target)} if stage.history else {}
        return stage.build(self.pde, self.networks, self.state, self.sample_points(), self.config.dt, **history)

    def _run_stage(self, stage: Stage, report: StepReport, solver, theta0) -> Generator[IterationEvent, None, None]:
        loss = self.build_loss(stage)
        initial_loss = float(loss(theta0).detach())
        iterations, count = solver.minimize(loss, theta0), 0
        while True:
            try:
                value = next(iterations)
            except StopIteration as done:
                result = done.value
                break
            count += 1
            yield IterationEvent(stage.name, count, value)
        self.state[stage.target] = result.theta.detach()
        terms = {name: float(v) for name, v in loss.terms(result.theta).items()}
        report.stages.append(StageReport(stage.name, result.iterations, result.stop_reason, result.loss, terms,
                                         initial_loss))

    def field(self, slot: str, theta: torch.Tensor | None = None):
        """The slot's physical field (the problem's transform of the network) as a point function."""
        net, theta = self.networks[slot], self.state[slot] if theta is None else theta
        return self.pde.field(lambda x: net(theta, x))

    def field_values(self, slot: str, points: torch.Tensor) -> torch.Tensor:
        return values(self.field(slot), points).detach()


def run_to_end(generator):
    """Drive a ``step()`` / ``fit_initial()`` generator without reporting; return its StepReport."""
    while True:
        try:
            next(generator)
        except StopIteration as done:
            return done.value
