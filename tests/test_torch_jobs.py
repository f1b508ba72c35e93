"""Solvers that need torch run with the device selected and autograd off, on the driving thread."""

import sys
import threading
import types

import pytest

from workbench.compute.runner import build_problem, run_solver
from workbench.core import RunStatus
from workbench.core.meshgen import rectangle_mesh
from workbench.plugins import SolverContribution, hookimpl
from workbench.testing import host_with

torch = pytest.importorskip("torch")


@pytest.fixture
def torch_plugin(monkeypatch):
    plugin = types.ModuleType("torch_probe_plugin")
    seen = {}

    def solve(problem):
        from workbench.core import Field, Frame

        seen["inference"] = torch.is_inference_mode_enabled()
        seen["thread"] = threading.get_ident()
        seen["threads"] = torch.get_num_threads()
        values = torch.linspace(0, 1, problem.mesh.n_points, dtype=torch.float64)
        yield Frame(0, 0.0, {"u": Field("u", values.cpu().numpy())})

    plugin.solve = solve

    @hookimpl
    def pdewb_reference_solvers():
        return [SolverContribution(id="probe.torch", title="torch probe", implementation="torch_probe_plugin:solve",
                                   requires=("torch",))]

    plugin.pdewb_reference_solvers = pdewb_reference_solvers
    monkeypatch.setitem(sys.modules, plugin.__name__, plugin)
    return plugin, seen


def test_torch_solvers_run_in_inference_mode_on_the_calling_thread(torch_plugin):
    plugin, seen = torch_plugin
    solver = host_with(plugin).solver("probe.torch")
    result = {}

    def drive():
        result["run"] = run_solver(solver, build_problem(solver, rectangle_mesh(2)))
        result["thread"] = threading.get_ident()

    worker = threading.Thread(target=drive)
    worker.start()
    worker.join(timeout=30)
    run = result["run"]
    assert run.status is RunStatus.SUCCEEDED
    assert seen["inference"] is True and seen["thread"] == result["thread"]
    assert "[info] torch device: cpu" in run.log
    assert not torch.is_inference_mode_enabled()  # nothing leaks to this thread


@pytest.mark.parametrize("setting, expected", [(None, 1), ("2", 2)])
def test_cpu_jobs_use_the_configured_thread_count_and_restore_it(torch_plugin, monkeypatch, setting, expected):
    plugin, seen = torch_plugin
    if setting is None:
        monkeypatch.delenv("PDEWB_TORCH_THREADS", raising=False)
    else:
        monkeypatch.setenv("PDEWB_TORCH_THREADS", setting)
    solver = host_with(plugin).solver("probe.torch")
    before = torch.get_num_threads()
    run = run_solver(solver, build_problem(solver, rectangle_mesh(2)))
    assert run.status is RunStatus.SUCCEEDED and seen["threads"] == expected
    assert torch.get_num_threads() == before


def test_a_bad_thread_count_fails_the_run_with_its_name(torch_plugin, monkeypatch):
    plugin, _ = torch_plugin
    monkeypatch.setenv("PDEWB_TORCH_THREADS", "many")
    solver = host_with(plugin).solver("probe.torch")
    run = run_solver(solver, build_problem(solver, rectangle_mesh(2)))
    assert run.status is RunStatus.FAILED and "PDEWB_TORCH_THREADS" in run.error
