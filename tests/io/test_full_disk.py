"""Every writer on a really full disk (the ``tiny_disk`` tmpfs): one line, the previous file byte-identical,
no temporary left."""

from __future__ import annotations

import os

import numpy as np
import pytest

from workbench.core import Field, Frame
from workbench.core.errors import WorkbenchError
from workbench.core.meshgen import rectangle_mesh

ROOM_BYTES = 32 * 1024  # left free on the disk: less than any new file below needs


@pytest.fixture
def full_disk(tiny_disk):
    """A folder on a tiny real disk, and a function that fills the disk up to ROOM_BYTES."""
    folder = tiny_disk / "outputs"
    folder.mkdir()
    filler = tiny_disk / "filler"

    def fill() -> None:
        stat = os.statvfs(tiny_disk)
        with open(filler, "wb") as handle:
            handle.write(b"\0" * max(stat.f_bavail * stat.f_frsize - ROOM_BYTES, 0))

    return folder, fill


def _big_frame(mesh):
    values = np.random.default_rng(0).standard_normal(mesh.n_points)
    return Frame(0, 0.0, {"u": Field("u", values), "v": Field("v", values * 2)})


def write_text(path):
    from workbench.io.atomic import atomic_write_text

    atomic_write_text(path, "x" * (4 * ROOM_BYTES))


def write_mesh(path):
    from workbench.io.series import write_vtu

    mesh = rectangle_mesh(60)
    write_vtu(path, mesh, _big_frame(mesh))


def write_table(path):
    from workbench.io.tables import write_csv

    write_csv(path, ["a", "b"], ([i, i * 0.5] for i in range(20_000)))


def write_project(path):
    from workbench.core.run import Run, RunStatus
    from workbench.io.project import Project, ProjectMesh, RunEntry, save_project

    mesh = rectangle_mesh(60)
    run = Run("fem.heat", status=RunStatus.SUCCEEDED)
    run.frames.append(_big_frame(mesh))
    save_project(path, Project(meshes=[ProjectMesh.of(mesh, None)], runs=[RunEntry("big", run)]))


def write_checkpoint(path):
    import torch

    from workbench.io.checkpoints import write_safetensors

    write_safetensors(path, {"weight": torch.zeros(20_000)}, {"format": "test", "version": 1})


WRITERS = {"text.json": write_text, "field.vtu": write_mesh, "table.csv": write_table,
           "study.pdewb": write_project, "model.safetensors": write_checkpoint}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_full_disk_keeps_the_previous_file(full_disk, name):
    folder, fill = full_disk
    target = folder / name
    target.write_bytes(b"the previous, precious file")
    fill()
    with pytest.raises(WorkbenchError) as caught:
        WRITERS[name](target)
    message = str(caught.value)
    assert "disk full" in message and "\n" not in message, message
    assert target.read_bytes() == b"the previous, precious file"
    assert [p.name for p in folder.iterdir()] == [name]
