"""A run's frames under a memory budget: the newest in memory, older ones spilled to an anonymous file.

A long run (``dt=1e-12``, a GUI left running overnight) produces frames faster
than anyone looks at them, and a list of frames grows until the machine swaps.
:class:`FrameStore` is what :attr:`Run.frames <workbench.core.run.Run.frames>`
holds. It behaves like the list it replaces (``len``, indexing with negative
indices and slices, iteration, ``append``, ``list(store)``, ``==`` with a list)
and keeps the newest frames in memory as long as the frames of every store that
shares its :class:`MemoryBudget` fit in it; the oldest ones beyond it go to a
temporary file and are read back when asked for. Guarantees:

* **Nothing is left on disk.** The spill file is a :func:`tempfile.TemporaryFile`,
  unlinked as it is created (``O_TMPFILE`` on Linux): it disappears with the
  store or the process, ``kill -9`` included.
* **Nothing is pickled.** Only the raw float64 values go to the file; names,
  shapes, indices and times stay in memory (a few tens of bytes a spilled frame),
  so ``len`` and :meth:`FrameStore.times` never touch the disk.
* **Thread-safe.** A compute thread appends while the GUI thread reads; every
  store of a budget shares the budget's lock.
* **Frames read back are equal, not identical**: a new :class:`Frame` with the same values.
* **Nothing is lost.** A spill that fails (the temporary folder is full) raises
  :class:`SpillError` from ``append`` and keeps the frame in memory.

The budget is ``PDEWB_FRAME_MEMORY_MB`` megabytes (``0`` keeps no frame in
memory), else an eighth of the physical memory or of the container's limit,
which leaves room for the mesh, VTK and torch beside several runs. Spilled frames
go to the temporary folder (``TMPDIR``); where that is a RAM disk (tmpfs), point
``TMPDIR`` at a disk for the spill to save memory.
"""

from __future__ import annotations

import itertools
import math
import operator
import os
import tempfile
import threading
import weakref
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np

from .errors import ParamError, WorkbenchError
from .events import Frame
from .field import Field
from .memory import physical_memory

MEMORY_VARIABLE = "PDEWB_FRAME_MEMORY_MB"
MEGABYTE = 1 << 20

#: (key, name, location, units, shape of the values, number of times or -1) of each field of a frame.
Layout = tuple[tuple[str, str, str, str, tuple[int, ...], int], ...]


class SpillError(WorkbenchError):
    """Frames beyond the memory budget cannot be written to (or read from) the spill file."""


class MemoryBudget:
    """How many bytes of frame values may stay in memory, across every :class:`FrameStore` sharing it.

    When an ``append`` takes the stores over ``limit_bytes``, the oldest frames in
    memory, whichever store holds them, are spilled until the rest fit.
    """

    def __init__(self, limit_bytes: int) -> None:
        if limit_bytes < 0:
            raise ValueError(f"a memory budget cannot be negative ({limit_bytes} bytes)")
        self.limit_bytes = int(limit_bytes)
        self.lock = threading.RLock()
        # keyed by a number, not the store: a store compares like a list, so it cannot be hashed
        self._stores: weakref.WeakValueDictionary[int, FrameStore] = weakref.WeakValueDictionary()
        self._store_numbers = itertools.count()
        self._serials = itertools.count()

    @property
    def resident_bytes(self) -> int:
        with self.lock:
            return sum(store._resident_bytes for store in self._stores.values())

    def _register(self, store: FrameStore) -> None:
        with self.lock:  # _enforce, in another thread, must not see the dictionary change under it
            self._stores[next(self._store_numbers)] = store

    def _next_serial(self) -> int:
        """A new frame's number: the lower the number, the earlier the frame is spilled."""
        return next(self._serials)

    def _enforce(self) -> None:
        """Spill the oldest frames in memory until the frames left there fit the budget."""
        while True:
            holding = [store for store in self._stores.values() if store._resident]
            if not holding or sum(store._resident_bytes for store in holding) <= self.limit_bytes:
                return
            min(holding, key=FrameStore._oldest_serial)._spill_oldest()


class FrameStore(Sequence[Frame]):
    """The frames of one run, in order; a drop-in for a list of frames. See the module's guarantees."""

    def __init__(self, frames: Iterable[Frame] = (), budget: MemoryBudget | None = None) -> None:
        self._budget = budget if budget is not None else default_budget()
        self._lock = self._budget.lock
        self._indices = array("q")
        self._times = array("d")
        # Frames at positions >= _first_resident are in memory: position -> (serial, bytes, frame).
        self._resident: dict[int, tuple[int, int, Frame]] = {}
        self._resident_bytes = 0
        self._first_resident = 0
        # Frames at positions < _first_resident are in the spill file: where, and in which layout.
        self._offsets = array("q")
        self._layout_ids = array("q")
        self._layouts: list[Layout] = []
        self._layout_numbers: dict[Layout, int] = {}
        self._file: Any = None
        self._end = 0
        self._budget._register(self)
        self.extend(frames)

    # -- the list protocol --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._times)

    @overload
    def __getitem__(self, key: int) -> Frame: ...

    @overload
    def __getitem__(self, key: slice) -> list[Frame]: ...

    def __getitem__(self, key):
        if isinstance(key, slice):
            return [self[position] for position in range(*key.indices(len(self)))]
        position = operator.index(key)
        with self._lock:
            count = len(self._times)
            if position < 0:
                position += count
            if not 0 <= position < count:
                raise IndexError("frame index out of range")
            if position >= self._first_resident:
                return self._resident[position][2]
            return self._read(position)

    def __iter__(self) -> Iterator[Frame]:
        for position in range(len(self)):  # frames appended meanwhile are not visited, as with a list copy
            yield self[position]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (FrameStore, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"FrameStore({len(self)} frames, {len(self._resident)} in memory)"

    def append(self, frame: Frame) -> None:
        """Add ``frame`` at the end; may spill older frames (of any store of the budget) to disk."""
        if not isinstance(frame, Frame):
            raise TypeError(f"a FrameStore holds frames, not {type(frame).__name__}")
        size = _value_bytes(frame)
        with self._lock:
            serial = self._budget._next_serial()
            self._resident[len(self._times)] = (serial, size, frame)
            self._resident_bytes += size
            self._indices.append(int(frame.index))
            self._times.append(float(frame.time))
            self._budget._enforce()

    def extend(self, frames: Iterable[Frame]) -> None:
        for frame in frames:
            self.append(frame)

    # -- without reading frames back ----------------------------------------------------

    def times(self) -> np.ndarray:
        """The time of every frame, in order (from memory, whatever was spilled)."""
        with self._lock:
            return np.array(self._times, dtype=np.float64)

    def indices(self) -> np.ndarray:
        """Every frame's own ``index``, in order."""
        with self._lock:
            return np.array(self._indices, dtype=np.int64)

    @property
    def in_memory(self) -> int:
        """How many frames are held in memory (the rest are in the spill file)."""
        with self._lock:
            return len(self._resident)

    # -- spilling -----------------------------------------------------------------------

    def _oldest_serial(self) -> int:
        return self._resident[self._first_resident][0]

    def _spill_oldest(self) -> None:
        """Write the oldest frame in memory to the spill file and let it go. Called under the lock."""
        position = self._first_resident
        _, size, frame = self._resident[position]
        layout, arrays = _flatten(frame)
        try:
            spill = self._file if self._file is not None else self._open_spill()
            spill.seek(self._end)
            for values in arrays:
                spill.write(memoryview(values.reshape(-1)).cast("B"))
            spill.flush()  # a full disk must show now, for this frame, not later
            end = spill.tell()
        except OSError as error:
            raise SpillError(_spill_failure("write", self._budget, error)) from None
        self._offsets.append(self._end)
        self._layout_ids.append(self._layout_number(layout))
        self._end = end
        del self._resident[position]
        self._resident_bytes -= size
        self._first_resident += 1

    def _open_spill(self) -> Any:
        self._file = tempfile.TemporaryFile(prefix="pdewb-frames-")
        return self._file

    def _layout_number(self, layout: Layout) -> int:
        number = self._layout_numbers.get(layout)
        if number is None:  # a run's frames nearly always share one layout: stored once
            number = self._layout_numbers[layout] = len(self._layouts)
            self._layouts.append(layout)
        return number

    def _read(self, position: int) -> Frame:
        """The spilled frame at ``position``, rebuilt from the file. Called under the lock."""
        layout = self._layouts[self._layout_ids[position]]
        fields = {}
        try:
            self._file.seek(self._offsets[position])
            for key, name, location, units, shape, time_count in layout:
                values = self._read_array(shape)
                times = self._read_array((time_count,)) if time_count >= 0 else None
                fields[key] = Field(name, values, location, times, units)
        except OSError as error:
            raise SpillError(_spill_failure("read", self._budget, error)) from None
        return Frame(self._indices[position], self._times[position], fields)

    def _read_array(self, shape: tuple[int, ...]) -> np.ndarray:
        values = np.empty(shape, dtype=np.float64)
        wanted = values.nbytes
        if wanted and self._file.readinto(memoryview(values.reshape(-1)).cast("B")) != wanted:
            raise OSError("the spill file is shorter than the frames written to it")
        return values


def _flatten(frame: Frame) -> tuple[Layout, list[np.ndarray]]:
    """The frame's layout and its arrays in file order (values, then times if any, per field)."""
    layout, arrays = [], []
    for key, field in frame.fields.items():
        time_count = -1 if field.times is None else len(field.times)
        layout.append((str(key), field.name, field.location, field.units, tuple(field.values.shape), time_count))
        arrays.append(np.ascontiguousarray(field.values, dtype=np.float64))
        if field.times is not None:
            arrays.append(np.ascontiguousarray(field.times, dtype=np.float64))
    return tuple(layout), arrays


def _value_bytes(frame: Frame) -> int:
    return sum(field.values.nbytes + (0 if field.times is None else field.times.nbytes)
               for field in frame.fields.values())


def _spill_failure(action: str, budget: MemoryBudget, error: OSError) -> str:
    cause = " ".join(str(error.strerror or error).split())
    return (f"cannot {action} frames beyond the memory budget ({budget.limit_bytes / MEGABYTE:g} MB, "
            f"{MEMORY_VARIABLE}) in the temporary folder {tempfile.gettempdir()}: {cause}")


# -- the process-wide budget -----------------------------------------------------------------

_default_budget: MemoryBudget | None = None
_default_lock = threading.Lock()


def default_budget() -> MemoryBudget:
    """The budget shared by every store made without one (created on first use, from the environment)."""
    global _default_budget
    with _default_lock:
        if _default_budget is None:
            _default_budget = MemoryBudget(budget_from_environment(os.environ))
        return _default_budget


def budget_from_environment(environment: dict[str, str] | os._Environ) -> int:
    """Bytes: ``PDEWB_FRAME_MEMORY_MB`` megabytes if set, else an eighth of :func:`physical_memory`.

    Raises :class:`ParamError` for a value that is not a number of megabytes (0 or more).
    """
    text = environment.get(MEMORY_VARIABLE, "").strip()
    if not text:
        return physical_memory() // 8
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = math.nan
    if not math.isfinite(megabytes) or megabytes < 0:
        raise ParamError(f"{MEMORY_VARIABLE}={text!r} is not a number of megabytes (0 or more)")
    return int(megabytes * MEGABYTE)
