"""Failed installs say why in one line and leave the environment as it was; consent and pip are checked first."""

import os
import subprocess
import sys

import pytest

from workbench.cli.main import main
from workbench.core.errors import PluginError
from workbench.plugins import installer

PLUGIN = 'from workbench.plugins import hookimpl\nPDEWB_HOOK_API = 1\n\n@hookimpl\ndef pdewb_sample_data():\n    return []\n'


def pdewb(python, *args):
    return subprocess.run([str(python), "-m", "workbench.cli.main", *args], capture_output=True, text=True,
                          env=os.environ, timeout=120)


def one_line_error(stderr: str) -> str:
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("pdewb: error: "), stderr
    return last


def test_a_plugin_that_needs_another_numpy_fails_and_changes_nothing(environment, wheels, tmp_path):
    links = tmp_path / "links"
    wheels.make(links, "numpy", "0.9.0", modules={"numpy_old_stand_in": ""})  # a numpy pip could downgrade to
    wheel = wheels.make(links, "old-numpy-plugin", requires=("numpy<1",), modules={"old_numpy_plugin": PLUGIN},
                        entry_points={"old_numpy": "old_numpy_plugin"})
    # Without the host's constraints pip would happily downgrade numpy: the constraints are what stop it.
    unconstrained = subprocess.run([str(environment), "-m", "pip", "install", "--dry-run", "--no-index",
                                    "--find-links", str(links), str(wheel)], capture_output=True, text=True)
    assert "numpy-0.9.0" in unconstrained.stdout, unconstrained.stdout + unconstrained.stderr

    before = installer.snapshot(str(environment))
    result = pdewb(environment, "plugins", "install", str(wheel), "--yes", "--no-index", "--find-links", str(links))
    assert result.returncode == 2
    error = one_line_error(result.stderr)
    assert "installing old-numpy-plugin failed" in error and "numpy" in error
    assert error.endswith("the environment is unchanged")
    assert installer.snapshot(str(environment)) == before
    assert "  " in result.stderr  # pip's own output was streamed (indented) before the verdict


def test_a_missing_dependency_is_named_and_nothing_is_installed(environment, wheels, tmp_path):
    wheel = wheels.make(tmp_path / "links", "needy-plugin", requires=("pdewb-no-such-package>=1",),
                        modules={"needy_plugin": PLUGIN}, entry_points={"needy": "needy_plugin"})
    before = installer.snapshot(str(environment))
    source = installer.resolve_source(str(wheel), no_index=True)
    command = installer.install_command(source, tmp_path / "c.txt", python=str(environment), no_index=True)
    lines = []
    returncode, output = installer.run_pip(command, lines.append)
    outcome = installer.finish_install(source, returncode, output, before, python=str(environment))
    assert not outcome.ok and lines
    assert "pdewb-no-such-package" in outcome.message and "\n" not in outcome.message
    assert installer.snapshot(str(environment)) == before


def test_what_pip_added_before_failing_is_taken_back(environment, wheels, tmp_path):
    """pip fails after resolution only in rare cases (a build error); the rollback is checked by faking the verdict."""
    wheel = wheels.make(tmp_path / "links", "half-done", modules={"half_done": PLUGIN},
                        entry_points={"half": "half_done"})
    before = installer.snapshot(str(environment))
    source = installer.resolve_source(str(wheel))
    returncode, output = installer.run_pip(installer.install_command(source, tmp_path / "c.txt",
                                                                     python=str(environment), no_index=True))
    assert returncode == 0 and "half-done" in installer.snapshot(str(environment))
    outcome = installer.finish_install(source, 1, "ERROR: a later package failed to build", before,
                                       python=str(environment))
    assert outcome.message == ("installing half-done failed: a later package failed to build; "
                               "the environment is unchanged")
    assert installer.snapshot(str(environment)) == before


def test_the_host_constraints_pin_the_installed_host_packages(tmp_path):
    pins = dict(line.split("==") for line in installer.host_constraints())
    assert {"pde-workbench", "numpy", "torch", "vtk"} <= set(pins)
    assert pins["numpy"] == __import__("numpy").__version__
    text = installer.write_constraints(tmp_path / "c.txt").read_text()
    assert f"numpy=={pins['numpy']}" in text.splitlines()


def test_installing_needs_explicit_consent(tmp_path, capsys, wheels):
    wheel = wheels.make(tmp_path, "consent-plugin", modules={"consent_plugin": PLUGIN})
    assert not sys.stdin.isatty()
    assert main(["plugins", "install", str(wheel)]) == 2
    err = capsys.readouterr().err
    assert f"Installing consent-plugin from wheel file {wheel}" in err
    assert "This runs code from the package" in err
    assert err.strip().splitlines()[-1] == (
        "pdewb: error: not installing without confirmation: run it in a terminal, or pass --yes")


def test_a_frozen_build_says_pip_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert main(["plugins", "install", "some-plugin", "--yes"]) == 2
    error = capsys.readouterr().err.strip()
    assert "frozen build of PDE Workbench without pip" in error and "--target" in error
    assert os.environ["PDEWB_PLUGIN_DIR"] in error


@pytest.mark.parametrize("target, message", [
    ("./no/such/wheel.whl", "no such wheel or folder"),
    ("bad name!", "neither a package name, a wheel file nor a folder"),
])
def test_bad_targets_are_refused_before_pip_runs(target, message):
    with pytest.raises(PluginError, match=message):
        installer.resolve_source(target)


def test_an_index_install_shows_the_index(monkeypatch):
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    source = installer.resolve_source("pdewb-sor>=0.1", find_links=["https://example.org/wheels"])
    assert source.package == "pdewb-sor" and source.kind == "package index"
    assert source.location.startswith("https://pypi.org/simple") and "https://example.org/wheels" in source.location
    assert installer.resolve_source("x", index_url="https://mirror.example/simple").location == (
        "https://mirror.example/simple")


@pytest.mark.parametrize("name", ["pde-workbench-fem", "numpy"])
def test_built_in_and_host_distributions_cannot_be_uninstalled(name):
    with pytest.raises(PluginError, match="built-in plugin|part of PDE Workbench"):
        installer.uninstall_command(name)


def test_uninstalling_something_that_is_not_a_plugin_is_a_clear_error(capsys):
    assert main(["plugins", "uninstall", "scipy"]) == 2
    assert "'scipy' is installed but is not a PDE Workbench plugin" in capsys.readouterr().err
    assert main(["plugins", "uninstall", "nothing-like-this"]) == 2
    assert "no installed plugin 'nothing-like-this'" in capsys.readouterr().err
