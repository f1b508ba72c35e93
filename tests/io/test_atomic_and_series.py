"""Atomic writes keep the previous file on any failure; series files round-trip."""

import errno

import meshio
import numpy as np
import pytest

from workbench.core import Field, Frame
from workbench.core.meshgen import box_mesh, rectangle_mesh
from workbench.io.atomic import atomic_path, atomic_write_text
from workbench.io.series import pvd_text, read_pvd, write_pvd_series


def test_atomic_write_replaces_the_file(tmp_path):
    target = tmp_path / "project.json"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["project.json"]


def test_a_failing_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "project.json"
    target.write_text("precious")
    with pytest.raises(OSError, match="disk full; the previous file"):
        with atomic_path(target) as temporary:
            temporary.write_text("half of the new conte")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["project.json"]


def test_temporary_keeps_the_suffix_for_format_detection(tmp_path):
    with atomic_path(tmp_path / "mesh.vtu") as temporary:
        assert temporary.suffix == ".vtu"
        temporary.write_text("x")


@pytest.mark.parametrize("mesh", [rectangle_mesh(3), box_mesh(2)], ids=["triangles", "tetrahedra"])
def test_series_round_trip_through_meshio(tmp_path, mesh):
    frames = [
        Frame(i, 0.5 * i, {"u": Field("u", np.full(mesh.n_points, float(i))),
                           "k": Field("k", np.arange(mesh.n_cells, dtype=float), "cell")})
        for i in range(3)
    ]
    pvd = write_pvd_series(tmp_path, "run", mesh, frames)
    entries = read_pvd(pvd)
    assert [t for t, _ in entries] == [0.0, 0.5, 1.0]
    for i, (_, path) in enumerate(entries):
        back = meshio.read(path)
        assert np.allclose(back.points[:, : mesh.gdim], mesh.points)
        assert np.all(back.point_data["u"] == i)
        assert np.allclose(np.concatenate(back.cell_data["k"]), np.arange(mesh.n_cells))


def test_pvd_text_is_valid_xml_with_times():
    text = pvd_text([(0.0, "a.vtu"), (0.125, "b.vtu")])
    assert 'timestep="0.125"' in text and 'file="b.vtu"' in text
