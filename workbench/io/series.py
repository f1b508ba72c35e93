"""Run series on disk: VTU frames tied together by a ParaView PVD collection, replaced whole or not at all.

A series NAME in the folder OUT is::

    OUT/NAME.pvd                                      times and file names (ParaView, vtkXMLCollectionReader)
    OUT/NAME.20250611T101500-3fa2c1/NAME_000000.vtu   one VTU a frame (meshio, VTK), in this version's folder

:class:`SeriesWriter` writes a new version beside the current one and swaps:

1. frames stream into a hidden staging folder,
   ``.NAME.<stamp>.pdewb-HOST-PID-RANDOM.partial``, as they come (each flushed to disk);
2. when the run ends the staging folder is renamed ``NAME.<stamp>``;
3. ``NAME.pvd`` is replaced atomically (:mod:`workbench.io.atomic`): the one
   moment at which the new series becomes the series;
4. the previous version's frames are removed: the VTUs named ``NAME_NNNNNN.vtu``
   in other ``NAME.<stamp>`` folders (then each folder, if nothing else is in it),
   and the ``NAME_NNNNNN.vtu`` of the older flat layout that the old PVD named.

So at every instant, ``kill -9`` included, ``NAME.pvd`` names a complete series of
one run: the previous one until step 3, the new one from then on. What a kill
leaves behind (the staging folder of a dead process, a version folder that no
PVD names) is removed by the next writer of NAME in that folder. A full disk
while streaming removes the staging folder and says after how many frames it
happened; the previous series is untouched. Files in OUT that are not a series'
own are never touched, nor anything a crafted PVD names outside OUT.

An existing ``NAME.pvd`` is replaced only with ``overwrite=True``. One writer at a
time holds a series (:func:`~.locks.output_lock` on ``NAME.pvd``, for the whole
run); writers of other names in the same folder do not wait for each other.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from xml.etree import ElementTree
from xml.parsers import expat

import numpy as np

from ..core.errors import WorkbenchError
from ..core.events import Frame
from ..core.interrupts import deferred_interrupts
from ..core.mesh import Mesh
from .atomic import (
    OutputError,
    atomic_path,
    atomic_write_text,
    check_output_target,
    describe_os_error,
    ensure_folder,
    fsync_file,
    fsync_folder,
    remove_stale_temporaries,
    temporary_name,
)
from .locks import output_lock

#: A PVD lists a few hundred bytes a frame: 64 MiB is half a million frames. Larger is not a PVD of ours.
PVD_SIZE_LIMIT = 64 << 20


class SeriesError(WorkbenchError):
    """A PVD collection cannot be read, or a frame cannot become part of a series."""


class SeriesExists(OutputError):
    """The series is there already and replacing it was not asked for."""


def to_meshio(mesh: Mesh, frame: Frame | None = None):
    """A meshio.Mesh of the domain, with the frame's fields as point/cell data.

    Raises :class:`SeriesError` for a field whose length is not the mesh's number of points or cells.
    """
    import meshio

    points = mesh.points
    if points.shape[1] < 3:  # VTK formats store 3D points
        points = np.hstack([points, np.zeros((len(points), 3 - points.shape[1]))])
    cells = [(block.type, np.asarray(block.connectivity)) for block in mesh.cells]
    point_data, cell_data = {}, {}
    if frame is not None:
        offsets = np.cumsum([0] + [len(block) for block in mesh.cells])
        for name, field in frame.fields.items():
            expected = mesh.n_points if field.location == "point" else mesh.n_cells
            if field.values.ndim == 0 or len(field.values) != expected:
                raise SeriesError(f"field '{name}' of frame {frame.index} has {field.values.shape} values "
                                  f"for {expected} mesh {field.location}s")
            if field.location == "point":
                point_data[name] = np.asarray(field.values)
            else:
                cell_data[name] = [np.asarray(field.values[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
    if mesh.cell_tags.any():
        cell_data["region"] = [np.asarray(block.tags) for block in mesh.cells]
    return meshio.Mesh(points, cells, point_data=point_data, cell_data=cell_data)


def write_vtu(path: str | Path, mesh: Mesh, frame: Frame | None = None) -> Path:
    """One VTU file, written atomically."""
    import meshio

    path = Path(path)
    with atomic_path(path) as temporary:
        meshio.write(temporary, to_meshio(mesh, frame), file_format="vtu")
    return path


def write_pvd_series(directory: str | Path, name: str, mesh: Mesh, frames: Sequence[Frame],
                     overwrite: bool = False) -> Path:
    """Write every frame and the PVD index as one new series (see :class:`SeriesWriter`); returns the PVD path."""
    with SeriesWriter(directory, name, mesh, overwrite=overwrite) as series:
        for frame in frames:
            series.add(frame)
        return series.commit()


class SeriesWriter:
    """Streams one run's frames beside the current series; :meth:`commit` makes them the series.

    Use as a context manager: entering checks the output, refuses an existing
    series without ``overwrite`` (before any work is done) and takes the series'
    lock; leaving without :meth:`commit` removes what was written and leaves the
    previous series as it was. Raises :class:`~.atomic.OutputError` (one line) for
    outputs that cannot be written; after a failed :meth:`add` the writer is spent
    (``failure`` holds the error) and the previous series is unchanged.
    """

    def __init__(self, directory: str | Path, name: str, mesh: Mesh, *, overwrite: bool = False,
                 what: str = "pdewb") -> None:
        _check_series_name(name)
        self.directory = Path(directory)
        self.name = name
        self.mesh = mesh
        self.pvd = self.directory / f"{name}.pvd"
        self.overwrite = overwrite
        self.what = what
        self.failure: OutputError | None = None
        self._entries: list[tuple[float, str]] = []
        self._stack = contextlib.ExitStack()
        self._had_previous = False
        self._version = self._staging = Path()
        self._committed = False
        self._created_directory = False

    @property
    def frames(self) -> int:
        """How many frames are written so far."""
        return len(self._entries)

    def __enter__(self) -> SeriesWriter:
        check_output_target(self.pvd)
        self._created_directory = not os.path.lexists(self.directory)
        ensure_folder(self.directory)
        self._stack.enter_context(output_lock(self.pvd, self.what))
        try:
            self._had_previous = os.path.lexists(self.pvd)
            if self._had_previous and not self.overwrite:
                raise SeriesExists(f"{self.pvd} already exists")
            remove_stale_temporaries(self.directory, force=True)  # a killed writer's staging folder
            self._version = self._free_version_name()
            self._staging = temporary_name(self._version, kind="partial")
            try:
                os.mkdir(self._staging)
            except OSError as error:
                raise OutputError(f"cannot write into {self.directory}: {describe_os_error(error)}") from None
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            if not self._committed:
                with deferred_interrupts():
                    self._discard()
        finally:
            self._stack.close()
            if self._created_directory and not self._committed:
                with contextlib.suppress(OSError):  # not empty (someone else wrote there): it stays
                    os.rmdir(self.directory)  # a run that wrote nothing leaves no empty output folder

    def add(self, frame: Frame) -> None:
        """Write ``frame`` as the next VTU of the new version (flushed to disk before returning).

        SIGINT and SIGTERM wait until the frame is whole, so every frame a run
        recorded before an interruption can be kept. A full disk (or any OS error)
        raises :class:`~.atomic.OutputError` saying after how many frames.
        """
        import meshio

        if self.failure is not None:
            raise self.failure
        if not math.isfinite(frame.time):
            raise SeriesError(f"frame {frame.index} has the time {frame.time}; a series needs finite times")
        data = to_meshio(self.mesh, frame)
        file_name = f"{self.name}_{len(self._entries):06d}.vtu"
        path = self._staging / file_name
        with deferred_interrupts():  # a signal waits until the frame is written and counted
            try:
                meshio.write(path, data, file_format="vtu")
                fsync_file(path)
            except OSError as error:
                self._fail(error)
                raise self.failure from error
            except BaseException:
                with contextlib.suppress(OSError):
                    path.unlink()
                raise
            self._entries.append((float(frame.time), f"{self._version.name}/{file_name}"))

    def commit(self) -> Path:
        """Make the frames written the series: rename their folder, replace the PVD, remove the old frames."""
        if self.failure is not None:
            raise self.failure
        with deferred_interrupts():  # all of it, or (until the PVD is replaced) none of it
            flat = self._flat_frames_of_previous()
            published = self._publish()
            try:
                atomic_write_text(self.pvd, pvd_text(self._entries))
            except BaseException:
                if published:
                    shutil.rmtree(self._version, ignore_errors=True)
                raise
            self._committed = True
            self._remove_previous(flat)
        return self.pvd

    # -- steps ------------------------------------------------------------------------------

    def _free_version_name(self) -> Path:
        while True:
            stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
            version = self.directory / f"{self.name}.{stamp}"
            if not os.path.lexists(version):
                return version

    def _fail(self, error: OSError) -> None:
        self._discard()
        previous = "the previous series is unchanged" if self._had_previous else "nothing was kept"
        reason = describe_os_error(error)
        self.failure = OutputError(f"cannot write the series {self.pvd}: {reason} after {self.frames} frame(s); "
                                   f"{previous}", reason)

    def _discard(self) -> None:
        shutil.rmtree(self._staging, ignore_errors=True)

    def _publish(self) -> bool:
        """Give the staging folder its visible name (durably); False when there is no frame to publish."""
        if not self._entries:
            self._discard()
            return False
        try:
            fsync_folder(self._staging)
            os.rename(self._staging, self._version)
        except OSError as error:
            raise OutputError(f"cannot write the series {self.pvd}: {describe_os_error(error)}; "
                              "the previous series is unchanged") from None
        fsync_folder(self.directory)
        return True

    def _flat_frames_of_previous(self) -> list[str]:
        """The files of the older flat layout (``NAME_NNNNNN.vtu`` beside the PVD) that the old PVD names."""
        if not self._had_previous:
            return []
        try:
            entries = pvd_entries(self.pvd)
        except (SeriesError, OSError):  # not a collection we can read: nothing of it is removed
            return []
        frame = _frame_file(self.name)
        return [file for _, file in entries if frame.fullmatch(file)]

    def _remove_previous(self, flat: list[str]) -> None:
        """Remove the frames of earlier versions; a file that cannot be removed is left, harmlessly."""
        for file in flat:
            _remove_regular_file(self.directory / file)
        version = re.compile(re.escape(self.name) + r"\.\d{8}T\d{6}-[0-9a-f]{6}")
        with contextlib.suppress(OSError), os.scandir(self.directory) as entries:
            for entry in entries:
                if (version.fullmatch(entry.name) and entry.name != self._version.name
                        and entry.is_dir(follow_symlinks=False)):
                    self._remove_version(Path(entry.path))

    def _remove_version(self, folder: Path) -> None:
        frame = _frame_file(self.name)
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                if frame.fullmatch(entry.name):
                    _remove_regular_file(Path(entry.path))
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty: a file of the user's keeps it


def pvd_text(entries: Sequence[tuple[float, str]]) -> str:
    root = ElementTree.Element("VTKFile", type="Collection", version="0.1", byte_order="LittleEndian")
    collection = ElementTree.SubElement(root, "Collection")
    for time_value, file_name in entries:
        ElementTree.SubElement(collection, "DataSet", timestep=repr(float(time_value)), group="", part="0",
                               file=file_name)
    ElementTree.indent(root)
    return '<?xml version="1.0"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def read_pvd(path: str | Path) -> list[tuple[float, Path]]:
    """(time, VTU path) pairs of a PVD collection, in file order. See :func:`pvd_entries` for what is refused."""
    path = Path(path)
    return [(time_value, path.parent / file) for time_value, file in pvd_entries(path)]


def pvd_entries(path: str | Path) -> list[tuple[float, str]]:
    """(time, file as written) of each DataSet of a PVD collection.

    Raises :class:`SeriesError` in one line for anything that is not a regular
    file of at most :data:`PVD_SIZE_LIMIT` bytes holding a ``VTKFile`` collection, for
    a document type declaration (entities could expand a small file into gigabytes),
    and for a DataSet without a file or with a non-finite time. Read in pieces:
    memory grows with the entries, not with the file.
    """
    path = Path(path)
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open
    except OSError as error:
        raise SeriesError(f"cannot read {path}: {describe_os_error(error)}") from None
    with open(handle, "rb") as stream:
        status = os.fstat(stream.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise SeriesError(f"{path}: not a regular file")
        if status.st_size > PVD_SIZE_LIMIT:
            raise SeriesError(f"{path}: {status.st_size} bytes is too large for a PVD collection "
                              f"(at most {PVD_SIZE_LIMIT} bytes)")
        return _parse_pvd(stream, path)


def _parse_pvd(stream, path: Path) -> list[tuple[float, str]]:
    entries: list[tuple[float, str]] = []
    elements = 0

    def refuse_declaration(*_) -> None:
        raise SeriesError(f"{path}: a PVD collection has no document type declaration; refusing this one")

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal elements
        elements += 1
        if elements == 1 and (tag != "VTKFile" or attributes.get("type") != "Collection"):
            raise SeriesError(f"{path}: not a PVD collection (its root is <{tag}>, not <VTKFile type=\"Collection\">)")
        if tag == "DataSet":
            entries.append(_data_set(attributes, path, len(entries)))

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse_declaration
    parser.EntityDeclHandler = refuse_declaration
    parser.StartElementHandler = start
    try:
        while chunk := stream.read(1 << 20):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as error:
        raise SeriesError(f"{path}: not a PVD collection ({expat.ErrorString(error.code)}, "
                          f"line {error.lineno})") from None
    if elements == 0:
        raise SeriesError(f"{path}: not a PVD collection (empty)")
    return entries


def _data_set(attributes: dict[str, str], path: Path, number: int) -> tuple[float, str]:
    file = attributes.get("file", "")
    if not file:
        raise SeriesError(f"{path}: DataSet {number} names no file")
    text = attributes.get("timestep", "0")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise SeriesError(f"{path}: DataSet {number} has the time {text!r}, not a finite number")
    return value, file


def _check_series_name(name: str) -> None:
    """A series name is one plain file name: no folder, not hidden (hidden names are temporaries')."""
    if not name or name in (".", "..") or name.startswith(".") or "/" in name or os.sep in name or "\0" in name:
        raise SeriesError(f"'{name}' cannot name a series: give a plain file name, not hidden and without a folder")


def _frame_file(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(name) + r"_\d{6,}\.vtu")


def _remove_regular_file(path: Path) -> None:
    """Unlink ``path`` if it is a regular file (lstat: a link or a folder of that name is not ours)."""
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.lstat(path).st_mode):
            path.unlink()
