"""Generation semantics: one generation per output, the same command resumes, checked batches, shards."""

import os

import h5py
import numpy as np
import pytest

import pdewb_darcy.dataset
import pdewb_darcy.plugin
import workbench.io.dataset_shards as shards_module
from workbench.core.interrupts import Terminated
from workbench.io.atomic import OutputError
from workbench.io.datasets import (
    DatasetError,
    DatasetInterrupted,
    generate_dataset,
    partial_path,
    read_dataset,
    sample_seeds,
)
from workbench.io.locks import output_lock
from workbench.testing import host_with

PARAMS = {"n": 8}
FIRST_SEED = int(sample_seeds(5, 1)[0])


@pytest.fixture(scope="module")
def solver():
    return host_with(pdewb_darcy.plugin).solver("darcy.fd")


@pytest.fixture(scope="module")
def reference(solver, tmp_path_factory):
    """9 samples of seed 5, uninterrupted, as arrays."""
    out = tmp_path_factory.mktemp("reference") / "reference.h5"
    generate_dataset(solver, out, 9, PARAMS, batch=9, seed=5)
    return read_dataset(out)[0]


def _stop_after(calls: int, exception=KeyboardInterrupt):
    """A generator that raises ``exception`` on its call number ``calls`` (counted from 1)."""
    original, count = pdewb_darcy.dataset.generate_batch, []

    def generate(params, seeds, device=None):
        count.append(1)
        if len(count) == calls:
            raise exception
        return original(params, seeds, device)

    return generate


def _assert_equal(path, reference):
    arrays = read_dataset(path)[0]
    assert arrays.keys() == reference.keys()
    for name in reference:
        assert np.array_equal(arrays[name], reference[name]), name


def _shard_names(out):
    return sorted(path.name for path in partial_path(out).glob("shard-*.h5"))


def test_overwrite_resumes_a_matching_partial_state(solver, tmp_path, monkeypatch, reference):
    out = tmp_path / "data.h5"
    out.write_bytes(b"an older complete file")
    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", _stop_after(2))
    with pytest.raises(DatasetInterrupted) as stop:
        generate_dataset(solver, out, 9, PARAMS, batch=3, seed=5, overwrite=True)
    assert stop.value.completed == 3 and not stop.value.terminated
    assert out.read_bytes() == b"an older complete file"  # replaced only once the new one is complete
    monkeypatch.undo()
    # without --overwrite the existing file is refused, and the samples so far stay
    with pytest.raises(DatasetError, match="exists; pass --overwrite"):
        generate_dataset(solver, out, 9, PARAMS, batch=3, seed=5)
    assert _shard_names(out) == ["shard-0-3.h5"]
    summary = generate_dataset(solver, out, 9, PARAMS, batch=4, seed=5, overwrite=True)
    assert summary.resumed_from == 3 and not partial_path(out).exists()
    _assert_equal(out, reference)


def test_overwrite_discards_a_partial_state_of_other_settings(solver, tmp_path, monkeypatch, reference):
    out = tmp_path / "data.h5"
    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", _stop_after(2))
    with pytest.raises(DatasetInterrupted):
        generate_dataset(solver, out, 9, PARAMS, batch=3, seed=6)
    monkeypatch.undo()
    summary = generate_dataset(solver, out, 9, PARAMS, batch=3, seed=5, overwrite=True)
    assert summary.resumed_from == 0 and not partial_path(out).exists()
    _assert_equal(out, reference)


def test_sigterm_keeps_the_samples_and_says_so(solver, tmp_path, monkeypatch):
    out = tmp_path / "data.h5"
    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", _stop_after(3, Terminated()))
    with pytest.raises(DatasetInterrupted) as stop:
        generate_dataset(solver, out, 9, PARAMS, batch=2, seed=5)
    assert stop.value.terminated and stop.value.completed == 4
    assert _shard_names(out) == ["shard-0-2.h5", "shard-2-4.h5"]


def test_a_second_generation_into_the_same_output_is_refused_with_the_first_ones_pid(solver, tmp_path):
    out = tmp_path / "data.h5"
    holder = f"being written by another datagen process \\(pid {os.getpid()}\\)"
    # another open file description: flock refuses it even within one process
    with output_lock(out, "datagen"), pytest.raises(OutputError, match=holder):
        generate_dataset(solver, out, 2, PARAMS, seed=5)
    assert not partial_path(out).exists() and not out.exists()


def test_missing_ranges_are_generated_again_and_only_them(solver, tmp_path, monkeypatch, reference):
    out = tmp_path / "data.h5"
    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", _stop_after(4))
    with pytest.raises(DatasetInterrupted):
        generate_dataset(solver, out, 9, PARAMS, batch=2, seed=5)
    assert _shard_names(out) == ["shard-0-2.h5", "shard-2-4.h5", "shard-4-6.h5"]
    (partial_path(out) / "shard-2-4.h5").unlink()  # a hole, as parallel workers may leave
    monkeypatch.undo()
    generated = []
    original = pdewb_darcy.dataset.generate_batch

    def recording(params, seeds, device=None):
        generated.append(len(seeds))
        return original(params, seeds, device)

    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", recording)
    summary = generate_dataset(solver, out, 9, PARAMS, batch=5, seed=5)
    assert summary.resumed_from == 4 and generated == [2, 3]  # samples 2-3, then 6-8
    _assert_equal(out, reference)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_sample_ends_generation_naming_field_sample_and_seed(solver, tmp_path, monkeypatch, bad):
    original = pdewb_darcy.dataset.generate_batch

    first_of_batch = [0]

    def spoiled(params, seeds, device=None):  # sample 4 (the second of the second batch) gets a bad value
        arrays = original(params, seeds, device)
        if first_of_batch[0] <= 4 < first_of_batch[0] + len(seeds):
            arrays["u"][4 - first_of_batch[0], 3, 3] = bad
        first_of_batch[0] += len(seeds)
        return arrays

    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", spoiled)
    out = tmp_path / "data.h5"
    with pytest.raises(DatasetError) as error:
        generate_dataset(solver, out, 9, PARAMS, batch=3, seed=5)
    seed_of_4 = int(sample_seeds(5, 9)[4])
    assert f"field 'u' of sample 4 (seed {seed_of_4})" in str(error.value) and "non-finite" in str(error.value)
    assert _shard_names(out) == ["shard-0-3.h5"] and not out.exists()  # the batch of sample 4 is not written


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (lambda seeds: [np.zeros((len(seeds), 2))], "not a mapping"),
        (lambda seeds: {}, "not a mapping"),
        (lambda seeds: {"u": np.zeros((len(seeds) + 1, 2))}, "leading batch axis"),
        (lambda seeds: {"seed": np.zeros((len(seeds), 2))}, "cannot name a data set field"),
        (lambda seeds: {"../x": np.zeros((len(seeds), 2))}, "cannot name a data set field"),
        (lambda seeds: {"u": np.array([object()] * len(seeds))}, "data set fields are numbers"),
        (lambda seeds: {"u": np.zeros((len(seeds), 0))}, "empty axis"),
        (lambda seeds: {"u": np.zeros((len(seeds), 2 if seeds[0] == FIRST_SEED else 3))}, "the samples before hold"),
    ],
)
def test_what_a_generator_returns_is_checked_before_it_is_written(solver, tmp_path, monkeypatch, returned, message):
    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", lambda params, seeds, device=None: returned(seeds))
    out = tmp_path / "data.h5"
    with pytest.raises(DatasetError, match=message) as error:
        generate_dataset(solver, out, 4, PARAMS, batch=2, seed=5)
    assert "\n" not in str(error.value)
    assert not out.exists()


@pytest.mark.parametrize("failure", [TypeError("bad plugin"), SystemExit(3), MemoryError()])
def test_a_failing_generator_is_one_line_naming_the_solver_and_the_samples(solver, tmp_path, monkeypatch, failure):
    def failing(params, seeds, device=None):
        raise failure

    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", failing)
    with pytest.raises(DatasetError, match="'darcy.fd' failed to generate samples 0 to 1: ") as error:
        generate_dataset(solver, tmp_path / "data.h5", 4, PARAMS, batch=2, seed=5)
    assert "\n" not in str(error.value)


def test_the_published_file_is_laid_out_as_documented_and_fits_its_reservation(solver, tmp_path, monkeypatch):
    reserved = []
    original = shards_module._write_reserved

    def recording(path, image, size):
        reserved.append(size)
        original(path, image, size)

    monkeypatch.setattr(shards_module, "_write_reserved", recording)
    out = tmp_path / "data.h5"
    generate_dataset(solver, out, 40, PARAMS, batch=7, seed=5)
    assert len(reserved) == 1 and os.path.getsize(out) <= reserved[0]  # HDF5 trims the unused reservation
    with h5py.File(out, "r") as f:
        assert f["u"].chunks == (1, 9, 9) and f["u"].compression is None
        assert f["seed"].dtype == np.uint32 and f["seed"].shape == (40,)
        assert set(f) == {"a", "u", "seed"}
        assert f.attrs["completed"] == f.attrs["samples"] == 40
    assert os.listdir(tmp_path) == ["data.h5"]  # no lock, no partial state, no temporary


def test_a_disk_too_small_for_the_whole_set_is_refused_after_the_first_batch(solver, tmp_path, monkeypatch):
    class Usage:
        free = 50_000

    monkeypatch.setattr(shards_module.shutil, "disk_usage", lambda path: Usage)
    out = tmp_path / "data.h5"
    with pytest.raises(OutputError, match="not enough disk space for .*data.h5: it needs about") as error:
        generate_dataset(solver, out, 100, PARAMS, batch=10, seed=5)
    assert error.value.reason == "disk full"
    assert _shard_names(out) == ["shard-0-10.h5"]  # what was generated is kept


@pytest.mark.parametrize(("described", "message"), [
    (lambda params: {"fields": {}}, "does not describe its grid"),
    (lambda params: ["grid"], "described its data set with list, not a mapping"),
    (lambda params: {"grid": {"kind": "nodes", "dims": 2}, "bad": float("nan")}, "cannot be stored as JSON"),
])
def test_a_plugins_metadata_is_checked_before_anything_is_written(solver, tmp_path, monkeypatch, described, message):
    monkeypatch.setattr(pdewb_darcy.dataset, "dataset_metadata", described)
    out = tmp_path / "data.h5"
    with pytest.raises(DatasetError, match=message):
        generate_dataset(solver, out, 2, PARAMS, seed=5)
    assert os.listdir(tmp_path) == []
