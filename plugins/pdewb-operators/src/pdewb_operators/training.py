"""Training a normalised operator as a workbench job: Adam, a schedule, early stopping.

The recipe is the FNO paper's (Li et al., ICLR 2021): Adam with weight decay, the
relative L2 loss (:mod:`.losses`) on mini-batches, a decaying learning rate (their step
halving every 100 epochs, or cosine annealing, Loshchilov & Hutter, ICLR 2017). Early
stopping (Prechelt, "Early stopping - but when?", 1998) watches the validation loss:
training stops when it has not improved for ``patience`` epochs, and the weights of the
best epoch are kept.

:func:`train_job` is a generator of workbench events (``workbench.core.jobs``): the CLI
and the GUI drive it with ``execute``, which can pause it between two events or cancel
it by closing the generator. A copy of the best weights is in ``TrainState.best_state``
at every event, so a cancelled training still has its best checkpoint.

Determinism: the weights are initialised under ``torch.manual_seed(seed)``
(:func:`build_operator`), mini-batches are shuffled by a ``torch.Generator`` seeded
with the same seed, and the loop draws no other random numbers; the same seed gives
the same losses on the same CPU and library versions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from workbench.core.errors import ParamError, SolverDiverged
from workbench.core.events import Event, LogMessage, Progress, Scalars

from .data import OperatorData
from .losses import LOSSES, LossFunction, make_loss, relative_l2_per_sample
from .normalization import NormalizedOperator

SCHEDULES = ("cosine", "step", "none")
DEVICES = ("auto", "cpu", "cuda")
#: Inside a long epoch, report progress (and so give execute a chance to pause or cancel) this often.
PROGRESS_INTERVAL_S = 0.5


@dataclass
class TrainConfig:
    """How to train. Defaults follow the FNO paper (batch 20, lr 1e-3, weight decay 1e-4).

    ``schedule``: "cosine" (lr_e = lr / 2 * (1 + cos(pi e / epochs))), "step" (times
    ``step_gamma`` every ``step_size`` epochs) or "none". ``patience``: stop after that
    many epochs without a better validation loss (0: never). ``restore_best``: leave the
    model with the best epoch's weights when training ends, stops or is cancelled.
    """

    epochs: int = 500
    batch_size: int = 20
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    step_size: int = 100
    step_gamma: float = 0.5
    validation_fraction: float = 0.2
    patience: int = 50
    loss: str = "l2"
    seed: int = 0
    device: str = "auto"
    restore_best: bool = True

    def validate(self) -> TrainConfig:
        """Self, or ParamError naming the first bad setting."""
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "step_size": self.step_size}
        for name, value in positive.items():
            if int(value) != value or value < 1:
                raise ParamError(f"training setting '{name}' must be a positive integer, got {value!r}")
        if not self.learning_rate > 0 or not math.isfinite(self.learning_rate):
            raise ParamError(f"training setting 'learning_rate' must be positive, got {self.learning_rate!r}")
        if not 0 <= self.weight_decay < math.inf:
            raise ParamError(f"training setting 'weight_decay' must be >= 0, got {self.weight_decay!r}")
        if not 0 < self.step_gamma <= 1:
            raise ParamError(f"training setting 'step_gamma' must be in (0, 1], got {self.step_gamma!r}")
        if not 0 < self.validation_fraction < 1:
            raise ParamError(f"training setting 'validation_fraction' must be in (0, 1), got {self.validation_fraction!r}")
        if int(self.patience) != self.patience or self.patience < 0:
            raise ParamError(f"training setting 'patience' must be an integer >= 0, got {self.patience!r}")
        choices = {"schedule": (self.schedule, SCHEDULES), "loss": (self.loss, LOSSES), "device": (self.device, DEVICES)}
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise ParamError(f"training setting '{name}' must be one of {', '.join(allowed)}, got {value!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class TrainState:
    """What a training did so far; filled in by :func:`train_job` at every event (pass a fresh one).

    ``best_state`` is a CPU copy of the model's ``state_dict`` at ``best_epoch`` (None
    before the first epoch ends). ``stop_reason``: "completed", "early stopping",
    "cancelled", "diverged" or "failed" (empty while running). ``train_seconds`` counts
    time spent computing, not time the driver kept the job paused.
    """

    epochs_run: int = 0
    best_epoch: int = 0
    best_validation_loss: float = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    train_seconds: float = 0.0
    stop_reason: str = ""
    device: str = ""
    history: dict[str, list[float]] = field(default_factory=lambda: {
        "train_loss": [], "validation_loss": [], "learning_rate": [], "epoch_seconds": []})

    def results(self) -> dict[str, Any]:
        """JSON-safe summary for a checkpoint's ``training`` section (no tensors, no infinities)."""
        best = self.best_validation_loss if math.isfinite(self.best_validation_loss) else None
        return {"epochs_run": self.epochs_run, "best_epoch": self.best_epoch or None, "best_validation_loss": best,
                "train_seconds": round(self.train_seconds, 3), "stop_reason": self.stop_reason, "device": self.device,
                "history": {name: list(values) for name, values in self.history.items()}}


def resolve_device(name: str) -> torch.device:
    """"auto": CUDA when available, else the CPU; "cuda" without CUDA is a ParamError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ParamError("training device 'cuda' is not available on this machine; use 'cpu' or 'auto'")
    if name not in DEVICES:
        raise ParamError(f"training device must be one of {', '.join(DEVICES)}, got {name!r}")
    return torch.device(name)


def build_operator(architecture: Mapping[str, Any], train: OperatorData, seed: int,
                   build_network: Callable[[dict], nn.Module] | None = None) -> NormalizedOperator:
    """The network of ``architecture``, initialised under ``torch.manual_seed(seed)``, with
    normalisers fitted on the training pairs only (validation data must not leak into them).

    The global RNG state is restored afterwards (``torch.random.fork_rng``).
    """
    for key, expected in (("in_channels", train.task.in_channels), ("out_channels", train.task.out_channels),
                          ("dim", train.task.dim)):
        if key in architecture and architecture[key] != expected:
            raise ValueError(f"architecture has {key} = {architecture[key]}, the data need {expected}")
    if build_network is None:
        from .models import build_model as build_network
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        network = build_network(dict(architecture))
    return NormalizedOperator.fit(network, train.inputs, train.targets)


class _Stopwatch:
    """Time spent inside the generator: it stops while an event is out with the driver (maybe paused)."""

    def __init__(self) -> None:
        self._total = 0.0
        self._since: float | None = time.perf_counter()

    @property
    def elapsed(self) -> float:
        running = time.perf_counter() - self._since if self._since is not None else 0.0
        return self._total + running

    def emit(self, *events: Event) -> Iterator[Event]:
        """Yield ``events`` with the clock stopped."""
        self._total, self._since = self.elapsed, None
        yield from events
        self._since = time.perf_counter()


def train_job(model: NormalizedOperator, train: OperatorData, validation: OperatorData, config: TrainConfig,
              state: TrainState) -> Iterator[Event]:
    """Train ``model`` in place; per epoch yield Scalars(train_loss, validation_loss, learning_rate) and Progress.

    Raises SolverDiverged (naming the epoch) on a non-finite loss. However it ends
    (finished, early stop, error, or closed by the driver), the model is left in eval
    mode on its original device, with the best weights if ``config.restore_best``.
    """
    home = _device_of(model)
    clock = _Stopwatch()
    try:
        config.validate()
        _check_pairs(train, validation)
        device = resolve_device(config.device)
        state.device = str(device)
        loss = make_loss(config.loss, train.task.dim, train.task.periodic, train.task.lengths)
        _check_trainable(model)
        model.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
        scheduler = _scheduler(optimizer, config)
        shuffle = torch.Generator().manual_seed(int(config.seed))
        x_train, y_train = _on_device(train.inputs, device), _on_device(train.targets, device)
        x_validation, y_validation = _on_device(validation.inputs, device), _on_device(validation.targets, device)
        yield from clock.emit(LogMessage(
            f"training on {device}: {len(train)} training and {len(validation)} validation pairs on a "
            f"{'x'.join(map(str, train.grid))} grid, {_parameter_count(model)} parameters, loss {config.loss}"))
        for epoch in range(1, config.epochs + 1):
            epoch_started = clock.elapsed
            learning_rate = optimizer.param_groups[0]["lr"]
            train_loss = yield from _train_epoch(model, x_train, y_train, loss, optimizer, shuffle, config, epoch, clock)
            if scheduler is not None:
                scheduler.step()
            validation_loss = _mean_loss(model, x_validation, y_validation, loss, config.batch_size)
            _require_finite(validation_loss, "validation", epoch)
            improved = validation_loss < state.best_validation_loss
            if improved:
                state.best_validation_loss, state.best_epoch = validation_loss, epoch
                state.best_state = _cpu_copy(model.state_dict())
            now = clock.elapsed
            _record(state, epoch, train_loss, validation_loss, learning_rate, now - epoch_started, now)
            events: list[Event] = [Scalars(step=epoch, values={
                "train_loss": train_loss, "validation_loss": validation_loss, "learning_rate": learning_rate})]
            if improved:
                events.append(LogMessage(f"epoch {epoch}: best validation loss so far, {validation_loss:.4g}"))
            events.append(Progress(epoch / config.epochs, f"epoch {epoch}/{config.epochs}: train loss "
                                                          f"{train_loss:.4g}, validation loss {validation_loss:.4g}"))
            yield from clock.emit(*events)
            if config.patience and epoch - state.best_epoch >= config.patience:
                state.stop_reason = "early stopping"
                yield from clock.emit(LogMessage(
                    f"early stopping at epoch {epoch}: no better validation loss for {config.patience} epochs "
                    f"(best {state.best_validation_loss:.4g} at epoch {state.best_epoch})"))
                break
        else:
            state.stop_reason = "completed"
    except (GeneratorExit, KeyboardInterrupt):  # closed by the driver's cancel, or Ctrl-C
        state.stop_reason = "cancelled"
        raise
    except SolverDiverged:
        state.stop_reason = "diverged"
        raise
    except BaseException:
        state.stop_reason = "failed"
        raise
    finally:
        state.train_seconds = clock.elapsed
        _put_back(model, state, config, home)


def _train_epoch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: LossFunction,
                 optimizer: torch.optim.Optimizer, shuffle: torch.Generator, config: TrainConfig, epoch: int,
                 clock: _Stopwatch) -> Iterator[Event]:
    """One pass over shuffled mini-batches; returns the per-sample mean of the loss."""
    model.train()
    count = x.shape[0]
    order = torch.randperm(count, generator=shuffle).to(x.device)
    batches = range(0, count, config.batch_size)
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    last_report = time.perf_counter()
    for number, start in enumerate(batches, 1):
        index = order[start:start + config.batch_size]
        with _autograd():
            optimizer.zero_grad(set_to_none=True)
            batch_loss = loss(model(x[index]), y[index])
            batch_loss.backward()
            optimizer.step()
        total += batch_loss.detach().to(torch.float64) * len(index)
        if time.perf_counter() - last_report > PROGRESS_INTERVAL_S and number < len(batches):
            fraction = (epoch - 1 + number / len(batches)) / config.epochs
            yield from clock.emit(Progress(fraction, f"epoch {epoch}/{config.epochs}: batch {number}/{len(batches)}"))
            last_report = time.perf_counter()
    mean = float(total) / count
    _require_finite(mean, "training", epoch)
    return mean


@torch.no_grad()
def _mean_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: LossFunction, batch_size: int) -> float:
    """The per-sample mean of ``loss`` over (x, y), in eval mode, batch by batch."""
    model.eval()
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        stop = start + batch_size
        total += float(loss(model(x[start:stop]), y[start:stop])) * (min(stop, x.shape[0]) - start)
    return total / x.shape[0]


@torch.no_grad()
def relative_l2_errors(model: nn.Module, data: OperatorData, batch_size: int = 64) -> torch.Tensor:
    """(P,) relative L2 error of every pair of ``data`` (a CPU tensor), for metrics and reports.

    Runs where the model is, in eval mode; the model's mode is restored.
    """
    device = _device_of(model)
    was_training = model.training
    model.eval()
    errors = []
    try:
        for start in range(0, len(data), batch_size):
            x = data.inputs[start:start + batch_size].to(device)
            y = data.targets[start:start + batch_size].to(device)
            errors.append(relative_l2_per_sample(model(x), y).cpu())
    finally:
        model.train(was_training)
    return torch.cat(errors) if errors else torch.zeros(0)


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig):
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.step_size, gamma=config.step_gamma)
    return None


def _record(state: TrainState, epoch: int, train_loss: float, validation_loss: float, learning_rate: float,
            epoch_seconds: float, train_seconds: float) -> None:
    state.epochs_run = epoch
    state.train_seconds = train_seconds
    for name, value in (("train_loss", train_loss), ("validation_loss", validation_loss),
                        ("learning_rate", learning_rate), ("epoch_seconds", epoch_seconds)):
        state.history.setdefault(name, []).append(float(value))


def _require_finite(value: float, which: str, epoch: int) -> None:
    if not math.isfinite(value):
        raise SolverDiverged(f"training diverged at epoch {epoch}: the {which} loss is {value}; "
                             "lower the learning rate or check the data for NaN or infinite values")


def _check_pairs(train: OperatorData, validation: OperatorData) -> None:
    if len(train) == 0 or len(validation) == 0:
        raise ValueError(f"training needs training and validation pairs, got {len(train)} and {len(validation)}")
    if train.inputs.shape[1:2] != validation.inputs.shape[1:2] or train.targets.shape[1:2] != validation.targets.shape[1:2]:
        raise ValueError("training and validation pairs have different channel counts")


@contextlib.contextmanager
def _autograd() -> Iterator[None]:
    """Gradients on for one step, even if the driver runs the job under inference mode or no_grad.

    Entered per step, never across a yield: grad mode is per thread, and a mode held
    open while the generator is suspended would leak into the driver's code.
    """
    with torch.inference_mode(False), torch.enable_grad():
        yield


def _on_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The tensor on ``device``, as a normal tensor: an inference-mode tensor cannot be saved for backward."""
    with torch.inference_mode(False):
        moved = tensor.to(device)
        return moved.clone() if moved.is_inference() else moved


def _check_trainable(model: nn.Module) -> None:
    if any(parameter.is_inference() for parameter in model.parameters()):
        raise ValueError("the model was built under torch.inference_mode and cannot be trained; build it outside")


def _cpu_copy(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Normal (not inference-mode) CPU copies, whatever grad mode the driver runs under."""
    with torch.inference_mode(False):
        return {name: tensor.detach().to("cpu", copy=True) for name, tensor in state_dict.items()}


def _device_of(model: nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _parameter_count(model: nn.Module) -> int:
    """Real parameters: a complex weight counts twice (real and imaginary parts are trained)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())


def _put_back(model: nn.Module, state: TrainState, config: TrainConfig, home: torch.device) -> None:
    """Best weights (if asked), eval mode, original device: whatever way training ended."""
    if config.restore_best and state.best_state is not None:
        model.load_state_dict(state.best_state)
    model.eval()
    model.to(home)
