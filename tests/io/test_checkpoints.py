import json
import pickle
import struct

import pytest

from workbench.io.checkpoints import CheckpointError, read_checkpoint_document, surrogate_of


def _safetensors_bytes(metadata: dict | None, tensor_bytes: bytes = b"\0" * 8) -> bytes:
    header = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, len(tensor_bytes)]}}
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + tensor_bytes


def test_reads_the_document_from_the_header(tmp_path):
    path = tmp_path / "m.safetensors"
    document = {"surrogate": "operators.fno", "task": {"solver": "darcy.fd", "grid": [65, 65]}}
    path.write_bytes(_safetensors_bytes({"pdewb": json.dumps(document)}))
    assert read_checkpoint_document(path) == document
    assert surrogate_of(path, document) == "operators.fno"


class _Exploit:
    def __reduce__(self):
        return (print, ("this would run",))


@pytest.mark.parametrize("content, message", [
    (pickle.dumps(_Exploit(), protocol=4), "pickled torch file"),
    (b"PK\x03\x04" + b"\0" * 100, "pickled torch file"),  # torch.save's zip container
    (b"\x01\x02", "not a safetensors checkpoint"),
    (struct.pack("<Q", 10**6) + b"{}", "truncated: its header needs"),
    (struct.pack("<Q", 5) + b"{nope", "header is not valid JSON"),
])
def test_refuses_what_is_not_a_safetensors_checkpoint(tmp_path, content, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint_document(path)


def test_refuses_safetensors_without_our_description(tmp_path):
    path = tmp_path / "plain.safetensors"
    path.write_bytes(_safetensors_bytes(None))
    with pytest.raises(CheckpointError, match="without PDE Workbench metadata"):
        read_checkpoint_document(path)
    path.write_bytes(_safetensors_bytes({"pdewb": json.dumps({"task": {}})}))
    with pytest.raises(CheckpointError, match="does not name the surrogate"):
        surrogate_of(path, read_checkpoint_document(path))


def test_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint_document(tmp_path / "absent.safetensors")
