"""`pdewb run` killed, terminated or out of disk at random points: the old series byte-identical, or the new one whole.

Each trial starts from a copy of one finished series and replaces it with
``--overwrite``; the marker for "part-way" is the number of frames in the hidden
staging folder, polled, never a blind sleep. The randomness is seeded.
"""

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import meshio
import pytest

from workbench.cli.main import main
from workbench.io.series import read_pvd

HEAT = ["run", "--mesh", "sample:plate-with-hole", "--solver", "fem.heat", "--bc", "hole=dirichlet:1",
        "--set", "output_every=1", "--quiet", "--json"]
OLD = ["--set", "dt=0.05", "--set", "t_end=0.1"]  # 3 frames
NEW = ["--set", "dt=0.005", "--set", "t_end=0.2"]  # 41 frames, about 10 ms each
NEW_TIMES = [0.005 * i for i in range(41)]
ENDLESS = ["--set", "dt=0.005", "--set", "t_end=1000"]
PVD = "fem-heat.pvd"


@pytest.fixture(scope="module")
def old_series(tmp_path_factory) -> Path:
    """A finished 3-frame series, copied into each trial's output folder."""
    folder = tmp_path_factory.mktemp("old") / "out"
    assert main([*HEAT, *OLD, "--out", str(folder)]) == 0
    return folder


def snapshot(folder: Path) -> dict[str, bytes | None]:
    found = {}
    for root, folders, files in os.walk(folder):
        for name in folders:
            found[os.path.relpath(os.path.join(root, name), folder)] = None
        for name in files:
            found[os.path.relpath(os.path.join(root, name), folder)] = Path(root, name).read_bytes()
    return found


def start(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workbench.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def staged_frames(out: Path) -> int:
    return sum(len(os.listdir(folder)) for folder in out.glob(".fem-heat.*.partial") if folder.is_dir())


def wait_for_frames(process: subprocess.Popen, out: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while staged_frames(out) < count and process.poll() is None:
        assert time.monotonic() < deadline, "the run never got that far"
        time.sleep(0.002)


def wait_for_new_pvd(process: subprocess.Popen, out: Path, old: bytes) -> None:
    deadline = time.monotonic() + 60
    while (out / PVD).read_bytes() == old and process.poll() is None:
        assert time.monotonic() < deadline, "the run never committed"
        time.sleep(0.001)


def assert_old_or_new_whole(out: Path, before: dict) -> str:
    """The PVD is the old one with its frames byte-identical, or the new one with all 41 frames readable."""
    pvd = out / PVD
    entries = read_pvd(pvd)
    if pvd.read_bytes() == before[PVD]:
        for _, path in entries:
            assert path.read_bytes() == before[os.path.relpath(path, out)]
        return "old"
    assert [t for t, _ in entries] == pytest.approx(NEW_TIMES)
    assert len({path.parent for _, path in entries}) == 1  # one version: no frame of another run
    for _, path in entries:
        assert len(meshio.read(path).point_data["u"]) == 2268
    return "new"


def assert_only_the_series(out: Path) -> None:
    """What a finished writer leaves: the PVD and the one folder of frames it names; nothing hidden."""
    names = sorted(os.listdir(out))
    folders = {path.parent.name for _, path in read_pvd(out / PVD)}
    assert names == sorted([PVD, *folders]) and len(folders) == 1, names


def test_kill_9_at_random_points_leaves_the_old_series_or_the_new_one_whole(tmp_path, old_series):
    rng = random.Random(20240611)
    outcomes, folders = [], []
    # Part-way through the frames; with all 41 staged (the commit); after the PVD was replaced (the clean-up).
    for trial, frames in enumerate([rng.randint(0, 40) for _ in range(3)] + [41, "committed"]):
        out = tmp_path / f"trial{trial}"
        shutil.copytree(old_series, out)
        before = snapshot(out)
        process = start([*HEAT, *NEW, "--overwrite", "--out", str(out)])
        try:
            if frames == "committed":
                wait_for_new_pvd(process, out, before[PVD])
            else:
                wait_for_frames(process, out, frames)
            time.sleep(rng.uniform(0, 0.005))
            process.kill()
            process.communicate(timeout=30)
        finally:
            process.kill()
        outcomes.append(assert_old_or_new_whole(out, before))
        folders.append(out)
    assert outcomes[:3] == ["old"] * 3 and outcomes[-1] == "new", outcomes
    # The next run into each folder removes what the killed one left (its staging, an unnamed version).
    for out in folders:
        assert main([*HEAT, *OLD, "--overwrite", "--out", str(out)]) == 0
        assert_only_the_series(out)


def test_sigterm_ends_the_run_as_cancelled_with_its_frames_written_and_exit_143(tmp_path, old_series):
    rng = random.Random(7)
    for trial in range(3):
        out = tmp_path / f"trial{trial}"
        shutil.copytree(old_series, out)
        wanted = rng.randint(1, 12)
        process = start([*HEAT, *ENDLESS, "--overwrite", "--out", str(out)])
        try:
            wait_for_frames(process, out, wanted)
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
        assert process.returncode == 143, stderr
        summary = json.loads(stdout)
        assert summary["status"] == "cancelled" and summary["terminated"] is True
        entries = read_pvd(out / PVD)
        assert len(entries) == summary["frames"] == summary["frames_written"] >= wanted
        assert [t for t, _ in entries] == pytest.approx(summary["times"])
        assert_only_the_series(out)
        meshio.read(entries[-1][1])


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_file_size_limit_keeps_the_old_series_and_says_so_in_one_line(tmp_path, old_series):
    out = tmp_path / "out"
    shutil.copytree(old_series, out)
    before = snapshot(out)
    process = start([*HEAT, *NEW, "--overwrite", "--out", str(out)], preexec_fn=_limit_file_size(64_000))
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("pdewb: error: cannot write the series ")
    assert "file too large (a file-size limit) after 0 frame(s); the previous series is unchanged" in stderr
    assert snapshot(out) == before


def test_a_full_disk_part_way_keeps_the_old_series_and_leaves_nothing(tiny_disk, old_series):
    out = tiny_disk / "out"
    shutil.copytree(old_series, out)
    before = snapshot(out)
    process = start([*HEAT, *NEW, "--overwrite", "--out", str(out)])
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and stdout == ""
    assert stderr.count("\n") == 1 and "disk full after " in stderr and "the previous series is unchanged" in stderr
    written = int(stderr.split("disk full after ")[1].split()[0])
    assert 0 < written < 41  # part-way: some frames fitted, then the disk was full
    assert snapshot(out) == before
    assert os.listdir(tiny_disk) == ["out"]


def test_the_demo_replaces_its_own_earlier_demo_but_no_other_series(tmp_path, monkeypatch, capsys):
    from workbench.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--quiet"]) == 0
    assert main(["demo", "--quiet"]) == 0  # ./scripts/start, run twice on a machine without a display
    assert len([p for p in (tmp_path / "results/demo").iterdir() if p.is_dir()]) == 1
    assert main(["demo", "--quiet", "--out", "mine"]) == 0
    capsys.readouterr()
    assert main(["demo", "--quiet", "--out", "mine"]) == 2
    assert "--overwrite" in capsys.readouterr().err
