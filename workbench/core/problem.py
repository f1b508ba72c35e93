"""What to solve: a mesh, an equation, its parameters and boundary conditions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from .errors import ParamError
from .expressions import Expression
from .mesh import Mesh

BoundaryKind = Literal["dirichlet", "neumann"]
BOUNDARY_KINDS: tuple[str, ...] = ("dirichlet", "neumann")


@dataclass(frozen=True)
class BoundaryCondition:
    """u = value (Dirichlet) or n . (k grad u) = value (Neumann) on the facets named ``tag``.

    ``value`` is an expression of x, y, z and t.
    """

    tag: str
    kind: BoundaryKind
    value: str = "0"

    def __post_init__(self) -> None:
        if self.kind not in BOUNDARY_KINDS:
            raise ParamError(f"boundary '{self.tag}': kind must be one of {', '.join(BOUNDARY_KINDS)}, not '{self.kind}'")
        object.__setattr__(self, "value", Expression(str(self.value)).text)

    @classmethod
    def parse(cls, text: str) -> BoundaryCondition:
        """Parse the command-line form ``TAG=KIND:VALUE``, e.g. ``hole=dirichlet:1``."""
        tag, sep, rest = text.partition("=")
        kind, _, value = rest.partition(":")
        tag, kind = tag.strip(), kind.strip().lower()
        if not sep or not tag or not kind:
            raise ParamError(f"boundary condition '{text}' must look like TAG=KIND:VALUE, e.g. hole=dirichlet:1")
        return cls(tag, kind, value.strip() or "0")


@dataclass(frozen=True, eq=False)
class Problem:
    """A mesh with an equation to solve on it.

    ``params`` are the resolved values of the solver's ParamSpecs. Boundary facets
    not covered by any condition get the natural (homogeneous Neumann) condition.
    """

    mesh: Mesh
    equation: str
    params: Mapping[str, Any] = field(default_factory=dict)
    boundary_conditions: tuple[BoundaryCondition, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "boundary_conditions", tuple(self.boundary_conditions))
        known = set(self.mesh.boundary_names())
        for condition in self.boundary_conditions:
            if condition.tag not in known and not condition.tag.isdigit():
                raise ParamError(
                    f"boundary condition on '{condition.tag}': the mesh has no such boundary "
                    f"(known: {', '.join(sorted(known))})"
                )
