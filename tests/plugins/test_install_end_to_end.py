"""The whole life cycle in a fresh environment: scaffold and example -> wheel -> install -> list -> run -> uninstall."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from workbench.cli.main import main
from workbench.plugins import installer

EXAMPLE = Path(__file__).parents[2] / "examples" / "pdewb-sor"


def pdewb(python, *args, env=None):
    return subprocess.run([str(python), "-m", "workbench.cli.main", *args], capture_output=True, text=True,
                          env=env or os.environ, timeout=120)


def listed(python):
    result = pdewb(python, "plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {r["name"]: r for r in json.loads(result.stdout)["plugins"]}


@pytest.mark.slow
def test_scaffold_and_example_install_run_and_uninstall_in_a_fresh_environment(environment, wheels, tmp_path, capsys):
    host_before = installer.snapshot()
    assert main(["plugins", "new", "e2e-jacobi", "--kind", "solver", "--dir", str(tmp_path)]) == 0
    built = wheels.build([tmp_path / "e2e-jacobi", EXAMPLE], tmp_path / "dist")
    assert [w.name.split("-")[0] for w in built] == ["e2e_jacobi", "pdewb_example_sor"]

    for wheel, plugin in zip(built, ["e2e_jacobi", "sor"]):
        installed = pdewb(environment, "plugins", "install", str(wheel), "--yes", "--no-index", "--json")
        assert installed.returncode == 0, installed.stderr
        outcome = json.loads(installed.stdout)
        assert outcome["plugins"] == [plugin] and outcome["statuses"][plugin][0] == "loaded"
        assert f"from wheel file {wheel}" in installed.stderr  # the user saw what and from where

    records = listed(environment)
    assert records["e2e_jacobi"]["status"] == records["sor"]["status"] == "loaded"
    assert records["sor"]["origin"].startswith("wheel: ") and records["sor"]["version"] == "0.1.0"
    assert records["fem"]["origin"] == "built-in"

    jacobi = pdewb(environment, "run", "--solver", "e2e_jacobi.solver", "--set", "n=8", "--out", str(tmp_path / "j"),
                   "--json")
    assert jacobi.returncode == 0, jacobi.stderr
    sor = pdewb(environment, "run", "--solver", "sor.sequence", "--set", "n=12", "--set", "instances=5",
                "--out", str(tmp_path / "s"), "--json")
    assert sor.returncode == 0, sor.stderr
    assert json.loads(sor.stdout)["frames"] == 5

    for name in ("e2e_jacobi", "pdewb-example-sor"):
        removed = pdewb(environment, "plugins", "uninstall", name)
        assert removed.returncode == 0, removed.stderr
    assert not {"e2e_jacobi", "sor"} & set(listed(environment))
    assert installer.snapshot() == host_before  # the host's own environment was never touched
