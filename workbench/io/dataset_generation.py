"""``pdewb datagen``: generate (or resume) a data set, batch by batch, into ``PATH``.

Guarantees (``docs/datasets.md``):

- Sample i comes from its own seed ``sample_seeds(base_seed, N)[i]``, so the file does
  not depend on the batch size, on interruptions or on which run generated what.
- One generation per output at a time: the whole run holds :func:`~.locks.output_lock`
  on ``PATH``; a second one is refused at once, naming the first one's PID.
- Every batch becomes a shard of ``PATH.partial/`` (:mod:`.dataset_shards`), whole or
  not at all; Ctrl-C and SIGTERM are held back while it is written, so a batch that
  was generated is kept. The same command resumes whatever is there (with or without
  ``--overwrite``); ``--overwrite`` replaces a complete ``PATH`` and discards a
  partial state of another generation. ``PATH`` appears only complete, atomically.
- What the plugin returns is checked before it is written: a mapping of field names
  to numeric arrays with the batch as leading axis, the same fields in every batch,
  and finite values. A NaN or infinity ends generation naming the field, the sample
  and its seed; its batch is not written.
- A plugin's failure (any exception, ``sys.exit()``) is one line naming the solver
  and the samples; Ctrl-C and SIGTERM stay the user's.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..core.errors import PLUGIN_FAILURES, WorkbenchError, describe_failure
from ..core.interrupts import Terminated, deferred_interrupts
from ..core.params import resolve_params
from ..plugins.contributions import SolverContribution
from .atomic import check_output_target
from .dataset_format import (
    FORMAT,
    MAX_SEED,
    SEED_SCHEME,
    VERSION,
    DatasetError,
    Layout,
    canonical_json,
    check_field_layout,
    check_metadata,
    check_field_name,
    check_seed,
    sample_seeds,
)
from .dataset_shards import PartialDataset, PartialStateError, Shard
from .locks import output_lock

Progress = Callable[[int, int, float], None]


class DatasetInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM (``terminated``) during generation; ``completed`` of ``samples`` are kept."""

    def __init__(self, path: Path, completed: int, samples: int, terminated: bool = False) -> None:
        super().__init__(f"interrupted after {completed} of {samples} samples")
        self.path, self.completed, self.samples, self.terminated = path, completed, samples, terminated


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


@functools.lru_cache(maxsize=64)
def distribution_of(module: str) -> tuple[str, str]:
    """(distribution name, version) of the installed package that provides ``module``.

    Cached: scanning the installed distributions takes a quarter of a second, and the
    module is already imported, so the version of the code that runs does not change.
    """
    top = module.partition(".")[0]
    names = importlib_metadata.packages_distributions().get(top, [])
    for name in names:
        with contextlib.suppress(importlib_metadata.PackageNotFoundError):
            return name, importlib_metadata.version(name)
    return "", ""


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
    progress: Progress | None = None,
) -> DatasetSummary:
    """Generate (or resume) ``samples`` samples of ``solver`` into the HDF5 file ``out``.

    ``progress(done, samples, samples_per_s)`` is called after every batch (raising
    KeyboardInterrupt there stops after that batch, as the GUI's Stop does). Ctrl-C and
    SIGTERM raise :class:`DatasetInterrupted` with the samples so far kept; the same
    call resumes.
    """
    out = check_output_target(Path(out))
    samples, batch, seed = _count(samples, "--samples"), _count(batch, "--batch"), check_seed(seed)
    generate, describe = solver.dataset_functions()
    resolved = dataset_params(solver, params)
    distribution, version = distribution_of(solver.dataset.partition(":")[0])
    identity = {"solver": solver.id, "params": _json(resolved, "the parameters"), "base_seed": seed,
                "samples": samples, "solver_version": version}
    with output_lock(out, "datagen"):
        state = _resumable_state(out, identity, overwrite)
        if state is None:
            attributes = _new_attributes(solver.id, identity, distribution, resolved, describe)
            state = PartialDataset.create(out, attributes), [], None
        partial, shards, layout = state
        generation = _Generation(partial, out, solver.id, generate, resolved, batch, device, progress, overwrite)
        return generation.run(shards, layout)


def _count(value: Any, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= int(value) <= MAX_SEED:
        raise DatasetError(f"{option} must be a whole number from 1 to 2^63 - 1, got {value!r}")
    return int(value)


def _json(value: Any, what: str) -> str:
    try:
        return canonical_json(value)
    except (ValueError, TypeError, RecursionError) as error:
        raise DatasetError(f"{what} cannot be stored as JSON ({error})") from None


def _resumable_state(out: Path, identity: dict[str, Any],
                     overwrite: bool) -> tuple[PartialDataset, list[Shard], Layout | None] | None:
    """(partial state, its sound shards, their layout) to resume, None to start afresh.

    Refusals and what ``overwrite`` discards are as in the module docstring; with
    ``overwrite`` a damaged shard is deleted (its samples are generated again).
    """
    if os.path.lexists(out) and not overwrite:
        raise DatasetError(f"{out} exists; pass --overwrite to replace it")
    try:
        partial = PartialDataset.find(out)
    except PartialStateError as error:
        if not (overwrite and error.discardable):
            raise
        PartialDataset.discard_at(out)
        return None
    if partial is None:
        return None
    differences = partial.differences(identity)
    if not differences:
        try:
            return (partial, *partial.survey(repair=overwrite))
        except PartialStateError as error:
            if not (overwrite and error.discardable):
                raise
            PartialDataset.discard_at(out)
            return None
    if overwrite:
        PartialDataset.discard_at(out)
        return None
    labels = ", ".join(text.partition(":")[0] for text in differences)
    raise DatasetError(f"cannot resume {partial.folder}: different {labels} ({'; '.join(differences)}); "
                       "run the original command, or pass --overwrite to start again")


def _new_attributes(solver_id: str, identity: dict[str, Any], distribution: str, resolved: dict[str, Any],
                    describe: Callable) -> dict[str, Any]:
    """The root attributes of the data set to be (all but ``completed`` and ``generation_seconds``)."""
    with _plugin_boundary(solver_id, "describe its data set"):
        metadata = describe(resolved)
    if not isinstance(metadata, Mapping):
        raise DatasetError(f"'{solver_id}' described its data set with {type(metadata).__name__}, not a mapping")
    check_metadata(dict(metadata), f"the data-set metadata of '{solver_id}'")
    return dict(identity, format=FORMAT, version=VERSION, solver_distribution=distribution,
                workbench_version=__version__, metadata=_json(dict(metadata), f"the metadata of '{solver_id}'"),
                seed_scheme=SEED_SCHEME, created=datetime.now(UTC).isoformat(timespec="seconds"))


@dataclass
class _Generation:
    """One run of :func:`generate_dataset` once its partial state is settled (the lock is held)."""

    partial: PartialDataset
    out: Path
    solver_id: str
    generate: Callable
    params: dict[str, Any]
    batch: int
    device: Any
    progress: Progress | None
    repair: bool
    done: int = 0
    room_checked: bool = False

    def run(self, shards: list[Shard], layout: Layout | None) -> DatasetSummary:
        """Generate what is missing and publish; with ``repair``, a shard found damaged while
        merging is deleted, generated again and the merge retried."""
        samples, began = self.partial.samples, time.perf_counter()
        self.done = resumed_from = sum(shard.count for shard in shards)
        try:
            while True:
                layout = self._fill(shards, layout, began, resumed_from)
                try:
                    layout = self.partial.publish(self.out)
                    break
                except PartialStateError as error:
                    if not (self.repair and error.shard in shards):
                        raise
                    error.shard.path.unlink()
                    shards.remove(error.shard)
                    self.done -= error.shard.count
        except KeyboardInterrupt as stop:
            raise DatasetInterrupted(self.out, self.done, samples, isinstance(stop, Terminated)) from None
        return DatasetSummary(self.out, self.solver_id, samples, samples, resumed_from, time.perf_counter() - began,
                              {name: [samples, *field.shape] for name, field in layout.items()},
                              {name: str(field.dtype) for name, field in layout.items()})

    def _fill(self, shards: list[Shard], layout: Layout | None, began: float, resumed_from: int) -> Layout:
        """Generate every range no shard holds, one shard per batch; the layout of them all."""
        samples = self.partial.samples
        for start, stop in _batches(self.partial.missing(shards), self.batch):
            batch_began = time.perf_counter()
            seeds = sample_seeds(self.partial.base_seed, stop - start, start)
            with _plugin_boundary(self.solver_id, f"generate samples {start} to {stop - 1}"):
                arrays = self.generate(self.params, seeds, self.device)
            arrays, layout = checked_batch(arrays, self.solver_id, start, seeds, layout)
            with deferred_interrupts():  # a batch generated is a batch kept, and counted
                shards.append(self.partial.write_shard(start, arrays, seeds, time.perf_counter() - batch_began))
                shards.sort(key=lambda shard: shard.start)
                self.done += stop - start
            if not self.room_checked:  # after one shard, the size of a sample is known
                self.partial.check_room(self.out, layout, samples - self.done)
                self.room_checked = True
            if self.progress is not None:
                elapsed = time.perf_counter() - began
                self.progress(self.done, samples, (self.done - resumed_from) / elapsed if elapsed > 0 else 0.0)
        return layout


def _batches(gaps: list[tuple[int, int]], batch: int) -> Iterator[tuple[int, int]]:
    for low, high in gaps:
        for start in range(low, high, batch):
            yield start, min(start + batch, high)


@contextlib.contextmanager
def _plugin_boundary(solver_id: str, doing: str) -> Iterator[None]:
    """A plugin's own failure as one line; a WorkbenchError (already one line) passes as it is."""
    try:
        yield
    except WorkbenchError:
        raise
    except PLUGIN_FAILURES as error:
        raise DatasetError(f"'{solver_id}' failed to {doing}: {describe_failure(error)}") from error


def checked_batch(arrays: Any, solver_id: str, start: int, seeds: np.ndarray,
                  layout: Layout | None) -> tuple[dict[str, np.ndarray], Layout]:
    """A generator's batch as numpy arrays and its layout, refused unless it is fit to be written.

    ``layout``: what earlier batches (or the shards being resumed) hold; None for the first.
    """
    if not isinstance(arrays, Mapping) or not arrays:
        raise DatasetError(f"'{solver_id}' returned {type(arrays).__name__} for a batch, "
                           "not a mapping of field names to arrays")
    count, batch, found = len(seeds), {}, {}
    for name, value in arrays.items():
        check_field_name(name)
        try:
            array = np.asarray(value)
        except PLUGIN_FAILURES as error:
            raise DatasetError(f"'{solver_id}' returned field '{name}' that is not an array "
                               f"({describe_failure(error)})") from None
        if array.ndim < 1 or array.shape[0] != count:
            raise DatasetError(f"'{solver_id}' returned field '{name}' of shape {array.shape}; "
                               f"expected a leading batch axis of {count}")
        found[name] = check_field_layout(name, array.shape[1:], array.dtype)
        _check_finite(solver_id, name, array, start, seeds)
        batch[name] = array
    if layout is not None and found != layout:
        raise DatasetError(f"'{solver_id}' returned {_describe(found)} for samples {start} to {start + count - 1}; "
                           f"the samples before hold {_describe(layout)}")
    return batch, found


def _check_finite(solver_id: str, name: str, array: np.ndarray, start: int, seeds: np.ndarray) -> None:
    if array.dtype.kind not in "fc":
        return
    finite = np.isfinite(array.reshape(len(seeds), -1)).all(axis=1)
    if not finite.all():
        index = int(np.argmin(finite))
        raise DatasetError(f"'{solver_id}' produced non-finite values (NaN or infinity) in field '{name}' of "
                           f"sample {start + index} (seed {int(seeds[index])}); its batch was not written")


def _describe(layout: Layout) -> str:
    return ", ".join(f"'{name}' {field.describe()}" for name, field in layout.items())
