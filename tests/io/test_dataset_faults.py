"""``pdewb datagen`` under faults: kill -9 and SIGTERM at random points, a file-size limit, a full disk.

Done means: the previous complete file stays byte-identical or the new one is
complete; a failure is one line (exit 2), leaves no temporary and keeps a partial
state whose resume gives a file equal sample for sample (bit for bit) to an
uninterrupted run. Each scenario runs in a child process (a limit or a signal must
not reach pytest); the file-size and disk sweeps run many generations in one child.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import pdewb_darcy.plugin
from workbench.io.datasets import generate_dataset, partial_path, read_dataset
from workbench.testing import host_with

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and resource limits")

SAMPLES, SEED = 24, 7
COMMAND = ["datagen", "--solver", "darcy.fd", "--set", "n=16", "--samples", str(SAMPLES), "--batch", "2",
           "--seed", str(SEED), "--overwrite", "--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """(reference, older): the uninterrupted generation asked for, and an older file of other settings."""
    solver = host_with(pdewb_darcy.plugin).solver("darcy.fd")
    folder = tmp_path_factory.mktemp("faults")
    reference, older = folder / "reference.h5", folder / "older.h5"
    generate_dataset(solver, reference, SAMPLES, {"n": 16}, batch=SAMPLES, seed=SEED)
    generate_dataset(solver, older, SAMPLES, {"n": 16}, batch=SAMPLES, seed=SEED + 1)
    return reference, older


def _equal_samples(path, reference):
    got, want = read_dataset(path), read_dataset(reference)
    return got[0].keys() == want[0].keys() and all(np.array_equal(got[0][k], want[0][k]) for k in want[0]) and (
        np.array_equal(got[1]["seed"], want[1]["seed"]))


def _leftovers(folder):
    """Temporaries and lock files in ``folder`` and its partial state (the state itself is not a leftover)."""
    places = [folder, partial_path(folder / "data.h5")]
    return sorted(entry.name for place in places if place.is_dir() for entry in os.scandir(place)
                  if ".pdewb-" in entry.name or entry.name.endswith(".lock"))


# ---------------------------------------------------------------------------------------
# kill -9 and SIGTERM


KILLS = """
import json, os, random, signal, sys, time
from pathlib import Path
import numpy as np
import workbench.io.dataset_shards as shards
from workbench.cli.main import main
from workbench.io.datasets import read_dataset

folder, reference, command, plan = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
out, lock, rng = folder / "data.h5", folder / ".data.h5.lock", random.Random(int(sys.argv[5]))

def hooked(original, count, number):
    calls = []
    def call(*args, **kwargs):
        calls.append(1)
        if len(calls) == count:
            os.kill(os.getpid(), number)  # SIGTERM is then raised at the next bytecode, before the call
        return original(*args, **kwargs)
    return call

def child(where, count, number, stderr):
    os.dup2(os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
    # outside main() (its last microseconds, after it restores this), a late SIGTERM finds nothing to stop
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if where == "replace":  # the rename that publishes the manifest, a shard or the data set
        os.replace = hooked(os.replace, count, number)
    elif where == "copy":  # inside the merge
        shards._copy_shard = hooked(shards._copy_shard, count, number)
    os._exit(main(command + ["--out", str(out)]))

def kill_at_random(pid, number):
    # once this child holds the output lock (the lock file names its holder), after a random delay
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
        try:
            if lock.read_text().strip() == str(pid):
                break
        except OSError:
            pass
        time.sleep(0.001)
    time.sleep(rng.uniform(0.0, 0.1))
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass

def equal_to_reference():
    got, want = read_dataset(out), read_dataset(reference)
    return all(np.array_equal(got[0][k], want[0][k]) for k in want[0]) and got[0].keys() == want[0].keys()

warm_up = folder.parent / "warm-up.h5"  # imports and caches once here, not in every forked child
main(command[:command.index("--samples") + 1] + ["2", "--quiet", "--out", str(warm_up)])
warm_up.unlink()
trials = []
for where, count, number in plan:
    before, stderr = out.read_bytes(), str(folder.parent / "stderr.txt")
    pid = os.fork()
    if pid == 0:
        child(where, count, number, stderr)
    if where == "random":
        kill_at_random(pid, number)
    status = os.waitpid(pid, 0)[1]
    rc = os.waitstatus_to_exitcode(status)
    unchanged = out.read_bytes() == before
    trials.append({"plan": [where, count, number], "rc": rc, "stderr": Path(stderr).read_text(),
                   "unchanged": unchanged, "complete": None if unchanged else equal_to_reference()})
print(json.dumps(trials))
"""


def test_kill_and_sigterm_anywhere_keep_the_old_file_or_give_the_new_one_complete(tmp_path, files):
    reference, older = files
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "data.h5").write_bytes(older.read_bytes())
    kill, term = int(signal.SIGKILL), int(signal.SIGTERM)
    plan = [("replace", 1, kill), ("replace", 3, kill), ("replace", 2, term), ("copy", 5, kill),
            ("copy", 2, term), ("random", 0, kill), ("random", 0, kill), ("random", 0, term),
            ("random", 0, kill), ("random", 0, term), ("none", 0, 0)]
    result = subprocess.run([sys.executable, "-c", KILLS, str(folder), str(reference), json.dumps(COMMAND),
                             json.dumps(plan), "20261204"], capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    trials = json.loads(result.stdout.splitlines()[-1])
    for trial in trials:
        number = trial["plan"][2]
        assert "Traceback" not in trial["stderr"], trial
        assert trial["unchanged"] or trial["complete"], trial  # old file byte-identical, or the new one whole
        if number == term and trial["rc"] == 143:
            assert trial["stderr"].strip().splitlines()[-1].startswith("pdewb: terminated (SIGTERM)"), trial
        expected = {kill: (0, -kill), term: (0, 143), 0: (0,)}[number]
        assert trial["rc"] in expected, trial
    deterministic = [trial["rc"] for trial in trials[:5]]
    assert deterministic == [-kill, -kill, 143, -kill, 143], trials  # the hooks did fire where meant
    # SIGTERM as the shard of samples 4-5 is renamed into place: held back until it is, so it is kept
    assert "after 6 of 24 samples" in trials[2]["stderr"], trials[2]
    assert trials[-1]["rc"] == 0 and trials[-1]["complete"] in (True, None)
    assert _equal_samples(folder / "data.h5", reference)
    assert not partial_path(folder / "data.h5").exists() and _leftovers(folder) == []


# ---------------------------------------------------------------------------------------
# A file-size limit and a full disk: many generations in one child process


SWEEP = """
import contextlib, io, json, os, random, resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing
from workbench.cli.main import main
from workbench.io.dataset_shards import PartialDataset

mode, folder, command = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
out, rng = folder / "data.h5", random.Random(int(sys.argv[4]))
unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)

def leftovers():
    places = [folder, folder / "data.h5.partial"]
    return sorted(e.name for p in places if p.is_dir() for e in os.scandir(p)
                  if ".pdewb-" in e.name or e.name.endswith(".lock"))

def generate(limit=None, free=None, publish=True):
    before, filler = out.read_bytes(), folder / "filler"
    if free is not None:  # fill the disk up to `free` bytes left
        room = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
        with contextlib.suppress(OSError), open(filler, "wb") as handle:
            handle.write(bytes(max(0, room - free)))
    original = PartialDataset.publish
    if not publish:
        PartialDataset.publish = lambda self, out: (_ for _ in ()).throw(KeyboardInterrupt())
    err = io.StringIO()
    try:
        if limit:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(command + ["--out", str(out)])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, unlimited)
        PartialDataset.publish = original
        with contextlib.suppress(FileNotFoundError):
            filler.unlink()
    return {"limit": limit, "free": free, "rc": rc, "stderr": err.getvalue(),
            "unchanged": out.read_bytes() == before, "leftovers": leftovers(),
            "shards": shards()}

def shards():
    partial = folder / "data.h5.partial"
    return len(list(partial.glob("shard-*"))) if partial.exists() else None

steps = []
if mode == "limit":
    steps += [generate(limit=int(10 ** rng.uniform(2.5, 5.6))) for _ in range(16)]
    steps += [generate(limit=limit) for limit in (1000, 10_000, 100_000)]  # manifest, first shard, room check
    steps += [generate(publish=False), generate(limit=100_000)]  # the merge's reservation
else:
    steps += [generate(free=int(rng.uniform(0, 600_000))) for _ in range(12)]
    steps += [generate(publish=False), generate(free=60_000)]  # the merge's reservation
steps.append(generate())
print(json.dumps(steps))
"""


def _sweep(mode, folder, older, seed=1):
    (folder / "data.h5").write_bytes(older.read_bytes())
    result = subprocess.run([sys.executable, "-c", SWEEP, mode, str(folder), json.dumps(COMMAND), str(seed)],
                            capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.splitlines()[-1])


def _check_sweep(steps, out, reference, causes):
    for step in steps:
        lines = step["stderr"].splitlines()
        assert "Traceback" not in step["stderr"], step
        if step["rc"] == 2:
            assert len(lines) == 1 and lines[0].startswith("pdewb: error: "), step
            assert any(cause in lines[0] for cause in causes), step
            assert step["unchanged"] and step["leftovers"] == [], step
        else:
            assert step["rc"] in (0, 130), step  # 130: stopped before merging, on purpose
            assert step["leftovers"] == [], step
    assert steps[-1]["rc"] == 0 and _equal_samples(out, reference)
    assert not partial_path(out).exists()


def test_a_file_size_limit_anywhere_is_one_line_and_resumes_to_the_same_file(tmp_path, files):
    reference, older = files
    steps = _sweep("limit", tmp_path, older)
    _check_sweep(steps, tmp_path / "data.h5", reference, ("file too large", "file-size limit"))
    stages = {step["limit"]: step for step in steps[-6:-1]}
    assert stages[1000]["rc"] == 2 and stages[1000]["shards"] in (None, 0, *range(SAMPLES))
    merge_failure = steps[-2]
    assert merge_failure["rc"] == 2 and merge_failure["shards"] == SAMPLES // 2, merge_failure  # all kept
    assert sum(step["rc"] == 2 for step in steps) >= 8  # the sweep did hit the limit, at many points


def test_a_full_disk_anywhere_is_one_line_and_resumes_to_the_same_file(tiny_disk, files):
    reference, older = files
    steps = _sweep("disk", tiny_disk, older, seed=2)
    _check_sweep(steps, tiny_disk / "data.h5", reference, ("disk full", "not enough disk space"))
    merge_failure = steps[-2]
    assert merge_failure["rc"] == 2 and merge_failure["shards"] == SAMPLES // 2, merge_failure
    assert sum(step["rc"] == 2 for step in steps) >= 5
