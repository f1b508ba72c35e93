"""Reference-cell tables for the cell types meshio reads (VTK node ordering).

Each cell type is described by its topological dimension, how many of its nodes
are corners (higher-order cells list corners first), the corner indices of its
facets, and a split into simplices used for measures and quadrature.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class CellKind:
    """Geometry of one reference cell."""

    name: str
    dim: int
    corners: int
    facets: tuple[tuple[int, ...], ...]
    simplices: tuple[tuple[int, ...], ...]

    @property
    def is_simplex(self) -> bool:
        return self.corners == self.dim + 1


_LINE = CellKind("line", 1, 2, ((0,), (1,)), ((0, 1),))
_TRIANGLE = CellKind("triangle", 2, 3, ((0, 1), (1, 2), (2, 0)), ((0, 1, 2),))
_QUAD = CellKind("quad", 2, 4, ((0, 1), (1, 2), (2, 3), (3, 0)), ((0, 1, 2), (0, 2, 3)))
_TETRA = CellKind(
    "tetra", 3, 4, ((0, 2, 1), (0, 1, 3), (1, 2, 3), (0, 3, 2)), ((0, 1, 2, 3),)
)
_HEXAHEDRON = CellKind(
    "hexahedron",
    3,
    8,
    ((0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)),
    # Six tetrahedra around the main diagonal 0-6.
    ((0, 1, 2, 6), (0, 2, 3, 6), (0, 3, 7, 6), (0, 7, 4, 6), (0, 4, 5, 6), (0, 5, 1, 6)),
)
_WEDGE = CellKind(
    "wedge",
    3,
    6,
    ((0, 1, 2), (3, 5, 4), (0, 3, 4, 1), (1, 4, 5, 2), (2, 5, 3, 0)),
    ((0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5)),
)
_PYRAMID = CellKind(
    "pyramid",
    3,
    5,
    ((0, 3, 2, 1), (0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4)),
    ((0, 1, 2, 4), (0, 2, 3, 4)),
)
_VERTEX = CellKind("vertex", 0, 1, (), ((0,),))

_BY_NAME = {
    "vertex": _VERTEX,
    "line": _LINE,
    "line3": _LINE,
    "triangle": _TRIANGLE,
    "triangle6": _TRIANGLE,
    "triangle7": _TRIANGLE,
    "quad": _QUAD,
    "quad8": _QUAD,
    "quad9": _QUAD,
    "tetra": _TETRA,
    "tetra10": _TETRA,
    "hexahedron": _HEXAHEDRON,
    "hexahedron20": _HEXAHEDRON,
    "hexahedron27": _HEXAHEDRON,
    "wedge": _WEDGE,
    "wedge15": _WEDGE,
    "pyramid": _PYRAMID,
    "pyramid13": _PYRAMID,
}
CELL_KINDS = MappingProxyType(_BY_NAME)

#: meshio type name of a facet with the given number of corners, by facet dimension.
FACET_TYPE = MappingProxyType({(0, 1): "vertex", (1, 2): "line", (2, 3): "triangle", (2, 4): "quad"})


def cell_kind(type_name: str) -> CellKind | None:
    """The reference cell for a meshio type name, or None if it is not supported."""
    return _BY_NAME.get(type_name)
