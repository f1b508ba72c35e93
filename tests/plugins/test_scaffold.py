"""``pdewb plugins new``: every kind's package passes its own test as generated (end to end: test_install_end_to_end)."""

import os
import subprocess
import sys

import pytest

from workbench.cli.main import main
from workbench.core.errors import PluginError
from workbench.plugins.scaffold import KINDS, create_plugin


@pytest.mark.slow
def test_every_kind_passes_its_generated_test(tmp_path, capsys):
    for kind in KINDS:
        assert main(["plugins", "new", f"my-{kind}", "--kind", kind, "--dir", str(tmp_path)]) == 0
    created = capsys.readouterr().out
    assert "src/my_solver/plugin.py" in created and "tests/test_my_mover.py" in created
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(tmp_path / f"my-{kind}" / "src") for kind in KINDS)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
         *(str(tmp_path / f"my-{kind}" / "tests") for kind in KINDS)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"{len(KINDS)} passed" in result.stdout


def test_the_package_declares_its_entry_point_and_api_version(tmp_path):
    created = create_plugin("Acme_Movers", "mover", tmp_path)
    assert created.root == tmp_path / "acme-movers"
    pyproject = (created.root / "pyproject.toml").read_text()
    assert 'name = "acme-movers"' in pyproject
    assert '[project.entry-points."pde_workbench.plugins"]\nacme_movers = "acme_movers.plugin"' in pyproject
    plugin = (created.root / "src" / "acme_movers" / "plugin.py").read_text()
    assert "PDEWB_HOOK_API = 1" in plugin and 'id="acme_movers.mover"' in plugin
    assert "import torch" not in plugin


@pytest.mark.parametrize("name, kind, message", [
    ("9lives", "solver", "not a usable plugin name"),
    ("has space", "solver", "not a usable plugin name"),
    ("fine", "preconditioner", "unknown plugin kind 'preconditioner'"),
])
def test_bad_names_and_kinds_are_refused(tmp_path, name, kind, message):
    with pytest.raises(PluginError, match=message):
        create_plugin(name, kind, tmp_path)


def test_an_existing_folder_is_never_overwritten(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep me")
    assert main(["plugins", "new", "taken", "--kind", "solver", "--dir", str(tmp_path)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert (tmp_path / "taken" / "mine.txt").read_text() == "keep me"


@pytest.mark.parametrize("name, problem", [
    ("import", "is a Python keyword"),
    ("class", "is a Python keyword"),
    ("json", "is a standard-library module"),
    ("numpy", "is already an installed module"),
    ("workbench", "is already an installed module"),
])
def test_names_whose_package_cannot_be_imported_as_itself_are_refused(tmp_path, name, problem):
    with pytest.raises(PluginError, match=f"'{name}' is not a usable plugin name: its package '{name}' {problem}"):
        create_plugin(name, "solver", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_package_and_no_temporary(tmp_path, monkeypatch):
    from pathlib import Path

    from workbench.io.atomic import OutputError

    real_write_text, written = Path.write_text, []

    def fails_on_the_third_file(self, *args, **kwargs):
        written.append(self)
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", fails_on_the_third_file)
    with pytest.raises(OutputError, match=r"cannot create .*my-solvers: disk full; nothing was written"):
        create_plugin("my-solvers", "solver", tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(Path, "write_text", real_write_text)
    (tmp_path / "my-solvers").mkdir()  # an empty folder made for it is fine
    created = create_plugin("my-solvers", "solver", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-solvers"] and all(p.exists() for p in created.files)
