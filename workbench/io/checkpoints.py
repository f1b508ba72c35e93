"""Read a surrogate checkpoint's header without loading tensors or importing torch.

Surrogate checkpoints are safetensors files (https://huggingface.co/docs/safetensors):
8 bytes little-endian header length N, N bytes of JSON ({tensor name: {dtype, shape,
data_offsets}, "__metadata__": {str: str}}), then raw tensor bytes. Reading one only
parses JSON and copies bytes: nothing in the format can execute code, unlike a
``torch.save`` pickle. The workbench's description of the model is a JSON document
stored as text in ``__metadata__`` under ``"pdewb"``; its ``"surrogate"`` entry names
the contribution that loads the file, so ``pdewb`` routes a checkpoint to its plugin
and shows what it holds from the header alone.

A crafted file cannot make a reader allocate more than it holds. The header's
tensor table is checked before anything else: every tensor has a known dtype, a
shape whose bytes are exactly its span of the data, and the spans tile the data
from its first byte to the file's last. :func:`read_safetensors` then compares the
table with the tensors a model expects (a model built on torch's ``meta`` device,
which allocates nothing) and reads nothing unless they agree; what it allocates is
therefore the file's own size. Sections of the document that are meant to be JSON
objects (``architecture``, ``task``, ...) are refused when they are not.

:func:`write_safetensors` and :func:`read_safetensors` are the one place that
serialises tensors for every plugin; they import torch and safetensors when called,
never when this module is imported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import WorkbenchError
from .atomic import atomic_path

if TYPE_CHECKING:
    import torch

METADATA_KEY = "pdewb"
#: The workbench's headers are about 20 kB; 4 MB leaves room for a few thousand tensors. The limit bounds
#: what parsing a header can cost (JSON of many small objects takes ~20x its size in memory): safetensors'
#: own limit, 100 MB, would let a 100 MB file ask for gigabytes.
MAX_HEADER_BYTES = 4_000_000
ZIP_MAGIC = b"PK\x03\x04"  # torch.save since torch 1.6 writes a zip archive of pickles
PICKLE_PROTOCOL_OPCODE = 0x80  # pickle protocol >= 2 starts with PROTO (0x80) and the version byte
#: Sections of the document that, when present, must be JSON objects (readers index into them).
OBJECT_SECTIONS = ("architecture", "task", "training", "metrics", "versions", "monitor")
#: safetensors dtype -> (the name torch gives it, bytes per element); the format's own list.
DTYPES = {
    "BOOL": ("bool", 1), "U8": ("uint8", 1), "I8": ("int8", 1), "F8_E4M3": ("float8_e4m3fn", 1),
    "F8_E5M2": ("float8_e5m2", 1), "F8_E4M3FNUZ": ("float8_e4m3fnuz", 1), "F8_E5M2FNUZ": ("float8_e5m2fnuz", 1),
    "I16": ("int16", 2), "U16": ("uint16", 2), "F16": ("float16", 2), "BF16": ("bfloat16", 2),
    "I32": ("int32", 4), "U32": ("uint32", 4), "F32": ("float32", 4), "C64": ("complex64", 8),
    "I64": ("int64", 8), "U64": ("uint64", 8), "F64": ("float64", 8),
}
_SAFETENSORS_DTYPE = {torch_name: name for name, (torch_name, _) in DTYPES.items()}


#: Every checkpoint is a safetensors file, named so.
SUFFIX = ".safetensors"


def with_suffix(path: str | Path) -> Path:
    """``path`` with ``.safetensors`` appended unless it has it (``model`` -> ``model.safetensors``)."""
    path = Path(path)
    return path if path.name.endswith(SUFFIX) else path.with_name(path.name + SUFFIX)


class CheckpointError(WorkbenchError):
    """A checkpoint cannot be read, is not ours, or does not fit what is asked of it."""


@dataclass(frozen=True)
class TensorSpec:
    """One tensor as a header declares it (or as a model expects it): safetensors dtype and shape."""

    dtype: str
    shape: tuple[int, ...]

    def describe(self) -> str:
        """'float32 [8, 1]': the words the messages use, torch's dtype names."""
        return f"{DTYPES.get(self.dtype, (self.dtype,))[0]} {list(self.shape)}"


def read_checkpoint_document(path: str | Path) -> dict[str, Any]:
    """The ``"pdewb"`` JSON document of a checkpoint, from its header only (no tensor is read)."""
    path = Path(path)
    metadata = read_safetensors_header(path).get("__metadata__")
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        raise CheckpointError(f"{path} is a safetensors file without PDE Workbench metadata "
                              f"(no '{METADATA_KEY}' entry): not a surrogate checkpoint")
    try:
        document = json.loads(metadata[METADATA_KEY])
    except (TypeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{path} is corrupt: its '{METADATA_KEY}' metadata is not valid JSON") from None
    if not isinstance(document, dict):
        raise CheckpointError(f"{path} is corrupt: its '{METADATA_KEY}' metadata is not a JSON object")
    wrong = [key for key in OBJECT_SECTIONS if key in document and not isinstance(document[key], dict)]
    if wrong:
        raise CheckpointError(f"{path} is corrupt: its document's '{wrong[0]}' is "
                              f"{type(document[wrong[0]]).__name__}, not a JSON object")
    if "surrogate" in document and "task" in document:
        check_task_section(path, document["task"])
    return document


def _count(value: Any) -> bool:
    return type(value) is int and 1 <= value <= 2**31


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _interval(value: Any, closed: bool = False) -> bool:
    """[low, high] of finite numbers, low < high (``closed``: low <= high, a constant input's range)."""
    return (isinstance(value, list) and len(value) == 2
            and all(type(v) in (int, float) and math.isfinite(v) for v in value)
            and (value[0] <= value[1] if closed else value[0] < value[1]))


#: What the readers of a task section rely on (predict, compare, the GUI): the type of each entry
#: a checkpoint of ours has. A tampered one is refused here, in one line, not deep in a reader.
TASK_SCHEMA: dict[str, tuple[Callable[[Any], bool], str]] = {
    "solver": (lambda v: isinstance(v, str) and bool(v), "a solver id"),
    "dim": (lambda v: type(v) is int and v in (1, 2, 3), "1, 2 or 3"),
    "grid": (lambda v: isinstance(v, list) and 1 <= len(v) <= 3 and all(_count(n) for n in v), "a list of sizes"),
    "in_channels": (_count, "a positive integer"),
    "out_channels": (_count, "a positive integer"),
    "periodic": (lambda v: isinstance(v, bool), "true or false"),
    "params": (lambda v: isinstance(v, dict), "an object"),
    "input_fields": (_names, "a list of names"),
    "output_fields": (_names, "a list of names"),
    "history": (lambda v: v is None or _count(v), "null or a positive integer"),
    "domain": (lambda v: isinstance(v, list) and 1 <= len(v) <= 3 and all(_interval(i) for i in v),
               "a list of [low, high] intervals"),
    "input_range": (lambda v: isinstance(v, list) and all(_interval(i, closed=True) for i in v),
                    "a list of [min, max] per input channel"),
}


#: The entry every reader of a surrogate checkpoint needs (which reference solver it learned); the rest
#: depends on the kind of surrogate (a grid, or none for a mesh-native one) and is checked when present.
REQUIRED_TASK_KEYS = ("solver",)


def check_task_section(path: Path, task: Any) -> None:
    """One line for a task section a reader would trip over: a wrong type, or a missing entry every reader needs."""
    if not isinstance(task, dict):
        raise CheckpointError(f"{path} is corrupt: its task section is not an object")
    missing = [key for key in REQUIRED_TASK_KEYS if key not in task]
    if missing:
        raise CheckpointError(f"{path} is corrupt: its task section lacks {', '.join(missing)}")
    for key, (valid, expected) in TASK_SCHEMA.items():
        if key in task and not valid(task[key]):
            raise CheckpointError(f"{path} is corrupt: its task's '{key}' is {repr(task[key])[:60]}, "
                                  f"not {expected}")
    for key, what in (("grid", "sizes"), ("domain", "intervals")):
        if key in task and "dim" in task and len(task[key]) != task["dim"]:
            raise CheckpointError(f"{path} is corrupt: its task's {key} {repr(task[key])[:60]} does not have "
                                  f"{task['dim']} {what}")


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


def read_safetensors_header(path: str | Path) -> dict[str, Any]:
    """The safetensors JSON header, after checking the file is one, is complete and its tensor table is sound."""
    return _read_header(Path(path))[0]


def read_tensor_table(path: str | Path) -> dict[str, TensorSpec]:
    """The tensors a checkpoint's header declares, each checked against the file (no tensor is read)."""
    return _read_header(Path(path))[1]


def _read_header(path: Path) -> tuple[dict[str, Any], dict[str, TensorSpec]]:
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file")
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(9)
        length = int.from_bytes(head[:8], "little") if len(head) >= 8 else -1
        looks_like_safetensors = len(head) == 9 and head[8:9] == b"{" and length > 0
        fits = looks_like_safetensors and length <= MAX_HEADER_BYTES and 8 + length <= size
        raw = handle.read(length - 1) if fits else None  # the "{" is read already
    if raw is None:
        _refuse_header(path, head, length, size, looks_like_safetensors)
    try:
        header = json.loads(b"{" + raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{path} is corrupt: its safetensors header is not valid JSON") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is corrupt: its safetensors header is not a JSON object")
    return header, tensor_table(path, header, size - 8 - length)


def _refuse_header(path: Path, head: bytes, length: int, size: int, looks_like_safetensors: bool) -> None:
    # Pickles only now: a valid header length may end in the byte 0x80 and look like one.
    if _is_pickle(head):
        raise CheckpointError(f"{path} is a pickled torch file; PDE Workbench loads only .safetensors "
                              "checkpoints, which cannot execute code")
    if looks_like_safetensors and length > MAX_HEADER_BYTES:
        raise CheckpointError(f"{path} is not a checkpoint of ours: its header declares {length:,} bytes, "
                              f"more than the {MAX_HEADER_BYTES:,} a checkpoint header may have")
    if looks_like_safetensors:
        raise CheckpointError(f"{path} is truncated: its header needs {8 + length} bytes, the file has {size}")
    raise CheckpointError(f"{path} is not a safetensors checkpoint (corrupt or another format)")


def tensor_table(path: Path, header: Mapping[str, Any], available: int) -> dict[str, TensorSpec]:
    """Every tensor of ``header``, refused unless the ``available`` bytes of data hold exactly those tensors.

    Each entry needs a known dtype, a shape of non-negative integers and data
    offsets whose span is the shape's size in bytes; the spans must tile the data
    without gap or overlap (as the safetensors library requires too). A shape
    claiming more than the file holds is therefore refused here, before any reader
    allocates it.
    """
    table, spans = {}, []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        spec, span = _entry(path, name, entry)
        table[name] = spec
        spans.append((span, name))
    end = 0
    for (begin, stop), name in sorted(spans):
        if begin != end:
            raise CheckpointError(f"{path} is corrupt: tensor '{name}' starts at byte {begin} of the data, "
                                  f"not at {end} where the previous one ends")
        end = stop
    if end > available:
        raise CheckpointError(f"{path} is truncated: its tensors need {end} bytes of data, the file has {available}")
    if end < available:
        raise CheckpointError(f"{path} is corrupt: {available - end} bytes follow its last tensor")
    return table


def _entry(path: Path, name: str, entry: Any) -> tuple[TensorSpec, tuple[int, int]]:
    """One tensor's spec and data span, checked on its own."""
    if not isinstance(entry, dict):
        raise CheckpointError(f"{path} is corrupt: tensor '{name}' is not described by an object")
    offsets, shape, dtype = entry.get("data_offsets"), entry.get("shape"), entry.get("dtype")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_natural(o) for o in offsets)
            and offsets[0] <= offsets[1]):
        raise CheckpointError(f"{path} is corrupt: tensor '{name}' has no valid data offsets")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise CheckpointError(f"{path} is corrupt: tensor '{name}' has the unknown dtype {dtype!r}")
    if not (isinstance(shape, list) and all(_natural(n) for n in shape)):
        raise CheckpointError(f"{path} is corrupt: tensor '{name}' has no valid shape")
    needed = math.prod(shape) * DTYPES[dtype][1]
    if needed != offsets[1] - offsets[0]:
        raise CheckpointError(f"{path} is corrupt: tensor '{name}' is {dtype} {shape}, {needed:,} bytes, "
                              f"but its data is {offsets[1] - offsets[0]:,} bytes")
    return TensorSpec(dtype, tuple(shape)), (offsets[0], offsets[1])


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# ---------------------------------------------------------------------------------------------
# Tensors (torch is imported by these functions only)


def write_safetensors(path: str | Path, tensors: Mapping[str, torch.Tensor], document: Mapping[str, Any]) -> Path:
    """Write ``tensors`` and ``document`` (under ``"pdewb"``) to ``path`` atomically; returns the path.

    The tensors are written as contiguous CPU copies (safetensors refuses views and
    shared storage), serialised in memory first (the file's size again, briefly).
    The document must be plain JSON (no NaN or infinity, which JSON cannot hold):
    ValueError before anything is written otherwise. A failure leaves the previous
    file as it was (:func:`~workbench.io.atomic.atomic_path`).
    """
    from safetensors.torch import save

    try:
        text = json.dumps(dict(document), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the checkpoint document is not plain JSON: {error}") from None
    copies = {name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in tensors.items()}
    # Serialised in memory, written by Python: a full disk or a file-size limit is then an OSError that
    # atomic_path reports in one line ("disk full"), where safetensors' own file writer raises an opaque error.
    data = save(copies, metadata={METADATA_KEY: text})
    path = Path(path)
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return path


def read_safetensors(path: str | Path, expected: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors of ``path``, read only if they are exactly ``expected``'s: names, shapes and dtypes.

    ``expected`` is what the model will hold, typically the ``state_dict()`` of the
    model built on the ``meta`` device: nothing has been allocated when a mismatch
    is refused, and what is read is the file's own bytes. The file is opened once,
    so the tensors read are the ones checked.
    """
    from safetensors import safe_open

    path = Path(path)
    want = {name: tensor_spec(tensor) for name, tensor in expected.items()}
    check_tensors(path, read_tensor_table(path), want)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            found = {name: _slice_spec(handle.get_slice(name)) for name in handle.keys()}
            check_tensors(path, found, want)
            return {name: handle.get_tensor(name) for name in want}
    except CheckpointError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure of the parser means a bad file
        raise CheckpointError(f"{path} is corrupt: {' '.join(str(error).split()) or type(error).__name__}") from None


def tensor_spec(tensor: torch.Tensor) -> TensorSpec:
    """The spec of a tensor (a meta tensor will do), in safetensors' dtype names."""
    name = str(tensor.dtype).removeprefix("torch.")
    if name not in _SAFETENSORS_DTYPE:
        raise ValueError(f"safetensors cannot store {tensor.dtype}")
    return TensorSpec(_SAFETENSORS_DTYPE[name], tuple(tensor.shape))


def _slice_spec(view: Any) -> TensorSpec:
    return TensorSpec(view.get_dtype(), tuple(view.get_shape()))


def check_tensors(path: Path, found: Mapping[str, TensorSpec], expected: Mapping[str, TensorSpec]) -> None:
    """Names, shapes and dtypes must match exactly: nothing missing, nothing extra, nothing reshaped."""
    missing = sorted(set(expected) - set(found))
    if missing:
        raise CheckpointError(f"{path} lacks tensors the architecture needs: {_first(missing)}")
    unexpected = sorted(set(found) - set(expected))
    if unexpected:
        raise CheckpointError(f"{path} has tensors the architecture does not know: {_first(unexpected)}")
    for name, spec in expected.items():
        if found[name] != spec:
            raise CheckpointError(f"{path}: tensor '{name}' is {found[name].describe()} in the file, the "
                                  f"architecture needs {spec.describe()}")


def _first(names: list[str], count: int = 3) -> str:
    shown = ", ".join(names[:count])
    return shown + (f" and {len(names) - count} more" if len(names) > count else "")


def _is_pickle(head: bytes) -> bool:
    """A zip archive (torch.save) or a pickle of protocol 2 to 5 (legacy torch.save, pickle.dump)."""
    if head.startswith(ZIP_MAGIC):
        return True
    return len(head) >= 2 and head[0] == PICKLE_PROTOCOL_OPCODE and 2 <= head[1] <= 5
