"""torch intra-op threads on a shared CPU: why CPU jobs default to PDEWB_TORCH_THREADS = 1.

One run times the same work with 1 and with 2 torch threads, interleaved (medians), on an
idle machine and again while ``--busy`` processes spin on the cores, as a GUI, a second job
or a browser do on a desktop:

- one Adam step of the Burgers FNO (1D, 256 points, batch 20, default sizes);
- one Adam step of a Darcy FNO (2D, 33 x 33 nodes, width 16, modes 8, batch 20).

    python benchmarks/bench_torch_threads.py [--busy 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time

import torch


def _spin(stop) -> None:
    while not stop.is_set():
        pass


def fno_step(dim: int, n: int, **sizes):
    from pdewb_operators.models import build_model, default_architecture

    torch.manual_seed(0)
    model = build_model(default_architecture("fno", dim, 1, 1, dim == 1, **sizes))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    x, y = torch.randn((20, 1) + (n,) * dim), torch.randn((20, 1) + (n,) * dim)

    def step() -> None:
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()

    return step


def median_seconds(work, threads: int, repeats: int) -> float:
    torch.set_num_threads(threads)
    work()  # warm-up at this thread count
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(cases, repeats: int) -> list[tuple[str, float, float]]:
    rows = []
    for label, work in cases:
        one, two = [], []
        for _ in range(2):  # interleave the thread counts
            one.append(median_seconds(work, 1, repeats))
            two.append(median_seconds(work, 2, repeats))
        rows.append((label, min(one), min(two)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", type=int, default=2, help="spinning processes for the shared-cores rows")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cases = [("FNO 1D step (256 points, batch 20)", fno_step(1, 256)),
             ("FNO 2D step (33x33, width 16, modes 8, batch 20)", fno_step(2, 33, width=16, modes=8))]
    results = {"idle": measure(cases, args.repeats)}
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    try:
        results[f"{args.busy} busy processes"] = measure(cases, args.repeats)
    finally:
        stop.set()
        for spinner in spinners:
            spinner.join()
    print(f"{'cores':<18} {'work':<50} {'1 thread':>10} {'2 threads':>10} {'2 / 1':>7}")
    for condition, rows in results.items():
        for label, one, two in rows:
            print(f"{condition:<18} {label:<50} {1e3 * one:8.1f}ms {1e3 * two:8.1f}ms {two / one:6.2f}x")


if __name__ == "__main__":
    main()
