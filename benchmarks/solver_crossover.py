"""Linear-solver choices of the FEM plugin, measured: LU vs AMG-CG, and which AMG.

1. Crossover: for P1 Laplacians (one Poisson solve) and heat-step matrices M + dt K
   (50 solves with one matrix, as time stepping does), the best-of-2 time of the
   plugin's DirectSolver and AmgCgSolver, setup included. The 'auto' thresholds in
   pdewb_fem/linalg.py come from this table.
2. AMG variant: smoothed aggregation vs classical Ruge-Stueben as CG preconditioner on
   one large 2D Laplacian, with OpenBLAS threads as they are and pinned to one.

Run:  .venv/bin/python benchmarks/solver_crossover.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
import pyamg
import scipy.sparse.linalg as spla
from threadpoolctl import threadpool_limits

from pdewb_fem.assembly import SparsityPattern, mass_matrix, simplex_geometry, stiffness_matrix
from pdewb_fem.boundary import BoundaryConditions, ReducedSystem
from pdewb_fem.linalg import AmgCgSolver, DirectSolver
from workbench.core import BoundaryCondition, Problem
from workbench.core.meshgen import box_mesh, rectangle_mesh

HEAT_DT = 0.005
HEAT_SOLVES = 50


def dirichlet_system(mesh, heat: bool = False):
    """K (or M + dt K) restricted to the free nodes of u = 0 on the whole boundary."""
    boundary = BoundaryConditions.from_problem(Problem(mesh, "p", {}, (BoundaryCondition("boundary", "dirichlet", "0"),)))
    geometry = simplex_geometry(mesh.points, mesh.simplices)
    pattern = SparsityPattern.from_simplices(mesh.simplices, mesh.n_points)
    stiffness = stiffness_matrix(geometry, pattern)
    matrix = pattern.matrix(mass_matrix(geometry, pattern).data + HEAT_DT * stiffness.data) if heat else stiffness
    return ReducedSystem.eliminate(matrix, boundary).free_free


def best_of(repeats: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def crossover(quick: bool) -> None:
    print("LU vs AMG-CG (setup included; heat: one setup, 50 solves)")
    meshes = {"2D": [rectangle_mesh(n) for n in ((50, 100) if quick else (50, 100, 160, 225, 320))],
              "3D": [box_mesh(n) for n in ((10, 16) if quick else (10, 16, 22, 30))]}
    for label, family in meshes.items():
        for mesh in family:
            for heat in (False, True):
                matrix = dirichlet_system(mesh, heat)
                rhs = np.ones(matrix.shape[0])
                solves = HEAT_SOLVES if heat else 1

                def run(solver_class):
                    solver = solver_class(matrix)
                    for _ in range(solves):
                        solver.solve(rhs)

                direct, amg = best_of(2, lambda: run(DirectSolver)), best_of(2, lambda: run(AmgCgSolver))
                case = f"heat x{HEAT_SOLVES}" if heat else "poisson"
                winner = "direct" if direct < amg else "amg-cg"
                print(f"  {label} {matrix.shape[0]:8d} unknowns  {case:9s}  direct {direct:7.3f} s  "
                      f"amg-cg {amg:7.3f} s  -> {winner}", flush=True)


def amg_variants(quick: bool) -> None:
    matrix = dirichlet_system(rectangle_mesh(200 if quick else 707))
    rhs = np.ones(matrix.shape[0]) / matrix.shape[0]
    builders = {"smoothed aggregation": lambda: pyamg.smoothed_aggregation_solver(matrix, symmetry="symmetric"),
                "Ruge-Stueben": lambda: pyamg.ruge_stuben_solver(matrix)}
    print(f"\nAMG preconditioners for CG on a 2D P1 Laplacian, {matrix.shape[0]} unknowns, rtol 1e-10 "
          f"(OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'default')})")
    for threads in (None, 1):
        for name, build in builders.items():
            with threadpool_limits(limits=threads, user_api="blas"):
                start = time.perf_counter()
                hierarchy = build()
                setup = time.perf_counter() - start
                iterations = []
                start = time.perf_counter()
                spla.cg(matrix, rhs, rtol=1e-10, atol=0.0, M=hierarchy.aspreconditioner(),
                        callback=lambda _x: iterations.append(1))
                solve = time.perf_counter() - start
            print(f"  BLAS threads {threads or 'default':7}  {name:21s}  setup {setup:6.2f} s  "
                  f"CG {solve:6.2f} s  {len(iterations):3d} iterations  total {setup + solve:6.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    crossover(args.quick)
    amg_variants(args.quick)


if __name__ == "__main__":
    main()
