"""2D incompressible Navier-Stokes in vorticity form on the unit torus [0, 1)^2.

    w_t + u . grad w = nu Lap w + f,   Lap psi = -w,   u = (psi_y, -psi_x).

Grid arrays are indexed [..., j, i] with x_i = i / n along the last axis and y_j = j / n
along the one before (so a flattened padded array matches rectangle_mesh's point order).

Space: Fourier pseudo-spectral (torch.fft, layout in :class:`VorticityStepper`), the 2/3
rule on both axes (modes with 3|m_x| < n and 3|m_y| < n are kept, in the state, the
forcing and the advection term), so the quadratic term u . grad w is computed alias-free.
psi_hat = w_hat / |k|^2 (mean 0).

Time: Crank-Nicolson for diffusion, Heun (explicit trapezoidal RK2) for advection and
forcing; with A = 1 - nu |k|^2 dt / 2, B = 1 + nu |k|^2 dt / 2, N = -(u . grad w)^:

    B w*      = A w^n + dt (N(w^n) + f)
    B w^{n+1} = A w^n + dt/2 (N(w^n) + N(w*)) + dt f

which is second order (IMEX trapezoidal rule), unconditionally stable for diffusion and
limited by advection (max|u| dt / dx). The CFL number is checked before every step;
above ``cfl_max``, or for non-finite values, SolverDiverged is raised naming the step.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from workbench.core.errors import ParamError, SolverDiverged
from workbench.core.events import Event, Frame, LogMessage, Scalars
from workbench.core.field import Field
from workbench.core.mesh import Mesh
from workbench.core.meshgen import rectangle_mesh
from workbench.core.params import resolve_params
from workbench.core.problem import Problem

from .common import (
    DTYPES,
    PaddedInverse,
    check_grid_size,
    check_run_memory,
    check_step,
    check_positive,
    check_viscosity,
    complex_dtype,
    dealias_mask,
    evaluate_initial,
    grf_periodic,
    kept_modes,
    make_generator,
    pick_device,
    record_trajectory,
    solve_in_chunks,
    stream_frames,
    time_grid,
    validate_common,
)
from .plugin import NAVIER_STOKES

#: FNO recipe for the initial vorticity: covariance 7^(3/2) (-Lap + 49 I)^(-5/2).
GRF_ALPHA, GRF_TAU, GRF_SCALE = 2.5, 7.0, 7.0 ** 1.5

FNO_FORCING = "0.1*(sin(2*pi*(x+y)) + cos(2*pi*(x+y)))"


def grid_mesh(params: Mapping[str, Any]) -> Mesh:
    """rectangle_mesh(n): (n + 1)^2 points on [0, 1]^2; the last row and column are periodic copies.

    Validates the parameters first (initial and forcing expressions are evaluated on the
    grid, so NaN values are reported by ``build_problem``, before the run starts).
    """
    validate_common(params, NAVIER_STOKES.id)
    n = check_grid_size(params["n"])
    check_run_memory(NAVIER_STOKES.id, n, (n + 1) ** 2, int(params["n_out"]) + 1, 2)  # w and |u|
    if str(params["initial"]).strip() != "grf":
        evaluate_initial(str(params["initial"]).strip(), grid_points(n))
    evaluate_initial(params["forcing"], grid_points(n), what="forcing")
    return rectangle_mesh(n)


def grid_points(n: int) -> np.ndarray:
    """(n*n, 2) points x_i = i/n, y_j = j/n in the [j, i] (row = y) order of the solver's arrays."""
    s = np.arange(n, dtype=np.float64) / n
    return np.column_stack([np.tile(s, n), np.repeat(s, n)])


def grf_periodic_2d(batch: int, n: int, generator: torch.Generator | None = None, dtype=torch.float64,
                    device=None) -> torch.Tensor:
    """(batch, n, n) samples of N(0, 7^(3/2) (-Lap + 49 I)^(-5/2)) on the unit torus, zero mean."""
    return grf_periodic(batch, (n, n), GRF_ALPHA, GRF_TAU, GRF_SCALE, generator, dtype, device)



class VorticityStepper:
    """CN + Heun for a batch (B, n, n) of vorticity fields, kept in Fourier space.

    Only the modes the 2/3 rule keeps in x are stored, x-wavenumber first: w_hat is
    (B, K, n) with K = :func:`~.common.kept_modes` (n) for m_x = 0..K-1 and all n
    m_y in fft order (those with 3 |m_y| >= n are zero). Why: the y transforms run
    along the contiguous last axis, the element-wise work skips the n/2 + 1 - K zero
    columns, and the c2r in x reads a contiguous zero-padded buffer
    (:class:`~.common.PaddedInverse`). The factors (the 2/3 rule, CN, the velocity
    from psi) are precomputed complex arrays, so no real factor is promoted to a
    complex copy per multiplication. The arithmetic is that of ``rfft2``/``irfft2``
    on (B, n, n/2 + 1) up to rounding (tested); benchmarks/bench_reference.py times
    the whole solver against a per-sample numpy loop, not against that layout.
    """

    def __init__(self, w0: torch.Tensor, nu: float, dt: float, forcing: torch.Tensor | None = None,
                 cfl_max: float = 1.0) -> None:
        if w0.ndim != 3 or w0.shape[-1] != w0.shape[-2]:
            raise ParamError(f"initial vorticity must have shape (batch, n, n), not {tuple(w0.shape)}")
        self.n = n = check_grid_size(w0.shape[-1])
        self.nu, self.dt, self.cfl_max = check_viscosity(nu), check_positive("dt", dt), float(cfl_max)
        device, real = w0.device, w0.dtype
        cplx = complex_dtype(real)
        self.K = K = kept_modes(n)
        _, keep_y = dealias_mask(n, device)
        mask = keep_y.to(real)[None, :]  # (1, n): the 2/3 rule in y (in x: only K modes are stored)
        kx = (2.0 * math.pi * torch.arange(K, device=device, dtype=real))[:, None]  # (K, 1)
        ky = (2.0 * math.pi * torch.fft.fftfreq(n, d=1.0 / n, device=device, dtype=real))[None, :]  # (1, n)
        k2 = kx ** 2 + ky ** 2
        inv_k2 = 1.0 / torch.where(k2 == 0, torch.ones_like(k2), k2)
        inv_k2[0, 0] = 0.0
        ikx, iky = (1j * kx).to(cplx), (1j * ky).to(cplx)
        # u_hat = i ky psi_hat, v_hat = -i kx psi_hat with psi_hat = w_hat / |k|^2; then grad w
        self.to_velocity = torch.stack(torch.broadcast_tensors(iky * inv_k2, -ikx * inv_k2))[:, None]
        self.to_gradient = torch.stack(torch.broadcast_tensors(ikx, iky))[:, None]
        self.to_advection = torch.cat([self.to_velocity, self.to_gradient])  # (4, 1, K, n)
        self.explicit = (1.0 - 0.5 * dt * nu * k2).to(cplx)
        self.implicit = (mask / (1.0 + 0.5 * dt * nu * k2)).to(cplx)  # the CN solve, then the 2/3 rule
        self._irfft = PaddedInverse(n)
        self.w_hat = self.forward(w0) * mask
        self.dt_f_hat = None if forcing is None else dt * self.forward(forcing.to(device=device, dtype=real)) * mask
        self.step_count, self.time = 0, 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., n, n) real [y, x] -> the kept modes (..., K, n) [m_x, m_y]."""
        half = torch.fft.rfft(x, dim=-1)[..., : self.K]
        return torch.fft.fft(half.transpose(-1, -2).contiguous(), dim=-1)

    def inverse(self, h: torch.Tensor) -> torch.Tensor:
        """The kept modes (..., K, n) -> (..., n, n) real [y, x]."""
        return self._irfft(torch.fft.ifft(h, dim=-1).transpose(-1, -2))

    def advection(self, w_hat: torch.Tensor, speed: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(u . grad w)^ on the kept x modes (not yet masked in y) and, if asked, the largest |u|^2."""
        u, v, wx, wy = self.inverse(w_hat * self.to_advection).unbind(0)
        speed2 = torch.addcmul(u * u, v, v).amax() if speed else None
        return self.forward(torch.addcmul(u * wx, v, wy)), speed2

    def step(self) -> None:
        dt, w_hat = self.dt, self.w_hat
        a0, speed2 = self.advection(w_hat, speed=True)
        self._check(speed2)
        rhs = self.explicit * w_hat
        if self.dt_f_hat is not None:
            rhs += self.dt_f_hat
        w_star = self.implicit * torch.add(rhs, a0, alpha=-dt)
        a1, _ = self.advection(w_star)
        a0 += a1
        self.w_hat = self.implicit * rhs.add_(a0, alpha=-0.5 * dt)
        self.step_count += 1
        self.time = self.step_count * dt

    def _check(self, speed2: torch.Tensor) -> None:
        squared = float(speed2)
        check_step("Navier-Stokes", math.sqrt(squared) if math.isfinite(squared) else float("nan"), self)

    def vorticity(self) -> torch.Tensor:
        return self.inverse(self.w_hat)

    def velocity(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inverse(self.w_hat * self.to_velocity).unbind(0)

    def diagnostics(self) -> dict[str, torch.Tensor]:
        """Per sample: kinetic energy 1/2 int |u|^2, enstrophy 1/2 int w^2, mean vorticity."""
        w = self.vorticity()
        u, v = self.velocity()
        return {"energy": 0.5 * (u * u + v * v).mean(dim=(-2, -1)), "enstrophy": 0.5 * (w * w).mean(dim=(-2, -1)),
                "mean_w": w.mean(dim=(-2, -1))}


def solve_batch(w0: torch.Tensor, nu: float, dt: float, t_end: float, n_out: int, device=None,
                forcing: torch.Tensor | None = None, cfl_max: float = 1.0) -> torch.Tensor:
    """Solve for a batch of initial vorticities w0 (B, n, n) ([j, i] = (y_j, x_i)); returns (B, n_out + 1, n, n).

    ``forcing`` is an (n, n) grid array (None: unforced). The dtype is w0's; ``device``
    defaults to CUDA when present. Raises SolverDiverged on a CFL violation or non-finite values.
    """
    device = pick_device(device) if device is None or isinstance(device, str) else torch.device(device)
    w0 = torch.as_tensor(w0).to(device)
    if not w0.is_floating_point():
        w0 = w0.to(torch.float64)
    per_output, dt = time_grid(t_end, dt, int(n_out))

    def solve_chunk(part: torch.Tensor) -> torch.Tensor:
        stepper = VorticityStepper(part, nu, dt, forcing, cfl_max)
        return record_trajectory(stepper.step, stepper.vorticity, int(n_out), per_output, "Navier-Stokes", t_end)

    return solve_in_chunks(solve_chunk, w0)


def initial_vorticity(params: Mapping[str, Any], dtype=torch.float64, device=None) -> torch.Tensor:
    n = check_grid_size(params["n"])
    text = str(params["initial"]).strip()
    if text == "grf":
        return grf_periodic_2d(1, n, make_generator(params["seed"]), dtype, device)
    values = evaluate_initial(text, grid_points(n))
    return torch.as_tensor(values.reshape(n, n), dtype=dtype, device=device)[None]


def forcing_grid(text: str, n: int, dtype=torch.float64, device=None) -> torch.Tensor:
    values = evaluate_initial(text, grid_points(n), what="forcing")
    return torch.as_tensor(values.reshape(n, n), dtype=dtype, device=device)


def solve(problem: Problem) -> Iterator[Event]:
    """The GUI/CLI job: frames of w and |u| on rectangle_mesh(n), energy and enstrophy scalars."""
    params = resolve_params(NAVIER_STOKES.params, problem.params)
    validate_common(params, NAVIER_STOKES.id)
    n, nu = params["n"], params["nu"]
    device, dtype = pick_device(params["device"]), DTYPES[params["precision"]]
    if problem.mesh.n_points != (n + 1) ** 2:
        raise ParamError(f"{NAVIER_STOKES.id}: the mesh has {problem.mesh.n_points} points, "
                         f"the grid (n + 1)^2 = {(n + 1) ** 2}")
    per_output, dt = time_grid(params["t_end"], params["dt"], params["n_out"])
    n_steps = per_output * params["n_out"]
    forcing = forcing_grid(params["forcing"], n, dtype, device)
    stepper = VorticityStepper(initial_vorticity(params, dtype, device), nu, dt,
                               forcing if bool(forcing.abs().amax() > 0) else None, params["cfl_max"])
    yield LogMessage(f"{NAVIER_STOKES.id}: CN + Heun, n = {n}, nu = {nu:g}, {n_steps} steps of dt = {dt:.6g} "
                     f"on {device} ({params['precision']})")
    yield from stream_frames(stepper, per_output, params["n_out"], _output)


def _periodic(a: np.ndarray) -> np.ndarray:
    """(n, n) [j, i] -> ((n+1)^2,) in rectangle_mesh point order, with the periodic copies."""
    return np.pad(a, ((0, 1), (0, 1)), mode="wrap").reshape(-1)


def _output(stepper: VorticityStepper, index: int) -> Iterator[Event]:
    w = stepper.vorticity()[0].double().cpu().numpy()
    u, v = (c[0].double().cpu().numpy() for c in stepper.velocity())
    if not (np.isfinite(w).all() and np.isfinite(u).all() and np.isfinite(v).all()):
        raise SolverDiverged(f"Navier-Stokes: non-finite values at step {stepper.step_count} (t = {stepper.time:.6g})")
    speed = np.hypot(u, v)
    yield Frame(index, stepper.time, {"w": Field("w", _periodic(w), "point"),
                                      "speed": Field("speed", _periodic(speed), "point")})
    yield Scalars(stepper.step_count, {"energy": 0.5 * float(np.mean(u * u + v * v)),
                                       "enstrophy": 0.5 * float(np.mean(w * w))})
