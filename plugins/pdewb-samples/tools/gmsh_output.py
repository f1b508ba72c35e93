"""What every sample-mesh script does last: mesh the model with fixed settings and write MSH 4.1."""

from __future__ import annotations

from pathlib import Path

import gmsh


def mesh_and_write(output: Path) -> None:
    """Triangulate the current gmsh model reproducibly and save its physical groups as ASCII MSH 4.1.

    Sizes come from the background field only; Frontal-Delaunay gives well-shaped
    triangles; a fixed seed makes reruns byte-identical.
    """
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)  # Frontal-Delaunay
    gmsh.option.setNumber("Mesh.RandomSeed", 1)
    gmsh.model.mesh.generate(2)
    gmsh.model.mesh.optimize("Laplace2D")
    gmsh.option.setNumber("Mesh.SaveAll", 0)  # only elements of physical groups: all of them here
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.option.setNumber("Mesh.Binary", 0)
    output.parent.mkdir(parents=True, exist_ok=True)
    gmsh.write(str(output))
