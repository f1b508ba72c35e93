"""Where sparse LU and AMG-CG cross over, for one solve and for 50 solves with one matrix.

Prints, for P1 Laplacians (one Poisson solve) and heat-step matrices M + dt K
(50 solves, as time stepping does), the best-of-2 time of the plugin's
DirectSolver and AmgCgSolver, setup included. The 'auto' thresholds in
pdewb_fem/linalg.py come from this table.

Run:  .venv/bin/python benchmarks/solver_crossover.py
"""

import time

import numpy as np

from workbench.core.meshgen import rectangle_mesh, box_mesh
from workbench.core import Problem, BoundaryCondition
from pdewb_fem.assembly import SparsityPattern, simplex_geometry, stiffness_matrix, mass_matrix
from pdewb_fem.boundary import BoundaryConditions, ReducedSystem
from pdewb_fem.linalg import DirectSolver, AmgCgSolver
def system(m, heat=False):
    b = BoundaryConditions.from_problem(Problem(m, "p", {}, (BoundaryCondition("boundary","dirichlet","0"),)))
    g = simplex_geometry(m.points, m.simplices); pat = SparsityPattern.from_simplices(m.simplices, m.n_points)
    K = stiffness_matrix(g, pat)
    A = pat.matrix(mass_matrix(g, pat).data + 0.005*K.data) if heat else K
    return ReducedSystem.eliminate(A, b).free_free
def best(f, r=3):
    ts=[]
    for _ in range(r):
        t=time.perf_counter(); f(); ts.append(time.perf_counter()-t)
    return min(ts)
for label, meshes in (("2D", [rectangle_mesh(n) for n in (50, 100, 160, 225, 320)]), ("3D", [box_mesh(n) for n in (10, 16, 22, 30)])):
    for m in meshes:
        for heat in (False, True):
            A = system(m, heat); b = np.ones(A.shape[0])
            # one solve: setup + solve; many solves (heat): setup once, 50 solves
            n_solves = 50 if heat else 1
            def run(cls):
                s = cls(A)
                for _ in range(n_solves): s.solve(b)
            d, a = best(lambda: run(DirectSolver), 2), best(lambda: run(AmgCgSolver), 2)
            print(f"{label} n={A.shape[0]:7d} {'heat x50' if heat else 'poisson  '} direct {d:.3f}s amg {a:.3f}s -> {'direct' if d<a else 'amg'}", flush=True)
