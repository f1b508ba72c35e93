"""Monitor functions for r-adaptation: where a mesh mover should put its nodes.

A monitor m(x) >= 1 is large where the mesh should be fine; an equidistributed mesh
has m |K| the same on every cell (Budd, Huang & Russell, "Adaptivity with moving
grids", Acta Numerica 2009, sec. 2). Built from a driving field u on a mesh:

    s = |grad u|                      (kind "gradient": recovered P1 gradient)
    s = |H u|_F                       (kind "hessian": Frobenius norm of the recovered Hessian)
    q = min(s / N, 1),  N = max(s) or the given quantile of s
    q = log1p(c q) / log1p(c)         (optional compression, c = ``compression``)
    q = averaged ``smoothing`` times over node patches
    m = 1 + alpha q

so 1 <= m <= 1 + alpha, with no division by a vanishing quantity (a constant field
gives m = 1): a jump in u gives a large but finite gradient, normalised away, never a
NaN. The saturation at N keeps a front from pulling every node onto itself, the
log1p compression widens the region of moderate m around it, and smoothing spreads
it over a few cells, so the relaxed mesh stays untangled. A user expression of x, y
(``kind = "expression"``) is used as is, after checking it is finite and positive.

The monitor lives in the host's core because the host needs one too: the quality
report (:mod:`workbench.core.mesh_quality`) measures every mover's equidistribution
against the same reference monitor, built here with fixed settings. The DMM neural
mover uses :data:`MONITOR_PARAMS` as well, so its checkpoint can record them.

A monitor is a callable ``m(points) -> values``: a mover evaluates it on its moved
nodes each iteration. :class:`FieldMonitor` computes m once on the field's own mesh
and P1-interpolates it to any points (:mod:`workbench.core.transfer`), remembering
where it found them, so the next call with slightly moved points walks only a step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .errors import ParamError
from .expressions import Expression
from .mesh import Mesh
from .params import ParamSpec

# Plugin descriptors import MONITOR_PARAMS when the application starts, so this module
# must stay light: the scipy-based recovery and transfer are imported where they are used.
if TYPE_CHECKING:
    from .recovery import GradientRecovery

MONITOR_KINDS = ("gradient", "hessian", "expression")

#: The monitor parameters every mover offers (the host builds the monitor from them).
MONITOR_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("monitor", "choice", "hessian", choices=MONITOR_KINDS,
              help="Refine where |grad u| is large, where the Hessian of u is large, or by an expression m(x, y)."),
    ParamSpec("alpha", "float", 4.0, minimum=0.0, help="Monitor strength: m ranges from 1 to 1 + alpha."),
    ParamSpec("normaliser", "choice", "max", choices=("max", "quantile"),
              help="Divide the indicator by its maximum, or by a quantile (saturating above it)."),
    ParamSpec("quantile", "float", 0.95, minimum=0.5, maximum=1.0, help="Quantile used by normaliser = quantile."),
    ParamSpec("compression", "float", 10.0, minimum=0.0,
              help="log1p compression strength c (0: none): q -> log1p(c q) / log1p(c)."),
    ParamSpec("smoothing", "int", 2, minimum=0, maximum=50, help="Passes of nodal patch averaging of the monitor."),
    ParamSpec("expression", "expression", "1",
              help="m(x, y) when monitor = expression; must be positive and finite."),
)


class Monitor(Protocol):
    """m(x) at (n, d) points, an (n,) array of finite values > 0."""

    def __call__(self, points: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class MonitorSpec:
    """How to turn a field into a monitor; see the module docstring for the formula."""

    kind: str = "hessian"
    alpha: float = 4.0
    normaliser: str = "max"
    quantile: float = 0.95
    compression: float = 10.0
    smoothing: int = 2
    expression: str = "1"

    def __post_init__(self) -> None:
        if self.kind not in MONITOR_KINDS:
            raise ParamError(f"unknown monitor kind '{self.kind}' (known: {', '.join(MONITOR_KINDS)})")
        if self.normaliser not in ("max", "quantile"):
            raise ParamError(f"unknown monitor normaliser '{self.normaliser}' (known: max, quantile)")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> MonitorSpec:
        """The spec from a mover's resolved parameters (the names of :data:`MONITOR_PARAMS`)."""
        names = {"monitor": "kind", "alpha": "alpha", "normaliser": "normaliser", "quantile": "quantile",
                 "compression": "compression", "smoothing": "smoothing", "expression": "expression"}
        return cls(**{attribute: params[name] for name, attribute in names.items() if name in params})

    def describe(self) -> dict:
        return dict(self.__dict__)


#: The fixed settings of the host's reference monitor (quality reports), whatever a mover used: the
#: plain gradient monitor, unsmoothed, so it measures where the field changes, not a mover's tuning.
REFERENCE_MONITOR = MonitorSpec(kind="gradient", alpha=4.0, normaliser="max", compression=0.0, smoothing=0)


def indicator(recovery: GradientRecovery, values: np.ndarray, kind: str) -> np.ndarray:
    """s = |grad u| or the Frobenius norm of the recovered Hessian, at the nodes."""
    gradient = recovery.gradient(values)
    if kind == "gradient":
        return np.linalg.norm(gradient, axis=1)
    return np.linalg.norm(recovery.hessian(gradient), axis=(1, 2))


def monitor_values(mesh: Mesh, values: np.ndarray, spec: MonitorSpec,
                   recovery: GradientRecovery | None = None) -> np.ndarray:
    """Nodal monitor values m >= 1 of a point field on ``mesh`` (see the module docstring)."""
    from .recovery import GradientRecovery

    if spec.kind == "expression":
        return expression_values(spec.expression, mesh.points)
    values = _checked_field(mesh, values)
    recovery = recovery or GradientRecovery(mesh.points, mesh.simplices)
    s = indicator(recovery, values, spec.kind)
    scale = float(s.max()) if spec.normaliser == "max" else float(np.quantile(s, spec.quantile))
    if not scale > 0.0:  # a constant (or linear, for the Hessian) field: nothing to adapt to
        return np.ones(mesh.n_points)
    q = np.minimum(s / scale, 1.0)
    if spec.compression > 0.0:
        q = np.log1p(spec.compression * q) / np.log1p(spec.compression)
    q = recovery.smooth(q, spec.smoothing)
    return 1.0 + spec.alpha * q


def expression_values(text: str, points: np.ndarray) -> np.ndarray:
    """m(x, y) of a user expression, refused unless finite and positive everywhere."""
    m = Expression(text)(points)
    if not np.isfinite(m).all():
        raise ParamError(f"monitor expression '{text}' is not finite everywhere on the mesh")
    if not (m > 0.0).all():
        raise ParamError(f"monitor expression '{text}' must be positive (its minimum is {m.min():g})")
    return m


def _checked_field(mesh: Mesh, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2 and values.shape[1] > 1:
        values = np.linalg.norm(values, axis=1)  # a vector field drives the mesh by its magnitude
    values = values.reshape(-1)
    if len(values) != mesh.n_points:
        raise ParamError(f"the driving field has {len(values)} values, the mesh {mesh.n_points} points")
    if not np.isfinite(values).all():
        raise ParamError("the driving field has NaN or infinite values; cannot build a monitor from it")
    return values


class FieldMonitor:
    """A monitor computed once on the driving field's mesh, P1-interpolated to any points.

    ``field`` (the driving values) and ``spec`` stay available to movers that need more
    than m, such as the DMM network whose branch reads the field itself.
    """

    def __init__(self, mesh: Mesh, field: np.ndarray | None, spec: MonitorSpec = MonitorSpec()) -> None:
        from .transfer import PointLocator

        self.mesh, self.spec = mesh, spec
        self.field = None if spec.kind == "expression" else _checked_field(mesh, field)
        self.nodal = monitor_values(mesh, field, spec)
        self._locator = PointLocator.for_mesh(mesh)
        self._hint: np.ndarray | None = None

    def __call__(self, points: np.ndarray) -> np.ndarray:
        from .transfer import interpolate

        points = np.asarray(points, dtype=np.float64)
        if self.spec.kind == "expression":
            return expression_values(self.spec.expression, points)
        hint = self._hint if self._hint is not None and len(self._hint) == len(points) else None
        location = self._locator.locate(points, hint)
        self._hint = location.simplices  # the next call's points are usually the same nodes, moved a little
        return interpolate(location, self.mesh.simplices, self.nodal)


class FunctionMonitor:
    """A monitor given as a Python function of the points (analytic monitors in tests and studies)."""

    def __init__(self, function: Callable[[np.ndarray], np.ndarray]) -> None:
        self.function = function

    def __call__(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(self.function(np.asarray(points, dtype=np.float64)), dtype=np.float64)
