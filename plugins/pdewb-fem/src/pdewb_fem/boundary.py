"""Boundary conditions of P1 problems: Dirichlet by elimination, Neumann as a load.

Dirichlet, u = g_D on Gamma_D. The nodes split into *free* ones (f) and
*constrained* ones (c) whose values u_c = g_D(x_c, t) are known. The system
A u = b then reduces to

    A_ff u_f = b_f - A_fc u_c,

the lifting of the boundary values into the right-hand side. A_ff is a principal
submatrix of the SPD matrix A, so it stays symmetric positive definite and the
same solvers (Cholesky-like LU, CG) apply.

Neumann, n . (k grad u) = g on Gamma_N. Green's formula turns it into the load
int_{Gamma_N} g phi_i ds, integrated with the P1 interpolant of g on the facets.
Facets without a condition get g = 0 (the natural condition, nothing to add).

Precedence: a node on both a Dirichlet and a Neumann facet is constrained (its
equation is eliminated, so the Neumann load there has no effect). Where two
Dirichlet conditions meet, the one listed first wins. Points that belong to no
cell (stray points some mesh files carry) have no equation; they are constrained
to 0 so the system stays nonsingular.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from workbench.core.errors import MeshError, ParamError
from workbench.core.expressions import Expression
from workbench.core.geometry import simplex_measures
from workbench.core.problem import Problem

from .assembly import load_vector


@dataclass(frozen=True, eq=False)
class DirichletPart:
    """u = value on ``nodes`` (sorted, unique point indices)."""

    tag: str
    nodes: np.ndarray
    value: Expression


@dataclass(frozen=True, eq=False)
class NeumannPart:
    """n . (k grad u) = value on ``facets`` ((F, dim) corner indices, measures ``measures``, corners ``nodes``)."""

    tag: str
    facets: np.ndarray
    measures: np.ndarray
    nodes: np.ndarray
    value: Expression


@dataclass(frozen=True, eq=False)
class BoundaryConditions:
    """The resolved conditions of a problem, and the split into free and constrained nodes."""

    points: np.ndarray
    dirichlet: tuple[DirichletPart, ...]
    neumann: tuple[NeumannPart, ...]
    constrained: np.ndarray
    free: np.ndarray

    @classmethod
    def from_problem(cls, problem: Problem) -> BoundaryConditions:
        mesh = problem.mesh
        dirichlet, neumann = [], []
        for condition in problem.boundary_conditions:
            facets = _facets(problem, condition.tag)
            value = Expression(condition.value)
            if condition.kind == "dirichlet":
                dirichlet.append(DirichletPart(condition.tag, np.unique(facets), value))
            else:
                measures = simplex_measures(mesh.points, facets)
                neumann.append(NeumannPart(condition.tag, facets, measures, np.unique(facets), value))
        stray = np.flatnonzero(np.bincount(mesh.simplices.ravel(), minlength=mesh.n_points) == 0)
        constrained = np.unique(np.concatenate([part.nodes for part in dirichlet] + [stray]))
        free = np.setdiff1d(np.arange(mesh.n_points), constrained, assume_unique=True)
        return cls(mesh.points, tuple(dirichlet), tuple(neumann), constrained, free)

    @property
    def has_dirichlet(self) -> bool:
        return any(len(part.nodes) for part in self.dirichlet)

    @property
    def uses_time(self) -> bool:
        return any(part.value.uses_time for part in (*self.dirichlet, *self.neumann))

    def constrained_values(self, t: float = 0.0) -> np.ndarray:
        """u_c at time t, in the order of ``constrained`` (0 on stray points)."""
        values = np.zeros(len(self.constrained))
        for part in reversed(self.dirichlet):  # earlier conditions overwrite later ones: the first listed wins
            where = np.searchsorted(self.constrained, part.nodes)
            values[where] = part.value(self.points[part.nodes], t)
        return values

    def neumann_load(self, t: float = 0.0) -> np.ndarray:
        """sum over Neumann parts of int_{Gamma_N} g phi_i ds, one entry per point."""
        load = np.zeros(len(self.points))
        for part in self.neumann:
            g = np.zeros(len(self.points))
            g[part.nodes] = part.value(self.points[part.nodes], t)
            load += load_vector(self.points, part.facets, g, part.measures)
        return load


def _facets(problem: Problem, tag: str) -> np.ndarray:
    try:
        facets = problem.mesh.boundary_facets(tag)
    except MeshError as error:
        raise ParamError(f"boundary condition on '{tag}': {error}") from None
    if len(facets) == 0:
        known = ", ".join(problem.mesh.boundary_names())
        raise ParamError(f"boundary condition on '{tag}': no boundary facet carries this tag (known: {known})")
    return facets


@dataclass(frozen=True, eq=False)
class ReducedSystem:
    """A u = b restricted to the free nodes: A_ff u_f = b_f - A_fc u_c."""

    free: np.ndarray
    constrained: np.ndarray
    free_free: sp.csr_matrix
    free_constrained: sp.csr_matrix

    @classmethod
    def eliminate(cls, matrix: sp.csr_matrix, boundary: BoundaryConditions) -> ReducedSystem:
        rows = matrix[boundary.free]
        free_free = rows[:, boundary.free].tocsr()
        # Right-angled elements give exact zeros (cot 90 deg = 0) that the pattern still stores:
        # dropping them spares the LU fill and keeps AMG's strength-of-connection graph honest.
        free_free.eliminate_zeros()
        return cls(boundary.free, boundary.constrained, free_free, rows[:, boundary.constrained].tocsr())

    def rhs(self, load: np.ndarray, constrained_values: np.ndarray) -> np.ndarray:
        """b_f - A_fc u_c: the load on free nodes with the boundary values lifted to the right."""
        return load[self.free] - self.free_constrained @ constrained_values

    def expand(self, free_values: np.ndarray, constrained_values: np.ndarray) -> np.ndarray:
        """The full nodal vector from its free and constrained parts."""
        u = np.empty(len(self.free) + len(self.constrained))
        u[self.free], u[self.constrained] = free_values, constrained_values
        return u
