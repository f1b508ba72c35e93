"""``pdewb datagen``: JSON summary, one-line errors, Ctrl-C keeps a resumable partial file."""

import json
import subprocess
import sys

import numpy as np
import pytest

import pdewb_darcy.dataset
from workbench.cli.main import main
from workbench.io.datasets import partial_path, read_dataset

DARCY = ["datagen", "--solver", "darcy.fd", "--set", "n=16", "--seed", "2"]


def test_json_summary(tmp_path, capsys):
    out = tmp_path / "darcy.h5"
    assert main(DARCY + ["--samples", "5", "--batch", "2", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["path"] == str(out) and summary["samples"] == 5
    assert summary["fields"] == {"a": [5, 17, 17], "u": [5, 17, 17]}
    assert summary["seconds"] > 0 and summary["samples_per_s"] > 0
    arrays, meta = read_dataset(out)
    assert meta["attributes"]["base_seed"] == 2 and arrays["u"].shape == (5, 17, 17)


def test_progress_and_errors_are_one_line(tmp_path, capsys):
    out = tmp_path / "darcy.h5"
    assert main(DARCY + ["--samples", "3", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "3 / 3 samples" in captured.err and "samples/s" in captured.err
    assert main(DARCY + ["--samples", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--overwrite" in err
    assert main(["datagen", "--solver", "fem.heat", "--samples", "2", "--out", str(tmp_path / "x.h5")]) == 2
    assert "cannot generate data sets" in capsys.readouterr().err
    assert main(DARCY + ["--samples", "0", "--out", str(tmp_path / "y.h5")]) == 2


def test_interrupt_keeps_the_partial_file_and_the_same_command_resumes(tmp_path, capsys, monkeypatch):
    reference = tmp_path / "reference.h5"
    assert main(DARCY + ["--samples", "7", "--batch", "3", "--out", str(reference), "--quiet"]) == 0

    original = pdewb_darcy.dataset.generate_batch
    calls = []

    def flaky(params, seeds, device=None):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(params, seeds, device)

    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", flaky)
    out = tmp_path / "data.h5"
    command = DARCY + ["--samples", "7", "--batch", "3", "--out", str(out), "--quiet"]
    assert main(command) == 130
    assert "interrupted after 3 of 7 samples; run the same command to resume" in capsys.readouterr().err
    assert not out.exists() and partial_path(out).exists()

    # something else is refused, in one line naming what differs
    assert main(DARCY[:-1] + ["3", "--samples", "7", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "different seed" in err and err.count("\n") == 1

    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", original)
    assert main(command + ["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed_from"] == 3
    assert out.exists() and not partial_path(out).exists()
    got, want = read_dataset(out)[0], read_dataset(reference)[0]
    assert all(np.array_equal(got[name], want[name]) for name in want)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_cli_imports_no_torch_for_darcy(tmp_path):
    code = f"""
import sys
from workbench.cli.main import main
assert main({DARCY!r} + ['--samples', '2', '--out', {str(tmp_path / 'd.h5')!r}, '--quiet']) == 0
print('TORCH', 'torch' in sys.modules, file=sys.stderr)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "TORCH False" in result.stderr


def _interrupting(exception):
    original, calls = pdewb_darcy.dataset.generate_batch, []

    def generate(params, seeds, device=None):
        calls.append(1)
        if len(calls) == 2:
            raise exception
        return original(params, seeds, device)

    return generate


def _one_error_line(capsys, *words):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pdewb: error: ") and "Traceback" not in err, err
    assert all(word in err for word in words), err
    return err


def test_the_same_command_with_overwrite_resumes_after_ctrl_c(tmp_path, capsys, monkeypatch):
    out = tmp_path / "data.h5"
    out.write_bytes(b"older")
    command = DARCY + ["--samples", "7", "--batch", "3", "--out", str(out), "--quiet", "--overwrite"]
    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", _interrupting(KeyboardInterrupt))
    assert main(command) == 130
    monkeypatch.undo()
    capsys.readouterr()
    assert main(command + ["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed_from"] == 3


def test_sigterm_exits_143_and_keeps_the_samples(tmp_path, capsys, monkeypatch):
    from workbench.core.interrupts import Terminated

    out = tmp_path / "data.h5"
    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", _interrupting(Terminated()))
    assert main(DARCY + ["--samples", "7", "--batch", "3", "--out", str(out), "--quiet"]) == 143
    err = capsys.readouterr().err
    assert "pdewb: terminated (SIGTERM) after 3 of 7 samples; run the same command to resume" in err
    assert (partial_path(out) / "shard-0-3.h5").is_file()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX device nodes and links")
def test_outputs_that_are_not_regular_files_are_refused_and_not_followed(tmp_path, capsys):
    import os
    import stat

    assert main(DARCY + ["--samples", "2", "--out", "/dev/null", "--overwrite", "--quiet"]) == 2
    _one_error_line(capsys, "refusing to write /dev/null: it is a device")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode) and not os.path.lexists("/dev/null.partial")
    link, target = tmp_path / "link.h5", tmp_path / "target.h5"
    link.symlink_to(target)
    assert main(DARCY + ["--samples", "2", "--out", str(link), "--overwrite", "--quiet"]) == 2
    _one_error_line(capsys, "it is a symbolic link")
    assert not target.exists()


def test_a_concurrent_generation_is_refused_naming_the_other_pid(tmp_path, capsys):
    import os

    from workbench.io.locks import output_lock

    out = tmp_path / "data.h5"
    with output_lock(out, "datagen"):
        assert main(DARCY + ["--samples", "2", "--out", str(out), "--overwrite", "--quiet"]) == 2
    _one_error_line(capsys, f"(pid {os.getpid()})", "being written by another datagen process")


@pytest.mark.parametrize(
    ("generator", "words"),
    [
        (lambda params, seeds, device=None: {"u": np.full((len(seeds), 3), np.nan)},
         ("non-finite values", "field 'u' of sample 0 (seed ")),
        (lambda params, seeds, device=None: 1 / 0,
         ("'darcy.fd' failed to generate samples 0 to 1", "ZeroDivisionError")),
    ],
)
def test_bad_generator_output_is_one_line(tmp_path, capsys, monkeypatch, generator, words):
    monkeypatch.setattr(pdewb_darcy.dataset, "generate_batch", generator)
    assert main(DARCY + ["--samples", "2", "--out", str(tmp_path / "d.h5"), "--quiet"]) == 2
    _one_error_line(capsys, *words)


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--seed", "1e29", ("invalid int value",)),
    ("--seed", str(10**29), ("the seed must be between 0 and 2^63 - 1",)),
    ("--seed", "-1", ("the seed must be between 0 and 2^63 - 1",)),
    ("--samples", str(10**30), ("--samples must be a whole number from 1 to 2^63 - 1",)),
    ("--batch", "0", ("argument --batch",)),
])
def test_out_of_range_numbers_are_one_line(tmp_path, capsys, option, value, words):
    assert main(DARCY + ["--samples", "2", option, value, "--out", str(tmp_path / "d.h5"), "--quiet"]) == 2
    _one_error_line(capsys, *words)
    assert list(tmp_path.iterdir()) == []
