"""Variable and discontinuous conductivity: -div(k grad u) = f (Darcy flow on the user's mesh)."""

import numpy as np
import pytest

from pdewb_fem import poisson
from workbench.core import BoundaryCondition, Frame, ParamError, Problem, load_mesh
from workbench.core.meshgen import rectangle_mesh
from workbench.core.metrics import l2_norm

K = "1 + 0.5*sin(2*pi*x)*sin(2*pi*y)"
# u = sin(pi x) sin(pi y):  f = -(k_x u_x + k_y u_y) + 2 pi^2 k u
F = ("-(pi*cos(2*pi*x)*sin(2*pi*y)*pi*cos(pi*x)*sin(pi*y) + pi*sin(2*pi*x)*cos(2*pi*y)*pi*sin(pi*x)*cos(pi*y))"
     f" + 2*pi**2*({K})*sin(pi*x)*sin(pi*y)")
ZERO = (BoundaryCondition("boundary", "dirichlet", "0"),)


def solution(problem: Problem) -> np.ndarray:
    return [e for e in poisson.solve(problem) if isinstance(e, Frame)][0].fields["u"].values


def test_smooth_variable_coefficient_converges_at_order_two():
    sizes, errors = [8, 16, 32, 64], []
    for n in sizes:
        mesh = rectangle_mesh(n)
        u = solution(Problem(mesh, "poisson", {"conductivity": K, "source": F}, ZERO))
        exact = np.sin(np.pi * mesh.points[:, 0]) * np.sin(np.pi * mesh.points[:, 1])
        errors.append(l2_norm(mesh, u - exact))  # error of the nodal values, P1 quadrature
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    print("\nvariable k: L2 errors", ["%.3e" % e for e in errors], "orders", np.round(orders, 2))
    assert np.all((orders > 1.85) & (orders < 2.3)), orders


def test_two_phase_darcy_medium_on_the_plate_with_a_hole():
    from pdewb_samples.files import plate_with_hole

    mesh = load_mesh(plate_with_hole())
    params = {"conductivity": "where(sin(6*x)*sin(6*y) > 0, 12, 3)", "source": "1"}
    u = solution(Problem(mesh, "poisson", params, ZERO))
    softest = solution(Problem(mesh, "poisson", {"conductivity": "3", "source": "1"}, ZERO))
    stiffest = solution(Problem(mesh, "poisson", {"conductivity": "12", "source": "1"}, ZERO))

    def compliance(values):
        """J(k) = int f u_k dx with f = 1; J = max_v (2 int f v - int k |grad v|^2) decreases as k grows."""
        return float(mesh.simplex_measures @ values[mesh.simplices].mean(axis=1))

    assert 0 < compliance(stiffest) < compliance(u) < compliance(softest)


@pytest.mark.parametrize("k, fragment", [("x - 0.5", "finite and positive"), ("1 + t", "must not depend on t")])
def test_bad_conductivity_is_refused(k, fragment):
    with pytest.raises(ParamError, match=fragment):
        solution(Problem(rectangle_mesh(4), "poisson", {"conductivity": k}, ZERO))
