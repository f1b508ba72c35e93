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
