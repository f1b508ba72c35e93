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

    Each boundary takes one condition: two naming the same boundary (by name, or by
    a name and its tag number) are refused, since one of them would silently be
    ignored. The catch-all ``boundary`` may still be combined with named ones (the
    solver's documented precedence decides where they meet).
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
        _refuse_repeated_boundaries(self.mesh, self.boundary_conditions)


def _refuse_repeated_boundaries(mesh: Mesh, conditions: tuple[BoundaryCondition, ...]) -> None:
    """ParamError naming the first boundary given two conditions."""
    first: dict[object, BoundaryCondition] = {}
    for condition in conditions:
        key = _boundary_key(mesh, condition.tag)
        if key in first:
            earlier = first[key]
            same = f"'{condition.tag}'" if earlier.tag == condition.tag else f"'{earlier.tag}' and '{condition.tag}'"
            raise ParamError(
                f"two boundary conditions on {same} ({earlier.kind}:{earlier.value} and "
                f"{condition.kind}:{condition.value}): give each boundary one condition"
            )
        first[key] = condition


def _boundary_key(mesh: Mesh, tag: str) -> object:
    """What a tag selects: the facet tag number of a name or of a number, else the name itself."""
    if tag.isdigit():
        return int(tag)
    named = mesh.physical_names.get(tag)
    return named[0] if named is not None and named[1] == mesh.dim - 1 else tag
