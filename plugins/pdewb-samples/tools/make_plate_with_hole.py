"""Generate the 'plate-with-hole' sample mesh with the gmsh Python API.

Geometry: the rectangle [0, 2] x [0, 1] minus the disc of radius 0.25 centred at
(0.5, 0.5). Linear triangles, target size ~0.04 away from the hole, graded down
to ~0.015 on the circle.

Physical groups (names are what solvers use to select boundaries):

* ``plate`` (dim 2): the whole surface.
* ``hole``  (dim 1): the circle.
* ``left``  (dim 1): the side x = 0.
* ``right`` (dim 1): the side x = 2.
* ``outer`` (dim 1): the remaining rectangle sides, bottom (y = 0) and top (y = 1).

Every boundary facet carries exactly one tag, so ``left``, ``right`` and ``outer``
do not overlap; the whole rectangle is ``left`` + ``right`` + ``outer``. (A heat
demo can, e.g., hold ``hole`` and ``left`` at fixed temperatures and leave the
other sides insulated.)

The file is written as MSH 4.1 ASCII to ``src/pdewb_samples/data/plate_with_hole.msh``
next to this tool. gmsh is not a runtime dependency of the workbench; run with an
interpreter that has it::

    python plugins/pdewb-samples/tools/make_plate_with_hole.py [OUTPUT] [--show-stats]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import gmsh
from gmsh_output import mesh_and_write

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "src" / "pdewb_samples" / "data" / "plate_with_hole.msh"

WIDTH, HEIGHT = 2.0, 1.0
HOLE_CENTRE, HOLE_RADIUS = (0.5, 0.5), 0.25
SIZE_FAR, SIZE_HOLE = 0.04, 0.015
# The size grows linearly from SIZE_HOLE at the circle to SIZE_FAR this far away from it.
GRADING_DISTANCE = 0.3


def _classify_curve(tag: int) -> str:
    """Which physical group a boundary curve of the cut surface belongs to (by its centre of mass)."""
    x, y, _ = gmsh.model.occ.getCenterOfMass(1, tag)
    eps = 1e-6
    if abs(x) < eps:
        return "left"
    if abs(x - WIDTH) < eps:
        return "right"
    if abs(y) < eps or abs(y - HEIGHT) < eps:
        return "outer"
    if math.hypot(x - HOLE_CENTRE[0], y - HOLE_CENTRE[1]) < eps:
        return "hole"
    raise RuntimeError(f"unexpected boundary curve {tag} with centre of mass {(x, y)}")


def build(output: Path) -> None:
    gmsh.initialize(["-noenv"])
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("plate_with_hole")
        occ = gmsh.model.occ
        plate = occ.addRectangle(0.0, 0.0, 0.0, WIDTH, HEIGHT)
        disc = occ.addDisk(HOLE_CENTRE[0], HOLE_CENTRE[1], 0.0, HOLE_RADIUS, HOLE_RADIUS)
        cut, _ = occ.cut([(2, plate)], [(2, disc)])
        occ.synchronize()
        if len(cut) != 1:
            raise RuntimeError(f"expected one surface after the cut, got {cut}")
        surface = cut[0][1]

        groups: dict[str, list[int]] = {"outer": [], "left": [], "right": [], "hole": []}
        for dim, tag in gmsh.model.getBoundary([(2, surface)], oriented=False):
            groups[_classify_curve(abs(tag))].append(abs(tag))
        if not all(groups.values()) or len(groups["outer"]) != 2:
            raise RuntimeError(f"unexpected boundary classification: {groups}")

        # Fixed tags so the file is stable between runs: 1 = plate, 2.. = curves.
        gmsh.model.addPhysicalGroup(2, [surface], tag=1, name="plate")
        for tag, (name, curves) in enumerate(groups.items(), start=2):
            gmsh.model.addPhysicalGroup(1, sorted(curves), tag=tag, name=name)

        # Size field: fine on the circle, coarse far from it.
        distance = gmsh.model.mesh.field.add("Distance")
        gmsh.model.mesh.field.setNumbers(distance, "CurvesList", groups["hole"])
        gmsh.model.mesh.field.setNumber(distance, "Sampling", 400)
        threshold = gmsh.model.mesh.field.add("Threshold")
        gmsh.model.mesh.field.setNumber(threshold, "InField", distance)
        gmsh.model.mesh.field.setNumber(threshold, "SizeMin", SIZE_HOLE)
        gmsh.model.mesh.field.setNumber(threshold, "SizeMax", SIZE_FAR)
        gmsh.model.mesh.field.setNumber(threshold, "DistMin", 0.0)
        gmsh.model.mesh.field.setNumber(threshold, "DistMax", GRADING_DISTANCE)
        gmsh.model.mesh.field.setAsBackgroundMesh(threshold)
        mesh_and_write(output)
    finally:
        gmsh.finalize()


def _stats(output: Path) -> None:
    """Print a short summary via the workbench reader (needs workbench importable)."""
    from workbench.core.mesh import load_mesh

    mesh = load_mesh(output)
    summary = mesh.summary()
    print(f"points {summary['points']}, cells {summary['cells']}, gdim {mesh.gdim}")
    print(f"boundaries {summary['boundaries']}")
    expected = WIDTH * HEIGHT - math.pi * HOLE_RADIUS**2
    print(f"area {summary['measure']:.6f} (exact {expected:.6f}), h {summary['h_min']:.4f}..{summary['h_max']:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--show-stats", action="store_true", help="read the result back with workbench.load_mesh")
    args = parser.parse_args()
    build(args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1024:.0f} KiB)")
    if args.show_stats:
        _stats(args.output)


if __name__ == "__main__":
    main()
