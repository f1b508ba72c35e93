"""CSV export of run metrics and time series.

``metrics_rows`` and ``series_rows`` return ``(header, rows)``, so a table is
written in one line::

    write_csv("metrics.csv", *metrics_rows(project.runs))
    write_csv("error.csv", *series_rows(run.times, l2_error=errors, probe=values))

Files are written atomically (the previous file survives any failure), in UTF-8
with the csv module's default dialect (comma separated, ``\\r\\n`` line ends,
quoted where needed). Floats are written with ``repr``, so they read back
exactly with ``float()``; a missing value is an empty cell.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.run import Run
from .atomic import atomic_path


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write a header line and the rows to ``path`` atomically; returns the path.

    Every row must have as many cells as the header. ``None`` becomes an empty
    cell, numpy scalars their Python value.
    """
    path = Path(path)
    header = [str(name) for name in header]
    with atomic_path(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for number, row in enumerate(rows, start=1):
                row = list(row)
                if len(row) != len(header):
                    raise ValueError(f"{path.name}: row {number} has {len(row)} cells, the header {len(header)}")
                writer.writerow([_cell(value) for value in row])
    return path


def metrics_rows(runs: Iterable[Any]) -> tuple[list[str], list[list[Any]]]:
    """One row per run: name, solver, status, wall_s, then every metric.

    ``runs`` holds :class:`~workbench.io.project.RunEntry` objects (anything with
    ``.name`` and ``.run``), ``(name, Run)`` pairs, or bare :class:`Run` objects
    (named by their solver id). Metric columns are the union over all runs, in
    order of first appearance; a run without a metric, or without a wall time,
    gets an empty cell.
    """
    named = [_named(item) for item in runs]
    metric_names: dict[str, None] = {}
    for _, run in named:
        metric_names.update(dict.fromkeys(run.metrics))
    header = ["name", "solver", "status", "wall_s", *metric_names]
    rows = [
        [name, run.solver_id, getattr(run.status, "value", run.status), run.timings.get("wall_s"),
         *(run.metrics.get(metric) for metric in metric_names)]
        for name, run in named
    ]
    return header, rows


def series_rows(times: Any, **columns: Any) -> tuple[list[str], list[list[float]]]:
    """A time column and one column per keyword, e.g. ``series_rows(t, l2_error=e)``.

    Every column must be one-dimensional with one value per time.
    """
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    values = {}
    for name, column in columns.items():
        column = np.asarray(column, dtype=np.float64)
        if column.ndim != 1 or len(column) != len(times):
            raise ValueError(f"column '{name}' has shape {column.shape}, expected ({len(times)},) like the times")
        values[name] = column
    header = ["time", *values]
    rows = [[float(t), *(float(column[i]) for column in values.values())] for i, t in enumerate(times)]
    return header, rows


def _named(item: Any) -> tuple[str, Run]:
    if isinstance(item, Run):
        return item.solver_id, item
    if hasattr(item, "run") and hasattr(item, "name"):
        return str(item.name), item.run
    name, run = item
    return str(name), run


def _cell(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else value
