"""Moving the meshes of many fields with a trained DMM network in one forward pass.

For fields u_1..u_T on meshes (typically one mesh and a trajectory of T fields):

1. the host's monitor of each field (the checkpoint's MonitorSpec) at the mesh nodes,
   sampled P1 onto the branch's G x G grid: one sparse product for all fields of a mesh;
2. one branch pass for all T fields: coefficients P (T, F, F);
3. one trunk pass per distinct mesh: the separable factors cos, -w sin (N, F) per axis;
4. x_t = xi + grad phi_t(xi) = xi + (X' P_t Y^T, X P_t Y'^T), an einsum for all fields at once.

Boundary nodes keep their normal coordinate (exact with the spectral trunk up to float32
roundoff, which this removes) and every node is clipped to the unit square, so moved
meshes cover the same domain. Inverted cells are *not* repaired here: the host counts
them and falls back to the classical mover (:func:`workbench.compute.moving.run_mover`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from workbench.core.errors import ParamError
from workbench.core.mesh import Mesh
from workbench.core.monitors import MonitorSpec, monitor_values
from workbench.core.recovery import GradientRecovery
from workbench.core.transfer import interpolation_matrix

from .checkpoint import load_checkpoint
from .grid_monitor import grid_points
from .network import DMMNetwork, potential_gradient

#: How far a mesh's bounding box may differ from [0, 1]^2 and its area from 1 (relative).
DOMAIN_TOLERANCE = 1e-9


class DMMMover:
    """A loaded checkpoint: the network, its document and the monitor settings it was trained for."""

    def __init__(self, network: DMMNetwork, document: dict, path: Path | None = None) -> None:
        self.network, self.document, self.path = network, document, path
        self.spec = MonitorSpec(**document["monitor"])
        self.branch_grid = network.architecture.branch_grid

    @classmethod
    def load(cls, path: str | Path, spec: MonitorSpec | None = None, device: str = "cpu") -> DMMMover:
        network, document = load_checkpoint(path, spec, device)
        return cls(network, document, Path(path))

    # -- what the network accepts ------------------------------------------------------------

    def check_mesh(self, mesh: Mesh) -> None:
        """ParamError unless ``mesh`` is a planar triangle mesh covering exactly the unit square it was trained on."""
        if mesh.gdim != 2 or mesh.simplices.shape[1] != 3:
            raise ParamError("the DMM mover moves planar triangle meshes")
        low, high = mesh.points.min(axis=0), mesh.points.max(axis=0)
        area = float(np.abs(mesh.simplex_measures).sum())
        if (np.abs(low) > DOMAIN_TOLERANCE).any() or (np.abs(high - 1.0) > DOMAIN_TOLERANCE).any() \
                or abs(area - 1.0) > 1e-6:
            raise ParamError(f"the DMM checkpoint {self._name()} was trained on the unit square [0, 1]^2; this mesh "
                             f"spans [{low[0]:g}, {high[0]:g}] x [{low[1]:g}, {high[1]:g}] with area {area:g} "
                             "(use the classical mover, movers.monge_ampere)")

    # -- the batched map ---------------------------------------------------------------------------

    def monitors(self, mesh: Mesh, fields: np.ndarray) -> np.ndarray:
        """(T, N) nodal monitors of (T, N) fields with the checkpoint's settings (one gradient recovery for all)."""
        recovery = GradientRecovery(mesh.points, mesh.simplices)
        return np.stack([monitor_values(mesh, field, self.spec, recovery) for field in fields])

    def branch_inputs(self, mesh: Mesh, nodal_monitors: np.ndarray) -> np.ndarray:
        """(T, G, G) monitors on the branch grid: P1 interpolation, one sparse product for all T fields."""
        g = self.branch_grid
        sampling = interpolation_matrix(mesh, grid_points(g))
        return np.asarray(sampling @ np.asarray(nodal_monitors, dtype=np.float64).T).T.reshape(-1, g, g)

    def displace(self, mesh: Mesh, branch_inputs: np.ndarray) -> np.ndarray:
        """(T, N, 2) moved nodes x = xi + grad phi(xi; u_t) for T branch inputs on one mesh, one forward pass."""
        self.check_mesh(mesh)
        with torch.inference_mode(False), torch.no_grad():  # a plain no-grad pass also inside inference mode
            parameter = next(self.network.parameters())
            xi = torch.tensor(mesh.points, dtype=parameter.dtype, device=parameter.device)
            coefficients = self.network.coefficients(
                torch.as_tensor(branch_inputs, dtype=parameter.dtype, device=parameter.device))
            gradient = potential_gradient(coefficients, self.network.trunk_derivatives(xi))
        moved = mesh.points[None] + gradient.double().cpu().numpy()
        return keep_in_square(mesh.points, moved)

    def move_fields(self, mesh: Mesh, fields: np.ndarray) -> np.ndarray:
        """(T, N, 2) moved nodes for (T, N) nodal fields on one mesh (a trajectory)."""
        fields = np.atleast_2d(np.asarray(fields, dtype=np.float64))
        if fields.shape[1] != mesh.n_points:
            raise ParamError(f"the fields have {fields.shape[1]} values each, the mesh {mesh.n_points} points")
        return self.displace(mesh, self.branch_inputs(mesh, self.monitors(mesh, fields)))

    def _name(self) -> str:
        return self.path.name if self.path else "in memory"


def keep_in_square(xi: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """Nodes on a side of [0, 1]^2 keep their normal coordinate; all nodes stay inside the square."""
    moved = np.clip(moved, 0.0, 1.0)
    for axis in range(2):
        on_side = (xi[:, axis] == 0.0) | (xi[:, axis] == 1.0)
        moved[:, on_side, axis] = xi[on_side, axis]
    return moved


def move_many(mover: DMMMover, meshes: Mesh | Sequence[Mesh], fields: Sequence[np.ndarray] | np.ndarray):
    """Moved nodes for many fields in one branch pass.

    ``meshes`` is one mesh (``fields``: (T, N), a trajectory; returns a (T, N, 2) array)
    or one mesh per field (returns a list of (N_t, 2) arrays; fields of the same mesh
    object share its trunk pass).
    """
    if isinstance(meshes, Mesh):
        return mover.move_fields(meshes, np.asarray(fields))
    if len(meshes) != len(fields):
        raise ParamError(f"{len(meshes)} meshes for {len(fields)} fields")
    groups: dict[int, list[int]] = {}
    for index, mesh in enumerate(meshes):
        groups.setdefault(id(mesh), []).append(index)
    inputs = [None] * len(fields)
    for indices in groups.values():
        mesh = meshes[indices[0]]
        stacked = np.stack([np.asarray(fields[i], dtype=np.float64) for i in indices])
        for i, branch in zip(indices, mover.branch_inputs(mesh, mover.monitors(mesh, stacked)), strict=True):
            inputs[i] = branch
    result: list[np.ndarray] = [np.empty(0)] * len(fields)
    with torch.inference_mode(False), torch.no_grad():
        parameter = next(mover.network.parameters())
        coefficients = mover.network.coefficients(torch.as_tensor(np.stack(inputs), dtype=parameter.dtype))
        for indices in groups.values():
            mesh = meshes[indices[0]]
            mover.check_mesh(mesh)
            trunk = mover.network.trunk_derivatives(torch.tensor(mesh.points, dtype=parameter.dtype))
            moved = mesh.points[None] + potential_gradient(coefficients[indices], trunk).double().numpy()
            for i, points in zip(indices, keep_in_square(mesh.points, moved), strict=True):
                result[i] = points
    return result
