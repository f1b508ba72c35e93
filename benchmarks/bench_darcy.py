"""Batched Darcy data generation, every method of pdewb_darcy.batch: independent spsolve, the
batched multigrid CG (the data-set default), and the reuse-across-samples variants one by one
(shared AMG preconditioner, sorted warm starts, deflated-CG Krylov recycling).

    .venv/bin/python benchmarks/bench_darcy.py            # n = 64, 128, 256; B = 32
    .venv/bin/python benchmarks/bench_darcy.py --quick    # n = 64, 128; B = 8

The headline comparison (multigrid and recycling against spsolve, next to the spectral
solvers) is benchmarks/bench_reference.py; this script adds iterations and set-up times.

Coefficients: thresholded GRF (alpha 2, tau 3; a in {3, 12}), f = 1. Time per sample
is the total wall time of the batch (assembly, shared set-up and sorting included)
divided by B. Iterations: CG iterations per sample (mean), '-' for direct solves.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from pdewb_darcy.batch import METHODS, run_batch
from pdewb_darcy.grf import darcy_coefficients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = (64, 128) if args.quick else (64, 128, 256)
    B = args.batch or (8 if args.quick else 32)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {', '.join(f'{v:.2f}' for v in load)}; B = {B}, seed {args.seed}")
    print(f"{'n':>5} {'unknowns':>9} {'method':>22} {'s/sample':>9} {'iters':>6} {'setup s':>8} "
          f"{'vs spsolve':>10} {'max rel diff':>12}")
    warm = darcy_coefficients(2, 16, seed=1)  # imports and first-call costs out of the timings
    for m in METHODS:
        run_batch(warm, 1.0, m)
    for n in sizes:
        a = darcy_coefficients(B, n, seed=args.seed)
        start = time.perf_counter()
        run_batch(a[:1], 1.0, "multigrid")  # the one-off set-up per n, cached: hierarchy, Galerkin maps
        run_batch(a, 1.0, "multigrid")  # and per batch size: the block layout
        print(f"{n:>5}  multigrid warm-up (the cached set-up per n and batch size, and two solves; "
              f"excluded below): {time.perf_counter() - start:.3f} s")
        results = {m: run_batch(a, 1.0, m) for m in METHODS}
        base = results["independent"]
        scale = np.abs(base.solutions).max()
        for m, r in results.items():
            iters = f"{r.iterations.mean():.1f}" if r.iterations.any() else "-"
            diff = np.abs(r.solutions - base.solutions).max() / scale
            print(f"{n:>5} {(n - 1) ** 2:>9} {m:>22} {r.seconds_per_sample:>9.4f} {iters:>6} "
                  f"{r.setup_seconds:>8.3f} {base.seconds / r.seconds:>9.2f}x {diff:>12.1e}")
        best = min((r for m, r in results.items() if m != "independent"), key=lambda r: r.seconds)
        print(f"{n:>5}  best: {best.method}, {base.seconds / best.seconds:.2f}x faster than independent spsolve")
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"load average at the end: {', '.join(f'{v:.2f}' for v in load)}")


if __name__ == "__main__":
    main()
