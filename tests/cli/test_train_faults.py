"""`pdewb train` under kill -9, SIGTERM and a full disk: the old checkpoint or a complete new one.

A training run writes its checkpoint when it ends (completed, cancelled or
interrupted). Whatever stops it, the file at ``--out`` is afterwards either the
previous checkpoint, byte for byte, or a complete checkpoint that loads; a
SIGTERM (a batch scheduler's time limit) keeps the best epoch reached, like
Ctrl-C, and exits with 143.
"""

from __future__ import annotations

import random
import resource
import signal
import subprocess
import sys
import time

import pytest

from workbench.cli.main import main
from workbench.io.atomic import remove_stale_temporaries
from workbench.io.checkpoints import read_checkpoint_document

TRAIN = ["train", "--surrogate", "operators.deeponet", "--set", "latent=8", "--set", "branch_width=16",
         "--set", "trunk_width=16", "--set", "batch_size=2", "--set", "patience=0"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("train-faults") / "darcy.h5"
    assert main(["datagen", "--solver", "darcy.fd", "--samples", "6", "--set", "n=16", "--out", str(path),
                 "--quiet"]) == 0
    return path


@pytest.fixture(scope="module")
def old_checkpoint(tmp_path_factory, dataset):
    """A complete checkpoint from an earlier training: the file a failed run must leave alone."""
    path = tmp_path_factory.mktemp("old") / "model.safetensors"
    assert main([*TRAIN, "--data", str(dataset), "--out", str(path), "--set", "epochs=1", "--quiet"]) == 0
    return path.read_bytes()


def _start_training(dataset, out, epochs, **kwargs):
    command = [sys.executable, "-m", "workbench.cli.main", *TRAIN, "--data", str(dataset), "--out", str(out),
               "--set", f"epochs={epochs}"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _wait_for_epochs(process, seconds=60.0):
    """Read stderr until the first epoch has been reported (training is under way)."""
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if "epoch" in line:
            return seen
    raise AssertionError("training never reported an epoch:\n" + "".join(seen))


def _checkpoint_state(path, old: bytes) -> str:
    data = path.read_bytes()
    if data == old:
        return "old"
    document = read_checkpoint_document(path)  # raises if the file is not a complete checkpoint
    assert document["format"] == "pdewb-surrogate"
    return "new"


def _temporaries(folder):
    return [p.name for p in folder.iterdir() if ".pdewb-" in p.name or p.name.endswith(".lock")]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_at_a_random_moment_leaves_the_old_checkpoint(tmp_path, dataset, old_checkpoint, seed):
    out = tmp_path / "model.safetensors"
    out.write_bytes(old_checkpoint)
    process = _start_training(dataset, out, epochs=100_000)
    try:
        _wait_for_epochs(process)
        time.sleep(random.Random(seed).uniform(0.0, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.communicate()
    assert _checkpoint_state(out, old_checkpoint) == "old"
    remove_stale_temporaries(tmp_path, force=True)  # what the next write into this folder does
    assert _temporaries(tmp_path) == []


def test_sigterm_keeps_the_best_epoch_and_exits_143(tmp_path, dataset, old_checkpoint):
    out = tmp_path / "model.safetensors"
    out.write_bytes(old_checkpoint)
    process = _start_training(dataset, out, epochs=100_000)
    try:
        _wait_for_epochs(process)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 143, stderr
    assert _checkpoint_state(out, old_checkpoint) == "new"
    document = read_checkpoint_document(out)
    assert document["training"]["epochs_run"] >= 1
    assert "terminated" in stderr.lower()
    assert _temporaries(tmp_path) == []


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_keeps_the_old_checkpoint_and_says_so_in_one_line(tmp_path, dataset, old_checkpoint):
    out = tmp_path / "model.safetensors"
    out.write_bytes(old_checkpoint)
    # half the size of a checkpoint of this architecture: the new one cannot fit
    process = _start_training(dataset, out, epochs=2, preexec_fn=_file_size_limit(len(old_checkpoint) // 2))
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("pdewb: error:")]
    assert len(errors) == 1 and "file too large" in errors[0], stderr
    assert "Traceback" not in stderr
    assert out.read_bytes() == old_checkpoint
    assert _temporaries(tmp_path) == []


def _wait_for_library(process, name: str, seconds: float = 60.0) -> None:
    """Until the process has mapped a shared library whose path contains ``name`` (it is imported)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if name in open(f"/proc/{process.pid}/maps").read():
                return
        except FileNotFoundError:
            return
        time.sleep(0.01)


@pytest.mark.parametrize("moment", ["while importing", "before the first epoch"])
def test_ctrl_c_early_exits_130_without_a_traceback(tmp_path, dataset, moment):
    out = tmp_path / "model.safetensors"
    process = _start_training(dataset, out, epochs=100_000)
    try:
        if moment == "while importing":
            _wait_for_library(process, "_multiarray_umath")  # numpy is loading: the workbench is not yet
        else:
            _wait_for_library(process, "libtorch_cpu")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not out.exists() or read_checkpoint_document(out)
