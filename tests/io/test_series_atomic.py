"""A run series appears whole or not at all, touches only its own files, and its PVD reader refuses crafted files."""

import errno
import os
import subprocess
import sys
import textwrap

import meshio
import numpy as np
import pytest

from workbench.core import Field, Frame
from workbench.core.meshgen import rectangle_mesh
from workbench.io import series as series_module
from workbench.io.atomic import OutputError, temporary_name
from workbench.io.series import (
    PVD_SIZE_LIMIT,
    SeriesError,
    SeriesExists,
    SeriesWriter,
    pvd_text,
    read_pvd,
    write_pvd_series,
)

MESH = rectangle_mesh(3)


def frames(count: int, value: float) -> list[Frame]:
    return [Frame(i, 0.1 * i, {"u": Field("u", np.full(MESH.n_points, value + i))}) for i in range(count)]


def snapshot(folder) -> dict[str, bytes | None]:
    """Every path under ``folder`` (hidden ones too) with its bytes; None for folders."""
    found = {}
    for root, folders, files in os.walk(folder):
        for name in folders:
            found[os.path.relpath(os.path.join(root, name), folder)] = None
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, folder)] = handle.read()
    return found


def values_of(pvd) -> list[float]:
    """The first value of u in every frame the PVD names (each read with meshio)."""
    return [float(meshio.read(path).point_data["u"][0]) for _, path in read_pvd(pvd)]


def test_a_new_series_replaces_the_old_one_whole(tmp_path):
    write_pvd_series(tmp_path, "run", MESH, frames(5, 100.0))
    first = snapshot(tmp_path)
    pvd = write_pvd_series(tmp_path, "run", MESH, frames(2, 0.0), overwrite=True)
    assert values_of(pvd) == [0.0, 1.0]  # no frame of the longer, earlier run
    files = {path for path, data in snapshot(tmp_path).items() if data is not None}
    assert len(files) == 3 and "run.pvd" in files and not files & set(first) - {"run.pvd"}
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]


def test_the_frames_of_the_old_flat_layout_go_and_nothing_else_does(tmp_path):
    for i in range(3):  # a series written by earlier versions: frames beside the PVD
        meshio.write(tmp_path / f"run_{i:06d}.vtu", series_module.to_meshio(MESH, frames(3, 7.0)[i]))
    (tmp_path / "run.pvd").write_text(pvd_text([(0.1 * i, f"run_{i:06d}.vtu") for i in range(2)]))
    for mine in ("notes.txt", "other_000000.vtu", "run.vtu"):
        (tmp_path / mine).write_text("the user's")
    write_pvd_series(tmp_path, "run", MESH, frames(1, 0.0), overwrite=True)
    left = sorted(os.listdir(tmp_path))
    assert "run_000000.vtu" not in left and "run_000001.vtu" not in left
    assert {"notes.txt", "other_000000.vtu", "run.vtu", "run_000002.vtu"} <= set(left)  # run_000002: not named


def test_an_existing_series_is_refused_without_overwrite_and_left_as_it_was(tmp_path):
    write_pvd_series(tmp_path, "run", MESH, frames(2, 1.0))
    before = snapshot(tmp_path)
    with pytest.raises(SeriesExists, match="run.pvd already exists"):
        write_pvd_series(tmp_path, "run", MESH, frames(2, 5.0))
    assert snapshot(tmp_path) == before


def test_leaving_without_commit_keeps_the_old_series_byte_identical(tmp_path):
    write_pvd_series(tmp_path, "run", MESH, frames(3, 1.0))
    before = snapshot(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        with SeriesWriter(tmp_path, "run", MESH, overwrite=True) as writer:
            for frame in frames(4, 9.0):
                writer.add(frame)
            raise KeyboardInterrupt
    assert snapshot(tmp_path) == before


def test_a_full_disk_while_streaming_says_after_how_many_frames_and_keeps_the_old_series(tmp_path, monkeypatch):
    write_pvd_series(tmp_path, "run", MESH, frames(3, 1.0))
    before = snapshot(tmp_path)
    real_write, calls = meshio.write, []

    def fills_up(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            with open(path, "wb") as handle:
                handle.write(b"<half a VTU")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(meshio, "write", fills_up)
    with SeriesWriter(tmp_path, "run", MESH, overwrite=True) as writer:
        with pytest.raises(OutputError, match=r"disk full after 2 frame\(s\); the previous series is unchanged"):
            for frame in frames(5, 9.0):
                writer.add(frame)
        with pytest.raises(OutputError, match="disk full"):
            writer.commit()  # a spent writer cannot publish anything
    assert snapshot(tmp_path) == before


def test_a_pvd_that_cannot_be_replaced_takes_the_new_frames_with_it(tmp_path, monkeypatch):
    write_pvd_series(tmp_path, "run", MESH, frames(3, 1.0))
    before = snapshot(tmp_path)

    def refuses(*args, **kwargs):
        raise OutputError("cannot write run.pvd: disk full; the previous file (if any) is unchanged", "disk full")

    monkeypatch.setattr(series_module, "atomic_write_text", refuses)
    with pytest.raises(OutputError, match="disk full"):
        write_pvd_series(tmp_path, "run", MESH, frames(2, 9.0), overwrite=True)
    assert snapshot(tmp_path) == before


def test_what_a_killed_writer_left_is_removed_by_the_next_one(tmp_path):
    write_pvd_series(tmp_path, "run", MESH, frames(1, 1.0))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    staging = tmp_path / temporary_name(tmp_path / "run.20000101T000000-abcdef", kind="partial").name.replace(
        f"-{os.getpid()}-", f"-{int(dead.stdout)}-")
    staging.mkdir()
    (staging / "run_000000.vtu").write_text("half")
    orphan = tmp_path / "run.20000101T000000-0a0b0c"  # published, then killed before its PVD was written
    orphan.mkdir()
    (orphan / "run_000000.vtu").write_text("never named")
    pvd = write_pvd_series(tmp_path, "run", MESH, frames(2, 0.0), overwrite=True)
    assert not staging.exists() and not orphan.exists()
    assert len(os.listdir(tmp_path)) == 2 and values_of(pvd) == [0.0, 1.0]


def test_a_crafted_old_pvd_removes_nothing_outside_the_series(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (outside / "run_000000.vtu").write_text("precious")
    out.mkdir()
    os.symlink(outside, out / "run.20000101T000000-abcdef")  # a version folder that is a link
    names = ["../outside/run_000000.vtu", str(outside / "run_000000.vtu"), "run.20000101T000000-abcdef/run_000000.vtu"]
    (out / "run.pvd").write_text(pvd_text([(0.0, name) for name in names]))
    write_pvd_series(out, "run", MESH, frames(1, 0.0), overwrite=True)
    assert (outside / "run_000000.vtu").read_text() == "precious"
    assert (out / "run.20000101T000000-abcdef").is_symlink()


def test_one_writer_at_a_time_per_series_but_other_names_in_the_folder_go_ahead(tmp_path):
    with SeriesWriter(tmp_path, "run", MESH):
        with pytest.raises(OutputError, match="being written by another"):
            SeriesWriter(tmp_path, "run", MESH, overwrite=True).__enter__()
        assert write_pvd_series(tmp_path, "other", MESH, frames(1, 0.0)).exists()


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", ".."])
def test_a_series_name_must_be_a_plain_file_name(tmp_path, name):
    with pytest.raises(SeriesError, match="cannot name a series"):
        write_pvd_series(tmp_path, name, MESH, frames(1, 0.0))


def test_frames_that_would_make_an_invalid_series_are_refused(tmp_path):
    with SeriesWriter(tmp_path, "run", MESH) as writer:
        with pytest.raises(SeriesError, match="needs finite times"):
            writer.add(Frame(0, float("nan"), {"u": Field("u", np.zeros(MESH.n_points))}))
        with pytest.raises(SeriesError, match=r"has \(3,\) values for 16 mesh points"):
            writer.add(Frame(0, 0.0, {"u": Field("u", np.zeros(3))}))
        assert writer.frames == 0


BILLION_LAUGHS = '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)
) + ']>\n<VTKFile type="Collection"><Collection><DataSet timestep="0" file="&lol9;"/></Collection></VTKFile>\n'


@pytest.mark.parametrize(("text", "fragment"), [
    (BILLION_LAUGHS, "no document type declaration"),
    ('<VTKFile type="Collection"><Collection><DataSet timestep="nan" file="a.vtu"/></Collection></VTKFile>',
     "has the time 'nan', not a finite number"),
    ('<VTKFile type="Collection"><Collection><DataSet timestep="0"/></Collection></VTKFile>', "names no file"),
    ('<VTKFile type="UnstructuredGrid"></VTKFile>', "not a PVD collection (its root is"),
    ('<VTKFile type="Collection"><Collection>', "not a PVD collection (no element found"),
    ("", "not a PVD collection"),
])
def test_read_pvd_refuses_what_is_not_a_collection_in_one_line(tmp_path, text, fragment):
    path = tmp_path / "crafted.pvd"
    path.write_text(text)
    with pytest.raises(SeriesError) as caught:
        read_pvd(path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_read_pvd_refuses_oversized_files_and_fifos_before_reading(tmp_path):
    huge = tmp_path / "huge.pvd"
    with open(huge, "wb") as handle:
        handle.truncate(PVD_SIZE_LIMIT + 1)  # sparse: nothing is written, nothing would be read
    with pytest.raises(SeriesError, match="too large for a PVD collection"):
        read_pvd(huge)
    fifo = tmp_path / "fifo.pvd"
    os.mkfifo(fifo)
    with pytest.raises(SeriesError, match="not a regular file"):
        read_pvd(fifo)  # and it does not block waiting for a writer


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory is read from /proc")
def test_reading_an_entity_bomb_stays_small(tmp_path):
    path = tmp_path / "bomb.pvd"
    path.write_text(BILLION_LAUGHS)
    # VmHWM, not ru_maxrss: after a fork and exec, ru_maxrss may still count the parent's (pytest's) pages.
    code = textwrap.dedent(f"""
        from pathlib import Path
        from workbench.io.series import SeriesError, read_pvd
        try:
            read_pvd({str(path)!r})
        except SeriesError as error:
            status = Path("/proc/self/status").read_text().splitlines()
            print("refused", next(line.split()[1] for line in status if line.startswith("VmHWM:")))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    word, peak_kb = result.stdout.split()
    assert word == "refused" and int(peak_kb) < 200_000, result.stdout


def test_a_run_that_wrote_nothing_leaves_no_output_folder(tmp_path):
    out = tmp_path / "new" / "results"
    with SeriesWriter(out, "heat", rectangle_mesh(2)):
        pass  # the solver failed before its first frame
    assert not out.exists() and (tmp_path / "new").is_dir()
    (tmp_path / "kept").mkdir()
    with SeriesWriter(tmp_path / "kept", "heat", rectangle_mesh(2)):
        pass
    assert (tmp_path / "kept").is_dir()  # it was there before: not ours to remove
