"""CSV export: metrics and time series read back exactly with csv.reader; writes are atomic."""

import csv
import errno
import math

import numpy as np
import pytest

from workbench.core import BoundaryCondition, Run, RunStatus
from workbench.io.project import RunEntry
from workbench.io.tables import metrics_rows, series_rows, write_csv


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_write_csv_round_trips_through_csv_reader(tmp_path):
    rows = [["plain", 1, 0.1, None], ['comma, "quotes"\nand a newline', -2, 1e-300, np.float64(1 / 3)]]
    path = write_csv(tmp_path / "t.csv", ["text", "int", "float", "maybe"], rows)
    back = read(path)
    assert back[0] == ["text", "int", "float", "maybe"]
    assert back[1] == ["plain", "1", "0.1", ""]
    assert back[2][0] == 'comma, "quotes"\nand a newline'
    assert float(back[2][2]) == 1e-300 and float(back[2][3]) == 1 / 3


def test_metrics_rows_one_per_run_with_the_union_of_metrics(tmp_path):
    heat = Run("fem.heat", status=RunStatus.SUCCEEDED, timings={"wall_s": 0.25},
               metrics={"relative_l2": 1e-3, "max_error": 2.5e-3})
    failed = Run("explodes.solver", status=RunStatus.FAILED, metrics={"iterations": 7.0})
    entries = [RunEntry("fem.heat #1", heat, (BoundaryCondition("hole", "dirichlet", "1"),)),
               RunEntry("explodes #1", failed)]
    header, rows = metrics_rows(entries)
    assert header == ["name", "solver", "status", "wall_s", "relative_l2", "max_error", "iterations"]
    back = read(write_csv(tmp_path / "metrics.csv", header, rows))
    assert back[1] == ["fem.heat #1", "fem.heat", "succeeded", "0.25", "0.001", "0.0025", ""]
    assert back[2] == ["explodes #1", "explodes.solver", "failed", "", "", "", "7.0"]


def test_metrics_rows_accepts_pairs_and_bare_runs():
    run = Run("fem.poisson", metrics={"nan": math.nan})
    header, rows = metrics_rows([("mine", run), run])
    assert [row[0] for row in rows] == ["mine", "fem.poisson"]
    assert header[-1] == "nan" and math.isnan(rows[0][-1])


def test_series_rows_time_and_named_columns(tmp_path):
    times = np.linspace(0.0, 1.0, 5)
    error = np.exp(-times) / 3
    header, rows = series_rows(times, l2_error=error, probe=[1, 2, 3, 4, 5])
    assert header == ["time", "l2_error", "probe"]
    back = read(write_csv(tmp_path / "series.csv", header, rows))
    values = np.array([[float(cell) for cell in row] for row in back[1:]])
    assert np.array_equal(values[:, 0], times) and np.array_equal(values[:, 1], error)
    assert np.array_equal(values[:, 2], [1, 2, 3, 4, 5])


def test_series_rows_rejects_columns_that_do_not_match_the_times():
    with pytest.raises(ValueError, match="column 'probe' has shape \\(2,\\), expected \\(3,\\)"):
        series_rows([0, 1, 2], probe=[1.0, 2.0])
    with pytest.raises(ValueError, match="column 'u'"):
        series_rows([0, 1], u=np.zeros((2, 2)))


def test_a_failure_mid_write_keeps_the_previous_csv_and_leaves_no_temporary(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["a"], [[1], [2]])
    before = path.read_bytes()

    def rows():
        yield [3]
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="disk full; the previous file"):
        write_csv(path, ["a"], rows())
    with pytest.raises(ValueError, match="row 2 has 2 cells, the header 1"):
        write_csv(path, ["a"], [[1], [1, 2]])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]
