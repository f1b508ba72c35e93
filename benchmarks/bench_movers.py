"""Mesh movers on 2D fronts: uniform, the classical Monge-Ampere mover and DMM, one table from one run.

    .venv/bin/python benchmarks/bench_movers.py            # 33x33, 65x65, 129x129 grids and an unstructured mesh
    .venv/bin/python benchmarks/bench_movers.py --quick    # 33x33 and 65x65 grids, a few fields

Held-out fields on [0, 1]^2 (seeds never used in training or for tuning a mover):
ten tanh ring fronts u = tanh((|x - c| - r) / eps) and ten sums of Gaussians from
pdewb_movers.dmm.fronts (seeds from 1,000,000 on; DMM trains on seeds below 400),
and Burgers snapshots: the reference solver spectral.burgers (u_t + (u^2/2)_x = nu u_xx,
periodic, nu = 0.005, u0 = sin(2 pi x) + 0.5 sin(4 pi x + 1), n = 1024), its
u(x, t) at t = 0.1, 0.2, ..., 0.8 extruded in y as u(x, y) = u(x, t) (a trajectory
of shock fronts; the 1D solver has no 2D counterpart, and the fronts are a kind of
field DMM never saw in training). Meshes: structured grids of
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
BLAS and torch, after one warm-up run.

Rows: "dmm" runs the shipped DMM checkpoint field by field through run_mover with its
fallback (inv: inverted cells after fallback, fb: fields that fell back to the
classical mover, whose time then counts too); "dmm-batch" moves all fields of a row
on one mesh in one forward pass (run_mover_batch), time per field = the batch's / T.
The DMM training time is printed separately, from the checkpoint's header.

Targets (issue 6): the classical mover sub-second at 129x129, with at least 2x
interpolation-error reduction on every ring front and zero inversions; DMM with zero
inversions after fallback, at least 80% of the classical error reduction (ratio of
the geometric-mean reduction factors, per mesh and field family), and batched
inference at least 5x faster per field than the classical mover.
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable

import numpy as np
import pdewb_movers.plugin
from pdewb_movers.dmm.checkpoint import read_document
from pdewb_movers.dmm.fronts import held_out_fields
from pdewb_movers.dmm.mover import shipped_checkpoint
from threadpoolctl import threadpool_limits

from workbench.compute.moving import MoverJudge, run_mover, run_mover_batch
from workbench.compute.torch_context import cpu_threads
from workbench.core.mesh import Mesh
from workbench.core.meshgen import label_sides, rectangle_mesh
from workbench.plugins import MeshMoverContribution
from workbench.testing import host_with

Field = Callable[[np.ndarray], np.ndarray]

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


def burgers_snapshots(times: tuple[float, ...], n: int = 1024, nu: float = 0.005) -> list[Field]:
    """u(x, t) of the reference Burgers solver at ``times``, extruded in y (periodic linear interpolation in x)."""
    import torch
    from pdewb_spectral.burgers import solve_batch

    x = np.arange(n) / n
    u0 = torch.as_tensor(np.sin(2 * np.pi * x) + 0.5 * np.sin(4 * np.pi * x + 1.0))[None]
    step = times[1] - times[0]
    count = round(times[-1] / step)
    trajectory = solve_batch(u0, nu, 5e-4, times[-1], count, device="cpu")[0].numpy()
    fields = []
    for t in times:
        u = trajectory[round(t / step)]
        periodic_x, periodic_u = np.append(x, 1.0), np.append(u, u[0])
        fields.append(lambda p, u=periodic_u, xs=periodic_x: np.interp(p[:, 0], xs, u))
    return fields


def measure(movers: dict[str, MeshMoverContribution], mesh: Mesh, fields: list[Field]) -> dict[str, list]:
    """Per mover, the (uniform report, report, time, fell back) of every field; 'dmm-batch' in one pass."""
    judges = [MoverJudge(mesh, field(mesh.points), reference=field) for field in fields]
    uniform = [judge.uniform() for judge in judges]
    rows: dict[str, list] = {"uniform": [(u, u, 0.0, False) for u in uniform]}
    for name in ("classical", "dmm"):
        outcomes = [run_mover(movers[name], mesh, judge.values, judge=judge, fallback=movers["classical"])
                    for judge in judges]
        rows[name] = [(u, o.report, o.report.wall_time_s, o.fell_back) for u, o in zip(uniform, outcomes)]
        for o in outcomes:
            if o.run.status.value != "succeeded":
                print(f"    {name} failed: {o.reason}")
    batch = run_mover_batch(movers["dmm"], mesh, [judge.values for judge in judges], judges=judges,
                            fallback=movers["classical"])
    rows["dmm-batch"] = [(u, o.report, o.report.wall_time_s, o.fell_back) for u, o in zip(uniform, batch)]
    return rows


def summarise(rows: list[tuple]) -> dict:
    uniform_errors = np.array([u.interpolation_error for u, _, _, _ in rows])
    moved_errors = np.array([m.interpolation_error for _, m, _, _ in rows])
    reductions = uniform_errors / moved_errors
    times = [t for _, _, t, _ in rows]
    return {
        "inversions": sum(m.inverted_cells for _, m, _, _ in rows),
        "fallbacks": sum(fell for _, _, _, fell in rows),
        "cov": float(np.mean([m.equidistribution_cov for _, m, _, _ in rows])),
        "angle": min(m.min_angle_deg for _, m, _, _ in rows),
        "gmean": float(np.exp(np.log(reductions).mean())),
        "min": float(reductions.min()),
        "time": float(np.mean(times)),
        "tmax": float(max(times)),
    }


def training_line(path) -> str:
    """The DMM training time and command, as recorded in the checkpoint's header by tools/train_dmm.py."""
    document = read_document(path)
    training, size = document.get("training", {}), path.stat().st_size / 1e6
    results = training.get("results", {})
    return (f"DMM training (separate, recorded in {path.name} on {document.get('created')}): "
            f"{training.get('wall_seconds')} s wall ({results.get('train_seconds')} s in epochs, "
            f"{results.get('epochs_run')} epochs, best {results.get('best_epoch')}), checkpoint {size:.2f} MB; "
            f"command: {training.get('command')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="33x33 and 65x65 grids, two fields per family")
    args = parser.parse_args()
    host = host_with(pdewb_movers.plugin)
    movers = {"classical": host.get("movers.monge_ampere", MeshMoverContribution),
              "dmm": host.get("movers.dmm", MeshMoverContribution)}
    count = 2 if args.quick else 10
    times = (0.2, 0.4) if args.quick else tuple(round(0.1 * k, 1) for k in range(1, 9))
    families = {"rings": held_out_fields(count, "ring"), "gaussians": held_out_fields(count, "gaussians"),
                "burgers": burgers_snapshots(times)}
    meshes = [(f"{n}x{n}", rectangle_mesh(n - 1)) for n in ((33, 65) if args.quick else (33, 65, 129))]
    note = ""
    if not args.quick:
        unstructured, how = unstructured_square(65)
        meshes.append((f"unstr {unstructured.n_points}", unstructured))
        note = f"unstructured mesh: {how}, {unstructured.n_points} nodes, {unstructured.n_cells} triangles"
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {', '.join(f'{v:.2f}' for v in load)}; mover parameters: defaults; 1 BLAS and 1 torch thread")
    print(training_line(shipped_checkpoint()))
    if note:
        print(note)
    header = (f"{'mesh':>12} {'fields':>12} {'mover':>9} {'inv':>4} {'fb':>3} {'CoV m|K|':>9} {'min angle':>9} "
              f"{'err red gm':>10} {'err red min':>11} {'time s':>7} {'max s':>6}")
    print(header)
    results = {}
    with threadpool_limits(limits=1, user_api="blas"), cpu_threads(1):
        measure(movers, rectangle_mesh(16), families["rings"][:2])  # imports and first calls out of the timings
        for mesh_name, mesh in meshes:
            for family, fields in families.items():
                summary = {name: summarise(rows) for name, rows in measure(movers, mesh, fields).items()}
                results[(mesh_name, family)] = summary
                for name, s in summary.items():
                    print(f"{mesh_name:>12} {family + ' x' + str(len(fields)):>12} {name:>9} {s['inversions']:>4d} "
                          f"{s['fallbacks']:>3d} {s['cov']:>9.3f} {s['angle']:>9.1f} {s['gmean']:>9.2f}x "
                          f"{s['min']:>10.2f}x {s['time']:>7.4f} {s['tmax']:>6.3f}")
    print()
    for label, ok, value in verdicts(results, meshes):
        print(f"target, {label}: {'PASS' if ok else 'MISS'} ({value})")


def verdicts(results: dict, meshes: list) -> list[tuple[str, bool, str]]:
    largest = [name for name, _ in meshes if "x" in name and not name.startswith("unstr")][-1]
    check = results[(largest, "rings")]["classical"]
    where = largest if largest == "129x129" else f"{largest} (--quick; the targets are set for 129x129)"
    share = {key: r["dmm"]["gmean"] / r["classical"]["gmean"] for key, r in results.items()}
    speedup = {key: r["classical"]["time"] / r["dmm-batch"]["time"] for key, r in results.items()}
    worst_share, worst_speedup = min(share, key=share.get), min(speedup, key=speedup.get)
    dmm_inversions = sum(r[name]["inversions"] for r in results.values() for name in ("dmm", "dmm-batch"))
    fallbacks = sum(r["dmm"]["fallbacks"] for r in results.values())
    return [
        (f"classical at {where}: sub-second on every ring field", check["tmax"] < 1.0, f"slowest {check['tmax']:.3f} s"),
        (f"classical at {where}: >= 2x interpolation-error reduction on every ring", check["min"] >= 2.0,
         f"smallest {check['min']:.2f}x"),
        ("classical: zero inversions (all meshes and fields)",
         all(r["classical"]["inversions"] == 0 for r in results.values()),
         f"{sum(r['classical']['inversions'] for r in results.values())}"),
        ("DMM: zero inversions after fallback (all meshes and fields)", dmm_inversions == 0,
         f"{dmm_inversions} inverted cells, {fallbacks} fields fell back"),
        ("DMM: >= 80% of the classical error reduction (gm factor ratio, every mesh and family)",
         share[worst_share] >= 0.8, f"worst {share[worst_share]:.0%} on {' '.join(worst_share)}; " + ", ".join(
             f"{' '.join(key)} {value:.0%}" for key, value in share.items())),
        ("DMM: batched inference >= 5x faster per field than classical (every mesh and family)",
         speedup[worst_speedup] >= 5.0, f"worst {speedup[worst_speedup]:.1f}x on {' '.join(worst_speedup)}; " +
         ", ".join(f"{' '.join(key)} {value:.1f}x" for key, value in speedup.items())),
    ]


if __name__ == "__main__":
    main()
