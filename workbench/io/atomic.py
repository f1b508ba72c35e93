"""Safe outputs: a file the workbench writes appears whole or not at all, and only where a file may go.

Every writer (CLI, GUI, plugins) goes through :func:`atomic_path`, which keeps three rules:

1. **Only regular files are replaced.** A target that exists and is not a regular
   file (a folder, a device node such as ``/dev/null``, a FIFO, a socket, a
   symbolic link) is refused with :class:`OutputError`. The check uses ``lstat``
   and never follows a link: run as root, ``--out /dev/null`` must not turn the
   device into a file.
2. **Write beside, then rename.** The new content goes to a hidden temporary in
   the target's folder (same file system), named
   ``.NAME.pdewb-HOST-PID-RANDOM.tmpSUFFIX`` (the suffix is kept for writers that
   pick a format from it), is flushed to disk with ``fsync`` and replaces the
   target with :func:`os.replace`, atomic on POSIX and Windows; the folder is
   synced too, so the rename survives a power cut.
3. **Any failure keeps the old file.** An exception in the writer, a full disk
   (ENOSPC, EDQUOT), a file-size limit (EFBIG), Ctrl-C or SIGTERM removes the
   temporary and leaves the previous file byte-identical; operating-system errors
   become one :class:`OutputError` line ("disk full", "read-only file system").

A ``kill -9`` runs no clean-up: its temporary stays until the next write into
the same folder, which removes temporaries whose owner process (same host, PID
no longer alive) is gone (:func:`remove_stale_temporaries`).

New files get the permissions ``open()`` would give them (``0666 & ~umask``), not
``mkstemp``'s private 0600, so a checkpoint shared through a group folder stays
readable; replacing a file keeps that file's permission bits.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from ..core.errors import WorkbenchError

TEMPORARY_MARK = ".pdewb-"
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
_TEMPORARY = re.compile(r"^\..*\.pdewb-(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-[0-9a-f]{8}\.(tmp|partial)")
#: folder -> (monotonic time of its last scan, its modification time then)
_swept: dict[str, tuple[float, int]] = {}
RESCAN_SECONDS = 60.0

#: errno -> the words a user reads; anything else is shown as the system says it.
_CAUSES = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (a file-size limit)",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


class OutputError(WorkbenchError, OSError):
    """An output cannot be written where it was asked to go; nothing there was changed.

    It is an OSError too, so code that handles disk errors in general still sees it.
    ``reason`` is the cause alone ("disk full"), for callers that word the message themselves.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def describe_os_error(error: OSError) -> str:
    """'disk full', 'permission denied', ... or the system's own words, on one line."""
    cause = _CAUSES.get(error.errno or 0)
    detail = " ".join(str(error.strerror or error).split())
    return cause if cause else detail or type(error).__name__


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_output_target(target: str | Path) -> Path:
    """``target`` if a file may be written there: nothing exists, or a regular file (not a link) does.

    Its folder must be a folder (or not exist yet: :func:`atomic_path` creates it).
    Raises :class:`OutputError` otherwise; never follows a symbolic link.
    """
    target = Path(target)
    if not target.name or target.name in (".", ".."):
        raise OutputError(f"{target}: not a file name")
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:
        raise OutputError(f"cannot write {target}: a parent of it is a file, not a folder") from None
    except OSError as error:
        raise OutputError(f"cannot write {target}: {describe_os_error(error)}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"refusing to write {target}: it is {kind_of(mode)}, not a regular file")
    parent = target.parent
    if parent.exists() and not parent.is_dir():
        raise OutputError(f"cannot write {target}: {parent} is a file, not a folder")
    return target


def ensure_folder(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed; one line if a file is in the way."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot write into {folder}: it is a file, not a folder") from None
    except NotADirectoryError:
        raise OutputError(f"cannot write into {folder}: a parent of it is a file, not a folder") from None
    except OSError as error:
        raise OutputError(f"cannot create {folder}: {describe_os_error(error)}") from None
    return folder


def temporary_name(target: Path, kind: str = "tmp") -> Path:
    """A hidden name beside ``target`` that marks this host and process as its owner."""
    token = f"{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
    suffix = target.suffix if kind == "tmp" else ""
    return target.with_name(f".{target.name}{TEMPORARY_MARK}{token}.{kind}{suffix}")


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write to; it replaces ``target`` when the block ends without error.

    The temporary keeps ``target``'s suffix (writers that pick a format from the
    name still work). Raises :class:`OutputError` for a target that is not a
    regular file and for operating-system errors; the previous file is then intact
    and the temporary gone.
    """
    target = check_output_target(target)
    ensure_folder(target.parent)
    remove_stale_temporaries(target.parent)
    temporary = _create_temporary(target)
    try:
        try:
            yield temporary
            fsync_file(temporary)
            check_output_target(target)  # again: something may have appeared there meanwhile
            _copy_permissions(target, temporary)
            os.replace(temporary, target)
            fsync_folder(target.parent)
        except OutputError:
            raise
        except OSError as error:
            reason = describe_os_error(error)
            raise OutputError(f"cannot write {target}: {reason}; the previous file (if any) is unchanged",
                              reason) from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def atomic_write_text(target: str | Path, text: str, encoding: str = "utf-8") -> Path:
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding=encoding)
    return Path(target)


def atomic_write_bytes(target: str | Path, data: bytes) -> Path:
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)
    return Path(target)


def remove_stale_temporaries(folder: str | Path, *, force: bool = False) -> list[Path]:
    """Remove the temporaries (files and folders) in ``folder`` left by dead processes of this host.

    A folder is scanned again only when it changed since its last scan and that scan
    is :data:`RESCAN_SECONDS` old (``force`` scans now): a series of a hundred thousand
    frames must not list its folder a hundred thousand times, while a window left open
    for days still clears what a killed ``pdewb`` leaves beside its files later.
    Returns what was removed.
    """
    folder = Path(folder)
    key = os.path.abspath(folder)
    try:
        changed = os.stat(folder).st_mtime_ns
    except OSError:
        return []
    now = time.monotonic()
    last = _swept.get(key)
    if last is not None and not force and (last[1] == changed or now - last[0] < RESCAN_SECONDS):
        return []
    _swept[key] = (now, changed)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or match["host"] != _HOST or _alive(int(match["pid"])):
            continue
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OverflowError:
        return False
    return True


def _create_temporary(target: Path) -> Path:
    for _ in range(100):
        temporary = temporary_name(target)
        try:
            # O_EXCL: never reuse or follow anything; mode 0o666 lets the umask decide, as open() does.
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as error:
            raise OutputError(f"cannot write {target}: {describe_os_error(error)}") from None
        os.close(handle)
        return temporary
    raise OutputError(f"cannot write {target}: no free temporary name beside it")


def _copy_permissions(target: Path, temporary: Path) -> None:
    """A replaced file keeps its permission bits (a shared 0644 checkpoint stays 0644)."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(temporary, stat.S_IMODE(os.lstat(target).st_mode))


def fsync_file(path: str | Path) -> None:
    """Flush ``path``'s content to the disk (OSError if it cannot be: a full disk shows here)."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def fsync_folder(folder: str | Path) -> None:
    """Make a rename durable; folders cannot be opened for syncing on every system, which is then skipped."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(handle)
    finally:
        os.close(handle)
