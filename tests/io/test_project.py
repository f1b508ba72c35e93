"""Project files: exact round trips, atomic saves, refused archives, mesh references."""

import errno
import io
import json
import math
import os
import random
import shutil
import time
import zipfile
from collections import Counter

import numpy as np
import pytest

from workbench.core import BoundaryCondition, Field, Frame, Run, RunStatus, WorkbenchError
from workbench.core.meshgen import interval_mesh, rectangle_mesh
from workbench.io.meshes import open_mesh
from workbench.io.project import (
    FORMAT_VERSION,
    MeshSize,
    Project,
    ProjectMesh,
    ProjectError,
    RunEntry,
    load_project,
    prepare_save,
    save_project,
    write_prepared,
)
from workbench.io.series import write_vtu

MESH = rectangle_mesh(4)


def succeeded_run() -> Run:
    rng = np.random.default_rng(7)
    run = Run("fem.heat", {"dt": 0.01, "t_end": 0.02, "scheme": "crank-nicolson", "steps": 3, "lumped": True})
    for i in range(3):
        u = rng.standard_normal(MESH.n_points)
        k = rng.random((MESH.n_cells, 2))  # a cell field with two components
        run.frames.append(Frame(i, 0.01 * i, {"u": Field("u", u, units="K"), "flux": Field("flux", k, "cell")}))
    run.curves = {"residual": [(0, 1.0), (1, 1e-3), (2, 1.0 / 3.0)], "energy": [(5, math.inf), (6, math.nan)]}
    run.timings = {"wall_s": 0.125, "first_frame_s": 0.01}
    run.metrics = {"relative_l2": 3.2e-4, "undefined": math.nan}
    run.progress = 1.0
    run.status = RunStatus.SUCCEEDED
    run.log = ["[info] assembled 25 dofs", "[info] ünïcode λ"]
    return run


def failed_run() -> Run:
    run = Run("explodes.solver", {"value": -1.5})
    run.log.append("[info] starting")
    try:
        raise RuntimeError("boom\ninside the solver")
    except RuntimeError as error:
        run.fail(error)
    return run


def make_project(mesh: str = "sample:plate-with-hole") -> Project:
    return Project(
        meshes=[ProjectMesh(mesh)],
        title="Heat on a plate",
        runs=[
            RunEntry("fem.heat #1", succeeded_run(),
                     (BoundaryCondition("left", "dirichlet", "sin(pi*t)"), BoundaryCondition("top", "neumann", "2"))),
            RunEntry("explodes #1", failed_run()),
        ],
    )


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_same_run(entry: RunEntry, back: RunEntry) -> None:
    a, b = entry.run, back.run
    assert back.name == entry.name
    assert back.boundary_conditions == entry.boundary_conditions
    assert (b.solver_id, b.params, b.status, b.error, b.log) == (a.solver_id, a.params, a.status, a.error, a.log)
    assert b.progress == a.progress and b.timings == a.timings
    assert a.metrics.keys() == b.metrics.keys() and all(same_float(a.metrics[k], b.metrics[k]) for k in a.metrics)
    assert a.curves.keys() == b.curves.keys()
    for name in a.curves:
        assert [s for s, _ in b.curves[name]] == [s for s, _ in a.curves[name]]
        assert all(same_float(x, y) for (_, x), (_, y) in zip(a.curves[name], b.curves[name]))
    assert np.array_equal(b.times, a.times)
    assert len(b.frames) == len(a.frames)
    for fa, fb in zip(a.frames, b.frames):
        assert isinstance(fb, Frame) and fb.index == fa.index and fb.time == fa.time
        assert list(fb.fields) == list(fa.fields)
        for key, field in fa.fields.items():
            other = fb.fields[key]
            assert isinstance(other, Field)
            assert (other.name, other.location, other.units, other.times) == (field.name, field.location,
                                                                              field.units, field.times)
            assert other.values.dtype == field.values.dtype and np.array_equal(other.values, field.values)
            assert not other.values.flags.writeable


def manifest_of(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("project.json"))


def rewrite(path, edit_manifest=None, add=None, drop=()):
    """Rebuild an archive with its manifest edited and members added or dropped."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist() if name not in drop}
    if edit_manifest is not None:
        manifest = json.loads(members["project.json"])
        edit_manifest(manifest)
        members["project.json"] = json.dumps(manifest).encode()
    members.update(add or {})
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def npy_bytes(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


# ---------------------------------------------------------------------------- round trip


def test_two_runs_round_trip_exactly(tmp_path):
    project = make_project()
    path = save_project(tmp_path / "study.pdewb", project)
    back = load_project(path)
    assert (back.meshes, back.title, back.created_with) == (project.meshes, project.title, project.created_with)
    assert len(back.runs) == 2
    for entry, loaded in zip(project.runs, back.runs):
        assert_same_run(entry, loaded)
    assert back.runs[1].run.status is RunStatus.FAILED
    assert back.runs[1].run.error == "RuntimeError: boom inside the solver"
    assert back.runs[0].run.field("u").values.shape == (3, MESH.n_points)
    assert [p.name for p in tmp_path.iterdir()] == ["study.pdewb"]


def test_archive_layout_is_json_plus_npy_and_never_pickle(tmp_path):
    path = save_project(tmp_path / "study.pdewb", make_project())
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names[-1] == "project.json"  # written last: it lists the arrays written before it
        assert names[:-1] == [f"arrays/{i:06d}.npy" for i in range(3 * 2)]  # 3 frames of 2 fields
        assert all(archive.getinfo(n).compress_type == zipfile.ZIP_STORED for n in names[:-1])
        assert archive.getinfo("project.json").compress_type == zipfile.ZIP_DEFLATED
        for name in names[:-1]:
            assert np.load(io.BytesIO(archive.read(name)), allow_pickle=False).dtype == np.float64
        text = archive.read("project.json").decode()
    manifest = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert manifest["format"] == "pdewb-project" and manifest["version"] == FORMAT_VERSION
    assert manifest["runs"][0]["metrics"]["undefined"] == {"$float": "nan"}


def test_saving_again_replaces_the_file(tmp_path):
    path = tmp_path / "study.pdewb"
    project = make_project()
    save_project(path, project)
    project.runs.pop()
    project.title = "only one"
    save_project(path, project)
    back = load_project(path)
    assert back.title == "only one" and [e.name for e in back.runs] == ["fem.heat #1"]


def test_compressed_arrays_load_the_same(tmp_path):
    project = make_project()
    back = load_project(save_project(tmp_path / "z.pdewb", project, compress=True))
    assert_same_run(project.runs[0], back.runs[0])


@pytest.mark.parametrize("status", [RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.PENDING])
def test_runs_still_going_are_saved_as_cancelled_without_touching_the_live_run(tmp_path, status):
    project = make_project()
    live = project.runs[0].run
    live.status = status
    log_before = list(live.log)
    back = load_project(save_project(tmp_path / "p.pdewb", project))
    loaded = back.runs[0].run
    assert loaded.status is RunStatus.CANCELLED
    assert len(loaded.frames) == 3  # what it produced so far is kept
    assert status.value in loaded.log[-1] and "cancelled" in loaded.log[-1]
    assert live.status is status and live.log == log_before
    assert manifest_of(tmp_path / "p.pdewb")["runs"][0]["saved_while"] == status.value


def test_a_file_claiming_a_running_run_loads_it_as_cancelled(tmp_path):
    path = save_project(tmp_path / "p.pdewb", make_project())
    rewrite(path, lambda m: m["runs"][0].update(status="running"))
    assert load_project(path).runs[0].run.status is RunStatus.CANCELLED


def test_an_empty_project_round_trips(tmp_path):
    back = load_project(save_project(tmp_path / "p.pdewb", Project([ProjectMesh("sample:square")])))
    assert back.meshes == [ProjectMesh("sample:square")] and back.runs == []


def test_series_fields_keep_their_times(tmp_path):
    series = Field("u", np.arange(6.0).reshape(3, 2), times=[0.0, 0.5, 1.0])
    run = Run("x", status=RunStatus.SUCCEEDED, frames=[Frame(0, 1.0, {"u": series})])
    back = load_project(save_project(tmp_path / "p.pdewb", Project([ProjectMesh("sample:a")], [RunEntry("x", run)])))
    field = back.runs[0].run.frames[0].fields["u"]
    assert np.array_equal(field.times, series.times) and np.array_equal(field.values, series.values)


# ---------------------------------------------------------------------------- atomicity


def test_a_full_disk_mid_save_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = save_project(tmp_path / "study.pdewb", make_project())
    before = path.read_bytes()
    calls = []
    real_save = np.save

    def failing_save(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(np, "save", failing_save)
    changed = make_project()
    changed.title = "changed"
    with pytest.raises(ProjectError, match=r"study\.pdewb: cannot save: disk full; the previous file is unchanged") as caught:
        save_project(path, changed)
    assert "\n" not in str(caught.value)
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["study.pdewb"]


def test_a_parameter_that_is_not_plain_data_is_refused_before_writing(tmp_path):
    path = save_project(tmp_path / "p.pdewb", make_project())
    before = path.read_bytes()
    project = make_project()
    project.runs[0].run.params["bad"] = object()
    with pytest.raises(ProjectError, match=r"p\.pdewb: cannot save: project\.runs\[0\]\.params\.bad is of type object"):
        save_project(path, project)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["p.pdewb"]


# ---------------------------------------------------------------------------- refused files


def _newer(m):
    m["version"] = FORMAT_VERSION + 1


def _shape(m):
    m["runs"][0]["frames"][1]["fields"][0]["values"]["shape"] = [MESH.n_points + 1]


def _traversal(path):
    rewrite(path, add={"../evil.npy": npy_bytes(np.zeros(3))})


def _traversal_referenced(path):
    def edit(m):
        m["runs"][0]["frames"][0]["fields"][0]["values"] = {"member": "../evil.npy", "dtype": "<f8", "shape": [3]}
    rewrite(path, edit, add={"../evil.npy": npy_bytes(np.zeros(3))})


def _object_array(path):
    def edit(m):
        m["runs"][0]["frames"][0]["fields"][0]["values"] = {"member": "arrays/obj.npy", "dtype": "|O", "shape": [2]}
    rewrite(path, edit, add={"arrays/obj.npy": npy_bytes(np.array([{"a": 1}, None], dtype=object), True)})


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_array_byte(path):
    with zipfile.ZipFile(path) as archive:
        offset = archive.getinfo("arrays/000004.npy").header_offset
    data = bytearray(path.read_bytes())
    name_length, extra_length = (int.from_bytes(data[offset + i:offset + i + 2], "little") for i in (26, 28))
    data[offset + 30 + name_length + extra_length + 150] ^= 0xFF  # inside the stored values: the CRC catches it
    path.write_bytes(bytes(data))


def _encrypted(path):
    """Set the 'encrypted' flag of every member (local headers and central directory)."""
    data = bytearray(path.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            data[start + flag_offset] |= 0x1
            start += 4
    path.write_bytes(bytes(data))


CASES = {
    "not a zip": (lambda p: p.write_text("hello, I am not an archive"), "not a zip archive"),
    "empty file": (lambda p: p.write_bytes(b""), "not a zip archive"),
    "missing project.json": (lambda p: rewrite(p, drop=("project.json",)), "no project.json"),
    "bad json": (lambda p: rewrite(p, add={"project.json": b"{not json"}), "not valid JSON"),
    "json not an object": (lambda p: rewrite(p, add={"project.json": b"[1, 2]"}), "no format 'pdewb-project'"),
    "other format": (lambda p: rewrite(p, lambda m: m.update(format="other")), "no format 'pdewb-project'"),
    "newer version": (lambda p: rewrite(p, _newer), f"format versions up to {FORMAT_VERSION}"),
    "version not an integer": (lambda p: rewrite(p, lambda m: m.update(version="1")), "not a positive integer"),
    "missing runs": (lambda p: rewrite(p, lambda m: m.pop("runs")), "'runs' is missing"),
    "missing array": (lambda p: rewrite(p, drop=("arrays/000003.npy",)), "'arrays/000003.npy' is missing"),
    "shape mismatch": (lambda p: rewrite(p, _shape), "project.json says"),
    "unknown status": (lambda p: rewrite(p, lambda m: m["runs"][1].update(status="exploded")), "unknown status"),
    "bad boundary": (lambda p: rewrite(p, lambda m: m["runs"][0]["boundary_conditions"][0].update(kind="robin")),
                     "kind must be one of"),
    "member ../evil.npy": (_traversal, "unsafe member name '../evil.npy'"),
    "referenced ../evil.npy": (_traversal_referenced, "unsafe member name '../evil.npy'"),
    "absolute member": (lambda p: rewrite(p, add={"/etc/evil.npy": b"x"}), "unsafe member name"),
    "object dtype": (_object_array, "refusing 'arrays/obj.npy' of dtype object"),
    "not npy": (lambda p: rewrite(p, add={"arrays/000000.npy": b"PK\x03\x04" + b" " * 400}), "not a valid .npy"),
    "truncated": (_truncate, "damaged archive (truncated"),
    "corrupted": (_flip_array_byte, "study.pdewb: damaged archive"),
    "encrypted": (_encrypted, "is encrypted; project files never are"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_damaged_or_hostile_files_raise_one_line_project_errors(tmp_path, case):
    damage, fragment = CASES[case]
    path = save_project(tmp_path / "study.pdewb", make_project())
    damage(path)
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    message = str(caught.value)
    assert isinstance(caught.value, WorkbenchError)
    assert "\n" not in message and message.startswith("study.pdewb: ")
    assert fragment in message


@pytest.mark.parametrize("compress", [False, True], ids=["stored", "deflated"])
def test_random_corruption_is_refused_in_one_line_or_loads_intact(tmp_path, compress):
    """Seeded byte flips, cuts and insertions anywhere, the central directory most of all: never a traceback."""
    path = save_project(tmp_path / "study.pdewb", make_project(), compress=compress)
    original = path.read_bytes()
    rng = random.Random(13)
    outcomes = Counter()
    for _ in range(150):
        data = bytearray(original)
        position = rng.randrange(len(data)) if rng.random() < 0.5 else len(data) - 1 - rng.randrange(600)
        action = rng.choice(["flip", "cut", "insert"])
        if action == "flip":
            data[position] ^= rng.randrange(1, 256)
        elif action == "cut":
            del data[position:position + rng.randrange(1, 64)]
        else:
            data[position:position] = rng.randbytes(rng.randrange(1, 16))
        path.write_bytes(bytes(data))
        try:
            load_project(path)
            outcomes["loaded"] += 1
        except ProjectError as error:
            assert "\n" not in str(error) and str(error).startswith("study.pdewb: ")
            outcomes["refused"] += 1
    assert outcomes["refused"] > 50  # the damage was mostly noticed


def test_a_missing_file_and_a_folder_raise_project_errors(tmp_path):
    with pytest.raises(ProjectError, match="no such project file"):
        load_project(tmp_path / "nothing.pdewb")
    with pytest.raises(ProjectError, match="folder"):
        load_project(tmp_path)


def test_a_newer_version_says_which_one(tmp_path):
    path = save_project(tmp_path / "study.pdewb", make_project())
    rewrite(path, _newer)
    with pytest.raises(ProjectError, match=rf"newer PDE Workbench .*format version {FORMAT_VERSION + 1}"):
        load_project(path)


def test_a_huge_declared_array_is_refused_before_allocating(tmp_path):
    path = save_project(tmp_path / "study.pdewb", make_project())
    buffer = io.BytesIO()  # a header that claims 10**12 values, followed by none
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    lie = buffer.getvalue()

    def edit(m):
        m["runs"][0]["frames"][0]["fields"][0]["values"]["shape"] = [10**12]
    rewrite(path, edit, add={"arrays/000000.npy": lie})
    with pytest.raises(ProjectError, match="study.pdewb: .*'arrays/000000.npy' is truncated"):
        load_project(path)


# ---------------------------------------------------------------------------- mesh references


def write_mesh(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_vtu(path, MESH)
    return path


def test_a_mesh_beside_the_project_follows_the_folder_when_it_moves(tmp_path):
    folder = tmp_path / "work" / "study"
    mesh = write_mesh(folder / "meshes" / "plate.vtu")
    save_project(folder / "study.pdewb", make_project(str(mesh)))
    stored = manifest_of(folder / "study.pdewb")["meshes"][0]
    assert stored["path"] == "meshes/plate.vtu" and stored["relative"] is True

    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    shutil.move(folder, moved)
    back = load_project(moved / "study.pdewb")
    assert back.meshes[0].reference == str(moved / "meshes" / "plate.vtu")
    assert open_mesh(back.meshes[0].reference).n_points == MESH.n_points


def test_a_mesh_opened_by_a_relative_path_is_stored_relative_to_the_project(tmp_path, monkeypatch):
    write_mesh(tmp_path / "data" / "plate.vtu")
    monkeypatch.chdir(tmp_path)
    save_project(tmp_path / "projects" / "p.pdewb", make_project("data/plate.vtu"))
    assert manifest_of(tmp_path / "projects" / "p.pdewb")["meshes"][0]["path"] == "../data/plate.vtu"
    monkeypatch.chdir(tmp_path / "data")  # the working directory no longer matters
    assert load_project(tmp_path / "projects" / "p.pdewb").meshes[0].reference == str(tmp_path / "data" / "plate.vtu")


def test_a_far_away_mesh_is_stored_absolute(tmp_path):
    mesh = write_mesh(tmp_path / "a" / "b" / "c" / "plate.vtu")
    path = tmp_path / "x" / "y" / "z" / "p.pdewb"
    save_project(path, make_project(str(mesh)))
    stored = manifest_of(path)["meshes"][0]
    assert stored["relative"] is False and stored["path"] == str(mesh)
    assert load_project(path).meshes[0].reference == str(mesh)


def test_a_project_moved_away_from_its_mesh_falls_back_to_the_absolute_path(tmp_path):
    mesh = write_mesh(tmp_path / "study" / "plate.vtu")
    save_project(tmp_path / "study" / "p.pdewb", make_project(str(mesh)))
    (tmp_path / "copy").mkdir()
    shutil.copy(tmp_path / "study" / "p.pdewb", tmp_path / "copy" / "p.pdewb")
    os.remove(tmp_path / "study" / "p.pdewb")
    assert load_project(tmp_path / "copy" / "p.pdewb").meshes[0].reference == str(mesh)


def test_a_missing_mesh_resolves_beside_the_project(tmp_path):
    save_project(tmp_path / "p.pdewb", make_project(str(tmp_path / "gone.vtu")))
    assert load_project(tmp_path / "p.pdewb").meshes[0].reference == str(tmp_path / "gone.vtu")


def test_a_sample_reference_stays_as_it_is(tmp_path):
    path = save_project(tmp_path / "p.pdewb", make_project("sample:plate-with-hole"))
    assert manifest_of(path)["meshes"] == [{"sample": "sample:plate-with-hole"}]
    assert load_project(path).meshes[0].reference == "sample:plate-with-hole"


# ---------------------------------------------------------------------------- embedded meshes and mesh sizes


def grid_project(mesh=MESH) -> Project:
    """A solver's own grid: no file to refer to, so it is embedded."""
    run = succeeded_run() if mesh is MESH else Run("spectral.burgers", {"n": 8}, RunStatus.SUCCEEDED)
    return Project(meshes=[ProjectMesh(embedded=mesh)], runs=[RunEntry("grid #1", run)])


@pytest.mark.parametrize("mesh", [MESH, interval_mesh(8)], ids=["rectangle", "interval"])
def test_an_embedded_grid_round_trips_with_its_named_sides(tmp_path, mesh):
    back = load_project(save_project(tmp_path / "grid.pdewb", grid_project(mesh)))
    [stored] = back.meshes
    grid = stored.embedded
    assert stored.reference == "" and stored.size == MeshSize(mesh.n_points, mesh.n_cells)
    assert np.array_equal(grid.points, mesh.points) and grid.boundary_names() == mesh.boundary_names()
    for a, b in zip((*mesh.cells, *mesh.boundary), (*grid.cells, *grid.boundary)):
        assert a.type == b.type and np.array_equal(a.connectivity, b.connectivity) and np.array_equal(a.tags, b.tags)
    assert np.array_equal(grid.boundary_facets("left"), mesh.boundary_facets("left"))
    assert manifest_of(tmp_path / "grid.pdewb")["meshes"][0]["size"] == {"points": mesh.n_points, "cells": mesh.n_cells}


def _bad_index(path):
    with zipfile.ZipFile(path) as archive:
        triangles = np.load(io.BytesIO(archive.read("arrays/000001.npy")))
    triangles[0, 0] = MESH.n_points + 5
    rewrite(path, add={"arrays/000001.npy": npy_bytes(triangles)})


def _float_cells(path):
    with zipfile.ZipFile(path) as archive:
        triangles = np.load(io.BytesIO(archive.read("arrays/000001.npy")))

    def edit(m):
        m["meshes"][0]["embedded"]["cells"][0]["connectivity"]["dtype"] = "<f8"
    rewrite(path, edit, add={"arrays/000001.npy": npy_bytes(triangles.astype(float))})


def _short_field(path):
    """A field with one value fewer than the mesh has points, consistent in project.json and its member."""
    member = manifest_of(path)["runs"][0]["frames"][0]["fields"][0]["values"]["member"]

    def edit(m):
        m["runs"][0]["frames"][0]["fields"][0]["values"]["shape"] = [MESH.n_points - 1]
    rewrite(path, edit, add={member: npy_bytes(np.zeros(MESH.n_points - 1))})


EMBEDDED_CASES = {
    "index out of range": (_bad_index, "embedded mesh 1: "),
    "float connectivity": (_float_cells, "integers are expected"),
    "bad physical name": (lambda p: rewrite(p, lambda m: m["meshes"][0]["embedded"]["physical_names"].update(left="x")),
                          "physical name 'left' must be [tag, dimension]"),
    "negative size": (lambda p: rewrite(p, lambda m: m["meshes"][0]["size"].update(points=-1)), "is not a count"),
    "size says otherwise": (lambda p: rewrite(p, lambda m: m["meshes"][0]["size"].update(points=99)),
                            "embedded mesh 1: it has 25 points and 32 cells, project.json says 99 points and 32 cells"),
    "a field shorter than the mesh": (_short_field, "run 'grid #1' frame 0 field 'u': 24 values per frame, "
                                                    "its mesh has 25 points"),
}


@pytest.mark.parametrize("case", EMBEDDED_CASES, ids=list(EMBEDDED_CASES))
def test_a_damaged_embedded_mesh_raises_a_project_error(tmp_path, case):
    damage, fragment = EMBEDDED_CASES[case]
    path = save_project(tmp_path / "grid.pdewb", grid_project())
    damage(path)
    with pytest.raises(ProjectError, match=r"^grid\.pdewb: ") as caught:
        load_project(path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_the_mesh_size_is_recorded_and_checks_a_mesh(tmp_path):
    project = make_project()
    project.meshes[0].size = MeshSize.of(MESH)
    back = load_project(save_project(tmp_path / "p.pdewb", project))
    assert back.meshes[0].size == MeshSize(25, 32)
    assert back.mesh_mismatch(0, MESH) is None
    other = rectangle_mesh(3)
    assert back.mesh_mismatch(0, other) == ("it has 16 points and 18 cells; "
                                            "the project's mesh had 25 points and 32 cells")


def as_single_mesh_version(version: int):
    """An edit turning a version 3 manifest into what versions 1 and 2 wrote: one ``mesh`` for all runs."""
    def edit(m):
        m["version"] = version
        [m["mesh"]] = m.pop("meshes")
        for run in m["runs"]:
            assert run.pop("mesh") == 0
        if version == 1:
            m["mesh"].pop("size", None)
    return edit


def test_a_version_1_file_still_loads_and_its_fields_check_a_mesh(tmp_path):
    path = save_project(tmp_path / "old.pdewb", make_project())
    rewrite(path, as_single_mesh_version(1))
    back = load_project(path)
    assert back.meshes == [ProjectMesh("sample:plate-with-hole")]
    assert [entry.mesh for entry in back.runs] == [0, 0]
    assert_same_run(make_project().runs[0], back.runs[0])
    assert back.mesh_mismatch(0, MESH) is None  # no size recorded: the runs' fields decide
    assert back.mesh_mismatch(0, rectangle_mesh(3)) == ("run 'fem.heat #1' has 25 values of 'u' per frame, "
                                                        "this mesh has 16 points")


def test_a_version_2_file_with_an_embedded_grid_still_loads(tmp_path):
    path = save_project(tmp_path / "grid.pdewb", grid_project())
    rewrite(path, as_single_mesh_version(2))
    back = load_project(path)
    [stored] = back.meshes
    assert stored.size == MeshSize.of(MESH) and np.array_equal(stored.embedded.points, MESH.points)
    assert_same_run(grid_project().runs[0], back.runs[0])


# ---------------------------------------------------------------------------- several meshes


def two_mesh_project(tmp_path) -> Project:
    """Runs on a mesh file, on a solver's grid and on a sample, interleaved (a sitting's order)."""
    small = rectangle_mesh(3)
    mesh_file = write_mesh(tmp_path / "meshes" / "plate.vtu")
    on_grid = Run("darcy.fd", {"n": 3}, RunStatus.SUCCEEDED,
                  [Frame(0, 0.0, {"p": Field("p", np.linspace(0.0, 1.0, small.n_points))})])
    return Project(
        meshes=[ProjectMesh(str(mesh_file), size=MeshSize.of(MESH)), ProjectMesh(embedded=small),
                ProjectMesh("sample:plate-with-hole")],
        runs=[RunEntry("heat #1", succeeded_run(), mesh=0), RunEntry("darcy #2", on_grid, mesh=1),
              RunEntry("explodes #3", failed_run(), mesh=2), RunEntry("heat #4", succeeded_run(), mesh=0)],
    )


def test_runs_on_several_meshes_round_trip_each_with_its_own_mesh(tmp_path):
    project = two_mesh_project(tmp_path)
    back = load_project(save_project(tmp_path / "p.pdewb", project))
    assert [e.name for e in back.runs] == ["heat #1", "darcy #2", "explodes #3", "heat #4"]
    assert [e.mesh for e in back.runs] == [0, 1, 2, 0]
    for entry, loaded in zip(project.runs, back.runs):
        assert_same_run(entry, loaded)
    file_mesh, grid, sample = back.meshes
    assert file_mesh.reference == str(tmp_path / "meshes" / "plate.vtu") and file_mesh.embedded is None
    assert grid.reference == "" and np.array_equal(grid.embedded.points, project.meshes[1].embedded.points)
    assert sample == ProjectMesh("sample:plate-with-hole")
    assert [e.name for e in back.runs_on(0)] == ["heat #1", "heat #4"]
    assert back.mesh_mismatch(1, rectangle_mesh(3)) is None
    assert back.mesh_mismatch(0, rectangle_mesh(3)) == ("it has 16 points and 18 cells; "
                                                        "the project's mesh had 25 points and 32 cells")
    stored = manifest_of(tmp_path / "p.pdewb")
    assert [run["mesh"] for run in stored["runs"]] == [0, 1, 2, 0] and len(stored["meshes"]) == 3


@pytest.mark.parametrize("index", [3, -1, "0", None])
def test_a_run_naming_a_mesh_the_project_lacks_is_refused_on_save_and_on_load(tmp_path, index):
    project = two_mesh_project(tmp_path)
    project.runs[1].mesh = index
    with pytest.raises(ProjectError, match=r"^p\.pdewb: cannot save: run 'darcy #2' names mesh .*3 meshes$"):
        save_project(tmp_path / "p.pdewb", project)
    assert not (tmp_path / "p.pdewb").exists()

    path = save_project(tmp_path / "p.pdewb", two_mesh_project(tmp_path))
    rewrite(path, lambda m: m["runs"][1].update(mesh=index))
    with pytest.raises(ProjectError, match=r"^p\.pdewb: run 'darcy #2'") as caught:
        load_project(path)
    assert "\n" not in str(caught.value)


def test_a_mesh_with_neither_a_file_nor_its_arrays_is_refused_on_save(tmp_path):
    with pytest.raises(ProjectError, match="mesh 1 has neither a file nor its arrays"):
        save_project(tmp_path / "p.pdewb", Project([ProjectMesh("")]))


def test_preparing_a_save_touches_no_file_and_reads_no_frame(tmp_path, monkeypatch):
    project = make_project()
    store = project.runs[0].run.frames
    monkeypatch.setattr(type(store), "__getitem__", lambda *a: pytest.fail("a frame was read while preparing"))
    monkeypatch.setattr(type(store), "__iter__", lambda *a: pytest.fail("a frame was read while preparing"))
    prepared = prepare_save(tmp_path / "p.pdewb", project)
    assert list(tmp_path.iterdir()) == []
    assert prepared.frames[0] == (store, 3) and prepared.arrays == ()
    monkeypatch.undo()
    back = load_project(write_prepared(prepared))
    assert_same_run(project.runs[0], back.runs[0])


def test_frames_added_after_preparing_are_not_written(tmp_path):
    """A run still going keeps appending while the file is written: the file holds the frames of the snapshot."""
    project = make_project()
    run = project.runs[0].run
    prepared = prepare_save(tmp_path / "p.pdewb", project)
    run.frames.append(Frame(3, 0.03, dict(run.frames[0].fields)))
    back = load_project(write_prepared(prepared))
    assert len(back.runs[0].run.frames) == 3 and len(run.frames) == 4


def test_frames_spilled_to_disk_are_saved_and_loaded(tmp_path):
    from workbench.core.frame_store import FrameStore, MemoryBudget

    budget = MemoryBudget(0)  # keeps no frame in memory: every frame is in the spill file
    values = [np.random.default_rng(i).random(MESH.n_points) for i in range(4)]
    frames = FrameStore([Frame(i, 0.1 * i, {"u": Field("u", v)}) for i, v in enumerate(values)], budget)
    assert frames.in_memory == 0
    run = Run("fem.heat", {}, RunStatus.SUCCEEDED, frames)
    back = load_project(save_project(tmp_path / "p.pdewb", Project([ProjectMesh("sample:x")], [RunEntry("r", run)])))
    loaded = back.runs[0].run.frames
    assert [np.array_equal(f.fields["u"].values, v) for f, v in zip(loaded, values)] == [True] * 4


def test_a_parameter_nested_too_deeply_is_one_line(tmp_path):
    nested: list = []
    for _ in range(100_000):
        nested = [nested]
    project = make_project()
    project.runs[0].run.params["deep"] = nested
    with pytest.raises(ProjectError, match=r"^p\.pdewb: cannot save: a parameter is nested too deeply$"):
        save_project(tmp_path / "p.pdewb", project)


# ---------------------------------------------------------------------------- timing (run with PDEWB_BENCH=1 -s)


@pytest.mark.skipif(not os.environ.get("PDEWB_BENCH"), reason="set PDEWB_BENCH=1 to measure (writes ~300 MB)")
def test_measure_stored_versus_deflated(tmp_path):
    n, n_frames = 100_000, 200
    xy = np.random.default_rng(0).random((n, 2))
    shape = np.sin(np.pi * xy[:, 0]) * np.sin(np.pi * xy[:, 1])
    frames = [Frame(i, 0.01 * i, {"u": Field("u", shape * np.exp(-0.01 * i))}) for i in range(n_frames)]
    project = Project([ProjectMesh("sample:x")], [RunEntry("big", Run("fem.heat", {}, RunStatus.SUCCEEDED, frames))])
    print()
    for compress in (False, True):
        path = tmp_path / f"big{int(compress)}.pdewb"
        start = time.perf_counter()
        save_project(path, project, compress=compress)
        saved = time.perf_counter() - start
        start = time.perf_counter()
        back = load_project(path)
        loaded = time.perf_counter() - start
        assert np.array_equal(back.runs[0].run.frames[-1].fields["u"].values, frames[-1].fields["u"].values)
        print(f"{n_frames} frames x {n} points, {'ZIP_DEFLATED' if compress else 'ZIP_STORED  '}: "
              f"{path.stat().st_size / 1e6:.1f} MB, save {saved:.2f} s, load {loaded:.2f} s")
