"""How boundary nodes of a triangle mesh move: sliding along the boundary, corners fixed.

The Monge-Ampere map x = xi + grad(phi) must map the domain onto itself. Its Neumann
condition grad(phi) . n = 0 lets a boundary node move only tangentially. So the
boundary polygon is cut at its *corners* (nodes where the boundary turns by more than
``CORNER_TURN_DEGREES``, and nodes that do not have exactly two boundary edges) into
*runs*, chains of boundary edges between two corners, or closed loops without one
(the hole of the sample plate). Every other boundary node slides along its run:

* its displacement keeps only the part along the local tangent t (the mean direction
  of its two boundary edges), a signed distance d = grad(phi) . t;
* it moves by d *along the run's original polygon*, in arc length s: s -> s + d,
  stopped at the corners that end an open run, wrapped around a closed one.

On a straight side this is plain sliding. On a curved boundary, a polygon that bends
a little at every node, a tangential move would leave the curve by O(d^2 / R), and a
projection back onto the nearest polygon point snaps every node displaced into the
outer normal cone of a convex vertex onto that vertex (nodes piled up on the hole of
the plate where the flow around it stagnates); moving in arc length does neither and
keeps the domain exactly. ``curved = "fixed"`` holds curved runs instead (their
neighbours then shear past them). Corners never move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.core.mesh import Mesh

#: A boundary node where the boundary turns by more than this is a corner (fixed).
CORNER_TURN_DEGREES = 30.0
#: A node whose boundary turns by less than this lies on a straight side (only for reporting).
STRAIGHT_TURN_DEGREES = 1e-6


@dataclass(frozen=True, eq=False)
class Run:
    """One chain of the boundary polygon: its vertices in order, their arc length, open or closed.

    A closed run repeats its first vertex at the end. ``members`` are the sliding nodes of
    the chain, ``positions`` their arc length.
    """

    vertices: np.ndarray  # (m, 2)
    arc: np.ndarray  # (m,)
    closed: bool
    members: np.ndarray
    positions: np.ndarray

    def point_at(self, s: np.ndarray) -> np.ndarray:
        """The polygon point at arc length s (clipped to the ends, or wrapped if closed)."""
        s = np.mod(s, self.arc[-1]) if self.closed else np.clip(s, 0.0, self.arc[-1])
        return np.column_stack([np.interp(s, self.arc, self.vertices[:, 0]),
                                np.interp(s, self.arc, self.vertices[:, 1])])


@dataclass(frozen=True, eq=False)
class BoundaryMotion:
    """The sliding boundary nodes, their tangents and runs, and the fixed nodes of one mesh.

    sliding: (s,) node indices, in the order of the runs' members; tangents: (s, 2) unit
    tangents, oriented along increasing arc length. fixed: corner (and, with
    curved = "fixed", curved) nodes. straight / curved: sliding nodes on straight /
    curved runs; curved_fixed: curved nodes held fixed.
    """

    sliding: np.ndarray
    tangents: np.ndarray
    runs: tuple[Run, ...]
    fixed: np.ndarray
    straight: int
    curved: int
    curved_fixed: int

    def describe(self) -> str:
        parts = [f"{self.straight} boundary nodes slide along straight sides"]
        if self.curved:
            parts.append(f"{self.curved} slide along curved boundaries (along the original polygon)")
        if self.curved_fixed:
            parts.append(f"{self.curved_fixed} on curved boundaries are held fixed")
        parts.append(f"{len(self.fixed) - self.curved_fixed} corners are fixed")
        return ", ".join(parts)

    def project_displacement(self, displacement: np.ndarray) -> np.ndarray:
        """Keep the tangential part at sliding nodes, nothing at fixed ones (a copy)."""
        projected = displacement.copy()
        along = (displacement[self.sliding] * self.tangents).sum(axis=1)
        projected[self.sliding] = along[:, None] * self.tangents
        projected[self.fixed] = 0.0
        return projected

    def place(self, reference: np.ndarray, displacement: np.ndarray) -> np.ndarray:
        """x = xi + displacement inside; sliding nodes moved along their run by the tangential part."""
        points = reference + displacement
        points[self.fixed] = reference[self.fixed]
        start = 0
        for run in self.runs:
            stop = start + len(run.members)
            along = (displacement[run.members] * self.tangents[start:stop]).sum(axis=1)
            points[run.members] = run.point_at(run.positions + along)
            start = stop
        return points


def classify_boundary(mesh: Mesh, curved: str = "slide") -> BoundaryMotion:
    """Corners, runs and tangents of the boundary of a planar triangle mesh."""
    edges = mesh.boundary_facets()
    points = mesh.points
    nodes = np.unique(edges)
    neighbours = _boundary_neighbours(edges, mesh.n_points)
    two = nodes[(neighbours[nodes] >= 0).all(axis=1) & (np.bincount(edges.ravel())[nodes] == 2)]
    incoming = _unit(points[two] - points[neighbours[two, 0]])
    outgoing = _unit(points[neighbours[two, 1]] - points[two])
    cos_turn = (incoming * outgoing).sum(axis=1)
    slides = np.zeros(mesh.n_points, dtype=bool)
    slides[two[cos_turn > np.cos(np.radians(CORNER_TURN_DEGREES))]] = True
    bent = np.zeros(mesh.n_points, dtype=bool)
    bent[two[cos_turn <= np.cos(np.radians(STRAIGHT_TURN_DEGREES))]] = True
    runs = _runs(points, neighbours, slides)
    curved_fixed = 0
    if curved == "fixed":
        kept = tuple(run for run in runs if not bent[run.members].any())
        curved_fixed = sum(len(run.members) for run in runs) - sum(len(run.members) for run in kept)
        runs = kept
    sliding = np.concatenate([run.members for run in runs]) if runs else np.zeros(0, dtype=np.int64)
    tangents = np.concatenate([_run_tangents(run) for run in runs]) if runs else np.zeros((0, 2))
    on_curve = bent[sliding]
    return BoundaryMotion(
        sliding=sliding, tangents=tangents, runs=runs, fixed=np.setdiff1d(nodes, sliding),
        straight=int((~on_curve).sum()), curved=int(on_curve.sum()), curved_fixed=curved_fixed,
    )


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _boundary_neighbours(edges: np.ndarray, n_points: int) -> np.ndarray:
    """(n_points, 2): the two boundary neighbours of each boundary node (-1 where there are not two)."""
    neighbours = np.full((n_points, 2), -1, dtype=np.int64)
    ends, others = edges.ravel(), edges[:, ::-1].ravel()
    order = np.argsort(ends, kind="stable")
    ends, others = ends[order], others[order]
    first = np.flatnonzero(np.r_[True, ends[1:] != ends[:-1]])
    count = np.diff(np.r_[first, len(ends)])
    pairs = first[count == 2]
    neighbours[ends[pairs], 0], neighbours[ends[pairs], 1] = others[pairs], others[pairs + 1]
    return neighbours


def _runs(points: np.ndarray, neighbours: np.ndarray, slides: np.ndarray) -> tuple[Run, ...]:
    """Walk the boundary from corner to corner (or around a loop) and record each chain of sliding nodes."""
    visited = np.zeros(len(points), dtype=bool)
    runs = []
    starts = [(int(c), int(n)) for c in np.flatnonzero(~slides & (neighbours >= 0).any(axis=1))
              for n in neighbours[c] if n >= 0 and slides[n]]
    loops = [(int(n), int(neighbours[n, 0])) for n in np.flatnonzero(slides)]
    for start, step in starts + loops:
        if visited[step] or (slides[start] and visited[start]):
            continue
        chain, previous, current = [start], start, step
        while True:
            chain.append(current)
            if not slides[current] or current == start:
                break
            visited[current] = True
            following = neighbours[current, 0] if neighbours[current, 0] != previous else neighbours[current, 1]
            previous, current = current, int(following)
        chain = np.array(chain)
        closed = bool(slides[start])
        if closed:
            visited[start] = True
        vertices = points[chain]
        arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(vertices, axis=0), axis=1))]
        interior = slice(1, -1) if not closed else slice(0, -1)
        runs.append(Run(vertices, arc, closed, chain[interior], arc[interior]))
    return tuple(runs)


def _run_tangents(run: Run) -> np.ndarray:
    """Unit tangents at the members: the mean of the directions of their two edges, along increasing s."""
    vertices = run.vertices
    if run.closed:  # member k sits at vertex k; its edges are (k-1 -> k) and (k -> k+1), cyclically
        before = np.roll(vertices[:-1], 1, axis=0)
        after = np.roll(vertices[:-1], -1, axis=0)
        at = vertices[:-1]
    else:  # member k sits at vertex k + 1
        before, at, after = vertices[:-2], vertices[1:-1], vertices[2:]
    return _unit(_unit(at - before) + _unit(after - at))
