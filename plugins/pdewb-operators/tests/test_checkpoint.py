"""safetensors checkpoints: round trip, atomic writes, and a one-line refusal for everything else.

Nothing here may execute code from a file: the pickle tests carry a payload that would
create a marker file, and check that it does not appear.
"""

import errno
import json
import pickle
from pathlib import Path

import pytest
import torch
from pdewb_operators import checkpoint
from pdewb_operators.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_document,
    save_checkpoint,
)
from pdewb_operators.models import build_model, default_architecture
from pdewb_operators.normalization import NormalizedOperator
from safetensors.torch import save_file

from workbench.core.errors import WorkbenchError
from workbench.io.atomic import OutputError

ARCHITECTURE = default_architecture("fno", 2, 1, 1, False, modes=4, width=8, layers=2, projection_width=16)
TASK = {"solver": "darcy.fd", "solver_version": "0.1.0", "params": {"n": 16}, "grid": [17, 17], "dim": 2,
        "periodic": False, "fingerprint": "ab" * 32, "input_fields": ["a"], "output_fields": ["u"]}


def operator(architecture=ARCHITECTURE, seed=0) -> NormalizedOperator:
    torch.manual_seed(seed)
    inputs, targets = torch.rand(4, 1, 17, 17) * 9 + 3, torch.rand(4, 1, 17, 17) * 0.05
    return NormalizedOperator.fit(build_model(architecture), inputs, targets).eval()


def document(**changes) -> dict:
    result = {"architecture": ARCHITECTURE, "task": TASK, "training": {"epochs": 3, "best_validation_loss": 0.1},
              "metrics": {"validation_relative_l2": 0.1}}
    result.update(changes)
    return result


@pytest.fixture
def saved(tmp_path):
    model = operator()
    path = save_checkpoint(tmp_path / "darcy", model, document())
    return path, model


class WritesMarker:
    """Unpickling this calls open(marker, "w"): proof that a loader executed the file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_round_trip_gives_identical_predictions(saved):
    path, model = saved
    assert path.name == "darcy.safetensors"
    loaded, doc = load_checkpoint(path)
    x = torch.rand(3, 1, 17, 17) * 9 + 3
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
        assert loaded(torch.rand(2, 1, 33, 33)).shape == (2, 1, 33, 33)  # any resolution
    assert not loaded.training
    assert doc["format"] == "pdewb-surrogate" and doc["version"] == 1
    assert doc["architecture"] == ARCHITECTURE and doc["task"] == TASK
    assert doc["training"]["epochs"] == 3 and doc["metrics"] == {"validation_relative_l2": 0.1}
    assert set(doc["versions"]) >= {"workbench", "torch", "python"} and doc["created"].endswith("+00:00")
    assert read_document(path) == doc
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_the_document_sits_in_the_safetensors_header_as_json_text(saved):
    from safetensors import safe_open

    path, _ = saved
    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
    assert set(metadata) == {"pdewb"} and json.loads(metadata["pdewb"])["task"]["solver"] == "darcy.fd"


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_malicious_pickle_is_refused_without_running_it(tmp_path, protocol):
    payload = pickle.dumps({"state_dict": WritesMarker(tmp_path / "proof")}, protocol=protocol)
    pickle.loads(payload.replace(b"proof", b"works"))  # the payload is real: plain unpickling runs it
    assert (tmp_path / "works").exists()
    path = tmp_path / "model.safetensors"
    path.write_bytes(payload)
    for read in (read_document, load_checkpoint):
        with pytest.raises(CheckpointError, match="is a pickled torch file; PDE Workbench loads only "
                                                  r"\.safetensors checkpoints, which cannot execute code"):
            read(path)
    assert not (tmp_path / "proof").exists()


def test_a_torch_save_zip_is_refused_without_running_it(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"weights": torch.zeros(2), "trap": WritesMarker(tmp_path / "proof")}, path)
    assert path.read_bytes()[:2] == b"PK"
    with pytest.raises(CheckpointError, match="is a pickled torch file"):
        load_checkpoint(path)
    assert not (tmp_path / "proof").exists()


def test_corrupt_and_truncated_files_are_refused(saved, tmp_path):
    path, _ = saved
    data = path.read_bytes()
    header = int.from_bytes(data[:8], "little")
    cases = {
        "noise.safetensors": (bytes(range(1, 256)) * 16, "is not a safetensors checkpoint"),
        "empty.safetensors": (b"", "is not a safetensors checkpoint"),
        "short.safetensors": (data[:len(data) // 2], "is truncated: its tensors need"),
        "headless.safetensors": (data[:40], "is truncated: its header needs"),
        "badjson.safetensors": (data[:8] + b"{" + b"x" * (header - 1) + data[8 + header:],
                                "its safetensors header is not valid JSON"),
    }
    for name, (content, message) in cases.items():
        target = tmp_path / name
        target.write_bytes(content)
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(target)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_document(tmp_path / "missing.safetensors")


def test_a_safetensors_file_of_someone_else_is_refused(tmp_path):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(3)}, str(foreign))
    with pytest.raises(CheckpointError, match="without PDE Workbench metadata"):
        load_checkpoint(foreign)
    save_file({"weight": torch.zeros(3)}, str(foreign), metadata={"pdewb": json.dumps({"format": "other"})})
    with pytest.raises(CheckpointError, match=r"is not a surrogate checkpoint \(format 'other'\)"):
        read_document(foreign)


def test_an_unknown_format_version_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "future", operator(), document(version=2))
    with pytest.raises(CheckpointError, match="has surrogate checkpoint version 2; this workbench reads version 1"):
        load_checkpoint(path)


def test_missing_extra_and_mismatched_tensors_are_refused(saved, tmp_path):
    _, model = saved
    tensors = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    metadata = {"pdewb": json.dumps(checkpoint.complete_document(document()))}
    variants = {
        "missing": ({k: v for k, v in tensors.items() if k != "output_normalizer.std"},
                    "lacks tensors the architecture needs: output_normalizer.std"),
        "extra": (dict(tensors, backdoor=torch.zeros(1)), "has tensors the architecture does not know: backdoor"),
        "float64": (dict(tensors, **{"input_normalizer.mean": tensors["input_normalizer.mean"].double()}),
                    "tensor 'input_normalizer.mean' is float64 \\[1\\] in the file, the architecture needs float32"),
    }
    for name, (content, message) in variants.items():
        path = tmp_path / f"{name}.safetensors"
        save_file(content, str(path), metadata=metadata)
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(path)
    wider = dict(ARCHITECTURE, width=12)  # the document says one size, the tensors have another
    path = save_checkpoint(tmp_path / "wider", model, document(architecture=wider))
    with pytest.raises(CheckpointError, match=r"in the file, the architecture needs float32 \[.*12"):
        load_checkpoint(path)
    broken = save_checkpoint(tmp_path / "broken", model, document(architecture=dict(ARCHITECTURE, kind="transformer")))
    with pytest.raises(CheckpointError, match="has an architecture this workbench cannot build"):
        load_checkpoint(broken)


def test_a_checkpoint_for_another_task_is_refused(saved):
    path = saved[0]
    with pytest.raises(CheckpointError, match="darcy.safetensors: checkpoint was trained for solver darcy.fd on grid "
                                              "17x17, not solver darcy.fd on grid 65x65"):
        load_checkpoint(path, expect={"solver": "darcy.fd", "grid": [65, 65]})
    with pytest.raises(CheckpointError, match="trained for solver darcy.fd, not solver spectral.burgers"):
        load_checkpoint(path, expect={"solver": "spectral.burgers"})
    model, _ = load_checkpoint(path, expect={"solver": "darcy.fd", "grid": (17, 17), "periodic": False})
    assert isinstance(model, NormalizedOperator)
    assert issubclass(CheckpointError, WorkbenchError)


def test_a_failed_save_leaves_the_previous_checkpoint_intact(saved, monkeypatch):
    path = saved[0]
    before = path.read_bytes()

    real_write_bytes = Path.write_bytes

    def fails_midway(self, data):
        real_write_bytes(self, data[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", fails_midway)
    with pytest.raises(OutputError, match="disk full"):
        save_checkpoint(path, operator(seed=1), document())
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["darcy.safetensors"]  # no temporary file left
    load_checkpoint(path)


def test_a_document_that_is_not_plain_json_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="not plain JSON"):
        save_checkpoint(tmp_path / "nan", operator(), document(metrics={"loss": float("nan")}))
    with pytest.raises(TypeError, match="needs an 'architecture' dict"):
        save_checkpoint(tmp_path / "none", operator(), {"task": TASK})
    assert list(tmp_path.iterdir()) == []
