"""Numbers that are never silently wrong, and arguments that are never silently changed (issue 13).

Each test is one probe of the hostile-user report, run through ``pdewb`` in this
process: the command must end with the outcome that is true (exit 0, or 2 with
one line naming the problem, 130 after Ctrl-C, 143 after SIGTERM), never with a
plausible number computed from something else than what was asked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from workbench.cli.main import main
from workbench.core.meshgen import rectangle_mesh
from workbench.io.series import write_vtu
from workbench.io.dataset_seal import seal

SHIPPED_DARCY = Path(__file__).parents[2] / "resources" / "checkpoints" / "darcy_mgno.safetensors"
TINY_FNO = ["--set", "epochs=1", "--set", "modes=4", "--set", "width=4", "--set", "layers=1", "--set", "batch_size=2"]
HEAT = ["run", "--mesh", "sample:plate-with-hole", "--solver", "fem.heat", "--quiet"]


def one_error_line(capsys) -> str:
    """The single line a failed command wrote on stderr (and nothing on stdout)."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pdewb: error: "), captured.err
    assert captured.out == ""
    return lines[0]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A Darcy data set (n = 16), the same with one NaN and one inf target, and a tiny FNO trained on it."""
    folder = tmp_path_factory.mktemp("wrong-outcomes")
    data = folder / "darcy.h5"
    assert main(["datagen", "--solver", "darcy.fd", "--samples", "6", "--set", "n=16", "--out", str(data),
                 "--quiet"]) == 0
    spoiled = {}
    for name, bad in (("nan", np.nan), ("inf", np.inf)):
        spoiled[name] = folder / f"{name}.h5"
        shutil.copy(data, spoiled[name])
        with h5py.File(spoiled[name], "r+") as f:
            u = f["u"][...]
            u[3, 5, 5] = bad
            f["u"][...] = u
        seal(spoiled[name])  # a file written with a NaN, not damaged afterwards: its checksum matches
    model = folder / "model.safetensors"
    assert main(["train", "--surrogate", "operators.fno", "--data", str(data), "--out", str(model), "--quiet",
                 *TINY_FNO]) == 0
    return {"folder": folder, "data": data, "model": model, **spoiled}


# -- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("spoiled", ["nan", "inf"])
def test_compare_refuses_a_data_set_with_a_non_finite_target(workspace, capsys, spoiled):
    """The probe: a NaN target scored relative L2 0.0 and 'reproduces: 0.0e+00'."""
    capsys.readouterr()
    assert main(["compare", "--model", str(workspace["model"]), "--data", str(workspace[spoiled])]) == 2
    line = one_error_line(capsys)
    assert "field 'u' has NaN or infinite values in 1 of 6 samples (first: sample 3" in line


def test_train_refuses_a_data_set_with_a_non_finite_target_and_writes_nothing(workspace, capsys, tmp_path):
    capsys.readouterr()
    out = tmp_path / "never.safetensors"
    assert main(["train", "--surrogate", "operators.fno", "--data", str(workspace["nan"]), "--out", str(out),
                 "--quiet", *TINY_FNO]) == 2
    assert "neither trained on nor compared with" in one_error_line(capsys)
    assert not out.exists()


def test_a_surrogate_answering_nan_fails_the_comparison_naming_the_samples(workspace, capsys, monkeypatch):
    from pdewb_operators.surrogate import NeuralOperatorSurrogate

    answer = NeuralOperatorSurrogate.predict

    def nan_for_the_second(self, inputs):
        predictions = answer(self, inputs)
        predictions[1:2] = np.nan if len(predictions) > 1 else predictions[1:2]
        return predictions

    monkeypatch.setattr(NeuralOperatorSurrogate, "predict", nan_for_the_second)
    capsys.readouterr()
    assert main(["compare", "--model", str(workspace["model"]), "--data", str(workspace["data"]),
                 "--repeats", "1"]) == 2
    assert "operators.fno's relative L2 error is NaN or infinite for 1 of 6 samples (1)" in one_error_line(capsys)


# -- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--samples", "--batch", "--repeats"])
@pytest.mark.parametrize("value", ["0", "-2", "1.5", "x"])
def test_compare_counts_are_whole_numbers_of_at_least_one(workspace, capsys, option, value):
    """--batch 0 and --repeats 0 used to be clamped silently; --samples 0 was a traceback."""
    capsys.readouterr()
    assert main(["compare", "--model", str(workspace["model"]), "--data", str(workspace["data"]),
                 option, value]) == 2
    assert f"argument {option}:" in one_error_line(capsys)


def test_compare_refuses_more_samples_than_the_data_set_holds(workspace, capsys):
    capsys.readouterr()
    assert main(["compare", "--model", str(workspace["model"]), "--data", str(workspace["data"]),
                 "--samples", "7"]) == 2
    assert "samples = 7, but" in one_error_line(capsys)


def test_train_out_without_the_suffix_reports_the_file_it_wrote(workspace, capsys, tmp_path):
    """The probe: `train --out model` wrote model.safetensors, then said 'model does not exist'."""
    capsys.readouterr()
    assert main(["train", "--surrogate", "operators.fno", "--data", str(workspace["data"]),
                 "--out", str(tmp_path / "model"), "--json", *TINY_FNO]) == 0
    written = Path(json.loads(capsys.readouterr().out)["checkpoint"])
    assert written == tmp_path / "model.safetensors" and written.is_file()
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize(("interruption", "status", "said"), [
    ("KeyboardInterrupt", 130, "interrupted"), ("Terminated", 143, "terminated (SIGTERM)")])
def test_stopped_before_the_first_epoch_says_so_and_leaves_an_older_checkpoint_alone(
        workspace, capsys, tmp_path, monkeypatch, interruption, status, said):
    """The probe: Ctrl-C before the first epoch said 'model does not exist' instead of exiting 130."""
    import pdewb_operators.training

    from workbench.core.interrupts import Terminated

    def stop(*args, **kwargs):
        raise Terminated() if interruption == "Terminated" else KeyboardInterrupt

    out = tmp_path / "model.safetensors"
    shutil.copy(workspace["model"], out)
    older = out.read_bytes()
    monkeypatch.setattr(pdewb_operators.training, "_train_epoch", stop)
    capsys.readouterr()
    assert main(["train", "--surrogate", "operators.fno", "--data", str(workspace["data"]), "--out", str(out),
                 "--quiet", *TINY_FNO]) == status
    captured = capsys.readouterr()
    assert captured.err.strip() == f"pdewb: {said} before the first epoch ended: no checkpoint written"
    assert captured.out == "" and out.read_bytes() == older


@pytest.mark.parametrize(("dt", "fragment"), [
    ("inf", "parameter 'dt': 'inf' is not a finite number"),
    ("1e999", "parameter 'dt': '1e999' is not a finite number"),
    ("1e308", "dt = 1e+308 is longer than the whole time span t_end = 1"),
    ("1e-11", "t_end / dt = 1e+11 time steps is more than 10,000,000"),
])
def test_a_time_step_that_cannot_be_taken_as_given_is_refused_before_anything_is_written(
        capsys, tmp_path, dt, fragment):
    """The probe: dt = inf and dt = 1e308 ran one step and exited 0."""
    capsys.readouterr()
    assert main([*HEAT, "--set", f"dt={dt}", "--out", str(tmp_path / "out")]) == 2
    assert fragment in one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_two_conditions_for_one_boundary_are_refused(capsys, tmp_path):
    capsys.readouterr()
    assert main([*HEAT, "--bc", "hole=dirichlet:1", "--bc", "hole=neumann:2", "--out", str(tmp_path / "out")]) == 2
    assert "two boundary conditions on 'hole' (dirichlet:1 and neumann:2)" in one_error_line(capsys)


@pytest.mark.parametrize("command", [
    ["run", "--solver", "darcy.fd", "--set", "n=100000", "--quiet"],
    ["datagen", "--solver", "darcy.fd", "--samples", "2", "--set", "n=100000", "--quiet"],
])
def test_a_grid_no_machine_can_hold_is_refused_before_any_allocation(capsys, tmp_path, command):
    """n = 10^5 is 10^10 grid nodes: some 25 TB for a run, 1.2 TB for one data-set sample."""
    capsys.readouterr()
    assert main([*command, "--out", str(tmp_path / "out.h5")]) == 2
    line = one_error_line(capsys)
    assert "with n = 100000" in line and "TB of memory; only" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("failure", "fragment"), [
    (MemoryError(), "'darcy.fd': not enough memory to build its grid"),
    (RuntimeError("boom"), "'darcy.fd' could not build its grid: RuntimeError: boom"),
    (SystemExit(3), "'darcy.fd' could not build its grid: called sys.exit(3)"),
])
def test_a_plugin_failing_to_build_its_grid_is_one_line_not_a_traceback(capsys, tmp_path, monkeypatch, failure,
                                                                      fragment):
    """Grids are built by build_problem, before run_solver's error handling exists."""
    from workbench.plugins.contributions import SolverContribution

    def fail(self, params):
        raise failure

    monkeypatch.setattr(SolverContribution, "grid_mesh", fail)
    capsys.readouterr()
    assert main(["run", "--solver", "darcy.fd", "--quiet", "--out", str(tmp_path / "out")]) == 2
    assert fragment in one_error_line(capsys)


@pytest.mark.parametrize("threads", ["100000", "0", "-1", "two"])
def test_a_torch_thread_count_the_machine_cannot_have_is_one_line(workspace, capsys, monkeypatch, threads):
    """The probe: PDEWB_TORCH_THREADS=100000 crashed the process (a segmentation fault)."""
    monkeypatch.setenv("PDEWB_TORCH_THREADS", threads)
    capsys.readouterr()
    assert main(["compare", "--model", str(workspace["model"]), "--data", str(workspace["data"])]) == 2
    assert "PDEWB_TORCH_THREADS must be a whole number from 1 to" in one_error_line(capsys)


# -- a surrogate's domain ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def square(tmp_path_factory):
    path = tmp_path_factory.mktemp("mesh") / "square.vtu"
    write_vtu(path, rectangle_mesh(8))
    return path


@pytest.mark.parametrize("model", ["trained", "shipped"])
@pytest.mark.parametrize("coefficient", ["0", "-1", "1 + 0.5*sin(2*pi*x)"])
def test_predict_refuses_a_coefficient_outside_the_training_range(workspace, square, capsys, tmp_path, model,
                                                                  coefficient):
    """The probe: a Darcy coefficient of 0 or -1 was accepted. The trained checkpoint records its
    range; the shipped one predates that and is held to the range darcy.fd data sets declare."""
    checkpoint = workspace["model"] if model == "trained" else SHIPPED_DARCY
    out = tmp_path / "p.vtu"
    capsys.readouterr()
    assert main(["predict", "--model", str(checkpoint), "--mesh", str(square), "--input", coefficient,
                 "--out", str(out), "--no-resolution-check"]) == 2
    assert "outside [3, 12] where" in one_error_line(capsys)
    assert not out.exists()


def test_predict_inside_the_training_range_reports_the_range(workspace, square, capsys, tmp_path):
    capsys.readouterr()
    assert main(["predict", "--model", str(SHIPPED_DARCY), "--mesh", str(square), "--input", "3 + 9*(x > 0.5)",
                 "--out", str(tmp_path / "p.vtu"), "--no-resolution-check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trained_input_range"] == [[3.0, 12.0]]
