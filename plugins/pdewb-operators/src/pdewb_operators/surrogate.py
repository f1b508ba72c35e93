"""The workbench's surrogate contract for FNO, MgNO and DeepONet (workbench.core.surrogates).

``train_fno`` / ``train_mgno`` / ``train_deeponet`` turn a
:class:`~workbench.core.surrogates.TrainingRequest` into a training job: read the data
set's (input, target) pairs, split off a validation set, build the network with
normalisers fitted on the training pairs, train, and write the checkpoint when the job
ends, however it ends (a cancelled training keeps its best epoch). :func:`load`
reads a checkpoint back as a :class:`NeuralOperatorSurrogate` that predicts on numpy
arrays at any grid resolution.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.core.comparison import summarize_errors
from workbench.core.events import Event, LogMessage
from workbench.core.interrupts import deferred_interrupts
from workbench.core.surrogates import TrainingRequest
from workbench.io.checkpoints import CheckpointError
from workbench.io.datasets import open_dataset

from .checkpoint import load_checkpoint, save_checkpoint
from .data import (
    DEFAULT_HISTORY,
    OperatorData,
    input_range,
    load_operator_data,
    operator_data_from_arrays,
    select,
    split,
    subsample,
)
from .models import default_architecture, parameter_count
from .normalization import NormalizedOperator
from .rollout import rollout as roll_out
from .training import TrainConfig, TrainState, build_operator, relative_l2_errors, train_job

#: Request parameters that configure training (TrainConfig fields); the rest size the network.
TRAINING_KEYS = frozenset(f.name for f in dataclasses.fields(TrainConfig)) - {"device", "restore_best"}
#: Parameters that choose which pairs to learn from.
DATA_KEYS = frozenset({"history", "subsample", "train_samples"})
#: Solver parameters that change the grid, not the operator: a checkpoint may be evaluated across them.
RESOLUTION_KEYS = frozenset({"n", "precision", "linear_solver", "batch"})


def train_fno(request: TrainingRequest) -> Iterator[Event]:
    return train_operator("fno", request)


def train_mgno(request: TrainingRequest) -> Iterator[Event]:
    return train_operator("mgno", request)


def train_deeponet(request: TrainingRequest) -> Iterator[Event]:
    return train_operator("deeponet", request)


def train_operator(kind: str, request: TrainingRequest) -> Iterator[Event]:
    """The training job of one architecture kind (a generator of workbench events)."""
    params = dict(request.params)
    config = TrainConfig(**{k: v for k, v in params.items() if k in TRAINING_KEYS},
                         device=_device_name(request.device)).validate()
    data = _training_pairs(request.dataset, params)
    train, validation = split(data, config.validation_fraction, config.seed)
    sizes = {k: v for k, v in params.items() if k not in TRAINING_KEYS | DATA_KEYS and v not in (0, None)}
    task = data.task
    architecture = default_architecture(kind, task.dim, task.in_channels, task.out_channels, task.periodic, **sizes)
    model = build_operator(architecture, train, config.seed)
    data_seconds = _generation_seconds(request.dataset, data)
    state = TrainState()
    try:
        yield from train_job(model, train, validation, config, state)
    finally:
        if state.best_state is not None:  # at least one epoch finished: keep what was learned
            document = _document(kind, model, data, train, validation, config, state, data_seconds)
            with deferred_interrupts():  # a second Ctrl-C (or SIGTERM) waits: the checkpoint is what it saves
                save_checkpoint(request.checkpoint, model, document)
    if state.best_state is not None:
        yield LogMessage(f"checkpoint written to {request.checkpoint} (validation relative L2 "
                         f"{document['metrics']['validation_relative_l2_mean']:.3e})")


def _generation_seconds(dataset: Path, data: OperatorData) -> float | None:
    """What generating the samples used for training cost (a share of the file's recorded time)."""
    with open_dataset(dataset) as opened:
        total = opened.attributes.get("generation_seconds")
        stored = int(opened.attributes["samples"])
    return None if total is None else float(total) * len(data.samples) / stored


def _training_pairs(dataset: Path, params: Mapping[str, Any]) -> OperatorData:
    data = load_operator_data(dataset, history=int(params.get("history", DEFAULT_HISTORY)))
    wanted = int(params.get("train_samples", 0))
    if wanted:
        if wanted > len(data.samples):
            raise ValueError(f"train_samples = {wanted}, but {dataset} holds {len(data.samples)} samples")
        data = select(data, data.samples[:wanted])
    return subsample(data, int(params.get("subsample", 1)))


def _device_name(device: Any) -> str:
    """The workbench's selected device as a TrainConfig device ("auto" when none was selected)."""
    if device is None:
        return "auto"
    kind = torch.device(device).type
    return kind if kind in ("cpu", "cuda") else "auto"


def _document(kind: str, model: NormalizedOperator, data: OperatorData, train: OperatorData,
              validation: OperatorData, config: TrainConfig, state: TrainState,
              data_seconds: float | None) -> dict[str, Any]:
    summary = summarize_errors(relative_l2_errors(model, validation).numpy())
    return {
        "surrogate": f"operators.{kind}",
        "architecture": model.network.architecture,
        "parameters": parameter_count(model.network),
        "training": {"config": config.to_dict(), **state.results(), "seconds": round(state.train_seconds, 3),
                     "train_pairs": len(train), "validation_pairs": len(validation)},
        "task": {**data.task.describe(), "generation_seconds": data_seconds, "input_range": input_range(train)},
        "metrics": {"validation_relative_l2_mean": summary.mean, "validation_relative_l2_median": summary.median,
                    "validation_relative_l2_p95": summary.p95},
    }


def load(path: str | Path, device: Any = None) -> NeuralOperatorSurrogate:
    """The surrogate stored at ``path`` (a .safetensors checkpoint; nothing in it is executed)."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    model, document = load_checkpoint(path, device=device)
    return NeuralOperatorSurrogate(model, document, device, Path(path))


class NeuralOperatorSurrogate:
    """A trained operator on numpy arrays: ``predict`` maps (B, C_in, *grid) to (B, C_out, *grid)."""

    def __init__(self, model: NormalizedOperator, document: dict[str, Any], device: torch.device,
                 path: Path | None = None) -> None:
        self.model = model
        self.document = document
        self.device = device
        self.path = path
        self.dtype = next(model.parameters()).dtype

    @property
    def task(self) -> dict[str, Any]:
        return self.document["task"]

    def pairs(self, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of a data set read by ``read_dataset``, refused if it is another problem."""
        attributes = metadata["attributes"]
        self.check_problem(attributes["solver"], attributes["params"])
        with_seeds = dict(arrays, seed=np.asarray(metadata["seed"][: len(next(iter(arrays.values())))]))
        data = operator_data_from_arrays(with_seeds, attributes, history=self.task.get("history") or DEFAULT_HISTORY,
                                         dtype=torch.float64)
        return data.inputs.numpy(), data.targets.numpy()

    def check_problem(self, solver: str, params: Mapping[str, Any]) -> None:
        """CheckpointError unless (solver, params) is the problem this model learned, up to the grid size."""
        name = self.path.name if self.path else "checkpoint"
        if solver != self.task["solver"]:
            raise CheckpointError(f"{name} was trained on {self.task['solver']} data, not {solver}")
        trained = self.task.get("params", {})
        differing = sorted(k for k in set(trained) | set(params)
                           if k not in RESOLUTION_KEYS and trained.get(k) != params.get(k))
        if differing:
            details = ", ".join(f"{k} = {params.get(k)!r} (trained with {trained.get(k)!r})" for k in differing)
            raise CheckpointError(f"{name} learned another {solver} problem: {details}")

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """Predicted targets (float64, on the CPU) for inputs (B, C_in, *grid) at any resolution."""
        x = torch.as_tensor(np.asarray(inputs), dtype=self.dtype, device=self.device)
        with torch.inference_mode():
            return self.model(x).to("cpu", torch.float64).numpy()

    def predict_on_mesh(self, mesh, values, location: str = "point", *, resolution_check: bool = True,
                        input_range=None):
        """Predict at the nodes of a 2D mesh from an input field on it (``pdewb_operators.on_mesh``).

        ``values``: the input at the mesh's points (``location="point"``) or cells
        (``"cell"``). Returns a :class:`~pdewb_operators.on_mesh.MeshPrediction`: the
        values at the mesh nodes and a report of the resampling error, separate from
        the model's own. Non-periodic 2D grid tasks (Darcy) only. ``input_range``
        ([[min, max]] per input channel) overrides the range the checkpoint recorded
        at training; an input outside the range is refused.
        """
        from .on_mesh import predict_on_mesh

        return predict_on_mesh(self, mesh, values, input_location=location, resolution_check=resolution_check,
                               input_range=input_range)

    def rollout(self, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, Any], *,
                steps: int | None = None, batch: int = 64) -> dict[str, Any]:
        """Autoregressive roll-out over the trajectories of a data set read by ``read_dataset``.

        From the first ``history`` frames of every trajectory the predictions are fed back
        for ``steps`` steps (default: to the last stored frame). Returns ``history``,
        ``steps``, ``frames`` (S,) (trajectory index of each predicted frame), ``times``
        (S,) or None, ``predictions`` (N, S, *grid), ``relative_l2`` (N, S) and
        ``relative_l2_mean`` (S,). Refused (ValueError) for tasks that are not autoregressive.
        """
        history = self.task.get("history")
        if not history:
            raise ValueError(f"{self.task['solver']} surrogates map one field to another: there is nothing "
                             f"to roll out (only autoregressive tasks such as spectral.navier_stokes)")
        attributes = metadata["attributes"]
        self.check_problem(attributes["solver"], attributes["params"])
        with_seeds = dict(arrays, seed=np.asarray(metadata["seed"][: len(next(iter(arrays.values())))]))
        data = operator_data_from_arrays(with_seeds, attributes, history=history, dtype=torch.float64)
        result = roll_out(self, data.trajectories, history, steps, batch)
        times = attributes.get("metadata", {}).get("times") or []
        return {"history": result.history, "steps": result.steps, "frames": result.frames.tolist(),
                "times": [float(times[i]) for i in result.frames] if len(times) > result.frames[-1] else None,
                "predictions": result.predictions, "relative_l2": result.errors,
                "relative_l2_mean": result.mean_errors}
