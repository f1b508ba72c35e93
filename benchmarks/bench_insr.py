"""INSR inner solvers against the time-discretisation floor and same-memory / 8x-memory grids.

    .venv/bin/python benchmarks/bench_insr.py [--quick]

One table, measured in one run:
* 1D advection (a = 0.25 on [-2, 2], Gaussian pulse), midpoint rule, dt = 0.05, 20 steps
  (implicit Euler too, with Gauss-Newton);
* Taylor-Green vortex, operator splitting, dt = 0.05, 10 steps.

For each: the floor (exact solution of the time-discrete scheme), INSR with each inner
solver (Gauss-Newton, L-BFGS, the paper's Adam schedule; the initial condition is fitted
by Gauss-Newton for all, so the rows differ only in the stepping), and grid solvers
storing as many floats as the network has weights (same memory) and 8x as many:
Crank-Nicolson and semi-Lagrangian (linear) for advection, stable-fluids MAC for
Taylor-Green. Error: relative L2 against the exact solution at the final time.
Targets (issue 7): advection error <= 2x floor; fast solvers reach Adam's error with >= 10x
fewer inner iterations. torch runs with the workbench's thread policy (cpu_threads).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pdewb_insr.baselines.advection_grid import crank_nicolson, grid_points, semi_lagrangian
from pdewb_insr.baselines.stable_fluids import MacGrid
from pdewb_insr.floor import advection_floor, taylor_green_floor
from pdewb_insr.inner_solvers import AdamSchedule, GaussNewton, Lbfgs, autograd_on
from pdewb_insr.problems import Advection1D, TaylorGreen
from pdewb_insr.problems.advection import gaussian_pulse
from pdewb_insr.problems.taylor_green import taylor_green_velocity
from pdewb_insr.simulation import InsrConfig, InsrSimulation
from pdewb_insr.simulation import run_to_end as drive
from workbench.compute.torch_context import cpu_threads

FULL = dict(adv_steps=20, adv_width=32, adv_points=400, tg_steps=10, tg_width=32, tg_points=1024,
            gn_cap=50, lbfgs_cap=500, init_cap=200, adv_adam_cap=300, tg_adam_cap=60)
QUICK = dict(adv_steps=1, adv_width=12, adv_points=80, tg_steps=1, tg_width=8, tg_points=100,
             gn_cap=4, lbfgs_cap=5, init_cap=15, adv_adam_cap=10, tg_adam_cap=3)
DT = 0.05


def rel(values, exact) -> float:
    return float(np.linalg.norm(values - exact) / np.linalg.norm(exact))


def insr_row(pde, integrator, solver, steps, width, points, x_eval, exact_eval, init_cap=200, main="u"):
    config = InsrConfig(integrator, dt=DT, width=width, depth=2, n_interior=points, n_boundary=max(4, points // 16))
    sim = InsrSimulation(pde, config, solver, GaussNewton(max_iterations=init_cap))
    drive(sim.fit_initial())
    iterations, seconds = [], []
    for _ in range(steps):
        report = drive(sim.step())
        iterations.append(report.iterations)
        seconds.append(report.seconds)
    values = sim.field_values(main, torch.tensor(x_eval)).numpy()
    return rel(values, exact_eval), sim.n_params, sim.n_bytes, np.mean(iterations), np.mean(seconds)


def solvers(o, adam_cap):
    return [("Gauss-Newton", GaussNewton(max_iterations=o["gn_cap"])), ("L-BFGS", Lbfgs(max_iterations=o["lbfgs_cap"])),
            ("Adam schedule", AdamSchedule(max_iterations=adam_cap))]


def advection_rows(o):
    pde, steps = Advection1D(), o["adv_steps"]
    t = steps * DT
    x = np.linspace(-2, 2, 2001)[:, None]
    exact = gaussian_pulse(x - pde.speed * t)
    rows, n_params = [], None
    for integrator in ("midpoint", "implicit_euler"):
        floor = advection_floor(gaussian_pulse, pde.speed, DT, steps, x[:, 0], integrator)[:, None]
        rows.append((f"advection {integrator}", "time floor (exact in space)", rel(floor, exact), "-", "-", "-", "-"))
        for name, solver in solvers(o, o["adv_adam_cap"]) if integrator == "midpoint" else solvers(o, 0)[:1]:
            error, n_params, n_bytes, its, secs = insr_row(pde, integrator, solver, steps, o["adv_width"],
                                                          o["adv_points"], x, exact, o["init_cap"])
            rows.append((f"advection {integrator}", f"INSR {name}", error, n_params, n_bytes, its, secs))
    for factor in (1, 8):
        n = factor * n_params - 1
        xg = grid_points(n)
        exact_g = gaussian_pulse(xg - pde.speed * t)
        for name, scheme in (("Crank-Nicolson", crank_nicolson), ("semi-Lagrangian", semi_lagrangian)):
            started = time.perf_counter()
            u = scheme(gaussian_pulse(xg), pde.speed, DT, steps, xg[1] - xg[0])
            secs = (time.perf_counter() - started) / steps
            rows.append(("advection midpoint", f"grid {name} ({factor}x memory, n={n + 1})", rel(u, exact_g),
                         n + 1, 8 * (n + 1), "-", secs))
    return rows


def taylor_green_rows(o):
    pde, steps = TaylorGreen(), o["tg_steps"]
    axis = np.linspace(-1, 1, 65)
    X, Y = np.meshgrid(axis, axis, indexing="ij")
    x = np.stack([X.ravel(), Y.ravel()], -1)
    exact = taylor_green_velocity(x)
    points, floor = taylor_green_floor(taylor_green_velocity, DT, steps, 128 if o is QUICK else 256)
    rows = [("Taylor-Green splitting", "time floor (fine grid)", rel(floor, taylor_green_velocity(points)), "-", "-", "-", "-")]
    n_params = None
    for name, solver in solvers(o, o["tg_adam_cap"]):
        error, n_params, n_bytes, its, secs = insr_row(pde, "splitting", solver, steps, o["tg_width"], o["tg_points"], x, exact, o["init_cap"])
        rows.append(("Taylor-Green splitting", f"INSR {name}", error, n_params, n_bytes, its, secs))
    for factor in (1, 8):
        n = max(4, int(round(np.sqrt(factor * n_params / 2))))
        grid = MacGrid(n)
        u, v = grid.sample(taylor_green_velocity)
        u0, v0 = u.copy(), v.copy()
        started = time.perf_counter()
        for _ in range(steps):
            u, v = grid.step(u, v, DT)
        secs = (time.perf_counter() - started) / steps
        error = np.sqrt(((u - u0) ** 2).sum() + ((v - v0) ** 2).sum()) / np.sqrt((u0 ** 2).sum() + (v0 ** 2).sum())
        rows.append(("Taylor-Green splitting", f"grid MAC stable fluids ({factor}x memory, {n}^2)", float(error),
                     grid.n_values, 8 * grid.n_values, "-", secs))
    return rows


def fmt(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return str(value)
    return f"{value:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a smoke run (< 20 s)")
    args = parser.parse_args()
    options = QUICK if args.quick else FULL
    started = time.perf_counter()
    with cpu_threads(), autograd_on():
        torch.manual_seed(0)
        rows = advection_rows(options) + taylor_green_rows(options)
        threads = torch.get_num_threads()
    header = ("problem", "method", "rel. L2 error", "floats", "bytes", "inner its/step", "s/step")
    table = [header] + [tuple(fmt(v) for v in row) for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for row in table:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    print(f"torch threads: {threads}, total {time.perf_counter() - started:.1f} s, "
          f"{'quick' if args.quick else 'full'} sizes: {options}")


if __name__ == "__main__":
    main()
