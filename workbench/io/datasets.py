"""Training data sets on disk: one HDF5 file, one dataset per field, one chunk per sample.

Written by ``pdewb datagen`` (:mod:`.dataset_generation`, resumable through
:mod:`.dataset_shards`); ``docs/datasets.md`` describes the format. This module reads
them and gathers the public names. Qt-free and torch-free: torch is imported only by a
solver plugin that needs it.

Reading checks what a file declares before it reads what it stores
(:func:`~.dataset_format.stored_layout`): a crafted or damaged file is refused in one
:class:`DatasetError` line, and reading a whole set into memory is refused when it
would not fit (:func:`~workbench.core.memory.require_memory`), before allocating.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.memory import require_memory
from .atomic import describe_os_error, kind_of
from .dataset_format import (
    FORMAT,
    IDENTITY,
    OPTIONAL_ATTRIBUTES,
    REQUIRED_ATTRIBUTES,
    SEED_DATASET,
    VERSION,
    DatasetError,
    Layout,
    check_attributes,
    check_metadata,
    damaged_file_errors,
    decode_json_object,
    read_scalar_attributes,
    sample_seeds,
    stored_layout,
)
from .dataset_seal import verify_seal
from .dataset_generation import DatasetInterrupted, DatasetSummary, dataset_params, distribution_of, generate_dataset
from .dataset_shards import PARTIAL_SUFFIX, partial_path

__all__ = [
    "FORMAT", "IDENTITY", "PARTIAL_SUFFIX", "SEED_DATASET", "VERSION", "Dataset", "DatasetError",
    "DatasetInterrupted", "DatasetSummary", "dataset_params", "distribution_of", "generate_dataset", "open_dataset",
    "partial_path", "read_dataset", "sample_seeds",
]


@dataclass
class Dataset:
    """An open data set: ``arrays`` are h5py datasets (read lazily, ``arrays["u"][i]``), ``metadata`` a dict.

    ``layout`` gives each field's per-sample shape and dtype, already checked against
    the sample count and the bytes stored.
    """

    path: Path
    file: Any
    arrays: dict[str, Any]
    seeds: np.ndarray
    metadata: dict[str, Any]
    attributes: dict[str, Any]
    layout: Layout = field(default_factory=dict)

    @property
    def samples(self) -> int:
        return int(self.attributes["samples"])

    def load(self) -> dict[str, np.ndarray]:
        """Every field in memory as numpy arrays; refused in one line when they would not fit."""
        needed = self.samples * sum(item.sample_bytes for item in self.layout.values())
        require_memory(needed, f"reading all of {self.path} into memory")
        with damaged_file_errors(self.path):
            return {name: array[...] for name, array in self.arrays.items()}

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_dataset(path: str | Path) -> Dataset:
    """Open a complete data set for reading, with one-line errors for anything else."""
    import h5py

    path = Path(path)
    _check_is_a_file(path)
    _check_seal(path)
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise DatasetError(f"{path} is not an HDF5 file ({' '.join(str(error).split())[:200]})") from None
    try:
        with damaged_file_errors(path):
            attributes = _root_attributes(f, path)
            layout = stored_layout(f, attributes["samples"], path)
            _check_declared_fields(attributes["metadata"], layout, path)
            for name, item in layout.items():  # a lazy reader reads one sample at a time: that must fit
                require_memory(item.sample_bytes, f"one sample of '{name}' in {path}")
            seeds = f[SEED_DATASET][...]
        arrays = {name: f[name] for name in layout}
        return Dataset(path, f, arrays, seeds, attributes["metadata"], attributes, layout)
    except BaseException:
        f.close()
        raise


def read_dataset(path: str | Path, load: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """(arrays, metadata) of a complete data set.

    ``load=True``: numpy arrays in memory (the file is closed; refused if they would not
    fit); ``load=False``: open h5py datasets (close them with
    ``next(iter(arrays.values())).file.close()``). ``metadata`` is the plugin's metadata
    plus ``"attributes"`` (the root attributes, params decoded) and ``"seed"`` (the
    per-sample seeds).
    """
    dataset = open_dataset(path)
    meta = dict(dataset.metadata, attributes=dataset.attributes, seed=dataset.seeds)
    if not load:
        return dataset.arrays, meta
    with dataset:
        return dataset.load(), meta


def _check_seal(path: Path) -> None:
    """The file's checksum, before HDF5 parses it (a damaged file can make HDF5 loop forever)."""
    try:
        verify_seal(path)
    except OSError as error:
        raise DatasetError(f"cannot read {path}: {describe_os_error(error)}") from None


def _check_declared_fields(metadata: dict[str, Any], layout: Layout, path: Path) -> None:
    """Every field the plugin's metadata declares is stored: readers index the arrays by those names."""
    declared = metadata.get("fields", {})
    if not isinstance(declared, dict):
        raise DatasetError(f"{path}: its metadata's 'fields' is not an object")
    missing = sorted(set(declared) - set(layout))
    if missing:
        raise DatasetError(f"{path} declares the field(s) {', '.join(map(str, missing))} but does not hold them "
                           f"(it holds {', '.join(sorted(layout)) or 'none'})")


def _check_is_a_file(path: Path) -> None:
    """A regular file (a link to one is fine for reading): never open a FIFO, which would block forever."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.lexists(partial_path(path)):
            raise DatasetError(f"{path} is not complete: only {partial_path(path).name} exists; "
                               "run the same datagen command to finish it") from None
        raise DatasetError(f"{path} does not exist") from None
    except OSError as error:
        raise DatasetError(f"cannot read {path}: {describe_os_error(error)}") from None
    if not stat.S_ISREG(mode):
        raise DatasetError(f"{path} is {kind_of(mode)}, not a data set file")


def _root_attributes(f, path: Path) -> dict[str, Any]:
    names = ("format", "version", *REQUIRED_ATTRIBUTES, *OPTIONAL_ATTRIBUTES)
    attributes = read_scalar_attributes(f, names)
    if attributes.get("format") != FORMAT:
        raise DatasetError(f"{path} is not a pdewb data set (format {attributes.get('format')!r})")
    if attributes.get("version") != VERSION:
        raise DatasetError(f"{path} has data set version {attributes.get('version')}; this workbench reads {VERSION}")
    check_attributes(attributes, str(path))
    if path.name.endswith(PARTIAL_SUFFIX) or attributes["completed"] != attributes["samples"]:
        raise DatasetError(f"{path} is partial ({attributes['completed']} of {attributes['samples']} "
                           "samples); run the same datagen command to finish it")
    attributes["params"] = decode_json_object(attributes["params"], f"{path}: attribute 'params'")
    attributes["metadata"] = check_metadata(
        decode_json_object(attributes["metadata"], f"{path}: attribute 'metadata'"), f"{path}: attribute 'metadata'")
    return attributes
