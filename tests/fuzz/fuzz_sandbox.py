"""The fuzz suite's sandbox: a throw-away folder with traps, valid inputs, and a file-system diff.

Every example runs ``pdewb`` in-process inside a fresh :class:`Sandbox`: a folder
holding the inputs a command can name (a mesh, a scenario, a data set, a
checkpoint, a project) and traps a careless writer would destroy (a FIFO, a
private ``/dev/null`` device node when running as root, a symbolic link to a
victim file, a folder, a file where a folder is expected). After the command,
:meth:`Sandbox.changes` lists what appeared, changed or vanished, so a test can
check that nothing was written outside the output the command was given and that
no temporary is left behind.

A command that runs longer than :data:`EXAMPLE_SECONDS` gets a KeyboardInterrupt,
as if the user pressed Ctrl-C: a legitimately long request (``epochs=1e6``)
then exercises the interrupt path instead of stalling the suite.

Examples per test: ``PDEWB_FUZZ_EXAMPLES`` (default below; CI runs the default,
derandomized, so a red run can be reproduced). Explore with, e.g.,
``PDEWB_FUZZ_EXAMPLES=2000 PDEWB_FUZZ_RANDOM=1 pytest tests/fuzz``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings

EXAMPLE_SECONDS = 4.0
TEMPORARY_MARKS = (".pdewb-", ".lock")
DEFAULT_EXAMPLES = 25

def artifact_files(root: Path) -> dict[str, Path]:
    """Valid inputs made once in ``root``: every fuzz example starts from copies of these."""
    from workbench.cli.main import main

    repository = Path(__file__).resolve().parents[2]
    from workbench.core.meshgen import rectangle_mesh
    from workbench.io.series import write_vtu

    write_vtu(root / "square.vtu", rectangle_mesh(8))
    made = {
        "mesh.msh": repository / "plugins/pdewb-samples/src/pdewb_samples/data/plate_with_hole.msh",
        "model.safetensors": repository / "resources/checkpoints/darcy_mgno.safetensors",
    }
    for name, source in made.items():
        shutil.copyfile(source, root / name)
    data = root / "data.h5"
    with _quiet():
        assert main(["datagen", "--solver", "darcy.fd", "--samples", "3", "--set", "n=64",
                     "--seed", "5000", "--out", str(data), "--quiet"]) == 0
    (root / "scenario.toml").write_text(
        'solver = "fem.heat"\nmesh = "mesh.msh"\n[parameters]\ndt = 0.05\nt_end = 0.1\n'
        '[[boundary]]\ntag = "hole"\nkind = "dirichlet"\nvalue = "1"\n')
    _write_project(root / "project.pdewb")
    return {path.name: path for path in root.iterdir()}


settings.register_profile(
    "pdewb-fuzz",
    max_examples=int(os.environ.get("PDEWB_FUZZ_EXAMPLES", DEFAULT_EXAMPLES)),
    deadline=None,
    derandomize=not os.environ.get("PDEWB_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile("pdewb-fuzz")


# ---------------------------------------------------------------------------- inputs


def _write_project(path: Path) -> None:
    import numpy as np

    from workbench.core import Field, Frame
    from workbench.core.meshgen import rectangle_mesh
    from workbench.core.run import Run, RunStatus
    from workbench.io.project import Project, ProjectMesh, RunEntry, save_project

    mesh = rectangle_mesh(4)
    run = Run("fem.heat", {"dt": 0.1}, status=RunStatus.SUCCEEDED, curves={"residual": [(0, 1.0), (1, 0.5)]})
    for index in range(2):
        run.frames.append(Frame(index, 0.1 * index, {"u": Field("u", np.linspace(0, index, mesh.n_points))}))
    save_project(path, Project(meshes=[ProjectMesh.of(mesh, None)], runs=[RunEntry("heat #1", run)]))


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


# ---------------------------------------------------------------------------- the sandbox


@dataclass(frozen=True)
class Entry:
    kind: str
    size: int
    mtime_ns: int
    inode: int


@dataclass
class Outcome:
    code: int | None
    stdout: str
    stderr: str
    escaped: BaseException | None = None


@dataclass
class Sandbox:
    """A folder of inputs and traps; the current directory while a command runs."""

    root: Path
    traps: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def create(cls, parent: Path, artifacts: dict[str, Path]) -> Sandbox:
        root = Path(tempfile.mkdtemp(dir=parent))
        sandbox = cls(root)
        for name, source in artifacts.items():
            shutil.copyfile(source, root / name)
        (root / "config").mkdir()
        (root / "plugins").mkdir()
        os.mkfifo(root / "fifo")
        (root / "folder").mkdir()
        (root / "victim.txt").write_text("must survive")
        (root / "link").symlink_to(root / "victim.txt")
        (root / "file-in-the-way").write_text("a file, not a folder")
        if hasattr(os, "getuid") and os.getuid() == 0:
            os.mknod(root / "devnull", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        else:
            (root / "devnull").symlink_to(os.devnull)
        sandbox.traps = {name: root / name for name in ("fifo", "folder", "link", "devnull", "victim.txt")}
        return sandbox

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def snapshot(self) -> dict[str, Entry]:
        entries = {}
        for folder, names, files in os.walk(self.root, followlinks=False):
            for name in names + files:
                path = os.path.join(folder, name)
                info = os.lstat(path)
                entries[os.path.relpath(path, self.root)] = Entry(
                    _kind(info.st_mode), info.st_size if stat.S_ISREG(info.st_mode) else 0, info.st_mtime_ns,
                    info.st_ino)
        return entries

    def run(self, argv: list[str], seconds: float = EXAMPLE_SECONDS) -> Outcome:
        """``pdewb ARGV`` in-process with the sandbox as working directory and user folders."""
        from workbench.cli.main import main

        stdout, stderr = io.StringIO(), io.StringIO()
        finished = False

        def interrupt(number, frame):
            if not finished:
                raise KeyboardInterrupt

        environment = {"PDEWB_CONFIG_DIR": str(self.root / "config"), "PDEWB_PLUGIN_DIR": str(self.root / "plugins")}
        saved_environment = {key: os.environ.get(key) for key in environment}
        saved_cwd, saved_handler = os.getcwd(), signal.signal(signal.SIGALRM, interrupt)
        os.environ.update(environment)
        os.chdir(self.root)
        outcome = Outcome(None, "", "")
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                try:
                    outcome.code = main(argv)
                except BaseException as error:  # noqa: BLE001 - whatever escapes is the finding
                    outcome.escaped = error
                finally:
                    finished = True
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, saved_handler)
            os.chdir(saved_cwd)
            for key, value in saved_environment.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        outcome.stdout, outcome.stderr = stdout.getvalue(), stderr.getvalue()
        return outcome


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "link"),
                       (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "device"), (stat.S_ISBLK, "device")):
        if test(mode):
            return name
    return "other"


def changed_paths(before: dict[str, Entry], after: dict[str, Entry]) -> set[str]:
    """Paths created, deleted, or whose kind, size, inode or modification time changed."""
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def within(path: str, roots: set[str]) -> bool:
    """``path`` is one of ``roots``, below one, a folder above one (created for it), or a hidden sibling
    of one (its temporary, lock or partial state)."""
    parts = Path(path).parts
    for root in roots:
        root_parts = Path(root).parts
        if parts[: len(root_parts)] == root_parts or root_parts[: len(parts)] == parts:
            return True
        sibling = parts[: len(root_parts)]
        if len(sibling) == len(root_parts) and sibling[:-1] == root_parts[:-1]:
            name, root_name = sibling[-1], root_parts[-1]
            if name.startswith(f".{root_name}") or name.startswith(f"{root_name}.partial"):
                return True
    return False


def leftover_temporaries(after: dict[str, Entry]) -> list[str]:
    return sorted(p for p in after if any(mark in Path(p).name for mark in TEMPORARY_MARKS))


def check_outcome(outcome: Outcome, argv: list[str]) -> None:
    """No traceback; exit 0, 2 (one line naming the error), 130 (interrupted) or 143; JSON parses."""
    shown = " ".join(argv)
    if outcome.escaped is not None:
        raise AssertionError(f"pdewb {shown}: {type(outcome.escaped).__name__} escaped: {outcome.escaped!r}") \
            from outcome.escaped
    assert "Traceback (most recent call last)" not in outcome.stderr, f"pdewb {shown}:\n{outcome.stderr}"
    assert outcome.code in (0, 2, 130, 143), f"pdewb {shown}: exit {outcome.code}\n{outcome.stderr}"
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    if outcome.code == 2:
        assert lines and lines[-1].startswith("pdewb: error: "), f"pdewb {shown}: exit 2 but\n{outcome.stderr}"
        errors = [line for line in lines if line.startswith("pdewb: error: ")]
        assert len(errors) == 1, f"pdewb {shown}: several error lines\n{outcome.stderr}"
        assert len(lines[-1]) < 2000, f"pdewb {shown}: an error line of {len(lines[-1])} characters"
    if outcome.code == 0 and "--json" in argv:
        json.loads(outcome.stdout)


def check_traps(sandbox: Sandbox, before: dict[str, Entry], after: dict[str, Entry], argv: list[str],
                allowed: set[str] = frozenset()) -> None:
    """Every trap is as it was (kind, inode, size, modification time), unless the command names it as its output."""
    for name in sandbox.traps:
        if name in allowed:
            continue
        assert after.get(name) == before.get(name), \
            f"pdewb {' '.join(argv)} changed the trap '{name}': {before.get(name)} -> {after.get(name)}"
    assert (sandbox.root / "victim.txt").read_text() == "must survive"
