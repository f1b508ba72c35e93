import numpy as np
import pytest

import pdewb_darcy.plugin
from workbench.compute.runner import build_problem, run_solver
from workbench.core import RunStatus
from workbench.core.errors import ParamError
from workbench.testing import host_with


@pytest.fixture(scope="module")
def solver():
    return host_with(pdewb_darcy.plugin).solver("darcy.fd")


@pytest.mark.parametrize("coefficient", ["grf", "constant", "expression"])
def test_runs_through_the_host(solver, coefficient):
    problem = build_problem(solver, None, {"n": 16, "coefficient": coefficient, "seed": 2})
    assert problem.mesh.n_points == 17**2
    run = run_solver(solver, problem)
    assert run.status is RunStatus.SUCCEEDED, run.error if hasattr(run, "error") else run
    assert len(run.frames) == 1
    fields = run.frames[0].fields
    u, a = fields["u"].values, fields["a"].values
    assert u.shape == a.shape == (17**2,)
    assert np.all(u >= 0) and u.max() > 0  # f = 1 > 0: maximum principle
    if coefficient == "grf":
        assert set(np.unique(a)) <= {3.0, 12.0}


def test_constant_coefficient_scales(solver):
    def peak(value):
        run = run_solver(solver, build_problem(solver, None, {"n": 16, "coefficient": "constant",
                                                              "coefficient_value": value}))
        return run.frames[0].fields["u"].values.max()

    assert peak(1.0) == pytest.approx(2.0 * peak(2.0), rel=1e-12)
    assert peak(1.0) == pytest.approx(0.0737, abs=2e-3)  # max of the torsion function -Lap u = 1 on the unit square


@pytest.mark.parametrize("n", [7, 2, 3, 15])
def test_bad_n_is_a_one_line_param_error(solver, n):
    with pytest.raises(ParamError) as info:
        build_problem(solver, None, {"n": n})
    assert "\n" not in str(info.value) and "n" in str(info.value)


def test_frame_values_follow_the_mesh_point_order(solver):
    """a from an expression, evaluated at the grid mesh points, equals the frame's a (x fastest ordering)."""
    problem = build_problem(solver, None, {"n": 8, "coefficient": "expression",
                                           "coefficient_expression": "1 + x + 3*y"})
    run = run_solver(solver, problem)
    x, y = problem.mesh.points[:, 0], problem.mesh.points[:, 1]
    assert np.allclose(run.frames[0].fields["a"].values, 1 + x + 3 * y)
    u = run.frames[0].fields["u"].values
    on_boundary = (x == 0) | (x == 1) | (y == 0) | (y == 1)
    assert np.all(u[on_boundary] == 0) and np.all(u[~on_boundary] > 0)
