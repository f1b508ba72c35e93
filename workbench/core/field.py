"""Values on a mesh: at points or cells, at one time or as a time series."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Location = Literal["point", "cell"]


@dataclass(frozen=True, eq=False)
class Field:
    """A named, read-only array of values on a mesh.

    ``values`` has shape (n,) or (n, components) for one time, and (n_times, n)
    or (n_times, n, components) for a series, in which case ``times`` gives the
    n_times instants.
    """

    name: str
    values: np.ndarray
    location: Location = "point"
    times: np.ndarray | None = None
    units: str = ""

    def __post_init__(self) -> None:
        if self.location not in ("point", "cell"):
            raise ValueError(f"field location must be 'point' or 'cell', not {self.location!r}")
        values = np.array(self.values, dtype=np.float64, copy=True)
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        if self.times is not None:
            times = np.array(self.times, dtype=np.float64, copy=True).reshape(-1)
            if len(times) != len(values):
                raise ValueError(f"field '{self.name}': {len(times)} times for {len(values)} snapshots")
            times.setflags(write=False)
            object.__setattr__(self, "times", times)

    @property
    def is_series(self) -> bool:
        return self.times is not None

    @property
    def n_components(self) -> int:
        base_ndim = self.values.ndim - (1 if self.is_series else 0)
        return 1 if base_ndim == 1 else self.values.shape[-1]

    def snapshot(self, index: int) -> Field:
        """One time of a series, as a single-time field."""
        if not self.is_series:
            raise ValueError(f"field '{self.name}' is not a time series")
        return Field(self.name, self.values[index], self.location, None, self.units)

    def magnitude(self) -> Field:
        """Euclidean norm over components (the field itself if it is scalar)."""
        if self.n_components == 1:
            return self
        return Field(f"|{self.name}|", np.linalg.norm(self.values, axis=-1), self.location, self.times, self.units)

    @classmethod
    def series(cls, snapshots: list[Field], times) -> Field:
        """Stack single-time fields of the same name and location into a series."""
        first = snapshots[0]
        values = np.stack([s.values for s in snapshots])
        return cls(first.name, values, first.location, np.asarray(times), first.units)
