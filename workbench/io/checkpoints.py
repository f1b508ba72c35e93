"""Read a surrogate checkpoint's header without loading tensors or importing torch.

Surrogate checkpoints are safetensors files (https://huggingface.co/docs/safetensors):
8 bytes little-endian header length N, N bytes of JSON ({tensor name: {dtype, shape,
data_offsets}, "__metadata__": {str: str}}), then raw tensor bytes. Reading one only
parses JSON and copies bytes: nothing in the format can execute code, unlike a
``torch.save`` pickle. The workbench's description of the model is a JSON document
stored as text in ``__metadata__`` under ``"pdewb"``; its ``"surrogate"`` entry names
the contribution that loads the file, so ``pdewb`` routes a checkpoint to its plugin
and shows what it holds from the header alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.errors import WorkbenchError

METADATA_KEY = "pdewb"
#: safetensors' own limit on the JSON header; anything larger is not a checkpoint of ours.
MAX_HEADER_BYTES = 100_000_000
ZIP_MAGIC = b"PK\x03\x04"  # torch.save since torch 1.6 writes a zip archive of pickles
PICKLE_PROTOCOL_OPCODE = 0x80  # pickle protocol >= 2 starts with PROTO (0x80) and the version byte


class CheckpointError(WorkbenchError):
    """A checkpoint cannot be read, is not ours, or does not fit what is asked of it."""


def read_checkpoint_document(path: str | Path) -> dict[str, Any]:
    """The ``"pdewb"`` JSON document of a checkpoint, from its header only (no tensor is read)."""
    path = Path(path)
    metadata = read_safetensors_header(path).get("__metadata__")
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        raise CheckpointError(f"{path} is a safetensors file without PDE Workbench metadata "
                              f"(no '{METADATA_KEY}' entry): not a surrogate checkpoint")
    try:
        document = json.loads(metadata[METADATA_KEY])
    except (TypeError, json.JSONDecodeError):
        raise CheckpointError(f"{path} is corrupt: its '{METADATA_KEY}' metadata is not valid JSON") from None
    if not isinstance(document, dict):
        raise CheckpointError(f"{path} is corrupt: its '{METADATA_KEY}' metadata is not a JSON object")
    return document


def read_versioned_document(path: str | Path, format: str, version: int, kind: str) -> dict[str, Any]:
    """The checkpoint's document, refused unless its ``format`` and ``version`` are the ones this reader knows.

    ``kind`` names the checkpoint in the message ("surrogate", "DMM mesh-mover").
    """
    document = read_checkpoint_document(path)
    if document.get("format") != format:
        raise CheckpointError(f"{path} is not a {kind} checkpoint (format {document.get('format')!r})")
    if document.get("version") != version:
        raise CheckpointError(f"{path} has {kind} checkpoint version {document.get('version')!r}; "
                              f"this workbench reads version {version}")
    return document


def surrogate_of(path: str | Path, document: Mapping[str, Any]) -> str:
    """The id of the surrogate contribution that loads this checkpoint."""
    surrogate = document.get("surrogate")
    if not isinstance(surrogate, str) or not surrogate:
        raise CheckpointError(f"{path}: the checkpoint does not name the surrogate that reads it")
    return surrogate


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The safetensors JSON header, after checking the file is one and is complete."""
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file")
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(9)
        length = int.from_bytes(head[:8], "little") if len(head) >= 8 else -1
        looks_like_safetensors = len(head) == 9 and head[8:9] == b"{" and 0 < length <= MAX_HEADER_BYTES
        if looks_like_safetensors and 8 + length <= size:
            handle.seek(8)
            raw = handle.read(length)
        else:
            raw = None
    if raw is None:
        # Only now: a valid header length may end in the byte 0x80 and look like a pickle.
        if _is_pickle(head):
            raise CheckpointError(f"{path} is a pickled torch file; PDE Workbench loads only .safetensors "
                                  "checkpoints, which cannot execute code")
        if looks_like_safetensors:
            raise CheckpointError(f"{path} is truncated: its header needs {8 + length} bytes, the file has {size}")
        raise CheckpointError(f"{path} is not a safetensors checkpoint (corrupt or another format)")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{path} is corrupt: its safetensors header is not valid JSON") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is corrupt: its safetensors header is not a JSON object")
    _check_data_size(path, header, size - 8 - length)
    return header


def _is_pickle(head: bytes) -> bool:
    """A zip archive (torch.save) or a pickle of protocol 2 to 5 (legacy torch.save, pickle.dump)."""
    if head.startswith(ZIP_MAGIC):
        return True
    return len(head) >= 2 and head[0] == PICKLE_PROTOCOL_OPCODE and 2 <= head[1] <= 5


def _check_data_size(path: Path, header: Mapping[str, Any], available: int) -> None:
    """Refuse a file whose tensor data ends before the header says it does (a truncated copy)."""
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise CheckpointError(f"{path} is corrupt: tensor '{name}' has no valid data offsets")
        end = max(end, offsets[1])
    if end > available:
        raise CheckpointError(f"{path} is truncated: its tensors need {end} bytes of data, the file has {available}")
