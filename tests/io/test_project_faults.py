"""Project saves under faults: killed (kill -9, SIGTERM) at random points, a full disk, a file-size limit.

Whatever happens, the project file is either the previous one, byte-identical,
or the new one, complete; a SIGTERM leaves no temporary, and the temporary of a
``kill -9`` goes with the next save into the folder (by another process, as
after a crash).
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.io.project import ProjectError, load_project, save_project

from .test_project import make_project

SEED = 20240613
MEGABYTES = 24  # the project a child writes: 12 frames of 2 MB, a few tenths of a second of writing
FRAMES = MEGABYTES // 2

SAVER = """
import resource, signal, sys
import numpy as np
from workbench.core import Field, Frame, Run, RunStatus
from workbench.core.interrupts import Terminated, terminate_as_interrupt
from workbench.io.project import Project, ProjectError, ProjectMesh, RunEntry, save_project

path, frames, size_limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if size_limit:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (size_limit, size_limit))
fields = [Frame(i, 0.1 * i, {"u": Field("u", np.full(250_000, float(i)))}) for i in range(frames)]
run = Run("fem.heat", {"dt": 0.1}, RunStatus.SUCCEEDED, fields)
project = Project([ProjectMesh("sample:plate-with-hole")], [RunEntry("new", run)], title="new")
print("saving", flush=True)
try:
    with terminate_as_interrupt():
        save_project(path, project)
except ProjectError as error:
    print(error, flush=True)
    sys.exit(2)
except Terminated:
    sys.exit(143)
print("saved", flush=True)
"""


def start_saver(path: Path, frames: int = FRAMES, size_limit: int = 0) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SAVER, str(path), str(frames), str(size_limit)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def kill_when_written(child: subprocess.Popen, folder: Path, fraction: float, signal_number: int) -> None:
    """Send ``signal_number`` once the temporary holds ``fraction`` of the project (or the child ended)."""
    assert child.stdout.readline().strip() == "saving", child.stderr.read()
    threshold = fraction * MEGABYTES * 1_048_576
    deadline = time.monotonic() + 60
    while child.poll() is None and time.monotonic() < deadline:
        written = 0
        for path in folder.glob(".study.pdewb.pdewb-*"):
            with contextlib.suppress(FileNotFoundError):
                written = max(written, path.stat().st_size)
        if written >= threshold:
            break
        time.sleep(0.001)
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(signal_number)
    child.communicate(timeout=60)


def assert_old_or_new_complete(path: Path, before: bytes) -> str:
    """'old' if ``path`` holds the previous bytes, 'new' if it holds the whole new project; fails otherwise."""
    if path.read_bytes() == before:
        return "old"
    project = load_project(path)  # a ProjectError here would be a half-written file
    assert project.title == "new" and len(project.runs[0].run.frames) == FRAMES
    assert project.runs[0].run.frames[-1].fields["u"].values[-1] == FRAMES - 1
    return "new"


@pytest.fixture
def previous(tmp_path) -> tuple[Path, bytes]:
    path = save_project(tmp_path / "study.pdewb", make_project())
    return path, path.read_bytes()


FRACTIONS = random.Random(SEED).sample([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], 6)


@pytest.mark.parametrize("fraction", FRACTIONS[:3])
def test_sigterm_at_a_random_point_keeps_the_previous_file_and_leaves_no_temporary(previous, fraction):
    path, before = previous
    child = start_saver(path)
    kill_when_written(child, path.parent, fraction, signal.SIGTERM)
    assert child.returncode in (143, 0), child.returncode
    outcome = assert_old_or_new_complete(path, before)
    assert (outcome == "old") == (child.returncode == 143)
    assert temporaries(path.parent) == []


@pytest.mark.parametrize("fraction", FRACTIONS[3:])
def test_kill_9_at_a_random_point_keeps_the_previous_file_and_the_next_save_sweeps_up(previous, fraction):
    path, before = previous
    child = start_saver(path)
    kill_when_written(child, path.parent, fraction, signal.SIGKILL)
    assert child.returncode in (-signal.SIGKILL, 0), child.returncode
    outcome = assert_old_or_new_complete(path, before)
    if child.returncode == -signal.SIGKILL and outcome == "old" and fraction > 0:
        assert temporaries(path.parent), "killed mid-write: its temporary should still be there"

    after = start_saver(path, frames=1)  # the next save into the folder, by another process
    after.communicate(timeout=60)
    assert after.returncode == 0
    assert temporaries(path.parent) == []
    assert len(load_project(path).runs[0].run.frames) == 1


def test_a_really_full_disk_keeps_the_previous_file_and_leaves_no_temporary(tiny_disk):
    path = save_project(tiny_disk / "study.pdewb", make_project())
    before = path.read_bytes()
    child = start_saver(path, frames=1)  # 2 MB on a 1 MB disk
    out, err = child.communicate(timeout=60)
    assert child.returncode == 2, err
    assert out.splitlines()[-1] == "study.pdewb: cannot save: disk full; the previous file is unchanged"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["study.pdewb"]


def test_a_file_size_limit_keeps_the_previous_file_and_leaves_no_temporary(previous):
    path, before = previous
    child = start_saver(path, frames=2, size_limit=1_000_000)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 2, err
    assert out.splitlines()[-1] == ("study.pdewb: cannot save: file too large (a file-size limit); "
                                    "the previous file is unchanged")
    assert path.read_bytes() == before
    assert temporaries(path.parent) == []


def test_a_save_into_a_folder_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(ProjectError, match=r"^study\.pdewb: cannot save: .*file, not a folder"):
        save_project(tmp_path / "file" / "study.pdewb", make_project())
