"""Surrogate checkpoints: one ``NAME.safetensors`` file that cannot execute code when loaded.

A PyTorch pickle (``torch.save``) runs arbitrary code on ``torch.load``: a shared model
file could do anything. safetensors (https://huggingface.co/docs/safetensors) stores
raw tensor bytes behind a JSON header, so loading only parses JSON and copies bytes.
Layout: 8 bytes little-endian header length N, N bytes of JSON
({tensor name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}), the data.

The tensors are a :class:`~.normalization.NormalizedOperator`'s ``state_dict`` (network
and normalisers). The header metadata holds, under the key ``"pdewb"``, a JSON
document describing everything else::

    {"format": "pdewb-surrogate", "version": 1,
     "architecture": {...},              # build_model(architecture) rebuilds the network
     "training": {config + results}, "task": {solver, solver_version, params, grid, dim,
     periodic, fingerprint, input_fields, output_fields, ...}, "metrics": {...},
     "versions": {workbench, operators, torch, safetensors, python}, "created": ISO 8601 UTC}

Writes are atomic (:mod:`workbench.io.atomic`): a failed save leaves the previous file.
Every refusal on reading is a one-line :class:`CheckpointError`, and a file cannot make
the loader allocate more than it holds: the architecture is first built on torch's
``meta`` device (no memory) and its tensors compared with the header's table
(:func:`workbench.io.checkpoints.read_safetensors`), so a tampered ``width=100000``
is refused before the 320 GB it would ask for.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import torch

import workbench
from workbench.io.checkpoints import (
    CheckpointError,
    read_safetensors,
    read_versioned_document,
    with_suffix,
    write_safetensors,
)

from .normalization import NormalizedOperator

FORMAT = "pdewb-surrogate"
#: What this plugin's readers take from a checkpoint's task (the types are checked by workbench.io.checkpoints).
GRID_TASK_KEYS = ("solver", "grid", "params")
VERSION = 1
#: No size or count of a model comes near 2**31; larger integers overflow torch's sizes before any check.
MAX_ARCHITECTURE_INT = 2**31 - 1


# ---------------------------------------------------------------------------------------
# Writing


def library_versions() -> dict[str, str]:
    """The versions a checkpoint records, to explain a result that cannot be reproduced."""
    import safetensors

    try:
        operators = importlib_metadata.version("pde-workbench-operators")
    except importlib_metadata.PackageNotFoundError:
        operators = ""
    return {"workbench": workbench.__version__, "operators": operators, "torch": torch.__version__,
            "safetensors": safetensors.__version__, "python": platform.python_version()}


def complete_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with ``format``, ``version``, ``versions`` and ``created`` filled in (given values kept)."""
    if not isinstance(document.get("architecture"), Mapping):
        raise TypeError("a checkpoint document needs an 'architecture' dict (build_model rebuilds the network from it)")
    complete = {"format": FORMAT, "version": VERSION, "training": {}, "task": {}, "metrics": {}}
    complete.update(document)
    complete.setdefault("versions", library_versions())
    complete.setdefault("created", datetime.now(UTC).isoformat(timespec="seconds"))
    return complete


def save_checkpoint(path: str | Path, model: NormalizedOperator, document: Mapping[str, Any]) -> Path:
    """Write ``model``'s state dict and ``document`` (completed) to ``path`` atomically; returns the path.

    The document must be plain JSON (no NaN or infinities, which JSON cannot hold).
    """
    return write_safetensors(with_suffix(path), model.state_dict(), complete_document(document))


# ---------------------------------------------------------------------------------------
# Reading


def read_document(path: str | Path) -> dict[str, Any]:
    """The JSON document of a checkpoint, from its header only (no tensor is read)."""
    return _document(Path(path))


def load_checkpoint(path: str | Path, expect: Mapping[str, Any] | None = None,
                    device: str | torch.device = "cpu") -> tuple[NormalizedOperator, dict[str, Any]]:
    """(model in eval mode on ``device``, document) of a checkpoint.

    The network is rebuilt with ``build_model(document["architecture"])`` and must have
    exactly the stored tensors (names, shapes, dtypes), which is checked on a model
    built on the ``meta`` device before anything is allocated. ``expect`` maps task
    keys to required values, e.g. ``{"solver": "darcy.fd", "grid": [65, 65]}``.
    """
    path = Path(path)
    document = _document(path)
    check_expectation(path, document, expect)
    with torch.device("meta"):
        expected = _skeleton(path, document).state_dict()
    tensors = read_safetensors(path, expected)
    model = _skeleton(path, document)  # now that its tensors are known to be the file's, and no larger
    model.load_state_dict(tensors, strict=True)
    return model.to(device).eval(), document


def check_expectation(path: str | Path, document: Mapping[str, Any], expect: Mapping[str, Any] | None) -> None:
    """CheckpointError unless every key of ``expect`` equals the checkpoint's task value.

    Keys are those of the ``task`` section: solver, grid, dim, periodic, fingerprint,
    solver_version, in_channels, out_channels, history, ...
    """
    if not expect:
        return
    task = document.get("task", {})
    differs = [key for key, value in expect.items() if _comparable(task.get(key)) != _comparable(value)]
    if differs:
        keys = ["solver"] + [key for key in expect if key != "solver"]
        raise CheckpointError(f"{Path(path).name}: checkpoint was trained for {_describe(task, keys)}, "
                              f"not {_describe(expect, keys)}")


def _comparable(value: Any) -> Any:
    """Tuples and lists compare equal (JSON has only lists)."""
    if isinstance(value, (list, tuple)):
        return [_comparable(item) for item in value]
    return value


def _describe(values: Mapping[str, Any], keys: list[str]) -> str:
    parts = []
    for key in keys:
        if key not in values:
            continue
        value = values[key]
        if key == "grid" and isinstance(value, (list, tuple)):
            parts.append("on grid " + "x".join(str(v) for v in value))
        elif key == "solver":
            parts.append(f"solver {value}")
        else:
            parts.append(f"{key} {value}")
    return " ".join(parts) if parts else "an unknown task"


def _document(path: Path) -> dict[str, Any]:
    """The header's document, checked to be a surrogate checkpoint of this format version."""
    document = read_versioned_document(path, FORMAT, VERSION, "surrogate")
    if not isinstance(document.get("architecture"), dict):
        raise CheckpointError(f"{path} is corrupt: its document has no architecture")
    missing = [key for key in GRID_TASK_KEYS if key not in document.get("task", {})]
    if missing:
        raise CheckpointError(f"{path} is corrupt: its task section lacks {', '.join(missing)}")
    return document


def _skeleton(path: Path, document: Mapping[str, Any]) -> NormalizedOperator:
    """A freshly built model of the document's architecture, ready to receive the tensors.

    The architecture is untrusted: whatever it makes the constructors raise (a
    missing key, a size torch cannot represent) is a CheckpointError.
    """
    from .models import build_model

    architecture = document["architecture"]
    huge = [key for key, value in architecture.items() if isinstance(value, int) and abs(value) > MAX_ARCHITECTURE_INT]
    if huge:
        raise CheckpointError(f"{path} has an architecture this workbench cannot build: '{huge[0]}' is "
                              f"{architecture[huge[0]]}, beyond any size a model has")
    try:
        network = build_model(architecture)
        return NormalizedOperator.unfitted(network, int(architecture["in_channels"]), int(architecture["out_channels"]))
    except (ValueError, KeyError, TypeError, OverflowError, RuntimeError) as error:
        raise CheckpointError(f"{path} has an architecture this workbench cannot build: {_one_line(error)}") from None


def _one_line(error: BaseException) -> str:
    """The first line of the message: torch appends a C++ stack trace to some."""
    lines = str(error).strip().splitlines()
    return " ".join(lines[0].split())[:300] if lines else type(error).__name__
