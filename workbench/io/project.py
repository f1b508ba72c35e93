"""Project files: the meshes and the runs made on them, in one ``.pdewb`` file.

A project file is a zip archive holding

- ``project.json``: the format name and integer version, the meshes (each a
  reference to a file or sample, or the mesh itself for a solver's own grid or a
  moved mesh, with its size), and every run's metadata (the mesh it ran on,
  solver, parameters, boundary conditions, status, error, log, timings, metrics,
  curves, and for each frame its index, time and fields);
- ``arrays/NNNNNN.npy``: one array per field and frame (and per embedded mesh
  array), written with ``np.save(..., allow_pickle=False)``. Nothing in the
  archive is ever pickled.

Sketch of ``project.json`` (format version 3)::

    {
      "format": "pdewb-project", "version": 3,
      "created_with": "0.1.0", "saved_with": "0.1.0", "title": "",
      "meshes": [
        {"sample": "sample:plate-with-hole", "size": {"points": 2268, "cells": 4208}},
        {"path": "meshes/plate.msh", "relative": true, "absolute": "/home/me/proj/meshes/plate.msh",
         "size": {"points": 2268, "cells": 4208}},
        {"embedded": {"points": {"member": "arrays/000000.npy", ...},
                      "cells": [{"type": "triangle", "connectivity": {...}, "tags": {...}}],
                      "boundary": [{"type": "line", "connectivity": {...}, "tags": {...}}],
                      "physical_names": {"left": [1, 1]}},
         "size": {"points": 289, "cells": 512}}
      ],
      "runs": [{
        "name": "fem.heat #1", "mesh": 0, "solver_id": "fem.heat",
        "params": {"dt": 0.01, ...},
        "boundary_conditions": [{"tag": "hole", "kind": "dirichlet", "value": "1"}],
        "status": "succeeded", "saved_while": null, "progress": 1.0,
        "error": null, "log": ["[info] ..."],
        "timings": {"wall_s": 1.2}, "metrics": {"relative_l2": 0.003},
        "curves": {"residual": {"steps": [0, 1], "values": [1.0, 0.1]}},
        "frames": [{"index": 0, "time": 0.0, "fields": [
          {"key": "u", "name": "u", "location": "point", "units": "K",
           "values": {"member": "arrays/000001.npy", "dtype": "<f8", "shape": [100000]},
           "times": null}]}]
      }]
    }

Version 3 holds several meshes, and every run names the one it ran on (``mesh``,
an index into ``meshes``): a sitting that ran on two meshes saves all its runs.
Version 2 added the mesh's ``size`` and embedded meshes; versions 1 and 2 hold
one ``mesh`` for all runs and load unchanged. Files of a newer version are
refused with a message naming it: an older workbench cannot know what they hold.

The JSON is strict (no NaN tokens): a non-finite float anywhere is written as
``{"$float": "nan" | "inf" | "-inf"}``. Tuples in parameters come back as lists.

Mesh paths are stored relative to the project file's folder when the mesh lies
in that folder, below it, or at most two levels above it (``../meshes/x.msh``),
together with the absolute path as a fallback; on load the relative one is
tried first, so moving a folder that holds both the project and its mesh keeps
the link. ``sample:ID`` references are stored as they are. The recorded size
lets a front end check a mesh the user locates after it moved
(:meth:`Project.mesh_mismatch`).

Runs still going (pending, running or paused) are saved as CANCELLED, with the
frames they have produced so far; ``saved_while`` records the status they had
and a log line says so. A project file never claims a run is still going, and
saving never changes the in-memory run.

Arrays are stored uncompressed (ZIP_STORED) by default: simulation output in
float64 compresses by only a few percent with deflate while saving gets many
times slower (see ``save_project``'s ``compress``).

Saving is atomic (:func:`workbench.io.atomic.atomic_path`): a crash, a kill or a
full disk mid-save leaves the previous file intact. It comes in two steps so
that a GUI can write on another thread: :func:`prepare_save` takes the snapshot
(cheap: metadata, and how many frames each run has) and :func:`write_prepared`
does the file work, reading each frame from its run's frame store as it writes
it (frames spilled to disk are never all in memory at once) and writing
``project.json`` last.

Loading never trusts the sizes a file declares (see :class:`_ArrayReader` and
:func:`_check_expansion`): the archive's members must fit in the file, may not
expand more than :data:`MAX_EXPANSION` times, each array is named once, its data
is exactly what its shape needs, and the total must fit in the memory available
(frames beyond the frame store's budget are spilled to disk as they are read),
all checked before the first array is read. A small crafted file therefore
cannot make the loader allocate much more than :data:`MAX_EXPANSION` times the
file's own size. Every problem reading a file raises :class:`ProjectError`
with a one-line message naming the file.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from .. import __version__
from ..core import frame_store
from ..core.errors import MeshError, WorkbenchError
from ..core.events import Frame
from ..core.field import Field
from ..core.memory import NotEnoughMemory, format_bytes, require_memory
from ..core.mesh import Mesh
from ..core.problem import BoundaryCondition
from ..core.run import Run, RunStatus
from .atomic import OutputError, atomic_path, kind_of

FORMAT_NAME = "pdewb-project"
FORMAT_VERSION = 3  # 2: the mesh's size, embedded meshes; 3: several meshes, each run names its own
PROJECT_SUFFIX = ".pdewb"
MANIFEST = "project.json"
SAMPLE_PREFIX = "sample:"
MAX_PARENT_HOPS = 2  # a mesh at most this many folders above the project is stored relative
_ZIP64_ABOVE = 1 << 30  # bytes: larger arrays get a zip64 entry (their size is not known up front)

#: A member may expand to at most this many times the bytes it takes in the archive (Apache POI's
#: zip-bomb threshold). Simulation output deflates by a few percent and the arrays are stored
#: uncompressed by default; the most repetitive manifest measured (100 000 identical frames) deflates
#: 25 times; deflate itself cannot exceed about 1030.
MAX_EXPANSION = 100
_EXPANSION_GRACE = 1 << 20  # bytes: below this any ratio is harmless (small members, the whole archive)
_MAX_MANIFEST_BYTES = 256 * 1024 * 1024
_JSON_EXPANSION = 10  # bytes of memory per byte of project.json: 62 MB of frames took 330 MB to read and parse
_ENCRYPTED = 0x1  # the zip general-purpose flag of an encrypted member
_ALLOCATED_ITEMSIZE = 8  # bytes per value once loaded, at least: fields and points are float64, indices int64


class ProjectError(WorkbenchError):
    """A project file cannot be read, is damaged, or was written by a newer version."""


@dataclass
class RunEntry:
    """One run of a project: its label, the run record, its boundary conditions and its mesh.

    ``mesh`` is the index of the run's mesh in :attr:`Project.meshes`.
    """

    name: str
    run: Run
    boundary_conditions: tuple[BoundaryCondition, ...] = ()
    mesh: int = 0

    def __post_init__(self) -> None:
        self.boundary_conditions = tuple(self.boundary_conditions)


@dataclass(frozen=True)
class MeshSize:
    """Points and domain cells of a mesh: enough to tell a moved mesh file from another mesh."""

    points: int
    cells: int

    @classmethod
    def of(cls, mesh: Mesh) -> MeshSize:
        return cls(mesh.n_points, mesh.n_cells)

    def __str__(self) -> str:
        return f"{self.points} points and {self.cells} cells"


@dataclass
class ProjectMesh:
    """One mesh of a project: a reference to it, or the mesh itself when it has no file.

    ``reference`` is a path or ``sample:ID``, as the user opened it. A solver's
    own grid or a moved mesh has no file to refer to: it travels in the project
    as ``embedded`` (and ``reference`` is empty). ``size`` is what was saved
    (None for version 1 files); saving fills it in from ``embedded``.
    """

    reference: str = ""
    embedded: Mesh | None = None
    size: MeshSize | None = None

    @classmethod
    def of(cls, mesh: Mesh, reference: str | None) -> ProjectMesh:
        """``mesh`` as a project stores it: by reference if it has one, else embedded."""
        return cls(reference or "", None if reference else mesh, MeshSize.of(mesh))

    def describe(self) -> str:
        """The mesh in words, for messages: its file name (or sample) and size, or 'the embedded mesh (size)'."""
        if self.embedded is not None:
            return f"the embedded mesh ({MeshSize.of(self.embedded)})"
        name = self.reference if self.reference.startswith(SAMPLE_PREFIX) else Path(self.reference).name
        return name + (f" ({self.size})" if self.size is not None else "")


@dataclass
class Project:
    """Meshes and the runs made on them; every run names its mesh by index."""

    meshes: list[ProjectMesh] = field(default_factory=list)
    runs: list[RunEntry] = field(default_factory=list)
    title: str = ""
    created_with: str = __version__

    def runs_on(self, index: int) -> list[RunEntry]:
        return [entry for entry in self.runs if entry.mesh == index]

    def mesh_mismatch(self, index: int, mesh: Mesh) -> str | None:
        """Why ``mesh`` cannot be the project's mesh number ``index``, or None if it can.

        The size recorded in the file must match. Version 1 files recorded no
        size: the fields of every run on that mesh must fit it instead (which
        reads every frame, so it is not done when the size tells).
        """
        size, recorded = MeshSize.of(mesh), self.meshes[index].size
        if recorded is not None:
            return None if size == recorded else f"it has {size}; the project's mesh had {recorded}"
        for entry in self.runs_on(index):
            for frame in entry.run.frames:
                for key, f in frame.fields.items():
                    expected = size.points if f.location == "point" else size.cells
                    found = f.values.shape[1 if f.is_series else 0]
                    if found != expected:
                        return (f"run '{entry.name}' has {found} values of '{key}' per frame, "
                                f"this mesh has {expected} {f.location}s")
        return None


# ---------------------------------------------------------------------------- save


def save_project(path: str | Path, project: Project, *, compress: bool = False) -> Path:
    """Write ``project`` to ``path`` atomically; returns the path.

    ``compress=True`` deflates the arrays too (``project.json`` is always
    deflated): files get a little smaller and saving much slower.
    Runs may still be going while they are saved: their lists are copied first.
    Raises :class:`ProjectError` when the file cannot be written (full disk,
    no permission, a parameter that is not plain data); the previous file at
    ``path``, if any, is then left as it was.
    """
    return write_prepared(prepare_save(path, project, compress=compress))


@dataclass(frozen=True)
class PreparedSave:
    """A project as it will be written: its manifest without the frames, the meshes' arrays, the frames to write.

    The frames are not read while preparing: a run's frame store may hold most
    of them on disk, and reading them all back at once would take the memory the
    store exists to save. :func:`write_prepared` reads them one at a time on the
    writing thread; a store only grows, so its first ``count`` frames stay what
    they were while a run still going appends more.
    """

    path: Path
    manifest: dict  # plain data, checked to be JSON-ready; each run's "frames" is filled in while writing
    arrays: tuple[tuple[str, np.ndarray], ...]  # the embedded meshes' arrays (read-only, not copies)
    frames: tuple[tuple[Sequence[Frame], int], ...]  # per run: its frames and how many of them to write
    compress: bool = False


def prepare_save(path: str | Path, project: Project, *, compress: bool = False) -> PreparedSave:
    """The snapshot :func:`write_prepared` writes; raises :class:`ProjectError` for data a file cannot hold.

    Take it where the runs are owned (the GUI thread): it copies the runs' lists
    while nothing else changes them. It is cheap: no frame is read.
    """
    path = Path(path)
    arrays: list[tuple[str, np.ndarray]] = []
    try:
        manifest = _plain({
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "created_with": str(project.created_with),
            "saved_with": __version__,
            "title": str(project.title),
            "meshes": [_mesh_to_json(mesh, path, arrays, i) for i, mesh in enumerate(project.meshes)],
            "runs": [_run_to_json(entry, len(project.meshes)) for entry in project.runs],
        }, "project")
        json.dumps(manifest, allow_nan=False)  # refused now, not half-way through writing
    except RecursionError:
        raise ProjectError(f"{path.name}: cannot save: a parameter is nested too deeply") from None
    except (TypeError, ValueError) as error:
        raise ProjectError(f"{path.name}: cannot save: {_one_line(error)}") from None
    frames = tuple((entry.run.frames, len(entry.run.frames)) for entry in project.runs)
    return PreparedSave(path, manifest, tuple(arrays), frames, compress)


def write_prepared(prepared: PreparedSave) -> Path:
    """Write a prepared project atomically (only numpy and bytes are touched: any thread may call it).

    The arrays come first, ``project.json`` last: it lists the frames' arrays,
    which are known only once each frame has been read and written.
    """
    path = prepared.path
    try:
        with atomic_path(path) as temporary, zipfile.ZipFile(temporary, "w", allowZip64=True) as archive:
            writer = _ArrayWriter(archive, prepared.compress, first=len(prepared.arrays))
            for member, array in prepared.arrays:
                writer.write(member, array)
            runs = [{**run, "frames": [_frame_to_json(frames[i], writer) for i in range(count)]}
                    for run, (frames, count) in zip(prepared.manifest["runs"], prepared.frames)]
            text = json.dumps({**prepared.manifest, "runs": runs}, indent=1, allow_nan=False, ensure_ascii=False)
            archive.writestr(MANIFEST, text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
    except OutputError as error:  # a full disk, a read-only folder: the previous file is intact
        raise ProjectError(f"{path.name}: cannot save: {error.reason}; the previous file is unchanged") from error
    except OSError as error:
        raise ProjectError(f"{path.name}: cannot save: {_one_line(error)}") from error
    except WorkbenchError as error:  # a frame spilled to disk cannot be read back
        raise ProjectError(f"{path.name}: cannot save: {_one_line(error)}") from error
    return path


class _ArrayWriter:
    """Writes arrays as ``.npy`` members, numbering the ones it is given without a name."""

    def __init__(self, archive: zipfile.ZipFile, compress: bool, first: int = 0) -> None:
        self.archive = archive
        self.compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self.count = first
        self.date_time = time.localtime()[:6]

    def add(self, array: np.ndarray) -> dict:
        """Write ``array`` under the next number; returns its reference in ``project.json``."""
        member = _member_name(self.count)
        self.count += 1
        self.write(member, array)
        return _array_ref(member, array)

    def write(self, member: str, array: np.ndarray) -> None:
        info = zipfile.ZipInfo(member, date_time=self.date_time)
        info.compress_type = self.compression
        info.external_attr = 0o644 << 16
        with self.archive.open(info, "w", force_zip64=array.nbytes > _ZIP64_ABOVE) as stream:
            np.save(stream, array, allow_pickle=False)


def _member_name(number: int) -> str:
    return f"arrays/{number:06d}.npy"


def _array_ref(member: str, array: np.ndarray) -> dict:
    return {"member": member, "dtype": array.dtype.str, "shape": list(array.shape)}


def _add_array(arrays: list[tuple[str, np.ndarray]], array: np.ndarray) -> dict:
    """Queue ``array`` for writing; returns its reference in ``project.json``."""
    array = np.asarray(array)
    member = _member_name(len(arrays))
    arrays.append((member, array))
    return _array_ref(member, array)


def _frame_to_json(frame: Frame, writer: _ArrayWriter) -> dict:
    return _plain({
        "index": int(frame.index),
        "time": float(frame.time),
        "fields": [
            {
                "key": str(key),
                "name": f.name,
                "location": f.location,
                "units": f.units,
                "values": writer.add(f.values),
                "times": None if f.times is None else writer.add(f.times),
            }
            for key, f in frame.fields.items()
        ],
    }, "frame")


def _run_to_json(entry: RunEntry, n_meshes: int) -> dict:
    """The run's metadata; its frames are written by :func:`write_prepared`."""
    run = entry.run
    if type(entry.mesh) is not int or not 0 <= entry.mesh < n_meshes:
        raise ValueError(f"run '{entry.name}' names mesh {entry.mesh!r}; the project has {n_meshes} meshes")
    # copy the containers first: a run still going appends to them from another thread
    curves = {name: list(points) for name, points in dict(run.curves).items()}
    log = list(run.log)
    status = RunStatus(run.status)
    saved_while = None
    if not status.finished:
        saved_while = status.value
        status = RunStatus.CANCELLED
        log.append(f"[warning] the project was saved while this run was {saved_while}; it is stored as cancelled")
    return {
        "name": str(entry.name),
        "mesh": entry.mesh,
        "solver_id": str(run.solver_id),
        "params": dict(run.params),
        "boundary_conditions": [
            {"tag": bc.tag, "kind": bc.kind, "value": bc.value} for bc in entry.boundary_conditions
        ],
        "status": status.value,
        "saved_while": saved_while,
        "progress": float(run.progress),
        "error": run.error,
        "log": log,
        "timings": {str(k): float(v) for k, v in dict(run.timings).items()},
        "metrics": {str(k): float(v) for k, v in dict(run.metrics).items()},
        "curves": {
            str(name): {"steps": [int(s) for s, _ in points], "values": [float(v) for _, v in points]}
            for name, points in curves.items()
        },
    }


def _mesh_to_json(mesh: ProjectMesh, project_path: Path, arrays: list[tuple[str, np.ndarray]], index: int) -> dict:
    size = mesh.size
    if mesh.embedded is not None:
        size = MeshSize.of(mesh.embedded)
        data = {"embedded": _embedded_mesh_to_json(mesh.embedded, arrays)}
    elif mesh.reference:
        data = _reference_to_json(str(mesh.reference), project_path)
    else:
        raise ValueError(f"mesh {index + 1} has neither a file nor its arrays")
    if size is not None:
        data["size"] = {"points": int(size.points), "cells": int(size.cells)}
    return data


def _embedded_mesh_to_json(mesh: Mesh, arrays: list[tuple[str, np.ndarray]]) -> dict:
    """The arrays that rebuild ``mesh`` with :meth:`Mesh.build` (the boundary blocks carry its tags).

    Why arrays and not the solver id and parameters that made the grid: the file
    then opens without the plugin installed, shows the same grid after the plugin
    changes how it builds it, and goes through the same validation as any mesh
    file; a grid is small next to the frames computed on it.
    """
    def blocks(cell_blocks) -> list[dict]:
        return [{"type": b.type, "connectivity": _add_array(arrays, b.connectivity), "tags": _add_array(arrays, b.tags)}
                for b in cell_blocks]

    return {
        "points": _add_array(arrays, mesh.points),
        "cells": blocks(mesh.cells),
        "boundary": blocks(mesh.boundary),
        "physical_names": {str(name): [int(tag), int(dim)] for name, (tag, dim) in mesh.physical_names.items()},
    }


def _reference_to_json(reference: str, project_path: Path) -> dict:
    if reference.startswith(SAMPLE_PREFIX):
        return {"sample": reference}
    if not reference:
        return {"path": "", "relative": False, "absolute": ""}
    absolute = os.path.abspath(os.path.expanduser(reference))
    folder = os.path.abspath(project_path.parent)
    try:
        relative = os.path.relpath(absolute, folder)
    except ValueError:  # another drive on Windows
        relative = None
    if relative is not None:
        parts = PurePosixPath(Path(relative).as_posix()).parts
        hops = len(parts) - len(tuple(p for p in parts if p != ".."))
        if hops <= MAX_PARENT_HOPS and ".." not in parts[hops:]:
            return {"path": Path(relative).as_posix(), "relative": True, "absolute": absolute}
    return {"path": absolute, "relative": False, "absolute": absolute}


def _plain(value: Any, where: str) -> Any:
    """JSON-ready data: non-finite floats tagged, numpy scalars unwrapped, tuples as lists."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{where} is of type {type(value).__name__}, which a project file cannot hold")


# ---------------------------------------------------------------------------- load


class _Bad(Exception):
    """A problem inside the archive; becomes a ProjectError naming the file."""


def load_project(path: str | Path) -> Project:
    """Read a project file; raises :class:`ProjectError` on any problem.

    Nothing large is allocated before the file's declared sizes have been
    checked against the file itself and the memory available (module docstring).
    """
    path = Path(path)
    try:
        _check_regular_file(path)
        with open(path, "rb") as handle, zipfile.ZipFile(handle) as archive:
            return _read(archive, path, os.fstat(handle.fileno()).st_size)
    except ProjectError:
        raise
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such project file") from None
    except IsADirectoryError:
        raise ProjectError(f"{path}: is a folder, not a project file") from None
    except zipfile.BadZipFile as error:
        if "File is not a zip file" in str(error):
            if _starts_like_a_zip(path):
                raise ProjectError(f"{path.name}: damaged archive (truncated or overwritten)") from None
            raise ProjectError(f"{path.name}: not a PDE Workbench project (not a zip archive)") from None
        raise ProjectError(f"{path.name}: damaged archive: {_one_line(error)}") from None
    except (zlib.error, UnicodeDecodeError) as error:  # a corrupt deflate stream, a garbled member name
        raise ProjectError(f"{path.name}: damaged archive: {_one_line(error)}") from None
    except (_Bad, NotEnoughMemory) as error:
        raise ProjectError(f"{path.name}: {_one_line(error)}") from None
    except WorkbenchError as error:  # frames beyond the memory budget cannot be spilled to disk
        raise ProjectError(f"{path.name}: cannot load: {_one_line(error)}") from None
    except MemoryError:
        raise ProjectError(f"{path.name}: not enough memory to load the project") from None
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError) as error:
        raise ProjectError(f"{path.name}: cannot read: {_one_line(error)}") from None


def _check_regular_file(path: Path) -> None:
    """Refuse folders, FIFOs and devices before opening: reading a FIFO would wait forever."""
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(mode):
        raise ProjectError(f"{path}: is {kind_of(mode)}, not a project file")


def _starts_like_a_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _read(archive: zipfile.ZipFile, path: Path, file_size: int) -> Project:
    infos = _member_infos(archive)
    _check_expansion(infos, file_size)
    manifest_cost = _JSON_EXPANSION * infos[MANIFEST].file_size
    data = _read_manifest(archive, infos[MANIFEST], manifest_cost)
    version = _version(data)
    runs = _get(data, "runs", list, "project")
    meshes = _get(data, "meshes", list, "project") if version >= 3 else [_get(data, "mesh", dict, "project")]
    reader = _ArrayReader(archive, infos, _array_refs(meshes, runs), manifest_cost)
    project_meshes = [_project_mesh_from_json(mesh, reader, path, i) for i, mesh in enumerate(meshes)]
    sizes = [mesh.size for mesh in project_meshes]
    return Project(
        meshes=project_meshes,
        runs=[_run_from_json(run, reader, f"run {i + 1}", sizes, version) for i, run in enumerate(runs)],
        title=_get(data, "title", str, "project", ""),
        created_with=_get(data, "created_with", str, "project", "unknown"),
    )


def _member_infos(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if not _safe_member_name(info.filename):
            raise _Bad(f"refusing unsafe member name '{info.filename}' in the archive")
        if info.filename in infos:
            raise _Bad(f"duplicate member '{info.filename}' in the archive")
        if info.flag_bits & _ENCRYPTED:
            raise _Bad(f"member '{info.filename}' is encrypted; project files never are")
        infos[info.filename] = info
    if MANIFEST not in infos:
        raise _Bad(f"not a PDE Workbench project (no {MANIFEST} in the archive)")
    return infos


def _check_expansion(infos: Mapping[str, zipfile.ZipInfo], file_size: int) -> None:
    """Refuse members that claim more bytes than the file holds, or that expand like a zip bomb.

    Together these bound what reading the archive can produce by
    :data:`MAX_EXPANSION` times the file's size (plus a grace of 1 MiB), from the
    central directory alone, before a byte is decompressed. Members that overlap
    (one compressed stream listed many times) claim more than the file holds.
    """
    stored = sum(info.compress_size for info in infos.values())
    if stored > file_size:
        raise _Bad(f"damaged or crafted archive: its members claim {format_bytes(stored)}, "
                   f"the file holds {format_bytes(file_size)}")
    for info in infos.values():
        if info.file_size > _EXPANSION_GRACE and info.file_size > MAX_EXPANSION * info.compress_size:
            raise _Bad(f"refusing '{info.filename}': it would expand "
                       f"{info.file_size / max(info.compress_size, 1):.0f} times, to {format_bytes(info.file_size)} "
                       f"(a zip bomb?)")
    expanded = sum(info.file_size for info in infos.values())
    if expanded > _EXPANSION_GRACE + MAX_EXPANSION * stored:
        raise _Bad(f"refusing the archive: its members would expand {expanded / max(stored, 1):.0f} times, "
                   f"to {format_bytes(expanded)} (a zip bomb?)")


def _read_manifest(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cost: int) -> Any:
    if info.file_size > _MAX_MANIFEST_BYTES:
        raise _Bad(f"{MANIFEST} is implausibly large ({info.file_size} bytes)")
    require_memory(cost, f"reading {MANIFEST}")
    try:
        # The C decoder bounds its recursion by the interpreter's limit: a document nested
        # 200 000 deep raises RecursionError after the first thousand levels, it does not crash.
        return json.loads(archive.read(info).decode("utf-8"), object_hook=_unplain)
    except RecursionError:
        raise _Bad(f"{MANIFEST} is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise _Bad(f"{MANIFEST} is not valid JSON: {error}") from None


def _version(data: Any) -> int:
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise _Bad(f"not a PDE Workbench project ({MANIFEST} has no format '{FORMAT_NAME}')")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Bad(f"format version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        raise _Bad(
            f"written by a newer PDE Workbench ({data.get('saved_with', '?')}, format version {version}); "
            f"this one ({__version__}) reads format versions up to {FORMAT_VERSION}"
        )
    return version


def _project_mesh_from_json(data: Any, reader: _ArrayReader, path: Path, index: int) -> ProjectMesh:
    where = f"mesh {index + 1}"
    if not isinstance(data, dict):
        raise _Bad(f"{where} is not an object")
    size = _mesh_size_from_json(data.get("size"), where)
    if "embedded" not in data:
        return ProjectMesh(_mesh_from_json(data, path, where), None, size)
    where = f"embedded mesh {index + 1}"
    mesh = _embedded_mesh_from_json(_get(data, "embedded", dict, where), reader, where)
    if size is not None and MeshSize.of(mesh) != size:
        raise _Bad(f"{where}: it has {MeshSize.of(mesh)}, {MANIFEST} says {size}")
    return ProjectMesh("", mesh, MeshSize.of(mesh))


def _mesh_size_from_json(data: Any, where: str) -> MeshSize | None:
    if data is None:  # version 1
        return None
    where = f"{where} size"
    return MeshSize(_count(_get(data, "points", int, where), where), _count(_get(data, "cells", int, where), where))


def _count(value: int, where: str) -> int:
    if value < 0:
        raise _Bad(f"{where}: {value} is not a count")
    return value


def _embedded_mesh_from_json(data: dict, reader: _ArrayReader, where: str) -> Mesh:
    """Rebuild an embedded mesh through :meth:`Mesh.build`, which validates it like a mesh file."""
    points = reader.read(_get(data, "points", dict, where), f"{where} points")
    blocks = []
    for block in _get(data, "cells", list, where) + _get(data, "boundary", list, where, []):
        kind = _get(block, "type", str, where)
        blocks.append((kind, reader.read(_get(block, "connectivity", dict, where), f"{where} {kind} cells", "iu"),
                       reader.read(_get(block, "tags", dict, where), f"{where} {kind} tags", "iu")))
    names = {}
    for name, value in _get(data, "physical_names", dict, where, {}).items():
        if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
            raise _Bad(f"{where}: physical name '{name}' must be [tag, dimension]")
        names[name] = (value[0], value[1])
    try:
        return Mesh.build(points, blocks, physical_names=names, source="embedded in the project")
    except MeshError as error:
        raise _Bad(f"{where}: {error}") from None


def _run_from_json(data: Any, reader: _ArrayReader, where: str, sizes: list[MeshSize | None],
                   version: int) -> RunEntry:
    """A run; ``sizes`` are the project's meshes' sizes, which its fields must fit."""
    if not isinstance(data, dict):
        raise _Bad(f"{where} is not an object")
    name = _get(data, "name", str, where)
    where = f"run '{name}'"
    mesh = _get(data, "mesh", int, where) if version >= 3 else 0
    if not 0 <= mesh < len(sizes):
        raise _Bad(f"{where}: it names mesh {mesh + 1}, the project has {len(sizes)}")
    status_text = _get(data, "status", str, where)
    try:
        status = RunStatus(status_text)
    except ValueError:
        raise _Bad(f"{where}: unknown status '{status_text}'") from None
    log = [str(line) for line in _get(data, "log", list, where, [])]
    if not status.finished:  # written by hand or by another tool: never load a run as still going
        log.append(f"[warning] the project file said this run was {status.value}; it is loaded as cancelled")
        status = RunStatus.CANCELLED
    conditions = []
    for bc in _get(data, "boundary_conditions", list, where, []):
        if not isinstance(bc, dict):
            raise _Bad(f"{where}: a boundary condition is not an object")
        try:
            conditions.append(BoundaryCondition(_get(bc, "tag", str, where), _get(bc, "kind", str, where),
                                                _get(bc, "value", str, where, "0")))
        except WorkbenchError as error:
            raise _Bad(f"{where}: {error}") from None
    curves = {}
    for curve_name, curve in _get(data, "curves", dict, where, {}).items():
        steps = _get(curve, "steps", list, f"{where} curve '{curve_name}'")
        values = _get(curve, "values", list, f"{where} curve '{curve_name}'")
        if len(steps) != len(values):
            raise _Bad(f"{where}: curve '{curve_name}' has {len(steps)} steps for {len(values)} values")
        curves[curve_name] = [(_int(s, where), _float(v, where)) for s, v in zip(steps, values)]
    error = data.get("error")
    if error is not None and not isinstance(error, str):
        raise _Bad(f"{where}: 'error' must be text or null")
    run = Run(
        solver_id=_get(data, "solver_id", str, where),
        params=dict(_get(data, "params", dict, where, {})),
        status=status,
        # a generator: the run's frame store takes the frames one at a time, spilling beyond its budget
        frames=(_frame_from_json(frame, reader, where, sizes[mesh]) for frame in _get(data, "frames", list, where, [])),
        curves=curves,
        progress=_float(data.get("progress", 0.0), where),
        timings={str(k): _float(v, where) for k, v in _get(data, "timings", dict, where, {}).items()},
        metrics={str(k): _float(v, where) for k, v in _get(data, "metrics", dict, where, {}).items()},
        log=log,
        error=error,
    )
    return RunEntry(name, run, tuple(conditions), mesh)


def _frame_from_json(data: Any, reader: _ArrayReader, where: str, size: MeshSize | None) -> Frame:
    if not isinstance(data, dict):
        raise _Bad(f"{where}: a frame is not an object")
    index = _int(data.get("index"), where)
    where = f"{where} frame {index}"
    fields = {}
    for entry in _get(data, "fields", list, where):
        if not isinstance(entry, dict):
            raise _Bad(f"{where}: a field is not an object")
        key = _get(entry, "key", str, where)
        values = reader.read(_get(entry, "values", dict, where), f"{where} field '{key}'")
        times = entry.get("times")
        if times is not None:
            times = reader.read(_get(entry, "times", dict, where), f"{where} field '{key}' times")
        try:
            fields[key] = Field(_get(entry, "name", str, where, key), values,
                                _get(entry, "location", str, where, "point"), times,
                                _get(entry, "units", str, where, ""))
        except ValueError as error:
            raise _Bad(f"{where} field '{key}': {error}") from None
        _check_fits(fields[key], size, f"{where} field '{key}'")
    return Frame(index, _float(data.get("time"), where), fields)


def _check_fits(field_: Field, size: MeshSize | None, where: str) -> None:
    """A field has one value per point (or cell) of its mesh: a view would otherwise read past its end.

    Version 1 files recorded no size: :meth:`Project.mesh_mismatch` checks their
    fields against the mesh once it is opened.
    """
    if size is None:
        return
    expected = size.points if field_.location == "point" else size.cells
    found = field_.values.shape[1 if field_.is_series else 0]
    if found != expected:
        raise _Bad(f"{where}: {found} values per frame, its mesh has {expected} {field_.location}s")


def _array_refs(meshes: list, runs: list) -> Iterator[tuple[Any, str, bool]]:
    """Every array reference ``project.json`` makes, with where it is and whether a frame holds it, found leniently.

    This walk only sizes the arrays before any is read: it skips what is
    malformed, which the full reading (:func:`_run_from_json` and friends) then
    reports. The reader refuses any array this walk did not size, so the two
    walks cannot disagree without a refusal.
    """
    for i, mesh in enumerate(_dicts(meshes)):
        embedded = mesh.get("embedded")
        if isinstance(embedded, dict):
            where = f"embedded mesh {i + 1}"
            yield embedded.get("points"), f"{where} points", False
            for block in _dicts(embedded.get("cells")) + _dicts(embedded.get("boundary")):
                yield block.get("connectivity"), f"{where} cells", False
                yield block.get("tags"), f"{where} tags", False
    for i, run in enumerate(_dicts(runs)):
        name = f"'{run['name']}'" if isinstance(run.get("name"), str) else i + 1
        for frame in _dicts(run.get("frames")):
            for entry in _dicts(frame.get("fields")):
                where = f"run {name} frame {frame.get('index')} field '{entry.get('key')}'"
                yield entry.get("values"), where, True
                yield entry.get("times"), f"{where} times", True


def _dicts(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


@dataclass(frozen=True)
class _Declared:
    """An array as ``project.json`` declares it."""

    member: str
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def allocated(self) -> int:
        """Bytes once loaded: fields and mesh points become float64, indices int64."""
        return math.prod(self.shape) * max(self.dtype.itemsize, _ALLOCATED_ITEMSIZE)


class _ArrayReader:
    """Reads the ``.npy`` members, each once, checked against what ``project.json`` declares.

    Built from every reference the manifest makes, it refuses before reading any
    array: a member missing, a declared array larger than its member, a member
    named by more than one array (two hundred fields naming one 60 MB member
    would take 12 GB), and a total that does not fit in the memory available.
    Frames count only up to the frame store's memory budget: the runs' stores
    spill the rest to disk as they are loaded. Each read then checks the
    member's own header against the declaration and its length exactly, so what
    is allocated is what was budgeted.
    """

    def __init__(self, archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo],
                 refs: Iterator[tuple[Any, str, bool]], already_needed: int = 0) -> None:
        self.archive = archive
        self.infos = infos
        declared = [(self._declared(ref, where), in_frame) for ref, where, in_frame in refs if isinstance(ref, dict)]
        _refuse_shared_members([d for d, _ in declared])
        self.unread: dict[str, _Declared] = {d.member: d for d, _ in declared}
        in_frames = sum(d.allocated for d, in_frame in declared if in_frame)
        elsewhere = sum(d.allocated for d, in_frame in declared if not in_frame)
        # a member is held as read until its float64 copy exists: the largest one counts twice
        largest = max((d.nbytes for d, _ in declared), default=0)
        need = already_needed + elsewhere + min(in_frames, frame_store.default_budget().limit_bytes) + largest
        require_memory(need, f"opening its {len(declared)} arrays")

    def _declared(self, ref: dict, where: str) -> _Declared:
        member = _get(ref, "member", str, where)
        shape = _get(ref, "shape", list, where)
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise _Bad(f"{where}: shape {shape} is not a list of sizes")
        dtype = _plain_dtype(_get(ref, "dtype", str, where), member, where)
        info = self.infos.get(member)
        if info is None:
            raise _Bad(f"{where}: member '{member}' is missing from the archive")
        declared = _Declared(member, tuple(shape), dtype)
        if declared.nbytes > info.file_size:
            raise _Bad(f"{where}: '{member}' is truncated ({MANIFEST} declares {format_bytes(declared.nbytes)}, "
                       f"the member holds {format_bytes(info.file_size)})")
        return declared

    def read(self, ref: dict, where: str, kinds: str = "biuf") -> np.ndarray:
        """The array ``ref`` names; ``kinds`` are the dtype kinds accepted (plain numbers only)."""
        declared = self._declared(ref, where)
        if self.unread.pop(declared.member, None) != declared:
            raise _Bad(f"{where}: '{declared.member}' was not sized before reading")  # the walks disagree: a bug
        if declared.dtype.kind not in kinds:
            raise _Bad(f"{where}: '{declared.member}' holds {declared.dtype} values, integers are expected")
        info = self.infos[declared.member]
        with self.archive.open(info) as stream:
            shape, dtype = _npy_header(stream, declared.member, where)
            data_bytes = info.file_size - stream.tell()
        _check_header(declared, shape, dtype, data_bytes, where)
        with self.archive.open(info) as stream:
            try:
                array = np.load(stream, allow_pickle=False)
            except ValueError as error:
                raise _Bad(f"{where}: cannot read '{declared.member}': {error}") from None
        if not isinstance(array, np.ndarray) or array.shape != declared.shape:
            raise _Bad(f"{where}: '{declared.member}' is not the array {MANIFEST} describes")
        return array


def _refuse_shared_members(declared: list[_Declared]) -> None:
    counts = Counter(d.member for d in declared)
    member, count = counts.most_common(1)[0] if counts else ("", 0)
    if count > 1:
        raise _Bad(f"'{member}' is named by {count} arrays in {MANIFEST}; each array is stored once")


def _plain_dtype(text: str, member: str, where: str) -> np.dtype:
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError, SyntaxError):
        raise _Bad(f"{where}: '{member}' has no valid dtype ({text!r})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        raise _Bad(f"{where}: refusing '{member}' of dtype {dtype} (only plain numbers are allowed)")
    return dtype


def _check_header(declared: _Declared, shape: tuple[int, ...], dtype: np.dtype, data_bytes: int, where: str) -> None:
    """The member's own header must say what ``project.json`` says, and its data must be exactly that long."""
    member = declared.member
    if dtype != declared.dtype:
        raise _Bad(f"{where}: '{member}' holds {dtype} values, {MANIFEST} says {declared.dtype}")
    if shape != declared.shape:
        raise _Bad(f"{where}: '{member}' has shape {shape}, {MANIFEST} says {declared.shape}")
    if data_bytes < declared.nbytes:
        raise _Bad(f"{where}: '{member}' is truncated ({data_bytes} of {declared.nbytes} bytes)")
    if data_bytes > declared.nbytes:
        raise _Bad(f"{where}: '{member}' has {data_bytes - declared.nbytes} bytes more than its shape holds")


def _npy_header(stream, member: str, where: str) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (zipfile.BadZipFile, OSError, zlib.error):  # the archive itself is damaged: load_project says so
        raise
    except Exception as error:  # noqa: BLE001 - numpy parses the header with ast: SyntaxError, TokenError, ...
        raise _Bad(f"{where}: '{member}' is not a valid .npy array: {_one_line(error)}") from None
    return tuple(shape), dtype


def _mesh_from_json(data: dict, project_path: Path, where: str) -> str:
    if "sample" in data:
        return _get(data, "sample", str, where)
    stored = _get(data, "path", str, where)
    if not _get(data, "relative", bool, where, False):
        return stored
    candidate = os.path.normpath(os.path.join(os.path.abspath(project_path.parent), stored))
    absolute = data.get("absolute")
    if not os.path.exists(candidate) and isinstance(absolute, str) and os.path.exists(absolute):
        return absolute  # the project moved away from its mesh, which is still where it was
    return candidate


_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def _safe_member_name(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or _WINDOWS_DRIVE.match(name):
        return False
    return all(part not in ("", ".", "..") for part in name.rstrip("/").split("/"))


def _get(data: Any, key: str, kind: type, where: str, default: Any = ...) -> Any:
    if not isinstance(data, dict):
        raise _Bad(f"{where} is not an object")
    if key not in data:
        if default is ...:
            raise _Bad(f"{where}: '{key}' is missing in {MANIFEST}")
        return default
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Bad(f"{where}: '{key}' must be {_KIND_NAMES.get(kind, kind.__name__)}, not {type(value).__name__}")
    return value


_KIND_NAMES = {str: "text", list: "a list", dict: "an object", int: "an integer", bool: "true or false"}


def _int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Bad(f"{where}: expected an integer, got {value!r}")
    return value


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"{where}: expected a number, got {value!r}")
    return float(value)


def _unplain(obj: dict) -> Any:
    if len(obj) == 1 and "$float" in obj:
        text = obj["$float"]
        if text in ("nan", "inf", "-inf"):
            return float(text)
    return obj


#: A message quotes values from the file; a 10,000-character one is shown by its start.
MAX_MESSAGE_CHARACTERS = 500


def _one_line(error: BaseException | str) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= MAX_MESSAGE_CHARACTERS else text[: MAX_MESSAGE_CHARACTERS - 3] + "..."
