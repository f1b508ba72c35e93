"""Immutable meshes read through meshio, validated before anything computes on them.

A :class:`Mesh` holds the *domain* (the cells of the highest topological dimension)
and its *boundary* (the facets that belong to exactly one domain cell). Physical
tags from gmsh files are kept: domain cells carry their region tag, and boundary
facets inherit the tag of the lower-dimensional elements the file lists for them,
so solvers can impose boundary conditions by name ("hole", "outer", ...).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .cells import FACET_TYPE, CellKind, cell_kind
from .errors import MeshError
from .geometry import simplex_measures

#: Name that selects every boundary facet, whatever its tag.
ALL_BOUNDARY = "boundary"

#: A cell whose measure is below this fraction of (bounding-box diagonal)^dim is degenerate.
DEGENERATE_RELATIVE_MEASURE = 1e-12


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class CellBlock:
    """Cells of one type: connectivity (n, nodes per cell) and an integer tag per cell (0 = none)."""

    type: str
    connectivity: np.ndarray
    tags: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "connectivity", _frozen(np.asarray(self.connectivity, dtype=np.int64)))
        object.__setattr__(self, "tags", _frozen(np.asarray(self.tags, dtype=np.int64)))

    @property
    def kind(self) -> CellKind:
        kind = cell_kind(self.type)
        if kind is None:  # guarded by Mesh construction; kept for direct users
            raise MeshError(f"unsupported cell type '{self.type}'")
        return kind

    @property
    def corners(self) -> np.ndarray:
        """Corner nodes only (higher-order cells list their corners first)."""
        return self.connectivity[:, : self.kind.corners]

    def __len__(self) -> int:
        return len(self.connectivity)


@dataclass(frozen=True, eq=False)
class Mesh:
    """A validated, immutable mesh.

    Build one with :func:`load_mesh`, :meth:`Mesh.from_meshio` or :meth:`Mesh.build`;
    the constructor itself trusts its arguments.
    """

    points: np.ndarray
    cells: tuple[CellBlock, ...]
    boundary: tuple[CellBlock, ...]
    physical_names: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    point_data: Mapping[str, np.ndarray] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", _frozen(np.asarray(self.points, dtype=np.float64)))
        object.__setattr__(self, "physical_names", MappingProxyType(dict(self.physical_names)))
        object.__setattr__(
            self, "point_data", MappingProxyType({k: _frozen(v) for k, v in self.point_data.items()})
        )

    # -- construction ---------------------------------------------------------------

    @classmethod
    def build(
        cls,
        points: np.ndarray,
        cells: Iterable[tuple[str, np.ndarray] | tuple[str, np.ndarray, np.ndarray | None]],
        *,
        physical_names: Mapping[str, tuple[int, int]] | None = None,
        point_data: Mapping[str, np.ndarray] | None = None,
        source: str | None = None,
    ) -> Mesh:
        """Validate raw arrays and assemble a mesh.

        ``cells`` lists (type, connectivity[, tags]) blocks in meshio's type names.
        The blocks of the highest dimension form the domain; blocks one dimension
        lower only label boundary facets with their tags.
        """
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or len(points) == 0:
            raise MeshError("the mesh has no points")
        blocks = [_as_block(*block) for block in cells]
        blocks = [b for b in blocks if len(b) > 0]
        dim = max((b.kind.dim for b in blocks), default=0)
        if dim == 0:
            raise MeshError("the mesh has no cells (only points or vertices)")
        _check_finite(points)
        for block in blocks:
            _check_indices(block, len(points))
        points = _drop_trailing_zero_axes(points, dim)
        domain = tuple(b for b in blocks if b.kind.dim == dim)
        labelled_facets = [b for b in blocks if b.kind.dim == dim - 1]
        mesh = cls(
            points=points,
            cells=domain,
            boundary=_exterior_facets(domain, labelled_facets, len(points)),
            physical_names=physical_names or {},
            point_data=point_data or {},
            source=source,
        )
        _check_not_degenerate(mesh)
        return mesh

    @classmethod
    def from_meshio(cls, raw, source: str | None = None) -> Mesh:
        """Convert a ``meshio.Mesh``; gmsh physical tags and names are kept."""
        physical = raw.cell_data.get("gmsh:physical")
        blocks = []
        for i, block in enumerate(raw.cells):
            tags = physical[i] if physical is not None else None
            blocks.append((block.type, block.data, tags))
        names = {
            str(name): (int(value[0]), int(value[1]))
            for name, value in (raw.field_data or {}).items()
            if np.size(value) >= 2
        }
        point_data = {
            name: np.asarray(values)
            for name, values in (raw.point_data or {}).items()
            if not name.startswith("gmsh:") and len(values) == len(raw.points)
        }
        return cls.build(raw.points, blocks, physical_names=names, point_data=point_data, source=source)

    # -- sizes ------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        """Topological dimension of the domain cells."""
        return self.cells[0].kind.dim

    @property
    def gdim(self) -> int:
        """Number of coordinates per point."""
        return self.points.shape[1]

    @property
    def n_points(self) -> int:
        return len(self.points)

    @property
    def n_cells(self) -> int:
        return sum(len(b) for b in self.cells)

    @property
    def is_simplicial(self) -> bool:
        return all(b.kind.is_simplex for b in self.cells)

    # -- geometry ---------------------------------------------------------------------

    @cached_property
    def simplices(self) -> np.ndarray:
        """The domain split into simplices, (n_simplices, dim + 1) point indices."""
        return _frozen(np.concatenate([_split(b) for b in self.cells]))

    @cached_property
    def simplex_cells(self) -> np.ndarray:
        """Index of the domain cell each simplex comes from."""
        parents, offset = [], 0
        for block in self.cells:
            per_cell = len(block.kind.simplices)
            parents.append(offset + np.repeat(np.arange(len(block)), per_cell))
            offset += len(block)
        return _frozen(np.concatenate(parents))

    @cached_property
    def simplex_measures(self) -> np.ndarray:
        return _frozen(simplex_measures(self.points, self.simplices))

    @cached_property
    def cell_measures(self) -> np.ndarray:
        """Length, area or volume of every domain cell, blocks in order."""
        measures = np.bincount(self.simplex_cells, weights=self.simplex_measures, minlength=self.n_cells)
        return _frozen(measures)

    @property
    def cell_tags(self) -> np.ndarray:
        """Region tag of every domain cell, blocks in order (0 = untagged)."""
        return np.concatenate([b.tags for b in self.cells])

    # -- boundary ---------------------------------------------------------------------

    def boundary_names(self) -> list[str]:
        """Names that select boundary facets: the tagged names present, and 'boundary'."""
        present = {int(t) for b in self.boundary for t in np.unique(b.tags)}
        named = [n for n, (tag, dim) in self.physical_names.items() if dim == self.dim - 1 and tag in present]
        return sorted(named) + [ALL_BOUNDARY]

    def boundary_facets(self, name: str = ALL_BOUNDARY) -> np.ndarray:
        """Corner indices of the boundary facets selected by a tag name.

        ``name`` is a physical name from the file, an integer tag written as text,
        or ``"boundary"`` for every exterior facet.
        """
        if not self.boundary:
            return np.empty((0, self.dim), dtype=np.int64)
        if len({b.corners.shape[1] for b in self.boundary}) > 1:
            raise MeshError("boundary facets of mixed shapes are not supported here")
        if name == ALL_BOUNDARY:
            return np.concatenate([b.corners for b in self.boundary])
        tag = self._tag_for(name)
        return np.concatenate([b.corners[b.tags == tag] for b in self.boundary])

    def _tag_for(self, name: str) -> int:
        entry = self.physical_names.get(name)
        if entry is not None and entry[1] == self.dim - 1:
            return entry[0]
        if name.isdigit():
            return int(name)
        known = ", ".join(self.boundary_names())
        raise MeshError(f"no boundary named '{name}' in this mesh (known: {known})")

    def summary(self) -> dict:
        """Plain-data description, for ``pdewb info`` and the GUI's mesh panel."""
        lower, upper = self.points.min(axis=0), self.points.max(axis=0)
        diameters = _bounding_diagonals(self.points, self.simplices)
        return {
            "source": self.source,
            "points": self.n_points,
            "dimension": self.dim,
            "coordinates": self.gdim,
            "cells": {b.type: len(b) for b in self.cells},
            "boundary_facets": sum(len(b) for b in self.boundary),
            "boundaries": {n: int(len(self.boundary_facets(n))) for n in self.boundary_names()},
            "bounds": [lower.tolist(), upper.tolist()],
            "measure": float(self.cell_measures.sum()),
            "h_min": float(diameters.min()),
            "h_max": float(diameters.max()),
            "point_data": sorted(self.point_data),
        }


# -- reading ------------------------------------------------------------------------


def mesh_extensions() -> dict[str, list[str]]:
    """File extensions meshio reads, with the format names behind each."""
    import meshio

    return dict(meshio.extension_to_filetypes)


def load_mesh(path: str | Path) -> Mesh:
    """Read and validate a mesh file in any format meshio reads.

    Raises :class:`MeshError` with a one-line message naming the file for every
    problem a user can cause: missing, empty, truncated or unparsable files,
    unknown formats, and meshes that are empty or geometrically invalid.
    """
    path = Path(path)
    if not path.exists():
        raise MeshError(f"{path}: no such file")
    if path.is_dir():
        raise MeshError(f"{path}: is a folder, not a mesh file")
    formats = _formats_for(path)
    if path.stat().st_size == 0:
        raise MeshError(f"{path.name}: the file is empty")
    raw = _read_with_meshio(path, formats)
    try:
        return Mesh.from_meshio(raw, source=str(path))
    except MeshError as error:
        raise MeshError(f"{path.name}: {error}") from None


def _formats_for(path: Path) -> list[str]:
    name = path.name.lower()
    table = mesh_extensions()
    for extension in sorted(table, key=len, reverse=True):
        if name.endswith(extension):
            return table[extension]
    known = " ".join(sorted(table))
    raise MeshError(f"{path.name}: unknown mesh format '{path.suffix or name}' (meshio reads: {known})")


def _meshio_reader(file_format: str):
    """meshio's reader for one format, called directly: ``meshio.read`` answers a
    ReadError by printing it and calling ``sys.exit(1)`` (meshio 5.3)."""
    import meshio

    try:
        from meshio._helpers import reader_map

        return reader_map[file_format]
    except (ImportError, KeyError):
        return lambda filename: meshio.read(filename, file_format=file_format)


#: meshio readers that loop forever on a truncated file; they get a file that stops them.
_LOOPS_AT_END = frozenset({"ansys"})


class _StopAtEnd:
    """A binary file that raises EOFError when its reader keeps reading past the end."""

    def __init__(self, file, patience: int = 100) -> None:
        self._file, self._patience = file, patience

    def _checked(self, data: bytes) -> bytes:
        if not data:
            self._patience -= 1
            if self._patience < 0:
                raise EOFError("unexpected end of file")
        return data

    def read(self, *args) -> bytes:
        return self._checked(self._file.read(*args))

    def readline(self, *args) -> bytes:
        return self._checked(self._file.readline(*args))

    def __getattr__(self, name: str):
        return getattr(self._file, name)


def _read_one(path: Path, file_format: str):
    reader = _meshio_reader(file_format)
    if file_format not in _LOOPS_AT_END:
        return reader(str(path))
    with open(path, "rb") as file:
        return reader(_StopAtEnd(file))


def _read_with_meshio(path: Path, formats: list[str]):
    failures = []
    for file_format in formats:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return _read_one(path, file_format)
        except (Exception, SystemExit) as error:  # noqa: BLE001 - any reader failure is a user-facing error
            failures.append((file_format, error))
    # The format whose reader ran out of data is the likely one; otherwise the last tried.
    truncated = [failure for failure in failures if _looks_truncated(failure[1])]
    file_format, error = (truncated or failures)[-1]
    raise MeshError(f"{path.name}: cannot read as {'/'.join(formats)}: {_describe_read_failure(error)}") from None


_TRUNCATION_HINTS = (
    "end of file", "eof", "no element found", "unclosed", "truncated", "unexpected end",
    "cannot reshape array of size",
)


def _error_chain(error: BaseException) -> list[BaseException]:
    """The error and the exceptions it was raised from (meshio often re-raises bare ReadErrors)."""
    chain: list[BaseException] = []
    while error is not None and error not in chain and len(chain) < 8:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _looks_truncated(error: BaseException) -> bool:
    return any(
        isinstance(e, EOFError) or any(hint in str(e).lower() for hint in _TRUNCATION_HINTS)
        for e in _error_chain(error)
    )


def _describe_read_failure(error: BaseException) -> str:
    chain = _error_chain(error)
    missing = next((e for e in chain if isinstance(e, ImportError)), None)
    if missing is not None:  # e.g. meshio's XDMF reader needs h5py
        package = getattr(missing, "name", None) or " ".join(str(missing).split())
        return f"reading this format needs the Python package '{package}', which is not installed"
    # The first error in the chain that says something, e.g. the ParseError under a bare ReadError.
    telling = next((e for e in chain if str(e).strip()), chain[0])
    text = " ".join(str(telling).split())
    if len(text) > 160:
        text = text[:157] + "..."
    detail = f"{type(telling).__name__}: {text}" if text else type(telling).__name__
    if _looks_truncated(error):
        return f"the file ends early, it looks truncated ({detail})"
    return f"the content is not valid ({detail})"


# -- validation and boundary extraction -------------------------------------------------


def _as_block(type_name: str, connectivity, tags=None) -> CellBlock:
    kind = cell_kind(type_name)
    if kind is None:
        raise MeshError(f"unsupported cell type '{type_name}'")
    connectivity = np.asarray(connectivity)
    if connectivity.ndim != 2:
        raise MeshError(f"cell block '{type_name}' has malformed connectivity")
    if not np.issubdtype(connectivity.dtype, np.integer):
        raise MeshError(f"cell block '{type_name}' has non-integer point indices")
    if tags is None:
        tags = np.zeros(len(connectivity), dtype=np.int64)
    return CellBlock(type_name, connectivity, np.asarray(tags).reshape(-1))


def _check_finite(points: np.ndarray) -> None:
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise MeshError(f"{int(bad.sum())} point(s) have NaN or infinite coordinates (first: point {first})")


def _check_indices(block: CellBlock, n_points: int) -> None:
    conn = block.connectivity
    if conn.size and (conn.min() < 0 or conn.max() >= n_points):
        worst = int(conn.max()) if conn.max() >= n_points else int(conn.min())
        raise MeshError(
            f"'{block.type}' cells refer to point {worst}, but the mesh has {n_points} points (indices 0..{n_points - 1})"
        )


def _drop_trailing_zero_axes(points: np.ndarray, dim: int) -> np.ndarray:
    """meshio pads 2D meshes with z = 0; a planar mesh is a 2D mesh."""
    while points.shape[1] > max(dim, 1) and not points[:, -1].any():
        points = points[:, :-1]
    return points


def _split(block: CellBlock) -> np.ndarray:
    corners = block.corners
    return np.concatenate([corners[:, list(s)] for s in block.kind.simplices])[
        _interleave(len(block), len(block.kind.simplices))
    ]


def _interleave(n_cells: int, per_cell: int) -> np.ndarray:
    """Reorder [all first simplices, all second, ...] to cell-major order."""
    return (np.arange(per_cell)[None, :] * n_cells + np.arange(n_cells)[:, None]).ravel()


def _bounding_diagonals(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    xs = points[corners]
    return np.linalg.norm(xs.max(axis=1) - xs.min(axis=1), axis=1)


def _check_not_degenerate(mesh: Mesh) -> None:
    offset = 0
    for block in mesh.cells:
        measures = mesh.cell_measures[offset : offset + len(block)]
        scale = _bounding_diagonals(mesh.points, block.corners) ** mesh.dim
        bad = measures <= DEGENERATE_RELATIVE_MEASURE * scale
        if bad.any():
            word = {1: "length", 2: "area", 3: "volume"}[mesh.dim]
            first = int(np.flatnonzero(bad)[0])
            raise MeshError(
                f"{int(bad.sum())} degenerate '{block.type}' cell(s) with zero {word} (first: cell {first})"
            )
        offset += len(block)


def _row_ids(rows: np.ndarray, n_points: int) -> np.ndarray:
    """One sortable key per row of sorted point indices, equal exactly when the rows are.

    Rows are packed into one int64 when they fit; otherwise each row's bytes are the key.
    """
    width = rows.shape[1]
    if width == 1:
        return rows[:, 0].astype(np.int64)
    if width * math.log2(max(n_points, 2)) < 62:
        ids = np.zeros(len(rows), dtype=np.int64)
        for column in range(width):
            ids = ids * n_points + rows[:, column]
        return ids
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    return rows.view(np.dtype((np.void, rows.dtype.itemsize * width))).ravel()


def _exterior_facets(
    domain: tuple[CellBlock, ...], labelled: list[CellBlock], n_points: int
) -> tuple[CellBlock, ...]:
    """Facets that belong to exactly one domain cell, tagged from the labelled facet blocks."""
    by_width: dict[int, list[np.ndarray]] = {}
    for block in domain:
        for local in block.kind.facets:
            by_width.setdefault(len(local), []).append(block.corners[:, list(local)])
    dim = domain[0].kind.dim
    result = []
    for width, pieces in sorted(by_width.items()):
        facets = np.concatenate(pieces)
        ids = _row_ids(np.sort(facets, axis=1), n_points)
        _, first, counts = np.unique(ids, return_index=True, return_counts=True)
        exterior = np.sort(first[counts == 1])
        tags = _facet_tags(ids[exterior], [b for b in labelled if b.kind.corners == width], n_points)
        result.append(CellBlock(FACET_TYPE[(dim - 1, width)], facets[exterior], tags))
    return tuple(result)


def _facet_tags(exterior_ids: np.ndarray, labelled: list[CellBlock], n_points: int) -> np.ndarray:
    tags = np.zeros(len(exterior_ids), dtype=np.int64)
    if not labelled:
        return tags
    labelled_ids = np.concatenate([_row_ids(np.sort(b.corners, axis=1), n_points) for b in labelled])
    labelled_tags = np.concatenate([b.tags for b in labelled])
    order = np.argsort(labelled_ids, kind="stable")
    sorted_ids = labelled_ids[order]
    position = np.clip(np.searchsorted(sorted_ids, exterior_ids), 0, max(len(sorted_ids) - 1, 0))
    found = sorted_ids[position] == exterior_ids
    tags[found] = labelled_tags[order][position[found]]
    return tags
