"""Data sets written by workbench.io.datasets: seeded, batch-size independent, resumable."""

import h5py
import numpy as np
import pytest

import pdewb_darcy.dataset
import pdewb_darcy.plugin
import pdewb_spectral.plugin
from workbench.io.datasets import (
    DatasetError,
    DatasetInterrupted,
    generate_dataset,
    open_dataset,
    partial_path,
    read_dataset,
    sample_seeds,
)
from workbench.testing import host_with

TINY = {
    "darcy.fd": {"n": 16},
    "spectral.burgers": {"n": 32, "n_out": 2, "t_end": 0.02, "dt": 0.005},
    "spectral.navier_stokes": {"n": 16, "n_out": 2, "t_end": 0.02, "dt": 0.01},
}


@pytest.fixture(scope="module")
def host():
    return host_with(pdewb_darcy.plugin, pdewb_spectral.plugin)


def _arrays(path):
    arrays, meta = read_dataset(path)
    return arrays, meta


def test_seeds_are_stable_prefixes():
    assert np.array_equal(sample_seeds(7, 5), sample_seeds(7, 12)[:5])
    assert not np.array_equal(sample_seeds(7, 5), sample_seeds(8, 5))
    expected = np.random.SeedSequence(7).spawn(3)[2].generate_state(1)[0]
    assert sample_seeds(7, 3)[2] == expected


@pytest.mark.parametrize("solver_id", sorted(TINY))
def test_same_seed_gives_identical_arrays_for_any_batch_size(host, tmp_path, solver_id):
    solver = host.solver(solver_id)
    results = []
    for batch in (1, 3, 8):
        out = tmp_path / f"b{batch}.h5"
        summary = generate_dataset(solver, out, 8, TINY[solver_id], batch=batch, seed=11)
        assert summary.completed == 8 and not partial_path(out).exists()
        results.append(_arrays(out)[0])
    for other in results[1:]:
        assert other.keys() == results[0].keys()
        for name in results[0]:
            assert np.array_equal(other[name], results[0][name]), name
    # the samples differ from each other
    first = next(iter(results[0].values()))
    assert not np.array_equal(first[0], first[1])


def test_interrupt_then_resume_equals_an_uninterrupted_run(host, tmp_path, monkeypatch):
    solver = host.solver("darcy.fd")
    reference = tmp_path / "reference.h5"
    generate_dataset(solver, reference, 7, TINY["darcy.fd"], batch=3, seed=5)

    original = pdewb_darcy.dataset.generate_batch
    calls = []

    def flaky(params, seeds, device=None):
        calls.append(len(seeds))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(params, seeds, device)

    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", flaky)
    out = tmp_path / "data.h5"
    with pytest.raises(DatasetInterrupted) as stop:
        generate_dataset(solver, out, 7, TINY["darcy.fd"], batch=3, seed=5)
    assert (stop.value.completed, stop.value.samples) == (3, 7)
    assert not out.exists() and partial_path(out).is_dir()
    assert sorted(path.name for path in partial_path(out).iterdir()) == ["manifest.json", "shard-0-3.h5"]
    with h5py.File(partial_path(out) / "shard-0-3.h5", "r") as f:
        seconds_before_resume = f.attrs["seconds"]
    assert seconds_before_resume > 0
    with pytest.raises(DatasetError, match="not complete: only data.h5.partial exists"):
        read_dataset(out)
    with pytest.raises(DatasetError, match="is a folder, not a data set file"):
        read_dataset(partial_path(out))

    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", original)
    summary = generate_dataset(solver, out, 7, TINY["darcy.fd"], batch=2, seed=5)  # another batch size is fine
    assert summary.resumed_from == 3 and summary.completed == 7
    assert out.exists() and not partial_path(out).exists()
    (got, got_meta), (want, want_meta) = read_dataset(out), read_dataset(reference)
    for name in want:
        assert np.array_equal(got[name], want[name])
    assert np.array_equal(got_meta["seed"], want_meta["seed"])
    assert got_meta["attributes"]["params"] == want_meta["attributes"]["params"]
    assert got_meta["attributes"]["generation_seconds"] > seconds_before_resume  # the data cost adds up


@pytest.mark.parametrize(
    ("change", "named"),
    [({"params": {"n": 8}}, "parameters"), ({"seed": 6}, "seed"), ({"samples": 9}, "sample count")],
)
def test_resuming_with_something_else_is_refused(host, tmp_path, monkeypatch, change, named):
    solver = host.solver("darcy.fd")
    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", _interrupt)
    out = tmp_path / "data.h5"
    with pytest.raises(DatasetInterrupted):
        generate_dataset(solver, out, 7, TINY["darcy.fd"], batch=3, seed=5)
    monkeypatch.undo()
    options = {"params": TINY["darcy.fd"], "seed": 5, "samples": 7} | change
    with pytest.raises(DatasetError, match=f"different {named}") as error:
        generate_dataset(solver, out, options["samples"], options["params"], batch=3, seed=options["seed"])
    assert "\n" not in str(error.value)
    assert partial_path(out).exists() and not out.exists()


def _interrupt(params, seeds, device=None):
    raise KeyboardInterrupt


def test_existing_file_is_refused_without_overwrite(host, tmp_path):
    solver = host.solver("darcy.fd")
    out = tmp_path / "data.h5"
    generate_dataset(solver, out, 2, TINY["darcy.fd"], seed=1)
    with pytest.raises(DatasetError, match="--overwrite"):
        generate_dataset(solver, out, 2, TINY["darcy.fd"], seed=1)
    generate_dataset(solver, out, 3, TINY["darcy.fd"], seed=2, overwrite=True)
    assert read_dataset(out)[0]["u"].shape == (3, 17, 17)


def test_metadata_round_trip_and_format(host, tmp_path):
    solver = host.solver("spectral.burgers")
    out = tmp_path / "burgers.h5"
    generate_dataset(solver, out, 3, TINY["spectral.burgers"], batch=2, seed=4)
    _, want = solver.dataset_functions()
    arrays, meta = read_dataset(out)
    attrs = meta["attributes"]
    params = attrs["params"]
    assert "seed" not in params and params["n"] == 32
    assert {k: v for k, v in meta.items() if k not in ("attributes", "seed")} == want(params)
    assert meta["grid"] == {"kind": "periodic", "dims": 1, "n": 32, "shape": [32], "domain": [0, 1],
                            "points": meta["grid"]["points"]}
    assert meta["times"] == pytest.approx([0.0, 0.01, 0.02])
    assert arrays["u0"].shape == (3, 32) and arrays["u"].shape == (3, 3, 32)
    assert arrays["u"].dtype == np.float64
    assert attrs["format"] == "pdewb-dataset" and attrs["version"] == 1
    assert attrs["solver"] == "spectral.burgers" and attrs["solver_distribution"]
    assert attrs["completed"] == attrs["samples"] == 3 and attrs["base_seed"] == 4
    with h5py.File(out, "r") as f:
        assert f["u"].chunks == (1, 3, 32)
        assert f["seed"].shape == (3,)
    with open_dataset(out) as dataset:
        assert dataset.arrays["u"][1].shape == (3, 32)


def test_precision_float32_is_stored_as_float32(host, tmp_path):
    out = tmp_path / "ns32.h5"
    generate_dataset(host.solver("spectral.navier_stokes"), out, 2,
                     dict(TINY["spectral.navier_stokes"], precision="float32"))
    arrays, _ = read_dataset(out)
    assert arrays["w"].dtype == np.float32 and arrays["w"].shape == (2, 3, 16, 16)


@pytest.mark.parametrize("solver_id", sorted(TINY))
def test_a_sample_regenerated_alone_from_its_seed_equals_the_stored_one(host, tmp_path, solver_id):
    solver = host.solver(solver_id)
    out = tmp_path / "data.h5"
    generate_dataset(solver, out, 5, TINY[solver_id], batch=5, seed=9)
    arrays, meta = read_dataset(out)
    generate, _ = solver.dataset_functions()
    alone = generate(meta["attributes"]["params"], meta["seed"][3:4], None)
    for name in arrays:
        assert np.array_equal(alone[name][0], arrays[name][3])


def test_darcy_sample_matches_the_solver_run_with_its_seed(host, tmp_path):
    from workbench.compute.runner import build_problem, run_solver

    solver = host.solver("darcy.fd")
    out = tmp_path / "data.h5"
    generate_dataset(solver, out, 2, TINY["darcy.fd"], seed=3)
    arrays, meta = read_dataset(out)
    run = run_solver(solver, build_problem(solver, None, {"n": 16, "seed": int(meta["seed"][1])}))
    frame = run.frames[-1].fields
    assert np.array_equal(frame["a"].values.reshape(17, 17), arrays["a"][1])
    assert np.allclose(frame["u"].values.reshape(17, 17), arrays["u"][1], rtol=1e-9, atol=1e-12)


def test_read_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_dataset(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("no")
    with pytest.raises(DatasetError, match="not an HDF5 file"):
        read_dataset(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["format"] = "something"
    with pytest.raises(DatasetError, match="not a pdewb data set"):
        read_dataset(tmp_path / "other.h5")
    with h5py.File(tmp_path / "future.h5", "w") as f:
        f.attrs.update({"format": "pdewb-dataset", "version": 99})
    with pytest.raises(DatasetError, match="version 99"):
        read_dataset(tmp_path / "future.h5")


def test_datasets_need_random_inputs(host, tmp_path):
    with pytest.raises(Exception, match="coefficient = 'grf'"):
        generate_dataset(host.solver("darcy.fd"), tmp_path / "x.h5", 2, {"n": 16, "coefficient": "constant"})
    with pytest.raises(DatasetError, match="--seed"):
        generate_dataset(host.solver("darcy.fd"), tmp_path / "x.h5", 2, {"n": 16, "seed": 2})
