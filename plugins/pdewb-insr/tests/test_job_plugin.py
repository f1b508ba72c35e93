"""The plugin through the host: descriptors, the job protocol, cancel within one inner iteration."""

import subprocess
import sys
from pathlib import Path

from pdewb_insr import plugin

from workbench.compute.runner import build_problem, run_solver
from workbench.core.events import Frame, LogMessage, Progress, Scalars
from workbench.core.jobs import JobControl
from workbench.core.run import RunStatus
from workbench.plugins import IntegratorContribution, PluginHost

TINY = {"steps": 2, "width": 12, "points": 100, "max_iterations": 5, "display_n": 50}
ROOT = Path(__file__).resolve().parents[3]


def host():
    h = PluginHost()
    h.register(plugin, "insr")
    return h


def test_descriptors_import_no_torch():
    code = "import sys, pdewb_insr.plugin; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    ids = {c.id for c in host().contributions(IntegratorContribution)}
    assert ids == {"insr.advection_1d", "insr.taylor_green", "insr.passive_scalar", "insr.elasticity_stretch"}


def test_run_reports_frames_scalars_and_stop_reasons():
    contribution = host().get("insr.advection_1d", IntegratorContribution)
    events = []
    run = run_solver(contribution, build_problem(contribution, None, TINY), on_event=events.append)
    assert run.status == RunStatus.SUCCEEDED, run.log
    frames = [e for e in events if isinstance(e, Frame)]
    assert [f.index for f in frames] == [0, 1, 2]
    assert set(frames[-1].fields) >= {"u", "exact", "error", "reference", "floor"}
    assert frames[-1].fields["u"].values.shape == (51,)
    scalars = [e for e in events if isinstance(e, Scalars)][-1].values
    assert {"loss", "loss.pde", "loss.boundary", "iterations", "seconds", "error", "error.floor", "mass"} <= set(scalars)
    assert any(isinstance(e, LogMessage) and "after" in e.text for e in events)


def test_elasticity_run_reports_energies():
    contribution = host().get("insr.elasticity_stretch", IntegratorContribution)
    params = {"steps": 1, "width": 8, "points": 64, "max_iterations": 3, "display_n": 6}
    events = []
    run = run_solver(contribution, build_problem(contribution, None, params), on_event=events.append)
    assert run.status == RunStatus.SUCCEEDED, run.log
    scalars = [e for e in events if isinstance(e, Scalars)][-1].values
    assert {"loss.inertia", "loss.elastic", "kinetic_energy", "elastic_energy", "total_energy", "min_J"} <= set(scalars)
    assert scalars["min_J"] > 0


def test_cancel_acts_within_one_inner_iteration():
    contribution = host().get("insr.advection_1d", IntegratorContribution)
    control, seen = JobControl(), []

    def on_event(event):
        if isinstance(event, Progress) and "iteration" in event.message:
            seen.append(event)
            control.cancel()

    run = run_solver(contribution, build_problem(contribution, None, TINY), control, on_event)
    assert run.status == RunStatus.CANCELLED
    assert len(seen) == 1


def test_benchmark_quick_smoke():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_insr.py"), "--quick"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "INSR Gauss-Newton" in out.stdout and "MAC stable fluids" in out.stdout
    verdicts = [line for line in out.stdout.splitlines() if line.startswith(("PASS", "MISS"))]
    assert len(verdicts) == 8, out.stdout  # 4 floor checks, 4 fast-solver-vs-Adam checks
