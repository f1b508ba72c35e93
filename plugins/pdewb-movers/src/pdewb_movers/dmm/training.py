"""Training DMM as a workbench job: seeded fields, importance-sampled points, Adam, keep the best.

No optimal mesh is needed (DMM, Hu et al., ICLR 2024): each step draws a batch of
training fields, computes their monitors' collocation points (:mod:`.sampling`) and
minimises the data-free loss (:mod:`.loss`) with Adam under a cosine learning-rate
schedule. After every epoch the same loss on a fixed set of validation fields (their
own seeds, never the benchmark's held-out ones) picks the best weights, which the
network keeps however the job ends: finished, failed, or cancelled by the driver
(closing the generator).

The fields are :func:`.fronts.front_field` of seeds 0..N-1 (validation: N..N+V-1), their
monitors the host's recipe (:class:`~workbench.core.monitors.MonitorSpec`) on grids of
the sizes in ``grids``, alternating, so the network sees the monitor as meshes of those
sizes resolve it. A batch holds fields of one grid size. Determinism: weights under
``torch.manual_seed(seed)``, batches and points from a ``torch.Generator`` seeded with
``seed``; the same seed gives the same losses on the same CPU and library versions.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from workbench.core.errors import ParamError, SolverDiverged
from workbench.core.events import Event, LogMessage, Progress, Scalars
from workbench.core.monitors import MonitorSpec

from .fronts import front_field
from .grid_monitor import grid_points, nodal_monitor, sample_grid, trapezoid_mean
from .loss import LossWeights, dmm_loss
from .network import Architecture, DMMNetwork
from .sampling import collocation


@dataclass
class DMMTrainConfig:
    """How to train; the defaults are those of the shipped checkpoint (tools/train_dmm.py)."""

    training_fields: int = 384
    validation_fields: int = 32
    grids: tuple[int, ...] = (33, 65, 129)
    epochs: int = 30
    batch_size: int = 16
    uniform_points: int = 1024
    points_per_field: int = 128
    boundary_points: int = 256
    learning_rate: float = 2e-3
    seed: int = 0
    loss: LossWeights = field(default_factory=LossWeights)
    architecture: Architecture = field(default_factory=Architecture)
    monitor: MonitorSpec = field(default_factory=MonitorSpec)

    def validate(self) -> DMMTrainConfig:
        for name in ("training_fields", "validation_fields", "epochs", "batch_size", "uniform_points",
                     "points_per_field", "boundary_points"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ParamError(f"DMM training setting '{name}' must be a positive integer, got {value!r}")
        if not self.learning_rate > 0 or not math.isfinite(self.learning_rate):
            raise ParamError(f"DMM training setting 'learning_rate' must be positive, got {self.learning_rate!r}")
        if self.monitor.kind == "expression":
            raise ParamError("DMM learns from fields; a monitor of kind 'expression' has no field to learn from")
        if not self.grids or min(self.grids) < 3:
            raise ParamError(f"DMM training grids must be sizes >= 3, got {self.grids!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["grids"] = list(self.grids)
        return data


@dataclass
class MonitorSet:
    """Fields of one grid size: nodal monitors (N, n, n), branch inputs (N, G, G) and theta (N,)."""

    grids: torch.Tensor
    branch: torch.Tensor
    theta: torch.Tensor


@dataclass
class DMMTrainState:
    """What the training did so far (filled in at every event); ``best_state`` is a CPU copy of the best weights."""

    epochs_run: int = 0
    best_epoch: int = 0
    best_validation_loss: float = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    train_seconds: float = 0.0
    setup_seconds: float = 0.0
    stop_reason: str = ""
    history: dict[str, list[float]] = field(default_factory=lambda: {
        "loss": [], "monge_ampere": [], "neumann": [], "convexity": [], "validation_loss": []})

    def results(self) -> dict[str, Any]:
        best = self.best_validation_loss if math.isfinite(self.best_validation_loss) else None
        return {"epochs_run": self.epochs_run, "best_epoch": self.best_epoch or None, "best_validation_loss": best,
                "train_seconds": round(self.train_seconds, 3), "setup_seconds": round(self.setup_seconds, 3),
                "stop_reason": self.stop_reason, "history": {k: [round(v, 6) for v in vs] for k, vs in self.history.items()}}


def monitor_sets(seeds: range, config: DMMTrainConfig) -> dict[int, MonitorSet]:
    """The monitors of the fields of ``seeds``, seed i on grid size grids[i % len(grids)]."""
    branch_points = torch.as_tensor(grid_points(config.architecture.branch_grid), dtype=torch.float32)
    by_size: dict[int, list[torch.Tensor]] = {n: [] for n in config.grids}
    for seed in seeds:
        n = config.grids[seed % len(config.grids)]
        by_size[n].append(torch.as_tensor(nodal_monitor(front_field(seed), n, config.monitor), dtype=torch.float32))
    sets = {}
    g = config.architecture.branch_grid
    for n, grids in by_size.items():
        if not grids:
            continue
        stacked = torch.stack(grids)
        branch = sample_grid(stacked, branch_points.expand(len(grids), -1, -1)).reshape(len(grids), g, g)
        sets[n] = MonitorSet(stacked, branch, trapezoid_mean(stacked))
    return sets


def build_network(config: DMMTrainConfig) -> DMMNetwork:
    """The network of ``config.architecture``, initialised under ``torch.manual_seed(seed)`` (global RNG restored)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(config.seed))
        return DMMNetwork(config.architecture)


def batches(sets: dict[int, MonitorSet], size: int, generator: torch.Generator) -> list[tuple[int, torch.Tensor]]:
    """One epoch's (grid size, field indices) batches, shuffled within and across grid sizes."""
    found = []
    for n, data in sets.items():
        order = torch.randperm(len(data.theta), generator=generator)
        found += [(n, chunk) for chunk in order.split(size)]
    shuffled = torch.randperm(len(found), generator=generator)
    return [found[i] for i in shuffled]


def batch_loss(network: DMMNetwork, data: MonitorSet, index: torch.Tensor, config: DMMTrainConfig,
               generator: torch.Generator) -> dict[str, torch.Tensor]:
    grids = data.grids[index]
    points = collocation(grids, config.uniform_points, config.points_per_field, config.boundary_points, generator)
    return dmm_loss(network, network.coefficients(data.branch[index]), grids, data.theta[index], points, config.loss)


def validation_loss(network: DMMNetwork, sets: dict[int, MonitorSet], config: DMMTrainConfig) -> float:
    """The total loss on the validation fields, at points drawn from a fixed seed (the same every epoch)."""
    generator = torch.Generator().manual_seed(int(config.seed) + 1)
    total, count = 0.0, 0
    with torch.no_grad():
        for _, data in sorted(sets.items()):
            for index in torch.arange(len(data.theta)).split(config.batch_size):
                total += float(batch_loss(network, data, index, config, generator)["total"]) * len(index)
                count += len(index)
    return total / count


def train_job(network: DMMNetwork, config: DMMTrainConfig, state: DMMTrainState) -> Iterator[Event]:
    """Train ``network`` in place; per epoch yield Scalars(loss terms, validation_loss, learning_rate) and Progress.

    Raises SolverDiverged on a non-finite loss. However it ends, the network is left in
    eval mode with the best epoch's weights (when an epoch finished).
    """
    try:
        config.validate()
        started = time.perf_counter()
        training = monitor_sets(range(config.training_fields), config)
        validation = monitor_sets(range(config.training_fields, config.training_fields + config.validation_fields),
                                  config)
        state.setup_seconds = time.perf_counter() - started
        yield LogMessage(f"DMM training: {config.training_fields} fields on grids {list(config.grids)}, "
                         f"{sum(p.numel() for p in network.parameters())} parameters, seed {config.seed}; "
                         f"monitors computed in {state.setup_seconds:.1f} s")
        network.train()
        generator = torch.Generator().manual_seed(int(config.seed))
        optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
        steps = config.epochs * sum(math.ceil(len(d.theta) / config.batch_size) for d in training.values())
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
        for epoch in range(1, config.epochs + 1):
            clock = time.perf_counter()
            sums = {"total": 0.0, "monge_ampere": 0.0, "neumann": 0.0, "convexity": 0.0}
            epoch_batches = batches(training, config.batch_size, generator)
            for n, index in epoch_batches:
                terms = batch_loss(network, training[n], index, config, generator)
                if not torch.isfinite(terms["total"]):
                    raise SolverDiverged(f"DMM training: non-finite loss at epoch {epoch}")
                optimizer.zero_grad(set_to_none=True)
                terms["total"].backward()
                optimizer.step()
                scheduler.step()
                for name in sums:
                    sums[name] += float(terms[name].detach()) / len(epoch_batches)
            checked = validation_loss(network, validation, config)
            state.train_seconds += time.perf_counter() - clock
            _record(state, network, epoch, sums, checked)
            yield Scalars(epoch, {"loss": sums["total"], "monge_ampere": sums["monge_ampere"],
                                  "neumann": sums["neumann"], "convexity": sums["convexity"],
                                  "validation_loss": checked, "learning_rate": scheduler.get_last_lr()[0]})
            yield Progress(epoch / config.epochs, f"epoch {epoch}/{config.epochs}: loss {sums['total']:.4g}, "
                           f"validation {checked:.4g}")
        state.stop_reason = "completed"
        yield LogMessage(f"DMM training completed: best validation loss {state.best_validation_loss:.4g} at epoch "
                         f"{state.best_epoch}, {state.train_seconds:.1f} s")
    except GeneratorExit:
        state.stop_reason = "cancelled"
        raise
    except BaseException:
        state.stop_reason = state.stop_reason or "failed"
        raise
    finally:
        if state.best_state is not None:
            network.load_state_dict(state.best_state)
        network.eval()


def _record(state: DMMTrainState, network: DMMNetwork, epoch: int, sums: dict[str, float], checked: float) -> None:
    state.epochs_run = epoch
    state.history["loss"].append(sums["total"])
    for name in ("monge_ampere", "neumann", "convexity"):
        state.history[name].append(sums[name])
    state.history["validation_loss"].append(checked)
    if checked < state.best_validation_loss:
        state.best_validation_loss, state.best_epoch = checked, epoch
        state.best_state = {name: tensor.detach().clone() for name, tensor in network.state_dict().items()}
