"""Error metrics: exact P1 quadrature of point fields, cell fields, relative errors and series."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.field import Field
from workbench.core.mesh import Mesh
from workbench.core.meshgen import box_mesh, interval_mesh, rectangle_mesh
from workbench.core.metrics import error_series, l2_norm, max_error, relative_l2

RNG = np.random.default_rng(1234)


@pytest.fixture(scope="module")
def square():
    return rectangle_mesh(6)


@pytest.fixture(scope="module")
def graded_square():
    """The unit square with columns crowded towards x = 0 (x -> x^3)."""
    base = rectangle_mesh(10)
    points = base.points.copy()
    points[:, 0] = points[:, 0] ** 3
    return Mesh.build(points, [("triangle", base.simplices)])


def _reference_l2_squared(mesh: Mesh, values: np.ndarray) -> float:
    """Integral of the squared P1 interpolant by quadrature rules exact for quadratics.

    Independent of the closed form used by l2_norm: 2-point Gauss on lines, the
    edge-midpoint rule on triangles, the 4-point degree-2 rule on tetrahedra.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    nodal = values[mesh.simplices]  # (n, k + 1, c)
    k = mesh.simplices.shape[1] - 1
    if k == 1:
        g = 0.5 / np.sqrt(3.0)
        bary = np.array([[0.5 + g, 0.5 - g], [0.5 - g, 0.5 + g]])
    elif k == 2:
        bary = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    else:
        a, b = 0.5854101966249685, 0.1381966011250105
        bary = np.full((4, 4), b) + np.eye(4) * (a - b)
    at_points = np.einsum("qi,nic->nqc", bary, nodal)
    per_simplex = (at_points**2).sum(axis=(1, 2)) / len(bary)
    return float(mesh.simplex_measures @ per_simplex)


# -- exactness ---------------------------------------------------------------------------------


def test_linear_function_on_unit_square_is_exact(square):
    u = square.points[:, 0]
    assert l2_norm(square, u) ** 2 == pytest.approx(1.0 / 3.0, abs=1e-12)


def test_affine_function_on_rectangle_is_exact():
    mesh = rectangle_mesh(3, 5, x=(-1.0, 2.0), y=(0.0, 0.5))
    x, y = mesh.points.T
    u = 2.0 * x - 3.0 * y + 1.0
    # integral over [-1, 2] x [0, 0.5] of (2x - 3y + 1)^2, done by hand
    exact = 7.125
    assert l2_norm(mesh, u) ** 2 == pytest.approx(exact, abs=1e-12)


def test_constant_on_box_is_one():
    mesh = box_mesh(2, 3, 2)
    assert l2_norm(mesh, np.ones(mesh.n_points)) == pytest.approx(1.0, abs=1e-12)


def test_linear_function_on_box_is_exact():
    mesh = box_mesh(3)
    x, y, z = mesh.points.T
    assert l2_norm(mesh, z) ** 2 == pytest.approx(1.0 / 3.0, abs=1e-12)
    assert l2_norm(mesh, x + y) ** 2 == pytest.approx(2.0 / 3.0 + 2.0 * 0.25, abs=1e-12)


def test_linear_function_on_interval_is_exact():
    mesh = interval_mesh(7, 1.0, 3.0)
    x = mesh.points[:, 0]
    assert l2_norm(mesh, x) ** 2 == pytest.approx((27.0 - 1.0) / 3.0, abs=1e-12)


@pytest.mark.parametrize("make", [lambda: interval_mesh(9), lambda: rectangle_mesh(4, 3), lambda: box_mesh(2)])
def test_closed_form_matches_quadrature_for_random_fields(make):
    mesh = make()
    values = RNG.normal(size=mesh.n_points)
    assert l2_norm(mesh, values) ** 2 == pytest.approx(_reference_l2_squared(mesh, values), rel=1e-12)


def test_closed_form_matches_quadrature_on_graded_mesh(graded_square):
    values = RNG.normal(size=(graded_square.n_points, 2))
    assert l2_norm(graded_square, values) ** 2 == pytest.approx(
        _reference_l2_squared(graded_square, values), rel=1e-12
    )


def test_second_order_convergence_to_one_half():
    errors = []
    for n in (4, 8, 16, 32):
        mesh = rectangle_mesh(n)
        x, y = mesh.points.T
        errors.append(abs(l2_norm(mesh, np.sin(np.pi * x) * np.sin(np.pi * y)) - 0.5))
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[-1] < 1e-3
    assert np.all(rates > 1.8) and np.all(rates < 2.2), rates


def test_vector_fields_add_components(square):
    x, y = square.points.T
    u = np.column_stack([x, y, np.ones_like(x)])
    assert l2_norm(square, u) ** 2 == pytest.approx(1.0 / 3.0 + 1.0 / 3.0 + 1.0, abs=1e-12)
    parts = [l2_norm(square, u[:, j]) ** 2 for j in range(3)]
    assert l2_norm(square, u) == pytest.approx(np.sqrt(sum(parts)), rel=1e-14)


def test_zero_field_has_zero_norm(square):
    assert l2_norm(square, np.zeros(square.n_points)) == 0.0


# -- cell fields ------------------------------------------------------------------------------


def test_cell_field_is_sum_of_area_times_square():
    n = 4
    mesh = rectangle_mesh(n)
    values = RNG.normal(size=mesh.n_cells)
    area = 1.0 / (2 * n * n)
    assert l2_norm(mesh, values, "cell") ** 2 == pytest.approx(area * np.sum(values**2), rel=1e-12)


def test_cell_field_on_graded_mesh_weights_by_area(graded_square):
    values = np.zeros(graded_square.n_cells)
    values[0] = 1.0  # a small cell next to x = 0
    assert l2_norm(graded_square, values, "cell") ** 2 == pytest.approx(graded_square.cell_measures[0], rel=1e-12)
    assert graded_square.cell_measures[0] < 1e-3


def test_cell_field_on_quads():
    points = np.array([[0.0, 0.0], [2.0, 0.0], [3.0, 0.0], [0.0, 1.0], [2.0, 1.0], [3.0, 1.0]])
    quads = np.array([[0, 1, 4, 3], [1, 2, 5, 4]])
    mesh = Mesh.build(points, [("quad", quads)])
    values = np.array([3.0, -2.0])
    assert l2_norm(mesh, values, "cell") ** 2 == pytest.approx(2.0 * 9.0 + 1.0 * 4.0, abs=1e-12)
    # the point-field norm on quads uses their split into triangles
    assert l2_norm(mesh, np.ones(6)) ** 2 == pytest.approx(3.0, abs=1e-12)


def test_cell_vector_field():
    mesh = rectangle_mesh(2)
    values = np.tile([3.0, 4.0], (mesh.n_cells, 1))
    assert l2_norm(mesh, values, "cell") == pytest.approx(5.0, abs=1e-12)


def test_wrong_lengths_are_rejected(square):
    with pytest.raises(ValueError, match=f"expected {square.n_points} point values"):
        l2_norm(square, np.zeros(square.n_points - 1))
    with pytest.raises(ValueError, match=f"expected {square.n_cells} cell values"):
        l2_norm(square, np.zeros(square.n_points), "cell")


# -- the quadrature differs from a plain vector norm ------------------------------------------------------------


def test_graded_mesh_quadrature_differs_from_plain_vector_norm(graded_square):
    x = graded_square.points[:, 0]
    exact = np.sqrt(1.0 / 3.0)
    quadrature = l2_norm(graded_square, x)
    plain_rms = np.sqrt(np.mean(x**2))  # every node weighted alike: ignores the grading
    assert quadrature == pytest.approx(exact, abs=1e-12)
    assert abs(plain_rms - exact) > 0.1
    # on a uniform mesh the naive estimate is at least close
    uniform = rectangle_mesh(10)
    assert abs(np.sqrt(np.mean(uniform.points[:, 0] ** 2)) - exact) < 0.03


def test_graded_mesh_relative_error_weights_small_cells_less(graded_square):
    """The same nodal error near x = 0 (small cells) and near x = 1 (large cells)."""
    x = graded_square.points[:, 0]
    reference = np.ones(graded_square.n_points)
    near_zero = reference + 0.1 * (x < 1e-3)
    near_one = reference + 0.1 * (x > 0.999)
    assert np.count_nonzero(x < 1e-3) == np.count_nonzero(x > 0.999)
    plain = [np.linalg.norm(e - reference) for e in (near_zero, near_one)]
    assert plain[0] == pytest.approx(plain[1])
    weighted = [relative_l2(graded_square, e, reference) for e in (near_zero, near_one)]
    assert weighted[0] < weighted[1] / 10  # sqrt(0.001 / 0.271): about 1/16


# -- relative_l2 and max_error ----------------------------------------------------------------------


def test_relative_l2_known_value(square):
    x = square.points[:, 0]
    assert relative_l2(square, 1.1 * x, x) == pytest.approx(0.1, abs=1e-12)
    assert relative_l2(square, x, x) == 0.0


@pytest.mark.parametrize("scale", [1e-6, 3.0, 1e8])
def test_relative_l2_is_scale_invariant(square, scale):
    reference = RNG.normal(size=square.n_points)
    estimate = reference + 0.01 * RNG.normal(size=square.n_points)
    base = relative_l2(square, estimate, reference)
    assert relative_l2(square, scale * estimate, scale * reference) == pytest.approx(base, rel=1e-10)


def test_relative_l2_zero_reference(square):
    zero = np.zeros(square.n_points)
    assert relative_l2(square, zero, zero) == 0.0
    assert relative_l2(square, zero + 1e-3, zero) == float("inf")


def test_relative_l2_of_cell_and_vector_fields(square):
    reference = RNG.normal(size=(square.n_cells, 2))
    assert relative_l2(square, 0.5 * reference, reference, "cell") == pytest.approx(0.5, rel=1e-12)
    reference = RNG.normal(size=(square.n_points, 3))
    assert relative_l2(square, -reference, reference) == pytest.approx(2.0, rel=1e-12)


def test_max_error_scalar_and_vector():
    assert max_error(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 2.0])) == 1.0
    assert max_error(np.array([[3.0, 4.0], [0.0, 0.0]]), np.zeros((2, 2))) == 5.0
    assert max_error(np.zeros(0), np.zeros(0)) == 0.0


# -- error_series ------------------------------------------------------------------------------------


def _series(mesh, name, scale, times):
    x = mesh.points[:, 0]
    return Field(name, np.stack([scale * (1.0 + t) * x for t in times]), times=times)


def test_error_series_per_time(square):
    times = [0.0, 0.5, 1.0]
    reference = _series(square, "exact", 1.0, times)
    estimate = Field("u", reference.values * np.array([1.0, 1.1, 0.8])[:, None], times=times)
    result = error_series(square, estimate, reference)
    assert set(result) == {"time", "relative_l2", "max_error"}
    np.testing.assert_array_equal(result["time"], times)
    np.testing.assert_allclose(result["relative_l2"], [0.0, 0.1, 0.2], atol=1e-12)
    np.testing.assert_allclose(result["max_error"], [0.0, 0.1 * 1.5, 0.2 * 2.0], atol=1e-12)


def test_error_series_on_cells(square):
    times = [0.0, 1.0]
    reference = Field("r", np.ones((2, square.n_cells)), "cell", times)
    estimate = Field("e", np.full((2, square.n_cells), 1.5), "cell", times)
    result = error_series(square, estimate, reference)
    np.testing.assert_allclose(result["relative_l2"], [0.5, 0.5], rtol=1e-12)


def test_error_series_rejects_mismatched_times(square):
    reference = _series(square, "exact", 1.0, [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="same times"):
        error_series(square, _series(square, "u", 1.0, [0.0, 0.5]), reference)
    with pytest.raises(ValueError, match="same times"):
        error_series(square, _series(square, "u", 1.0, [0.0, 0.6, 1.0]), reference)


def test_error_series_rejects_single_fields_and_mixed_locations(square):
    reference = _series(square, "exact", 1.0, [0.0, 1.0])
    with pytest.raises(ValueError, match="time series"):
        error_series(square, reference.snapshot(0), reference)
    cells = Field("c", np.zeros((2, square.n_cells)), "cell", [0.0, 1.0])
    with pytest.raises(ValueError, match="location"):
        error_series(square, cells, reference)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("location", ["point", "cell"])
def test_a_non_finite_value_is_never_a_perfect_score(square, bad, location):
    """NaN (and inf) anywhere, in the estimate or the reference, never gives 0: NaN or inf, the metric says so."""
    size = square.n_points if location == "point" else square.n_cells
    finite = np.linspace(1.0, 2.0, size)
    spoiled = finite.copy()
    spoiled[size // 2] = bad
    for estimate, reference in ((spoiled, finite), (finite, spoiled), (spoiled, spoiled)):
        value = relative_l2(square, estimate, reference, location)
        assert not np.isfinite(value) and value != 0.0
    assert not np.isfinite(l2_norm(square, spoiled, location))
    assert np.isnan(max_error(spoiled, spoiled)) or np.isinf(max_error(spoiled, finite))
    assert not np.isfinite(max_error(finite, spoiled))


def test_nan_in_a_zero_reference_is_not_a_match(square):
    zero = np.zeros(square.n_points)
    spoiled = zero.copy()
    spoiled[3] = np.nan
    assert np.isnan(relative_l2(square, spoiled, zero))
    assert np.isnan(relative_l2(square, zero, spoiled))
