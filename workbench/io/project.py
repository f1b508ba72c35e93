"""Project files: the mesh and the runs made on it, in one ``.pdewb`` file.

A project file is a zip archive holding

- ``project.json``: the format name and integer version, the mesh (a reference
  to a file or sample, or the mesh itself for a solver's own grid) with its size,
  and every run's metadata (solver, parameters, boundary conditions, status,
  error, log, timings, metrics, curves, and for each frame its index, time and
  fields);
- ``arrays/NNNNNN.npy``: one array per field and frame (and per embedded mesh
  array), written with ``np.save(..., allow_pickle=False)``. Nothing in the
  archive is ever pickled.

Sketch of ``project.json`` (format version 2)::

    {
      "format": "pdewb-project", "version": 2,
      "created_with": "0.1.0", "saved_with": "0.1.0", "title": "",
      "mesh": {"sample": "sample:plate-with-hole", "size": {"points": 2268, "cells": 4208}}
           or {"path": "meshes/plate.msh", "relative": true, "absolute": "/home/me/proj/meshes/plate.msh",
               "size": {"points": 2268, "cells": 4208}}
           or {"embedded": {"points": {"member": "arrays/000000.npy", ...},
                            "cells": [{"type": "triangle", "connectivity": {...}, "tags": {...}}],
                            "boundary": [{"type": "line", "connectivity": {...}, "tags": {...}}],
                            "physical_names": {"left": [1, 1]}},
               "size": {"points": 289, "cells": 512}},
      "runs": [{
        "name": "fem.heat #1", "solver_id": "fem.heat",
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

Version 2 added the mesh's ``size`` and embedded meshes; version 1 files (no
size, always a reference) load unchanged. Files of a newer version are refused
with a message naming it: an older workbench cannot know what they hold.

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

Saving is atomic (:func:`workbench.io.atomic.atomic_path`): a crash or a full
disk mid-save leaves the previous file intact. It comes in two steps so that a
GUI can write on another thread: :func:`prepare_save` takes the snapshot (cheap:
metadata and references to the read-only arrays) and :func:`write_prepared`
does the file work. Every problem reading a file raises :class:`ProjectError`
with a one-line message naming the file.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from .. import __version__
from ..core.errors import MeshError, WorkbenchError
from ..core.events import Frame
from ..core.field import Field
from ..core.mesh import Mesh
from ..core.problem import BoundaryCondition
from ..core.run import Run, RunStatus
from .atomic import OutputError, atomic_path

FORMAT_NAME = "pdewb-project"
FORMAT_VERSION = 2  # 2: the mesh's size, embedded meshes
PROJECT_SUFFIX = ".pdewb"
MANIFEST = "project.json"
SAMPLE_PREFIX = "sample:"
MAX_PARENT_HOPS = 2  # a mesh at most this many folders above the project is stored relative
_MAX_MANIFEST_BYTES = 256 * 1024 * 1024
_ZIP64_ABOVE = 1 << 30  # bytes: larger arrays get a zip64 entry (their size is not known up front)


class ProjectError(WorkbenchError):
    """A project file cannot be read, is damaged, or was written by a newer version."""


@dataclass
class RunEntry:
    """One run of a project: its user-visible label, the run record and its boundary conditions."""

    name: str
    run: Run
    boundary_conditions: tuple[BoundaryCondition, ...] = ()

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
class Project:
    """A mesh and the runs made on it.

    ``mesh`` is a reference (a path or ``sample:ID``, as the user opened it).
    A solver's own grid has no file to refer to: it travels in the project as
    ``embedded_mesh`` (and ``mesh`` is empty). ``mesh_size`` is what was saved
    (None for version 1 files); saving fills it in from ``embedded_mesh``.
    """

    mesh: str
    runs: list[RunEntry] = field(default_factory=list)
    title: str = ""
    created_with: str = __version__
    embedded_mesh: Mesh | None = None
    mesh_size: MeshSize | None = None

    def mesh_mismatch(self, mesh: Mesh) -> str | None:
        """Why ``mesh`` cannot be this project's mesh, or None if it can.

        The size recorded in the file must match, and every run's fields must fit
        the mesh (which also covers version 1 files, which recorded no size).
        """
        size = MeshSize.of(mesh)
        if self.mesh_size is not None and size != self.mesh_size:
            return f"it has {size}; the project's mesh had {self.mesh_size}"
        for entry in self.runs:
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
    """A project as it will be written: the manifest bytes and the arrays it names.

    The arrays are the runs' (read-only) field arrays themselves, not copies, so
    preparing is cheap and the result can be written on any thread.
    """

    path: Path
    manifest: bytes
    arrays: tuple[tuple[str, np.ndarray], ...]
    compress: bool = False

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for _, array in self.arrays)


def prepare_save(path: str | Path, project: Project, *, compress: bool = False) -> PreparedSave:
    """The snapshot :func:`write_prepared` writes; raises :class:`ProjectError` for data a file cannot hold.

    Take it where the runs are owned (the GUI thread): it copies the runs' lists
    while nothing else changes them.
    """
    path = Path(path)
    arrays: list[tuple[str, np.ndarray]] = []
    manifest = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "created_with": str(project.created_with),
        "saved_with": __version__,
        "title": str(project.title),
        "mesh": _mesh_to_json(project, path, arrays),
        "runs": [_run_to_json(entry, arrays) for entry in project.runs],
    }
    try:
        text = json.dumps(_plain(manifest, "project"), indent=1, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise ProjectError(f"{path.name}: cannot save: {_one_line(error)}") from None
    return PreparedSave(path, text.encode("utf-8"), tuple(arrays), compress)


def write_prepared(prepared: PreparedSave) -> Path:
    """Write a prepared project atomically (only numpy and bytes are touched: any thread may call it)."""
    path = prepared.path
    array_compression = zipfile.ZIP_DEFLATED if prepared.compress else zipfile.ZIP_STORED
    now = time.localtime()[:6]
    try:
        with atomic_path(path) as temporary, zipfile.ZipFile(temporary, "w", allowZip64=True) as archive:
            archive.writestr(MANIFEST, prepared.manifest, compress_type=zipfile.ZIP_DEFLATED)
            for member, array in prepared.arrays:
                info = zipfile.ZipInfo(member, date_time=now)
                info.compress_type = array_compression
                info.external_attr = 0o644 << 16
                with archive.open(info, "w", force_zip64=array.nbytes > _ZIP64_ABOVE) as stream:
                    np.save(stream, array, allow_pickle=False)
    except OutputError as error:  # a full disk, a read-only folder: the previous file is intact
        raise ProjectError(f"{path.name}: cannot save: {error.reason}; the previous file is unchanged") from error
    except OSError as error:
        raise ProjectError(f"{path.name}: cannot save: {_one_line(error)}") from error
    return path


def _add_array(arrays: list[tuple[str, np.ndarray]], array: np.ndarray) -> dict:
    """Queue ``array`` for writing; returns its reference in ``project.json``."""
    array = np.asarray(array)
    member = f"arrays/{len(arrays):06d}.npy"
    arrays.append((member, array))
    return {"member": member, "dtype": array.dtype.str, "shape": list(array.shape)}


def _run_to_json(entry: RunEntry, arrays: list[tuple[str, np.ndarray]]) -> dict:
    run = entry.run
    # copy the containers first: a run still going appends to them from another thread
    frames = list(run.frames)
    curves = {name: list(points) for name, points in dict(run.curves).items()}
    log = list(run.log)
    status = RunStatus(run.status)
    saved_while = None
    if not status.finished:
        saved_while = status.value
        status = RunStatus.CANCELLED
        log.append(f"[warning] the project was saved while this run was {saved_while}; it is stored as cancelled")

    def add(array: np.ndarray) -> dict:
        return _add_array(arrays, array)

    return {
        "name": str(entry.name),
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
        "frames": [
            {
                "index": int(frame.index),
                "time": float(frame.time),
                "fields": [
                    {
                        "key": str(key),
                        "name": f.name,
                        "location": f.location,
                        "units": f.units,
                        "values": add(f.values),
                        "times": None if f.times is None else add(f.times),
                    }
                    for key, f in frame.fields.items()
                ],
            }
            for frame in frames
        ],
    }


def _mesh_to_json(project: Project, project_path: Path, arrays: list[tuple[str, np.ndarray]]) -> dict:
    size = project.mesh_size
    if project.embedded_mesh is not None:
        size = MeshSize.of(project.embedded_mesh)
        data = {"embedded": _embedded_mesh_to_json(project.embedded_mesh, arrays)}
    else:
        data = _reference_to_json(str(project.mesh), project_path)
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
    """Read a project file; raises :class:`ProjectError` on any problem."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            return _read(archive, path)
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
    except _Bad as error:
        raise ProjectError(f"{path.name}: {_one_line(error)}") from None
    except MemoryError:
        raise ProjectError(f"{path.name}: not enough memory to load the project") from None
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError) as error:
        raise ProjectError(f"{path.name}: cannot read: {_one_line(error)}") from None


def _starts_like_a_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _read(archive: zipfile.ZipFile, path: Path) -> Project:
    infos = {}
    for info in archive.infolist():
        if not _safe_member_name(info.filename):
            raise _Bad(f"refusing unsafe member name '{info.filename}' in the archive")
        if info.filename in infos:
            raise _Bad(f"duplicate member '{info.filename}' in the archive")
        infos[info.filename] = info
    if MANIFEST not in infos:
        raise _Bad(f"not a PDE Workbench project (no {MANIFEST} in the archive)")
    if infos[MANIFEST].file_size > _MAX_MANIFEST_BYTES:
        raise _Bad(f"{MANIFEST} is implausibly large ({infos[MANIFEST].file_size} bytes)")
    try:
        data = json.loads(archive.read(MANIFEST).decode("utf-8"), object_hook=_unplain)
    except (UnicodeDecodeError, ValueError) as error:
        raise _Bad(f"{MANIFEST} is not valid JSON: {error}") from None
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
    reader = _ArrayReader(archive, infos)
    runs = _get(data, "runs", list, "project")
    mesh = _get(data, "mesh", dict, "project")
    embedded = _embedded_mesh_from_json(_get(mesh, "embedded", dict, "mesh"), reader) if "embedded" in mesh else None
    return Project(
        mesh="" if embedded is not None else _mesh_from_json(mesh, path),
        runs=[_run_from_json(run, reader, f"run {i + 1}") for i, run in enumerate(runs)],
        title=_get(data, "title", str, "project", ""),
        created_with=_get(data, "created_with", str, "project", "unknown"),
        embedded_mesh=embedded,
        mesh_size=_mesh_size_from_json(mesh.get("size")),
    )


def _mesh_size_from_json(data: Any) -> MeshSize | None:
    if data is None:  # version 1
        return None
    return MeshSize(_count(_get(data, "points", int, "mesh size"), "mesh size"),
                    _count(_get(data, "cells", int, "mesh size"), "mesh size"))


def _count(value: int, where: str) -> int:
    if value < 0:
        raise _Bad(f"{where}: {value} is not a count")
    return value


def _embedded_mesh_from_json(data: dict, reader: _ArrayReader) -> Mesh:
    """Rebuild an embedded mesh through :meth:`Mesh.build`, which validates it like a mesh file."""
    where = "embedded mesh"
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


def _run_from_json(data: Any, reader: _ArrayReader, where: str) -> RunEntry:
    if not isinstance(data, dict):
        raise _Bad(f"{where} is not an object")
    name = _get(data, "name", str, where)
    where = f"run '{name}'"
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
        frames=[_frame_from_json(frame, reader, where) for frame in _get(data, "frames", list, where, [])],
        curves=curves,
        progress=_float(data.get("progress", 0.0), where),
        timings={str(k): _float(v, where) for k, v in _get(data, "timings", dict, where, {}).items()},
        metrics={str(k): _float(v, where) for k, v in _get(data, "metrics", dict, where, {}).items()},
        log=log,
        error=error,
    )
    return RunEntry(name, run, tuple(conditions))


def _frame_from_json(data: Any, reader: _ArrayReader, where: str) -> Frame:
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
    return Frame(index, _float(data.get("time"), where), fields)


class _ArrayReader:
    """Reads the ``.npy`` members, checking them against what ``project.json`` declares."""

    def __init__(self, archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> None:
        self.archive = archive
        self.infos = infos

    def read(self, ref: dict, where: str, kinds: str = "biuf") -> np.ndarray:
        """The array ``ref`` names; ``kinds`` are the dtype kinds accepted (plain numbers only)."""
        member = _get(ref, "member", str, where)
        shape = _get(ref, "shape", list, where)
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise _Bad(f"{where}: shape {shape} is not a list of sizes")
        shape = tuple(shape)
        info = self.infos.get(member)
        if info is None:
            raise _Bad(f"{where}: member '{member}' is missing from the archive")
        with self.archive.open(info) as stream:
            header_shape, dtype = _npy_header(stream, member, where)
        if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biuf":
            raise _Bad(f"{where}: refusing '{member}' of dtype {dtype} (only plain numbers are allowed)")
        if dtype.kind not in kinds:
            raise _Bad(f"{where}: '{member}' holds {dtype} values, integers are expected")
        if header_shape != shape:
            raise _Bad(f"{where}: '{member}' has shape {header_shape}, project.json says {shape}")
        if math.prod(shape) * dtype.itemsize > info.file_size:
            raise _Bad(f"{where}: '{member}' is truncated")
        with self.archive.open(info) as stream:
            try:
                array = np.load(stream, allow_pickle=False)
            except ValueError as error:
                raise _Bad(f"{where}: cannot read '{member}': {error}") from None
        if not isinstance(array, np.ndarray) or array.shape != shape:
            raise _Bad(f"{where}: '{member}' is not the array project.json describes")
        return array


def _npy_header(stream, member: str, where: str) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, EOFError) as error:
        raise _Bad(f"{where}: '{member}' is not a valid .npy array: {_one_line(error)}") from None
    return tuple(shape), dtype


def _mesh_from_json(data: dict, project_path: Path) -> str:
    if "sample" in data:
        return _get(data, "sample", str, "mesh")
    stored = _get(data, "path", str, "mesh")
    if not _get(data, "relative", bool, "mesh", False):
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


def _one_line(error: BaseException | str) -> str:
    return " ".join(str(error).split())
