"""Predicting on a user's mesh: resample the input to the surrogate's grid, predict, and come back.

A surrogate learned on a grid (``darcy.fd``: the (n + 1)^2 nodes of the unit square)
answers on a 2D triangle (or mixed) mesh covering the same domain in three steps:

(a) **input, mesh -> grid.** The input field is evaluated at the grid nodes, located
    in the mesh with :class:`workbench.core.transfer.PointLocator`: a point field by its
    P1 interpolant, a cell field by the value of the cell holding the node (a node on
    an edge between two cells takes one of them). A grid node outside the mesh is
    refused (:class:`~workbench.core.errors.ParamError` naming the fraction outside),
    unless it is outside by roundoff only (``COVER_TOLERANCE`` times the domain size).
(b) **predict** on the grid, exactly as on a data-set sample.
(c) **output, grid -> mesh.** The grid prediction is interpolated bilinearly (on each
    grid cell, the tensor-product interpolant of its four nodes) to the mesh nodes.

A DeepONet skips (c): its trunk net takes coordinates, so it is evaluated at the mesh
nodes themselves (:meth:`.models.DeepONet.evaluate_at`, between the checkpoint's input
encoder and output decoder). Its branch net still sees the input at its sensors, which
it takes from the grid input of (a) as in training.

Errors are measured in the discrete L2 norm of the mesh, with lumped P1 mass weights
for point fields (each node weighs a third of the area of its triangles) and cell
areas for cell fields; :class:`ResamplingReport` says what each number means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from workbench.core.errors import ParamError
from workbench.core.field import Field
from workbench.core.mesh import Mesh
from workbench.core.transfer import PointLocator, interpolate
from workbench.io.checkpoints import CheckpointError

#: A grid node (or mesh node) this far outside, relative to the domain's size, counts as on the boundary.
COVER_TOLERANCE = 1e-9
#: Architectures whose networks are defined on grids of any size.
ANY_GRID = frozenset({"fno", "mgno"})
#: A cell's value "changed" in the input round trip when it moved by more than this times max |input|.
CHANGED_TOLERANCE = 1e-6
#: An input this far outside the training range, relative to the range's scale, counts as inside (rounding).
RANGE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ResamplingReport:
    """What resampling between the mesh and the grid costs, kept apart from the model's own error.

    - ``input_location``: "point" or "cell", as given.
    - ``grid``: the grid the input was resampled to (the checkpoint's training grid), (ny, nx).
    - ``input_relative_l2``: the input round trip. The grid input is interpolated back
      to the mesh (bilinearly: the field the grid represents), at the mesh nodes for a
      point input and at the cell centroids for a cell input, and compared with the
      given values: ||a_mesh - I(a_grid)|| / ||a_mesh|| in the mesh's L2 norm (lumped
      mass, or cell areas). It measures how much of the input the grid cannot
      represent: 0 when the mesh's nodes are the grid's nodes.
    - ``input_changed_fraction``: cell inputs only (None for point inputs): the fraction
      of cells, by area, whose round-trip value differs from their own by more than
      ``CHANGED_TOLERANCE`` * max |a|. For a piecewise-constant coefficient these are
      the cells near an interface that the grid blurs or misplaces.
    - ``output_path``: "grid -> bilinear to the mesh nodes" or, for DeepONet, "trunk at
      the mesh nodes" (no grid round trip for the output).
    - ``output_interpolation_error``: an estimate of what step (c) adds, None when there
      is no step (c) (DeepONet). It is the relative L2, at the mesh nodes, between the
      bilinear interpolant of the grid prediction and its bicubic spline interpolant
      (``scipy.interpolate.RectBivariateSpline``, k = 3, through the same grid values):
      the classic estimate of an interpolation error by a higher-order interpolant,
      which needs no extra prediction and does not depend on the model. Checked on
      Darcy solutions resolved 4x finer (seeds 100-102): on the 17 x 17 grid the true
      bilinear error is 1.2-1.5 %, the estimate 1.2-1.3 %; on 33 x 33, 0.35-0.48 %
      and 0.32-0.42 %.
    - ``output_resolution_change``: models defined on any grid (FNO, MgNO) only, None
      otherwise or when not asked for: the whole pipeline is repeated on the grid with
      the spacing halved ((2 ny - 1) x (2 nx - 1) nodes, the input resampled to it from
      the mesh as in (a)) and the number is ||I_h u_h - I_h/2 u_h/2|| / ||I_h/2 u_h/2||
      at the mesh nodes. It is *not* an interpolation error: it is dominated by how much
      the model's answer changes when it sees a finer input than it was trained on
      (zero-shot super-resolution), which can be far larger (a small FNO trained on
      17 x 17 Darcy: about 0.2, against an interpolation error near 0.03). Large values
      say: do not expect a finer grid to help this checkpoint.
    - ``output_reference_grid``: the finer grid of ``output_resolution_change``, or None.
    - ``grid_nodes_snapped``: grid nodes outside the mesh by roundoff only, moved onto it.
    """

    input_location: str
    grid: tuple[int, int]
    input_relative_l2: float
    input_changed_fraction: float | None
    output_path: str
    output_interpolation_error: float | None
    output_resolution_change: float | None
    output_reference_grid: tuple[int, int] | None
    grid_nodes_snapped: int

    def to_dict(self) -> dict[str, Any]:
        return {"input_location": self.input_location, "grid": list(self.grid),
                "input_relative_l2": self.input_relative_l2, "input_changed_fraction": self.input_changed_fraction,
                "output_path": self.output_path, "output_interpolation_error": self.output_interpolation_error,
                "output_resolution_change": self.output_resolution_change,
                "output_reference_grid": None if self.output_reference_grid is None
                else list(self.output_reference_grid),
                "grid_nodes_snapped": self.grid_nodes_snapped}


@dataclass(frozen=True, eq=False)
class MeshPrediction:
    """The surrogate's prediction at the mesh nodes and what the resampling cost.

    ``values`` (n_points, C_out) float64; ``output_fields`` their names (``u`` for Darcy);
    ``grid_input`` (C_in, ny, nx) the resampled input the model saw; ``grid_prediction``
    (C_out, ny, nx) the prediction on the grid (for DeepONet too, for comparison).
    """

    mesh: Mesh
    values: np.ndarray
    output_fields: tuple[str, ...]
    report: ResamplingReport
    grid_input: np.ndarray
    grid_prediction: np.ndarray

    def field(self, name: str | None = None) -> np.ndarray:
        """The (n_points,) values of one output field (the first when name is None)."""
        index = 0 if name is None else self.output_fields.index(name)
        return self.values[:, index]

    def fields(self) -> dict[str, Field]:
        """The prediction as point fields of the mesh, by name (ready for a Frame)."""
        return {name: Field(name, self.values[:, k].copy(), "point") for k, name in enumerate(self.output_fields)}


def predict_on_mesh(surrogate, mesh: Mesh, input_values, *, input_location: str = "point",
                    resolution_check: bool = True, input_range=None) -> MeshPrediction:
    """Predict with ``surrogate`` (a :class:`.surrogate.NeuralOperatorSurrogate`) on ``mesh``.

    ``input_values``: the input field on the mesh, (n_points,) or (n_points, C_in) for
    ``input_location="point"``, (n_cells,) or (n_cells, C_in) for ``"cell"``. Only 2D
    non-periodic grid tasks (Darcy) are supported; the mesh must be a 2D mesh covering
    the task's domain. ``resolution_check=False`` skips the finer-grid prediction
    of :attr:`ResamplingReport.output_resolution_change`. See the module docstring
    for the steps and :class:`ResamplingReport` for the numbers.

    The input must lie in ``input_range`` ([[min, max]] per input channel; default:
    the checkpoint's ``task.input_range``, the range of its training inputs), else
    ParamError. Outside it the answer is an extrapolation no training pair backs and
    no report can bound; for Darcy a coefficient <= 0 is not even a well-posed
    problem. A checkpoint without a recorded range (written before ranges were
    recorded), given none, is not checked.
    """
    task = surrogate.task
    _check_task(surrogate)
    _check_mesh(mesh)
    grid = tuple(int(points) for points in task["grid"])  # (ny, nx)
    domain = _domain(task)
    in_channels = int(task["in_channels"])
    values = _input_array(input_values, mesh, input_location, in_channels)
    _check_input_range(surrogate, values, input_range if input_range is not None else task.get("input_range"))
    _check_mesh_inside(mesh, domain)

    locator = PointLocator.for_mesh(mesh)
    grid_input, snapped = _to_grid(mesh, locator, values, input_location, grid, domain)
    grid_prediction = surrogate.predict(grid_input[None])[0]  # (C_out, ny, nx)

    relative, changed = _input_round_trip(mesh, values, input_location, grid_input, domain)
    kind = surrogate.document.get("architecture", {}).get("kind")
    weights = _node_weights(mesh)
    points = mesh.points[:, :2]
    interpolation_error = resolution_change = reference_grid = None
    if kind == "deeponet":
        mesh_values = _deeponet_at_nodes(surrogate, grid_input, points, domain)
        path = "trunk at the mesh nodes"
    else:
        mesh_values = bilinear(grid_prediction, points, domain)
        path = "grid -> bilinear to the mesh nodes"
        interpolation_error = _relative_l2(mesh_values - bicubic(grid_prediction, points, domain), mesh_values,
                                           weights)
        if resolution_check and kind in ANY_GRID:
            reference_grid = (2 * grid[0] - 1, 2 * grid[1] - 1)
            fine_input, _ = _to_grid(mesh, locator, values, input_location, reference_grid, domain)
            fine = bilinear(surrogate.predict(fine_input[None])[0], points, domain)
            resolution_change = _relative_l2(mesh_values - fine, fine, weights)
    report = ResamplingReport(input_location=input_location, grid=grid, input_relative_l2=relative,
                              input_changed_fraction=changed, output_path=path,
                              output_interpolation_error=interpolation_error,
                              output_resolution_change=resolution_change, output_reference_grid=reference_grid,
                              grid_nodes_snapped=snapped)
    return MeshPrediction(mesh=mesh, values=mesh_values, output_fields=tuple(task["output_fields"]), report=report,
                          grid_input=grid_input, grid_prediction=grid_prediction)


# ---------------------------------------------------------------------------------------
# Checks


def _name(surrogate) -> str:
    path = getattr(surrogate, "path", None)
    return path.name if path is not None else "the surrogate"


#: What predicting on a mesh reads from a checkpoint's task section.
MESH_TASK_KEYS = ("dim", "grid", "domain", "in_channels", "output_fields")


def _check_task(surrogate) -> None:
    task = surrogate.task
    missing = [key for key in MESH_TASK_KEYS if key not in task]
    if missing:
        raise CheckpointError(f"{_name(surrogate)} cannot predict on a mesh: its task section lacks "
                              f"{', '.join(missing)}")
    if task.get("periodic"):
        raise ParamError(f"{_name(surrogate)} learned {task['solver']} on a periodic grid; predicting on a mesh is "
                         "only supported for non-periodic 2D grid tasks such as darcy.fd (a periodic field has no "
                         "boundary for a mesh to cover)")
    if int(task["dim"]) != 2:
        raise ParamError(f"{_name(surrogate)} learned a {task['dim']}D task ({task['solver']}); predicting on a mesh "
                         "needs a 2D grid task such as darcy.fd")


def _check_mesh(mesh: Mesh) -> None:
    if mesh.dim != 2 or mesh.gdim != 2:
        raise ParamError(f"predicting on a mesh needs a 2D mesh in the plane; this one has {mesh.dim}D cells "
                         f"in {mesh.gdim}D")


def _domain(task: Mapping[str, Any]) -> tuple[tuple[float, float], tuple[float, float]]:
    """((x0, x1), (y0, y1)): the task's domain, intervals in coordinate order (x, y)."""
    (x0, x1), (y0, y1) = task["domain"]
    return (float(x0), float(x1)), (float(y0), float(y1))


def _describe(domain) -> str:
    (x0, x1), (y0, y1) = domain
    return f"[{x0:g}, {x1:g}] x [{y0:g}, {y1:g}]"


def _input_array(values, mesh: Mesh, location: str, channels: int) -> np.ndarray:
    """The input as (count, C_in) float64, checked against the mesh and the task."""
    if location not in ("point", "cell"):
        raise ParamError(f"input_location must be 'point' or 'cell', not {location!r}")
    count = mesh.n_points if location == "point" else mesh.n_cells
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape != (count, channels):
        expected = f"({count},)" if channels == 1 else f"({count}, {channels})"
        raise ParamError(f"the {location} input has shape {np.shape(values)}; this mesh and model need {expected} "
                         f"({count} {location}s, {channels} input channel{'s' if channels > 1 else ''})")
    if not np.all(np.isfinite(array)):
        raise ParamError("the input field has non-finite values")
    return array


def _check_input_range(surrogate, values: np.ndarray, ranges) -> None:
    """ParamError naming the channel, the given range and the trained one, unless every value lies in ``ranges``.

    A relative tolerance (``RANGE_TOLERANCE`` of the range's scale) forgives the
    float32 rounding of the recorded bounds.
    """
    if ranges is None:
        return
    fields = list(surrogate.task.get("input_fields") or [f"channel {c}" for c in range(values.shape[1])])
    for channel, (low, high) in enumerate(ranges):
        given_low, given_high = float(values[:, channel].min()), float(values[:, channel].max())
        slack = RANGE_TOLERANCE * max(abs(low), abs(high), high - low)
        if given_low < low - slack or given_high > high + slack:
            raise ParamError(f"the input field '{fields[channel]}' ranges over [{given_low:g}, {given_high:g}], "
                             f"outside [{low:g}, {high:g}] where {_name(surrogate)} was trained: its answer there would "
                             "be an extrapolation that no training sample backs; give an input within that range")


def _check_mesh_inside(mesh: Mesh, domain) -> None:
    """Mesh nodes outside the domain would need the prediction extrapolated: refused."""
    (x0, x1), (y0, y1) = domain
    tolerance = COVER_TOLERANCE * max(x1 - x0, y1 - y0)
    x, y = mesh.points[:, 0], mesh.points[:, 1]
    outside = (x < x0 - tolerance) | (x > x1 + tolerance) | (y < y0 - tolerance) | (y > y1 + tolerance)
    if outside.any():
        raise ParamError(f"{outside.mean():.1%} of the mesh nodes lie outside the surrogate's domain "
                         f"{_describe(domain)}, where it cannot predict")


# ---------------------------------------------------------------------------------------
# Mesh <-> grid


def grid_nodes(shape: tuple[int, int], domain) -> np.ndarray:
    """The nodes of a nodal (ny, nx) grid on the domain as (ny * nx, 2) points (x, y), x fastest."""
    (x0, x1), (y0, y1) = domain
    y, x = np.meshgrid(np.linspace(y0, y1, shape[0]), np.linspace(x0, x1, shape[1]), indexing="ij")
    return np.column_stack([x.ravel(), y.ravel()])


def _to_grid(mesh: Mesh, locator: PointLocator, values: np.ndarray, location: str, shape, domain):
    """The input (count, C) at the nodes of the (ny, nx) grid: (C, ny, nx), and how many nodes were snapped."""
    targets = grid_nodes(shape, domain)
    found = locator.locate(targets)
    snapped = np.flatnonzero(found.snapped)
    if snapped.size:
        corners = mesh.points[mesh.simplices[found.simplices[snapped]]]  # (m, 3, 2)
        projected = np.einsum("mi,mid->md", found.weights[snapped], corners)
        distance = np.linalg.norm(projected - targets[snapped], axis=1)
        (x0, x1), (y0, y1) = domain
        outside = distance > COVER_TOLERANCE * max(x1 - x0, y1 - y0)
        if outside.any():
            fraction = outside.sum() / len(targets)
            low, high = mesh.points.min(axis=0), mesh.points.max(axis=0)
            raise ParamError(f"the mesh does not cover the surrogate's domain {_describe(domain)}: "
                             f"{fraction:.1%} of the {shape[0]} x {shape[1]} grid nodes lie outside it (mesh "
                             f"bounding box [{low[0]:g}, {high[0]:g}] x [{low[1]:g}, {high[1]:g}]); the model needs "
                             "the input on the whole domain")
    if location == "point":
        at_nodes = interpolate(found, mesh.simplices, values)  # (P, C)
    else:
        at_nodes = values[mesh.simplex_cells[found.simplices]]
    return np.ascontiguousarray(at_nodes.T.reshape(values.shape[1], *shape)), int(snapped.size)


def bilinear(grid_values: np.ndarray, points: np.ndarray, domain) -> np.ndarray:
    """The bilinear interpolant of grid_values (C, ny, nx) on the nodal grid of ``domain`` at points (P, 2): (P, C).

    Points are clipped into the domain first (the mesh may reach outside by roundoff).
    """
    grid_values = np.asarray(grid_values, dtype=np.float64)
    ny, nx = grid_values.shape[1:]
    (x0, x1), (y0, y1) = domain
    tx = np.clip((points[:, 0] - x0) / (x1 - x0), 0.0, 1.0) * (nx - 1)
    ty = np.clip((points[:, 1] - y0) / (y1 - y0), 0.0, 1.0) * (ny - 1)
    i = np.minimum(np.floor(tx).astype(np.int64), nx - 2)
    j = np.minimum(np.floor(ty).astype(np.int64), ny - 2)
    fx, fy = tx - i, ty - j
    v = grid_values
    result = ((1 - fy) * ((1 - fx) * v[:, j, i] + fx * v[:, j, i + 1])
              + fy * ((1 - fx) * v[:, j + 1, i] + fx * v[:, j + 1, i + 1]))
    return np.ascontiguousarray(result.T)


def bicubic(grid_values: np.ndarray, points: np.ndarray, domain) -> np.ndarray:
    """The bicubic spline interpolant (through the nodes) of grid_values (C, ny, nx) at points (P, 2): (P, C)."""
    from scipy.interpolate import RectBivariateSpline

    ny, nx = grid_values.shape[1:]
    (x0, x1), (y0, y1) = domain
    y, x = np.linspace(y0, y1, ny), np.linspace(x0, x1, nx)
    px, py = np.clip(points[:, 0], x0, x1), np.clip(points[:, 1], y0, y1)
    columns = [RectBivariateSpline(y, x, channel, kx=min(3, nx - 1), ky=min(3, ny - 1), s=0)(py, px, grid=False)
               for channel in np.asarray(grid_values, dtype=np.float64)]
    return np.column_stack(columns)


def _node_weights(mesh: Mesh) -> np.ndarray:
    """Lumped P1 mass: each node gets 1/3 of the area of each triangle around it."""
    corners = mesh.simplices.shape[1]
    return np.bincount(mesh.simplices.ravel(), np.repeat(mesh.simplex_measures / corners, corners), mesh.n_points)


def _relative_l2(difference: np.ndarray, reference: np.ndarray, weights: np.ndarray) -> float:
    """sqrt(sum w |difference|^2 / sum w |reference|^2) over rows (and channels)."""
    norm = np.sqrt(np.sum(weights[:, None] * reference**2))
    error = np.sqrt(np.sum(weights[:, None] * difference**2))
    return float(error / norm) if norm > 0 else float(error)


def _input_round_trip(mesh: Mesh, values: np.ndarray, location: str, grid_input: np.ndarray, domain):
    """(relative L2, changed fraction or None) of the grid input read back on the mesh."""
    if location == "point":
        back = bilinear(grid_input, mesh.points[:, :2], domain)
        return _relative_l2(values - back, values, _node_weights(mesh)), None
    centroids = np.zeros((mesh.n_cells, 2))
    areas = mesh.cell_measures
    np.add.at(centroids, mesh.simplex_cells,
              mesh.points[mesh.simplices].mean(axis=1) * mesh.simplex_measures[:, None])
    centroids /= areas[:, None]
    back = bilinear(grid_input, centroids, domain)
    scale = np.max(np.abs(values)) or 1.0
    changed = np.any(np.abs(values - back) > CHANGED_TOLERANCE * scale, axis=1)
    return _relative_l2(values - back, values, areas), float(areas[changed].sum() / areas.sum())


def _deeponet_at_nodes(surrogate, grid_input: np.ndarray, points: np.ndarray, domain) -> np.ndarray:
    """DeepONet's prediction at the mesh nodes: decode(evaluate_at(encode(a on the grid), nodes in [0, 1]^2))."""
    model = surrogate.model
    (x0, x1), (y0, y1) = domain
    unit = np.column_stack([(points[:, 0] - x0) / (x1 - x0), (points[:, 1] - y0) / (y1 - y0)]).clip(0.0, 1.0)
    a = torch.as_tensor(grid_input[None], dtype=surrogate.dtype, device=surrogate.device)
    at = torch.as_tensor(unit, dtype=surrogate.dtype, device=surrogate.device)
    with torch.inference_mode():
        z = model.network.evaluate_at(model.input_normalizer.encode(a), at)  # (1, C_out, P), normalised
        u = model.output_normalizer.decode(z)
    return np.ascontiguousarray(u[0].to("cpu", torch.float64).numpy().T)
