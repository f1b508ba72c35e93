"""Operator-learning pairs from pdewb data sets: shapes, values, fingerprints, splits, subsampling."""

import h5py
import numpy as np
import pdewb_darcy.plugin
import pdewb_spectral.plugin
import pytest
import torch
from pdewb_operators.data import (
    dataset_fingerprint,
    load_operator_data,
    operator_data_from_arrays,
    resolution,
    split,
    subsample,
)

from workbench.io.datasets import DatasetError, generate_dataset, read_dataset
from workbench.testing import host_with
from workbench.io.dataset_seal import seal

TINY = {
    "darcy.fd": ({"n": 16}, 6),
    "spectral.burgers": ({"n": 64, "n_out": 2, "t_end": 0.05, "dt": 0.005}, 6),
    "spectral.navier_stokes": ({"n": 16, "n_out": 4, "t_end": 0.04, "dt": 0.01}, 3),
}


@pytest.fixture(scope="module")
def host():
    return host_with(pdewb_darcy.plugin, pdewb_spectral.plugin)


@pytest.fixture(scope="module")
def files(host, tmp_path_factory):
    """One tiny data set per supported solver (about a second in all)."""
    folder = tmp_path_factory.mktemp("datasets")
    paths = {}
    for solver_id, (params, samples) in TINY.items():
        paths[solver_id] = folder / f"{solver_id}.h5"
        generate_dataset(host.solver(solver_id), paths[solver_id], samples, params, batch=4, seed=3)
    return paths


def test_darcy_pairs_are_coefficient_to_solution_on_the_nodal_grid(files):
    data = load_operator_data(files["darcy.fd"])
    arrays, _ = read_dataset(files["darcy.fd"])
    assert data.inputs.shape == data.targets.shape == (6, 1, 17, 17)
    assert data.inputs.dtype == data.targets.dtype == torch.float32
    assert torch.equal(data.inputs[:, 0], torch.from_numpy(arrays["a"]).float())
    assert torch.equal(data.targets[:, 0], torch.from_numpy(arrays["u"]).float())
    task = data.task
    assert (task.solver, task.dim, task.periodic, task.grid) == ("darcy.fd", 2, False, (17, 17))
    assert (task.input_fields, task.output_fields, task.in_channels, task.out_channels) == (("a",), ("u",), 1, 1)
    assert task.domain == ((0.0, 1.0), (0.0, 1.0)) and task.spacing == (1 / 16, 1 / 16)
    assert task.params["n"] == 16 and task.base_seed == 3 and task.samples == 6
    assert task.solver_version and data.trajectories is None
    assert data.seeds == [int(seed) for seed in read_dataset(files["darcy.fd"])[1]["seed"]]
    described = task.describe()
    assert described["grid"] == [17, 17] and described["fingerprint"] == task.fingerprint
    assert "seeds" not in described


def test_burgers_pairs_map_the_initial_condition_to_the_final_output(files):
    data = load_operator_data(files["spectral.burgers"])
    arrays, meta = read_dataset(files["spectral.burgers"])
    assert data.inputs.shape == data.targets.shape == (6, 1, 64)
    assert torch.equal(data.inputs[:, 0], torch.from_numpy(arrays["u0"]).float())
    assert torch.equal(data.targets[:, 0], torch.from_numpy(arrays["u"][:, -1]).float())
    assert not torch.equal(data.inputs, data.targets)
    assert data.task.periodic and data.task.dim == 1 and data.task.domain == ((0.0, 1.0),)
    assert data.task.mapping == f"u0 -> u(t = {meta['times'][-1]:g})"


def test_navier_stokes_windows_predict_the_next_frame_and_keep_trajectories(files):
    history = 2
    data = load_operator_data(files["spectral.navier_stokes"], history=history)
    w = torch.from_numpy(read_dataset(files["spectral.navier_stokes"])[0]["w"]).float()  # (3, 5, 16, 16)
    windows = w.shape[1] - history
    assert data.inputs.shape == (3 * windows, history, 16, 16) and data.targets.shape == (3 * windows, 1, 16, 16)
    assert data.task.in_channels == history and data.task.history == history
    for pair in range(len(data)):
        sample, start = divmod(pair, windows)
        assert data.sample_ids[pair] == sample
        assert torch.equal(data.inputs[pair], w[sample, start:start + history])
        assert torch.equal(data.targets[pair, 0], w[sample, start + history])
    assert torch.equal(data.trajectories, w)


def test_navier_stokes_with_too_few_frames_for_the_history_is_refused(files):
    with pytest.raises(ValueError, match="need at least 11 stored frames; the data set has 5"):
        load_operator_data(files["spectral.navier_stokes"])  # default history 10


def test_unsupported_solver_is_refused_listing_the_supported_ones(files, tmp_path):
    other = tmp_path / "other.h5"
    other.write_bytes(files["darcy.fd"].read_bytes())
    with h5py.File(other, "r+") as f:
        f.attrs["solver"] = "fem.heat"
    seal(other)
    with pytest.raises(ValueError, match="solver 'fem.heat'; supported: darcy.fd, spectral.burgers, "
                                         "spectral.navier_stokes"):
        load_operator_data(other)
    with pytest.raises(DatasetError, match="does not exist"):
        load_operator_data(tmp_path / "missing.h5")


def test_fingerprint_follows_the_content_not_the_file(host, files, tmp_path):
    params, samples = TINY["darcy.fd"]
    same = tmp_path / "same.h5"  # other batch size, other creation time: same content
    generate_dataset(host.solver("darcy.fd"), same, samples, params, batch=1, seed=3)
    other_seed = tmp_path / "seed4.h5"
    generate_dataset(host.solver("darcy.fd"), other_seed, samples, params, batch=4, seed=4)
    reference = load_operator_data(files["darcy.fd"]).task.fingerprint
    assert len(reference) == 64 and int(reference, 16) >= 0
    assert load_operator_data(same).task.fingerprint == reference
    assert load_operator_data(other_seed).task.fingerprint != reference
    arrays, meta = read_dataset(files["darcy.fd"])
    arrays["seed"] = meta["seed"]
    assert dataset_fingerprint(arrays, meta["attributes"]) == reference
    arrays["u"] = arrays["u"].copy()
    arrays["u"][0, 3, 3] += 1e-12  # one value changed by one part in 10^12
    assert dataset_fingerprint(arrays, meta["attributes"]) != reference
    assert operator_data_from_arrays(arrays, meta["attributes"]).task.fingerprint != reference


def test_split_is_deterministic_disjoint_and_complete(files):
    data = load_operator_data(files["darcy.fd"])
    train, validation = split(data, 0.34, seed=5)
    again_train, again_validation = split(data, 0.34, seed=5)
    assert torch.equal(train.sample_ids, again_train.sample_ids)
    assert torch.equal(validation.inputs, again_validation.inputs)
    assert (len(train), len(validation)) == (4, 2)
    ids = set(train.sample_ids.tolist())
    assert ids.isdisjoint(validation.sample_ids.tolist()) and ids | set(validation.sample_ids.tolist()) == set(range(6))
    for part in (train, validation):
        assert torch.equal(part.inputs, data.inputs[part.sample_ids])
        assert part.task is data.task
    other = [split(data, 0.34, seed=seed)[1].sample_ids.tolist() for seed in range(6)]
    assert len({tuple(ids) for ids in other}) > 1
    with pytest.raises(ValueError, match=r"validation_fraction must be in \(0, 1\)"):
        split(data, 1.0)


def test_split_of_trajectories_keeps_every_window_of_a_sample_on_one_side(files):
    data = load_operator_data(files["spectral.navier_stokes"], history=2)
    train, validation = split(data, 0.34, seed=0)
    assert set(train.samples.tolist()).isdisjoint(validation.samples.tolist())
    assert len(train) + len(validation) == len(data)
    assert len(validation) == 3  # one trajectory of three windows
    assert torch.equal(validation.trajectories, data.trajectories[validation.samples])
    assert torch.equal(train.trajectories, data.trajectories[train.samples])


def test_subsample_keeps_nodal_endpoints_and_periodic_spacing(files):
    darcy = load_operator_data(files["darcy.fd"])
    coarse = subsample(darcy, 4)
    assert coarse.grid == coarse.task.grid == (5, 5) and coarse.task.subsample == 4
    assert torch.equal(coarse.inputs, darcy.inputs[:, :, ::4, ::4])
    assert torch.equal(coarse.targets[..., -1, -1], darcy.targets[..., -1, -1])  # the far corner stays
    assert coarse.task.spacing == (0.25, 0.25) and coarse.task.fingerprint == darcy.task.fingerprint
    twice = subsample(subsample(darcy, 2), 2)
    assert torch.equal(twice.inputs, coarse.inputs) and twice.task.subsample == 4
    assert resolution(coarse) == {"grid": [5, 5], "spacing": [0.25, 0.25], "points": 25, "subsample": 4,
                                  "stored_grid": [17, 17], "periodic": False, "kind": "nodal"}
    with pytest.raises(ValueError, match="nodal grid with 16 intervals per axis by 3"):
        subsample(darcy, 3)

    burgers = load_operator_data(files["spectral.burgers"])
    half = subsample(burgers, 2)
    assert half.grid == (32,) and half.task.spacing == (1 / 32,)
    assert resolution(half)["stored_grid"] == [64]
    assert subsample(burgers, 1) is burgers

    ns = subsample(load_operator_data(files["spectral.navier_stokes"], history=2), 2)
    assert ns.inputs.shape[2:] == ns.trajectories.shape[2:] == (8, 8)


def test_float64_on_request(files):
    data = load_operator_data(files["darcy.fd"], dtype=torch.float64)
    arrays, _ = read_dataset(files["darcy.fd"])
    assert data.inputs.dtype == torch.float64
    assert np.array_equal(data.targets[:, 0].numpy(), arrays["u"])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_pairs_from_arrays_with_non_finite_values_are_refused_naming_field_and_sample(files, bad):
    from workbench.core.finite import NonFiniteError

    arrays, meta = read_dataset(files["darcy.fd"])
    arrays["seed"] = meta["seed"]
    arrays["u"][4, 2, 3] = bad
    with pytest.raises(NonFiniteError, match=rf"field 'u' has NaN or infinite values in 1 of 6 samples "
                                             rf"\(first: sample 4, seed {int(meta['seed'][4])}\)"):
        operator_data_from_arrays(arrays, meta["attributes"])


def test_the_fingerprint_of_an_empty_selection_is_defined_and_differs(files):
    arrays, meta = read_dataset(files["darcy.fd"])
    arrays["seed"] = meta["seed"]
    empty = {name: values[:0] for name, values in arrays.items()}
    assert dataset_fingerprint(empty, meta["attributes"]) != dataset_fingerprint(arrays, meta["attributes"])


def test_input_range_is_per_channel_min_and_max(files):
    from pdewb_operators.data import input_range

    data = load_operator_data(files["spectral.navier_stokes"], history=2)
    expected = [[float(data.inputs[:, c].min()), float(data.inputs[:, c].max())] for c in range(2)]
    assert input_range(data) == expected and expected[0][0] < expected[0][1]
