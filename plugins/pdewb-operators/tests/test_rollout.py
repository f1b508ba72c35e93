"""Autoregressive roll-out of a Navier-Stokes surrogate: shapes, step 1 = one-step error, error growth."""

import numpy as np
import pdewb_operators.plugin
import pdewb_spectral.plugin
import pytest
import torch
from pdewb_operators.rollout import rollout
from pdewb_operators.surrogate import load

from workbench.compute.training import train_surrogate, training_request
from workbench.core.comparison import relative_l2_per_sample
from workbench.core.run import RunStatus
from workbench.io.datasets import generate_dataset, read_dataset
from workbench.plugins import SurrogateContribution
from workbench.testing import host_with

#: 15 frames on 16x16 (t = 0, 0.1, ..., 1.4): history 4 leaves 11 roll-out steps.
NS = {"n": 16, "n_out": 14, "t_end": 1.4, "dt": 0.02}
HISTORY = 4
TINY_FNO = {"epochs": 40, "width": 8, "modes": 4, "batch_size": 16, "history": HISTORY,
            "validation_fraction": 0.25, "seed": 0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A barely trained FNO on 4 trajectories and 3 held-out ones (a few seconds)."""
    folder = tmp_path_factory.mktemp("rollout")
    host = host_with(pdewb_spectral.plugin, pdewb_operators.plugin)
    solver = host.solver("spectral.navier_stokes")
    train, test = folder / "train.h5", folder / "test.h5"
    generate_dataset(solver, train, 4, NS, batch=4, seed=0)
    generate_dataset(solver, test, 3, NS, batch=4, seed=1)
    fno = host.get("operators.fno", SurrogateContribution)
    checkpoint = folder / "fno.safetensors"
    run = train_surrogate(fno, training_request(fno, train, checkpoint, TINY_FNO))
    assert run.status is RunStatus.SUCCEEDED, run.error
    return load(checkpoint), read_dataset(test)


def test_rollout_predicts_every_remaining_frame(trained):
    surrogate, (arrays, metadata) = trained
    result = surrogate.rollout(arrays, metadata)
    samples, frames = arrays["w"].shape[:2]  # (3, 15, 16, 16)
    steps = frames - HISTORY
    assert result["history"] == HISTORY and result["steps"] == steps
    assert result["frames"] == list(range(HISTORY, frames))
    assert result["times"] == pytest.approx(np.asarray(metadata["times"])[HISTORY:])
    assert result["predictions"].shape == (samples, steps, 16, 16)
    assert result["relative_l2"].shape == (samples, steps)
    assert result["relative_l2_mean"] == pytest.approx(result["relative_l2"].mean(axis=0))
    assert np.all(np.isfinite(result["relative_l2"]))

    shorter = surrogate.rollout(arrays, metadata, steps=3, batch=2)  # two predict calls per step
    assert shorter["predictions"].shape == (samples, 3, 16, 16)
    np.testing.assert_allclose(shorter["relative_l2"], result["relative_l2"][:, :3], rtol=1e-5)


def test_step_one_is_the_one_step_error_of_each_trajectory_s_first_pair(trained):
    surrogate, (arrays, metadata) = trained
    inputs, targets = surrogate.pairs(arrays, metadata)
    samples, frames = arrays["w"].shape[:2]
    first = np.arange(samples) * (frames - HISTORY)  # pairs are sample-major, window 0 first
    one_step = relative_l2_per_sample(surrogate.predict(inputs[first]), targets[first])
    result = surrogate.rollout(arrays, metadata)
    np.testing.assert_allclose(result["relative_l2"][:, 0], one_step, rtol=1e-6)
    np.testing.assert_allclose(result["predictions"][:, 0, None], surrogate.predict(inputs[first]), rtol=1e-6,
                               atol=1e-9)


def test_a_barely_trained_model_does_not_roll_out_to_zero_error(trained):
    surrogate, (arrays, metadata) = trained
    errors = surrogate.rollout(arrays, metadata)["relative_l2_mean"]
    assert np.all(np.isfinite(errors)) and np.all(errors > 1e-3)
    assert errors[-1] >= 0.5 * errors[0]  # feeding predictions back does not make them better


def test_rollout_feeds_predictions_back():
    """With a known step (the next frame = 2 x the last one) the roll-out is exact, and its
    feedback is visible: a wrong factor compounds geometrically."""
    trajectories = np.stack([3.0 ** np.arange(6)[:, None, None] * np.full((6, 2, 2), float(i + 1))
                             for i in range(4)])  # (4, 6, 2, 2), frame t = 3^t * (i + 1)
    exact = rollout(lambda x: 3.0 * x[:, -1:], trajectories, history=2, batch=3)
    assert exact.predictions.shape == (4, 4, 2, 2) and exact.steps == 4
    np.testing.assert_allclose(exact.predictions, trajectories[:, 2:])
    assert np.all(exact.errors < 1e-14)
    np.testing.assert_array_equal(exact.frames, [2, 3, 4, 5])

    off = rollout(lambda x: 3.3 * x[:, -1:], torch.as_tensor(trajectories), history=2)
    np.testing.assert_allclose(off.mean_errors, 1.1 ** np.arange(1, 5) - 1)


def test_rollout_refuses_impossible_requests():
    trajectories = np.zeros((2, 5, 4, 4))
    with pytest.raises(ValueError, match="between 1 and 3"):
        rollout(lambda x: x[:, -1:], trajectories, history=2, steps=4)
    with pytest.raises(ValueError, match="needs more than 5 frames"):
        rollout(lambda x: x[:, -1:], trajectories, history=5)
    with pytest.raises(ValueError, match="one frame per sample"):
        rollout(lambda x: x, trajectories, history=2)
