"""Plugin isolation: a plugin's prints, exits, id claims, slowness and broken metadata stay its own.

Plugins are written into the user plugin folder (``PDEWB_PLUGIN_DIR``, a fresh one
per test: conftest.py) as a module plus a ``*.dist-info`` with its entry point,
which is what ``pip install --target`` leaves there; the host finds them exactly
as installed plugins.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench.cli.main import main
from workbench.plugins import load_plugins
from workbench.plugins.discovery import discover_entry_points, is_builtin

PRINTS = '''
import ctypes, os
print("PRINT-AT-IMPORT")
os.write(1, b"FD1-AT-IMPORT\\n")
try:
    ctypes.CDLL(None).printf(b"C-PRINTF-AT-IMPORT\\n")  # buffered by C stdio, flushed whenever
except (OSError, AttributeError):
    pass
from workbench.plugins import hookimpl, SolverContribution, ParamSpec

@hookimpl
def pdewb_reference_solvers():
    print("PRINT-IN-HOOK")
    return [SolverContribution(id="printer.constant", title="Prints", implementation="{module}:solve",
                               equation="constant", params=(ParamSpec("value", "float", 1.0),))]

def solve(problem):
    import numpy as np
    from workbench.core import Field, Frame
    print("PRINT-DURING-RUN")
    os.write(1, b"FD1-DURING-RUN\\n")
    for step in range(2):
        yield Frame(step, 0.1 * step, {"u": Field("u", np.full(problem.mesh.n_points, 1.0))})
'''

EXITS_AT_IMPORT = '''
import sys
sys.exit(1)
'''

EXITS_IN_HOOK = '''
import sys
from workbench.plugins import hookimpl

@hookimpl
def pdewb_sample_data():
    sys.exit(3)
'''

INTERRUPTED_AT_IMPORT = '''
raise KeyboardInterrupt
'''

CLAIMS_FEM_HEAT = '''
from workbench.plugins import hookimpl, SolverContribution

@hookimpl
def pdewb_reference_solvers():
    return [SolverContribution(id="fem.heat", title="Not the built-in", implementation="{module}:solve"),
            SolverContribution(id="claimer.other", title="Other", implementation="{module}:solve")]
'''

RETURNS_A_NUMBER = '''
from workbench.plugins import hookimpl

@hookimpl
def pdewb_sample_data():
    return 5
'''

SLOW = '''
import logging, time
time.sleep({seconds})
logging.getLogger("workbench.plugins").warning("IMPORT-FINISHED")
'''


def add_plugin(name: str, source: str, *, distribution: str | None = None, entry: str | None = None) -> str:
    """A plugin module ``NAME_plugin`` and its dist-info in the user plugin folder; returns the module name."""
    folder = Path(os.environ["PDEWB_PLUGIN_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    module = f"{name}_plugin"
    distribution = distribution or f"isolation-{name}"
    (folder / f"{module}.py").write_text(textwrap.dedent(source.replace("{module}", module)))
    info = folder / f"{distribution.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[pde_workbench.plugins]\n{entry or f'{name} = {module}'}\n")
    return module


@pytest.fixture(autouse=True)
def _forget_plugin_modules(monkeypatch):
    """The host appends the folder to sys.path and imports its modules: undone after each test."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    importlib.invalidate_caches()
    yield
    for name in set(sys.modules) - before:
        if name.endswith("_plugin"):
            del sys.modules[name]


def records(host):
    return {r.name: r for r in host.records}


def test_prints_at_import_and_in_hooks_go_to_stderr(capsys):
    add_plugin("printer", PRINTS)
    host = load_plugins(safe_mode=False)
    assert records(host)["printer"].status == "loaded"
    captured = capsys.readouterr()
    assert "PRINT-AT-IMPORT" not in captured.out and "PRINT-IN-HOOK" not in captured.out
    assert "PRINT-AT-IMPORT" in captured.err and "PRINT-IN-HOOK" in captured.err


def test_sys_exit_at_import_or_in_a_hook_fails_that_plugin_only():
    add_plugin("exits", EXITS_AT_IMPORT)
    add_plugin("hookexit", EXITS_IN_HOOK)
    add_plugin("number", RETURNS_A_NUMBER)
    host = load_plugins(safe_mode=False)
    found = records(host)
    assert (found["exits"].status, found["exits"].error) == ("failed", "import failed: called sys.exit(1)")
    assert found["hookexit"].status == "failed"
    assert found["hookexit"].error == "hook pdewb_sample_data raised called sys.exit(3)"
    assert found["number"].status == "failed" and "raised TypeError" in found["number"].error
    assert host.solver("fem.heat") and found["samples"].status == "loaded"


def test_ctrl_c_during_a_plugin_import_is_not_swallowed():
    add_plugin("interrupted", INTERRUPTED_AT_IMPORT)
    with pytest.raises(KeyboardInterrupt):
        load_plugins(safe_mode=False)


def test_a_third_party_plugin_cannot_take_a_builtin_id(capsys):
    add_plugin("aaa", CLAIMS_FEM_HEAT)  # sorts before 'fem': entry-point order alone would let it win
    host = load_plugins(safe_mode=False)
    assert host.solver("fem.heat").implementation.startswith("pdewb_fem")
    claimer = records(host)["aaa"]
    assert claimer.status == "failed" and claimer.contributions == []
    assert "duplicate contribution id 'fem.heat': already provided by plugin 'fem' (built-in)" in claimer.error
    with pytest.raises(Exception, match="no reference solver 'claimer.other'"):
        host.solver("claimer.other")  # refused as a whole: none of its contributions is served

    assert main(["plugins", "list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("aaa "))
    assert "failed" in row and "already provided by plugin 'fem' (built-in)" in row


def test_a_user_folder_distribution_named_like_a_builtin_is_not_one():
    add_plugin("impostor", CLAIMS_FEM_HEAT, distribution="pde-workbench-fem", entry="fem = impostor_plugin")
    order = discover_entry_points()
    impostor = next(e for e in order if e.value == "impostor_plugin")
    assert not is_builtin(impostor.dist)
    assert order.index(impostor) > max(i for i, e in enumerate(order) if is_builtin(e.dist))
    host = load_plugins(safe_mode=False)
    failed = [r for r in host.records if r.name == "fem" and r.status == "failed"]
    assert len(failed) == 1 and not failed[0].builtin
    assert "another plugin is already registered as 'fem' (built-in)" in failed[0].error
    assert host.solver("fem.heat").implementation.startswith("pdewb_fem")
    safe = [r for r in load_plugins(safe_mode=True).records if r.name == "fem" and not r.builtin]
    assert [r.status for r in safe] == ["skipped"]


def test_a_slow_plugin_is_named_while_it_loads_and_listed_as_slow(caplog):
    add_plugin("slow", SLOW.replace("{seconds}", "0.4"))
    with caplog.at_level(logging.WARNING, logger="workbench.plugins"):
        host = load_plugins(safe_mode=False, slow_seconds=0.1)
    messages = [r.getMessage() for r in caplog.records]
    still = next(i for i, m in enumerate(messages) if "plugin 'slow' is still loading after 0.1 s" in m)
    assert still < messages.index("IMPORT-FINISHED")  # said while the import was still running
    assert any("plugin 'slow' took 0.4 s to load" in m for m in messages)
    slow = records(host)["slow"]
    assert slow.status == "loaded" and slow.load_seconds >= 0.4
    assert slow.notes == [f"slow to load: {slow.load_seconds:.1f} s, which every command waits for"]
    assert records(host)["fem"].notes == [] and slow.describe()["notes"] == slow.notes


def test_unreadable_metadata_in_the_folder_is_one_failed_entry():
    folder = Path(os.environ["PDEWB_PLUGIN_DIR"])
    add_plugin("garbled", "", entry="this line has no equals sign")
    add_plugin("nomodule", "", entry="nomodule = 1not:::a module")
    host = load_plugins(safe_mode=False)
    found = records(host)
    assert found["isolation-garbled"].status == "failed"
    assert "its entry_points.txt cannot be read" in found["isolation-garbled"].error
    assert str(folder) in found["isolation-garbled"].error
    assert found["nomodule"].status == "failed" and "names no module" in found["nomodule"].error
    assert host.solver("fem.heat")


def test_unreadable_metadata_in_the_environment_is_one_failed_entry(tmp_path, monkeypatch):
    info = tmp_path / "garbled_env-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: garbled-env\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pde_workbench.plugins]\nno equals sign here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    host = load_plugins(safe_mode=False)
    assert "entry_points.txt cannot be read" in records(host)["garbled-env"].error
    assert records(host)["fem"].status == "loaded" and host.solver("fem.heat")


def test_json_output_parses_with_printing_exiting_and_slow_plugins(tmp_path):
    """The real CLI in a subprocess: stdout is a descriptor there, so C and os.write output is covered too."""
    add_plugin("printer", PRINTS)
    add_plugin("exits", EXITS_AT_IMPORT)
    add_plugin("slow", SLOW.replace("{seconds}", "0.3"))
    env = {**os.environ, "PDEWB_SLOW_PLUGIN_SECONDS": "0.1"}
    listing = subprocess.run([sys.executable, "-m", "workbench.cli.main", "plugins", "list", "--json"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert listing.returncode == 0, listing.stderr
    plugins = {p["name"]: p for p in json.loads(listing.stdout)["plugins"]}
    assert plugins["printer"]["status"] == "loaded"
    assert plugins["exits"]["reason"] == "import failed: called sys.exit(1)"
    assert plugins["slow"]["notes"] and "plugin 'slow' is still loading" in listing.stderr
    for text in ("PRINT-AT-IMPORT", "FD1-AT-IMPORT", "PRINT-IN-HOOK"):
        assert text in listing.stderr

    run = subprocess.run([sys.executable, "-m", "workbench.cli.main", "run", "--solver", "printer.constant",
                          "--mesh", "sample:l-shape", "--out", str(tmp_path / "out"), "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)
    for text in ("PRINT-DURING-RUN", "FD1-DURING-RUN", "PRINT-AT-IMPORT", "FD1-AT-IMPORT"):
        assert text in run.stderr and text not in run.stdout
    if "C-PRINTF-AT-IMPORT" in run.stdout + run.stderr:  # there is a C library to print with
        assert "C-PRINTF-AT-IMPORT" in run.stderr and "C-PRINTF-AT-IMPORT" not in run.stdout
