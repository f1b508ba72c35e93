"""Tampered, crafted and foreign files: every one is refused in one line, before anything large is read."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

import pdewb_darcy.dataset
import pdewb_darcy.plugin
import workbench.core.memory
from workbench.core.memory import NotEnoughMemory
from workbench.io.datasets import (
    DatasetError,
    DatasetInterrupted,
    generate_dataset,
    open_dataset,
    partial_path,
    read_dataset,
)
from workbench.testing import host_with
from workbench.io.dataset_seal import seal

PARAMS = {"n": 8}


@pytest.fixture(scope="module")
def solver():
    return host_with(pdewb_darcy.plugin).solver("darcy.fd")


@pytest.fixture(scope="module")
def valid(solver, tmp_path_factory):
    out = tmp_path_factory.mktemp("valid") / "valid.h5"
    generate_dataset(solver, out, 4, PARAMS, batch=2, seed=3)
    return out


@pytest.fixture
def copy(valid, tmp_path):
    target = tmp_path / "copy.h5"
    target.write_bytes(valid.read_bytes())
    return target


def _refused(path, match):
    with pytest.raises(DatasetError, match=match) as error:
        read_dataset(path)
    assert "\n" not in str(error.value)
    return str(error.value)


def _tamper(path, change):
    """Change the file with h5py and seal it again: a crafted file, not a damaged one (see dataset_seal)."""
    with h5py.File(path, "r+") as f:
        change(f)
    seal(path)


def _set(name, value):
    return lambda f: f.attrs.__setitem__(name, value)


def _delete(name):
    return lambda f: f.__delitem__(name) if name in f else f.attrs.__delitem__(name)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (_set("metadata", "{not json"), "attribute 'metadata' is not valid JSON"),
        (_set("metadata", "[1, 2]"), "attribute 'metadata' is JSON list, not an object"),
        (_set("metadata", "[" * 100_000 + "]" * 100_000), "not valid JSON \\(RecursionError\\)"),
        (_set("params", "3"), "attribute 'params' is JSON int"),
        (_set("metadata", "{}"), "attribute 'metadata' does not describe its grid"),
        (_set("metadata", '{"grid": {"kind": "nodes", "dims": 7}}'), "does not describe its grid"),
        (_delete("params"), "lacks the attribute 'params'"),
        (_delete("solver"), "lacks the attribute 'solver'"),
        (_set("samples", "four"), "attribute 'samples' is 'four', not int"),
        (_set("samples", 10**12), "partial|first axis must be the 1000000000000 samples"),
        (lambda f: f.attrs.update({"samples": 10**12, "completed": 10**12}), "first axis must be the 1000000000000"),
        (lambda f: f.attrs.update({"samples": 2, "completed": 2}), "first axis must be the 2 samples"),
        (_set("completed", 3), "is partial \\(3 of 4 samples\\)"),
        (_set("base_seed", -1), "not a valid data set"),
        (_set("generation_seconds", np.nan), "attribute 'generation_seconds' is nan"),
        (_set("solver", np.arange(3)), "attribute 'solver' is an array"),
        (_delete("seed"), "has no 'seed' array"),
        (_delete("u"), "declares the field\\(s\\) u but does not hold them \\(it holds a\\)"),  # readers index u
        (lambda f: (f.__delitem__("a"), f.__delitem__("u")), "holds no field"),
        (lambda f: f.create_group("extra"), "'extra' is not an array"),
        (lambda f: f.create_dataset("text", data=np.array([b"x"] * 4)), "has dtype"),
        (lambda f: f.create_dataset("short", data=np.zeros((3, 2))), "'short' has shape \\(3, 2\\)"),
        (lambda f: f.__setitem__("far", h5py.ExternalLink("/etc/passwd", "/x")), "'far' is a link to elsewhere"),
        (lambda f: (f.__delitem__("seed"), f.create_dataset("seed", data=np.arange(4.0))), "'seed' is float64"),
    ],
)
def test_tampered_data_sets_are_refused_in_one_line(copy, change, match):
    _tamper(copy, change)
    _refused(copy, match)


def test_a_field_stored_in_another_file_is_refused(copy, tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"s" * 4 * 8)
    _tamper(copy, lambda f: f.create_dataset("leak", shape=(4,), dtype="f8", external=[(str(secret), 0, 32)]))
    _refused(copy, "'leak' reads its values from other files")


def test_a_virtual_field_is_refused(copy, valid):
    def add_virtual(f):
        layout = h5py.VirtualLayout(shape=(4, 9, 9), dtype="f8")
        layout[:] = h5py.VirtualSource(str(valid), "u", shape=(4, 9, 9))
        f.create_virtual_dataset("mirror", layout)

    _tamper(copy, add_virtual)
    _refused(copy, "'mirror' reads its values from other files")


def test_an_unwritten_chunk_is_refused_rather_than_read_as_zeros(tmp_path, valid):
    crafted = tmp_path / "holes.h5"
    with h5py.File(valid, "r") as source, h5py.File(crafted, "w") as f:
        f.attrs.update(source.attrs)
        f["seed"] = source["seed"][...]
        f["a"] = source["a"][...]
        u = f.create_dataset("u", shape=(4, 9, 9), chunks=(1, 9, 9), dtype="f8")
        u[:3] = source["u"][:3]  # sample 3 never written
    _refused(crafted, "'u' declares 2592 bytes .* but stores 1944")


def test_a_compressed_copy_reads_and_one_missing_a_chunk_does_not(tmp_path, valid):
    packed, holed = tmp_path / "packed.h5", tmp_path / "holed.h5"
    with h5py.File(valid, "r") as source:
        for path, samples in ((packed, 4), (holed, 3)):
            with h5py.File(path, "w") as f:
                f.attrs.update(source.attrs)
                f["seed"] = source["seed"][...]
                for name in ("a", "u"):
                    target = f.create_dataset(name, shape=(4, 9, 9), chunks=(1, 9, 9), dtype="f8", compression="gzip")
                    target[:samples] = source[name][:samples]
    arrays, _ = read_dataset(packed)
    assert np.array_equal(arrays["u"], read_dataset(valid)[0]["u"])
    _refused(holed, "'a' stores 3 of its 4 chunks")


def test_paths_that_are_no_data_set_file(tmp_path):
    os.mkfifo(tmp_path / "fifo.h5")  # opening it would block forever
    _refused(tmp_path / "fifo.h5", "is a FIFO, not a data set file")
    (tmp_path / "folder.h5").mkdir()
    _refused(tmp_path / "folder.h5", "is a folder, not a data set file")
    (tmp_path / "empty.h5").write_bytes(b"")
    _refused(tmp_path / "empty.h5", "is not an HDF5 file")


def test_reading_a_set_that_does_not_fit_in_memory_is_refused_before_allocating(valid, monkeypatch):
    monkeypatch.setattr(workbench.core.memory, "available_memory", lambda: 3000)  # bytes: a sample fits
    with open_dataset(valid) as dataset:
        assert dataset.arrays["u"][1].shape == (9, 9)  # lazy reading by sample still works
        with pytest.raises(NotEnoughMemory, match="reading all of .*valid.h5 into memory needs 5.2 kB"):
            dataset.load()
    monkeypatch.setattr(workbench.core.memory, "available_memory", lambda: 100)
    with pytest.raises(NotEnoughMemory, match="one sample of 'a' in .*valid.h5 needs 648 B"):
        open_dataset(valid)


CRAFTED_READER = """
import sys
from workbench.core.memory import peak_resident_kib
from workbench.io.datasets import DatasetError, read_dataset
try:
    read_dataset(sys.argv[1])
    print("READ")
except DatasetError as error:
    print("REFUSED", error)
print("PEAK_KB", peak_resident_kib())
"""


def test_a_small_file_declaring_terabytes_is_refused_with_little_memory(tmp_path, valid):
    crafted = tmp_path / "bomb.h5"
    with h5py.File(valid, "r") as source, h5py.File(crafted, "w") as f:
        f.attrs.update(source.attrs)
        f["seed"] = source["seed"][...]
        f.create_dataset("u", shape=(4, 10**6, 10**6), chunks=(1, 1000, 1000), dtype="f8")  # 32 TB, nothing stored
    assert crafted.stat().st_size < 20_000
    result = subprocess.run([sys.executable, "-c", CRAFTED_READER, str(crafted)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "REFUSED" in result.stdout and "declares 32000000000000 bytes" in result.stdout, result.stdout
    peak_kb = int(result.stdout.split("PEAK_KB")[1])
    assert peak_kb < 200_000, f"peak RSS {peak_kb} kB"


# ---------------------------------------------------------------------------------------
# Tampered partial states


def _interrupted(solver, out, monkeypatch, seed=3):
    """A partial state of 2 shards (samples 0-3 of 6)."""
    original, calls = pdewb_darcy.dataset.generate_batch, []

    def generate(params, seeds, device=None):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(params, seeds, device)

    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", generate)
    with pytest.raises(DatasetInterrupted):
        generate_dataset(solver, out, 6, PARAMS, batch=2, seed=seed)
    monkeypatch.undo()


def _generate(solver, out, overwrite=False):
    return generate_dataset(solver, out, 6, PARAMS, batch=2, seed=3, overwrite=overwrite)


@pytest.mark.parametrize(
    ("tamper", "match", "kept"),
    [
        (lambda folder: (folder / "manifest.json").write_text("{oops"), "manifest.json is unreadable", 0),
        (lambda folder: (folder / "manifest.json").write_text("[]"), "not a manifest this workbench wrote", 0),
        (lambda folder: (folder / "manifest.json").unlink(), "has no manifest.json", 0),
        (lambda folder: _edit_manifest(folder, samples="6"), "not a manifest this workbench wrote", 0),
        (lambda folder: os.mkdir(folder / "shard-4-6.h5"), "is not a regular file", 0),
        # a damaged shard: --overwrite generates its samples again and keeps the sound ones
        (lambda folder: (folder / "shard-2-4.h5").write_bytes(b"garbage"), "shard-2-4.h5 is damaged", 2),
        (lambda folder: (folder / "shard-0-2.h5").write_bytes(b"garbage"), "shard-0-2.h5 is damaged", 2),
        (lambda folder: os.rename(folder / "shard-2-4.h5", folder / "shard-4-6.h5"), "attributes do not match", 2),
        (lambda folder: os.rename(folder / "shard-2-4.h5", folder / "shard-5-9.h5"), "outside the 6 samples", 2),
        (lambda folder: os.rename(folder / "shard-2-4.h5", folder / "shard-1-3.h5"), "overlaps shard-0-2.h5", 2),
    ],
)
def test_a_tampered_partial_state_is_refused_and_overwrite_repairs_it(solver, tmp_path, monkeypatch, reference6,
                                                                      tamper, match, kept):
    out = tmp_path / "data.h5"
    _interrupted(solver, out, monkeypatch)
    tamper(partial_path(out))
    with pytest.raises(DatasetError, match=match) as error:
        _generate(solver, out)
    assert "\n" not in str(error.value) and not out.exists()
    summary = _generate(solver, out, overwrite=True)
    assert summary.resumed_from == kept and not partial_path(out).exists()
    arrays = read_dataset(out)[0]
    assert all(np.array_equal(arrays[name], reference6[name]) for name in reference6)


@pytest.fixture(scope="module")
def reference6(solver, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference6") / "reference.h5"
    _generate(solver, out)
    return read_dataset(out)[0]


def test_a_shard_from_another_data_set_is_refused(solver, tmp_path, monkeypatch):
    other, out = tmp_path / "other.h5", tmp_path / "data.h5"
    _interrupted(solver, out, monkeypatch)
    _interrupted(solver, other, monkeypatch, seed=4)
    os.replace(partial_path(other) / "shard-2-4.h5", partial_path(out) / "shard-2-4.h5")
    with pytest.raises(DatasetError, match="seeds are not those of its samples"):
        _generate(solver, out)


def _edit_manifest(folder, **attributes):
    document = json.loads((folder / "manifest.json").read_text())
    document["attributes"].update(attributes)
    (folder / "manifest.json").write_text(json.dumps(document))


def test_a_partial_state_that_is_not_ours_is_never_removed(solver, tmp_path, monkeypatch):
    out = tmp_path / "data.h5"
    partial_path(out).mkdir()
    (partial_path(out) / "thesis.tex").write_text("years of work")
    for overwrite in (False, True):
        with pytest.raises(DatasetError, match="holds 'thesis.tex', which datagen did not write; move it away"):
            _generate(solver, out, overwrite=overwrite)
    assert (partial_path(out) / "thesis.tex").read_text() == "years of work"


def test_a_partial_path_that_is_a_link_is_refused_and_not_followed(solver, tmp_path):
    out, elsewhere = tmp_path / "data.h5", tmp_path / "elsewhere"
    elsewhere.mkdir()
    partial_path(out).symlink_to(elsewhere)
    for overwrite in (False, True):
        with pytest.raises(DatasetError, match="it is a symbolic link, not the folder datagen writes"):
            _generate(solver, out, overwrite=overwrite)
    assert os.listdir(elsewhere) == [] and partial_path(out).is_symlink()


def test_a_partial_file_of_the_earlier_format_needs_overwrite(solver, tmp_path):
    out = tmp_path / "data.h5"
    partial_path(out).write_bytes(b"an HDF5 partial file of version 0.1")
    with pytest.raises(DatasetError, match="partial file of an earlier workbench version"):
        _generate(solver, out)
    assert _generate(solver, out, overwrite=True).resumed_from == 0
    assert not partial_path(out).exists()


def _stop_before_merging(done, total, rate):
    if done == total:
        raise KeyboardInterrupt


def test_a_shard_found_damaged_while_merging_is_refused_and_overwrite_regenerates_it(solver, tmp_path, reference6):
    out = tmp_path / "data.h5"
    with pytest.raises(DatasetInterrupted) as stop:
        generate_dataset(solver, out, 6, PARAMS, batch=2, seed=3, progress=_stop_before_merging)
    assert stop.value.completed == 6 and not out.exists()
    with h5py.File(partial_path(out) / "shard-2-4.h5", "r+") as f:
        f["u"][1, 3, 3] = np.nan  # checked only while merging: survey reads no values
    seal(partial_path(out) / "shard-2-4.h5")  # crafted, not damaged: the checksum matches
    with pytest.raises(DatasetError, match="'u' of sample 3 \\(seed \\d+\\) is not finite"):
        _generate(solver, out)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".pdewb-" in p.name]
    summary = _generate(solver, out, overwrite=True)
    assert summary.resumed_from == 6 and not partial_path(out).exists()
    arrays = read_dataset(out)[0]
    assert all(np.array_equal(arrays[name], reference6[name]) for name in reference6)


def test_a_sealed_file_is_hashed_once_per_process_until_it_changes(valid, tmp_path, monkeypatch):
    from workbench.io import dataset_seal

    copy = tmp_path / "once.h5"
    copy.write_bytes(valid.read_bytes())
    hashed = []
    real = dataset_seal.digest_after_user_block
    monkeypatch.setattr(dataset_seal, "digest_after_user_block", lambda path: hashed.append(path) or real(path))
    for _ in range(3):
        read_dataset(copy)
    assert len(hashed) == 1
    data = bytearray(copy.read_bytes())
    data[-100] ^= 1  # changed (size kept): hashed again, and refused
    copy.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="is damaged"):
        read_dataset(copy)
    assert len(hashed) == 2
