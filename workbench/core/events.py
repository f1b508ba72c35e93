"""What a job yields: frames of fields, progress, log lines and scalar curves.

Every event is immutable and owns its arrays, so a compute thread can hand it to
a GUI thread without copying or locking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Union

from .field import Field


@dataclass(frozen=True, eq=False)
class Frame:
    """The solution at one time: ``fields`` maps names to single-time fields."""

    index: int
    time: float
    fields: Mapping[str, Field]

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))


@dataclass(frozen=True)
class Progress:
    """Fraction of the job done, in [0, 1], with an optional message."""

    fraction: float
    message: str = ""


@dataclass(frozen=True)
class LogMessage:
    text: str
    level: str = "info"


@dataclass(frozen=True)
class Scalars:
    """Scalar diagnostics at one step (residual, loss, energy): drawn as curves."""

    step: int
    values: Mapping[str, float] = field(default_factory=dict)


Event = Union[Frame, Progress, LogMessage, Scalars]
