import json
import pickle
import struct

import pytest

from workbench.io.checkpoints import (
    CheckpointError,
    TensorSpec,
    read_checkpoint_document,
    read_safetensors,
    read_tensor_table,
    surrogate_of,
    write_safetensors,
)


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


def _raw(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


DOCUMENT = {"__metadata__": {"pdewb": json.dumps({"surrogate": "x.y"})}}


@pytest.mark.parametrize("tensors, data, message", [
    # a tiny file whose header claims a 400 GB tensor: refused on the header, nothing allocated
    ({"w": {"dtype": "F32", "shape": [100000, 1000000], "data_offsets": [0, 8]}}, b"\0" * 8,
     r"tensor 'w' is F32 \[100000, 1000000\], 400,000,000,000 bytes, but its data is 8 bytes"),
    ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8, "is truncated: its tensors need 16"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 12, "4 bytes follow its last tensor"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12, "tensor 'b' starts at byte 4"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, b"\0" * 16, "tensor 'w' starts at byte 8"),
    ({"w": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, "unknown dtype 'Q7'"),
    ({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8, "has no valid shape"),
    ({"w": {"dtype": "F32", "shape": [True, 2], "data_offsets": [0, 8]}}, b"\0" * 8, "has no valid shape"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, b"\0" * 8, "has no valid data offsets"),
    ({"w": [1, 2]}, b"", "tensor 'w' is not described by an object"),
])
def test_a_tensor_table_that_does_not_fit_the_file_is_refused(tmp_path, tensors, data, message):
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(_raw({**tensors, **DOCUMENT}, data))
    with pytest.raises(CheckpointError, match=message):
        read_tensor_table(path)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint_document(path)  # model info reads only the document: the same refusal


def test_a_sound_table_is_read_without_the_tensors(tmp_path):
    path = tmp_path / "sound.safetensors"
    tensors = {"a": {"dtype": "F64", "shape": [2, 1], "data_offsets": [0, 16]},
               "empty": {"dtype": "I64", "shape": [0, 10**12], "data_offsets": [16, 16]},
               "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]}}
    path.write_bytes(_raw({**tensors, **DOCUMENT}, b"\0" * 22))
    assert read_tensor_table(path) == {"a": TensorSpec("F64", (2, 1)), "empty": TensorSpec("I64", (0, 10**12)),
                                       "b": TensorSpec("BF16", (3,))}
    assert TensorSpec("F64", (2, 1)).describe() == "float64 [2, 1]"


def test_a_header_longer_than_any_checkpoint_needs_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.safetensors"
    path.write_bytes(struct.pack("<Q", 50_000_000) + b"{" + b" " * 100)
    with pytest.raises(CheckpointError, match="its header declares 50,000,000 bytes, more than the 4,000,000"):
        read_checkpoint_document(path)


def test_a_deeply_nested_header_is_corrupt_not_a_crash(tmp_path):
    path = tmp_path / "nested.safetensors"
    nested = b'{"a": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    path.write_bytes(struct.pack("<Q", len(nested)) + nested)
    with pytest.raises(CheckpointError, match="its safetensors header is not valid JSON"):
        read_checkpoint_document(path)


@pytest.mark.parametrize("section", ["architecture", "task", "training", "metrics", "versions"])
def test_document_sections_that_are_not_objects_are_refused(tmp_path, section):
    path = tmp_path / "m.safetensors"
    path.write_bytes(_safetensors_bytes({"pdewb": json.dumps({"surrogate": "x.y", section: "abc"})}))
    with pytest.raises(CheckpointError, match=f"its document's '{section}' is str, not a JSON object"):
        read_checkpoint_document(path)


def test_write_and_read_safetensors_check_names_shapes_and_dtypes(tmp_path):
    torch = pytest.importorskip("torch")
    path = write_safetensors(tmp_path / "t.safetensors", {"w": torch.arange(6.0).reshape(2, 3)[:, 1:]}, {"k": 1})
    assert read_checkpoint_document(path) == {"k": 1}
    with torch.device("meta"):
        expected = {"w": torch.empty(2, 2)}
    assert torch.equal(read_safetensors(path, expected)["w"], torch.tensor([[1.0, 2.0], [4.0, 5.0]]))
    for wrong, message in [({"w": torch.empty(2, 2, dtype=torch.float64, device="meta")},
                            r"tensor 'w' is float32 \[2, 2\] in the file, the architecture needs float64 \[2, 2\]"),
                           ({"w": torch.empty(3, 2, device="meta")}, r"needs float32 \[3, 2\]"),
                           ({}, "has tensors the architecture does not know: w"),
                           ({"w": torch.empty(2, 2, device="meta"), "v": torch.empty(1, device="meta")},
                            "lacks tensors the architecture needs: v")]:
        with pytest.raises(CheckpointError, match=message):
            read_safetensors(path, wrong)
    with pytest.raises(ValueError, match="not plain JSON"):
        write_safetensors(tmp_path / "nan.safetensors", {"w": torch.zeros(1)}, {"loss": float("nan")})
    assert not (tmp_path / "nan.safetensors").exists()
