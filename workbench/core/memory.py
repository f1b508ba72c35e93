"""How much memory a request may still take, checked before a large allocation, not after.

A loader that trusts a file's declared sizes can be made to allocate gigabytes by a
file of a few bytes; one that asks numpy first learns it from a ``MemoryError``, or
from the kernel's OOM killer, whose victim may be another process. The loaders
compute what a request needs from the sizes they have already checked and call
:func:`require_memory`, which refuses in one line what would not fit.

"Available" is the smallest of the limits that apply to this process: the kernel's
estimate of memory it can hand out without swapping (``MemAvailable``), the room
left under the control group's limit (containers, batch schedulers) and the room
left under ``RLIMIT_AS``. Where none can be read the check is skipped rather than
guessed.
"""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path

from .errors import WorkbenchError


class NotEnoughMemory(WorkbenchError, MemoryError):
    """A request needs more memory than this process may still take; nothing was allocated."""


def available_memory() -> int | None:
    """Bytes this process can still allocate without swapping, or None where it cannot be told."""
    limits = [value for value in (_meminfo_available(), _cgroup_room(), _address_space_room()) if value is not None]
    return min(limits) if limits else None


def require_memory(needed: int, what: str) -> None:
    """Raise :class:`NotEnoughMemory` if ``needed`` bytes would not fit; ``what`` names the request."""
    available = available_memory()
    if available is not None and needed > available:
        raise NotEnoughMemory(f"{what} needs {format_bytes(needed)} of memory; "
                              f"only {format_bytes(available)} are available")


def peak_resident_kib() -> int:
    """The most resident memory this process has held, in KiB (``VmHWM``).

    Not ``getrusage().ru_maxrss``: Linux keeps that figure across ``exec``, so a child
    started from a large process (a test runner) reports its parent's peak.
    """
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def format_bytes(count: float) -> str:
    """'512 B', '3.4 MB', '12.0 GB' (powers of 1000, as disks and `df -H` count)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} PB"  # pragma: no cover - the loop returns at TB


def _meminfo_available() -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    with contextlib.suppress(AttributeError, ValueError, OSError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def physical_memory() -> int:
    """Physical memory in bytes, or this process's cgroup limit if lower; 8 GiB where neither is known."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf
        total = 8 << 30
    limit = _cgroup_limit()
    return min(total, limit[0]) if limit is not None else total


def _cgroup_room() -> int | None:
    """Room under the memory limit of this process's cgroup, if it has one."""
    limit = _cgroup_limit()
    return None if limit is None or limit[1] is None else max(0, limit[0] - limit[1])


def _cgroup_limit() -> tuple[int, int | None] | None:
    """(limit, bytes in use or None) of this process's cgroup: v2 (``memory.max``), else v1; None: no limit."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        relative = next(line.split(":", 2)[2] for line in lines if line.startswith("0::"))
        folder = Path("/sys/fs/cgroup") / relative.lstrip("/")
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit), int((folder / "memory.current").read_text())
    with contextlib.suppress(OSError, ValueError):
        limit = int(Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").read_text()[:32])
        return (limit, None) if 0 < limit < 1 << 60 else None  # v1 writes a huge number for "no limit"
    return None


def _address_space_room() -> int | None:
    """Room under RLIMIT_AS (``ulimit -v``), measured against this process's virtual size."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
        return max(0, soft - size)
    return None
