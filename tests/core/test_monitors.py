"""Gradient recovery and the monitor builder: exactness, bounds, robustness at jumps, parameters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import Delaunay

from workbench.core.errors import ParamError
from workbench.core.mesh import Mesh
from workbench.core.meshgen import rectangle_mesh
from workbench.core.monitors import (
    MONITOR_PARAMS,
    REFERENCE_MONITOR,
    FieldMonitor,
    MonitorSpec,
    monitor_values,
)
from workbench.core.params import resolve_params
from workbench.core.recovery import GradientRecovery, QuadraticFitRecovery


def irregular_mesh(n: int = 16) -> Mesh:
    rng = np.random.default_rng(5)
    xs = np.linspace(0.0, 1.0, n + 1)
    points = np.column_stack([np.tile(xs, n + 1), np.repeat(xs, n + 1)])
    inside = (points > 0).all(axis=1) & (points < 1).all(axis=1)
    points[inside] += rng.uniform(-0.3, 0.3, (inside.sum(), 2)) / n
    return Mesh.build(points, [("triangle", Delaunay(points).simplices)])


def test_averaged_gradient_is_exact_for_linear_fields_and_smoothing_keeps_constants():
    mesh = irregular_mesh()
    recovery = GradientRecovery(mesh.points, mesh.simplices)
    u = 2 * mesh.points[:, 0] - 5 * mesh.points[:, 1]
    assert np.allclose(recovery.gradient(u), [2.0, -5.0])
    assert np.allclose(recovery.hessian(recovery.gradient(u)), 0.0, atol=1e-10)
    assert np.allclose(recovery.smooth(np.full(mesh.n_points, 7.0), 3), 7.0)


def test_quadratic_fit_recovers_gradient_and_hessian_of_quadratics_on_irregular_meshes():
    mesh = irregular_mesh()
    x, y = mesh.points.T
    u = 1 + x - 2 * y + 1.5 * x**2 - x * y + 0.25 * y**2
    fit = QuadraticFitRecovery(mesh.points)
    assert np.allclose(fit.gradient(u), np.column_stack([1 + 3 * x - y, -2 - x + 0.5 * y]), atol=1e-9)
    assert np.allclose(fit.hessian(u), [[3.0, -1.0], [-1.0, 0.5]], atol=1e-8)


@pytest.mark.parametrize("kind", ["gradient", "hessian"])
def test_monitor_is_bounded_by_one_and_one_plus_alpha_even_at_a_jump(kind):
    mesh = rectangle_mesh(32)
    jump = np.where(mesh.points[:, 0] + 0.3 * mesh.points[:, 1] > 0.5, 1.0, 0.0)
    for spec in (MonitorSpec(kind=kind, alpha=6.0), MonitorSpec(kind=kind, alpha=6.0, normaliser="quantile",
                                                                 compression=10.0, smoothing=4)):
        m = monitor_values(mesh, jump, spec)
        assert np.isfinite(m).all()
        assert m.min() >= 1.0 and m.max() <= 7.0 + 1e-12
        assert m.max() > 2.0  # the jump is seen
    assert np.allclose(monitor_values(mesh, np.full(mesh.n_points, 3.0), MonitorSpec(kind=kind)), 1.0)


def test_expression_monitor_and_its_errors():
    mesh = rectangle_mesh(4)
    spec = MonitorSpec(kind="expression", expression="1 + x")
    assert np.allclose(monitor_values(mesh, None, spec), 1 + mesh.points[:, 0])
    with pytest.raises(ParamError, match="must be positive"):
        monitor_values(mesh, None, MonitorSpec(kind="expression", expression="x - 0.5"))
    with pytest.raises(ParamError, match="NaN or infinite"):
        monitor_values(mesh, np.full(mesh.n_points, np.nan), MonitorSpec())
    with pytest.raises(ParamError, match="unknown monitor kind"):
        MonitorSpec(kind="curvature")


def test_field_monitor_interpolates_its_nodal_values_at_moved_points():
    mesh = rectangle_mesh(16)
    u = np.tanh((mesh.points[:, 0] - 0.5) / 0.05)
    monitor = FieldMonitor(mesh, u, REFERENCE_MONITOR)
    assert np.allclose(monitor(mesh.points), monitor.nodal)
    moved = np.clip(mesh.points + 0.01, 0.0, 1.0)
    first, again = monitor(moved), monitor(moved)  # the second call starts from the remembered cells
    assert np.allclose(first, again) and (first >= 1.0).all()


def test_monitor_params_resolve_into_a_spec():
    params = resolve_params(MONITOR_PARAMS, {"monitor": "hessian", "alpha": "2.5", "smoothing": 0})
    spec = MonitorSpec.from_params({**params, "unrelated": 1})
    assert (spec.kind, spec.alpha, spec.smoothing) == ("hessian", 2.5, 0)
