"""The resumable state of a generation, ``PATH.partial/``, and its merge into the published ``PATH``.

HDF5 is not crash-safe: a kill or a full disk in the middle of a metadata write can
leave a file no reader opens, and the library cannot recover from a failed write in
the same process either (h5py#914, HDFGroup/hdf5#6601: after a failed chunk flush,
closing the dataset or the file segfaults). So a partial data set is a folder of
files that are each written whole or not at all:

- ``manifest.json``: the root attributes of the data set to be (solver, parameters,
  base seed, sample count, solver version, plugin metadata, creation time). The
  folder is created under a hidden temporary name with its manifest inside and
  renamed into place, so ``PATH.partial/`` never exists without one.
- ``shard-START-STOP.h5``: samples START..STOP-1, laid out exactly as in the
  published file (a ``seed`` array, one chunk per sample, uncompressed), plus the
  attribute ``seconds`` (time spent generating them). Each shard is built in memory
  (HDF5 writes into a ``BytesIO``, where a write cannot fail) and reaches the disk
  through :func:`~.atomic.atomic_path` as plain bytes, so a full disk, a kill or
  SIGTERM leaves the shard either complete or absent, never a damaged HDF5 file.

Resuming generates the ranges no shard covers. When every sample is in, the shards
are merged into ``PATH`` through :func:`~.atomic.atomic_path`, chunk by chunk
(``read_direct_chunk`` / ``write_direct_chunk``: raw bytes, never the whole set in
memory). The merged file starts as a skeleton built in memory (attributes, seeds,
empty chunked fields) whose full final size is then reserved with
``posix_fallocate``: a full disk, a quota or a file-size limit fails there, in plain
Python, before HDF5 writes a byte. The writes HDF5 then makes fall inside the
reservation; a direct chunk write that fails anyway (an I/O error) bypasses the chunk
cache, whose failed flush is what crashes the library, and was measured not to crash.
Then the folder is renamed to a hidden temporary name and removed.

This is also the layout for parallel generation: one writer per shard file, merged
into the one data set.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import WorkbenchError
from ..core.memory import format_bytes, require_memory
from .atomic import (
    TEMPORARY_MARK,
    OutputError,
    atomic_path,
    atomic_write_text,
    describe_os_error,
    ensure_folder,
    kind_of,
    temporary_name,
)
from .dataset_format import (
    HDF5_ERRORS,
    IDENTITY,
    SEED_DATASET,
    SEED_DTYPE,
    DatasetError,
    Layout,
    read_scalar_attributes,
    sample_seeds,
    stored_layout,
)
from .dataset_seal import USER_BLOCK_BYTES, seal, verify_seal

PARTIAL_SUFFIX = ".partial"
MANIFEST = "manifest.json"
PARTIAL_FORMAT = "pdewb-dataset-partial"
SHARD_FORMAT = "pdewb-dataset-shard"
PARTIAL_VERSION = 1
#: The manifest holds a few kB of attributes; anything far larger is not ours.
MAX_MANIFEST_BYTES = 16 * 2**20
_SHARD_NAME = re.compile(r"^shard-(\d{1,19})-(\d{1,19})\.h5$")
#: Where posix_fallocate is not supported, the merge goes on without a reservation.
_NO_RESERVATION = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOSYS}


class PartialStateError(DatasetError):
    """``PATH.partial`` cannot be resumed; ``discardable``: ``--overwrite`` may remove it (it is ours).

    ``shard``: the damaged shard, when one is to blame (``--overwrite`` deletes just that one).
    """

    def __init__(self, message: str, discardable: bool, shard: Shard | None = None) -> None:
        super().__init__(message)
        self.discardable, self.shard = discardable, shard


def partial_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + PARTIAL_SUFFIX)


@dataclass(frozen=True)
class Shard:
    path: Path
    start: int
    stop: int

    @property
    def count(self) -> int:
        return self.stop - self.start


class PartialDataset:
    """``PATH.partial/``: the manifest's ``attributes`` and the shards written so far."""

    def __init__(self, folder: Path, attributes: dict[str, Any]) -> None:
        self.folder, self.attributes = folder, attributes

    @property
    def samples(self) -> int:
        return int(self.attributes["samples"])

    @property
    def base_seed(self) -> int:
        return int(self.attributes["base_seed"])

    # -- finding, creating, discarding ---------------------------------------------------

    @classmethod
    def create(cls, out: Path, attributes: dict[str, Any]) -> PartialDataset:
        """A new, empty partial state for ``out`` (none may exist: the caller holds the output lock)."""
        folder = partial_path(out)
        staging = temporary_name(folder, "partial")
        document = {"format": PARTIAL_FORMAT, "version": PARTIAL_VERSION, "attributes": attributes}
        try:
            ensure_folder(staging)
            atomic_write_text(staging / MANIFEST, json.dumps(document, indent=1, sort_keys=True))
            os.rename(staging, folder)
        except BaseException as error:
            shutil.rmtree(staging, ignore_errors=True)
            if not isinstance(error, OSError):
                raise
            reason = error.reason if isinstance(error, OutputError) else describe_os_error(error)
            raise OutputError(f"cannot create {folder}: {reason}", reason) from None
        return cls(folder, attributes)

    @classmethod
    def find(cls, out: Path) -> PartialDataset | None:
        """The partial state of ``out``, None if there is none; :class:`PartialStateError` if unusable."""
        folder = partial_path(out)
        try:
            mode = os.lstat(folder).st_mode
        except FileNotFoundError:
            return None
        except OSError as error:
            raise PartialStateError(f"cannot read {folder}: {describe_os_error(error)}", False) from None
        if stat.S_ISREG(mode):
            raise PartialStateError(f"{folder} is a partial file of an earlier workbench version and cannot be "
                                    "resumed; pass --overwrite to start again", True)
        if not stat.S_ISDIR(mode):
            raise PartialStateError(f"refusing to use {folder}: it is {kind_of(mode)}, not the folder datagen "
                                    "writes; move it away", False)
        _check_contents_are_ours(folder)
        return cls(folder, _read_manifest(folder))

    @staticmethod
    def discard_at(out: Path) -> None:
        """Remove the partial state of ``out`` (a folder of ours, or an earlier version's partial file)."""
        folder = partial_path(out)
        mode = os.lstat(folder).st_mode
        if stat.S_ISREG(mode):
            folder.unlink()
            return
        _check_contents_are_ours(folder)
        # Renamed first: a kill during the removal leaves a hidden temporary (swept later), not half a state.
        doomed = temporary_name(folder, "partial")
        os.rename(folder, doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def differences(self, identity: dict[str, Any]) -> list[str]:
        """One description per identity attribute that differs from the generation asked for (none: resumable)."""
        return [f"{label}: the partial state has {self.attributes.get(key)}, asked for {identity[key]}"
                for key, label in IDENTITY.items() if self.attributes.get(key) != identity[key]]

    # -- shards ----------------------------------------------------------------------------

    def shards(self) -> list[Shard]:
        """The shards present, by name only (see :meth:`survey`), in order; refuses entries that are not files."""
        shards = []
        for entry in os.scandir(self.folder):
            match = _SHARD_NAME.match(entry.name)
            if match is None:
                continue  # the manifest, or a temporary (_check_contents_are_ours vetted the rest)
            if not entry.is_file(follow_symlinks=False):
                raise PartialStateError(f"{entry.path} is not a regular file; delete {self.folder} "
                                        "or pass --overwrite", True)
            shards.append(Shard(Path(entry.path), int(match[1]), int(match[2])))
        return sorted(shards, key=lambda shard: (shard.start, shard.stop))

    def survey(self, repair: bool = False) -> tuple[list[Shard], Layout | None]:
        """The sound shards and their common layout (None while there is none).

        Every shard is opened and checked (:func:`read_shard`, no array read but the
        seeds). One that is damaged, misplaced, overlaps an earlier one or holds other
        fields than the first is refused, or with ``repair`` deleted: its samples are
        then generated again, and the sound shards are kept.
        """
        sound: list[Shard] = []
        layout = None
        for shard in self.shards():
            try:
                shard_layout = self._checked_in_place(shard, sound, layout)
            except PartialStateError:
                if not repair:
                    raise
                shard.path.unlink()
                continue
            layout = layout or shard_layout
            sound.append(shard)
        return sound, layout

    def _checked_in_place(self, shard: Shard, before: list[Shard], layout: Layout | None) -> Layout:
        if not 0 <= shard.start < shard.stop <= self.samples:
            raise _damaged(shard, f"it is outside the {self.samples} samples")
        if before and shard.start < before[-1].stop:
            raise _damaged(shard, f"it overlaps {before[-1].path.name}")
        shard_layout, _ = read_shard(shard, self.base_seed)
        if layout is not None and shard_layout != layout:
            raise _damaged(shard, f"its fields {_describe(shard_layout)} differ from {_describe(layout)}")
        return shard_layout

    def missing(self, shards: list[Shard]) -> list[tuple[int, int]]:
        """The ranges [start, stop) of samples no shard holds, in order."""
        gaps, position = [], 0
        for shard in shards:
            if shard.start > position:
                gaps.append((position, shard.start))
            position = max(position, shard.stop)
        if position < self.samples:
            gaps.append((position, self.samples))
        return gaps

    def write_shard(self, start: int, arrays: dict[str, np.ndarray], seeds: np.ndarray, seconds: float) -> Shard:
        """Write samples ``start .. start+len(seeds)-1`` as one shard, whole or not at all."""
        stop = start + len(seeds)
        image = io.BytesIO()
        with _h5py().File(image, "w", userblock_size=USER_BLOCK_BYTES) as f:
            f.attrs.update({"format": SHARD_FORMAT, "version": PARTIAL_VERSION, "start": start, "stop": stop,
                            "seconds": float(seconds)})
            f.create_dataset(SEED_DATASET, data=np.asarray(seeds, dtype=SEED_DTYPE))
            for name, array in arrays.items():
                f.create_dataset(name, data=array, chunks=(1, *array.shape[1:]))
        shard = Shard(self.folder / f"shard-{start}-{stop}.h5", start, stop)
        try:
            with atomic_path(shard.path) as temporary:
                with open(temporary, "wb") as handle:
                    handle.write(image.getbuffer())
                seal(temporary)
        except OutputError as error:
            raise OutputError(f"cannot write {shard.path}: {error.reason}; the samples generated so far are "
                              f"kept in {self.folder.name}: run the same command to resume", error.reason) from None
        return shard

    # -- room and merge --------------------------------------------------------------------

    def check_room(self, out: Path, layout: Layout, unwritten: int) -> None:
        """Refuse, before hours of work, a generation whose shards and merged file will not fit.

        The shards and the merged file exist together while it is merged: the disk
        needs room for the shards still to write and for the whole merged file.
        """
        final = _reservation(layout, self.samples, 0)
        needed = unwritten * sum(field.sample_bytes for field in layout.values()) + final
        free = shutil.disk_usage(self.folder).free
        if needed > free:
            raise OutputError(f"not enough disk space for {out}: it needs about {format_bytes(needed)} more "
                              f"(the remaining shards, then the merged file beside them), "
                              f"{format_bytes(free)} are free; the samples so far are kept in {self.folder.name}",
                              "disk full")
        limit = _file_size_limit()
        if limit is not None and final > limit:
            raise OutputError(f"{out} would be about {format_bytes(final)}, over this process's file-size limit "
                              f"of {format_bytes(limit)} (ulimit -f)", "file too large (a file-size limit)")

    def publish(self, out: Path) -> Layout:
        """Merge the complete set of shards into ``out`` (atomically), then remove the folder."""
        shards = self.shards()  # each is checked again as it is copied
        if self.missing(shards) or not shards:
            raise DatasetError(f"{self.folder} lacks samples {self.missing(shards)}; it cannot be published yet")
        layout = read_shard(shards[0], self.base_seed)[0]
        require_memory(4 * SEED_DTYPE.itemsize * self.samples, f"merging the {self.samples} seeds of {out}")
        seeds = sample_seeds(self.base_seed, self.samples)
        attributes = dict(self.attributes, completed=self.samples, generation_seconds=0.0)
        skeleton = _skeleton(attributes, seeds, layout)
        try:
            with atomic_path(out) as temporary:
                _write_reserved(temporary, skeleton, _reservation(layout, self.samples, len(skeleton)))
                with _hdf5_writes(out), _h5py().File(temporary, "r+") as merged:
                    targets = {name: merged[name] for name in layout}
                    seconds = sum(_copy_shard(shard, targets, layout, seeds, out) for shard in shards)
                    merged.attrs["generation_seconds"] = seconds
                with _hdf5_writes(out):
                    seal(temporary)
        except OutputError as error:
            raise OutputError(f"cannot write {out}: {error.reason}; the previous file (if any) is unchanged and "
                              f"all {self.samples} samples are kept in {self.folder.name}: run the same command "
                              "to merge them", error.reason) from None
        with contextlib.suppress(OSError, PartialStateError):  # published; a leftover folder is harmless
            PartialDataset.discard_at(out)
        return layout


def read_shard(shard: Shard, base_seed: int) -> tuple[Layout, float]:
    """(layout, seconds) of a shard, after checking that it is one of ours, whole, for its range."""
    with _shard_errors(shard):
        verify_seal(shard.path)
        with _h5py().File(shard.path, "r") as f:
            return _checked_shard(f, shard, sample_seeds(base_seed, shard.count, shard.start))


@contextlib.contextmanager
def _shard_errors(shard: Shard):
    """A shard that is unreadable or not laid out as one: damaged, ours to generate again."""
    try:
        yield
    except (PartialStateError, OutputError):
        raise
    except DatasetError as error:
        raise _damaged(shard, str(error).removeprefix(f"{shard.path}: ").removeprefix(f"{shard.path} ")) from None
    except HDF5_ERRORS as error:
        raise _damaged(shard, f"unreadable: {type(error).__name__}: {' '.join(str(error).split())[:160]}") from None


def _checked_shard(f, shard: Shard, seeds: np.ndarray) -> tuple[Layout, float]:
    """Checks of an open shard (``seeds``: those of its samples); its (layout, seconds)."""
    attributes = read_scalar_attributes(f, ("format", "start", "stop", "seconds"))
    if (attributes.get("format"), attributes.get("start"), attributes.get("stop")) != (
            SHARD_FORMAT, shard.start, shard.stop):
        raise _damaged(shard, "its attributes do not match its name")
    layout = stored_layout(f, shard.count, shard.path)
    if not np.array_equal(f[SEED_DATASET][...], seeds):
        raise _damaged(shard, "its seeds are not those of its samples")
    seconds = attributes.get("seconds", 0.0)
    return layout, float(seconds) if isinstance(seconds, (int, float)) and seconds >= 0 else 0.0


def _damaged(shard: Shard, why: str) -> PartialStateError:
    return PartialStateError(f"{shard.path} is damaged ({why}); pass --overwrite (or delete it) to generate "
                             "its samples again", True, shard)


def _copy_shard(shard: Shard, targets: dict[str, Any], layout: Layout, seeds: np.ndarray, out: Path) -> float:
    """Copy a shard's chunks (one per sample) into the merged file ``out``, checking each; its ``seconds``."""
    with _shard_errors(shard), _sealed(shard.path), _h5py().File(shard.path, "r") as source:
        shard_layout, seconds = _checked_shard(source, shard, seeds[shard.start:shard.stop])
        if shard_layout != layout:
            raise _damaged(shard, f"its fields {_describe(shard_layout)} differ from {_describe(layout)}")
        for name, target in targets.items():
            field, stored = layout[name], source[name]
            origin = (0,) * len(field.shape)
            for offset in range(shard.count):
                mask, chunk = stored.id.read_direct_chunk((offset, *origin))
                if mask != 0 or len(chunk) != field.sample_bytes:
                    raise _damaged(shard, f"sample {shard.start + offset} of '{name}' is not stored plainly")
                values = np.frombuffer(chunk, dtype=field.dtype)
                if field.dtype.kind in "fc" and not np.isfinite(values).all():
                    raise _damaged(shard, f"'{name}' of sample {shard.start + offset} "
                                          f"(seed {seeds[shard.start + offset]}) is not finite")
                with _hdf5_writes(out):  # inside: a failed write is the output's, not a damaged shard
                    target.id.write_direct_chunk((shard.start + offset, *origin), chunk)
    return seconds


@contextlib.contextmanager
def _sealed(path: Path):
    verify_seal(path)
    yield


def _describe(layout: Layout) -> str:
    return ", ".join(f"{name} {field.describe()}" for name, field in layout.items())


def _skeleton(attributes: dict[str, Any], seeds: np.ndarray, layout: Layout) -> memoryview:
    """The merged file without its field values: attributes, seeds, empty chunked fields (built in memory)."""
    image = io.BytesIO()
    with _h5py().File(image, "w", userblock_size=USER_BLOCK_BYTES) as f:
        f.attrs.update(attributes)
        f.create_dataset(SEED_DATASET, data=seeds)
        for name, field in layout.items():
            f.create_dataset(name, shape=(len(seeds), *field.shape), dtype=field.dtype, chunks=(1, *field.shape))
    return image.getbuffer()


def _reservation(layout: Layout, samples: int, skeleton: int) -> int:
    """An upper bound of the merged file's size: values, plus the chunk index HDF5 adds.

    Measured (HDF5 2.0, v1 B-tree chunk index): about 4 kB per field and 50 to 80
    bytes per chunk for ranks 1 to 4; reserved: 16 KiB per field and 128 + 16 * rank
    bytes per chunk. HDF5 truncates the file to what it used when it closes it.
    """
    values = samples * sum(field.sample_bytes for field in layout.values())
    index = sum(16 * 1024 + samples * (128 + 16 * (len(field.shape) + 1)) for field in layout.values())
    return skeleton + values + index


def _write_reserved(path: Path, image: memoryview, size: int) -> None:
    """Write ``image`` and reserve ``size`` bytes on disk for ``path`` (OSError on a full disk)."""
    with open(path, "r+b") as handle:
        handle.write(image)
        handle.flush()
        try:
            os.posix_fallocate(handle.fileno(), 0, size)
        except AttributeError:  # no posix_fallocate on this system (macOS, Windows)
            pass
        except OSError as error:
            if error.errno not in _NO_RESERVATION:
                raise


@contextlib.contextmanager
def _hdf5_writes(out: Path):
    """A failed HDF5 write or close (OSError or RuntimeError, which h5py raises alike) as one OutputError."""
    try:
        yield
    except WorkbenchError:
        raise
    except (OSError, RuntimeError) as error:
        reason = _reason(error)
        raise OutputError(f"cannot write {out}: {reason}; the previous file (if any) is unchanged", reason) from None


def _reason(error: BaseException) -> str:
    """'disk full', ... from an h5py error, whose errno is often only in its message."""
    number = getattr(error, "errno", None)
    if not number:
        found = re.search(r"errno = (\d+)", str(error))
        number = int(found[1]) if found else None
    if number:
        return describe_os_error(OSError(number, os.strerror(number)))
    return "the HDF5 library could not write it"


def _file_size_limit() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else soft


def _read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest's attributes; :class:`PartialStateError` (discardable) for anything we did not write."""
    path = folder / MANIFEST
    try:
        status = os.lstat(path)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_MANIFEST_BYTES:
            raise PartialStateError(f"{path} is not a datagen manifest; pass --overwrite to start again", True)
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PartialStateError(f"{folder} has no {MANIFEST}; pass --overwrite to start again", True) from None
    except (OSError, ValueError, RecursionError) as error:
        raise PartialStateError(f"cannot resume from {folder}: {MANIFEST} is unreadable ({type(error).__name__}); "
                                "pass --overwrite to start again", True) from None
    if not isinstance(document, dict):
        document = {}
    attributes = document.get("attributes")
    if (document.get("format"), document.get("version")) != (PARTIAL_FORMAT, PARTIAL_VERSION) or not isinstance(
            attributes, dict) or not _valid_identity(attributes):
        raise PartialStateError(f"{path} is not a manifest this workbench wrote; pass --overwrite to start again",
                                True)
    return attributes


def _valid_identity(attributes: dict[str, Any]) -> bool:
    kinds = {"solver": str, "params": str, "base_seed": int, "samples": int, "solver_version": str, "metadata": str}
    return all(isinstance(attributes.get(key), kind) and not isinstance(attributes.get(key), bool)
               for key, kind in kinds.items()) and attributes["samples"] >= 1 and attributes["base_seed"] >= 0


def _check_contents_are_ours(folder: Path) -> None:
    """Refuse a folder holding anything datagen does not write there: it is not ours to resume or remove."""
    try:
        names = os.listdir(folder)
    except OSError as error:
        raise PartialStateError(f"cannot read {folder}: {describe_os_error(error)}", False) from None
    for name in names:
        if name != MANIFEST and not _SHARD_NAME.match(name) and TEMPORARY_MARK not in name:
            raise PartialStateError(f"{folder} holds '{name}', which datagen did not write; move it away", False)


def _h5py():
    import h5py

    return h5py

