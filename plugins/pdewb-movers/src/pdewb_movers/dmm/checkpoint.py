"""DMM checkpoints: one ``.safetensors`` file that cannot execute code when loaded.

The tensors are the network's ``state_dict``; the safetensors header's metadata holds,
under ``"pdewb"`` (:mod:`workbench.io.checkpoints`, readable without torch), the JSON
document of everything the network was trained for::

    {"format": "pdewb-dmm", "version": 2, "mover": "movers.dmm",
     "architecture": {...},                        # DMMNetwork(Architecture(**...)) rebuilds it
     "domain": [[0, 1], [0, 1]],                   # the network maps the unit square only
     "branch_grid": [64, 64],                      # where the branch samples the monitor
     "training_grids": [33, 65, 129],              # mesh sizes whose monitors it was trained on
     "monitor": {kind, alpha, normaliser, ...},    # the MonitorSpec; another one is refused
     "training": {config, results, command}, "versions": {...}, "created": ISO 8601 UTC}

Loading parses JSON and copies bytes, and refuses (one-line :class:`CheckpointError`)
a pickle, a file of another format or version, a network whose tensors differ from the
architecture's (names, shapes, dtypes: compared on a network built on the ``meta``
device, before anything is allocated), an architecture beyond :data:`MAX_BRANCH_GRID`
(its grid sizes buffers that the file does not hold), and a checkpoint for another
domain, branch grid or monitor.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

import workbench
from workbench.core.monitors import MonitorSpec
from workbench.io.checkpoints import CheckpointError, read_safetensors, read_versioned_document, write_safetensors

from .network import Architecture, DMMNetwork

FORMAT = "pdewb-dmm"
VERSION = 2  # 2: the fixed spectral trunk (version 1 learned an MLP trunk)
MOVER_ID = "movers.dmm"
UNIT_SQUARE = [[0.0, 1.0], [0.0, 1.0]]
#: The branch grid sizes buffers (the G x F cosine analysis, its pseudo-inverse) that no tensor of the
#: file bounds; 512 is 8 times the shipped 64 and costs about 10 MB and a second to set up.
MAX_BRANCH_GRID = 512


def monitor_settings(spec: MonitorSpec) -> dict[str, Any]:
    """The settings of ``spec`` that change the monitor of a field (the quantile only with its normaliser)."""
    settings = {"kind": spec.kind, "alpha": float(spec.alpha), "normaliser": spec.normaliser,
                "compression": float(spec.compression), "smoothing": int(spec.smoothing)}
    if spec.normaliser == "quantile":
        settings["quantile"] = float(spec.quantile)
    return settings


def checkpoint_document(network: DMMNetwork, spec: MonitorSpec, training: Mapping[str, Any],
                        training_grids: list[int]) -> dict[str, Any]:
    """The document of the module docstring for a trained network."""
    import safetensors

    grid = network.architecture.branch_grid
    return {
        "format": FORMAT, "version": VERSION, "mover": MOVER_ID,
        "architecture": network.architecture.describe(),
        "domain": UNIT_SQUARE, "branch_grid": [grid, grid], "training_grids": list(training_grids),
        "monitor": monitor_settings(spec), "training": dict(training),
        "versions": {"workbench": workbench.__version__, "torch": torch.__version__,
                     "safetensors": safetensors.__version__, "python": platform.python_version()},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def save_checkpoint(path: str | Path, network: DMMNetwork, document: Mapping[str, Any]) -> Path:
    """Write the network's weights (float32) and ``document`` to ``path`` atomically; returns the path."""
    weights = {name: tensor.to(torch.float32) for name, tensor in network.state_dict().items()}
    return write_safetensors(path, weights, document)


def read_document(path: str | Path) -> dict[str, Any]:
    """The checkpoint's document from its header only (no tensor read, no torch needed by the reader)."""
    return read_versioned_document(path, FORMAT, VERSION, "DMM mesh-mover")


def check_compatible(path: str | Path, document: Mapping[str, Any], spec: MonitorSpec | None = None,
                     branch_grid: int | None = None) -> None:
    """CheckpointError unless the checkpoint is for the unit square and, if given, this monitor and branch grid."""
    name = Path(path).name
    if document.get("domain") != UNIT_SQUARE:
        raise CheckpointError(f"{name}: trained on the domain {document.get('domain')}, this mover moves "
                              f"meshes of {UNIT_SQUARE}")
    if branch_grid is not None and document.get("branch_grid") != [branch_grid, branch_grid]:
        raise CheckpointError(f"{name}: its branch samples a {document.get('branch_grid')} grid, not "
                              f"[{branch_grid}, {branch_grid}]")
    if spec is not None and document.get("monitor") != monitor_settings(spec):
        raise CheckpointError(f"{name}: trained for the monitor {_settings_text(document.get('monitor'))}, not "
                              f"{_settings_text(monitor_settings(spec))}; use the checkpoint's monitor "
                              "settings or train one for these")


def load_checkpoint(path: str | Path, spec: MonitorSpec | None = None,
                    device: str | torch.device = "cpu") -> tuple[DMMNetwork, dict[str, Any]]:
    """(network in eval mode, document); refuses what the module docstring lists."""
    path = Path(path)
    document = read_document(path)
    check_compatible(path, document, spec)
    architecture = checked_architecture(path, document.get("architecture"))
    with torch.device("meta"):
        expected = DMMNetwork(architecture).state_dict()
    tensors = read_safetensors(path, expected)
    network = DMMNetwork(architecture)  # its weights are the file's, checked; its buffers bounded above
    network.load_state_dict(tensors, strict=True)
    return network.to(device).eval(), document


def checked_architecture(path: Path, described: Any) -> Architecture:
    """The document's architecture, refused unless its sizes are integers this loader can afford."""
    try:
        architecture = Architecture(**described)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} has an architecture this workbench cannot build: "
                              f"{' '.join(str(error).split())}") from None
    sizes = architecture.describe()
    wrong = [key for key, value in sizes.items() if not isinstance(value, int) or isinstance(value, bool)]
    if wrong:
        raise CheckpointError(f"{path} has an architecture this workbench cannot build: "
                              f"'{wrong[0]}' is {sizes[wrong[0]]!r}, not an integer")
    if architecture.branch_grid > MAX_BRANCH_GRID or architecture.channels < 1:
        raise CheckpointError(f"{path} has an architecture this workbench cannot build: branch_grid "
                              f"{architecture.branch_grid} (at most {MAX_BRANCH_GRID}), channels "
                              f"{architecture.channels} (at least 1)")
    return architecture


def _settings_text(settings: Any) -> str:
    if not isinstance(settings, Mapping):
        return repr(settings)
    return ", ".join(f"{key} {value}" for key, value in settings.items())
