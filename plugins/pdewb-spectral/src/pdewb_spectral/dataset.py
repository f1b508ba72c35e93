"""Data sets of the spectral solvers for ``pdewb datagen``.

``generate_batch(params, seeds, device)`` draws one Gaussian random field initial
condition per seed (the noise of sample b comes from a torch CPU generator seeded with
``seeds[b]`` alone, the same draw as the solver's ``seed`` parameter), stacks them and
advances the whole batch at once with ``solve_batch`` on ``device`` (the ``device``
parameter when set, else the device the host passes, else CUDA when present). The
precision parameter sets the dtype of the solve and of the returned arrays.

The time stepping is row-wise (batched FFTs and element-wise products), so a sample's
trajectory does not depend on its batch; the only batch-wide step is the CFL / finiteness
check, which fails the whole batch, never changes a value. One exception, measured with
torch 2.13's CPU (MKL) FFTs: a 2D transform of a batch of *one* takes another code path
and differs in the last bit from the same sample in a larger batch; a batch of one is
therefore solved as two copies of the sample (:func:`_solve`), which makes every batch
size give bit-identical samples (checked by the tests for sizes 1, 3 and 8). The solvers
now use 1D transforms only, which measured bit-identical for a batch of one on the CPU
as well; the padding stays for the FFT backends not checked (cuFFT).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from workbench.core.errors import ParamError

from . import burgers, navier_stokes
from .common import DTYPES, check_batch_memory, check_grid_size, make_generator, pick_device, time_grid, validate_common


def _device(params: Mapping[str, Any], device) -> torch.device:
    if params.get("device"):
        return pick_device(params["device"])
    return pick_device(None) if device is None else torch.device(device)


def _check(params: Mapping[str, Any]) -> None:
    validate_common(params)
    if str(params["initial"]).strip() != "grf":
        raise ParamError("spectral data sets need initial = 'grf' (an expression gives identical samples)")


def _initial(seeds, draw, dtype) -> torch.Tensor:
    """One GRF sample per seed, each from its own generator, stacked (B, ...)."""
    seeds = np.asarray(seeds).reshape(-1)
    return torch.cat([draw(make_generator(int(seed)), dtype) for seed in seeds], dim=0)


def _solve(solve, initial: torch.Tensor) -> torch.Tensor:
    """``solve(initial)``, with a batch of one padded to two (see the module docstring)."""
    if initial.shape[0] == 1:
        return solve(initial.expand(2, *initial.shape[1:]).contiguous())[:1]
    return solve(initial)


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().cpu().numpy())


def output_times(params: Mapping[str, Any]) -> list[float]:
    per_output, dt = time_grid(params["t_end"], params["dt"], int(params["n_out"]))
    return [i * per_output * dt for i in range(int(params["n_out"]) + 1)]


def _time_info(params: Mapping[str, Any]) -> dict:
    per_output, dt = time_grid(params["t_end"], params["dt"], int(params["n_out"]))
    return {"times": output_times(params), "dt": dt, "steps_per_output": per_output}


def burgers_batch(params: Mapping[str, Any], seeds, device=None) -> dict[str, np.ndarray]:
    """{"u0": (B, n), "u": (B, n_out + 1, n)} on x_j = j / n (no periodic copy)."""
    _check(params)
    n, dtype = check_grid_size(params["n"]), DTYPES[params["precision"]]
    check_batch_memory("spectral.burgers", n, len(np.asarray(seeds).reshape(-1)), (int(params["n_out"]) + 2) * n)
    target = _device(params, device)
    u0 = _initial(seeds, lambda g, dt: burgers.grf_periodic_1d(1, n, g, dt), dtype).to(target)
    u = _solve(lambda x: burgers.solve_batch(x, params["nu"], params["dt"], params["t_end"], int(params["n_out"]),
                                             target, params["cfl_max"]), u0)
    return {"u0": _numpy(u0), "u": _numpy(u)}


def navier_stokes_batch(params: Mapping[str, Any], seeds, device=None) -> dict[str, np.ndarray]:
    """{"w0": (B, n, n), "w": (B, n_out + 1, n, n)} indexed [sample, (time,) y, x]."""
    _check(params)
    n, dtype = check_grid_size(params["n"]), DTYPES[params["precision"]]
    check_batch_memory("spectral.navier_stokes", n, len(np.asarray(seeds).reshape(-1)),
                       (int(params["n_out"]) + 2) * n * n)
    target = _device(params, device)
    w0 = _initial(seeds, lambda g, dt: navier_stokes.grf_periodic_2d(1, n, g, dt), dtype).to(target)
    forcing = navier_stokes.forcing_grid(params["forcing"], n, dtype, target)
    forcing = forcing if bool(forcing.abs().amax() > 0) else None
    w = _solve(lambda x: navier_stokes.solve_batch(x, params["nu"], params["dt"], params["t_end"],
                                                   int(params["n_out"]), target, forcing, params["cfl_max"]), w0)
    return {"w0": _numpy(w0), "w": _numpy(w)}


def burgers_metadata(params: Mapping[str, Any]) -> dict:
    _check(params)
    n = check_grid_size(params["n"])
    return {
        "equation": "u_t + (u^2/2)_x = nu u_xx on the periodic [0, 1)",
        "grid": {"kind": "periodic", "dims": 1, "n": n, "shape": [n], "domain": [0, 1],
                 "points": "x_j = j / n, j = 0..n-1 (the periodic copy x = 1 is not stored)"},
        "time_dependent": True,
        **_time_info(params),
        "fields": {
            "u0": {"role": "input", "location": "grid points", "meaning": "initial condition u(x, 0)",
                   "recipe": f"GRF N(0, {burgers.GRF_SCALE:g} (-Lap + {burgers.GRF_TAU ** 2:g} I)^-{burgers.GRF_ALPHA:g})"},
            "u": {"role": "output", "location": "grid points", "meaning": "u(x, t) at the output times",
                  "axes": ["sample", "time", "x"]},
        },
        "precision": params["precision"],
        "seed_use": "torch.Generator().manual_seed(seed) draws the white noise of the initial GRF (on the CPU)",
    }


def navier_stokes_metadata(params: Mapping[str, Any]) -> dict:
    _check(params)
    n = check_grid_size(params["n"])
    return {
        "equation": "w_t + u.grad w = nu Lap w + f on the unit torus (vorticity form)",
        "grid": {"kind": "periodic", "dims": 2, "n": n, "shape": [n, n], "domain": [[0, 1], [0, 1]],
                 "points": "x_i = i / n, y_j = j / n; arrays indexed [..., j, i] = [..., y, x] (no periodic copies)"},
        "time_dependent": True,
        **_time_info(params),
        "forcing": str(params["forcing"]),
        "fields": {
            "w0": {"role": "input", "location": "grid points", "meaning": "initial vorticity w(x, y, 0)",
                   "recipe": (f"GRF N(0, {navier_stokes.GRF_SCALE:g} (-Lap + {navier_stokes.GRF_TAU ** 2:g} I)"
                              f"^-{navier_stokes.GRF_ALPHA:g})")},
            "w": {"role": "output", "location": "grid points", "meaning": "vorticity at the output times",
                  "axes": ["sample", "time", "y", "x"]},
        },
        "precision": params["precision"],
        "seed_use": "torch.Generator().manual_seed(seed) draws the white noise of the initial GRF (on the CPU)",
    }


class Burgers:
    """The ``dataset`` of spectral.burgers: ``pdewb_spectral.dataset:Burgers.generate_batch``."""

    generate_batch = staticmethod(burgers_batch)
    dataset_metadata = staticmethod(burgers_metadata)


class NavierStokes:
    """The ``dataset`` of spectral.navier_stokes: ``pdewb_spectral.dataset:NavierStokes.generate_batch``."""

    generate_batch = staticmethod(navier_stokes_batch)
    dataset_metadata = staticmethod(navier_stokes_metadata)
