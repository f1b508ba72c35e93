"""Mesh movers on 2D fronts: uniform versus the classical Monge-Ampere mover, one table from one run.

    .venv/bin/python benchmarks/bench_movers.py            # 33x33, 65x65, 129x129 grids and an unstructured mesh
    .venv/bin/python benchmarks/bench_movers.py --quick    # 33x33 and 65x65 grids, two fields

Held-out fields on [0, 1]^2 (fixed parameters and seeds, never used for tuning
a mover): four tanh ring fronts u = tanh((|x - c| - r) / eps) and four sums of
Gaussians with seeded centres, widths and signs. Meshes: structured grids of
rectangle_mesh (the mover takes its cosine-transform path) and an unstructured
Delaunay triangulation of jittered grid nodes of the 65x65 size (gmsh is used when
it is installed; else this, which has the irregular connectivity that matters).
The mover gets the field at the mesh nodes only; the report is the host's
(workbench.core.mesh_quality): inversions, CoV of m|K| against the host's fixed
reference monitor, minimum angle, and the L2 interpolation error of the exact field
on each mesh, given as its reduction against the uniform mesh (uniform / moved; > 1
is better). One row per mesh, field family and mover: sums of inversions, means
of CoV and time, the worst (minimum) angle, the geometric mean and the minimum of
the reductions. Times are the mover's wall time per field: building its monitor from the
nodal field and running its job (the report's quadrature is not counted), single-threaded
BLAS, after one warm-up run.

Targets (issue 6): the classical mover sub-second at 129x129, with at least 2x
interpolation-error reduction on every ring front and zero inversions.
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable

import numpy as np
import pdewb_movers.plugin
from threadpoolctl import threadpool_limits

from workbench.compute.moving import MoverJudge, run_mover
from workbench.core.mesh import Mesh
from workbench.core.meshgen import label_sides, rectangle_mesh
from workbench.plugins import MeshMoverContribution
from workbench.testing import host_with

Field = Callable[[np.ndarray], np.ndarray]

RINGS = (  # centre x, centre y, radius, width
    (0.50, 0.50, 0.25, 0.020),
    (0.42, 0.56, 0.30, 0.010),
    (0.60, 0.45, 0.17, 0.030),
    (0.35, 0.40, 0.22, 0.015),
)
GAUSSIAN_SEEDS = (101, 102, 103, 104)


def ring(cx: float, cy: float, radius: float, width: float) -> Field:
    return lambda p: np.tanh((np.hypot(p[:, 0] - cx, p[:, 1] - cy) - radius) / width)


def gaussians(seed: int) -> Field:
    rng = np.random.default_rng(seed)
    count = rng.integers(3, 6)
    centres = rng.uniform(0.15, 0.85, (count, 2))
    widths = rng.uniform(0.03, 0.10, count)
    signs = rng.choice([-1.0, 1.0], count)

    def field(p: np.ndarray) -> np.ndarray:
        d2 = ((p[:, None, :] - centres[None]) ** 2).sum(axis=2)
        return (signs * np.exp(-d2 / (2 * widths**2))).sum(axis=1)

    return field


def unstructured_square(n: int, seed: int = 7) -> tuple[Mesh, str]:
    """An unstructured triangle mesh of the unit square with about n x n nodes."""
    try:
        import gmsh  # noqa: F401
    except ImportError:
        pass
    else:
        return _gmsh_square(n), "gmsh"
    from scipy.spatial import Delaunay

    h = 1.0 / (n - 1)
    rng = np.random.default_rng(seed)
    xs = np.linspace(0.0, 1.0, n)
    points = np.column_stack([np.tile(xs, n), np.repeat(xs, n)])
    inside = (points > 0).all(axis=1) & (points < 1).all(axis=1)
    points[inside] += rng.uniform(-0.35, 0.35, (inside.sum(), 2)) * h
    for axis in (0, 1):  # side nodes move along their side only; corners stay
        on_side = ((points[:, 1 - axis] == 0) | (points[:, 1 - axis] == 1)) & (points[:, axis] > 0) & (points[:, axis] < 1)
        points[on_side, axis] += rng.uniform(-0.3, 0.3, on_side.sum()) * h
    return label_sides(Mesh.build(points, [("triangle", Delaunay(points).simplices)])), "Delaunay of jittered nodes"


def _gmsh_square(n: int) -> Mesh:
    import gmsh

    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("square")
        gmsh.model.occ.addRectangle(0, 0, 0, 1, 1)
        gmsh.model.occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", 1.0 / (n - 1))
        gmsh.model.mesh.generate(2)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        points = coords.reshape(-1, 3)[:, :2]
        index = {int(t): i for i, t in enumerate(tags)}
        _, _, nodes = gmsh.model.mesh.getElements(2)
        triangles = np.array([index[int(t)] for t in nodes[0]]).reshape(-1, 3)
    finally:
        gmsh.finalize()
    return label_sides(Mesh.build(points, [("triangle", triangles)]))


def measure(mover: MeshMoverContribution, mesh: Mesh, field: Field, params: dict) -> tuple:
    """(uniform report, mover report) for one mesh and field."""
    values = field(mesh.points)
    judge = MoverJudge(mesh, values, reference=field)
    uniform = judge.uniform()
    outcome = run_mover(mover, mesh, values, params, judge=judge)
    if outcome.run.status.value != "succeeded":
        print(f"    {mover.id} failed: {outcome.reason}")
    return uniform, outcome.report, outcome.report.wall_time_s


def summarise(rows: list[tuple]) -> dict:
    uniform_errors = np.array([u.interpolation_error for u, _, _ in rows])
    moved_errors = np.array([m.interpolation_error for _, m, _ in rows])
    reductions = uniform_errors / moved_errors
    return {
        "uniform": {
            "inversions": sum(u.inverted_cells for u, _, _ in rows),
            "cov": np.mean([u.equidistribution_cov for u, _, _ in rows]),
            "angle": min(u.min_angle_deg for u, _, _ in rows),
            "gmean": 1.0, "min": 1.0, "time": 0.0, "tmax": 0.0, "iters": 0.0,
        },
        "classical": {
            "inversions": sum(m.inverted_cells for _, m, _ in rows),
            "cov": np.mean([m.equidistribution_cov for _, m, _ in rows]),
            "angle": min(m.min_angle_deg for _, m, _ in rows),
            "gmean": float(np.exp(np.log(reductions).mean())),
            "min": float(reductions.min()),
            "time": float(np.mean([t for _, _, t in rows])),
            "tmax": float(max(t for _, _, t in rows)),
            "iters": float(np.mean([m.iterations for _, m, _ in rows])),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="33x33 and 65x65 grids, one ring and one Gaussian field")
    args = parser.parse_args()
    host = host_with(pdewb_movers.plugin)
    mover = host.get("movers.monge_ampere", MeshMoverContribution)
    params: dict = {}
    families = {
        "rings": [ring(*r) for r in (RINGS[:1] if args.quick else RINGS)],
        "gaussians": [gaussians(s) for s in (GAUSSIAN_SEEDS[:1] if args.quick else GAUSSIAN_SEEDS)],
    }
    meshes = [(f"{n}x{n}", rectangle_mesh(n - 1)) for n in ((33, 65) if args.quick else (33, 65, 129))]
    note = ""
    if not args.quick:
        unstructured, how = unstructured_square(65)
        meshes.append((f"unstr {unstructured.n_points}", unstructured))
        note = f"unstructured mesh: {how}, {unstructured.n_points} nodes, {unstructured.n_cells} triangles"
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {', '.join(f'{v:.2f}' for v in load)}; mover parameters: defaults {params or ''}")
    if note:
        print(note)
    header = (f"{'mesh':>12} {'fields':>9} {'mover':>9} {'inv':>4} {'CoV m|K|':>9} {'min angle':>9} "
              f"{'err red gm':>10} {'err red min':>11} {'iters':>6} {'time s':>7} {'max s':>6}")
    print(header)
    results = {}
    with threadpool_limits(limits=1, user_api="blas"):
        measure(mover, rectangle_mesh(16), families["rings"][0], params)  # imports and first calls out of the timings
        for mesh_name, mesh in meshes:
            for family, fields in families.items():
                rows = [measure(mover, mesh, field, params) for field in fields]
                summary = summarise(rows)
                results[(mesh_name, family)] = summary
                for name, s in summary.items():
                    print(f"{mesh_name:>12} {family + ' x' + str(len(fields)):>9} {name:>9} {s['inversions']:>4d} "
                          f"{s['cov']:>9.3f} {s['angle']:>9.1f} {s['gmean']:>9.2f}x {s['min']:>10.2f}x "
                          f"{s['iters']:>6.1f} {s['time']:>7.3f} {s['tmax']:>6.3f}")
    print()
    largest = [name for name, _ in meshes if "x" in name and not name.startswith("unstr")][-1]
    check = results[(largest, "rings")]["classical"]
    where = largest if largest == "129x129" else f"{largest} (--quick; the targets are set for 129x129)"
    verdicts = [
        ("sub-second on every ring field", check["tmax"] < 1.0, f"slowest {check['tmax']:.3f} s"),
        (">= 2x interpolation-error reduction on every ring", check["min"] >= 2.0, f"smallest {check['min']:.2f}x"),
        ("zero inversions (all meshes and fields)",
         all(r["classical"]["inversions"] == 0 for r in results.values()),
         f"{sum(r['classical']['inversions'] for r in results.values())}"),
    ]
    for label, ok, value in verdicts:
        print(f"target, classical at {where}: {label}: {'PASS' if ok else 'MISS'} ({value})")


if __name__ == "__main__":
    main()
