"""Per-sample cost of the spectral solvers: plain numpy one sample at a time vs batched torch.

    python benchmarks/bench_spectral.py            # Burgers n=1024, NS n=64, t_end=1
    python benchmarks/bench_spectral.py --quick    # small sizes, a few seconds

(a) numpy reference: numpy.fft, the same schemes (Burgers IF-RK4, NS CN + Heun, 2/3 rule),
    a Python loop over samples; (b) pdewb_spectral's batched torch solvers on the CPU;
(c) the same on CUDA when available. Everything in float64 (the numpy reference is also
checked against the torch result, so the comparison is between equal computations);
``--float32`` runs the torch solvers in float32 instead.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pdewb_spectral.burgers import grf_periodic_1d
from pdewb_spectral.burgers import solve_batch as burgers_batch
from pdewb_spectral.common import make_generator, time_grid
from pdewb_spectral.navier_stokes import grf_periodic_2d, grid_points
from pdewb_spectral.navier_stokes import solve_batch as ns_batch


def burgers_numpy(u0: np.ndarray, nu: float, dt: float, t_end: float, n_out: int) -> np.ndarray:
    """One sample (n,), IF-RK4 with numpy.fft; returns (n_out + 1, n)."""
    n = u0.size
    per_output, dt = time_grid(t_end, dt, n_out)
    m = np.arange(n // 2 + 1)
    k = 2 * np.pi * m
    mask = (3 * m < n).astype(float)
    coef = -0.5j * k * mask
    e = np.exp(-nu * k ** 2 * dt / 2)
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
    """One sample (n, n), CN + Heun with numpy.fft; returns (n_out + 1, n, n)."""
    n = w0.shape[0]
    per_output, dt = time_grid(t_end, dt, n_out)
    mx, my = np.fft.rfftfreq(n, 1 / n), np.fft.fftfreq(n, 1 / n)
    mask = ((3 * np.abs(my)[:, None] < n) & (3 * mx[None, :] < n)).astype(float)
    kx, ky = 2 * np.pi * mx[None, :], 2 * np.pi * my[:, None]
    k2 = kx ** 2 + ky ** 2
    inv_k2 = np.where(k2 == 0, 0.0, 1 / np.where(k2 == 0, 1, k2))
    explicit, implicit_inv = 1 - 0.5 * dt * nu * k2, 1 / (1 + 0.5 * dt * nu * k2)
    f_hat = np.fft.rfft2(forcing) * mask

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


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--float32", action="store_true", help="torch runs in float32 (the numpy reference stays float64)")
    parser.add_argument("--batch", type=int, default=None, help="batch size of the torch runs (default 64; 16 quick)")
    args = parser.parse_args()
    quick = args.quick
    batch = args.batch or (16 if quick else 64)
    n_numpy = 2 if quick else 4  # samples timed one at a time (the time per sample is the same for each)
    cases = [
        dict(name="Burgers", n=256 if quick else 1024, nu=0.1, dt=1e-3 if quick else 2.5e-4, t_end=0.2 if quick else 1.0,
             n_out=10),
        dict(name="NS", n=32 if quick else 64, nu=1e-3, dt=1e-2 if quick else 5e-3, t_end=0.5 if quick else 1.0,
             n_out=10),
    ]
    torch.set_num_threads(torch.get_num_threads())
    gpu = torch.cuda.is_available()
    rows = []
    for case in cases:
        n, nu, dt, t_end, n_out = case["n"], case["nu"], case["dt"], case["t_end"], case["n_out"]
        steps = time_grid(t_end, dt, n_out)[0] * n_out
        if case["name"] == "Burgers":
            x0 = grf_periodic_1d(batch, n, make_generator(0))
            ref_fn = lambda u: burgers_numpy(u, nu, dt, t_end, n_out)  # noqa: E731
            torch_fn = lambda x, dev: burgers_batch(x, nu, dt, t_end, n_out, dev)  # noqa: E731
        else:
            x0 = grf_periodic_2d(batch, n, make_generator(0)) * 20.0
            p = grid_points(n)
            f = (0.1 * (np.sin(2 * np.pi * (p[:, 0] + p[:, 1])) + np.cos(2 * np.pi * (p[:, 0] + p[:, 1])))).reshape(n, n)
            ref_fn = lambda w: ns_numpy(w, nu, dt, t_end, n_out, f)  # noqa: E731
            torch_fn = lambda x, dev: ns_batch(x, nu, dt, t_end, n_out, dev, forcing=torch.tensor(f))  # noqa: E731
        x_np = x0.numpy()
        if args.float32:
            x0 = x0.float()
        t_np, ref = timed(lambda: [ref_fn(x_np[i]) for i in range(n_numpy)])
        t_np /= n_numpy
        torch_fn(x0[:2], "cpu")  # warm-up: the first torch FFT call pays a one-off start-up cost (~2 s)
        t_cpu, out = timed(lambda: torch_fn(x0, "cpu"))
        t_cpu /= batch
        agreement = max(float(np.abs(out[i].numpy() - ref[i]).max()) for i in range(n_numpy))
        if gpu:
            torch_fn(x0[:2], "cuda")  # warm-up (cuFFT plans)
            t_gpu, out_gpu = timed(lambda: torch_fn(x0, "cuda"))
            t_gpu /= batch
            gpu_text = f"{t_gpu * 1e3:9.3f} ms"
        else:
            gpu_text = "   no GPU"
        rows.append((case["name"], f"n={n}", f"nu={nu:g}", f"{steps} steps", f"{t_np * 1e3:9.2f} ms",
                     f"{t_cpu * 1e3:9.2f} ms", gpu_text, f"{t_np / t_cpu:6.1f}x", f"{agreement:.1e}"))
    print(f"numpy float64, torch {'float32' if args.float32 else 'float64'}; torch {torch.__version__}, {torch.get_num_threads()} CPU threads; batch B = {batch}; "
          f"numpy timed on {n_numpy} samples one at a time")
    header = ("case", "grid", "viscosity", "time steps", "(a) numpy/sample", "(b) torch CPU/sample",
              "(c) CUDA/sample", "(a)/(b)", "max|a-b|")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))


if __name__ == "__main__":
    main()
