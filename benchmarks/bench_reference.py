"""Reference solvers and training data (issue 4): one table, measured in one run.

    .venv/bin/python benchmarks/bench_reference.py           # a few minutes on 2 cores
    .venv/bin/python benchmarks/bench_reference.py --quick   # a smoke run under 30 s (short runs, one repeat)

For every case, the *plain baseline* a user would otherwise write and *ours* (the
batched solver the data sets use) solve the same samples on the CPU:

* Darcy (5-point FD, FNO coefficients, f = 1): ``scipy.sparse.linalg.spsolve`` per sample
  (assembly included, as for ours) vs ``pdewb_darcy.batch`` 'multigrid' (the data-set
  default: batched multigrid-preconditioned CG, rtol 1e-10) and 'recycled' (sorted
  tour, shared AMG, warm start, deflated CG with Ritz vectors: the Krylov-recycling
  measurement the issue asks for; ``bench_darcy.py`` breaks it down by ingredient).
* Burgers (IF-RK4) and Navier-Stokes (CN + Heun), FNO initial fields: a straightforward
  numpy loop, one sample at a time (np.fft, same scheme, time step and output times,
  at the same precision) vs ``solve_batch`` on the whole batch. The torch CPU path runs
  with one intra-op thread (``pdewb_spectral.common.cpu_threads``); numpy's FFT is single
  threaded, so both use one core.

Times are per sample: a batch's wall time / B for ours, the mean over one-at-a-time
solves for the baseline. The two are interleaved and repeated, and the table shows
medians, so that load from other processes hits both alike; 'speedup' is the ratio of
the medians, 'samples/s' ours. 'max rel diff': largest |ours - baseline| / max|baseline|
over the compared samples. GPU: per-sample time of the same batched solve on CUDA,
when torch sees one (Darcy has no GPU path).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as spla
import torch

from pdewb_darcy.batch import run_batch
from pdewb_darcy.darcy import Stencil
from pdewb_darcy.grf import darcy_coefficients
from pdewb_darcy.multigrid import hierarchy
from pdewb_spectral.burgers import grf_periodic_1d
from pdewb_spectral.burgers import solve_batch as burgers_batch
from pdewb_spectral.common import make_generator, time_grid
from pdewb_spectral.navier_stokes import FNO_FORCING, grf_periodic_2d, grid_points
from pdewb_spectral.navier_stokes import solve_batch as ns_batch

DTYPES = {"float64": (np.float64, torch.float64), "float32": (np.float32, torch.float32)}


# --- plain numpy baselines: one sample, the same schemes as pdewb_spectral ------------------------------------------

def burgers_numpy(u0: np.ndarray, nu: float, dt: float, t_end: float, n_out: int) -> np.ndarray:
    """One sample (n,), IF-RK4 with numpy.fft at u0's precision; returns (n_out + 1, n)."""
    n, real = u0.size, u0.dtype
    per_output, dt = time_grid(t_end, dt, n_out)
    m = np.arange(n // 2 + 1)
    k = (2 * np.pi * m).astype(real)
    mask = (3 * m < n).astype(real)
    coef = (-0.5j * k * mask).astype(np.result_type(real, np.complex64))
    e = np.exp(-nu * k ** 2 * dt / 2).astype(real)
    e2 = e * e

    def nonlinear(v_hat):
        u = np.fft.irfft(v_hat, n)
        return coef * np.fft.rfft(u * u)

    u_hat = np.fft.rfft(u0) * mask
    out = [np.fft.irfft(u_hat, n)]
    for _ in range(n_out):
        for _ in range(per_output):
            k1 = dt * nonlinear(u_hat)
            k2 = dt * nonlinear(e * (u_hat + 0.5 * k1))
            k3 = dt * nonlinear(e * u_hat + 0.5 * k2)
            k4 = dt * nonlinear(e2 * u_hat + e * k3)
            u_hat = e2 * u_hat + (e2 * k1 + 2 * e * (k2 + k3) + k4) / 6
        out.append(np.fft.irfft(u_hat, n))
    return np.array(out)


def ns_numpy(w0: np.ndarray, nu: float, dt: float, t_end: float, n_out: int, forcing: np.ndarray) -> np.ndarray:
    """One sample (n, n) [y, x], CN + Heun with numpy.fft at w0's precision; returns (n_out + 1, n, n)."""
    n, real = w0.shape[0], w0.dtype
    per_output, dt = time_grid(t_end, dt, n_out)
    mx, my = np.fft.rfftfreq(n, 1 / n), np.fft.fftfreq(n, 1 / n)
    mask = ((3 * np.abs(my)[:, None] < n) & (3 * mx[None, :] < n)).astype(real)
    kx, ky = (2 * np.pi * mx[None, :]).astype(real), (2 * np.pi * my[:, None]).astype(real)
    k2 = kx ** 2 + ky ** 2
    inv_k2 = np.where(k2 == 0, 0, 1 / np.where(k2 == 0, 1, k2)).astype(real)
    explicit = (1 - 0.5 * dt * nu * k2).astype(real)
    implicit_inv = (1 / (1 + 0.5 * dt * nu * k2)).astype(real)
    f_hat = np.fft.rfft2(forcing.astype(real)) * mask

    def advection(w_hat):
        psi = w_hat * inv_k2
        u = np.fft.irfft2(1j * ky * psi, (n, n))
        v = np.fft.irfft2(-1j * kx * psi, (n, n))
        wx = np.fft.irfft2(1j * kx * w_hat, (n, n))
        wy = np.fft.irfft2(1j * ky * w_hat, (n, n))
        return -np.fft.rfft2(u * wx + v * wy) * mask, np.sqrt((u * u + v * v).max())

    w_hat = np.fft.rfft2(w0) * mask
    out = [np.fft.irfft2(w_hat, (n, n))]
    for _ in range(n_out):
        for _ in range(per_output):
            n0, speed = advection(w_hat)
            if not speed * dt * n <= 1.0:
                raise RuntimeError("CFL violated")
            rhs = explicit * w_hat + dt * f_hat
            w_star = implicit_inv * (rhs + dt * n0)
            w_hat = implicit_inv * (rhs + 0.5 * dt * (n0 + advection(w_star)[0]))
        out.append(np.fft.irfft2(w_hat, (n, n)))
    return np.array(out)


# --- cases -----------------------------------------------------------------------------------------------------------

@dataclass
class Case:
    """One row: ``baseline(i)`` solves sample i alone, ``ours()`` the batch of B; both return arrays."""

    family: str
    grid: str
    precision: str
    baseline_name: str
    ours_name: str
    batch: int
    baseline: Callable[[int], np.ndarray]
    ours: Callable[[], np.ndarray]
    target: float | None
    gpu: Callable[[], np.ndarray] | None = None


SETUP: dict[int, float] = {}  # Darcy multigrid: the one-off set-up per grid size, seconds


def darcy_cases(n: int, B: int) -> list[Case]:
    a = darcy_coefficients(B, n, seed=0)
    start = time.perf_counter()
    hierarchy(n)  # the one-off set-up per grid size (cached), out of the timings but reported
    SETUP[n] = time.perf_counter() - start
    stencil = Stencil(n)  # the sparsity pattern, built once for the baseline too
    rhs = stencil.rhs(np.ones((n + 1, n + 1)))

    def baseline(i: int) -> np.ndarray:  # assemble, then spsolve with its defaults
        return stencil.expand(spla.spsolve(stencil.matrix(a[i]).tocsc(), rhs))

    return [Case("Darcy", f"n={n}", "float64", "spsolve/sample", method, B, baseline,
                 lambda method=method: run_batch(a, 1.0, method).solutions, target)
            for method, target in (("multigrid", 2.0), ("recycled", None))]


def burgers_cases(n: int, nu: float, dt: float, t_end: float, n_out: int, B: int, gpu: bool) -> list[Case]:
    cases = []
    for precision, (_, torch_dtype) in DTYPES.items():
        u0 = grf_periodic_1d(B, n, make_generator(0), torch_dtype)
        u0_np = u0.numpy()

        def ours(u0=u0, device="cpu"):
            return burgers_batch(u0.to(device), nu, dt, t_end, n_out, device).cpu().numpy()

        steps = time_grid(t_end, dt, n_out)[0] * n_out
        cases.append(Case("Burgers", f"n={n} nu={nu:g} {steps} steps", precision, "numpy loop", "batched torch", B,
                          lambda i, u0_np=u0_np: burgers_numpy(u0_np[i], nu, dt, t_end, n_out), ours, 5.0,
                          (lambda ours=ours: ours(device="cuda")) if gpu else None))
    return cases


def ns_cases(n: int, nu: float, dt: float, t_end: float, n_out: int, B: int, gpu: bool) -> list[Case]:
    p = grid_points(n)
    x, y = p[:, 0].reshape(n, n), p[:, 1].reshape(n, n)
    forcing = 0.1 * (np.sin(2 * np.pi * (x + y)) + np.cos(2 * np.pi * (x + y)))  # FNO_FORCING
    assert FNO_FORCING == "0.1*(sin(2*pi*(x+y)) + cos(2*pi*(x+y)))"
    cases = []
    for precision, (_, torch_dtype) in DTYPES.items():
        w0 = grf_periodic_2d(B, n, make_generator(0), torch_dtype)
        w0_np = w0.numpy()

        def ours(w0=w0, torch_dtype=torch_dtype, device="cpu"):
            f = torch.tensor(forcing, dtype=torch_dtype, device=device)
            return ns_batch(w0.to(device), nu, dt, t_end, n_out, device, forcing=f).cpu().numpy()

        steps = time_grid(t_end, dt, n_out)[0] * n_out
        cases.append(Case("Navier-Stokes", f"n={n} nu={nu:g} {steps} steps", precision, "numpy loop",
                          "batched torch", B,
                          lambda i, w0_np=w0_np: ns_numpy(w0_np[i], nu, dt, t_end, n_out, forcing.astype(w0_np.dtype)),
                          ours, 5.0, (lambda ours=ours: ours(device="cuda")) if gpu else None))
    return cases


# --- measuring -------------------------------------------------------------------------------------------------------

def timed(fn: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def measure(case: Case, repeats: int, baseline_samples: int) -> dict:
    """Interleaved repeats of (baseline on ``baseline_samples`` samples, ours on the batch); medians per sample."""
    case.baseline(0)  # warm-up: imports, FFT plans, caches
    case.ours()
    base_times, our_times, diff = [], [], 0.0
    for _ in range(repeats):
        t, refs = timed(lambda: [case.baseline(i) for i in range(baseline_samples)])
        base_times.append(t / baseline_samples)
        t, out = timed(case.ours)
        our_times.append(t / case.batch)
        for i, ref in enumerate(refs):
            diff = max(diff, float(np.abs(out[i] - ref).max() / np.abs(ref).max()))
    row = {"base": statistics.median(base_times), "ours": statistics.median(our_times), "diff": diff}
    if case.gpu is not None:
        case.gpu()  # warm-up (cuFFT plans)
        row["gpu"] = statistics.median(timed(case.gpu)[0] / case.batch for _ in range(repeats))
    return row


def load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run under 30 s: short runs, one repeat")
    args = parser.parse_args()
    quick = args.quick
    torch.set_num_threads(1)  # as the batched CPU solves do (cpu_threads); no spinning pool next to numpy
    gpu = torch.cuda.is_available()
    repeats, samples = (1, 1) if quick else (3, 3)
    B_darcy, B_spec = (8, 16) if quick else (32, 64)
    scale = 0.1 if quick else 1.0  # of the simulated time
    cases = [
        *darcy_cases(64, B_darcy), *darcy_cases(128, B_darcy),
        *burgers_cases(256, 0.1, 1e-3, 1.0 * scale, 20, B_spec, gpu),
        *burgers_cases(1024, 1e-3, 2e-4, 0.4 * scale, 20, B_spec, gpu),
        *ns_cases(64, 1e-3, 1e-3, 0.5 * scale, 10, B_spec // 2, gpu),
    ]
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, load average {load()}; numpy {np.__version__}, "
          f"torch {torch.__version__} (CPU runs: 1 intra-op thread), CUDA: "
          f"{torch.cuda.get_device_name(0) if gpu else 'none'}")
    print(f"{repeats} interleaved repeat(s); baseline timed on {samples} sample(s) one at a time; "
          f"batches: Darcy {B_darcy}, Burgers {B_spec}, Navier-Stokes {B_spec // 2}{' (--quick)' if quick else ''}")
    header = ("case", "grid", "precision", "baseline", "s/sample", "ours", "s/sample", "samples/s", "speedup",
              "target", "result", "GPU s/sample", "max rel diff")
    rows = []
    for case in cases:
        r = measure(case, repeats, samples)
        ratio = r["base"] / r["ours"]
        verdict = "-" if case.target is None else ("PASS" if ratio >= case.target else "MISS")
        rows.append((case.family, case.grid, case.precision, case.baseline_name, f"{r['base']:.4f}", case.ours_name,
                     f"{r['ours']:.4f}", f"{1.0 / r['ours']:.1f}", f"{ratio:.2f}x",
                     "-" if case.target is None else f">= {case.target:g}x", verdict,
                     f"{r['gpu']:.5f}" if "gpu" in r else "-", f"{r['diff']:.1e}"))
        print(f"  done: {case.family} {case.grid} {case.precision} {case.ours_name} ({ratio:.2f}x)", flush=True)
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) if i < 4 or i == 5 else str(c).rjust(w) for i, (c, w) in
                        enumerate(zip(row, widths))))
    print("\nDarcy multigrid: one-off set-up per grid size (cached, not in the times above): "
          + ", ".join(f"n={n} {seconds:.3f} s" for n, seconds in SETUP.items()))
    print(f"load average at the end: {load()}; device: CPU ({cpu_name()})"
          + (f" and CUDA ({torch.cuda.get_device_name(0)})" if gpu else ""))


if __name__ == "__main__":
    main()
