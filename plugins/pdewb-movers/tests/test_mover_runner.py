"""The mover as the host runs it: discovery, the job protocol, the report, export, failures and cancel."""

from __future__ import annotations

import subprocess
import sys

import meshio
import numpy as np
import pdewb_movers.plugin

from workbench.compute.moving import MoverJudge, run_mover
from workbench.core import Frame, JobControl, RunStatus
from workbench.core.mesh import Mesh
from workbench.core.meshgen import label_sides, rectangle_mesh
from workbench.io.series import write_vtu
from workbench.plugins import MeshMoverContribution
from workbench.testing import host_with

RING = "tanh((sqrt((x - 0.5)**2 + (y - 0.5)**2) - 0.25) / 0.02)"


def mover() -> MeshMoverContribution:
    return host_with(pdewb_movers.plugin).get("movers.monge_ampere", MeshMoverContribution)


def test_the_mover_is_discovered_with_monitor_and_relaxation_parameters():
    contribution = mover()
    names = {spec.name for spec in contribution.params}
    assert {"monitor", "alpha", "smoothing", "max_iterations", "tolerance", "discretisation"} <= names
    described = contribution.describe()
    assert described["family"] == "mesh_mover" and described["cell_types"] == ("triangle",)


def test_listing_plugins_does_not_import_scipy():
    code = "import sys, pdewb_movers.plugin; print('scipy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"


def test_run_through_the_job_protocol_reports_against_the_uniform_mesh():
    mesh = rectangle_mesh(40)
    judge = MoverJudge(mesh, RING)
    events = []
    outcome = run_mover(mover(), mesh, RING, {"alpha": 4.0}, judge=judge, on_event=events.append)
    assert outcome.run.status is RunStatus.SUCCEEDED, outcome.run.log
    assert outcome.reason.startswith("converged") and outcome.report.note == outcome.reason
    frames = [event for event in events if isinstance(event, Frame)]
    assert outcome.report.iterations == frames[-1].index > 0
    assert np.array_equal(outcome.mesh.points, frames[-1].fields["coordinates"].values)
    uniform = judge.uniform()
    assert outcome.report.inverted_cells == 0 and uniform.inverted_cells == 0
    assert outcome.report.interpolation_error < uniform.interpolation_error / 2
    # Measured against the host's gradient monitor, not the Hessian one the mover followed: still halved.
    assert outcome.report.equidistribution_cov < uniform.equidistribution_cov / 2
    assert outcome.report.boundary_drift < 1e-12 and outcome.report.wall_time_s > 0
    assert outcome.mesh.boundary_names() == mesh.boundary_names()  # tags survive the move


def test_moved_mesh_is_exported_and_read_back_by_meshio(tmp_path):
    mesh = rectangle_mesh(16)
    outcome = run_mover(mover(), mesh, RING)
    path = write_vtu(tmp_path / "moved.vtu", outcome.mesh, outcome.run.frames[-1])
    raw = meshio.read(path)
    assert np.allclose(raw.points[:, :2], outcome.mesh.points)
    assert np.array_equal(raw.cells_dict["triangle"], mesh.cells[0].connectivity)
    assert np.allclose(raw.point_data["monitor"], outcome.run.frames[-1].fields["monitor"].values)
    back = Mesh.from_meshio(raw)
    assert back.n_cells == mesh.n_cells and np.all(back.simplex_measures > 0)


def test_a_quad_mesh_is_refused_and_the_report_is_the_unmoved_mesh():
    quads = label_sides(Mesh.build(np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float), [("quad", [[0, 1, 3, 2]])]))
    outcome = run_mover(mover(), quads, lambda p: p[:, 0])
    assert outcome.run.status is RunStatus.FAILED
    assert "moves triangle meshes; this one has quad" in outcome.reason
    assert np.array_equal(outcome.mesh.points, quads.points) and outcome.report.iterations == 0


def test_unknown_parameter_fails_the_run_with_its_name():
    outcome = run_mover(mover(), rectangle_mesh(4), RING, {"alpah": 3})
    assert outcome.run.status is RunStatus.FAILED and "alpah" in outcome.reason


def test_cancel_keeps_the_last_mesh_computed():
    mesh = rectangle_mesh(24)
    control = JobControl()

    def cancel_after_third_frame(event):
        if isinstance(event, Frame) and event.index == 2:
            control.cancel()

    outcome = run_mover(mover(), mesh, RING, control=control, on_event=cancel_after_third_frame)
    assert outcome.run.status is RunStatus.CANCELLED and outcome.reason.startswith("cancelled")
    assert outcome.report.iterations == 2 and outcome.report.inverted_cells == 0
    assert not np.array_equal(outcome.mesh.points, mesh.points)
