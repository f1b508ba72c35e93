"""Writers refuse targets that are not regular files, respect the umask, clean up after dead processes."""

import os
import stat
import subprocess
import sys
import textwrap

import pytest

from workbench.io.atomic import (
    OutputError,
    atomic_path,
    atomic_write_text,
    check_output_target,
    remove_stale_temporaries,
    temporary_name,
)
from workbench.io.locks import lock_path, output_lock


def _fifo(path):
    os.mkfifo(path)
    return path


def _symlink_to_a_file(path):
    victim = path.with_name("victim.txt")
    victim.write_text("not yours")
    path.symlink_to(victim)
    return path


def _folder(path):
    path.mkdir()
    return path


@pytest.mark.parametrize("make, kind", [(_fifo, "a FIFO"), (_symlink_to_a_file, "a symbolic link"),
                                        (_folder, "a folder")])
def test_a_target_that_is_not_a_regular_file_is_refused_and_left_alone(tmp_path, make, kind):
    target = make(tmp_path / "out.vtu")
    before = os.lstat(target)
    with pytest.raises(OutputError, match=f"it is {kind}, not a regular file"):
        atomic_write_text(target, "new")
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    if kind == "a symbolic link":
        assert (tmp_path / "victim.txt").read_text() == "not yours"
    assert not [p for p in tmp_path.iterdir() if ".pdewb-" in p.name]


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="creating a device node needs root")
def test_a_device_node_stays_a_device_even_for_root(tmp_path):
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
    with pytest.raises(OutputError, match="it is a device"):
        atomic_write_text(device, "data")
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_a_parent_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "plain").write_text("")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        atomic_write_text(tmp_path / "plain" / "out.txt", "x")
    with pytest.raises(OutputError, match="not a folder"):
        check_output_target(tmp_path / "plain" / "deeper" / "out.txt")


def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    previous = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "shared.txt", "x")
        assert stat.S_IMODE(os.stat(tmp_path / "shared.txt").st_mode) == 0o644
        os.chmod(tmp_path / "shared.txt", 0o640)
        atomic_write_text(tmp_path / "shared.txt", "y")
        assert stat.S_IMODE(os.stat(tmp_path / "shared.txt").st_mode) == 0o640
    finally:
        os.umask(previous)


def test_temporaries_of_dead_processes_are_removed_by_the_next_write(tmp_path):
    # A child writes a temporary and is killed before it can clean up.
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from workbench.io.atomic import atomic_path
        with atomic_path(Path({str(tmp_path)!r}) / "result.txt") as temporary:
            temporary.write_text("half")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    completed = subprocess.run([sys.executable, "-c", script])
    assert completed.returncode == -9
    leftovers = [p for p in tmp_path.iterdir() if ".pdewb-" in p.name]
    assert len(leftovers) == 1
    live = temporary_name(tmp_path / "other.txt")  # ours: this process is alive, so it is kept
    live.write_text("in use")
    removed = remove_stale_temporaries(tmp_path, force=True)
    assert removed == leftovers
    assert live.exists() and not leftovers[0].exists()


def test_a_failing_writer_keeps_the_old_file_byte_identical(tmp_path):
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"old bytes")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"new")
            raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"old bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_a_file_size_limit_is_one_line_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "big.bin"
    target.write_bytes(b"old")
    script = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        from workbench.io.atomic import OutputError, atomic_write_bytes
        try:
            atomic_write_bytes({str(target)!r}, bytes(1 << 20))
        except OutputError as error:
            print(error)
            sys.exit(2)
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert completed.returncode == 2, completed.stderr
    assert "file too large" in completed.stdout and "previous file (if any) is unchanged" in completed.stdout
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]


def test_one_writer_per_output(tmp_path):
    target = tmp_path / "set.h5"
    with output_lock(target, "datagen"):
        assert lock_path(target).exists()
        script = textwrap.dedent(f"""
            from workbench.io.locks import output_lock
            with output_lock({str(target)!r}, "datagen"):
                pass
        """)
        completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        assert completed.returncode != 0
        assert f"is being written by another datagen process (pid {os.getpid()})" in completed.stderr
    assert not lock_path(target).exists()
    with output_lock(target):  # free again
        pass


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    target = tmp_path / "out"
    script = textwrap.dedent(f"""
        import os, signal
        from workbench.io.locks import output_lock
        with output_lock({str(target)!r}):
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert subprocess.run([sys.executable, "-c", script]).returncode == -9
    assert lock_path(target).exists()
    with output_lock(target):
        pass
    assert not lock_path(target).exists()


def test_a_long_lived_writer_sweeps_a_folder_again_once_it_changed(tmp_path, monkeypatch):
    from workbench.io import atomic

    atomic_write_text(tmp_path / "first.txt", "x")  # the first write scans the folder
    dead = tmp_path / f".later.txt.pdewb-{atomic._HOST}-999999999-0123abcd.tmp.txt"
    dead.write_text("left by a killed process after our first scan")
    atomic_write_text(tmp_path / "second.txt", "y")
    assert dead.exists()  # a scan a moment ago: not yet
    monkeypatch.setattr(atomic, "RESCAN_SECONDS", 0.0)
    atomic_write_text(tmp_path / "third.txt", "z")
    assert not dead.exists()
