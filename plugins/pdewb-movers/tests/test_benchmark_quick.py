"""benchmarks/bench_movers.py still runs and prints its table (--quick: 33x33 and 65x65, two fields)."""

import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_movers.py"


def test_quick_benchmark_prints_uniform_and_classical_rows_and_target_verdicts():
    result = subprocess.run([sys.executable, str(BENCHMARK), "--quick"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith(("33x33", "65x65"))]
    assert [row[3] for row in rows] == ["uniform", "classical"] * 4, result.stdout
    assert all(row[4] == "0" for row in rows), result.stdout  # no inversions
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("target")]
    assert len(verdicts) == 3 and all(("PASS" in line) != ("MISS" in line) for line in verdicts)
