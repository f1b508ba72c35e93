"""The fem.poisson and fem.heat generators: errors users can cause, boundary data, events, jobs."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from workbench.core import (
    BoundaryCondition, Frame, JobControl, LogMessage, Mesh, ParamError, Problem, Progress, Run, RunStatus, Scalars,
    execute,
)
from workbench.core.meshgen import label_sides, rectangle_mesh
from pdewb_fem import heat, poisson

DIRICHLET_ZERO = (BoundaryCondition("boundary", "dirichlet", "0"),)


def frames(job) -> list[Frame]:
    return [event for event in job if isinstance(event, Frame)]


def quad_mesh() -> Mesh:
    points = np.array([[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]], dtype=float)
    return label_sides(Mesh.build(points, [("quad", np.array([[0, 1, 4, 3], [1, 2, 5, 4]]))]))


# -- errors a user can cause --------------------------------------------------------------


@pytest.mark.parametrize(("module", "solver_id"), [(poisson, "fem.poisson"), (heat, "fem.heat")])
def test_quad_mesh_is_refused_with_a_one_line_message(module, solver_id):
    problem = Problem(quad_mesh(), "poisson", {}, DIRICHLET_ZERO)
    with pytest.raises(ParamError, match=rf"^{solver_id} needs triangles or tetrahedra.*this mesh has quad cells$"):
        list(module.solve(problem))


def test_unknown_boundary_name_is_refused():
    with pytest.raises(ParamError, match="no such boundary"):
        Problem(rectangle_mesh(2), "poisson", {}, (BoundaryCondition("hole", "dirichlet", "0"),))


def test_numeric_tag_without_facets_is_refused():
    problem = Problem(rectangle_mesh(2), "poisson", {}, (BoundaryCondition("99", "dirichlet", "0"),))
    with pytest.raises(ParamError, match="'99': no boundary facet carries this tag"):
        list(poisson.solve(problem))


def test_pure_neumann_poisson_is_refused():
    problem = Problem(rectangle_mesh(4), "poisson", {"source": "0"}, (BoundaryCondition("left", "neumann", "1"),))
    with pytest.raises(ParamError, match="only defined up to a constant"):
        list(poisson.solve(problem))


def test_unknown_parameter_is_refused():
    with pytest.raises(ParamError, match="unknown parameter"):
        list(poisson.solve(Problem(rectangle_mesh(2), "poisson", {"conductivty": 2.0}, DIRICHLET_ZERO)))


def test_pure_neumann_heat_conserves_heat():
    # Insulated everywhere, no source: int u dx = 1^T M u is constant in time.
    mesh = rectangle_mesh(8)
    params = {"initial": "exp(-10*((x-0.3)**2 + (y-0.6)**2))", "t_end": 0.05, "dt": 0.01}
    result = frames(heat.solve(Problem(mesh, "heat", params)))
    totals = [np.sum(f.fields["u"].values * lumped_mass(mesh)) for f in result]
    assert np.allclose(totals, totals[0], rtol=1e-12)


def lumped_mass(mesh) -> np.ndarray:
    """Row sums of the P1 mass matrix: |K| / (k + 1) to each corner (so 1^T M u = lumped . u)."""
    k = mesh.simplices.shape[1]
    return np.bincount(mesh.simplices.ravel(), np.repeat(mesh.simplex_measures / k, k), mesh.n_points)


# -- boundary data ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "tolerance"), [("direct", 1e-11), ("amg-cg", 1e-8)])
def test_heat_time_dependent_dirichlet_and_neumann_are_exact_for_a_linear_solution(method, tolerance):
    # u = (1 + t)(x + 2y): du/dt - lap u = x + 2y; P1 in space and any theta scheme in time are exact.
    mesh = rectangle_mesh(6)
    exact = "(1 + t)*(x + 2*y)"
    conditions = (
        BoundaryCondition("left", "dirichlet", exact),
        BoundaryCondition("bottom", "dirichlet", exact),
        BoundaryCondition("top", "dirichlet", exact),
        BoundaryCondition("right", "neumann", "1 + t"),  # n . grad u on x = 1
    )
    for scheme in ("implicit-euler", "crank-nicolson"):
        params = {"initial": "x + 2*y", "source": "x + 2*y", "t_end": 0.5, "dt": 0.1, "scheme": scheme,
                  "linear_solver": method}
        for frame in frames(heat.solve(Problem(mesh, "heat", params, conditions))):
            x, y = mesh.points.T
            np.testing.assert_allclose(frame.fields["u"].values, (1 + frame.time) * (x + 2 * y), atol=tolerance)


def test_dirichlet_wins_over_neumann_and_first_dirichlet_wins_at_corners():
    mesh = rectangle_mesh(4)
    conditions = (
        BoundaryCondition("left", "dirichlet", "1"),
        BoundaryCondition("bottom", "dirichlet", "2"),
        BoundaryCondition("boundary", "neumann", "5"),
    )
    u = frames(poisson.solve(Problem(mesh, "poisson", {"source": "0"}, conditions)))[0].fields["u"].values
    x, y = mesh.points.T
    assert np.all(u[x == 0] == 1.0)  # includes the corner (0, 0) shared with "bottom"
    assert np.all(u[(y == 0) & (x > 0)] == 2.0)


def test_poisson_warns_that_time_is_ignored():
    problem = Problem(rectangle_mesh(4), "poisson", {"source": "t"}, (BoundaryCondition("left", "dirichlet", "1 + t"),))
    events = list(poisson.solve(problem))
    warnings = [e.text for e in events if isinstance(e, LogMessage) and e.level == "warning"]
    assert len(warnings) == 2 and all("evaluated at t = 0" in w for w in warnings)
    # source t = 0, u = 1 on the left, insulated elsewhere: u = 1
    assert np.allclose(frames(events)[0].fields["u"].values, 1.0)


def test_linear_solutions_are_reproduced_by_both_linear_solvers():
    mesh = rectangle_mesh(10)
    conditions = (BoundaryCondition("boundary", "dirichlet", "3*x - y + 1"),)
    for method in ("direct", "amg-cg"):
        problem = Problem(mesh, "poisson", {"source": "0", "linear_solver": method, "conductivity": 7.0}, conditions)
        u = frames(poisson.solve(problem))[0].fields["u"].values
        np.testing.assert_allclose(u, 3 * mesh.points[:, 0] - mesh.points[:, 1] + 1, atol=1e-8)


def test_stray_points_are_pinned_and_do_not_make_the_system_singular():
    base = rectangle_mesh(3)
    points = np.vstack([base.points, [[5.0, 5.0]]])  # a point that no triangle uses
    mesh = label_sides(Mesh.build(points, [("triangle", base.simplices)]))
    u = frames(poisson.solve(Problem(mesh, "poisson", {}, (BoundaryCondition("left", "dirichlet", "0"),))))[0]
    assert np.isfinite(u.fields["u"].values).all() and u.fields["u"].values[-1] == 0.0


# -- time grid and events -------------------------------------------------------------------


def test_time_steps_land_exactly_on_t_end():
    assert heat.time_steps(1.0, 0.1) == (10, 0.1)
    assert heat.time_steps(1.0, 0.3) == (4, 0.25)
    assert heat.time_steps(0.1, 0.1) == (1, 0.1)
    assert heat.time_steps(0.0, 0.1)[0] == 0


@pytest.mark.parametrize(("t_end", "dt", "fragment"), [
    (0.1, 1.0, "dt = 1 is longer than the whole time span t_end = 0.1"),
    (1.0, 1e308, "longer than the whole time span"),
    (1.0, 1e-12, "time steps is more than 10,000,000"),
])
def test_heat_refuses_a_step_it_would_have_to_change_beyond_recognition_before_any_frame(t_end, dt, fragment):
    params = {"t_end": t_end, "dt": dt, "initial": "x"}
    job = heat.solve(Problem(rectangle_mesh(3), "heat", params, DIRICHLET_ZERO))
    with pytest.raises(ParamError, match=fragment):
        next(job)  # the first event: nothing was assembled or emitted


def test_heat_says_when_it_adjusts_dt():
    params = {"t_end": 1.0, "dt": 0.3, "initial": "x"}
    events = list(heat.solve(Problem(rectangle_mesh(3), "heat", params, DIRICHLET_ZERO)))
    assert any(isinstance(e, LogMessage) and "4 steps of dt = 0.25" in e.text for e in events)
    assert [f.time for f in frames(events)] == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_heat_frame_zero_is_the_initial_condition_with_dirichlet_values():
    params = {"initial": "1", "t_end": 0.0}
    conditions = (BoundaryCondition("left", "dirichlet", "0"),)
    events = list(heat.solve(Problem(rectangle_mesh(4), "heat", params, conditions)))
    (frame,) = frames(events)
    u, x = frame.fields["u"].values, rectangle_mesh(4).points[:, 0]
    assert frame.index == 0 and frame.time == 0.0
    assert np.all(u[x == 0] == 0) and np.all(u[x > 0] == 1)


def test_heat_run_through_execute():
    params = {"initial": "sin(pi*x)*sin(pi*y)", "t_end": 0.1, "dt": 0.01, "output_every": 3}
    run = execute(heat.solve(Problem(rectangle_mesh(8), "heat", params, DIRICHLET_ZERO)), Run("fem.heat"))
    assert run.status is RunStatus.SUCCEEDED, run.error
    np.testing.assert_allclose(run.times, [0.0, 0.03, 0.06, 0.09, 0.1], atol=1e-15)
    assert [f.index for f in run.frames] == [0, 1, 2, 3, 4]
    assert run.progress == 1.0
    energy = [value for _, value in run.curves["energy"]]
    assert len(energy) == 5 and np.all(np.diff(energy) < 0)  # the heat equation dissipates energy


def test_poisson_run_through_execute():
    run = execute(poisson.solve(Problem(rectangle_mesh(8), "poisson", {}, DIRICHLET_ZERO)), Run("fem.poisson"))
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.times.tolist() == [0.0] and run.progress == 1.0
    assert run.field("u").values.max() > 0


def test_cancel_after_two_frames_stops_and_closes_the_job():
    params = {"initial": "x*(1-x)", "t_end": 10.0, "dt": 0.001}  # 10000 steps: would take a while
    job = heat.solve(Problem(rectangle_mesh(8), "heat", params, DIRICHLET_ZERO))
    control = JobControl()

    def cancel_at_second_frame(event):
        if isinstance(event, Frame) and event.index == 1:
            control.cancel()

    run = execute(job, Run("fem.heat"), control, on_event=cancel_at_second_frame)
    assert run.status is RunStatus.CANCELLED
    assert len(run.frames) == 2
    assert inspect.getgeneratorstate(job) == inspect.GEN_CLOSED


def test_failed_run_carries_the_message():
    run = execute(poisson.solve(Problem(quad_mesh(), "poisson", {}, DIRICHLET_ZERO)), Run("fem.poisson"))
    assert run.status is RunStatus.FAILED and "needs triangles or tetrahedra" in run.error


def test_heat_reports_progress_and_diagnostics():
    params = {"initial": "x", "t_end": 0.05, "dt": 0.01}
    events = list(heat.solve(Problem(rectangle_mesh(4), "heat", params, DIRICHLET_ZERO)))
    fractions = [e.fraction for e in events if isinstance(e, Progress)]
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert all("energy" in e.values for e in events if isinstance(e, Scalars))


# -- Crank-Nicolson with rough data -----------------------------------------------------------


@pytest.mark.parametrize("startup_steps", [0, 2])
def test_rannacher_startup_removes_crank_nicolson_ringing(startup_steps):
    """u = 0 inside but u = 1 on the left side at t = 0: data that disagree with the boundary.

    With dt far above the mesh's diffusive time scale, plain Crank-Nicolson keeps the
    stiff modes alive (amplification near -1): the solution overshoots 1 and has not
    settled at t = 2, long after the slowest mode (rate pi^2 / 4) has decayed. Two
    implicit-Euler half-steps per start-up step damp them.
    """
    mesh = rectangle_mesh(24)
    conditions = (BoundaryCondition("left", "dirichlet", "1"), BoundaryCondition("right", "dirichlet", "0"))
    params = {"t_end": 2.0, "dt": 0.05, "scheme": "crank-nicolson", "startup_steps": startup_steps,
              "output_every": 1000}
    u = frames(heat.solve(Problem(mesh, "heat", params, conditions)))[-1].fields["u"].values
    steady = 1.0 - mesh.points[:, 0]
    distance = np.abs(u - steady).max()
    if startup_steps:
        assert distance < 1e-6 and u.max() <= 1.0 + 1e-12, (distance, u.max())
    else:
        assert distance > 1e-3, distance  # the defect the start-up exists to fix
