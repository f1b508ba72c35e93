"""Shared fixtures: fake plugin distributions that exercise the real discovery loop; a tiny real disk."""

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GOOD = '''
from workbench.plugins import hookimpl, SolverContribution, ParamSpec

@hookimpl
def pdewb_reference_solvers():
    return [SolverContribution(
        id="good.constant", title="Constant field", implementation="{module}:solve",
        equation="constant", params=(ParamSpec("value", "float", 1.0),),
    )]

def solve(problem):
    from workbench.core import Field, Frame, Progress
    import numpy as np
    for step in range(3):
        yield Progress((step + 1) / 3)
        u = np.full(problem.mesh.n_points, problem.params["value"])
        yield Frame(step, 0.1 * step, {{"u": Field("u", u)}})
'''

RAISES_AT_RUN = '''
from workbench.plugins import hookimpl, SolverContribution

@hookimpl
def pdewb_reference_solvers():
    return [SolverContribution(id="explodes.solver", title="Explodes", implementation="{module}:solve")]

def solve(problem):
    yield from ()
    raise RuntimeError("boom inside the solver")
'''

BROKEN_IMPORT = '''
import this_module_does_not_exist_anywhere
'''

BAD_SIGNATURE = '''
from workbench.plugins import hookimpl

@hookimpl
def pdewb_reference_solvers(unexpected_argument):
    return []
'''

RAISES_IN_HOOK = '''
from workbench.plugins import hookimpl

@hookimpl
def pdewb_reference_solvers():
    raise RuntimeError("hook exploded")
'''

TYPO_HOOK = '''
from workbench.plugins import hookimpl

@hookimpl
def pdewb_reference_solver():
    return []
'''

WRONG_TYPE = '''
from workbench.plugins import hookimpl

@hookimpl
def pdewb_reference_solvers():
    return [{{"id": "not-a-descriptor"}}]
'''

GRID_SOLVER = '''
from workbench.plugins import hookimpl, SolverContribution, ParamSpec

@hookimpl
def pdewb_reference_solvers():
    return [SolverContribution(
        id="grid.wave", title="Standing wave on its own grid", implementation="{module}:solve",
        grid="{module}:grid_mesh", equation="wave", params=(ParamSpec("n", "int", 8, minimum=2),),
    )]

def grid_mesh(params):
    from workbench.core.meshgen import rectangle_mesh
    return rectangle_mesh(params["n"])

def solve(problem):
    import numpy as np
    from workbench.core import Field, Frame
    x, y = problem.mesh.points.T
    for step in range(2):
        yield Frame(step, 0.5 * step, {{"u": Field("u", np.sin(np.pi * x) * np.cos(np.pi * step / 2))}})
'''

PLUGINS = {
    "grid": GRID_SOLVER,
    "good": GOOD,
    "explodes": RAISES_AT_RUN,
    "broken_import": BROKEN_IMPORT,
    "bad_signature": BAD_SIGNATURE,
    "raises_in_hook": RAISES_IN_HOOK,
    "typo_hook": TYPO_HOOK,
    "wrong_type": WRONG_TYPE,
}


def write_distribution(root: Path, name: str, source: str) -> str:
    """A distribution ``fake-NAME`` whose module ``fake_NAME_plugin`` is an entry point."""
    module = f"fake_{name}_plugin"
    (root / f"{module}.py").write_text(textwrap.dedent(source.format(module=module)))
    info = root / f"fake_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fake-{name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[pde_workbench.plugins]\n{name} = {module}\n")
    return module


def write_all(root: Path) -> list[str]:
    return [write_distribution(root, name, source) for name, source in PLUGINS.items()]


@pytest.fixture
def fake_plugin_dir(tmp_path_factory):
    """A folder holding fake plugin distributions (not on sys.path: for subprocesses)."""
    root = tmp_path_factory.mktemp("fake_plugins")
    write_all(root)
    return root


@pytest.fixture
def fake_plugins(fake_plugin_dir, monkeypatch):
    """The fake plugin distributions, importable in this process."""
    monkeypatch.syspath_prepend(str(fake_plugin_dir))
    importlib.invalidate_caches()
    yield fake_plugin_dir
    for name in PLUGINS:
        sys.modules.pop(f"fake_{name}_plugin", None)


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 1 MiB file system (tmpfs), so that writes fail with a real ENOSPC; always unmounted.

    Mounting needs root (CI runs as root); elsewhere the test is skipped, and the
    RLIMIT_FSIZE fault tests cover the same code paths with EFBIG.
    """
    folder = tmp_path / "tiny-disk"
    folder.mkdir()
    if getattr(os, "geteuid", lambda: -1)() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
