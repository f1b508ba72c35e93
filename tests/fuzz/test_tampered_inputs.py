"""Tampered inputs of every kind: projects, checkpoints, data sets, scenarios and meshes.

Each example takes a valid file from the sandbox and damages it the way a broken
download, a bad disk or a hostile sender would: a JSON field replaced by
another type, a huge or negative size, a deleted or duplicated entry, a
200,000-deep nesting, a flipped or truncated byte, a NaN in the data. The
command (or loader) reading it must either work or say what is wrong in one
line: never a traceback, never a MemoryError, never a crash.
"""

from __future__ import annotations

import json
import math
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_sandbox import check_outcome, check_traps, leftover_temporaries
from workbench.io.dataset_seal import seal

#: JSON values a tamperer puts in place of a field. Sizes are small or absurd, never a few GB that
#: a machine could actually allocate: a loader that forgot a budget then fails loudly, not slowly.
NASTY_JSON = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1, 2, 10**15, 2**63, -(2**63), 1e308, -0.0, "", "x", "nan",
                     [], {}, [1], [0, 0], [-1], [10**15], [10**15, 10**15], {"$float": "nan"}, {"$float": "inf"},
                     "<f8", "|O", "O", "<c16", "u", "../../etc/passwd", "arrays/000000.npy", "a" * 10000]),
    st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5),
                 lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children,
                                                                                   max_size=3),
                 max_leaves=6),
)


def json_paths(value, prefix=()):
    """Every path (tuple of keys and indices) into a JSON value, the root included."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value[:6]):  # long lists: their first elements stand for the rest
            yield from json_paths(child, prefix + (index,))


@st.composite
def tampered_json(draw, document):
    """``document`` with one field replaced, deleted or duplicated, or the whole text mangled (as text)."""
    paths = list(json_paths(document))
    path = draw(st.sampled_from(paths))
    action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "deep", "text"]))
    if action == "deep":
        return '{"format": ' + "[" * 200_000 + "]" * 200_000 + "}"
    if action == "text":
        text = json.dumps(document)
        cut = draw(st.integers(0, len(text)))
        return text[:cut] + draw(st.sampled_from(["", "}", "{", "\x00", "NaN", "1e999", '"'])) + text[cut + 1:]
    copy = json.loads(json.dumps(document))
    if not path:
        return json.dumps(draw(NASTY_JSON))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if action == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(NASTY_JSON)
    return json.dumps(copy)


@st.composite
def damaged_bytes(draw, data: bytes) -> bytes:
    """Truncated, with bytes flipped, or with a run of bytes overwritten."""
    action = draw(st.sampled_from(["truncate", "flip", "overwrite"]))
    if action == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        if action == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        else:
            data[position:position + 8] = draw(st.binary(min_size=8, max_size=8))
    return bytes(data)


def run_and_check(sandbox, argv):
    before = sandbox.snapshot()
    outcome = sandbox.run(argv)
    after = sandbox.snapshot()
    check_outcome(outcome, argv)
    check_traps(sandbox, before, after, argv)
    assert not leftover_temporaries(after), f"pdewb {' '.join(argv)} left {leftover_temporaries(after)}"
    return outcome


# ---------------------------------------------------------------------------- projects


def _project_parts(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@st.composite
def tampered_projects(draw, parts):
    parts = dict(parts)
    target = draw(st.sampled_from(["manifest", "manifest", "array", "archive", "bomb"]))
    if target == "manifest":
        parts["project.json"] = draw(tampered_json(json.loads(parts["project.json"]))).encode()
    elif target == "array":
        member = draw(st.sampled_from(sorted(name for name in parts if name.endswith(".npy"))))
        parts[member] = draw(damaged_bytes(parts[member]))
    elif target == "bomb":  # one member, compressed from a huge run of zeros, named by every field
        return ("bomb", draw(st.sampled_from([200, 2000])))
    return ("parts", parts) if target != "archive" else ("raw", parts)


@given(data=st.data())
def test_a_tampered_project_loads_or_is_refused_in_one_line(make_sandbox, data):
    from workbench.core.errors import WorkbenchError
    from workbench.io.project import load_project

    sandbox = make_sandbox()
    path = sandbox.root / "project.pdewb"
    kind, payload = data.draw(tampered_projects(_project_parts(path)))
    if kind == "parts":
        _write_zip(path, payload)
    elif kind == "raw":
        path.write_bytes(data.draw(damaged_bytes(path.read_bytes())))
    else:
        _write_zip_bomb(path, fields=payload)
    try:
        load_project(path)
    except WorkbenchError as error:
        assert "\n" not in str(error) and 0 < len(str(error)) < 2000
    except RecursionError as error:
        pytest.fail(f"RecursionError instead of a one-line refusal: {error}")


def _write_zip_bomb(path, fields: int) -> None:
    """A small project whose every field names one 64 MB member of zeros (deflated to ~64 KB)."""
    values = np.zeros(8 * 1024 * 1024)
    header = np.lib.format
    import io

    buffer = io.BytesIO()
    header.write_array(buffer, values, allow_pickle=False)
    reference = {"member": "arrays/000000.npy", "dtype": "<f8", "shape": [len(values)]}
    frames = [{"index": 0, "time": 0.0,
               "fields": [{"key": f"u{i}", "name": f"u{i}", "location": "point", "units": "", "values": reference,
                           "times": None} for i in range(fields)]}]
    manifest = {"format": "pdewb-project", "version": 2, "title": "", "mesh": {"sample": "sample:plate-with-hole"},
                "runs": [{"name": "bomb", "solver_id": "fem.heat", "status": "succeeded", "frames": frames}]}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.json", json.dumps(manifest))
        archive.writestr("arrays/000000.npy", buffer.getvalue())


# ---------------------------------------------------------------------------- checkpoints


def _split_safetensors(data: bytes):
    length = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + length]), data[8 + length:]


def _join_safetensors(header_text: str, body: bytes) -> bytes:
    raw = header_text.encode()
    return struct.pack("<Q", len(raw)) + raw + body


@st.composite
def tampered_checkpoints(draw, data: bytes) -> bytes:
    header, body = _split_safetensors(data)
    target = draw(st.sampled_from(["document", "document", "tensors", "bytes", "width"]))
    if target == "bytes":
        return draw(damaged_bytes(data))
    if target == "width":  # the probe's 320 GB request: a plausible header with a huge architecture
        document = json.loads(header["__metadata__"]["pdewb"])
        document["architecture"][draw(st.sampled_from(sorted(document["architecture"])))] = \
            draw(st.sampled_from([100_000, 10**9, -1, 0, "16", None]))
        header["__metadata__"]["pdewb"] = json.dumps(document)
        return _join_safetensors(json.dumps(header), body)
    if target == "document":
        document = json.loads(header["__metadata__"]["pdewb"])
        header["__metadata__"]["pdewb"] = draw(tampered_json(document))
        return _join_safetensors(json.dumps(header), body)
    tensors = {name: entry for name, entry in header.items() if name != "__metadata__"}
    small = {name: tensors[name] for name in sorted(tensors)[:8]}  # a few tensors stand for the rest
    header_text = draw(tampered_json({**header, **small}))
    return _join_safetensors(header_text, body)


CHECKPOINT_COMMANDS = [
    ["model", "info", "model.safetensors", "--json"],
    ["compare", "--model", "model.safetensors", "--data", "data.h5", "--repeats", "1", "--batch", "2"],
    ["predict", "--model", "model.safetensors", "--mesh", "square.vtu", "--input", "1", "--out", "p.vtu",
     "--no-resolution-check"],
]


@given(data=st.data())
def test_a_tampered_checkpoint_is_refused_in_one_line(make_sandbox, data):
    sandbox = make_sandbox()
    path = sandbox.root / "model.safetensors"
    path.write_bytes(data.draw(tampered_checkpoints(path.read_bytes())))
    run_and_check(sandbox, data.draw(st.sampled_from(CHECKPOINT_COMMANDS)))


# ---------------------------------------------------------------------------- data sets


@st.composite
def dataset_damage(draw):
    return draw(st.sampled_from(["attribute", "attribute", "attribute", "nan", "shape", "drop", "bytes"])), \
        draw(st.integers(0, 2**31))


def _tamper_dataset(path, action: str, seed: int, data) -> None:
    import h5py

    rng = np.random.default_rng(seed)
    if action == "bytes":  # damaged, not crafted: the checksum in the user block no longer matches
        path.write_bytes(data.draw(damaged_bytes(path.read_bytes())))
        return
    with h5py.File(path, "r+") as f:
        names = sorted(f)
        if action == "attribute":
            key = data.draw(st.sampled_from(sorted(f.attrs)))
            value = data.draw(NASTY_JSON)
            if key in ("params", "metadata") and data.draw(st.booleans()):
                try:
                    document = json.loads(f.attrs[key])
                    value = data.draw(tampered_json(document))
                except (TypeError, ValueError):
                    pass
            f.attrs[key] = _hdf5_value(value)
        elif action == "nan":
            name = data.draw(st.sampled_from([n for n in names if f[n].dtype.kind == "f"]))
            index = tuple(int(rng.integers(0, size)) for size in f[name].shape)
            f[name][index] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        elif action == "shape":
            name = data.draw(st.sampled_from(names))
            values = f[name][...]
            del f[name]
            f[name] = values[: max(len(values) - 1, 0)] if data.draw(st.booleans()) else values.reshape(-1)[:7]
        else:
            del f[data.draw(st.sampled_from(names))]
    seal(path)  # crafted, as a sender would: the checksum matches, so the structure checks are what refuse it


def _hdf5_value(value):
    """The value as an HDF5 attribute can hold it (nested structures as their JSON text, no NUL in strings)."""
    if value is None or isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, str):
        return value.replace("\x00", "\\0")
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return float("nan")
    return value


DATASET_COMMANDS = [
    ["compare", "--model", "model.safetensors", "--data", "data.h5", "--repeats", "1", "--batch", "2"],
    ["train", "--surrogate", "operators.deeponet", "--data", "data.h5", "--out", "m.safetensors", "--set", "epochs=1",
     "--set", "batch_size=2", "--set", "latent=8", "--set", "branch_width=8", "--set", "trunk_width=8"],
]


@given(data=st.data(), damage=dataset_damage())
def test_a_tampered_data_set_is_refused_in_one_line(make_sandbox, data, damage):
    sandbox = make_sandbox()
    _tamper_dataset(sandbox.root / "data.h5", *damage, data)
    argv = data.draw(st.sampled_from(DATASET_COMMANDS))
    outcome = run_and_check(sandbox, argv)
    if damage[0] == "nan":
        named = "non-finite" in outcome.stderr.lower() or "nan" in outcome.stderr.lower()
        assert outcome.code == 2 and named, f"a NaN in the data set was not named: exit {outcome.code}\n{outcome.stderr}"


# ---------------------------------------------------------------------------- scenarios

TOML_VALUES = st.one_of(st.integers(-5, 10**20), st.floats(allow_nan=True), st.text(max_size=8), st.booleans(),
                        st.lists(st.integers(0, 3), max_size=3), st.just("sample:plate-with-hole"), st.just("mesh.msh"),
                        st.just("fem.heat"), st.just("darcy.fd"))


@st.composite
def scenarios(draw) -> str:
    """A scenario file: mostly the sample's keys, with values and tables swapped for others."""
    solver = draw(st.sampled_from(['"fem.heat"', '"darcy.fd"', '"fem.poisson"', "1", '""', '"no.such"', "[1]"]))
    mesh = draw(st.sampled_from(['"mesh.msh"', '"sample:l-shape"', '"fifo"', '"devnull"', '"folder"', "3", '""',
                                 '"../../etc/passwd"']))
    lines = [f"solver = {solver}", f"mesh = {mesh}"]
    parameters = draw(st.sampled_from(["[parameters]\ndt = 0.05\nt_end = 0.1", "parameters = 3", "[parameters]\nn = 16",
                                       "[parameters]\ndt = inf", "[parameters]\nn = 100000000000",
                                       "[parameters]\nt_end = -1", "", "[parameters.inner]\nx = 1"]))
    output = draw(st.sampled_from(["", "output = 7", '[output]\ndirectory = "out"', "[output]\ndirectory = 3",
                                   '[output]\ndirectory = "fifo"', "output = []", '[output]\nfile = "x"']))
    boundary = draw(st.sampled_from(["", '[[boundary]]\ntag = "hole"\nkind = "dirichlet"\nvalue = "1"',
                                     "boundary = 3", 'boundary = ["x"]', "[[boundary]]\ntag = 1\nkind = 2",
                                     '[[boundary]]\ntag = "hole"\nkind = "robin"',
                                     '[[boundary]]\ntag = "hole"\nkind = "dirichlet"\nvalue = "sin(x, x)"']))
    extra = draw(st.sampled_from(["", "title = 5", "unknown = 1", '"quoted key" = 1', "= broken", "[[solver]]"]))
    return "\n".join([*lines, extra, parameters, output, boundary]) + "\n"


@given(text=scenarios())
def test_a_malformed_scenario_runs_or_is_refused_in_one_line(make_sandbox, text):
    sandbox = make_sandbox()
    (sandbox.root / "scenario.toml").write_text(text)
    run_and_check(sandbox, ["run", "scenario.toml", "--quiet"])


# ---------------------------------------------------------------------------- meshes


@st.composite
def damaged_meshes(draw):
    """(suffix, points, cells, damage): a small square mesh with bad geometry, and maybe damaged bytes."""
    n = 4
    x, y = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    points = np.column_stack([x.ravel(), y.ravel(), np.zeros(n * n)])
    cells = []
    for j in range(n - 1):
        for i in range(n - 1):
            a = j * n + i
            cells += [[a, a + 1, a + n + 1], [a, a + n + 1, a + n]]
    cells = np.array(cells)
    action = draw(st.sampled_from(["nan", "index", "negative", "degenerate", "empty", "bytes", "bytes", "none"]))
    if action == "nan":
        points[draw(st.integers(0, len(points) - 1)), draw(st.integers(0, 1))] = np.nan
    elif action == "index":
        cells[draw(st.integers(0, len(cells) - 1)), 0] = draw(st.sampled_from([len(points), 10**9]))
    elif action == "negative":
        cells[0, 0] = -1
    elif action == "degenerate":
        points[:, :2] = 0.5
    elif action == "empty":
        cells = cells[:0]
    suffix = draw(st.sampled_from([".vtu", ".msh", ".xdmf", ".obj", ".stl", ".off", ".vtk"]))
    damage = draw(damaged_bytes(b"\x00" * 4096)) if action == "bytes" else None
    return suffix, points, cells, damage, draw(st.integers(0, 2**31))


def _write_damaged_mesh(path, points, cells, damage, seed) -> bool:
    """Write the mesh with meshio, then (if asked) damage its bytes; False if meshio cannot write it at all."""
    import meshio

    kwargs = {"file_format": "gmsh22", "binary": False} if path.suffix == ".msh" else {}
    try:
        meshio.write(path, meshio.Mesh(points, [("triangle", cells)]), **kwargs)
    except Exception:  # noqa: BLE001 - not even meshio can write it: there is no file to read back
        return False
    if damage is not None:
        data = bytearray(path.read_bytes())
        rng = np.random.default_rng(seed)
        if len(damage) < 4096:  # "truncate" drew a shorter buffer: cut the file in proportion
            data = data[: len(data) * len(damage) // 4096]
        else:
            for position in rng.integers(0, max(len(data), 1), size=8):
                if position < len(data):
                    data[position] = damage[position % len(damage)] ^ data[position] or 0x7F
        path.write_bytes(bytes(data))
    return True


MESH_COMMANDS = [["info", "MESH", "--json"],
                 ["run", "--solver", "fem.poisson", "--mesh", "MESH", "--bc", "boundary=dirichlet:0", "--out", "out",
                  "--quiet"]]


@given(mesh=damaged_meshes(), command=st.sampled_from(MESH_COMMANDS))
def test_a_damaged_mesh_is_refused_in_one_line(make_sandbox, mesh, command):
    sandbox = make_sandbox()
    suffix, points, cells, damage, seed = mesh
    path = sandbox.root / f"damaged{suffix}"
    if not _write_damaged_mesh(path, points, cells, damage, seed):
        return
    run_and_check(sandbox, [path.name if word == "MESH" else word for word in command])
