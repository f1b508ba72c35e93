"""Through the host: descriptors, grid meshes, the job protocol, parameter errors."""

import numpy as np
import pdewb_spectral.plugin
import pytest

from workbench.compute.runner import build_problem, run_solver
from workbench.core import RunStatus
from workbench.core.errors import ParamError
from workbench.core.events import Scalars
from workbench.testing import host_with


@pytest.fixture(scope="module")
def host():
    return host_with(pdewb_spectral.plugin)


def test_burgers_runs_on_its_grid(host):
    solver = host.solver("spectral.burgers")
    problem = build_problem(solver, None, {"n": 64, "nu": 0.1, "dt": 1e-3, "t_end": 0.1, "n_out": 4, "seed": 3})
    assert problem.mesh.n_points == 65
    scalars = []
    run = run_solver(solver, problem, on_event=lambda e: scalars.append(e) if isinstance(e, Scalars) else None)
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert len(run.frames) == 5
    for frame in run.frames:
        u = frame.fields["u"].values
        assert u.shape == (65,) and np.isfinite(u).all() and u[0] == u[-1]
    assert np.isclose(run.frames[-1].time, 0.1)
    energy = [s.values["energy"] for s in scalars]
    assert len(energy) == 5 and all(b < a for a, b in zip(energy, energy[1:]))  # viscous decay


def test_burgers_expression_initial_condition(host):
    solver = host.solver("spectral.burgers")
    problem = build_problem(solver, None, {"n": 32, "initial": "sin(2*pi*x)", "t_end": 0.01, "n_out": 1})
    run = run_solver(solver, problem)
    assert run.status is RunStatus.SUCCEEDED, run.error
    x = problem.mesh.points[:, 0]
    assert np.allclose(run.frames[0].fields["u"].values, np.sin(2 * np.pi * x), atol=1e-14)


def test_navier_stokes_runs_on_its_grid(host):
    solver = host.solver("spectral.navier_stokes")
    problem = build_problem(solver, None, {"n": 32, "dt": 1e-2, "t_end": 0.2, "n_out": 2})
    assert problem.mesh.n_points == 33 * 33
    scalars = []
    run = run_solver(solver, problem, on_event=lambda e: scalars.append(e) if isinstance(e, Scalars) else None)
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert len(run.frames) == 3
    for frame in run.frames:
        w = frame.fields["w"].values.reshape(33, 33)
        assert np.isfinite(w).all() and np.array_equal(w[:, 0], w[:, -1]) and np.array_equal(w[0], w[-1])
        assert frame.fields["speed"].values.shape == (33 * 33,)
    assert {"energy", "enstrophy"} <= set(scalars[-1].values)


def test_navier_stokes_expression_matches_mesh_points(host):
    solver = host.solver("spectral.navier_stokes")
    problem = build_problem(solver, None, {"n": 16, "initial": "cos(2*pi*x) + 0.5*sin(4*pi*y)", "forcing": "0",
                                           "t_end": 1e-3, "dt": 1e-3, "n_out": 1})
    run = run_solver(solver, problem)
    assert run.status is RunStatus.SUCCEEDED, run.error
    x, y = problem.mesh.points[:, 0], problem.mesh.points[:, 1]
    assert np.allclose(run.frames[0].fields["w"].values, np.cos(2 * np.pi * x) + 0.5 * np.sin(4 * np.pi * y), atol=1e-13)


def test_huge_dt_fails_the_run_with_a_named_step(host):
    solver = host.solver("spectral.navier_stokes")
    problem = build_problem(solver, None, {"n": 32, "dt": 10.0, "t_end": 10.0, "n_out": 1,
                                           "initial": "10*sin(2*pi*x)"})
    run = run_solver(solver, problem)
    assert run.status is RunStatus.FAILED
    assert "step 1" in str(run.error) and "CFL" in str(run.error)


@pytest.mark.parametrize("solver_id", ["spectral.burgers", "spectral.navier_stokes"])
@pytest.mark.parametrize("params, message", [
    ({"nu": 0.0}, "nu"),
    ({"nu": -1.0}, "nu"),
    ({"n": 33}, "even"),
    ({"n": 4}, "n"),
    ({"initial": "log(x - 0.5)"}, "not finite"),
    ({"initial": "sqrt(-1 - x)"}, "not finite"),
    ({"initial": "import os"}, "initial"),
    ({"dt": 0.0}, "dt"),
    ({"dt": 2.0, "t_end": 1.0}, r"dt = 2 is longer than the whole time span t_end = 1"),
    ({"dt": 1e-12, "t_end": 1.0}, r"time steps is more than 10,000,000"),
    ({"dt": 1e308}, "longer than the whole time span"),
    ({"dt": "inf"}, "not a finite number"),
    ({"n_out": 20_000_000, "dt": 1.0, "t_end": 1.0}, "more than 10,000,000 time steps"),
])
def test_bad_params_are_param_errors(host, solver_id, params, message):
    solver = host.solver(solver_id)
    with pytest.raises(ParamError, match=message) as info:
        build_problem(solver, None, {"n": 16, **params})
    assert "\n" not in str(info.value)


def test_the_job_itself_refuses_nan_initial_values(host):
    """A Problem built without build_problem (e.g. a scenario) is still checked at the job's start."""
    from workbench.core.meshgen import interval_mesh
    from workbench.core.problem import Problem

    solver = host.solver("spectral.burgers")
    job = solver.load()(Problem(interval_mesh(16), "burgers", {"n": 16, "initial": "1/(x - 0.5)"}))
    with pytest.raises(ParamError, match="not finite"):
        next(iter(job))


@pytest.mark.parametrize(("solver_id", "fragment"), [
    ("spectral.burgers", r"spectral.burgers with n = 4000000 \(4,000,001 grid points, 2 frames\) needs"),
    ("spectral.navier_stokes", r"spectral.navier_stokes with n = 4096 \(16,785,409 grid points, 2 frames\) needs"),
])
def test_a_grid_too_large_for_memory_is_refused_before_it_is_built(host, monkeypatch, solver_id, fragment):
    import workbench.core.memory
    from workbench.core.memory import NotEnoughMemory

    monkeypatch.setattr(workbench.core.memory, "available_memory", lambda: 10**8)  # 100 MB
    n = 4_000_000 if solver_id == "spectral.burgers" else 4096
    with pytest.raises(NotEnoughMemory, match=fragment):
        build_problem(host.solver(solver_id), None, {"n": n, "n_out": 1, "t_end": 0.01})
    assert build_problem(host.solver(solver_id), None, {"n": 16, "n_out": 1, "t_end": 0.01}).mesh.n_points


def test_a_data_set_batch_too_large_for_memory_is_refused(monkeypatch):
    import workbench.core.memory
    from pdewb_spectral.dataset import navier_stokes_batch

    from workbench.core.memory import NotEnoughMemory
    from workbench.core.params import resolve_params
    from pdewb_spectral.plugin import NAVIER_STOKES

    monkeypatch.setattr(workbench.core.memory, "available_memory", lambda: 10**8)
    params = resolve_params(NAVIER_STOKES.params, {"n": 1024, "n_out": 10, "t_end": 0.01})
    with pytest.raises(NotEnoughMemory, match="a batch of 8 spectral.navier_stokes samples with n = 1024"):
        navier_stokes_batch(params, np.arange(8))
