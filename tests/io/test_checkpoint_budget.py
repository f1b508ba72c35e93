"""A small checkpoint whose architecture demands huge memory is refused in one line, allocating nothing.

The shipped checkpoints are copied with a tampered document (the probe's
``width=100000``: 1.28 TB of FNO weights for a 2 MB file). Memory is measured in a
child process, as its peak resident set size above the same process after
``import torch`` and the loaders: ``import torch`` alone peaks at about 220 MB
(CPU build), a fixed cost no loader of a torch model can avoid.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli.main import main

pytest.importorskip("torch")
pytest.importorskip("pdewb_operators")

ROOT = Path(__file__).resolve().parents[2]
FNO = ROOT / "resources" / "checkpoints" / "burgers_fno.safetensors"
MGNO = ROOT / "resources" / "checkpoints" / "darcy_mgno.safetensors"
DMM = ROOT / "plugins" / "pdewb-movers" / "src" / "pdewb_movers" / "data" / "dmm_unit_square.safetensors"
#: What a refusal may cost above the baseline: parsing the header and building the model on the meta device.
REFUSAL_BUDGET_MB = 40


def tampered(source: Path, target: Path, **architecture) -> Path:
    """A copy of ``source`` whose document's architecture has ``architecture``'s values; the tensors are unchanged."""
    data = source.read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    document = json.loads(header["__metadata__"]["pdewb"])
    document["architecture"].update(architecture)
    header["__metadata__"]["pdewb"] = json.dumps(document)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    target.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length:])
    return target


PROBE = r"""
import json, sys
from workbench.core.memory import peak_resident_kib
from pdewb_movers.dmm.checkpoint import load_checkpoint as load_dmm
from pdewb_operators.checkpoint import load_checkpoint as load_operator
from workbench.io.checkpoints import CheckpointError

def peak_mb():
    return peak_resident_kib() / 1024

crafted, valid = json.loads(sys.argv[1]), json.loads(sys.argv[2])
load_operator(valid["operator"]), load_dmm(valid["dmm"])  # imports and first-call costs, before the baseline
baseline, results = peak_mb(), {}
for name, path in crafted.items():
    try:
        (load_dmm if name.startswith("dmm") else load_operator)(path)
        results[name] = [peak_mb() - baseline, "loaded"]
    except CheckpointError as error:
        results[name] = [peak_mb() - baseline, str(error)]
print(json.dumps({"baseline_mb": baseline, "results": results}))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="peak memory is read from /proc")
def test_crafted_architectures_are_refused_without_allocating(tmp_path):
    crafted = {
        # 1.28 TB of spectral weights (the probe); 1.5 GB, which would succeed and be felt, before the fix
        "fno_width_100000": tampered(FNO, tmp_path / "a.safetensors", width=100_000),
        "fno_width_2000": tampered(FNO, tmp_path / "b.safetensors", width=2_000),
        "fno_layers": tampered(FNO, tmp_path / "c.safetensors", layers=10**8),
        "fno_huge_int": tampered(FNO, tmp_path / "d.safetensors", in_channels=10**30),
        "dmm_channels": tampered(DMM, tmp_path / "e.safetensors", channels=100_000),  # 360 GB of U-Net weights
        "dmm_branch_grid": tampered(DMM, tmp_path / "f.safetensors", branch_grid=2**20),  # its buffers: 8 TB
    }
    valid = {"operator": str(MGNO), "dmm": str(DMM)}
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps({k: str(v) for k, v in crafted.items()}),
                             json.dumps(valid)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    messages = {name: message for name, (_, message) in report["results"].items()}
    assert "tensor 'network.lifting.weight' is float32 [64, 3, 1] in the file, the architecture needs float32 " \
           "[100000, 3, 1]" in messages["fno_width_100000"]
    assert "needs float32 [2000, 3, 1]" in messages["fno_width_2000"]
    assert "architecture key 'layers' must be <= 64" in messages["fno_layers"]
    assert "'in_channels' is 1000000000000000000000000000000, beyond any size" in messages["fno_huge_int"]
    assert "tensor 'branch.down.0.0.0.weight' is float32 [8, 1, 3, 3] in the file" in messages["dmm_channels"]
    assert "branch_grid 1048576 (at most 512)" in messages["dmm_branch_grid"]
    for name, (extra_mb, message) in report["results"].items():
        assert "\n" not in message and len(message) < 400, (name, message)
        assert extra_mb < REFUSAL_BUDGET_MB, (name, extra_mb, report["baseline_mb"])


def test_the_cli_refuses_a_crafted_checkpoint_in_one_line(tmp_path, capsys):
    crafted = tampered(MGNO, tmp_path / "wide.safetensors", width=100_000)
    assert main(["predict", "--model", str(crafted), "--mesh", "sample:l-shape", "--input", "1 + x",
                 "--out", str(tmp_path / "out.vtu")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("pdewb: error: ") and "\n" not in error
    assert "the architecture needs float32 [100000" in error
    assert not (tmp_path / "out.vtu").exists()

    assert main(["model", "info", str(crafted), "--json"]) == 0  # the header alone is sound: it is shown
    assert json.loads(capsys.readouterr().out)["architecture"]["width"] == 100_000


def test_model_info_on_a_tampered_document_is_one_line(tmp_path, capsys):
    data = FNO.read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    document = json.loads(header["__metadata__"]["pdewb"])
    for change, expected in [({"architecture": "abc"}, "its document's 'architecture' is str, not a JSON object"),
                             ({"task": {**document["task"], "grid": 5}}, "its task's 'grid' is 5, not a list of sizes"),
                             ({"parameters": "many", "training": {"seconds": "x"}}, None)]:
        header["__metadata__"]["pdewb"] = json.dumps({**document, **change})
        text = json.dumps(header).encode()
        path = tmp_path / "t.safetensors"
        path.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length:])
        code = main(["model", "info", str(path)])
        captured = capsys.readouterr()
        if expected:
            assert code == 2 and expected in captured.err and captured.err.count("\n") == 1
        else:
            assert code == 0 and "many" in captured.out and "x s" in captured.out
