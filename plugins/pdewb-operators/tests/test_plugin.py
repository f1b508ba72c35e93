"""The descriptors (torch-free) agree with the architectures and training settings they configure."""

import subprocess
import sys

import pytest

from pdewb_operators.models import ARCHITECTURES
from pdewb_operators.plugin import DEEPONET, FNO, MGNO, TRAINING
from pdewb_operators.surrogate import DATA_KEYS, TRAINING_KEYS
from pdewb_operators.training import TrainConfig
from workbench.plugins import SurrogateContribution
from workbench.testing import host_with

import pdewb_operators.plugin


@pytest.mark.parametrize("contribution, kind", [(FNO, "fno"), (MGNO, "mgno"), (DEEPONET, "deeponet")])
def test_size_parameters_are_hyperparameters_of_the_architecture(contribution, kind):
    hyperparameters = {h.name: h for h in ARCHITECTURES[kind].hyperparameters}
    training = {spec.name for spec in TRAINING}
    for spec in contribution.params:
        if spec.name in training:
            continue
        assert spec.name in hyperparameters, f"{contribution.id}: '{spec.name}' sizes nothing"
        if spec.default != 0:  # 0 means "the architecture's default"; anything else must be that default
            for dim in (1, 2):
                for periodic in (False, True):
                    assert hyperparameters[spec.name].default(dim, periodic) == spec.default, (spec.name, dim)


def test_training_parameters_are_training_settings_with_the_same_defaults():
    config = TrainConfig()
    for spec in TRAINING:
        assert spec.name in TRAINING_KEYS | DATA_KEYS
        if spec.name in TRAINING_KEYS:
            assert getattr(config, spec.name) == spec.default, spec.name
    assert TRAINING_KEYS <= {spec.name for spec in TRAINING} | {"step_gamma"}


def test_the_plugin_lists_three_surrogates():
    host = host_with(pdewb_operators.plugin)
    assert [c.id for c in host.contributions(SurrogateContribution)] == [
        "operators.fno", "operators.mgno", "operators.deeponet"]
    assert all(c.loader and c.learns and "torch" in c.requires for c in host.contributions(SurrogateContribution))


def test_discovering_the_plugin_does_not_import_torch():
    code = ("import sys; from workbench.plugins import load_plugins; host = load_plugins(); "
            "assert host.get('operators.fno'); print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"
