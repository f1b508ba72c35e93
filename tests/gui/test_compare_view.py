"""CompareView: shared camera and colour range, symmetric difference, metrics, error curves, messages.

The runs are made by hand on rectangle_mesh(16), at t = 0, 0.1, ..., 0.5:

    u_A = sin(pi x) sin(pi y) exp(-t)          (the reference)
    u_B = u_A (1 + 0.01 t)                      so  u_B - u_A = 0.01 t u_A >= 0

hence the relative L2 error is exactly 0.01 t, and the max error 0.01 t exp(-t)
(the mesh has a node at the centre, where sin(pi x) sin(pi y) = 1).
"""


import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from workbench.core import Field, Frame, Run, error_series, max_error, relative_l2
from workbench.core.meshgen import rectangle_mesh
from workbench.gui.compare_view import (
    CompareView,
    compatibility_problem,
    difference_values,
    format_number,
    speedup,
    symmetric_range,
    union_range,
)

TIMES = np.round(0.1 * np.arange(6), 12)
WALL_A, WALL_B = 2.0, 0.5


def exact_a(mesh, t):
    x, y = mesh.points[:, 0], mesh.points[:, 1]
    return np.sin(np.pi * x) * np.sin(np.pi * y) * np.exp(-t)


def exact_b(mesh, t):
    return exact_a(mesh, t) * (1.0 + 0.01 * t)


def make_run(mesh, solver_id, fields, times=TIMES, wall_s=1.0):
    """A finished run with one frame per time; ``fields`` maps names to functions of (mesh, t)."""
    run = Run(solver_id, timings={"wall_s": wall_s})
    for index, t in enumerate(times):
        run.record(Frame(index, float(t), {name: Field(name, f(mesh, t)) for name, f in fields.items()}))
    return run


@pytest.fixture
def mesh():
    return rectangle_mesh(16)


@pytest.fixture
def runs(mesh):
    run_a = make_run(mesh, "fem.heat", {"u": exact_a}, wall_s=WALL_A)
    run_b = make_run(mesh, "pinn.heat", {"u": exact_b}, wall_s=WALL_B)
    return run_a, run_b


@pytest.fixture
def view(qtbot):
    widget = CompareView()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def compared(view, mesh, runs):
    view.set_runs(mesh, *runs, name_a="FEM", name_b="PINN")
    assert view.message_text == ""
    return view


# -- pixel helpers ---------------------------------------------------------------------------


def mesh_box(viewport, mesh, margin=4):
    """(rows, columns) slices of a capture() covering the inside of the mesh's bounding box on screen."""
    renderer = viewport.renderer
    corners = []
    for point in (mesh.points.min(axis=0), mesh.points.max(axis=0)):
        renderer.SetWorldPoint(point[0], point[1], 0.0, 1.0)
        renderer.WorldToDisplay()
        corners.append(renderer.GetDisplayPoint()[:2])
    height = viewport.render_window.GetSize()[1]
    (x0, y0), (x1, y1) = corners
    columns = slice(int(min(x0, x1)) + margin, int(max(x0, x1)) - margin)
    rows = slice(int(height - max(y0, y1)) + margin, int(height - min(y0, y1)) - margin)  # top row first
    return rows, columns


def mesh_pixels(viewport, mesh):
    image = viewport.capture()
    rows, columns = mesh_box(viewport, mesh)
    return image[rows, columns].astype(np.int16)


def reddish(pixels):
    return (pixels[..., 0] - pixels[..., 2] > 40) & (pixels[..., 0] > pixels[..., 1])


def bluish(pixels):
    return pixels[..., 2] - pixels[..., 0] > 40


# -- metrics ---------------------------------------------------------------------------------


def test_metrics_equal_the_core_metrics(compared, mesh, runs):
    run_a, run_b = runs
    u_a, u_b = run_a.field("u"), run_b.field("u")
    reference = error_series(mesh, u_b, u_a)
    metrics = compared.metrics()

    assert metrics["relative_l2_final"] == relative_l2(mesh, u_b.values[-1], u_a.values[-1])
    assert metrics["max_error_final"] == max_error(u_b.values[-1], u_a.values[-1])
    assert metrics["mean_relative_l2"] == pytest.approx(reference["relative_l2"].mean(), rel=1e-14)
    assert metrics["speedup"] == WALL_A / WALL_B == 4.0
    # and against the closed form: relative L2 = 0.01 t, max error = 0.01 t exp(-t)
    assert metrics["relative_l2_final"] == pytest.approx(0.005, rel=1e-9)
    assert metrics["max_error_final"] == pytest.approx(0.005 * np.exp(-0.5), rel=1e-9)
    assert metrics["a"] == {"name": "FEM", "solver": "fem.heat", "frames": 6, "wall_s": WALL_A}
    assert metrics["b"] == {"name": "PINN", "solver": "pinn.heat", "frames": 6, "wall_s": WALL_B}

    curves = compared.error_curves()
    for key in ("time", "relative_l2", "max_error"):
        np.testing.assert_array_equal(curves[key], reference[key])


def test_the_table_shows_the_metrics(compared):
    metrics, table = compared.metrics(), compared.table
    headers = [table.verticalHeaderItem(row).text() for row in range(table.rowCount())]

    def cell(label, column=0):
        item = table.item(headers.index(label), column)
        return item.text(), item.data(QtCore.Qt.ItemDataRole.UserRole)

    pairs = {"rel. L2 error, final": "relative_l2_final", "max error, final": "max_error_final",
             "mean rel. L2 error": "mean_relative_l2", "speedup (wall A / B)": "speedup"}
    for label, key in pairs.items():
        text, value = cell(label)
        assert value == metrics[key]
        assert float(text) == pytest.approx(metrics[key], rel=1e-5)
    for column, run in enumerate(("a", "b")):
        assert cell("name", column)[0] == metrics[run]["name"]
        assert cell("solver", column)[0] == metrics[run]["solver"]
        assert cell("frames", column)[0] == "6"
        assert float(cell("wall time (s)", column)[0]) == metrics[run]["wall_s"]
    assert format_number(float("nan")) == "—"  # an unknown wall time or speedup


def test_the_plot_draws_both_curves_on_a_log_axis_with_a_time_marker(compared):
    assert compared.plot.getPlotItem().ctrl.logYCheck.isChecked()
    x, y = compared.l2_curve.getOriginalDataset()
    np.testing.assert_allclose(x, TIMES[1:])  # the error at t = 0 is exactly 0: no point on a log axis
    np.testing.assert_allclose(y, 0.01 * TIMES[1:], rtol=1e-9)
    assert len(compared.max_curve.getOriginalDataset()[0]) == 5
    compared.show_frame(3)
    assert compared.time_line.value() == pytest.approx(0.3)
    assert compared.slider.value() == 3


# -- colour ranges ---------------------------------------------------------------------------


def test_a_and_b_share_one_range_that_covers_both(compared, mesh):
    view_a, view_b, _ = compared.views
    for index, t in enumerate(TIMES):
        compared.show_frame(index)
        low, high = view_a.scalar_range()
        assert view_b.scalar_range() == (low, high)
        both = np.concatenate([exact_a(mesh, t), exact_b(mesh, t)])
        assert (low, high) == (pytest.approx(both.min()), pytest.approx(both.max()))
        assert high == pytest.approx(np.exp(-t) * (1 + 0.01 * t))  # B's peak, above A's


def test_the_difference_range_is_symmetric_about_zero(compared, mesh):
    view_diff = compared.views[2]
    assert view_diff.field_name.endswith("B − A")
    for index, t in enumerate(TIMES):
        compared.show_frame(index)
        low, high = view_diff.scalar_range()
        assert low == -high
        m = np.abs(exact_b(mesh, t) - exact_a(mesh, t)).max()
        assert high == (pytest.approx(m) if m > 0 else 0.5)  # an all-zero difference still gets [-0.5, 0.5]


def test_lock_range_keeps_the_range_while_scrubbing(compared):
    view_a, view_b, view_diff = compared.views
    compared.show_frame(0)
    frame_0 = view_a.scalar_range()
    compared.lock_range(True)
    assert compared.lock_box.isChecked()
    for index in (2, 5):
        compared.show_frame(index)
        assert view_a.scalar_range() == view_b.scalar_range() == frame_0
    assert view_diff.scalar_range()[1] == pytest.approx(0.005 * np.exp(-0.5))  # the difference follows the frame

    compared.lock_box.setChecked(False)  # the checkbox drives the same switch
    assert view_a.scalar_range()[1] == pytest.approx(np.exp(-0.5) * 1.005)
    compared.show_frame(1)
    assert view_a.scalar_range()[1] == pytest.approx(np.exp(-0.1) * 1.001)


def test_the_field_combo_offers_the_common_fields(view, mesh):
    def v(mesh, t):
        return 2.0 * exact_a(mesh, t)

    run_a = make_run(mesh, "a", {"u": exact_a, "v": v, "only_a": exact_a})
    run_b = make_run(mesh, "b", {"only_b": exact_a, "v": lambda mesh, t: 1.02 * v(mesh, t), "u": exact_b})
    view.set_runs(mesh, run_a, run_b)
    assert [view.field_combo.itemText(i) for i in range(view.field_combo.count())] == ["u", "v"]
    assert view.metrics()["relative_l2_final"] == pytest.approx(0.005)
    view.set_field("v")
    assert view.field_combo.currentText() == "v"
    assert view.metrics()["relative_l2_final"] == pytest.approx(0.02)
    assert view.views[0].scalar_range()[1] == pytest.approx(2.0 * 1.02)  # frame 0: B's peak of v
    view.set_field("only_a")  # not common: ignored
    assert view.field_combo.currentText() == "v"


def test_the_helpers_handle_vectors_gaps_and_cell_fields(mesh):
    a = np.array([[3.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(difference_values(a, 2 * a), [3.0, 1.0])  # |u_B - u_A| for vectors
    np.testing.assert_allclose(difference_values([1.0, 2.0], [0.5, 2.5]), [-0.5, 0.5])
    assert symmetric_range(np.array([-0.2, 0.5, np.nan])) == (-0.5, 0.5)
    assert union_range(np.array([1.0, np.nan]), np.array([-2.0, 0.5])) == (-2.0, 1.0)
    assert np.isnan(speedup(1.0, float("nan"))) and np.isnan(speedup(1.0, 0.0))

    def on_cells(mesh, t):
        return np.full(mesh.n_cells, 1.0 + t)

    cells = Run("cells")
    for index, t in enumerate(TIMES):
        cells.record(Frame(index, float(t), {"u": Field("u", on_cells(mesh, t), "cell")}))
    points = make_run(mesh, "points", {"u": exact_a})
    assert compatibility_problem(mesh, cells, cells) is None
    assert "lives on cells" in compatibility_problem(mesh, cells, points)


# -- incompatible runs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, expected",
    [
        ("other mesh", "not on this mesh"),
        ("other times", "frame times differ"),
        ("fewer frames", "frames"),
        ("no common field", "no field in common"),
        ("no frames", "has no frames"),
    ],
)
def test_incompatible_runs_show_a_message(view, mesh, runs, case, expected):
    run_a, run_b = runs
    if case == "other mesh":
        run_b = make_run(rectangle_mesh(8), "b", {"u": exact_a})
    elif case == "other times":
        run_b = make_run(mesh, "b", {"u": exact_b}, times=TIMES * 1.5)
    elif case == "fewer frames":
        run_b = make_run(mesh, "b", {"u": exact_b}, times=TIMES[:4])
    elif case == "no common field":
        run_b = make_run(mesh, "b", {"w": exact_b})
    else:
        run_b = Run("b")

    view.set_runs(mesh, run_a, run_b, "left", "right")
    assert expected in view.message_text
    assert "Cannot compare 'left' and 'right'" in view.message_text
    assert view.message.isVisible()
    assert view.metrics() == {} and view.error_curves() == {}
    view.show_frame(2)  # harmless while nothing is compared
    view.lock_range(True)

    view.set_runs(mesh, *runs)  # a good pair afterwards brings the views back
    assert view.message_text == "" and view.views[0].isVisible()
    assert view.metrics()["speedup"] == 4.0


# -- rendering -------------------------------------------------------------------------------


def test_a_is_drawn_in_colour(compared, pixels):
    image = compared.views[0].capture()
    assert pixels.coloured(image) > 0.05 * image.shape[0] * image.shape[1]
    assert pixels.lit(image) > 0.05 * image.shape[0] * image.shape[1]


def test_the_difference_is_neutral_where_b_equals_a(compared, mesh):
    compared.show_frame(0)  # t = 0: u_B = u_A
    area = mesh_pixels(compared.views[2], mesh)
    assert area.size > 0.1 * compared.views[2].capture().size
    saturation = area.max(axis=2) - area.min(axis=2)
    assert (saturation < 25).mean() > 0.99  # the whitish middle of the diverging map
    assert (area.min(axis=2) > 150).mean() > 0.99
    assert area.reshape(-1, 3).std(axis=0).max() < 3  # and the same colour everywhere


def test_the_difference_is_red_and_scale_free_under_the_per_frame_range(compared, mesh):
    """u_B - u_A = 0.01 t u_A >= 0: only the red half of the map appears. The range [-m, m] is set
    per frame with m = 0.01 t exp(-t), so (u_B - u_A) / m = sin(pi x) sin(pi y) at every t > 0:
    the picture is the same at t = 0.1 and t = 0.5 while the colour bar's scale grows 5 exp(-0.4) times."""
    view_diff = compared.views[2]
    compared.show_frame(1)
    early, m_early = mesh_pixels(view_diff, mesh), view_diff.scalar_range()[1]
    compared.show_frame(5)
    late, m_late = mesh_pixels(view_diff, mesh), view_diff.scalar_range()[1]

    assert m_late / m_early == pytest.approx(5 * np.exp(-0.4))
    for area in (early, late):
        assert reddish(area).mean() > 0.3
        assert not bluish(area).any()
        centre = area[area.shape[0] // 2, area.shape[1] // 2]
        assert centre[0] > 150 and centre[1] < 60 and centre[2] < 60  # deep red where u_A peaks
    assert np.abs(early - late).max() <= 2  # the same image up to rounding


def test_the_three_views_share_one_camera(compared, qtbot):
    view_a, view_b, view_diff = compared.views
    before_b, before_diff = view_b.capture(), view_diff.capture()
    camera = view_a.renderer.GetActiveCamera()
    camera.Azimuth(35)
    camera.Zoom(1.6)
    assert np.abs(view_b.capture().astype(int) - before_b).mean() > 5
    assert np.abs(view_diff.capture().astype(int) - before_diff).mean() > 5


def test_interacting_with_a_re_renders_b(compared):
    """A mouse-wheel zoom in A moves the shared camera, and B and the difference re-render unasked."""
    view_a, view_b, view_diff = compared.views
    before = view_b.capture()
    renders = {"b": 0, "diff": 0}
    view_b.render_window.AddObserver("EndEvent", lambda *_: renders.__setitem__("b", renders["b"] + 1))
    view_diff.render_window.AddObserver("EndEvent", lambda *_: renders.__setitem__("diff", renders["diff"] + 1))
    width, height = view_a.render_window.GetSize()
    view_a.interactor.SetEventInformation(width // 2, height // 2)
    view_a.interactor.MouseWheelForwardEvent()
    assert renders["b"] > 0 and renders["diff"] > 0
    assert np.abs(view_b.capture().astype(int) - before).mean() > 5  # B shows the zoomed-in mesh


def test_composite_image_paints_the_renderings_into_the_widget(compared, tmp_path):
    compared.show_frame(5)
    image = compared.composite_image()
    view_a = compared.views[0]
    corner = view_a.mapTo(compared, QtCore.QPoint(0, 0))
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    array = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())[:, : 3 * width]
    array = array.reshape(height, width, 3)
    region = array[corner.y(): corner.y() + view_a.height(), corner.x(): corner.x() + view_a.width()]
    np.testing.assert_array_equal(region, view_a.capture())
    assert image.save(str(tmp_path / "compare.png"))
