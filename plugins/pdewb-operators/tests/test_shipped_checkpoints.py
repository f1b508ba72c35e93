"""The checkpoints shipped in resources/checkpoints load safely and still answer as well as their headers say.

Four held-out samples per problem are solved afresh by the reference solver (seeds no
training set used) and predicted by the shipped model: the mean relative L2 must stay
within 1.5x (plus sampling noise of a few samples) of the validation error recorded in
the checkpoint when it was trained. The same checks a user's first `pdewb compare` makes.
"""

from pathlib import Path

import numpy as np
import pytest

from workbench.core.comparison import relative_l2_per_sample
from workbench.io.checkpoints import read_checkpoint_document
from workbench.io.datasets import generate_dataset, read_dataset
from workbench.plugins import SurrogateContribution, load_plugins

SHIPPED = Path(__file__).parents[3] / "resources" / "checkpoints"
HELD_OUT_SEED = 5000  # the training sets used seeds 0..999, the benchmark's test set 1..100
CHECKPOINTS = ("burgers_fno.safetensors", "darcy_mgno.safetensors")


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_a_shipped_checkpoint_answers_held_out_samples_as_its_header_says(name, tmp_path):
    path = SHIPPED / name
    assert path.stat().st_size < 4_000_000  # "a few MB at most"
    document = read_checkpoint_document(path)
    host = load_plugins(safe_mode=True)
    solver = host.solver(document["task"]["solver"])
    data = tmp_path / "held_out.h5"
    generate_dataset(solver, data, 4, document["task"]["params"], batch=4, seed=HELD_OUT_SEED)
    arrays, metadata = read_dataset(data)

    surrogate = host.get(document["surrogate"], SurrogateContribution).load_checkpoint(path, "cpu")
    inputs, targets = surrogate.pairs(arrays, metadata)
    every = document["task"]["subsample"]  # the grid it was trained on: every k-th point of the solver's
    coarse = (slice(None), slice(None)) + (slice(None, None, every),) * (inputs.ndim - 2)
    errors = relative_l2_per_sample(surrogate.predict(inputs[coarse]), targets[coarse])
    recorded = document["metrics"]["validation_relative_l2_mean"]
    assert np.all(np.isfinite(errors))
    assert errors.mean() < 1.5 * recorded + 0.01, (errors, recorded)
