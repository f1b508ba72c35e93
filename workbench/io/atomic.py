"""Atomic file writes: the old file survives any failure of the new one.

The new content goes to a temporary file in the same folder (so the final rename
stays on one file system), is flushed to disk, and only then replaces the target
with :func:`os.replace`, which is atomic on POSIX and Windows. A crash, a full
disk or an exception mid-write leaves the previous file untouched and removes
the temporary one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write to; it replaces ``target`` on success.

    The temporary name keeps ``target``'s suffix, so writers that pick a format
    from the extension (meshio) still work.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def atomic_write_text(target: str | Path, text: str, encoding: str = "utf-8") -> None:
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding=encoding)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())
