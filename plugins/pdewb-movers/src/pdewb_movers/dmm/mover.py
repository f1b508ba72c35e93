"""The DMM mover as the host runs it: ``move(mesh, monitor, params) -> Job`` and ``move_many``.

``move`` follows :class:`~workbench.plugins.contributions.MeshMoverContribution`: the
host builds the monitor (a :class:`~workbench.core.monitors.FieldMonitor`, which carries
the driving field and its nodal monitor); the network reads that nodal monitor on its
branch grid and moves the nodes in one forward pass. The job yields one Frame with the
moved "coordinates" and the "monitor", and a last log message "stopped: ...", which
counts the inverted cells if there are any: the host then falls back to the classical
mover (the contribution's ``fallback``) and says so.

``move_many(mesh, fields, params)`` moves a whole stack of nodal fields (a trajectory)
on one mesh in one pass and returns the (T, N, 2) nodes; the host's
:func:`workbench.compute.moving.run_mover_batch` calls it.

The checkpoint (param ``checkpoint``; empty: the one shipped in ``pdewb_movers/data``)
is loaded once per path and modification time, and refused unless it was trained for
the monitor settings asked for and the mesh covers the unit square.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core import Field, Frame, LogMessage
from workbench.core.errors import ParamError
from workbench.core.events import Event
from workbench.core.mesh import Mesh
from workbench.core.mesh_quality import inverted_cells
from workbench.core.monitors import MonitorSpec

from .inference import DMMMover

SHIPPED_CHECKPOINT = "dmm_unit_square.safetensors"


def shipped_checkpoint() -> Path:
    """The checkpoint trained by tools/train_dmm.py and shipped as package data."""
    return Path(str(resources.files("pdewb_movers") / "data" / SHIPPED_CHECKPOINT))


def checkpoint_path(params: Mapping[str, Any]) -> Path:
    text = str(params.get("checkpoint", "") or "").strip()
    return Path(text).expanduser() if text else shipped_checkpoint()


@functools.lru_cache(maxsize=4)
def _loaded(path: str, modified: float) -> DMMMover:  # ``modified`` keys the cache to the file's version
    return DMMMover.load(path)


def load_mover(params: Mapping[str, Any]) -> DMMMover:
    """The checkpoint of ``params`` (cached), refused unless trained for the monitor settings in ``params``."""
    from .checkpoint import check_compatible

    path = checkpoint_path(params)
    if not path.is_file():
        raise ParamError(f"DMM checkpoint {path} does not exist")
    mover = _loaded(str(path), path.stat().st_mtime)
    check_compatible(path, mover.document, MonitorSpec.from_params(params), mover.branch_grid)
    return mover


def move(mesh: Mesh, monitor, params: Mapping[str, Any]) -> Iterator[Event]:
    """One forward pass of the network: see the module docstring."""
    nodal = getattr(monitor, "nodal", None)
    if nodal is None or getattr(monitor, "field", None) is None:
        raise ParamError("the DMM mover reads the driving field; it needs a field monitor (not kind 'expression')")
    mover = load_mover(params)
    mover.check_mesh(mesh)
    yield LogMessage(f"DMM: checkpoint {mover.path.name}, branch grid {mover.branch_grid}x{mover.branch_grid}")
    points = mover.displace(mesh, mover.branch_inputs(mesh, np.asarray(nodal)[None]))[0]
    yield Frame(1, 1.0, {"coordinates": Field("coordinates", points, "point"),
                         "monitor": Field("monitor", np.asarray(nodal), "point")})
    inverted = inverted_cells(mesh.points, points, mesh.simplices)
    if inverted:
        yield LogMessage(f"stopped: the DMM map inverts {inverted} of {len(mesh.simplices)} cells", "warning")
    else:
        yield LogMessage("stopped: one forward pass of the DMM network, no cell inverted")


def move_many(mesh: Mesh, fields: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    """(T, N, 2) moved nodes for (T, N) nodal fields on ``mesh``, one forward pass for all."""
    return load_mover(params).move_fields(mesh, fields)


def load(path: str | Path, device: str | None = None) -> DMMMover:
    """The contribution's ``loader``: a checkpoint at ``path`` (safetensors only; nothing in it is executed)."""
    return DMMMover.load(path, device=device or "cpu")
