"""Project loading under a memory budget: small crafted files are refused in one line, cheaply.

Each crafted file is a few hundred kilobytes to a few megabytes and would make a
trusting loader allocate from hundreds of megabytes to gigabytes. The peak
memory is measured in a fresh interpreter, as its own ``VmHWM``
(:func:`workbench.core.memory.peak_resident_kib`; ``ru_maxrss`` would count the
test runner's pages, which Linux carries across ``exec``).
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import workbench.core.memory
from workbench.core import Field, Frame, Run, RunStatus, WorkbenchError, frame_store
from workbench.core.frame_store import MemoryBudget
from workbench.io.project import Project, ProjectError, ProjectMesh, RunEntry, load_project, save_project

from .test_project import make_project, rewrite

PEAK_RSS_LIMIT_MB = 200
N_POINTS = 250_000  # values of one honest-looking field: 2 MB of float64


def npy_header(shape, dtype="<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return buffer.getvalue()


def ref(member: str, shape) -> dict:
    return {"member": member, "dtype": "<f8", "shape": list(shape)}


def manifest(fields: list[dict], title: str = "") -> dict:
    """A version 3 manifest with one run of one frame holding ``fields``."""
    return {"format": "pdewb-project", "version": 3, "title": title,
            "meshes": [{"sample": "sample:plate-with-hole", "size": {"points": N_POINTS, "cells": 1}}],
            "runs": [{"name": "crafted", "mesh": 0, "solver_id": "x", "status": "succeeded",
                      "frames": [{"index": 0, "time": 0.0, "fields": fields}]}]}


def field_entry(key: str, member: str, shape=(N_POINTS,)) -> dict:
    return {"key": key, "name": key, "location": "point", "units": "", "values": ref(member, shape), "times": None}


def many_fields_naming_one_member(path):
    """2000 fields name one stored 2 MB member: 4 GB declared, 8 GB once copied to float64 fields."""
    fields = [field_entry(f"u{i}", "arrays/000000.npy") for i in range(2000)]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.json", json.dumps(manifest(fields)), zipfile.ZIP_DEFLATED)
        buffer = io.BytesIO()
        np.save(buffer, np.random.default_rng(0).random(N_POINTS))
        archive.writestr("arrays/000000.npy", buffer.getvalue())


def deflate_bomb_member(path, megabytes: int = 200):
    """An honestly declared 200 MB array of zeros, deflated to about 200 kB."""
    n = megabytes * (1 << 20) // 8
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.json", json.dumps(manifest([field_entry("u", "arrays/000000.npy", (n,))])))
        info = zipfile.ZipInfo("arrays/000000.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as stream:
            stream.write(npy_header((n,)))
            chunk = bytes(1 << 20)
            for _ in range(megabytes):
                stream.write(chunk)


def declared_larger_than_the_data(path):
    """project.json and the .npy header both declare 10**9 values (8 GB); the member holds 100."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.json", json.dumps(manifest([field_entry("u", "arrays/000000.npy", (10**9,))])))
        archive.writestr("arrays/000000.npy", npy_header((10**9,)) + bytes(800))


def manifest_bomb(path):
    """A valid project.json of 100 MB (a title of 'a's), deflated to about 100 kB."""
    head, tail = json.dumps(manifest([], title="@")).split("@")
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("project.json")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as stream:
            stream.write(head.encode())
            chunk = b"a" * (1 << 20)
            for _ in range(100):
                stream.write(chunk)
            stream.write(tail.encode())


def members_claiming_more_than_the_file(path):
    """A stored member whose central-directory sizes claim 2 GB in a file of a few kB."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.json", json.dumps(manifest([field_entry("u", "arrays/000000.npy", (100,))])))
        archive.writestr("arrays/000000.npy", npy_header((100,)) + bytes(800))
    data = bytearray(path.read_bytes())
    entry = data.rindex(b"PK\x01\x02")  # the last central-directory entry: the array
    struct.pack_into("<II", data, entry + 20, 2**31 - 1, 2**31 - 1)  # compressed and uncompressed size
    path.write_bytes(bytes(data))


def deeply_nested_json(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.json", "[" * 200_000 + "]" * 200_000, zipfile.ZIP_DEFLATED)


CRAFTED = {
    "many fields naming one member": (many_fields_naming_one_member,
                                      "'arrays/000000.npy' is named by 2000 arrays in project.json"),
    "deflate bomb member": (deflate_bomb_member, "refusing 'arrays/000000.npy': it would expand"),
    "declared larger than the data": (declared_larger_than_the_data, "'arrays/000000.npy' is truncated"),
    "manifest bomb": (manifest_bomb, "refusing 'project.json': it would expand"),
    "members claiming more than the file": (members_claiming_more_than_the_file,
                                            "damaged or crafted archive: its members claim 2.1 GB"),
    "200 000 deep JSON": (deeply_nested_json, "project.json is nested too deeply"),
}


@pytest.fixture(scope="module")
def crafted_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crafted")
    paths = {}
    for case, (build, _) in CRAFTED.items():
        paths[case] = folder / (case.replace(" ", "-") + ".pdewb")
        build(paths[case])
    return paths


@pytest.mark.parametrize("case", CRAFTED, ids=list(CRAFTED))
def test_a_crafted_small_file_is_refused_in_one_line(crafted_files, case):
    path = crafted_files[case]
    assert path.stat().st_size < 3_000_000
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    message = str(caught.value)
    assert isinstance(caught.value, WorkbenchError)
    assert message.startswith(f"{path.name}: ") and "\n" not in message
    assert CRAFTED[case][1] in message


MEASURE = """
import sys
from workbench.core.memory import peak_resident_kib
from workbench.io.project import ProjectError, load_project
for path in sys.argv[1:]:
    try:
        load_project(path)
        outcome = "loaded"
    except ProjectError as error:
        outcome = "refused"
    print(outcome, peak_resident_kib() // 1024, path, flush=True)
"""


def test_refusing_every_crafted_file_stays_under_200_mb(crafted_files):
    paths = [str(p) for p in crafted_files.values()]
    result = subprocess.run([sys.executable, "-c", MEASURE, *paths], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line.split(" ", 2) for line in result.stdout.splitlines()]
    assert [path for _, _, path in lines] == paths
    for outcome, peak_mb, path in lines:  # the peak so far, after each file
        assert outcome == "refused", path
        assert int(peak_mb) < PEAK_RSS_LIMIT_MB, f"{path}: peak RSS {peak_mb} MB"


# ---------------------------------------------------------------------------- honest files, checked exactly


def three_frames_of_2_mb(path):
    frames = [Frame(i, float(i), {"u": Field("u", np.full(N_POINTS, float(i)))}) for i in range(3)]
    run = Run("fem.heat", {}, RunStatus.SUCCEEDED, frames)
    return save_project(path, Project([ProjectMesh("sample:x")], [RunEntry("big", run)]))


def test_a_project_larger_than_the_memory_available_is_refused_before_reading_an_array(tmp_path, monkeypatch):
    path = three_frames_of_2_mb(tmp_path / "study.pdewb")
    monkeypatch.setattr(workbench.core.memory, "available_memory", lambda: 5_000_000)  # bytes
    monkeypatch.setattr(frame_store, "default_budget", lambda: MemoryBudget(10**12))  # frames stay in memory
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("an array was read before the budget check"))
    with pytest.raises(ProjectError, match=r"^study\.pdewb: opening its 3 arrays needs 8\.0 MB of memory; "
                                           r"only 5\.0 MB are available$"):
        load_project(path)


def test_frames_beyond_the_frame_budget_do_not_count_they_are_spilled_while_loading(tmp_path, monkeypatch):
    path = three_frames_of_2_mb(tmp_path / "study.pdewb")
    monkeypatch.setattr(workbench.core.memory, "available_memory", lambda: 5_000_000)
    budget = MemoryBudget(2_100_000)  # one frame of 2 MB stays in memory
    monkeypatch.setattr(frame_store, "default_budget", lambda: budget)
    frames = load_project(path).runs[0].run.frames
    assert frames.in_memory == 1 and [f.fields["u"].values[0] for f in frames] == [0.0, 1.0, 2.0]


def test_the_manifest_itself_is_checked_against_the_memory_available(tmp_path, monkeypatch):
    path = save_project(tmp_path / "study.pdewb", make_project())
    monkeypatch.setattr(workbench.core.memory, "available_memory", lambda: 1000)
    with pytest.raises(ProjectError, match=r"^study\.pdewb: reading project\.json needs .* of memory"):
        load_project(path)


def _second_field_names_the_first_member(m):
    fields = m["runs"][0]["frames"][0]["fields"]
    fields[1]["values"] = dict(fields[0]["values"])
    fields[1]["location"] = "point"


def _trailing_bytes(path):
    with zipfile.ZipFile(path) as archive:
        member = archive.read("arrays/000000.npy")
    rewrite(path, add={"arrays/000000.npy": member + b"\0" * 8})


def _other_dtype(m):
    m["runs"][0]["frames"][0]["fields"][0]["values"]["dtype"] = "<i8"


EXACT = {
    "a member named twice": (lambda p: rewrite(p, _second_field_names_the_first_member),
                             "'arrays/000000.npy' is named by 2 arrays in project.json; each array is stored once"),
    "bytes after the data": (_trailing_bytes, "'arrays/000000.npy' has 8 bytes more than its shape holds"),
    "another dtype declared": (lambda p: rewrite(p, _other_dtype),
                               "'arrays/000000.npy' holds float64 values, project.json says int64"),
    "no dtype": (lambda p: rewrite(p, lambda m: m["runs"][0]["frames"][0]["fields"][0]["values"].pop("dtype")),
                 "'dtype' is missing"),
    "a dtype that is none": (lambda p: rewrite(p, lambda m: m["runs"][0]["frames"][0]["fields"][0]["values"].update(
        dtype="(2,3)<f8")), "refusing 'arrays/000000.npy' of dtype"),
}


@pytest.mark.parametrize("case", EXACT, ids=list(EXACT))
def test_an_array_must_be_exactly_what_project_json_declares(tmp_path, case):
    damage, fragment = EXACT[case]
    path = save_project(tmp_path / "study.pdewb", make_project())
    damage(path)
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_fifos_and_devices_are_refused_without_reading_them(tmp_path):
    fifo = tmp_path / "pipe.pdewb"
    os.mkfifo(fifo)
    with pytest.raises(ProjectError, match="pipe.pdewb: is a FIFO, not a project file"):
        load_project(fifo)  # opening a FIFO for reading would wait for a writer forever
    with pytest.raises(ProjectError, match="/dev/zero: is a device, not a project file"):
        load_project("/dev/zero")
