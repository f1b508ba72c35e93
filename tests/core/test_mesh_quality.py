"""The host's mesh quality report, checked on meshes whose values can be computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workbench.core.mesh import Mesh
from workbench.core.mesh_quality import (
    FineReference,
    aspect_ratios,
    boundary_drift,
    composite_rule,
    equidistribution_cov,
    interpolation_error,
    inverted_cells,
    min_angle_degrees,
    quality_report,
    signed_areas,
)
from workbench.core.meshgen import rectangle_mesh

RIGHT = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
EQUILATERAL = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])
ONE = np.array([[0, 1, 2]])


def test_right_isosceles_triangle_has_45_degrees_and_known_aspect_ratio():
    assert min_angle_degrees(RIGHT, ONE) == pytest.approx(45.0)
    # R = sqrt(2) / 2, r = (2 - sqrt(2)) / 2, so R / (2 r) = (1 + sqrt(2)) / 2.
    assert aspect_ratios(RIGHT, ONE)[0] == pytest.approx((1 + math.sqrt(2)) / 2)
    assert min_angle_degrees(EQUILATERAL, ONE) == pytest.approx(60.0)
    assert aspect_ratios(EQUILATERAL, ONE)[0] == pytest.approx(1.0)


def test_signed_area_and_an_inverted_cell_is_counted():
    assert signed_areas(RIGHT, ONE)[0] == pytest.approx(0.5)
    assert signed_areas(RIGHT, ONE[:, ::-1])[0] == pytest.approx(-0.5)
    mesh = rectangle_mesh(4)
    moved = mesh.points.copy()
    node = np.flatnonzero(np.all(np.isclose(mesh.points, 0.25), axis=1))[0]
    assert inverted_cells(mesh.points, moved, mesh.simplices) == 0
    moved[node] = [0.6, 0.6]  # far outside the star of its six cells: some of them fold over
    assert inverted_cells(mesh.points, moved, mesh.simplices) >= 1
    flat = mesh.points.copy()
    flat[node] = [0.25, 0.0]  # onto the bottom side: the two cells between collapse to zero area
    assert inverted_cells(mesh.points, flat, mesh.simplices) == 2
    assert aspect_ratios(flat, mesh.simplices).max() == np.inf


def test_equidistribution_cov_by_hand():
    mesh = rectangle_mesh(6)
    assert equidistribution_cov(mesh.points, mesh.simplices, np.full(mesh.n_points, 3.0)) == pytest.approx(0.0, abs=1e-12)
    # The unit square as two triangles, (0, 1, 3) and (0, 3, 2), areas 1/2. With m = 4 at node 1 only,
    # their m|K| are 2 * 1/2 and 1 * 1/2: mean 3/4, standard deviation 1/4, CoV 1/3.
    square = rectangle_mesh(1)
    assert equidistribution_cov(square.points, square.simplices, np.array([1.0, 4.0, 1.0, 1.0])) == pytest.approx(1 / 3)


def test_boundary_drift_is_zero_for_sliding_and_the_distance_otherwise():
    mesh = rectangle_mesh(4)
    moved = mesh.points.copy()
    on_bottom = np.flatnonzero((mesh.points[:, 1] == 0) & (mesh.points[:, 0] == 0.5))[0]
    moved[on_bottom] = [0.6, 0.0]  # slides along the side
    assert boundary_drift(mesh, moved) == pytest.approx(0.0)
    moved[on_bottom] = [0.6, 0.1]  # leaves it by 0.1
    assert boundary_drift(mesh, moved) == pytest.approx(0.1)


def test_composite_rule_is_exact_for_quadratics():
    bary, weights = composite_rule(3)
    assert weights.sum() == pytest.approx(1.0) and np.allclose(bary.sum(axis=1), 1.0)
    x = bary @ RIGHT  # quadrature points in the right triangle, area 1/2
    assert 0.5 * weights @ (x[:, 0] ** 2) == pytest.approx(1 / 12)  # int x^2 over the triangle
    assert 0.5 * weights @ (x[:, 0] * x[:, 1]) == pytest.approx(1 / 24)


def test_interpolation_error_vanishes_for_linear_fields_and_agrees_between_references():
    mesh = rectangle_mesh(8)
    linear = lambda p: 1 + p[:, 0] - 2 * p[:, 1]
    assert interpolation_error(mesh, mesh.points, linear) == pytest.approx(0.0, abs=1e-12)
    fine = rectangle_mesh(64)
    assert interpolation_error(mesh, mesh.points, FineReference(fine, linear(fine.points))) == pytest.approx(0.0, abs=1e-12)
    bump = lambda p: np.sin(np.pi * p[:, 0]) * np.sin(np.pi * p[:, 1])
    exact = interpolation_error(mesh, mesh.points, bump, subdivisions=8)
    on_fine = interpolation_error(mesh, mesh.points, FineReference(fine, bump(fine.points)))
    assert exact > 1e-3 and on_fine == pytest.approx(exact, rel=0.05)


def test_interpolation_error_of_x_squared_on_one_triangle():
    # u = x^2 on the right triangle: I_h u = x, and int (x - x^2)^2 = int x^2 - 2 x^3 + x^4 = 1/12 - 1/10 + 1/30.
    mesh = Mesh.build(RIGHT, [("triangle", ONE)])
    error = interpolation_error(mesh, mesh.points, lambda p: p[:, 0] ** 2, subdivisions=16)
    assert error == pytest.approx(math.sqrt(1 / 12 - 1 / 10 + 1 / 30), rel=1e-3)


def test_quality_report_of_an_unmoved_mesh():
    mesh = rectangle_mesh(4)
    report = quality_report(mesh, mesh.points, lambda p: np.ones(len(p)), lambda p: p[:, 0], iterations=0)
    assert report.mover == "uniform" and report.inverted_cells == 0
    assert report.min_angle_deg == pytest.approx(45.0)
    assert report.boundary_drift == 0.0 and report.equidistribution_cov == pytest.approx(0.0, abs=1e-12)
    assert report.interpolation_error == pytest.approx(0.0, abs=1e-12)
    assert report.describe()["cells"] == 32
    assert quality_report(mesh, mesh.points, lambda p: np.ones(len(p))).interpolation_error is None
