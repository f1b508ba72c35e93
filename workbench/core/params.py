"""Declared parameters: one :class:`ParamSpec` per input a plugin accepts.

A ParamSpec is plain data (no callables), so descriptors can list their parameters
without importing the implementation, the GUI can build a form from them, and the
CLI can parse ``--set name=value`` with the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from .errors import ExpressionError, ParamError
from .expressions import Expression

ParamType = Literal["float", "int", "bool", "str", "choice", "expression"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class ParamSpec:
    """Name, type, default, admissible range, units and help text of one parameter.

    ``expression`` parameters hold a formula of x, y, z and t (see
    :mod:`workbench.core.expressions`) and resolve to its text, validated.

    A float parameter is finite unless ``allow_infinite`` says otherwise: ``dt = inf``
    or ``t_end = 1e999`` (which reads as inf) is a typo, and no range check catches
    an infinity when the spec has no bound on that side. NaN is refused always.
    """

    name: str
    type: ParamType
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    units: str = ""
    help: str = ""
    allow_infinite: bool = False

    def __post_init__(self) -> None:
        if self.type == "choice" and self.default not in self.choices:
            raise ValueError(f"parameter '{self.name}': default {self.default!r} is not among {self.choices}")

    def coerce(self, raw: Any) -> Any:
        """Convert a value (or its text, as typed on a command line) and check it."""
        try:
            value = _CONVERTERS[self.type](self, raw)
        except (ValueError, TypeError) as error:
            raise ParamError(f"parameter '{self.name}': {error}") from None
        except ExpressionError as error:
            raise ParamError(f"parameter '{self.name}': {error}") from None
        if self.minimum is not None and value < self.minimum:
            raise ParamError(f"parameter '{self.name}' = {value} is below its minimum {self.minimum}{self._unit}")
        if self.maximum is not None and value > self.maximum:
            raise ParamError(f"parameter '{self.name}' = {value} is above its maximum {self.maximum}{self._unit}")
        return value

    @property
    def _unit(self) -> str:
        return f" {self.units}" if self.units else ""

    def describe(self) -> dict:
        """Plain-data view, for ``--json`` output and generated forms."""
        described = {k: v for k, v in self.__dict__.items() if v not in (None, (), "")}
        if not self.allow_infinite:
            del described["allow_infinite"]  # the default: listed only where a spec allows infinity
        return described


def _to_float(spec: ParamSpec, raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"expected a number, got {raw!r}")
    value = float(raw)
    if value != value:
        raise ValueError("NaN is not a valid value")
    if not spec.allow_infinite and math.isinf(value):
        raise ValueError(f"{raw!r} is not a finite number")
    return value


def _to_int(spec: ParamSpec, raw: Any) -> int:
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError(f"expected an integer, got {raw!r}")
    return int(raw)


def _to_bool(spec: ParamSpec, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _to_choice(spec: ParamSpec, raw: Any) -> str:
    text = str(raw)
    if text not in spec.choices:
        raise ValueError(f"{text!r} is not one of {', '.join(spec.choices)}")
    return text


def _to_expression(spec: ParamSpec, raw: Any) -> str:
    return Expression(str(raw)).text


_CONVERTERS = {
    "float": _to_float,
    "int": _to_int,
    "bool": _to_bool,
    "str": lambda spec, raw: str(raw),
    "choice": _to_choice,
    "expression": _to_expression,
}


def resolve_params(specs: Iterable[ParamSpec], given: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """Defaults overlaid with the given values, each coerced and range-checked.

    Unknown names are an error (a typo must not silently fall back to a default).
    """
    specs = {spec.name: spec for spec in specs}
    given = dict(given or {})
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise ParamError(f"unknown parameter(s) {', '.join(unknown)} (known: {', '.join(specs) or 'none'})")
    values = {name: spec.coerce(given.get(name, spec.default)) for name, spec in specs.items()}
    return MappingProxyType(values)
