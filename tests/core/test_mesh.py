"""load_mesh and Mesh: error messages, meshio round-trips, boundaries, measures, immutability."""

from __future__ import annotations

import dataclasses
import sys
import math
from pathlib import Path

import meshio
import numpy as np
import pytest

from workbench.core.errors import MeshError
from workbench.core.geometry import cell_diameters, simplex_measures
from workbench.core.mesh import ALL_BOUNDARY, CellBlock, Mesh, load_mesh, mesh_extensions
from workbench.core.meshgen import box_mesh, interval_mesh, rectangle_mesh

# -- helpers ---------------------------------------------------------------------------

SQUARE_POINTS = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
SQUARE_TRIANGLES = np.array([[0, 1, 3], [0, 3, 2]])


def write(path: Path, points, cells, **options) -> Path:
    """Write a mesh with meshio and return its path."""
    meshio.write(path, meshio.Mesh(np.asarray(points, dtype=float), cells), **options)
    return path


def square_file(path: Path, **options) -> Path:
    return write(path, SQUARE_POINTS, [("triangle", SQUARE_TRIANGLES)], **options)


def rectangle_raw(n: int = 8) -> meshio.Mesh:
    """rectangle_mesh(n) as a meshio mesh, padded with z = 0 as most formats store it."""
    mesh = rectangle_mesh(n)
    points = np.column_stack([mesh.points, np.zeros(mesh.n_points)])
    return meshio.Mesh(points, [("triangle", np.array(mesh.cells[0].connectivity))])


def mesh_error(path: Path, *fragments: str) -> str:
    """load_mesh(path) must raise a one-line MeshError naming the file and saying ``fragments``."""
    with pytest.raises(MeshError) as info:
        load_mesh(path)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message
    assert Path(path).name in message, message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), f"{fragment!r} not in {message!r}"
    return message


def truncate(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    cut = path.with_name(f"cut_{path.name}")
    cut.write_bytes(data[: int(len(data) * fraction)])
    return cut


def triangle_set(points: np.ndarray, triangles: np.ndarray, decimals: int = 9) -> list:
    """Triangles as sorted coordinate tuples: equal for meshes that differ only in numbering."""
    out = []
    for tri in np.asarray(triangles):
        corners = sorted(tuple(np.round(points[i], decimals)) for i in tri)
        out.append(tuple(corners))
    return sorted(out)


def cube_surface() -> tuple[np.ndarray, np.ndarray]:
    """The unit cube's surface: 8 points, 12 outward-oriented triangles."""
    points = np.array([[x, y, z] for z in (0.0, 1.0) for y in (0.0, 1.0) for x in (0.0, 1.0)])
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    triangles = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))])
    return points, triangles


@pytest.fixture(scope="module")
def plate() -> Mesh:
    from pdewb_samples.files import plate_with_hole

    return load_mesh(plate_with_hole())


def facet_lengths(mesh: Mesh, name: str) -> np.ndarray:
    facets = mesh.boundary_facets(name)
    return np.linalg.norm(mesh.points[facets[:, 1]] - mesh.points[facets[:, 0]], axis=1)


# -- MeshError cases ---------------------------------------------------------------------


def test_missing_file(tmp_path):
    mesh_error(tmp_path / "nowhere.msh", "no such file")


def test_missing_file_with_unknown_extension_is_reported_as_missing(tmp_path):
    mesh_error(tmp_path / "nowhere.xyz", "no such file")


def test_folder(tmp_path):
    folder = tmp_path / "meshes.vtu"
    folder.mkdir()
    mesh_error(folder, "folder")


@pytest.mark.parametrize("name", ["points.xyz", "mesh.txt", "mesh"])
def test_unknown_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("0 0 0\n1 0 0\n0 1 0\n")
    message = mesh_error(path, "unknown mesh format")
    assert ".vtu" in message and ".msh" in message  # says what can be read


@pytest.mark.parametrize("extension", [".msh", ".vtu", ".vtk", ".stl", ".obj"])
def test_empty_file(tmp_path, extension):
    path = tmp_path / f"empty{extension}"
    path.write_bytes(b"")
    mesh_error(path, "empty")


@pytest.mark.parametrize(
    "file_format, extension, binary",
    [
        ("gmsh", ".msh", False),
        ("gmsh", ".msh", True),
        ("gmsh22", ".msh", False),
        ("vtu", ".vtu", False),
        ("vtu", ".vtu", True),
    ],
)
def test_truncated_file(tmp_path, file_format, extension, binary):
    raw = rectangle_raw()
    path = tmp_path / f"whole{extension}"
    meshio.write(path, raw, file_format=file_format, binary=binary)
    assert load_mesh(path).n_cells == len(raw.cells[0])  # the whole file is fine
    mesh_error(truncate(path, 0.5), "truncated")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("binary", [False, True])
def test_truncated_ansys_file_fails_instead_of_hanging(tmp_path, fraction, binary):
    # meshio writes .msh as ANSYS by default; its reader loops forever on a truncated file.
    path = tmp_path / "ansys.msh"
    meshio.write(path, rectangle_raw(), binary=binary)
    assert load_mesh(path).n_cells == 128
    message = mesh_error(truncate(path, fraction), "cannot read")
    if fraction == 0.1:
        assert "truncated" in message


@pytest.mark.parametrize("extension", [".vtu", ".msh", ".vtk", ".off", ".ply", ".stl"])
def test_unparsable_text(tmp_path, extension):
    path = tmp_path / f"notes{extension}"
    path.write_text("this is not a mesh\n1 2 3\nhello world\n")
    mesh_error(path, "cannot read", "not valid")


@pytest.mark.parametrize("extension", [".vtu", ".msh", ".vtk"])
def test_unparsable_binary_garbage(tmp_path, extension):
    path = tmp_path / f"noise{extension}"
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    mesh_error(path, "cannot read", "not valid")


def test_missing_reader_dependency_is_named(tmp_path, monkeypatch):
    """meshio's XDMF reader imports h5py; without it the message must say so, not blame the file."""
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` raise ImportError
    path = tmp_path / "tiny.xdmf"
    path.write_text(
        '<?xml version="1.0"?><Xdmf Version="3.0"><Domain><Grid Name="g" GridType="Uniform">'
        '<Topology TopologyType="Triangle" NumberOfElements="1">'
        '<DataItem Dimensions="1 3" NumberType="Int" Format="XML">0 1 2</DataItem></Topology>'
        '<Geometry GeometryType="XY"><DataItem Dimensions="3 2" NumberType="Float" Format="XML">'
        "0 0 1 0 0 1</DataItem></Geometry></Grid></Domain></Xdmf>"
    )
    mesh_error(path, "h5py", "not installed")


def test_points_only(tmp_path):
    path = write(tmp_path / "cloud.ply", SQUARE_POINTS, [])
    mesh_error(path, "no cells")


def test_vertex_cells_only(tmp_path):
    path = write(tmp_path / "vertices.vtu", SQUARE_POINTS, [("vertex", np.arange(4)[:, None])])
    mesh_error(path, "no cells", "vertices")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_coordinates(tmp_path, bad):
    points = SQUARE_POINTS.copy()
    points[2, 1] = bad
    path = write(tmp_path / "nonfinite.vtu", points, [("triangle", SQUARE_TRIANGLES)])
    message = mesh_error(path, "NaN or infinite", "point 2")
    assert "1 point(s)" in message


@pytest.mark.parametrize("extension", [".vtu", ".vtk"])
@pytest.mark.parametrize("index", [-1, 7])
def test_cell_index_out_of_range(tmp_path, extension, index):
    triangles = np.array([[0, 1, 3], [0, 3, index]])
    path = write(tmp_path / f"indices{extension}", SQUARE_POINTS, [("triangle", triangles)])
    mesh_error(path, f"refer to point {index}", "4 points", "0..3")


def test_degenerate_triangle(tmp_path):
    points = np.vstack([SQUARE_POINTS, [[2.0, 0.0, 0.0]]])
    triangles = np.vstack([SQUARE_TRIANGLES, [[0, 1, 4]]])  # three points on y = 0
    path = write(tmp_path / "flat.vtu", points, [("triangle", triangles)])
    mesh_error(path, "degenerate", "'triangle'", "zero area", "cell 2")


def test_triangle_with_repeated_corner(tmp_path):
    triangles = np.array([[0, 1, 3], [0, 3, 3]])
    path = write(tmp_path / "repeated.vtu", SQUARE_POINTS, [("triangle", triangles)])
    mesh_error(path, "degenerate", "zero area", "cell 1")


def test_degenerate_tetrahedron(tmp_path):
    points = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=float)
    tetra = np.array([[0, 1, 2, 3], [0, 1, 2, 4]])  # the second one is flat (z = 0)
    path = write(tmp_path / "flat.vtu", points, [("tetra", tetra)])
    mesh_error(path, "degenerate", "'tetra'", "zero volume", "cell 1")


@pytest.mark.parametrize("extension", [".vtu", ".vtk"])
def test_unsupported_cell_type(tmp_path, extension):
    points = np.array([[0, 0, 0], [1, 0, 0], [1.5, 0.8, 0], [0.5, 1.4, 0], [-0.4, 0.8, 0]])
    path = write(tmp_path / f"pentagon{extension}", points, [("polygon", np.array([[0, 1, 2, 3, 4]]))])
    mesh_error(path, "unsupported cell type", "'polygon'")


def test_build_rejects_bad_input_without_a_file():
    with pytest.raises(MeshError, match="no points"):
        Mesh.build(np.empty((0, 2)), [("triangle", np.empty((0, 3), dtype=int))])
    with pytest.raises(MeshError, match="no cells"):
        Mesh.build(SQUARE_POINTS, [])
    with pytest.raises(MeshError, match="unsupported cell type 'hexagon'"):
        Mesh.build(SQUARE_POINTS, [("hexagon", np.array([[0, 1, 2, 3, 0, 1]]))])
    with pytest.raises(MeshError, match="non-integer"):
        Mesh.build(SQUARE_POINTS, [("triangle", SQUARE_TRIANGLES.astype(float))])
    with pytest.raises(MeshError, match="malformed"):
        Mesh.build(SQUARE_POINTS, [("triangle", np.array([0, 1, 2]))])


# -- round-trips ---------------------------------------------------------------------------


PLANAR_FORMATS = [
    ("ansys.msh", {}),
    ("gmsh41.msh", {"file_format": "gmsh"}),
    ("gmsh41-binary.msh", {"file_format": "gmsh", "binary": True}),
    ("gmsh22.msh", {"file_format": "gmsh22", "binary": False}),
    ("ascii.vtu", {"binary": False}),
    ("compressed.vtu", {}),
    ("ascii.vtk", {"binary": False}),
    ("binary.vtk", {"binary": True}),
    ("mesh.xdmf", {}),
]


@pytest.mark.parametrize("name, options", PLANAR_FORMATS, ids=[name for name, _ in PLANAR_FORMATS])
def test_planar_round_trip(tmp_path, name, options):
    if name.endswith(".xdmf"):
        pytest.importorskip("h5py")
    raw = rectangle_raw(6)
    meshio.write(tmp_path / name, raw, **options)
    mesh = load_mesh(tmp_path / name)
    assert (mesh.dim, mesh.gdim) == (2, 2)  # z = 0 is dropped
    assert mesh.n_points == len(raw.points)
    assert [b.type for b in mesh.cells] == ["triangle"]
    np.testing.assert_allclose(mesh.points, raw.points[:, :2], atol=1e-12)
    np.testing.assert_array_equal(mesh.cells[0].connectivity, raw.cells[0].data)
    assert mesh.cell_measures.sum() == pytest.approx(1.0)
    assert len(mesh.boundary_facets()) == 4 * 6
    assert mesh.source == str(tmp_path / name)


@pytest.mark.parametrize("name", ["tets.vtu", "tets.vtk", "tets.msh", "tets.xdmf"])
def test_volume_round_trip(tmp_path, name):
    if name.endswith(".xdmf"):
        pytest.importorskip("h5py")
    box = box_mesh(2)
    options = {"file_format": "gmsh"} if name.endswith(".msh") else {}
    write(tmp_path / name, box.points, [("tetra", np.array(box.cells[0].connectivity))], **options)
    mesh = load_mesh(tmp_path / name)
    assert (mesh.dim, mesh.gdim, mesh.n_cells) == (3, 3, box.n_cells)
    np.testing.assert_allclose(mesh.points, box.points)
    np.testing.assert_array_equal(mesh.cells[0].connectivity, box.cells[0].connectivity)
    assert mesh.cell_measures.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "name, options",
    [
        ("cube.obj", {}),
        ("cube-ascii.stl", {"binary": False}),
        ("cube-binary.stl", {"binary": True}),
        ("cube.off", {}),
        ("cube-ascii.ply", {"binary": False}),
        ("cube-binary.ply", {"binary": True}),
        ("cube.vtu", {}),
        ("cube.msh", {"file_format": "gmsh"}),
    ],
)
def test_surface_in_3d_round_trip(tmp_path, name, options):
    points, triangles = cube_surface()
    write(tmp_path / name, points, [("triangle", triangles)], **options)
    mesh = load_mesh(tmp_path / name)
    assert (mesh.dim, mesh.gdim) == (2, 3)
    assert mesh.n_cells == 12
    # STL stores each triangle's corners separately; compare geometry, not numbering.
    assert triangle_set(mesh.points, mesh.cells[0].connectivity) == triangle_set(points, triangles)
    if not name.endswith(".stl"):
        np.testing.assert_allclose(mesh.points, points, atol=1e-6)  # float32 in some formats
        np.testing.assert_array_equal(mesh.cells[0].connectivity, triangles)
    assert mesh.cell_measures.sum() == pytest.approx(6.0, rel=1e-6)
    assert len(mesh.boundary_facets()) == 0  # a closed surface has no boundary


def test_tetrahedron_surface_round_trip(tmp_path):
    points = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    faces = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])
    for name in ("tet.off", "tet.ply", "tet.obj", "tet.stl"):
        mesh = load_mesh(write(tmp_path / name, points, [("triangle", faces)]))
        assert (mesh.dim, mesh.gdim, mesh.n_cells) == (2, 3, 4)
        assert mesh.cell_measures.sum() == pytest.approx(1.5 + math.sqrt(3) / 2)


def test_open_surface_in_3d_keeps_its_coordinates_and_boundary(tmp_path):
    points = SQUARE_POINTS.copy()
    points[:, 2] = 1.0  # planar but not at z = 0: stays a surface in 3D
    mesh = load_mesh(write(tmp_path / "lifted.vtu", points, [("triangle", SQUARE_TRIANGLES)]))
    assert (mesh.dim, mesh.gdim) == (2, 3)
    assert len(mesh.boundary_facets()) == 4
    assert mesh.cell_measures.sum() == pytest.approx(1.0)


def test_line_mesh_in_a_plane_file(tmp_path):
    points = np.column_stack([np.linspace(0, 1, 5), np.zeros(5), np.zeros(5)])
    lines = np.column_stack([np.arange(4), np.arange(1, 5)])
    mesh = load_mesh(write(tmp_path / "wire.vtu", points, [("line", lines)]))
    assert (mesh.dim, mesh.gdim) == (1, 1)
    assert sorted(mesh.boundary_facets()[:, 0].tolist()) == [0, 4]
    assert mesh.cell_measures.sum() == pytest.approx(1.0)


def test_point_data_is_kept_and_gmsh_internals_are_not(tmp_path):
    raw = rectangle_raw(3)
    raw.point_data = {"u": raw.points[:, 0] ** 2, "gmsh:dim_tags": np.zeros((len(raw.points), 2))}
    meshio.write(tmp_path / "data.vtu", raw)
    mesh = load_mesh(tmp_path / "data.vtu")
    assert sorted(mesh.point_data) == ["u"]
    np.testing.assert_allclose(mesh.point_data["u"], raw.points[:, 0] ** 2)


def test_upper_case_extension(tmp_path):
    mesh = load_mesh(square_file(tmp_path / "SQUARE.VTU"))
    assert mesh.n_cells == 2


def test_mesh_extensions_lists_meshio_formats():
    table = mesh_extensions()
    assert "gmsh" in table[".msh"] and table[".vtu"] == ["vtu"]


# -- boundaries --------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 8])
def test_rectangle_boundary(n):
    mesh = rectangle_mesh(n)
    assert len(mesh.boundary_facets()) == 4 * n
    assert mesh.boundary_names() == ["bottom", "left", "right", "top", ALL_BOUNDARY]
    for name, axis, value in [("left", 0, 0.0), ("right", 0, 1.0), ("bottom", 1, 0.0), ("top", 1, 1.0)]:
        facets = mesh.boundary_facets(name)
        assert facets.shape == (n, 2)
        np.testing.assert_allclose(mesh.points[facets][..., axis], value)
        assert facet_lengths(mesh, name).sum() == pytest.approx(1.0)
    assert mesh.summary()["boundaries"] == {"bottom": n, "left": n, "right": n, "top": n, ALL_BOUNDARY: 4 * n}


def test_rectangle_boundary_not_square():
    mesh = rectangle_mesh(3, 5, x=(0.0, 3.0), y=(-1.0, 1.0))
    assert len(mesh.boundary_facets()) == 2 * (3 + 5)
    assert len(mesh.boundary_facets("left")) == 5 and len(mesh.boundary_facets("top")) == 3
    assert mesh.cell_measures.sum() == pytest.approx(6.0)


def test_interval_boundary():
    mesh = interval_mesh(5, -1.0, 2.0)
    assert (mesh.dim, mesh.gdim) == (1, 1)
    assert mesh.boundary_facets("left").tolist() == [[0]]
    assert mesh.boundary_facets("right").tolist() == [[5]]
    assert mesh.cell_measures.sum() == pytest.approx(3.0)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_box_boundary(n):
    mesh = box_mesh(n)
    facets = mesh.boundary_facets()
    assert facets.shape == (12 * n * n, 3)
    assert mesh.boundary_names() == ["back", "bottom", "front", "left", "right", "top", ALL_BOUNDARY]
    for name in ("left", "right", "bottom", "top", "front", "back"):
        assert len(mesh.boundary_facets(name)) == 2 * n * n
    # Boundary triangles tile the cube's surface.
    assert simplex_measures(mesh.points, facets).sum() == pytest.approx(6.0)
    # Each boundary triangle is oriented outward: its normal points away from the centre.
    corners = mesh.points[facets]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    outward = corners.mean(axis=1) - 0.5
    assert np.all(np.einsum("ij,ij->i", normals, outward) > 0)


def test_mixed_triangle_quad_mesh(tmp_path):
    #  3 --- 4 --- 5
    #  | quad| \ t |
    #  0 --- 1 --- 2     the edge 1-4 is shared by the quad and a triangle
    points = np.array([[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]], dtype=float)
    cells = [("quad", np.array([[0, 1, 4, 3]])), ("triangle", np.array([[1, 2, 5], [1, 5, 4]]))]
    for mesh in (Mesh.build(points, cells), load_mesh(write(tmp_path / "mixed.vtu", points, cells))):
        assert [b.type for b in mesh.cells] == ["quad", "triangle"]
        assert not mesh.is_simplicial
        facets = {tuple(sorted(f)) for f in mesh.boundary_facets().tolist()}
        assert facets == {(0, 1), (1, 2), (2, 5), (4, 5), (3, 4), (0, 3)}
        np.testing.assert_allclose(mesh.cell_measures, [1.0, 0.5, 0.5])
        assert mesh.simplex_cells.tolist() == [0, 0, 1, 2]


def test_mixed_facet_shapes_are_reported():
    points = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1]], dtype=float)
    mesh = Mesh.build(points, [("pyramid", np.array([[0, 1, 2, 3, 4]]))])
    assert sorted(b.type for b in mesh.boundary) == ["quad", "triangle"]
    assert mesh.cell_measures.sum() == pytest.approx(1 / 3)
    with pytest.raises(MeshError, match="mixed shapes"):
        mesh.boundary_facets()


def test_unknown_boundary_name_lists_known_names():
    mesh = rectangle_mesh(2)
    with pytest.raises(MeshError) as info:
        mesh.boundary_facets("inlet")
    message = str(info.value)
    assert "\n" not in message
    assert "'inlet'" in message
    assert "known: bottom, left, right, top, boundary" in message


def test_boundary_selected_by_integer_tag():
    mesh = rectangle_mesh(4)
    tag = mesh.physical_names["top"][0]
    np.testing.assert_array_equal(mesh.boundary_facets(str(tag)), mesh.boundary_facets("top"))


def test_gmsh_physical_tags_move_to_boundary_facets(tmp_path):
    """Line elements with physical tags label the exterior edges they coincide with."""
    base = rectangle_mesh(4)
    points = np.column_stack([base.points, np.zeros(base.n_points)])
    triangles = np.array(base.cells[0].connectivity)
    x, y = base.points[:, 0], base.points[:, 1]
    left = np.flatnonzero(np.isclose(x, 0.0))
    left = left[np.argsort(y[left])]
    bottom = np.flatnonzero(np.isclose(y, 0.0))
    bottom = bottom[np.argsort(x[bottom])]
    inlet = np.column_stack([left[1:], left[:-1]])  # listed against the cells' orientation
    floor = np.column_stack([bottom[:-1], bottom[1:]])
    lines = np.vstack([inlet, floor])
    line_tags = np.array([7] * len(inlet) + [9] * len(floor))
    raw = meshio.Mesh(
        points,
        [("line", lines), ("triangle", triangles)],
        cell_data={
            "gmsh:physical": [line_tags, np.full(len(triangles), 3)],
            "gmsh:geometrical": [line_tags, np.full(len(triangles), 1)],
        },
        field_data={"inlet": np.array([7, 1]), "floor": np.array([9, 1]), "fluid": np.array([3, 2])},
    )
    meshio.write(tmp_path / "tagged.msh", raw, file_format="gmsh22", binary=False)
    mesh = load_mesh(tmp_path / "tagged.msh")

    assert mesh.boundary_names() == ["floor", "inlet", ALL_BOUNDARY]  # 'fluid' is a region
    inlet_facets = mesh.boundary_facets("inlet")
    assert len(inlet_facets) == 4
    np.testing.assert_allclose(mesh.points[inlet_facets][..., 0], 0.0)
    assert len(mesh.boundary_facets("floor")) == 4
    np.testing.assert_array_equal(mesh.boundary_facets("7"), inlet_facets)
    # The domain keeps its region tag; the untagged sides keep tag 0.
    assert set(mesh.cell_tags.tolist()) == {3}
    tags = np.concatenate([b.tags for b in mesh.boundary])
    assert sorted(np.bincount(tags).nonzero()[0].tolist()) == [0, 7, 9]
    assert (tags == 0).sum() == 8
    with pytest.raises(MeshError, match="known: floor, inlet, boundary"):
        mesh.boundary_facets("fluid")


def test_plate_with_hole_sample(plate):
    assert (plate.dim, plate.gdim) == (2, 2)
    assert [b.type for b in plate.cells] == ["triangle"]
    assert 2_000 <= plate.n_cells <= 15_000
    assert plate.boundary_names() == ["hole", "left", "outer", "right", ALL_BOUNDARY]
    assert set(plate.physical_names) == {"plate", "hole", "left", "right", "outer"}
    assert plate.cell_measures.sum() == pytest.approx(2 - math.pi / 16, abs=1e-3)
    assert set(plate.cell_tags.tolist()) == {plate.physical_names["plate"][0]}

    # Every exterior edge is named, and the names split the boundary.
    counts = {name: len(plate.boundary_facets(name)) for name in ("hole", "left", "right", "outer")}
    assert all(count > 0 for count in counts.values())
    assert sum(counts.values()) == len(plate.boundary_facets())
    assert all(np.all(b.tags > 0) for b in plate.boundary)

    p = plate.points
    hole = plate.boundary_facets("hole")
    np.testing.assert_allclose(np.linalg.norm(p[hole] - [0.5, 0.5], axis=-1), 0.25, atol=1e-9)
    np.testing.assert_allclose(p[plate.boundary_facets("left")][..., 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(p[plate.boundary_facets("right")][..., 0], 2.0, atol=1e-12)
    outer_y = p[plate.boundary_facets("outer")][..., 1]
    assert np.all(np.isclose(outer_y, 0.0) | np.isclose(outer_y, 1.0))
    assert facet_lengths(plate, "hole").sum() == pytest.approx(2 * math.pi * 0.25, abs=1e-3)
    assert facet_lengths(plate, "left").sum() == pytest.approx(1.0)
    assert facet_lengths(plate, "right").sum() == pytest.approx(1.0)
    assert facet_lengths(plate, "outer").sum() == pytest.approx(4.0)
    # Finer on the hole than far from it.
    assert facet_lengths(plate, "hole").mean() < 0.5 * facet_lengths(plate, "right").mean()
    with pytest.raises(MeshError, match="known: hole, left, outer, right, boundary"):
        plate.boundary_facets("plate")  # a region, not a boundary


def test_plate_with_hole_summary(plate):
    summary = plate.summary()
    assert summary["cells"] == {"triangle": plate.n_cells}
    assert summary["bounds"] == [[0.0, 0.0], [2.0, 1.0]]
    assert summary["h_min"] < 0.03 < summary["h_max"] < 0.1


# -- immutability -------------------------------------------------------------------------------


def test_arrays_are_read_only(plate):
    mesh = rectangle_mesh(3)
    arrays = [mesh.points, mesh.cell_measures, mesh.simplex_measures, mesh.simplices, mesh.simplex_cells]
    arrays += [b.connectivity for b in mesh.cells + mesh.boundary] + [b.tags for b in mesh.cells + mesh.boundary]
    arrays += [b.corners for b in plate.boundary]
    for array in arrays:
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0] = 0


def test_point_data_and_names_are_read_only(tmp_path):
    raw = rectangle_raw(2)
    raw.point_data = {"u": np.arange(len(raw.points), dtype=float)}
    meshio.write(tmp_path / "u.vtu", raw)
    mesh = load_mesh(tmp_path / "u.vtu")
    with pytest.raises(ValueError):
        mesh.point_data["u"][0] = 1.0
    with pytest.raises(TypeError):
        mesh.point_data["v"] = np.zeros(mesh.n_points)
    with pytest.raises(TypeError):
        rectangle_mesh(2).physical_names["left"] = (9, 1)


def test_mesh_and_blocks_are_frozen():
    mesh = rectangle_mesh(2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        mesh.points = np.zeros((3, 2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        mesh.cells = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        mesh.cells[0].tags = np.zeros(1)


def test_build_copies_its_inputs():
    points = SQUARE_POINTS[:, :2].copy()
    triangles = SQUARE_TRIANGLES.copy()
    mesh = Mesh.build(points, [("triangle", triangles)])
    points[:] = 5.0
    triangles[:] = 0
    assert mesh.points[3].tolist() == [1.0, 1.0]
    assert mesh.cells[0].connectivity.tolist() == SQUARE_TRIANGLES.tolist()
    assert points.flags.writeable  # the caller's arrays are left alone


# -- measures -------------------------------------------------------------------------------------


def test_unit_square_measures():
    mesh = rectangle_mesh(4)
    assert mesh.cell_measures.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(mesh.cell_measures, 1 / 32)
    np.testing.assert_array_equal(mesh.cell_measures, mesh.simplex_measures)


def test_unit_cube_measures():
    mesh = box_mesh(2)
    assert mesh.is_simplicial
    assert mesh.cell_measures.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(mesh.cell_measures, 1 / 48)


def test_quad_mesh_measures(tmp_path):
    # Two trapezoids and a parallelogram; areas by the shoelace formula.
    points = np.array([[0, 0], [2, 0], [1.5, 1], [0.5, 1], [3.5, 1], [4, 0]], dtype=float)
    quads = np.array([[0, 1, 2, 3], [1, 5, 4, 2]])
    mesh = load_mesh(write(tmp_path / "quads.vtu", np.column_stack([points, np.zeros(6)]), [("quad", quads)]))
    assert (mesh.dim, mesh.gdim) == (2, 2)

    def shoelace(corners):
        x, y = corners[:, 0], corners[:, 1]
        return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))

    np.testing.assert_allclose(mesh.cell_measures, [shoelace(points[q]) for q in quads])
    assert mesh.simplices.shape == (4, 3)
    assert mesh.simplex_cells.tolist() == [0, 0, 1, 1]
    for row, parent in zip(mesh.simplices, mesh.simplex_cells):
        assert set(row.tolist()) <= set(quads[parent].tolist())
    assert len(mesh.boundary_facets()) == 6


def test_hexahedron_mesh_measures(tmp_path):
    # A 2 x 1 x 1 stack of boxes [0, 2] x [0, 3] x [0, 4] split at x = 1, then sheared (volume is kept).
    xs, ys, zs = (0.0, 1.0, 2.0), (0.0, 3.0), (0.0, 4.0)
    index = {}
    points = []
    for k, z in enumerate(zs):
        for j, y in enumerate(ys):
            for i, x in enumerate(xs):
                index[i, j, k] = len(points)
                points.append([x + 0.25 * z, y, z])
    hexes = np.array(
        [
            [index[i, 0, 0], index[i + 1, 0, 0], index[i + 1, 1, 0], index[i, 1, 0],
             index[i, 0, 1], index[i + 1, 0, 1], index[i + 1, 1, 1], index[i, 1, 1]]
            for i in range(2)
        ]
    )
    mesh = load_mesh(write(tmp_path / "hexes.vtu", points, [("hexahedron", hexes)]))
    assert (mesh.dim, mesh.gdim, mesh.n_cells) == (3, 3, 2)
    np.testing.assert_allclose(mesh.cell_measures, [12.0, 12.0])
    assert mesh.simplices.shape == (12, 4)
    np.testing.assert_allclose(mesh.simplex_measures, 2.0)  # six equal tetrahedra per box
    assert mesh.boundary_facets().shape == (10, 4)  # 2 x 6 faces minus the shared one


def test_wedge_and_pyramid_measures():
    prism = np.array([[0, 0, 0], [2, 0, 0], [0, 1, 0], [0, 0, 3], [2, 0, 3], [0, 1, 3]], dtype=float)
    assert Mesh.build(prism, [("wedge", np.array([[0, 1, 2, 3, 4, 5]]))]).cell_measures[0] == pytest.approx(3.0)
    apex = np.array([[0, 0, 0], [2, 0, 0], [2, 2, 0], [0, 2, 0], [0.3, 0.7, 1.5]], dtype=float)
    assert Mesh.build(apex, [("pyramid", np.array([[0, 1, 2, 3, 4]]))]).cell_measures[0] == pytest.approx(2.0)


def test_simplex_measures_function():
    points2 = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 2.0]])
    np.testing.assert_allclose(simplex_measures(points2, np.array([[0, 1], [0, 2]])), [5.0, 2.0])
    np.testing.assert_allclose(simplex_measures(points2, np.array([[0, 1, 2], [0, 2, 1]])), [3.0, 3.0])
    points3 = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    np.testing.assert_allclose(simplex_measures(points3, np.array([[0, 1, 2, 3]])), [1 / 6])
    np.testing.assert_allclose(simplex_measures(points3, np.array([[1, 2, 3]])), [math.sqrt(3) / 2])
    np.testing.assert_allclose(simplex_measures(points3, np.array([[0], [3]])), [1.0, 1.0])
    np.testing.assert_allclose(cell_diameters(points3, np.array([[0, 1, 2, 3]])), [math.sqrt(2)])


def test_higher_order_cells_use_their_corners(tmp_path):
    # A quadratic triangle: corners first, then edge midpoints (one of them bent outward).
    points = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.5, -0.1, 0], [0.5, 0.5, 0], [0, 0.5, 0]], dtype=float)
    mesh = load_mesh(write(tmp_path / "p2.vtu", points, [("triangle6", np.array([[0, 1, 2, 3, 4, 5]]))]))
    assert mesh.cells[0].corners.tolist() == [[0, 1, 2]]
    assert mesh.cell_measures[0] == pytest.approx(0.5)  # straight-sided measure
    assert len(mesh.boundary_facets()) == 3


def test_cell_block_rejects_unknown_type_lazily():
    block = CellBlock("hexagon", np.zeros((1, 6), dtype=int), np.zeros(1))
    assert len(block) == 1
    with pytest.raises(MeshError, match="unsupported cell type 'hexagon'"):
        _ = block.kind


# -- the sample-data plugin -------------------------------------------------------------------------


def test_sample_plugin_provides_the_plate():
    from workbench.plugins import SampleDataContribution, load_plugins

    host = load_plugins(safe_mode=True)
    records = {r.distribution: r for r in host.records}
    samples = records["pde-workbench-samples"]
    assert samples.status == "loaded", samples.error
    ids = [c.id for c in host.contributions(SampleDataContribution)]
    assert "plate-with-hole" in ids
    path = Path(host.get("plate-with-hole", SampleDataContribution).load()())
    assert path.is_file() and path.suffix == ".msh"
    assert path.stat().st_size < 1_500_000
    mesh = load_mesh(path)
    assert "hole" in mesh.boundary_names() and "outer" in mesh.boundary_names()


def test_every_sample_mesh_loads():
    from workbench.plugins import SampleDataContribution, load_plugins

    host = load_plugins(safe_mode=True)
    for contribution in host.contributions(SampleDataContribution):
        path = Path(contribution.load()())
        if path.suffix in mesh_extensions():
            mesh = load_mesh(path)
            assert mesh.n_cells > 0 and len(mesh.boundary_names()) > 1, contribution.id


def test_l_shape_sample():
    from pdewb_samples.files import l_shape

    mesh = load_mesh(l_shape())
    assert (mesh.dim, mesh.gdim) == (2, 2)
    assert mesh.boundary_names() == ["outer", "reentrant", ALL_BOUNDARY]
    assert mesh.cell_measures.sum() == pytest.approx(3.0)
    assert facet_lengths(mesh, "reentrant").sum() == pytest.approx(2.0)
    assert facet_lengths(mesh, "outer").sum() == pytest.approx(6.0)
    # Refined toward the re-entrant corner at the origin.
    h = cell_diameters(mesh.points, mesh.cells[0].corners)
    centroids = mesh.points[mesh.cells[0].corners].mean(axis=1)
    distance = np.linalg.norm(centroids, axis=1)
    assert h[distance < 0.1].mean() < 0.5 * h[distance > 0.8].mean()
