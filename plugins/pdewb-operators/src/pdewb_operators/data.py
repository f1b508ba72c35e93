"""Operator-learning pairs from a ``pdewb datagen`` data set (``docs/datasets.md``).

A data set stores solver outputs per sample; an operator surrogate learns a map
input field -> output field. The map depends on the solver (the root attribute
``solver``):

=========================  ================================  =====  ========  =========
solver                     input -> target                   grid   periodic  channels
=========================  ================================  =====  ========  =========
``darcy.fd``               ``a`` -> ``u``                    2D     no        1 -> 1
``spectral.burgers``       ``u0`` -> ``u[:, -1]`` (t_end)    1D     yes       1 -> 1
``spectral.navier_stokes`` ``w[t-h..t-1]`` -> ``w[t]``       2D     yes       h -> 1
=========================  ================================  =====  ========  =========

Darcy lives on the nodal grid x_i = i / n (n + 1 points per side, boundary included);
the spectral solvers on the periodic grid x_j = j / n (n points, no periodic copy).
Navier-Stokes is learned autoregressively as in the FNO paper (Li et al., ICLR 2021,
section 5.3): h = ``history`` consecutive vorticity frames (default 10) predict the next
one; every window of every trajectory is a pair, and the whole trajectories are kept
for roll-out evaluation. The pairs are materialised, so they take h times the memory
of the trajectories.

Every pair remembers the data-set sample it came from (``sample_ids``): :func:`split`
splits by sample, so windows of one trajectory never land on both sides.

Tensors are float32 by default (the file is usually float64): the networks train in
float32 and the relative errors of interest are far above its precision.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.core.finite import require_finite_samples
from workbench.io.datasets import SEED_DATASET, DatasetError, open_dataset

#: Frames of vorticity that predict the next one, as in the FNO paper's Navier-Stokes runs.
DEFAULT_HISTORY = 10
FINGERPRINT_TAG = b"pdewb-dataset-fingerprint-v1\0"


@dataclass(frozen=True)
class OperatorTask:
    """What a set of pairs is about: solver, grid, fields, and the data set they came from.

    ``grid`` is the current grid shape (after :func:`subsample`); ``subsample`` the
    factor applied to the stored grid. ``fingerprint`` identifies the source file's
    content (:func:`dataset_fingerprint`), whatever subset or resolution is used.
    """

    solver: str
    solver_version: str
    dim: int
    periodic: bool
    grid: tuple[int, ...]
    domain: tuple[tuple[float, float], ...]
    input_fields: tuple[str, ...]
    output_fields: tuple[str, ...]
    mapping: str
    in_channels: int
    out_channels: int
    params: Mapping[str, Any]
    metadata: Mapping[str, Any]
    base_seed: int
    seeds: tuple[int, ...]
    fingerprint: str
    history: int | None = None
    subsample: int = 1

    @property
    def samples(self) -> int:
        """Number of samples in the source data set."""
        return len(self.seeds)

    @property
    def lengths(self) -> tuple[float, ...]:
        return tuple(high - low for low, high in self.domain)

    @property
    def spacing(self) -> tuple[float, ...]:
        """Grid spacing per axis: L / n on a periodic grid of n points, L / (n - 1) on a nodal one."""
        intervals = [points if self.periodic else points - 1 for points in self.grid]
        return tuple(length / count for length, count in zip(self.lengths, intervals))

    def describe(self) -> dict[str, Any]:
        """The JSON ``task`` section of a checkpoint (without the per-sample seeds)."""
        return {
            "solver": self.solver, "solver_version": self.solver_version, "params": dict(self.params),
            "equation": self.metadata.get("equation", ""), "dim": self.dim, "periodic": self.periodic,
            "grid": list(self.grid), "domain": [list(interval) for interval in self.domain],
            "subsample": self.subsample, "input_fields": list(self.input_fields),
            "output_fields": list(self.output_fields), "mapping": self.mapping, "in_channels": self.in_channels,
            "out_channels": self.out_channels, "history": self.history, "base_seed": self.base_seed,
            "samples": self.samples, "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, eq=False)
class OperatorData:
    """Pairs (inputs[i], targets[i]) with the data-set sample each came from.

    - ``inputs`` (P, C_in, *grid), ``targets`` (P, C_out, *grid);
    - ``sample_ids`` (P,) int64: index of the source sample in the data set;
    - ``trajectories`` (S, T, *grid) or None: whole trajectories of the :attr:`samples`
      (time-dependent autoregressive tasks only), rows in the order of :attr:`samples`.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    sample_ids: torch.Tensor
    task: OperatorTask
    trajectories: torch.Tensor | None = None

    def __post_init__(self) -> None:
        count = self.inputs.shape[0]
        if self.targets.shape[0] != count or self.sample_ids.shape != (count,):
            raise ValueError(f"inputs, targets and sample_ids disagree on the pair count: {tuple(self.inputs.shape)}, "
                             f"{tuple(self.targets.shape)}, {tuple(self.sample_ids.shape)}")

    def __len__(self) -> int:
        return self.inputs.shape[0]

    @property
    def grid(self) -> tuple[int, ...]:
        return tuple(self.inputs.shape[2:])

    @property
    def samples(self) -> torch.Tensor:
        """(S,) sorted indices of the data-set samples present."""
        return torch.unique(self.sample_ids)

    @property
    def seeds(self) -> list[int]:
        """The generation seed of each sample in :attr:`samples` (regenerates it with the solver)."""
        return [self.task.seeds[i] for i in self.samples.tolist()]


# ---------------------------------------------------------------------------------------
# Reading


def load_operator_data(path: str | Path, *, history: int = DEFAULT_HISTORY,
                       dtype: torch.dtype = torch.float32) -> OperatorData:
    """Read a complete data set file and build its pairs (errors from ``open_dataset`` are one line).

    Unsupported solvers are refused before the arrays are read.
    """
    with open_dataset(path) as dataset:
        _builder(dataset.attributes["solver"])
        arrays = dataset.load()  # refused in one line, before allocating, when it would not fit in memory
        arrays[SEED_DATASET] = dataset.seeds
        return operator_data_from_arrays(arrays, dataset.attributes, history=history, dtype=dtype)


def operator_data_from_arrays(arrays: Mapping[str, np.ndarray], attributes: Mapping[str, Any], *,
                              history: int = DEFAULT_HISTORY, dtype: torch.dtype = torch.float32) -> OperatorData:
    """Pairs from in-memory arrays (``seed`` included) and the root attributes (params, metadata decoded).

    ``read_dataset`` returns these as ``arrays`` and ``meta["attributes"]`` (add
    ``arrays["seed"] = meta["seed"]``). Arrays with NaN or infinite values are refused
    (NonFiniteError naming the field and the first sample): a model must neither learn
    from them nor be scored on them.
    """
    build = _builder(attributes["solver"])
    metadata = attributes["metadata"]
    grid_info = metadata["grid"]
    require_finite_samples({name: array for name, array in arrays.items() if name != SEED_DATASET},
                           f"the {attributes['solver']} data set", arrays.get(SEED_DATASET))
    pairs = build(arrays, metadata, history, lambda array: _tensor(array, dtype))
    domain = _domain(grid_info.get("domain"), int(grid_info["dims"]))
    task = OperatorTask(
        solver=attributes["solver"], solver_version=str(attributes.get("solver_version", "")),
        dim=int(grid_info["dims"]), periodic=grid_info["kind"] == "periodic",
        grid=tuple(pairs["inputs"].shape[2:]), domain=domain, input_fields=pairs["input_fields"],
        output_fields=pairs["output_fields"], mapping=pairs["mapping"], in_channels=pairs["inputs"].shape[1],
        out_channels=pairs["targets"].shape[1], params=dict(attributes["params"]), metadata=dict(metadata),
        base_seed=int(attributes["base_seed"]), seeds=tuple(int(seed) for seed in arrays[SEED_DATASET]),
        fingerprint=dataset_fingerprint(arrays, attributes), history=pairs.get("history"),
    )
    return OperatorData(inputs=pairs["inputs"].contiguous(), targets=pairs["targets"].contiguous(),
                        sample_ids=torch.as_tensor(pairs["sample_ids"], dtype=torch.int64), task=task,
                        trajectories=pairs.get("trajectories"))


def dataset_fingerprint(arrays: Mapping[str, np.ndarray], attributes: Mapping[str, Any]) -> str:
    """sha256 hex digest identifying a data set's content.

    Hashed, in this order: the tag ``pdewb-dataset-fingerprint-v1\\0``; the compact,
    key-sorted JSON of {solver, params, base_seed, samples} and a NUL; then for every
    array in name order (the per-sample ``seed`` included) the JSON {name, dtype
    (little-endian numpy code, e.g. "<f8"), shape}, a NUL and the array's bytes in C
    order, little-endian. It depends on the values only, not on HDF5 chunking, file
    attributes such as ``created``, or the machine's byte order.
    """
    digest = hashlib.sha256(FINGERPRINT_TAG)
    identity = {"solver": attributes["solver"], "params": attributes["params"],
                "base_seed": int(attributes["base_seed"]), "samples": int(attributes["samples"])}
    digest.update(_compact_json(identity) + b"\0")
    for name in sorted(arrays):
        array = np.asarray(arrays[name])
        little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        header = {"name": name, "dtype": little.dtype.str, "shape": list(little.shape)}
        digest.update(_compact_json(header) + b"\0")
        digest.update(little.reshape(-1).view(np.uint8))  # the same bytes; also for an empty array
    return digest.hexdigest()


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _tensor(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).to(dtype)


def _domain(domain: Any, dim: int) -> tuple[tuple[float, float], ...]:
    """[[x0, x1], [y0, y1]] or, for 1D grids, [x0, x1] -> ((x0, x1), ...); DatasetError for anything else."""
    shown = repr(domain)[:80]
    if not isinstance(domain, (list, tuple)) or not domain:
        raise DatasetError(f"the data set's grid domain {shown} is not a list of intervals")
    intervals = [domain] if dim == 1 and not isinstance(domain[0], (list, tuple)) else list(domain)
    if len(intervals) != dim or not all(_is_interval(interval) for interval in intervals):
        raise DatasetError(f"the data set's grid domain {shown} is not {dim} interval(s) [low, high]")
    return tuple((float(low), float(high)) for low, high in intervals)


def _is_interval(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 2
            and all(type(v) in (int, float) and np.isfinite(v) for v in value) and value[0] < value[1])


# ---------------------------------------------------------------------------------------
# Pairs per solver: each gets the arrays and a numpy -> torch converter (the target dtype)
# and returns inputs, targets (channel axis added), sample_ids, field names, a readable
# mapping and, for autoregressive tasks, trajectories and history.

ToTensor = Callable[[np.ndarray], torch.Tensor]


def _darcy_pairs(arrays: Mapping[str, np.ndarray], metadata: Mapping[str, Any], history: int,
                 tensor: ToTensor) -> dict:
    a, u = arrays["a"], arrays["u"]
    return {"inputs": tensor(a[:, None]), "targets": tensor(u[:, None]), "sample_ids": np.arange(len(a)),
            "input_fields": ("a",), "output_fields": ("u",), "mapping": "a -> u"}


def _burgers_pairs(arrays: Mapping[str, np.ndarray], metadata: Mapping[str, Any], history: int,
                   tensor: ToTensor) -> dict:
    u0, u = arrays["u0"], arrays["u"]
    final_time = float(metadata["times"][-1]) if metadata.get("times") else float("nan")
    return {"inputs": tensor(u0[:, None]), "targets": tensor(u[:, -1][:, None]), "sample_ids": np.arange(len(u0)),
            "input_fields": ("u0",), "output_fields": ("u",), "mapping": f"u0 -> u(t = {final_time:g})"}


def _navier_stokes_pairs(arrays: Mapping[str, np.ndarray], metadata: Mapping[str, Any], history: int,
                         tensor: ToTensor) -> dict:
    history = int(history)
    if history < 1:
        raise ValueError(f"history must be at least 1, got {history}")
    trajectories = tensor(arrays["w"])  # (N, T, n, n), frame 0 is w0
    samples, frames = trajectories.shape[:2]
    windows = frames - history
    if windows < 1:
        raise ValueError(f"autoregressive pairs with history {history} need at least {history + 1} stored frames; "
                         f"the data set has {frames} (n_out = {frames - 1}); lower the history or generate with "
                         f"n_out >= {history}")
    # window t: frames t .. t+h-1 as channels predict frame t+h; unfold is a view, the
    # reshape makes the one copy (in the target dtype, not the file's)
    inputs = trajectories.unfold(1, history, 1)[:, :windows].movedim(-1, 2)
    grid = trajectories.shape[2:]
    return {"inputs": inputs.reshape(samples * windows, history, *grid),
            "targets": trajectories[:, history:].reshape(samples * windows, 1, *grid),
            "sample_ids": np.repeat(np.arange(samples), windows), "trajectories": trajectories,
            "history": history, "input_fields": ("w",), "output_fields": ("w",),
            "mapping": f"w[t-{history}..t-1] -> w[t]"}


PairBuilder = Callable[[Mapping[str, np.ndarray], Mapping[str, Any], int, ToTensor], dict]
PAIR_BUILDERS: dict[str, PairBuilder] = {
    "darcy.fd": _darcy_pairs,
    "spectral.burgers": _burgers_pairs,
    "spectral.navier_stokes": _navier_stokes_pairs,
}


def _builder(solver: str) -> PairBuilder:
    try:
        return PAIR_BUILDERS[solver]
    except KeyError:
        raise ValueError(f"operator surrogates cannot learn from data sets of solver '{solver}'; "
                         f"supported: {', '.join(sorted(PAIR_BUILDERS))}") from None


# ---------------------------------------------------------------------------------------
# Subsets and resolutions


def select(data: OperatorData, samples: torch.Tensor) -> OperatorData:
    """The pairs (and trajectories) of the given data-set sample indices, order kept."""
    samples = torch.as_tensor(samples, dtype=torch.int64)
    keep = torch.isin(data.sample_ids, samples)
    trajectories = data.trajectories
    if trajectories is not None:
        trajectories = trajectories[torch.isin(data.samples, samples)]
    return dataclasses.replace(data, inputs=data.inputs[keep], targets=data.targets[keep],
                               sample_ids=data.sample_ids[keep], trajectories=trajectories)


def split(data: OperatorData, validation_fraction: float, seed: int = 0) -> tuple[OperatorData, OperatorData]:
    """(train, validation), split by data-set sample, the same for the same seed.

    round(fraction * S) of the S samples (at least 1, at most S - 1) go to validation,
    drawn by ``torch.randperm`` with a generator seeded by ``seed``.
    """
    if not 0.0 < float(validation_fraction) < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    samples = data.samples
    if len(samples) < 2:
        raise ValueError(f"splitting needs at least 2 samples, the data has {len(samples)}")
    count = min(max(round(float(validation_fraction) * len(samples)), 1), len(samples) - 1)
    order = torch.randperm(len(samples), generator=torch.Generator().manual_seed(int(seed)))
    validation = torch.sort(samples[order[:count]]).values
    train = torch.sort(samples[order[count:]]).values
    return select(data, train), select(data, validation)


def subsample(data: OperatorData, factor: int) -> OperatorData:
    """Every ``factor``-th grid point per axis (the FNO papers' ``x[:, ::r, ::r]``).

    A periodic grid of n points needs n divisible by the factor (n / factor points
    remain, same domain); a nodal grid of n + 1 points needs n divisible by it, so the
    last node (the far boundary) is kept: n / factor + 1 points.
    """
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"the subsampling factor must be a positive integer, got {factor}")
    if factor == 1:
        return data
    for points in data.grid:
        intervals = points if data.task.periodic else points - 1
        if intervals % factor:
            kind = "periodic grid of" if data.task.periodic else "nodal grid with"
            raise ValueError(f"cannot subsample a {kind} {intervals} intervals per axis by {factor}: "
                             f"pick a divisor of {intervals}")
    spatial = (slice(None, None, factor),) * data.task.dim
    inputs = data.inputs[(slice(None), slice(None), *spatial)].contiguous()
    targets = data.targets[(slice(None), slice(None), *spatial)].contiguous()
    trajectories = data.trajectories
    if trajectories is not None:
        trajectories = trajectories[(slice(None), slice(None), *spatial)].contiguous()
    task = dataclasses.replace(data.task, grid=tuple(inputs.shape[2:]), subsample=data.task.subsample * factor)
    return dataclasses.replace(data, inputs=inputs, targets=targets, trajectories=trajectories, task=task)


def input_range(data: OperatorData) -> list[list[float]]:
    """[[min, max], ...] of the inputs, per input channel: the domain the pairs cover.

    A checkpoint records it for its training pairs, so that a prediction can refuse an
    input the model never saw the like of (a Darcy coefficient trained on 3 and 12
    asked about 0 or -1, where the equation is not even elliptic).
    """
    channels = data.inputs.transpose(0, 1).reshape(data.inputs.shape[1], -1)
    if channels.shape[1] == 0:
        raise ValueError("no input values to take the range of")
    return [[float(low), float(high)] for low, high in zip(channels.amin(dim=1), channels.amax(dim=1))]


def resolution(data: OperatorData) -> dict[str, Any]:
    """The grid the pairs live on: shape, spacing, subsampling factor and the stored grid."""
    task = data.task
    stored = [(points * task.subsample if task.periodic else (points - 1) * task.subsample + 1) for points in task.grid]
    return {"grid": list(task.grid), "spacing": list(task.spacing), "points": int(np.prod(task.grid)),
            "subsample": task.subsample, "stored_grid": stored, "periodic": task.periodic,
            "kind": "periodic" if task.periodic else "nodal"}
