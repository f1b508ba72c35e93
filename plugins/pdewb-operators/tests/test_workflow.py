"""End to end through the CLI: datagen -> train -> checkpoint -> model info -> compare, in seconds.

A tiny Darcy problem (9x9 nodes) keeps it fast; the checks are about the workflow
and about learning something real: the trained FNO must beat the best constant
guess (the training-set mean solution) on held-out samples.
"""

import json
import pickle

import numpy as np
import pytest

from workbench.cli.main import main
from workbench.io.datasets import read_dataset

TINY_FNO = ["--set", "epochs=40", "--set", "width=12", "--set", "modes=4", "--set", "batch_size=4",
            "--set", "validation_fraction=0.25"]


def _datagen(path, samples, seed, n=8, **extra):
    settings = [arg for name, value in {"n": n, **extra}.items() for arg in ("--set", f"{name}={value}")]
    assert main(["datagen", "--solver", "darcy.fd", "--samples", str(samples), "--seed", str(seed),
                 "--batch", "8", "--out", str(path), "--quiet"] + settings) == 0


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workflow")
    train, test = folder / "train.h5", folder / "test.h5"
    _datagen(train, 32, seed=0)
    _datagen(test, 8, seed=1)
    checkpoint = folder / "fno.safetensors"
    assert main(["train", "--surrogate", "operators.fno", "--data", str(train), "--out", str(checkpoint),
                 "--quiet"] + TINY_FNO) == 0
    return folder, train, test, checkpoint


def _mean_guess_error(train, test):
    """Relative L2 of predicting every test sample by the mean training solution."""
    (train_arrays, _), (test_arrays, _) = read_dataset(train), read_dataset(test)
    guess, truth = train_arrays["u"].mean(axis=0), test_arrays["u"]
    return np.mean(np.linalg.norm((truth - guess).reshape(len(truth), -1), axis=1)
                   / np.linalg.norm(truth.reshape(len(truth), -1), axis=1))


def test_train_then_compare_on_held_out_samples(trained, capsys):
    folder, train, test, checkpoint = trained
    capsys.readouterr()
    assert main(["model", "info", str(checkpoint), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["surrogate"] == "operators.fno" and document["task"]["solver"] == "darcy.fd"
    assert document["task"]["grid"] == [9, 9] and document["architecture"]["width"] == 12
    assert document["training"]["epochs_run"] >= 1 and document["task"]["generation_seconds"] > 0

    assert main(["compare", "--model", str(checkpoint), "--data", str(test), "--batch", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    errors = result["relative_l2"]
    assert errors["samples"] == 8 and not result["zero_shot"]
    assert len(result["per_sample"]["relative_l2"]) == 8
    baseline = _mean_guess_error(train, test)
    # measured: FNO ~0.05-0.08 against a mean guess of ~0.35 on these seeds
    assert errors["mean"] < 0.5 * baseline, (errors["mean"], baseline)
    assert result["reference_reproduction_error"] < 1e-12  # the reference re-solves the very same samples
    for mode in ("single", "batched"):
        assert result["surrogate_seconds_per_query"][mode] > 0 and result["reference_seconds_per_query"][mode] > 0
    assert result["setup_seconds"]["data"] > 0 and result["setup_seconds"]["training"] > 0

    assert main(["compare", "--model", str(checkpoint), "--data", str(test), "--samples", "3"]) == 0
    table = capsys.readouterr().out
    assert "relative L2 mean / median / p95 / max" in table and "speedup" in table and "break-even" in table


def test_prediction_transfers_to_a_finer_grid(trained, capsys):
    """FNO weights are resolution-independent: the same checkpoint on 17x17 inputs stays about as accurate."""
    folder, _, test, checkpoint = trained
    fine = folder / "test_fine.h5"
    _datagen(fine, 8, seed=1, n=16)
    capsys.readouterr()
    assert main(["compare", "--model", str(checkpoint), "--data", str(test), "--json"]) == 0
    coarse_error = json.loads(capsys.readouterr().out)["relative_l2"]["mean"]
    assert main(["compare", "--model", str(checkpoint), "--data", str(fine), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["zero_shot"] and result["tested_grid"] == [17, 17] and result["trained_grid"] == [9, 9]
    # a finer grid also resolves the coefficient better than the model ever saw; it must stay the same order
    assert result["relative_l2"]["mean"] < 3 * coarse_error + 0.05, (result["relative_l2"]["mean"], coarse_error)


def test_a_checkpoint_for_another_problem_is_refused(trained, capsys):
    folder, _, _, checkpoint = trained
    other_source = folder / "other_source.h5"
    _datagen(other_source, 2, seed=3, source="2")
    capsys.readouterr()
    assert main(["compare", "--model", str(checkpoint), "--data", str(other_source)]) == 2
    err = capsys.readouterr().err
    assert "learned another darcy.fd problem: source = '2'" in err and err.count("\n") == 1
    burgers = folder / "burgers.h5"
    assert main(["datagen", "--solver", "spectral.burgers", "--samples", "2", "--set", "n=16", "--set", "t_end=0.01",
                 "--set", "n_out=1", "--out", str(burgers), "--quiet"]) == 0
    assert main(["compare", "--model", str(checkpoint), "--data", str(burgers)]) == 2
    assert "was trained on darcy.fd data, not spectral.burgers" in capsys.readouterr().err


class _WouldRunCode:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').close()",))


def test_a_pickled_checkpoint_is_refused_without_running_it(trained, tmp_path, capsys, monkeypatch):
    _, _, test, _ = trained
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "model.safetensors"
    evil.write_bytes(pickle.dumps(_WouldRunCode(), protocol=4))
    for command in (["model", "info", str(evil)], ["compare", "--model", str(evil), "--data", str(test)]):
        assert main(command) == 2
        assert "pickled torch file" in capsys.readouterr().err
    assert not (tmp_path / "PWNED").exists()


def test_training_on_data_it_cannot_learn_is_refused(tmp_path, capsys):
    mesh_free = tmp_path / "x.h5"
    assert main(["train", "--surrogate", "operators.fno", "--data", str(mesh_free), "--out", str(tmp_path / "m")]) == 2
    assert "x.h5" in capsys.readouterr().err
    assert main(["train", "--surrogate", "operators.nope", "--data", str(mesh_free), "--out", str(tmp_path / "m")]) == 2
    assert "no operator surrogate 'operators.nope'" in capsys.readouterr().err


def test_predict_on_a_mesh_writes_the_prediction_and_the_resampling_report(trained, tmp_path, capsys):
    """On a mesh whose nodes are the training grid's, nothing is resampled: the answer is the grid prediction."""
    import meshio

    from workbench.core.meshgen import rectangle_mesh
    from workbench.io.series import write_vtu
    from workbench.plugins import SurrogateContribution, load_plugins

    _, _, _, checkpoint = trained
    mesh_path, out = tmp_path / "square.vtu", tmp_path / "prediction.vtu"
    write_vtu(mesh_path, rectangle_mesh(8))
    coefficient = "3 + 9 * (x > 0.5)"
    capsys.readouterr()
    assert main(["predict", "--model", str(checkpoint), "--mesh", str(mesh_path), "--input", coefficient,
                 "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["fields"] == ["input", "u"]
    assert result["resampling"]["grid"] == [9, 9] and result["resampling"]["input_relative_l2"] < 1e-12
    assert 0 <= result["resampling"]["output_interpolation_error"] < 1e-12  # grid nodes: no interpolation

    written = meshio.read(out)
    surrogate = load_plugins().get("operators.fno", SurrogateContribution).load_checkpoint(checkpoint)
    x = written.points[:, 0].reshape(9, 9)
    on_grid = surrogate.predict((3 + 9 * (x > 0.5))[None, None])[0, 0]
    assert np.allclose(written.point_data["u"].reshape(9, 9), on_grid, rtol=1e-5, atol=1e-8)

    assert main(["predict", "--model", str(checkpoint), "--mesh", str(mesh_path), "--input-field", "a",
                 "--out", str(out)]) == 2
    assert "no point field 'a'" in capsys.readouterr().err
