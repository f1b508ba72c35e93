"""The data-set format's rules, shared by the writer, the partial state and the readers.

``docs/datasets.md`` describes the file. This module holds what every side must agree
on: the names, the per-sample seeds, and the checks of a file's declared layout that
run before a single array element is read, so that a small crafted or damaged file
is refused in one line instead of making a reader allocate what it declares:

- every field is a plain numeric HDF5 dataset whose leading axis is the sample count
  and whose stored bytes are all there (an unwritten chunk would read as zeros, and a
  declared (N, 10^5, 10^5) array stored in a few bytes is a memory bomb);
- no dataset reads its values from another file (external storage, external links,
  virtual datasets): a data set file may not make a reader open ``/etc/shadow``;
- the root attributes a reader relies on exist, are scalars of the right type, and
  the JSON ones decode to objects.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import WorkbenchError

FORMAT = "pdewb-dataset"
VERSION = 1
SEED_DATASET = "seed"
SEED_DTYPE = np.dtype(np.uint32)
SEED_SCHEME = "numpy.random.SeedSequence(base_seed).spawn(samples)[i].generate_state(1)[0]"
#: HDF5 stores an integer attribute as int64; a larger base seed could not be written.
MAX_SEED = 2**63 - 1
#: dtype kinds a field may have: bool, integers, floats, complex (no strings, objects, compounds).
NUMERIC_KINDS = "biufc"
#: HDF5 refuses chunks of 4 GiB or more, and a chunk here is one sample.
MAX_SAMPLE_BYTES = 2**32 - 1
#: Root attributes that must match to resume a partial state, and how they are named in the refusal.
IDENTITY = {"solver": "solver", "params": "parameters", "base_seed": "seed", "samples": "sample count",
            "solver_version": "solver version"}
#: Root attributes every reader relies on, with the type each must have.
REQUIRED_ATTRIBUTES = {"solver": str, "params": str, "base_seed": int, "samples": int, "completed": int,
                       "metadata": str}
OPTIONAL_ATTRIBUTES = {"solver_distribution": str, "solver_version": str, "workbench_version": str,
                       "seed_scheme": str, "created": str, "generation_seconds": float}
#: A field name becomes an HDF5 path and a file name part: keep it to one plain path component.
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$")


class DatasetError(WorkbenchError):
    """A data set file is missing, of another format or version, partial, damaged or does not match."""


@dataclass(frozen=True)
class FieldLayout:
    """One field's per-sample shape and dtype: what every batch, shard and file of a data set share."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def sample_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def describe(self) -> str:
        return f"{self.dtype} {self.shape}"


#: field name -> layout, in the order the generator returned them.
Layout = dict[str, FieldLayout]


def sample_seeds(base_seed: int, count: int, start: int = 0) -> np.ndarray:
    """(count,) uint32 seeds of samples ``start .. start+count-1``.

    ``seed[i] = SeedSequence(base_seed).spawn(N)[i].generate_state(1)[0]``, computed
    directly as ``SeedSequence(base_seed, spawn_key=(i,))`` (what ``spawn`` builds), so
    a range costs its own length, not ``start + count``. Child i depends only on
    (base_seed, i), not on N: the seeds of a smaller N are a prefix of a larger one's.
    """
    base_seed = check_seed(base_seed)
    return np.array([np.random.SeedSequence(base_seed, spawn_key=(i,)).generate_state(1)[0]
                     for i in range(int(start), int(start) + int(count))], dtype=SEED_DTYPE)


def check_seed(seed: Any) -> int:
    """``seed`` as an int in [0, 2^63): the base seed is stored as an HDF5 int64 attribute."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise DatasetError(f"the seed must be a whole number, got {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise DatasetError(f"the seed must be between 0 and 2^63 - 1, got {seed}")
    return int(seed)


def check_field_name(name: Any) -> str:
    if not isinstance(name, str) or not _FIELD_NAME.match(name) or name == SEED_DATASET:
        raise DatasetError(f"{name!r} cannot name a data set field (letters, digits and _ . + -, "
                           f"at most 64, not '{SEED_DATASET}')")
    return name


def check_field_layout(name: str, shape: tuple[int, ...], dtype: np.dtype) -> FieldLayout:
    """The layout of field ``name`` whose one sample has ``shape`` and ``dtype``, if the format allows it."""
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise DatasetError(f"field '{name}' has dtype {dtype}; data set fields are numbers")
    if any(size < 1 for size in shape):
        raise DatasetError(f"field '{name}' has an empty axis in its per-sample shape {shape}")
    layout = FieldLayout(tuple(int(size) for size in shape), dtype)
    if layout.sample_bytes > MAX_SAMPLE_BYTES:
        raise DatasetError(f"field '{name}' has {layout.sample_bytes} bytes per sample; "
                           "HDF5 stores at most 4 GiB in one chunk (one sample)")
    return layout


def canonical_json(value: Any) -> str:
    """Key-sorted JSON: the same parameters always give the same text (the identity compares texts)."""
    return json.dumps(value, sort_keys=True, default=str, allow_nan=False)


def decode_json_object(text: Any, what: str) -> dict[str, Any]:
    """``text`` decoded as a JSON object; one line for anything else (deep nesting included)."""
    if not isinstance(text, str):
        raise DatasetError(f"{what} is not JSON text")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise DatasetError(f"{what} is not valid JSON ({type(error).__name__})") from None
    if not isinstance(value, dict):
        raise DatasetError(f"{what} is JSON {type(value).__name__}, not an object")
    return value


def check_metadata(metadata: Any, where: str) -> dict[str, Any]:
    """A plugin's data-set metadata: a JSON object describing at least its grid (docs/plugins.md).

    Readers build on ``metadata["grid"]["kind"]`` and ``["dims"]``; a set without them is
    refused here, in one line, rather than as a KeyError deep in a training run.
    """
    grid = metadata.get("grid") if isinstance(metadata, dict) else None
    if not isinstance(grid, dict) or not isinstance(grid.get("kind"), str) or not (
            isinstance(grid.get("dims"), int) and not isinstance(grid.get("dims"), bool) and 1 <= grid["dims"] <= 3):
        raise DatasetError(f"{where} does not describe its grid (a 'grid' object with 'kind' and 'dims' 1 to 3)")
    return metadata


def plain(value: Any) -> Any:
    """An HDF5 attribute value as a plain Python value (bytes -> str, numpy scalar -> int/float/str)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return plain(value.item())
    return value


def check_attributes(attributes: Mapping[str, Any], where: str) -> None:
    """The root attributes a reader relies on are there and of their types (values already :func:`plain`)."""
    for table, required in ((REQUIRED_ATTRIBUTES, True), (OPTIONAL_ATTRIBUTES, False)):
        for key, kind in table.items():
            if key not in attributes:
                if required:
                    raise DatasetError(f"{where} lacks the attribute '{key}'")
                continue
            value = attributes[key]
            valid = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                     if kind is float else isinstance(value, kind) and not isinstance(value, bool))
            if not valid:
                raise DatasetError(f"{where}: attribute '{key}' is {value!r}, not {kind.__name__}")
    if attributes["samples"] < 1 or attributes["base_seed"] < 0:
        raise DatasetError(f"{where}: samples {attributes['samples']}, base seed {attributes['base_seed']}: "
                           "not a valid data set")


# ---------------------------------------------------------------------------------------
# Reading what an HDF5 file declares, before reading what it stores


#: h5py's errors for unreadable or damaged files: they become one DatasetError line.
HDF5_ERRORS = (OSError, RuntimeError, ValueError, TypeError, KeyError)


@contextlib.contextmanager
def damaged_file_errors(path: Path) -> Iterator[None]:
    """h5py errors while reading ``path`` become one :class:`DatasetError` line."""
    try:
        yield
    except WorkbenchError:  # ours, already one line (an OutputError is an OSError too)
        raise
    except HDF5_ERRORS as error:
        detail = " ".join(str(error).split())[:200]
        raise DatasetError(f"{path} is damaged or not readable ({type(error).__name__}: {detail})") from None


def read_scalar_attributes(f, names) -> dict[str, Any]:
    """The named root attributes that exist, each checked to be a scalar before it is read."""
    values = {}
    for name in names:
        if name not in f.attrs:
            continue
        if f.attrs.get_id(name).shape != ():
            raise DatasetError(f"{f.filename}: attribute '{name}' is an array, not a single value")
        values[name] = plain(f.attrs[name])
    return values


def stored_layout(f, samples: int, where: Path) -> Layout:
    """Check the datasets of an open data set or shard file of ``samples`` samples; their layout.

    Reads no array element: only names, links, shapes, dtypes, storage properties and
    the number of bytes stored (see the module docstring for what is refused).
    """
    layout: Layout = {}
    for name in f:
        link = f.get(name, getlink=True)
        if not isinstance(link, _h5py().HardLink):
            raise DatasetError(f"{where}: '{name}' is a link to elsewhere; a data set holds its own arrays")
        item = f[name]
        if not isinstance(item, _h5py().Dataset):
            raise DatasetError(f"{where}: '{name}' is not an array")
        _check_storage(item, samples, where)
        if name == SEED_DATASET:
            if item.dtype != SEED_DTYPE or item.shape != (samples,):
                raise DatasetError(f"{where}: '{SEED_DATASET}' is {item.dtype} {item.shape}, "
                                   f"expected uint32 ({samples},)")
            continue
        check_field_name(name)
        if item.ndim < 1 or item.shape[0] != samples:
            raise DatasetError(f"{where}: field '{name}' has shape {item.shape}; "
                               f"its first axis must be the {samples} samples")
        layout[name] = check_field_layout(name, item.shape[1:], item.dtype)
    if SEED_DATASET not in f:
        raise DatasetError(f"{where} has no '{SEED_DATASET}' array")
    if not layout:
        raise DatasetError(f"{where} holds no field")
    return layout


def _check_storage(item, samples: int, where: Path) -> None:
    """Raw data in this file, all of it: no external or virtual storage, no missing chunks."""
    h5py = _h5py()
    plist = item.id.get_create_plist()
    if plist.get_layout() == h5py.h5d.VIRTUAL or plist.get_external_count() > 0:
        raise DatasetError(f"{where}: '{item.name.lstrip('/')}' reads its values from other files")
    declared = math.prod(item.shape) * item.dtype.itemsize
    if plist.get_nfilters() == 0:
        stored = item.id.get_storage_size()
        if stored != declared:
            raise DatasetError(f"{where}: '{item.name.lstrip('/')}' declares {declared} bytes "
                               f"({item.dtype} {item.shape}) but stores {stored}")
    elif item.chunks is not None:  # compressed (h5repack): every chunk must be there
        expected = math.prod(-(-size // chunk) for size, chunk in zip(item.shape, item.chunks))
        if item.id.get_num_chunks() != expected:
            raise DatasetError(f"{where}: '{item.name.lstrip('/')}' stores {item.id.get_num_chunks()} "
                               f"of its {expected} chunks")


def _h5py():
    import h5py

    return h5py
