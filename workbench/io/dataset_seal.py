"""A checksum in the HDF5 user block, checked by plain Python before HDF5 reads a byte of the file.

HDF5 is not hardened against damaged files: some flipped bytes make it loop
forever inside one attribute read, at 100 % CPU, where neither Ctrl-C nor a
Python timeout can reach it (HDFGroup/hdf5#1707, h5py#2088; reproduced here with
h5py 3.16 / HDF5 2.0 by zeroing 8 bytes of a data set's attribute heap). A bad
disk, a truncated copy or a broken download must not hang ``pdewb`` or the window.

Every data-set file and shard the workbench writes therefore starts with a
512-byte HDF5 *user block* (bytes HDF5 itself skips: the superblock is looked for
at offsets 0, 512, 1024, ...) holding ``pdewb-sha256:<hex digest of the rest of
the file>\\n``. :func:`verify_seal` streams the file through SHA-256 (about 1 GB/s)
and refuses one whose digest differs, so accidental damage is caught before h5py
opens the file. Files without the seal (written before it existed, or by
``h5repack``) are read as before. A file crafted to match its own seal is not
stopped by this: the seal detects damage, it does not authenticate a sender.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .dataset_format import DatasetError

USER_BLOCK_BYTES = 512
MAGIC = b"pdewb-sha256:"
_CHUNK = 1 << 20
#: Files verified by this process, by path, with the (inode, modification time, size) they had then:
#: a training opens its data set four times, and a large set must not be hashed four times.
_verified: dict[str, tuple[int, int, int]] = {}


def digest_after_user_block(path: str | Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        handle.seek(USER_BLOCK_BYTES)
        while block := handle.read(_CHUNK):
            hasher.update(block)
    return hasher.hexdigest()


def seal(path: str | Path) -> None:
    """Write the digest of everything after the user block into the user block (the file was made with one)."""
    text = MAGIC + digest_after_user_block(path).encode() + b"\n"
    with open(path, "r+b") as handle:
        handle.write(text.ljust(USER_BLOCK_BYTES, b" "))
        handle.flush()
        os.fsync(handle.fileno())


def verify_seal(path: str | Path, what: str | None = None) -> bool:
    """True if ``path`` is sealed and intact, False if it carries no seal; DatasetError if it is damaged.

    A file this process verified and that has not changed since is not hashed again.
    """
    key, version = os.path.realpath(path), _version(path)
    if _verified.get(key) == version:
        return True
    with open(path, "rb") as handle:
        block = handle.read(USER_BLOCK_BYTES)
    if not block.startswith(MAGIC):
        return False
    recorded = block[len(MAGIC):len(MAGIC) + 64].decode("ascii", errors="replace")
    if digest_after_user_block(path) != recorded:
        raise DatasetError(f"{what or path} is damaged: its content no longer matches the checksum written "
                           "with it (a bad disk, a truncated or altered copy); generate it again")
    _verified[key] = version
    return True


def _version(path: str | Path) -> tuple[int, int, int]:
    status = os.stat(path)
    return status.st_ino, status.st_mtime_ns, status.st_size
