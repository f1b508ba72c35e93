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


GB = 10**9


@pytest.fixture()
def one_gigabyte(monkeypatch):
    """A machine with 1 GB available, whatever this one has."""
    import workbench.core.memory

    monkeypatch.setattr(workbench.core.memory, "available_memory", lambda: GB)


def test_a_grid_too_large_for_memory_is_refused_before_it_is_built(solver, one_gigabyte):
    from workbench.core.memory import NotEnoughMemory

    with pytest.raises(NotEnoughMemory, match=r"darcy.fd with n = 1024 \(1,050,625 grid nodes\) needs 2.6 GB of "
                                              r"memory; only 1.0 GB are available"):
        build_problem(solver, None, {"n": 1024})
    assert build_problem(solver, None, {"n": 64}).mesh.n_points == 65**2


def test_a_data_set_batch_too_large_for_memory_is_refused(one_gigabyte):
    from pdewb_darcy.dataset import dataset_metadata, generate_batch

    from workbench.core.memory import NotEnoughMemory

    with pytest.raises(NotEnoughMemory, match=r"a batch of 64 darcy.fd samples with n = 512"):
        generate_batch({"n": 512}, np.arange(64))
    with pytest.raises(NotEnoughMemory, match=r"one darcy.fd sample with n = 4096"):
        dataset_metadata({"n": 4096})  # refused before a data set file is even created
    assert generate_batch({"n": 16}, np.arange(2))["u"].shape == (2, 17, 17)


def test_darcy_fem_refuses_a_random_field_too_large_for_memory(one_gigabyte):
    from pdewb_darcy.mesh_darcy import centroid_coefficient

    from workbench.core.memory import NotEnoughMemory
    from workbench.core.meshgen import rectangle_mesh

    mesh = rectangle_mesh(4)
    with pytest.raises(NotEnoughMemory, match="the random field with 100001 modes per axis at 32 points"):
        centroid_coefficient(mesh, 100_000, 0)
    assert set(np.unique(centroid_coefficient(mesh, 16, 0))) <= {3.0, 12.0}
