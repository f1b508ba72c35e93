"""Generate the 'l-shape' sample mesh with the gmsh Python API.

Geometry: the square [-1, 1] x [-1, 1] minus the quadrant [0, 1] x [-1, 0], the
classic domain with a re-entrant corner at the origin (solutions of the Laplace /
Poisson equation behave like r^(2/3) there, a test case for adaptive and moving
meshes). Linear triangles, target size ~0.05, graded down to ~0.01 at the corner.

Physical groups:

* ``domain``    (dim 2): the whole surface.
* ``reentrant`` (dim 1): the two sides meeting at the re-entrant corner,
  x = 0 for y in [-1, 0] and y = 0 for x in [0, 1].
* ``outer``     (dim 1): the other four sides.

Written as MSH 4.1 ASCII to ``src/pdewb_samples/data/l_shape.msh``; run with an
interpreter that has gmsh::

    python plugins/pdewb-samples/tools/make_l_shape.py [OUTPUT]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gmsh
from gmsh_output import mesh_and_write

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "src" / "pdewb_samples" / "data" / "l_shape.msh"

SIZE_FAR, SIZE_CORNER = 0.05, 0.01
GRADING_DISTANCE = 0.5


def build(output: Path) -> None:
    gmsh.initialize(["-noenv"])
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("l_shape")
        occ = gmsh.model.occ
        square = occ.addRectangle(-1.0, -1.0, 0.0, 2.0, 2.0)
        quadrant = occ.addRectangle(0.0, -1.0, 0.0, 1.0, 1.0)
        cut, _ = occ.cut([(2, square)], [(2, quadrant)])
        occ.synchronize()
        if len(cut) != 1:
            raise RuntimeError(f"expected one surface after the cut, got {cut}")
        surface = cut[0][1]

        groups: dict[str, list[int]] = {"outer": [], "reentrant": []}
        for _, tag in gmsh.model.getBoundary([(2, surface)], oriented=False):
            x, y, _ = occ.getCenterOfMass(1, abs(tag))
            on_cut = (abs(x) < 1e-6 and y < 0) or (abs(y) < 1e-6 and x > 0)
            groups["reentrant" if on_cut else "outer"].append(abs(tag))
        if len(groups["reentrant"]) != 2 or len(groups["outer"]) != 4:
            raise RuntimeError(f"unexpected boundary classification: {groups}")
        corner = [
            abs(tag)
            for _, tag in gmsh.model.getBoundary([(1, c) for c in groups["reentrant"]], combined=False)
            if max(abs(v) for v in occ.getCenterOfMass(0, abs(tag))) < 1e-9
        ]

        gmsh.model.addPhysicalGroup(2, [surface], tag=1, name="domain")
        gmsh.model.addPhysicalGroup(1, sorted(groups["outer"]), tag=2, name="outer")
        gmsh.model.addPhysicalGroup(1, sorted(groups["reentrant"]), tag=3, name="reentrant")

        field = gmsh.model.mesh.field
        distance = field.add("Distance")
        field.setNumbers(distance, "PointsList", sorted(set(corner)))
        threshold = field.add("Threshold")
        field.setNumber(threshold, "InField", distance)
        field.setNumber(threshold, "SizeMin", SIZE_CORNER)
        field.setNumber(threshold, "SizeMax", SIZE_FAR)
        field.setNumber(threshold, "DistMin", 0.0)
        field.setNumber(threshold, "DistMax", GRADING_DISTANCE)
        field.setAsBackgroundMesh(threshold)
        mesh_and_write(output)
    finally:
        gmsh.finalize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    build(args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
