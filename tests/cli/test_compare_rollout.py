"""``pdewb compare`` on an autoregressive surrogate (Navier-Stokes) adds the roll-out error per step;
on a field-to-field one (Darcy) it does not. Tiny data and barely trained FNOs: seconds."""

import json

import numpy as np
import pytest

from workbench.cli.main import main

NS = {"n": 16, "n_out": 14, "t_end": 1.4, "dt": 0.02}  # 15 frames: history 4 leaves 11 roll-out steps
TINY = ["--set", "epochs=3", "--set", "width=8", "--set", "modes=4", "--set", "batch_size=16",
        "--set", "validation_fraction=0.25"]


def _datagen(path, solver, samples, seed, params):
    settings = [arg for name, value in params.items() for arg in ("--set", f"{name}={value}")]
    assert main(["datagen", "--solver", solver, "--samples", str(samples), "--seed", str(seed), "--batch", "4",
                 "--out", str(path), "--quiet"] + settings) == 0


def _trained(folder, solver, params, extra=()):
    train, test, checkpoint = folder / "train.h5", folder / "test.h5", folder / "fno.safetensors"
    _datagen(train, solver, 4, 0, params)
    _datagen(test, solver, 3, 1, params)
    assert main(["train", "--surrogate", "operators.fno", "--data", str(train), "--out", str(checkpoint),
                 "--quiet"] + TINY + list(extra)) == 0
    return checkpoint, test


@pytest.fixture(scope="module")
def navier_stokes(tmp_path_factory):
    return _trained(tmp_path_factory.mktemp("ns"), "spectral.navier_stokes", NS, ["--set", "history=4"])


@pytest.fixture(scope="module")
def darcy(tmp_path_factory):
    return _trained(tmp_path_factory.mktemp("darcy"), "darcy.fd", {"n": 8})


def test_compare_reports_the_rollout_error_of_navier_stokes(navier_stokes, capsys):
    checkpoint, test = navier_stokes
    capsys.readouterr()
    assert main(["compare", "--model", str(checkpoint), "--data", str(test), "--batch", "3", "--repeats", "1",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    rollout = result["rollout_relative_l2"]
    assert len(rollout) == 15 - 4 and all(np.isfinite(rollout)) and min(rollout) > 0
    # step 1 starts from true frames: it is the one-step error of the first window, which is among the pairs
    assert len(result["per_sample"]["relative_l2"]) == 3 * 11
    seeds = result["per_sample"]["seed"]  # one seed per window: 11 windows of each of the 3 samples
    assert len(seeds) == 33 and len(set(seeds)) == 3 and seeds[:11] == [seeds[0]] * 11
    first_windows = result["per_sample"]["relative_l2"][::11]
    assert rollout[0] == pytest.approx(np.mean(first_windows), rel=1e-5)

    assert main(["compare", "--model", str(checkpoint), "--data", str(test), "--repeats", "1"]) == 0
    table = capsys.readouterr().out
    line = next(line for line in table.splitlines() if "roll-out relative L2" in line)
    assert "step 1 " in line and "step 5 " in line and "step 10 " in line and "step 11 (last)" in line


def test_compare_has_no_rollout_for_darcy(darcy, capsys):
    checkpoint, test = darcy
    capsys.readouterr()
    assert main(["compare", "--model", str(checkpoint), "--data", str(test), "--repeats", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rollout_relative_l2"] is None
    assert main(["compare", "--model", str(checkpoint), "--data", str(test), "--repeats", "1"]) == 0
    assert "roll-out" not in capsys.readouterr().out
