"""The P1 Poisson benchmark against scikit-fem still runs (its --quick size only)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_poisson_vs_skfem.py"


def test_poisson_benchmark_quick_prints_a_table_row():
    pytest.importorskip("skfem")
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--repeat", "1"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split()[:2] == ["triangles", "dofs"] for line in lines if line.strip()), result.stdout
    # A row: triangle count, dofs, runs, then timings; the last column is the tiny max |u_ours - u_skfem|.
    rows = [line for line in lines if re.match(r"^\s*10082\s+5184\s+1\s+\d", line)]
    assert len(rows) == 1, result.stdout
    assert float(rows[0].split()[-1]) < 1e-8


def test_surrogate_benchmark_quick_prints_its_table(tmp_path):
    script = BENCHMARK.parent / "bench_surrogates.py"
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--only", "darcy", "--epochs", "1", "--threads", "1",
         "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("darcy ")]
    assert [row[1] for row in rows] == ["fno", "mgno", "deeponet"], result.stdout
    assert all(row[3] == "1" and row[5] == "17x17" for row in rows), result.stdout


def test_reference_benchmark_quick_prints_every_family_and_agrees_with_the_baselines():
    script = BENCHMARK.parent / "bench_reference.py"
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True,
                            timeout=240, check=False)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()
            if line.startswith(("Darcy ", "Burgers ", "Navier-Stokes ")) and re.search(r"\de[+-]\d+$", line)]
    assert {row[0] for row in rows} == {"Darcy", "Burgers", "Navier-Stokes"}, result.stdout
    # the last column: largest relative difference between ours and the plain implementation
    assert all(float(row[-1]) < 1e-3 for row in rows), result.stdout
