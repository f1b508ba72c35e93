"""Write a run's frames as VTU files tied together by a ParaView PVD collection.

``NAME.pvd`` lists ``NAME_000000.vtu``, ``NAME_000001.vtu``, ... with their times;
ParaView, VTK (vtkXMLCollectionReader) and meshio (each VTU) read them. Every
file is written atomically, and the PVD last, so an interrupted export never
leaves a collection that points at missing or half-written files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from ..core.events import Frame
from ..core.mesh import Mesh
from .atomic import atomic_path, atomic_write_text


def to_meshio(mesh: Mesh, frame: Frame | None = None):
    """A meshio.Mesh of the domain, with the frame's fields as point/cell data."""
    import meshio

    points = mesh.points
    if points.shape[1] < 3:  # VTK formats store 3D points
        points = np.hstack([points, np.zeros((len(points), 3 - points.shape[1]))])
    cells = [(block.type, np.asarray(block.connectivity)) for block in mesh.cells]
    point_data, cell_data = {}, {}
    if frame is not None:
        offsets = np.cumsum([0] + [len(block) for block in mesh.cells])
        for name, field in frame.fields.items():
            if field.location == "point":
                point_data[name] = np.asarray(field.values)
            else:
                cell_data[name] = [np.asarray(field.values[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
    if mesh.cell_tags.any():
        cell_data["region"] = [np.asarray(block.tags) for block in mesh.cells]
    return meshio.Mesh(points, cells, point_data=point_data, cell_data=cell_data)


def write_vtu(path: str | Path, mesh: Mesh, frame: Frame | None = None) -> Path:
    import meshio

    path = Path(path)
    with atomic_path(path) as temporary:
        meshio.write(temporary, to_meshio(mesh, frame), file_format="vtu")
    return path


def write_pvd_series(directory: str | Path, name: str, mesh: Mesh, frames: Sequence[Frame]) -> Path:
    """Write every frame and the PVD index; returns the PVD path."""
    directory = Path(directory)
    entries = []
    for frame in frames:
        vtu = write_vtu(directory / f"{name}_{frame.index:06d}.vtu", mesh, frame)
        entries.append((frame.time, vtu.name))
    pvd = directory / f"{name}.pvd"
    atomic_write_text(pvd, pvd_text(entries))
    return pvd


def pvd_text(entries: Sequence[tuple[float, str]]) -> str:
    root = ElementTree.Element("VTKFile", type="Collection", version="0.1", byte_order="LittleEndian")
    collection = ElementTree.SubElement(root, "Collection")
    for time, file_name in entries:
        ElementTree.SubElement(collection, "DataSet", timestep=repr(float(time)), group="", part="0", file=file_name)
    ElementTree.indent(root)
    return '<?xml version="1.0"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def read_pvd(path: str | Path) -> list[tuple[float, Path]]:
    """(time, VTU path) pairs of a PVD collection, in file order."""
    path = Path(path)
    root = ElementTree.parse(path).getroot()
    return [(float(d.get("timestep", 0.0)), path.parent / d.get("file")) for d in root.iter("DataSet")]
