"""One writer per output: an advisory lock held for the whole of a long write.

Two ``pdewb datagen --out set.h5`` (or two runs into one folder) started at once
would each believe the file is theirs. :func:`output_lock` takes an exclusive
``flock`` on a hidden lock file beside the output, ``.NAME.lock``, for as long as
the block runs; a second writer is refused at once with the first one's PID.
The kernel drops the lock when its process dies, ``kill -9`` included, so a
stale lock file never blocks anyone: the next writer simply takes it.

The lock file is removed on release. Removing a lock file that another process
may just have opened is the classic race of lock files; it is closed the usual
way: after locking, the holder checks that the path still names the inode it
locked, and starts again if not.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from .atomic import OutputError, describe_os_error, ensure_folder

try:
    import fcntl
except ImportError:  # Windows: no flock; outputs are then not protected against concurrent writers
    fcntl = None  # type: ignore[assignment]


def lock_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(f".{output.name}.lock")


@contextlib.contextmanager
def output_lock(output: str | Path, what: str = "pdewb") -> Iterator[Path]:
    """Hold the exclusive lock of ``output`` (a file or folder to be written) for the block.

    Raises :class:`~.atomic.OutputError` naming the holder's PID when another process holds it.
    """
    output = Path(output)
    if fcntl is None:
        yield output
        return
    path = lock_path(output)
    ensure_folder(path.parent)
    handle = _acquire(path, output, what)
    try:
        yield output
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(handle)  # closing drops the flock


def _acquire(path: Path, output: Path, what: str) -> int:
    while True:
        try:
            handle = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except OSError as error:
            raise OutputError(f"cannot lock {output}: {describe_os_error(error)}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            os.close(handle)
            raise OutputError(f"{output} is being written by another {what} process{holder}; "
                              "wait for it to finish or choose another output") from None
        except OSError as error:  # a file system without locks
            os.close(handle)
            raise OutputError(f"cannot lock {output}: {describe_os_error(error)}") from None
        if _same_file(handle, path):
            os.ftruncate(handle, 0)
            os.write(handle, f"{os.getpid()}\n".encode())
            return handle
        os.close(handle)  # the previous holder removed the file after we opened it: lock the new one


def _same_file(handle: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(handle)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _holder(handle: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(handle, 32, 0).decode().strip()
        if text.isdigit():
            return f" (pid {int(text)})"
    return ""
