"""The coarse stand-in drawn for large meshes while a run streams."""

import numpy as np
import pytest

from workbench.core.meshgen import rectangle_mesh
from workbench.gui.level_of_detail import stand_in_for


@pytest.fixture(scope="module")
def big():
    return rectangle_mesh(400)  # 160,801 points, just above the stand-in threshold


def test_small_meshes_need_no_stand_in():
    assert stand_in_for(rectangle_mesh(100)) is None


def test_the_stand_in_is_small_covers_the_domain_and_uses_real_points(big):
    stand_in = stand_in_for(big, points=10_000)
    coarse = stand_in.mesh
    assert 5_000 < coarse.n_points <= 10_000 * 1.2
    assert len(coarse.cells[0]) < 0.1 * big.n_cells
    np.testing.assert_array_equal(coarse.points, big.points[stand_in.representatives])
    # Covers the unit square up to about one bin width, without folding over itself.
    assert abs(coarse.cell_measures.sum() - 1.0) < 0.01
    assert coarse.points.min() == 0.0 and coarse.points.max() == 1.0


def test_fields_are_gathered_not_interpolated(big):
    stand_in = stand_in_for(big, points=10_000)
    x, y = big.points.T
    u = np.sin(np.pi * x) * y
    np.testing.assert_array_equal(stand_in.gather(u, "point"), u[stand_in.representatives])
    cell_values = np.arange(big.n_cells, dtype=float)
    assert np.array_equal(stand_in.gather(cell_values, "cell"), cell_values[stand_in.source_cells])


def test_the_viewport_draws_the_stand_in_while_streaming_and_keeps_the_colours(qtbot, big, pixels):
    from workbench.gui.viewport import MeshViewport

    view = MeshViewport()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    view.set_mesh(big)
    u = big.points[:, 0] * 2.0
    view.set_field("u", u)
    full = view.capture()
    view.set_streaming(True)
    assert view.drawing_stand_in
    assert not view.renderer.GetUseFXAA()  # streamed frames skip the antialiasing pass
    view.set_field("u", u)
    assert view.scalar_range() == pytest.approx((0.0, 2.0))  # full-resolution range
    coarse = view.capture()
    # The same picture at this size, up to a few pixels along the edges.
    differs = np.abs(coarse.astype(int) - full.astype(int)).max(axis=2) > 40
    assert differs.mean() < 0.02
    assert pixels.coloured(coarse) > 0.2 * coarse.shape[0] * coarse.shape[1]
    view.set_streaming(False)
    assert not view.drawing_stand_in
    assert view.renderer.GetUseFXAA()
