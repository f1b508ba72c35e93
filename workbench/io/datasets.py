"""Training data sets on disk: one HDF5 file, one dataset per field, one chunk per sample.

Written by ``pdewb datagen`` (``docs/datasets.md`` describes the format). Qt-free and
torch-free: torch is imported only by a solver plugin that needs it.

- Sample i is generated from its own seed ``sample_seeds(base_seed, N)[i]``, stored in
  the dataset ``seed``; a solver's ``generate_batch`` uses that seed alone, so the file
  does not depend on the batch size or on where a run was interrupted.
- The file is written as ``PATH.partial``; after every batch the arrays are written,
  the root attribute ``completed`` is raised and the file is flushed. When the last
  sample is in, ``PATH.partial`` is renamed to ``PATH`` (:func:`os.replace`), so ``PATH``
  exists only complete. Running the same generation again resumes from ``completed``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..core.errors import WorkbenchError
from ..core.params import resolve_params
from ..plugins.contributions import SolverContribution

FORMAT = "pdewb-dataset"
VERSION = 1
SEED_DATASET = "seed"
PARTIAL_SUFFIX = ".partial"
#: Root attributes that must match to resume a partial file, and how they are named in the refusal.
IDENTITY = {"solver": "solver", "params": "parameters", "base_seed": "seed", "samples": "sample count",
            "solver_version": "solver version"}


class DatasetError(WorkbenchError):
    """A data set file is missing, of another format or version, partial, or does not match."""


class DatasetInterrupted(KeyboardInterrupt):
    """Ctrl-C during generation; the partial file holds ``completed`` of ``samples``."""

    def __init__(self, path: Path, completed: int, samples: int) -> None:
        super().__init__(f"interrupted after {completed} of {samples} samples")
        self.path, self.completed, self.samples = path, completed, samples


def partial_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + PARTIAL_SUFFIX)


def sample_seeds(base_seed: int, count: int) -> np.ndarray:
    """(count,) uint32 seeds: ``SeedSequence(base_seed).spawn(count)[i].generate_state(1)[0]``.

    Child i of a SeedSequence depends only on (base_seed, i), not on ``count``, so the
    first k seeds of any longer run are the same.
    """
    if int(base_seed) < 0:
        raise DatasetError(f"the seed must be >= 0, got {base_seed}")
    children = np.random.SeedSequence(int(base_seed)).spawn(int(count))
    return np.array([child.generate_state(1)[0] for child in children], dtype=np.uint32)


def distribution_of(module: str) -> tuple[str, str]:
    """(distribution name, version) of the installed package that provides ``module``."""
    top = module.partition(".")[0]
    names = importlib_metadata.packages_distributions().get(top, [])
    for name in names:
        with contextlib.suppress(importlib_metadata.PackageNotFoundError):
            return name, importlib_metadata.version(name)
    return "", ""


@dataclass
class DatasetSummary:
    path: Path
    solver: str
    samples: int
    completed: int
    resumed_from: int
    seconds: float
    fields: dict[str, list[int]]
    dtypes: dict[str, str]

    @property
    def samples_per_s(self) -> float:
        generated = self.completed - self.resumed_from
        return generated / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> dict:
        return {"path": str(self.path), "solver": self.solver, "samples": self.samples,
                "resumed_from": self.resumed_from, "seconds": round(self.seconds, 6),
                "samples_per_s": round(self.samples_per_s, 3), "fields": self.fields, "dtypes": self.dtypes}


def _h5py():
    import h5py

    return h5py


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def dataset_params(solver: SolverContribution, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The solver's resolved parameters without ``seed`` (samples get their own seeds)."""
    given = dict(given or {})
    if "seed" in given:
        raise DatasetError("'seed' is set per sample in data sets: give the base seed with --seed")
    resolved = dict(resolve_params(solver.params, given))
    resolved.pop("seed", None)
    return resolved


def generate_dataset(
    solver: SolverContribution,
    out: str | Path,
    samples: int,
    params: Mapping[str, Any] | None = None,
    *,
    batch: int = 32,
    seed: int = 0,
    overwrite: bool = False,
    device: Any = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> DatasetSummary:
    """Generate (or resume) ``samples`` samples of ``solver`` into the HDF5 file ``out``.

    ``progress(done, samples, samples_per_s)`` is called after every batch. Ctrl-C raises
    :class:`DatasetInterrupted` with the partial file kept; run the same call to resume.
    """
    h5py = _h5py()
    out = Path(out)
    samples, batch = int(samples), int(batch)
    if samples < 1:
        raise DatasetError(f"--samples must be at least 1, got {samples}")
    if batch < 1:
        raise DatasetError(f"--batch must be at least 1, got {batch}")
    generate, describe = solver.dataset_functions()
    resolved = dataset_params(solver, params)
    distribution, solver_version = distribution_of(solver.dataset.partition(":")[0])
    identity = {"solver": solver.id, "params": _json(resolved), "base_seed": int(seed), "samples": samples,
                "solver_version": solver_version}
    if out.exists():
        if not overwrite:
            raise DatasetError(f"{out} exists; pass --overwrite to replace it")
    partial = partial_path(out)
    if partial.exists() and overwrite:
        partial.unlink()
    out.parent.mkdir(parents=True, exist_ok=True)
    seeds = sample_seeds(seed, samples)
    if partial.exists():
        completed = _check_resumable(partial, identity)
    else:
        meta = describe(resolved)
        completed = 0
        with h5py.File(partial, "w") as f:
            f.attrs.update({
                "format": FORMAT, "version": VERSION, "solver": solver.id, "solver_distribution": distribution,
                "solver_version": solver_version, "workbench_version": __version__, "params": identity["params"],
                "base_seed": int(seed), "samples": samples, "completed": 0, "metadata": _json(meta),
                "seed_scheme": "numpy.random.SeedSequence(base_seed).spawn(samples)[i].generate_state(1)[0]",
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            })
            f.create_dataset(SEED_DATASET, data=seeds)
    resumed_from = completed
    start = time.perf_counter()
    with h5py.File(partial, "r+") as f:
        earlier_seconds = float(f.attrs.get("generation_seconds", 0.0))
        try:
            while completed < samples:
                stop = min(completed + batch, samples)
                arrays = generate(resolved, seeds[completed:stop], device)
                with _deferred_interrupt():
                    _write_batch(f, arrays, completed, stop, samples)
                    completed = stop
                    f.attrs["completed"] = completed
                    f.attrs["generation_seconds"] = earlier_seconds + time.perf_counter() - start
                    f.flush()
                if progress is not None:
                    elapsed = time.perf_counter() - start
                    progress(completed, samples, (completed - resumed_from) / elapsed if elapsed > 0 else 0.0)
        except KeyboardInterrupt:
            raise DatasetInterrupted(out, completed, samples) from None
        fields = {name: list(f[name].shape) for name in f if name != SEED_DATASET}
        dtypes = {name: str(f[name].dtype) for name in fields}
    seconds = time.perf_counter() - start
    os.replace(partial, out)
    return DatasetSummary(out, solver.id, samples, completed, resumed_from, seconds, fields, dtypes)


def _check_resumable(partial: Path, identity: Mapping[str, Any]) -> int:
    h5py = _h5py()
    try:
        with h5py.File(partial, "r") as f:
            attrs = dict(f.attrs)
    except OSError as error:
        raise DatasetError(f"cannot resume from {partial}: unreadable ({error}); delete it or pass --overwrite") from None
    if attrs.get("format") != FORMAT:
        raise DatasetError(f"{partial} is not a pdewb data set; delete it or pass --overwrite")
    differs = [label for key, label in IDENTITY.items() if _plain(attrs.get(key)) != _plain(identity[key])]
    if differs:
        details = "; ".join(f"{IDENTITY[key]}: file has {_plain(attrs.get(key))!s}, asked for {_plain(identity[key])!s}"
                            for key in IDENTITY if IDENTITY[key] in differs)
        raise DatasetError(f"cannot resume {partial}: different {', '.join(differs)} ({details}); "
                           "run the original command, or pass --overwrite to start again")
    return int(attrs.get("completed", 0))


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _write_batch(f, arrays: Mapping[str, np.ndarray], start: int, stop: int, samples: int) -> None:
    count = stop - start
    for name, array in arrays.items():
        array = np.asarray(array)
        if name == SEED_DATASET:
            raise DatasetError(f"a solver field may not be named '{SEED_DATASET}'")
        if array.ndim < 1 or array.shape[0] != count:
            raise DatasetError(f"field '{name}' has shape {array.shape}; expected a leading batch axis of {count}")
        if name not in f:
            f.create_dataset(name, shape=(samples, *array.shape[1:]), dtype=array.dtype,
                             chunks=(1, *array.shape[1:]))
        target = f[name]
        if target.shape[1:] != array.shape[1:] or target.dtype != array.dtype:
            raise DatasetError(f"field '{name}' is {array.dtype} {array.shape[1:]} per sample; "
                               f"the file holds {target.dtype} {target.shape[1:]}")
        target[start:stop] = array


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C back while a batch is written, so ``completed`` always matches the arrays."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


@dataclass
class Dataset:
    """An open data set: ``arrays`` are h5py datasets (read lazily, ``arrays["u"][i]``), ``metadata`` a dict."""

    path: Path
    file: Any
    arrays: dict[str, Any]
    seeds: np.ndarray
    metadata: dict[str, Any]
    attributes: dict[str, Any]

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_dataset(path: str | Path) -> Dataset:
    """Open a complete data set for reading, with one-line errors for anything else."""
    h5py = _h5py()
    path = Path(path)
    if not path.exists():
        if partial_path(path).exists():
            raise DatasetError(f"{path} is not complete: only {partial_path(path).name} exists; "
                               "run the same datagen command to finish it")
        raise DatasetError(f"{path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise DatasetError(f"{path} is not an HDF5 file ({error})") from None
    try:
        attrs = {key: _plain(value) for key, value in f.attrs.items()}
        if attrs.get("format") != FORMAT:
            raise DatasetError(f"{path} is not a pdewb data set (format {attrs.get('format')!r})")
        if attrs.get("version") != VERSION:
            raise DatasetError(f"{path} has data set version {attrs.get('version')}; this workbench reads {VERSION}")
        if attrs.get("completed") != attrs.get("samples") or path.name.endswith(PARTIAL_SUFFIX):
            raise DatasetError(f"{path} is partial ({attrs.get('completed')} of {attrs.get('samples')} samples); "
                               "run the same datagen command to finish it")
        attrs["params"] = json.loads(attrs["params"])
        attrs["metadata"] = json.loads(attrs["metadata"])
        arrays = {name: f[name] for name in f if name != SEED_DATASET}
        return Dataset(path, f, arrays, f[SEED_DATASET][...], attrs["metadata"], attrs)
    except Exception:
        f.close()
        raise


def read_dataset(path: str | Path, load: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """(arrays, metadata) of a complete data set.

    ``load=True``: numpy arrays in memory (the file is closed); ``load=False``: open h5py
    datasets (close them with ``next(iter(arrays.values())).file.close()``). ``metadata``
    is the plugin's metadata plus ``"attributes"`` (the root attributes, params decoded)
    and ``"seed"`` (the per-sample seeds).
    """
    dataset = open_dataset(path)
    meta = dict(dataset.metadata, attributes=dataset.attributes, seed=dataset.seeds)
    if not load:
        return dataset.arrays, meta
    with dataset:
        return {name: array[...] for name, array in dataset.arrays.items()}, meta
