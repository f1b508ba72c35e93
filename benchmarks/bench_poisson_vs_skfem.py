"""P1 Poisson: the fem plugin's assembly and solve against scikit-fem on the same meshes.

Problem: -lap u = 1 on the unit square, u = 0 on the boundary, P1 elements, on
``rectangle_mesh(n)`` with 2 n^2 triangles; scikit-fem gets the very same points
and triangles as a ``MeshTri``. Each phase is timed separately (time.perf_counter):

* assembly: ours = barycentric gradients + CSR pattern + stiffness + load vector;
  skfem = ``Basis(mesh, ElementTriP1())`` + ``laplace.assemble`` + ``unit_load.assemble``.
* boundary: finding the Dirichlet nodes and eliminating them (ours:
  ``ReducedSystem.eliminate``; skfem: ``basis.get_dofs()`` + ``condense``). Mesh
  topology is not timed for either side: the workbench Mesh finds its boundary
  facets when it is built, and skfem's lazily built facets are built before timing.
* solve: ours = the plugin's 'auto' choice (sparse LU with a minimum-degree ordering
  on small systems, AMG-CG above), setup (factorisation / hierarchy) included;
  skfem = its default ``skfem.solve`` (scipy ``spsolve``); and, to separate the
  solver from the assembly, skfem's condensed system solved with our AMG-CG.

Ratios are skfem time / our time: above 1 means the plugin is faster. Sizes below
200k triangles are repeated ``--repeat`` times and the median of each phase is
reported; larger sizes run once. The last column proves both solved the same
problem: the largest nodal difference between the two solutions.

Run:  .venv/bin/python benchmarks/bench_poisson_vs_skfem.py [--sizes 1e4,1e5,1e6] [--repeat 5] [--quick]

On a machine whose cores are busy with other work, OpenBLAS threads that wait for
a core make the level-1 BLAS calls of CG and of pyamg's setup several times slower;
``OPENBLAS_NUM_THREADS=1`` in front of the command shows the undisturbed cost.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from workbench.core.meshgen import rectangle_mesh
from pdewb_fem.assembly import SparsityPattern, load_vector, simplex_geometry, stiffness_matrix
from pdewb_fem.boundary import BoundaryConditions, ReducedSystem
from pdewb_fem.linalg import AmgCgSolver, spd_solver
from workbench.core import BoundaryCondition, Problem

LARGE = 200_000  # triangles; at and above this size every phase runs once

COLUMNS = (
    ("triangles", 9, "d"), ("dofs", 8, "d"), ("runs", 4, "d"),
    ("asm ours", 8, ".3f"), ("asm skfem", 9, ".3f"), ("ratio", 5, ".1f"),
    ("bc ours", 7, ".3f"), ("bc skfem", 8, ".3f"),
    ("solver", 6, "s"), ("sol ours", 8, ".3f"), ("sol skfem", 9, ".3f"), ("ratio", 5, ".1f"), ("skfem+amg", 9, ".3f"),
    ("tot ours", 8, ".3f"), ("tot skfem", 9, ".3f"), ("ratio", 5, ".1f"), ("max|du|", 8, ".1e"),
)


def timed(function: Callable, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


# -- the plugin ------------------------------------------------------------------------------------


def ours_assembly(mesh):
    geometry = simplex_geometry(mesh.points, mesh.simplices)
    pattern = SparsityPattern.from_simplices(mesh.simplices, mesh.n_points)
    stiffness = stiffness_matrix(geometry, pattern, 1.0)
    load = load_vector(mesh.points, mesh.simplices, np.ones(mesh.n_points), geometry.measures)
    return stiffness, load


def ours_boundary(problem, stiffness):
    boundary = BoundaryConditions.from_problem(problem)
    return boundary, ReducedSystem.eliminate(stiffness, boundary)


def ours_solve(system, boundary, load, dim):
    solver = spd_solver(system.free_free, "auto", dim)
    values = boundary.constrained_values(0.0)
    return system.expand(solver.solve(system.rhs(load, values)), values), solver.name


def run_ours(mesh) -> tuple[dict[str, float], np.ndarray, str]:
    problem = Problem(mesh, "poisson", {"source": "1"}, (BoundaryCondition("boundary", "dirichlet", "0"),))
    (stiffness, load), t_asm = timed(ours_assembly, mesh)
    (boundary, system), t_bc = timed(ours_boundary, problem, stiffness)
    (u, method), t_solve = timed(ours_solve, system, boundary, load, mesh.dim)
    return {"asm": t_asm, "bc": t_bc, "solve": t_solve}, u, method


# -- scikit-fem ------------------------------------------------------------------------------------


def skfem_mesh(mesh):
    import skfem

    skmesh = skfem.MeshTri(np.ascontiguousarray(mesh.points.T), np.ascontiguousarray(mesh.simplices.T))
    skmesh.boundary_facets()  # build the lazy facet topology now, outside the timed phases
    return skmesh


def skfem_assembly(skmesh):
    import skfem
    from skfem.models.poisson import laplace, unit_load

    basis = skfem.Basis(skmesh, skfem.ElementTriP1())
    return basis, laplace.assemble(basis), unit_load.assemble(basis)


def run_skfem(skmesh) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    import skfem

    (basis, matrix, load), t_asm = timed(skfem_assembly, skmesh)
    condensed, t_bc = timed(lambda: skfem.condense(matrix, load, D=basis.get_dofs()))
    u, t_solve = timed(skfem.solve, *condensed)

    def amg_cg():
        reduced, rhs, x, interior = condensed
        x = x.copy()
        x[interior] = AmgCgSolver(reduced).solve(rhs)
        return x

    u_amg, t_amg = timed(amg_cg)
    return {"asm": t_asm, "bc": t_bc, "solve": t_solve, "amg": t_amg}, u, u_amg


# -- the table -------------------------------------------------------------------------------------


def median_times(samples: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(sample[key] for sample in samples) for key in samples[0]}


def measure(triangles: int, repeat: int) -> list:
    """One table row, values in the order of COLUMNS."""
    n = max(1, round(math.sqrt(triangles / 2)))
    mesh = rectangle_mesh(n)
    skmesh = skfem_mesh(mesh)
    runs = repeat if 2 * n * n < LARGE else 1
    ours, theirs = [], []
    for _ in range(runs):
        times, u_ours, method = run_ours(mesh)
        ours.append(times)
        times, u_skfem, u_amg = run_skfem(skmesh)
        theirs.append(times)
    ours, theirs = median_times(ours), median_times(theirs)
    total_ours = ours["asm"] + ours["bc"] + ours["solve"]
    total_skfem = theirs["asm"] + theirs["bc"] + theirs["solve"]
    difference = max(np.abs(u_ours - u_skfem).max(), np.abs(u_ours - u_amg).max())
    return [
        2 * n * n, mesh.n_points, runs,
        ours["asm"], theirs["asm"], theirs["asm"] / ours["asm"],
        ours["bc"], theirs["bc"],
        method, ours["solve"], theirs["solve"], theirs["solve"] / ours["solve"], theirs["amg"],
        total_ours, total_skfem, total_skfem / total_ours, difference,
    ]


def header() -> str:
    return "  ".join(f"{name:>{width}}" for name, width, _ in COLUMNS)


def format_row(values: list) -> str:
    return "  ".join(f"{value:>{width}{spec}}" for value, (_, width, spec) in zip(values, COLUMNS))


def machine_note() -> str:
    """Cores, load and BLAS threads: AMG-CG's vector operations slow down a lot when BLAS threads compete for cores."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    return f"machine: {os.cpu_count()} cores, load average {load:.1f} at start, OPENBLAS_NUM_THREADS={threads}"


def parse_sizes(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1e4,1e5,1e6"),
                        help="approximate triangle counts, comma separated (default 1e4,1e5,1e6)")
    parser.add_argument("--repeat", type=int, default=5, help=f"runs per size below {LARGE} triangles; median reported")
    parser.add_argument("--quick", action="store_true", help="only the 10k-triangle size (smoke test)")
    args = parser.parse_args(argv)
    try:
        import skfem  # noqa: F401
    except ImportError:
        print("scikit-fem is not installed: pip install scikit-fem", file=sys.stderr)
        return 2
    sizes = [10_000] if args.quick else args.sizes
    print("P1 Poisson -lap u = 1, u = 0 on the unit square; times in seconds, ratio = skfem / ours (> 1: ours faster)")
    print("asm: assembly, bc: Dirichlet elimination, sol: solve incl. factorisation/AMG setup, "
          "skfem+amg: skfem's system with our AMG-CG")
    print(machine_note())
    print(header(), flush=True)
    for triangles in sizes:
        print(format_row(measure(triangles, max(1, args.repeat))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
