"""benchmarks/bench_movers.py still runs and prints its table (--quick: 33x33 and 65x65, two fields a family)."""

import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_movers.py"


def test_quick_benchmark_prints_uniform_classical_and_dmm_rows_and_target_verdicts():
    result = subprocess.run([sys.executable, str(BENCHMARK), "--quick"], capture_output=True, text=True,
                            timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    assert "DMM training (separate" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith(("33x33", "65x65"))]
    assert [row[3] for row in rows] == ["uniform", "classical", "dmm", "dmm-batch"] * 6, result.stdout
    assert all(row[4] == "0" for row in rows), result.stdout  # no inversions, DMM's after its fallback
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("target")]
    assert len(verdicts) == 6 and all(("PASS" in line) != ("MISS" in line) for line in verdicts)
