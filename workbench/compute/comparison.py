"""Surrogate versus reference on held-out samples: errors, wall times on one device, speedup, break-even.

Shared by ``pdewb compare`` and the GUI. The reference side re-solves the test
samples from their stored seeds with the solver's own data-set generator (so both
sides answer the same queries, on the same device), and checks that it reproduces
the stored solutions. Timings are medians over repeats after one warm-up call:
"single" answers one query at a time, "batched" answers ``batch`` queries per call.

Nothing is scored that is not a number: a data set with NaN or infinite values is
refused before any prediction, and so is a non-finite prediction error or a
regenerated reference solution that is not finite (:mod:`workbench.core.finite`).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.comparison import (
    ErrorSummary,
    break_even_queries,
    relative_l2_per_sample,
    speedup,
    summarize_errors,
)
from ..core.errors import ParamError
from ..core.finite import require_finite, require_finite_samples
from ..io.checkpoints import read_checkpoint_document, surrogate_of
from ..io.datasets import DatasetError, dataset_params, read_dataset
from ..plugins.contributions import SurrogateContribution
from ..plugins.host import PluginHost
from .torch_context import job_context

TIMED_SINGLE_QUERIES = 8
#: More timing repeats than this only make the command run long: the median has long settled.
MAX_REPEATS = 1000


@dataclass
class SurrogateComparison:
    """Everything ``pdewb compare`` reports; ``describe()`` is its JSON."""

    surrogate_id: str
    solver_id: str
    checkpoint: Path
    dataset: Path
    device: str
    trained_grid: list[int]
    tested_grid: list[int]
    seeds: np.ndarray
    errors: np.ndarray
    summary: ErrorSummary
    batch: int
    surrogate_seconds: dict[str, float]
    reference_seconds: dict[str, float]
    setup_seconds: dict[str, float] = field(default_factory=dict)
    reference_reproduction_error: float = float("nan")
    #: the surrogate's answers and the reference targets of every test pair (not in describe())
    predictions: np.ndarray | None = field(default=None, repr=False)
    targets: np.ndarray | None = field(default=None, repr=False)
    #: Autoregressive surrogates (Navier-Stokes): relative L2 per roll-out step, mean over the samples.
    rollout_errors: list[float] | None = None

    @property
    def zero_shot(self) -> bool:
        return list(self.trained_grid) != list(self.tested_grid)

    def speedups(self) -> dict[str, float]:
        return {mode: speedup(self.reference_seconds[mode], self.surrogate_seconds[mode]) for mode in ("single", "batched")}

    def break_even(self) -> dict[str, float | None]:
        """Queries after which data + training has paid off; None when the setup cost is unknown."""
        if not self.setup_seconds:
            return {"single": None, "batched": None}
        setup = sum(self.setup_seconds.values())
        return {
            mode: break_even_queries(setup, self.reference_seconds[mode], self.surrogate_seconds[mode])
            for mode in ("single", "batched")
        }

    def _seed_of_each_pair(self) -> np.ndarray:
        """The data-set seed behind every error: autoregressive tasks make several pairs (windows) per sample."""
        windows, leftover = divmod(len(self.errors), max(len(self.seeds), 1))
        return np.repeat(self.seeds, windows) if windows and not leftover else self.seeds

    def describe(self) -> dict[str, Any]:
        return _finite_or_none({
            "surrogate": self.surrogate_id, "solver": self.solver_id, "checkpoint": str(self.checkpoint),
            "dataset": str(self.dataset), "device": self.device, "trained_grid": self.trained_grid,
            "tested_grid": self.tested_grid, "zero_shot": self.zero_shot,
            "relative_l2": self.summary.describe(), "batch": self.batch,
            "surrogate_seconds_per_query": self.surrogate_seconds,
            "reference_seconds_per_query": self.reference_seconds,
            "speedup": self.speedups(), "setup_seconds": self.setup_seconds, "break_even_queries": self.break_even(),
            "reference_reproduction_error": self.reference_reproduction_error,
            "per_sample": {"seed": self._seed_of_each_pair().tolist(), "relative_l2": self.errors.tolist()},
            "rollout_relative_l2": self.rollout_errors,
        })


def compare_surrogate(
    host: PluginHost,
    checkpoint: str | Path,
    dataset: str | Path,
    samples: int | None = None,
    batch: int = 32,
    repeats: int = 3,
) -> SurrogateComparison:
    """Evaluate the surrogate in ``checkpoint`` against the reference on the samples of ``dataset``.

    ``samples`` (default: all), ``batch`` and ``repeats`` must be at least 1 (ParamError);
    ``samples`` may not exceed what the data set holds, ``repeats`` ``MAX_REPEATS``. ``batch`` is capped at the
    sample count (a batch cannot hold more queries than there are); the result reports
    the batch used.
    """
    for name, value in (("samples", samples), ("batch", batch), ("repeats", repeats)):
        _require_count(name, value)
    if repeats > MAX_REPEATS:
        raise ParamError(f"repeats = {repeats} is more than {MAX_REPEATS}: the median of the timings has long settled")
    document = read_checkpoint_document(checkpoint)
    contribution = host.get(surrogate_of(checkpoint, document), SurrogateContribution)
    arrays, metadata = read_dataset(dataset)
    count = _sample_count(dataset, len(metadata["seed"]), samples)
    arrays = {name: values[:count] for name, values in arrays.items()}
    seeds = np.asarray(metadata["seed"][:count])
    require_finite_samples(arrays, str(dataset), seeds)
    batch = min(int(batch), count)
    with job_context(contribution.requires) as device:
        surrogate = contribution.load_checkpoint(checkpoint, device)
        inputs, targets = surrogate.pairs(arrays, metadata)
        predictions = _predict_in_batches(surrogate.predict, inputs, batch)
        surrogate_seconds = time_queries(lambda s: surrogate.predict(inputs[s]), count, batch, repeats)
        rollout_errors = _rollout_errors(surrogate, arrays, metadata)
    errors = relative_l2_per_sample(predictions, targets)
    summary = summarize_errors(errors, f"{contribution.id}'s relative L2 error")
    attributes = metadata["attributes"]
    solver = host.solver(attributes["solver"])
    params = stored_parameters(solver, attributes["params"], dataset)
    reference_seconds, reproduction = time_reference(solver, params, seeds, arrays, count, batch, repeats)
    return SurrogateComparison(
        surrogate_id=contribution.id, solver_id=solver.id, checkpoint=Path(checkpoint), dataset=Path(dataset),
        device=str(device or "cpu"), trained_grid=list(surrogate.document["task"].get("grid", [])),
        tested_grid=list(targets.shape[2:]), seeds=seeds, errors=errors, summary=summary,
        batch=batch, surrogate_seconds=surrogate_seconds, reference_seconds=reference_seconds,
        setup_seconds=_setup_seconds(surrogate.document), reference_reproduction_error=reproduction,
        predictions=predictions, targets=targets,
        rollout_errors=rollout_errors,
    )


def _require_count(name: str, value: Any) -> None:
    """ParamError unless ``value`` is None (the default) or an integer >= 1."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParamError(f"{name} must be a whole number of at least 1, got {value!r}")


def _sample_count(dataset: str | Path, stored: int, samples: int | None) -> int:
    """How many samples to compare on: all stored, or the first ``samples`` (which must exist)."""
    if stored == 0:
        raise ParamError(f"{dataset} holds no samples")
    if samples is not None and samples > stored:
        raise ParamError(f"samples = {samples}, but {dataset} holds {stored} sample{'s' * (stored > 1)}")
    return stored if samples is None else int(samples)


def stored_parameters(solver, stored: Mapping[str, Any], dataset: str | Path) -> dict[str, Any]:
    """A data set's recorded parameters, checked again against the solver's declaration before it re-solves.

    The file may come from anyone: a value the solver would not accept from the
    command line is not accepted from a file either.
    """
    try:
        return dataset_params(solver, stored)
    except (ParamError, DatasetError) as error:
        raise DatasetError(f"{dataset}: its recorded parameters are not valid for {solver.id}: {error}") from None


def _rollout_errors(surrogate, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, Any]) -> list[float] | None:
    """Relative L2 per autoregressive step (mean over samples), for surrogates that roll out
    (an optional method) of time-dependent autoregressive tasks (the checkpoint's task has a history)."""
    if not hasattr(surrogate, "rollout") or not surrogate.document.get("task", {}).get("history"):
        return None
    return [float(error) for error in surrogate.rollout(arrays, metadata)["relative_l2_mean"]]


def _predict_in_batches(predict: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray, batch: int) -> np.ndarray:
    return np.concatenate([predict(inputs[start:start + batch]) for start in range(0, len(inputs), batch)])


def time_queries(answer: Callable[[slice], Any], count: int, batch: int, repeats: int) -> dict[str, float]:
    """Seconds per query: one query per call (median over a few queries), and ``batch`` per call.

    ``count``, ``batch`` and ``repeats`` are at least 1 (checked by the callers).
    """
    answer(slice(0, 1))  # warm-up: first-call allocations, lazy initialisation
    singles = [_seconds(answer, slice(i, i + 1)) for i in range(min(count, TIMED_SINGLE_QUERIES))]
    batched = [_seconds(answer, slice(0, batch)) / batch for _ in range(repeats)]
    return {"single": statistics.median(singles), "batched": statistics.median(batched)}


def _seconds(answer: Callable[[slice], Any], queries: slice) -> float:
    start = time.perf_counter()
    answer(queries)
    return time.perf_counter() - start


def time_reference(solver, params: Mapping[str, Any], seeds: np.ndarray, stored: Mapping[str, np.ndarray],
                   count: int, batch: int, repeats: int) -> tuple[dict[str, float], float]:
    """Reference seconds per query, and the largest relative difference from the stored solutions.

    The difference of field f is max |f_regenerated - f_stored| / max |f_stored| over
    the first ``batch`` samples. A regenerated field that is not finite is refused
    (NonFiniteError): its difference would be NaN, which a max() can silently drop.
    The difference is NaN only when no regenerated field is stored (nothing to check).
    """
    generate, _ = solver.dataset_functions()
    with job_context(solver.requires) as device:
        regenerated = generate(params, seeds[:batch], device)
        seconds = time_queries(lambda s: generate(params, seeds[s], device), count, batch, min(repeats, 2))
    differences = []
    for name in regenerated:
        if name in stored:
            require_finite(regenerated[name], f"the reference solver {solver.id}'s regenerated field '{name}'")
            scale = max(float(np.max(np.abs(stored[name]))), 1e-300)
            differences.append(float(np.max(np.abs(regenerated[name] - stored[name][:batch]))) / scale)
    return seconds, max(differences, default=float("nan"))


def _setup_seconds(document: Mapping[str, Any]) -> dict[str, float]:
    """Data generation plus training time, when the checkpoint recorded both as durations.

    Anything else (missing, negative, not finite, not a number: a tampered or foreign file)
    leaves the setup cost unknown, so no break-even is claimed from it.
    """
    recorded = {"data": document.get("task", {}).get("generation_seconds"),
                "training": document.get("training", {}).get("seconds")}
    if not all(type(v) in (int, float) and math.isfinite(v) and 0 <= v < 1e12 for v in recorded.values()):
        return {}
    return {name: float(value) for name, value in recorded.items()}


def _finite_or_none(value: Any) -> Any:
    """JSON has no inf/NaN: such numbers become null."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
