"""Training as a workbench job: losses, normalisation, learning, early stopping, cancel, determinism."""

import math
import time

import pdewb_spectral.plugin
import pytest
import torch
from pdewb_operators.data import load_operator_data, split
from pdewb_operators.losses import make_loss, relative_h1_per_sample, relative_l2, relative_l2_per_sample
from pdewb_operators.models import default_architecture
from pdewb_operators.normalization import ChannelNormalizer, NormalizedOperator
from pdewb_operators.training import (
    TrainConfig,
    TrainState,
    build_operator,
    relative_l2_errors,
    train_job,
)
from torch import nn

from workbench.core.errors import ParamError
from workbench.core.events import LogMessage, Progress, Scalars
from workbench.core.jobs import JobControl, execute
from workbench.core.run import Run, RunStatus
from workbench.io.datasets import generate_dataset
from workbench.testing import host_with

BURGERS = {"n": 64, "n_out": 2, "t_end": 0.2, "dt": 0.005}


@pytest.fixture(scope="module")
def burgers(tmp_path_factory):
    """24 Burgers samples u0 -> u(0.2) on 64 points, split 18 / 6 (a fraction of a second to make)."""
    path = tmp_path_factory.mktemp("burgers") / "burgers.h5"
    generate_dataset(host_with(pdewb_spectral.plugin).solver("spectral.burgers"), path, 24, BURGERS, batch=24, seed=1)
    return split(load_operator_data(path), 0.25, seed=0)


def small_fno(task) -> dict:
    return default_architecture("fno", task.dim, task.in_channels, task.out_channels, task.periodic,
                                modes=6, width=12, layers=2, projection_width=16)


def config(**changes) -> TrainConfig:
    settings = {"epochs": 15, "batch_size": 6, "learning_rate": 5e-3, "patience": 0, "device": "cpu", "seed": 0}
    settings.update(changes)
    return TrainConfig(**settings)


class Stubborn(nn.Module):
    """Its output ignores its only parameter, so the validation loss never improves after epoch 1."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x * 0.5 + self.weight * 0.0


class Exploding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x * self.weight * math.inf


# ----------------------------------------------------------------------------- losses


def test_relative_l2_is_the_per_sample_norm_ratio_and_grid_independent():
    y = torch.stack([torch.ones(1, 8), 2 * torch.ones(1, 8)])
    pred = y.clone()
    pred[0] += 0.1  # 10 % error on sample 0, none on sample 1
    assert torch.allclose(relative_l2_per_sample(pred, y), torch.tensor([0.1, 0.0]))
    assert torch.isclose(relative_l2(pred, y), torch.tensor(0.05))

    def sampled(n):  # (prediction, target) on n periodic points: ||0.1 cos(6 pi x)|| / ||sin(2 pi x)|| = 0.1
        x = torch.arange(n) / n
        y = torch.sin(2 * math.pi * x)[None, None]
        return y + 0.1 * torch.cos(6 * math.pi * x)[None, None], y

    coarse, fine = relative_l2_per_sample(*sampled(32)), relative_l2_per_sample(*sampled(256))
    assert torch.allclose(coarse, fine, rtol=1e-5) and torch.allclose(fine, torch.tensor([0.1]), rtol=1e-5)


def test_h1_norm_weights_gradients_spectrally_on_periodic_and_by_differences_on_nodal_grids():
    periodic_x = torch.arange(64, dtype=torch.float64) / 64
    nodal_x = torch.linspace(0, 1, 257, dtype=torch.float64)
    for x, periodic, tolerance in ((periodic_x, True, 1e-12), (nodal_x, False, 1e-3)):
        y = torch.sin(2 * math.pi * x)[None, None]
        error = torch.sin(4 * math.pi * x)[None, None]  # |e|_H1^2 / |y|_H1^2 = (1 + 16 pi^2) / (1 + 4 pi^2)
        expected = math.sqrt((1 + 16 * math.pi ** 2) / (1 + 4 * math.pi ** 2))
        ratio = relative_h1_per_sample(y + error, y, dim=1, periodic=periodic)
        assert abs(ratio.item() - expected) < tolerance * expected, (periodic, ratio.item(), expected)
    two_d = torch.randn(3, 2, 16, 16)
    h1 = make_loss("h1", dim=2, periodic=True)
    assert h1(two_d, two_d) == 0 and h1(2 * two_d, two_d) > 0
    with pytest.raises(ValueError, match="unknown loss 'l3'"):
        make_loss("l3", 1, True)


# ------------------------------------------------------------------------ normalisation


def test_channel_normalizer_standardises_each_channel_and_inverts_exactly():
    x = torch.randn(10, 3, 8, 8, dtype=torch.float64) * torch.tensor([1.0, 50.0, 0.0])[None, :, None, None]
    x += torch.tensor([0.0, -3.0, 7.0])[None, :, None, None]  # channel 2 is the constant 7
    normalizer = ChannelNormalizer.fit(x)
    z = normalizer.encode(x)
    assert torch.allclose(z[:, :2].mean(dim=(0, 2, 3)), torch.zeros(2, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(z[:, :2].std(dim=(0, 2, 3), correction=0), torch.ones(2, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(z[:, 2], torch.zeros(1, dtype=torch.float64), atol=1e-5)  # constant: shifted, not divided by 0
    assert normalizer.std[2] == 1
    assert torch.allclose(normalizer.decode(z), x, atol=1e-4)
    other_grid = torch.randn(2, 3, 33, 33)
    assert normalizer.encode(other_grid).shape == other_grid.shape  # per channel: any resolution
    assert set(normalizer.state_dict()) == {"mean", "std"}


def test_normalized_operator_composes_encoder_network_decoder():
    inputs, targets = torch.randn(6, 2, 16) * 4 + 1, torch.randn(6, 1, 16) * 0.1 - 2
    network = nn.Conv1d(2, 1, 1)
    model = NormalizedOperator.fit(network, inputs, targets)
    expected = model.output_normalizer.decode(network(model.input_normalizer.encode(inputs)))
    assert torch.equal(model(inputs), expected)
    assert {"input_normalizer.mean", "network.weight", "output_normalizer.std"} <= set(model.state_dict())


# ----------------------------------------------------------------------------- training


def test_training_lowers_the_validation_loss_and_reports_every_epoch(burgers):
    train, validation = burgers
    model = build_operator(small_fno(train.task), train, seed=0)
    model.train()  # whatever mode it comes in, it leaves in eval mode
    state = TrainState()
    events = list(train_job(model, train, validation, config(), state))

    scalars = [event for event in events if isinstance(event, Scalars)]
    assert [event.step for event in scalars] == list(range(1, 16))
    assert all(set(event.values) == {"train_loss", "validation_loss", "learning_rate"} for event in scalars)
    first, best = state.history["validation_loss"][0], state.best_validation_loss
    assert best < 0.25 * first, state.history["validation_loss"]
    assert state.history["train_loss"][-1] < 0.25 * state.history["train_loss"][0]
    progress = [event for event in events if isinstance(event, Progress)]
    assert progress[-1].fraction == 1.0
    assert any("best validation loss so far" in event.text for event in events if isinstance(event, LogMessage))
    # cosine schedule: full rate first, decaying
    assert state.history["learning_rate"][0] == 5e-3 and state.history["learning_rate"][-1] < 1e-4
    assert state.epochs_run == 15 and state.stop_reason == "completed" and state.device == "cpu"
    assert state.best_validation_loss == min(state.history["validation_loss"])
    assert state.history["validation_loss"][state.best_epoch - 1] == best
    assert 0 < state.train_seconds and len(state.history["epoch_seconds"]) == 15
    # the model is left with the best weights, in eval mode, on the CPU
    assert not model.training and all(p.device.type == "cpu" for p in model.parameters())
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state.best_state[name]), name
    assert relative_l2_errors(model, validation).mean().item() == pytest.approx(best, rel=1e-5)
    results = state.results()
    assert results["best_epoch"] == state.best_epoch and results["stop_reason"] == "completed"


def test_the_same_seed_gives_identical_losses(burgers):
    train, validation = burgers

    def losses(seed):
        model = build_operator(small_fno(train.task), train, seed=seed)
        state = TrainState()
        for _ in train_job(model, train, validation, config(epochs=4, seed=seed), state):
            pass
        return state.history["train_loss"], state.history["validation_loss"]

    torch.manual_seed(123)  # the global RNG must not matter
    first = losses(7)
    torch.rand(5)
    assert losses(7) == first
    assert losses(8) != first


def test_early_stopping_after_patience_epochs_without_improvement(burgers):
    train, validation = burgers
    model = NormalizedOperator.fit(Stubborn(), train.inputs, train.targets)
    state = TrainState()
    events = list(train_job(model, train, validation, config(epochs=50, patience=3), state))
    assert state.epochs_run == 4 and state.best_epoch == 1 and state.stop_reason == "early stopping"
    assert "early stopping at epoch 4" in events[-1].text and "best" in events[-1].text
    assert state.best_state is not None and not model.training


def test_cancel_through_execute_keeps_the_best_state(burgers):
    train, validation = burgers
    model = build_operator(small_fno(train.task), train, seed=0)
    state = TrainState()
    control = JobControl()

    def cancel_after_two_epochs(event):
        if isinstance(event, Scalars) and event.step == 2:
            control.cancel()

    run = execute(train_job(model, train, validation, config(epochs=50), state), Run("operators.train"), control,
                  on_event=cancel_after_two_epochs)
    assert run.status is RunStatus.CANCELLED
    assert state.epochs_run == 2 and state.stop_reason == "cancelled"
    assert state.best_epoch in (1, 2) and state.best_state is not None
    assert state.best_validation_loss == min(state.history["validation_loss"])
    assert [step for step, _ in run.curves["validation_loss"]] == [1, 2]
    assert not model.training
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state.best_state[name]), name


def test_a_non_finite_loss_fails_the_run_naming_the_epoch(burgers):
    train, validation = burgers
    model = NormalizedOperator.fit(Exploding(), train.inputs, train.targets)
    state = TrainState()
    run = execute(train_job(model, train, validation, config(), state), Run("operators.train"))
    assert run.status is RunStatus.FAILED
    assert run.error.startswith("SolverDiverged: training diverged at epoch 1")
    assert state.stop_reason == "diverged" and state.best_state is None and not model.training


def test_h1_loss_and_step_schedule(burgers):
    train, validation = burgers
    model = build_operator(small_fno(train.task), train, seed=0)
    state = TrainState()
    list(train_job(model, train, validation, config(epochs=3, loss="h1", schedule="step", step_size=2), state))
    assert state.history["learning_rate"] == [5e-3, 5e-3, 2.5e-3]
    assert all(math.isfinite(value) for value in state.history["validation_loss"])


def test_time_paused_by_the_driver_is_not_training_time(burgers):
    train, validation = burgers
    model = NormalizedOperator.fit(Stubborn(), train.inputs, train.targets)
    state = TrainState()
    job = train_job(model, train, validation, config(epochs=2), state)
    started = time.perf_counter()
    for _ in job:
        time.sleep(0.1)  # the driver holds every event (as a paused GUI would)
    wall = time.perf_counter() - started
    assert wall > 0.5 and state.train_seconds < wall - 0.4


def test_training_works_when_driven_under_inference_mode(burgers):
    """The GUI and CLI may drive jobs under torch.inference_mode; training switches autograd on per step."""
    train, validation = burgers
    model = build_operator(small_fno(train.task), train, seed=0)
    state = TrainState()
    with torch.inference_mode():
        for _ in train_job(model, train, validation, config(epochs=3), state):
            assert torch.is_inference_mode_enabled()  # nothing leaks into the driver between steps
    assert state.stop_reason == "completed"
    assert state.history["validation_loss"][-1] < state.history["validation_loss"][0]
    assert not any(tensor.is_inference() for tensor in state.best_state.values())


def test_bad_settings_are_refused_in_one_line(burgers):
    train, validation = burgers
    for bad, match in (({"schedule": "linear"}, "'schedule' must be one of cosine, step, none"),
                       ({"epochs": 0}, "'epochs' must be a positive integer"),
                       ({"loss": "l1"}, "'loss' must be one of l2, h1"),
                       ({"validation_fraction": 1.5}, "'validation_fraction' must be in")):
        with pytest.raises(ParamError, match=match):
            config(**bad).validate()
    run = execute(train_job(NormalizedOperator.fit(Stubborn(), train.inputs, train.targets), train, validation,
                            config(learning_rate=-1.0), TrainState()), Run("operators.train"))
    assert run.status is RunStatus.FAILED and "learning_rate" in run.error
    with pytest.raises(ValueError, match="architecture has in_channels = 3, the data need 1"):
        build_operator(dict(small_fno(train.task), in_channels=3), train, seed=0)
