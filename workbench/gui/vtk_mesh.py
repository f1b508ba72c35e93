"""Meshes and fields as VTK data, without copying field values where VTK allows it."""

from __future__ import annotations

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkUnstructuredGrid

from ..core.mesh import Mesh

#: meshio cell type name -> VTK cell type id (vtkCellType.h).
VTK_CELL_TYPES = {
    "vertex": 1, "line": 3, "triangle": 5, "quad": 9, "tetra": 10, "hexahedron": 12, "wedge": 13, "pyramid": 14,
    "line3": 21, "triangle6": 22, "quad8": 23, "tetra10": 24, "hexahedron20": 25, "wedge15": 26, "pyramid13": 27,
    "quad9": 28, "hexahedron27": 29, "triangle7": 34,
}


def padded_points(points: np.ndarray) -> np.ndarray:
    """(n, 3) float64 coordinates: VTK always works in 3D."""
    if points.shape[1] == 3:
        return np.ascontiguousarray(points, dtype=np.float64)
    padded = np.zeros((len(points), 3))
    padded[:, : points.shape[1]] = points
    return padded


def to_vtk_grid(mesh: Mesh) -> vtkUnstructuredGrid:
    """The domain cells of ``mesh`` as a vtkUnstructuredGrid (points and cells copied once)."""
    grid = vtkUnstructuredGrid()
    points = vtkPoints()
    points.SetData(numpy_to_vtk(padded_points(mesh.points), deep=True))
    grid.SetPoints(points)
    types, offsets, connectivity, start = [], [np.zeros(1, dtype=np.int64)], [], 0
    for block in mesh.cells:
        conn = np.asarray(block.connectivity, dtype=np.int64)
        types.append(np.full(len(conn), VTK_CELL_TYPES[block.type], dtype=np.uint8))
        offsets.append(start + conn.shape[1] * np.arange(1, len(conn) + 1))
        connectivity.append(conn.ravel())
        start += conn.size
    cells = vtkCellArray()
    cells.SetData(
        numpy_to_vtkIdTypeArray(np.concatenate(offsets).astype(np.int64), deep=True),
        numpy_to_vtkIdTypeArray(np.concatenate(connectivity), deep=True),
    )
    cell_types = numpy_to_vtk(np.concatenate(types), deep=True, array_type=3)  # VTK_UNSIGNED_CHAR
    grid.SetCells(cell_types, cells)
    return grid


def field_array(name: str, values: np.ndarray):
    """A VTK array sharing memory with ``values`` (the caller keeps ``values`` alive)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    array = numpy_to_vtk(values, deep=False)
    array.SetName(name)
    return array, values
