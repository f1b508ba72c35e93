"""Shared pieces of the spectral solvers: validation, time grids, wavenumbers, random fields."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch

from workbench.compute.torch_context import cpu_threads
from workbench.core.device import select_device
from workbench.core.errors import ParamError, SolverDiverged
from workbench.core.events import Event, Progress
from workbench.core.expressions import Expression
from workbench.core.memory import require_memory
from workbench.core.timesteps import uniform_steps

DTYPES = {"float64": torch.float64, "float32": torch.float32}

#: A running job reports progress at least this often, so pause and cancel act promptly.
PROGRESS_INTERVAL_S = 0.05

#: Batched CPU solves run in chunks of at most this many samples and grid values
#: (measured per sample on 2 cores: Burgers n = 1024 fastest at 64 samples, 1.5x slower
#: at 256; Navier-Stokes n = 64 fastest at 8-32, 1.4x slower at 64: the arrays leave
#: the caches), and with one intra-op thread (see :func:`cpu_threads`).
CHUNK_SAMPLES, CHUNK_VALUES = 64, 1 << 17

#: Memory of a run per grid node besides its frames (the grid mesh, FFT work arrays, the
#: output): ``/usr/bin/time -v pdewb run`` peaks 590 B per node for Navier-Stokes (n = 128 to
#: 512, two frames) and 200 B for Burgers (n = 1024 to 2^20). Under both, so only a run that
#: surely does not fit is refused.
RUN_BYTES_PER_NODE = 150


def check_viscosity(nu: float) -> float:
    nu = float(nu)
    if not math.isfinite(nu) or nu <= 0.0:
        raise ParamError(f"viscosity nu = {nu:g} must be a positive number")
    return nu


def check_grid_size(n: int) -> int:
    if isinstance(n, bool) or int(n) != n:
        raise ParamError(f"grid size n = {n!r} must be an integer")
    n = int(n)
    if n < 8 or n % 2:
        raise ParamError(f"grid size n = {n} must be even and at least 8")
    return n


def check_positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise ParamError(f"{name} = {value:g} must be a positive number")
    return value


def validate_common(params: Mapping[str, Any], solver: str = "spectral") -> None:
    """One-line ParamErrors for everything the ParamSpec ranges cannot express, time steps included
    (so ``grid_mesh``, which ``build_problem`` calls, refuses a bad dt before the run starts)."""
    check_viscosity(params["nu"])
    check_grid_size(params["n"])
    check_positive("dt", params["dt"])
    check_positive("t_end", params["t_end"])
    if int(params["n_out"]) < 1:
        raise ParamError(f"n_out = {params['n_out']} must be at least 1")
    time_grid(params["t_end"], params["dt"], int(params["n_out"]), solver)
    initial = str(params["initial"]).strip()
    if initial != "grf":
        try:
            Expression(initial)
        except ParamError as error:
            raise ParamError(f"parameter 'initial': {error} (or use 'grf')") from None


def check_run_memory(solver: str, n: int, nodes: int, frames: int, fields: int) -> None:
    """NotEnoughMemory (one line) before the grid is built if a run on ``nodes`` points keeping
    ``frames`` frames of ``fields`` float64 fields would not fit."""
    require_memory(nodes * (RUN_BYTES_PER_NODE + 8 * frames * fields),
                   f"{solver} with n = {n} ({nodes:,} grid points, {frames} frames)")


def check_batch_memory(solver: str, n: int, samples: int, values: int) -> None:
    """NotEnoughMemory if ``samples`` trajectories of ``values`` float64 values each, held twice
    (the solver's tensor and its numpy copy), would not fit."""
    require_memory(2 * 8 * samples * values, f"a batch of {samples} {solver} samples with n = {n}")


def time_grid(t_end: float, dt: float, n_out: int, solver: str = "spectral") -> tuple[int, float]:
    """Steps per output m and the step dt' = t_end / (n_out m) <= dt that lands exactly on every output.

    Refused (ParamError): dt > t_end, or more steps than
    :data:`workbench.core.timesteps.MAX_TIME_STEPS` (:func:`~workbench.core.timesteps.uniform_steps`).
    """
    t_end, dt = check_positive("t_end", t_end), check_positive("dt", dt)
    if n_out < 1:
        raise ParamError(f"n_out = {n_out} must be at least 1")
    return uniform_steps(solver, t_end, dt, n_out)


def pick_device(name: str | None = None) -> torch.device:
    """CUDA when present (workbench.core.device), else the CPU; MPS has no float64 FFT, so it falls back too."""
    try:
        device = select_device(name or None)
    except RuntimeError as error:
        raise ParamError(str(error)) from None
    return torch.device("cpu") if device.type == "mps" else device


def dealias_mask(n: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """2/3 rule on n points: keep the integer wavenumbers m with 3|m| < n.

    A product of two fields with |p|, |q| <= K aliases p + q onto p + q - n, which lies
    outside the kept band iff n > 3K, so the kept modes of a product are exact.
    Returns (mask over rfft modes 0..n/2, mask over fft modes in fft order).
    """
    half = torch.arange(n // 2 + 1, device=device)
    full = torch.fft.fftfreq(n, d=1.0 / n, device=device).round().long()
    return 3 * half < n, 3 * full.abs() < n


def kept_modes(n: int) -> int:
    """K, the number of non-negative wavenumbers m = 0..K-1 that the 2/3 rule keeps (3 m < n)."""
    return (n - 1) // 3 + 1


class PaddedInverse:
    """irfft along the last axis from the K kept modes, through a zero buffer of n // 2 + 1 modes.

    Why: for the (..., n, K) transposed views the Navier-Stokes stepper produces, the
    c2r measured ~6x slower straight from the strided view, and 1.7x slower with
    torch's own padding of K contiguous modes, than from a contiguous full-width
    buffer (n = 64, one thread). The buffer's modes K.. stay zero; only :K is written.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._buffers: dict[tuple, torch.Tensor] = {}

    def buffer(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        key = (*shape, like.dtype, like.device)
        if key not in self._buffers:
            self._buffers[key] = torch.zeros((*shape, self.n // 2 + 1), dtype=like.dtype, device=like.device)
        return self._buffers[key]

    def __call__(self, kept: torch.Tensor) -> torch.Tensor:
        """Real (..., n) from (..., K) complex modes; ``kept`` may be a strided view."""
        pad = self.buffer(tuple(kept.shape[:-1]), kept)
        pad[..., : kept.shape[-1]] = kept
        return torch.fft.irfft(pad, n=self.n, dim=-1)


def evaluate_initial(text: str, points: np.ndarray, what: str = "initial") -> np.ndarray:
    """An expression on grid points, refusing NaN or infinite values with a ParamError."""
    values = Expression(text)(points, 0.0)
    bad = ~np.isfinite(values)
    if bad.any():
        where = points[np.argmax(bad)]
        raise ParamError(
            f"{what} '{text}' is not finite at {bad.sum()} grid point(s), e.g. at ({', '.join(f'{c:.4g}' for c in where)})"
        )
    return values


def grf_periodic(batch: int, shape: tuple[int, ...], alpha: float, tau: float, scale: float,
                 generator: torch.Generator | None = None, dtype=torch.float64, device=None) -> torch.Tensor:
    """Samples of the zero-mean periodic Gaussian random field with covariance scale (-Lap + tau^2 I)^(-alpha).

    On the unit torus the covariance operator is diagonal in Fourier space with
    eigenvalues lambda_k = scale (4 pi^2 |k|^2 + tau^2)^(-alpha); the k = 0 one is set to 0
    (zero mean). Real white noise eta on the grid is coloured in Fourier space,
    u = n^(d/2) ifft(sqrt(lambda) fft(eta)), which is real by construction and has the
    grid covariance E u(x) u(y) = sum_k lambda_k exp(2 pi i k.(x - y)) (modes up to Nyquist).
    The noise is drawn on the CPU with ``generator`` so a seed gives the same field on any device.
    """
    d = len(shape)
    noise = torch.randn((batch, *shape), generator=generator, dtype=torch.float64)
    k2 = torch.zeros(tuple(shape[:-1]) + (shape[-1] // 2 + 1,), dtype=torch.float64)
    for axis, n in enumerate(shape):
        freq = torch.fft.rfftfreq(n, d=1.0 / n) if axis == d - 1 else torch.fft.fftfreq(n, d=1.0 / n)
        view = [1] * d
        view[axis] = -1
        k2 = k2 + (freq ** 2).reshape(view)
    sqrt_eig = torch.sqrt(scale * (4.0 * math.pi ** 2 * k2 + tau ** 2) ** (-alpha))
    sqrt_eig.reshape(-1)[0] = 0.0
    dims = tuple(range(-d, 0))
    field = torch.fft.irfftn(torch.fft.rfftn(noise, dim=dims) * sqrt_eig, s=shape, dim=dims)
    field = field * math.sqrt(math.prod(shape))
    return field.to(device=device, dtype=dtype)


def make_generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return generator


def solve_in_chunks(solve: Callable[[torch.Tensor], torch.Tensor], initial: torch.Tensor) -> torch.Tensor:
    """``solve(initial)`` for a batch (B, ...): on the CPU in nearly equal chunks (see
    :data:`CHUNK_SAMPLES`) with the CPU thread policy of workbench.compute.torch_context
    (one thread unless PDEWB_TORCH_THREADS says otherwise); on a GPU in one piece. Rows never interact, so
    chunks change no value (tested bit for bit)."""
    if initial.device.type != "cpu" or len(initial) <= 1:
        with cpu_threads() if initial.device.type == "cpu" else contextlib.nullcontext():
            return solve(initial)
    size = max(1, min(CHUNK_SAMPLES, CHUNK_VALUES // max(1, initial[0].numel())))
    parts = math.ceil(len(initial) / size)
    with cpu_threads():
        return torch.cat([solve(part) for part in torch.tensor_split(initial, parts)])


def record_trajectory(step, state, n_out: int, per_output: int, label: str, t_end: float):
    """Advance with ``step()`` and keep ``state()`` at the n_out + 1 output times: (B, n_out + 1, ...).

    A non-finite state ends the run with SolverDiverged rather than NaN frames.
    """
    import torch

    first = state()
    out = torch.empty((first.shape[0], n_out + 1, *first.shape[1:]), dtype=first.dtype, device=first.device)
    out[:, 0] = first
    with torch.no_grad():
        for i in range(1, n_out + 1):
            for _ in range(per_output):
                step()
            out[:, i] = state()
    if not bool(torch.isfinite(out).all()):
        raise SolverDiverged(f"{label}: non-finite values by t = {t_end:g}; reduce dt")
    return out


def check_step(solver: str, u_max: float, stepper) -> None:
    """Before step s + 1: SolverDiverged if max|u| is not finite or the CFL number max|u| dt / dx
    exceeds the stepper's ``cfl_max`` (dx = 1 / n on the unit box); the message names the step."""
    cfl = u_max * stepper.dt * stepper.n
    step, t = stepper.step_count + 1, stepper.step_count * stepper.dt
    if not math.isfinite(u_max):
        raise SolverDiverged(f"{solver}: non-finite values before step {step} (t = {t:.6g}); reduce dt")
    if cfl > stepper.cfl_max:
        raise SolverDiverged(
            f"{solver}: CFL number max|u| dt/dx = {cfl:.3g} exceeds {stepper.cfl_max:g} at step {step} "
            f"(t = {t:.6g}, dt = {stepper.dt:.3g}); reduce dt"
        )


def complex_dtype(real: torch.dtype) -> torch.dtype:
    """The complex dtype whose parts are ``real``."""
    return torch.complex128 if real == torch.float64 else torch.complex64


def stream_frames(stepper, per_output: int, n_out: int, output: Callable[[Any, int], Iterator[Event]]):
    """The GUI/CLI job loop: ``output(stepper, i)`` events at each of the n_out + 1 output times,
    with Progress at least every PROGRESS_INTERVAL_S between them."""
    n_steps = per_output * n_out
    yield from output(stepper, 0)
    last = time.perf_counter()
    with torch.no_grad():
        for frame in range(1, n_out + 1):
            for _ in range(per_output):
                stepper.step()
                if time.perf_counter() - last >= PROGRESS_INTERVAL_S:
                    last = time.perf_counter()
                    yield Progress(stepper.step_count / n_steps, f"step {stepper.step_count} of {n_steps}")
            yield from output(stepper, frame)
            yield Progress(stepper.step_count / n_steps, f"t = {stepper.time:.6g}")
