"""The headless CLI: commands, JSON output, one-line errors, written results."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import meshio
import numpy as np
import pytest

from workbench.cli.main import main
from workbench.core.meshgen import rectangle_mesh
from workbench.io.series import read_pvd, to_meshio

HEAT_ON_PLATE = [
    "run", "--mesh", "sample:plate-with-hole", "--solver", "fem.heat",
    "--set", "dt=0.05", "--set", "t_end=0.2", "--set", "output_every=1",
    "--bc", "hole=dirichlet:1", "--bc", "outer=dirichlet:0", "--quiet",
]


def pdewb(*args, env=None, **kwargs):
    """Run the real console script in a fresh interpreter."""
    command = [sys.executable, "-m", "workbench.cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, **kwargs)


def assert_one_line_error(stderr: str, fragment: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("pdewb: error: ") and fragment in lines[0], lines[0]


@pytest.fixture
def square_vtu(tmp_path):
    path = tmp_path / "square.vtu"
    meshio.write(path, to_meshio(rectangle_mesh(6)))
    return path


def test_info_describes_a_mesh_as_text_and_json(square_vtu, capsys):
    assert main(["info", str(square_vtu)]) == 0
    text = capsys.readouterr().out
    assert "72 triangle" in text and "49" in text
    assert main(["info", str(square_vtu), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["points"] == 49 and data["cells"] == {"triangle": 72}
    assert data["measure"] == pytest.approx(1.0)


def test_json_flag_works_before_and_after_the_command(capsys):
    assert main(["--json", "info", "sample:plate-with-hole"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["info", "sample:plate-with-hole", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == before
    assert set(before["boundaries"]) >= {"hole", "outer", "boundary"}


def test_plugins_list_json(capsys):
    assert main(["plugins", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = {p["name"]: p for p in data["plugins"]}
    assert names["fem"]["status"] == "loaded"
    assert "fem.heat" in {c["id"] for c in data["contributions"]}


def test_heat_run_writes_a_pvd_series_that_meshio_and_vtk_read(tmp_path, capsys):
    out = tmp_path / "heat"
    assert main([*HEAT_ON_PLATE, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "succeeded"
    assert summary["times"] == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])
    entries = read_pvd(summary["output"])
    assert [t for t, _ in entries] == pytest.approx(summary["times"])
    last = meshio.read(entries[-1][1])
    u = last.point_data["u"]
    assert len(last.points) == 2268 and len(u) == 2268
    # Maximum principle: data in [0, 1] keeps the solution in [0, 1].
    assert u.min() >= -1e-9 and u.max() <= 1 + 1e-9 and u.max() > 0.99

    vtk = pytest.importorskip("vtkmodules.vtkIOXML")
    from vtkmodules.util.numpy_support import vtk_to_numpy

    # VTK's wheels have no PVD reader (ParaView has); read every file the PVD names.
    for _, path in entries:
        reader = vtk.vtkXMLUnstructuredGridReader()
        reader.SetFileName(str(path))
        reader.Update()
        grid = reader.GetOutput()
        assert grid.GetNumberOfPoints() == 2268 and grid.GetNumberOfCells() == 4278
    assert np.allclose(vtk_to_numpy(grid.GetPointData().GetArray("u")), u)


def test_run_from_scenario_file(tmp_path, capsys):
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        'solver = "fem.poisson"\nmesh = "square.vtu"\n[parameters]\nsource = "2*pi**2*sin(pi*x)*sin(pi*y)"\n'
        '[[boundary]]\ntag = "boundary"\nkind = "dirichlet"\nvalue = "0"\n[output]\ndirectory = "out"\n'
    )
    meshio.write(tmp_path / "square.vtu", to_meshio(rectangle_mesh(16)))
    assert main(["run", str(scenario), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert Path(summary["output"]) == tmp_path / "out" / "fem-poisson.pvd"
    mesh = meshio.read(read_pvd(summary["output"])[0][1])
    exact = np.sin(np.pi * mesh.points[:, 0]) * np.sin(np.pi * mesh.points[:, 1])
    assert np.abs(mesh.point_data["u"] - exact).max() < 0.01


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["info", "does-not-exist.msh"], "does-not-exist.msh: no such file"),
        (["run", "--mesh", "sample:plate-with-hole", "--solver", "no.such"], "no reference solver 'no.such'"),
        ([*HEAT_ON_PLATE, "--set", "dt=-1"], "parameter 'dt' = -1.0 is below its minimum"),
        ([*HEAT_ON_PLATE, "--set", "dtt=1"], "unknown parameter(s) dtt"),
        ([*HEAT_ON_PLATE, "--set", "scheme=rk4"], "'rk4' is not one of implicit-euler, crank-nicolson"),
        ([*HEAT_ON_PLATE, "--bc", "rim=dirichlet:0"], "the mesh has no such boundary"),
        ([*HEAT_ON_PLATE, "--bc", "hole=robin:0"], "kind must be one of dirichlet, neumann"),
        ([*HEAT_ON_PLATE, "--set", "source=__import__('os')"], "only math functions can be called"),
        (["run", "missing.toml"], "missing.toml: no such scenario file"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_errors_exit_2_with_one_line(args, fragment, capsys):
    assert main(args) == 2
    assert_one_line_error(capsys.readouterr().err, fragment)


def test_unwritable_output_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main([*HEAT_ON_PLATE, "--out", str(blocker / "out")]) == 2
    assert_one_line_error(capsys.readouterr().err, "a-file")


def test_a_plugin_that_raises_fails_the_run_not_the_cli(fake_plugin_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(fake_plugin_dir)}
    listing = pdewb("plugins", "list", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    statuses = {p["name"]: p["status"] for p in json.loads(listing.stdout)["plugins"]}
    assert statuses["good"] == "loaded" and statuses["broken_import"] == "failed" and statuses["fem"] == "loaded"

    result = pdewb("run", "--mesh", "sample:plate-with-hole", "--solver", "explodes.solver", "--out", str(tmp_path), env=env)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "run failed: RuntimeError: boom inside the solver")

    good = pdewb("run", "--mesh", "sample:plate-with-hole", "--solver", "good.constant", "--set", "value=3",
                 "--out", str(tmp_path / "good"), "--json", env=env)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["frames"] == 3


def test_the_cli_imports_neither_pyside6_nor_torch(tmp_path):
    code = f"""
import sys
from workbench.cli.main import main
assert main(['info', 'sample:plate-with-hole', '--json']) == 0
assert main({HEAT_ON_PLATE!r} + ['--out', {str(tmp_path)!r}, '--json']) == 0
assert main(['plugins', 'list', '--json']) == 0
heavy = [m for m in ('PySide6', 'torch', 'vtk', 'vtkmodules', 'pyqtgraph') if m in sys.modules]
print('HEAVY', heavy, file=sys.stderr)
assert not heavy, heavy
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stderr


def test_interrupt_cancels_and_keeps_the_frames_computed(tmp_path):
    out = tmp_path / "long"
    command = [sys.executable, "-m", "workbench.cli.main", "run", "--mesh", "sample:plate-with-hole",
               "--solver", "fem.heat", "--set", "dt=0.0005", "--set", "t_end=1000", "--set", "output_every=1",
               "--bc", "hole=dirichlet:1", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    try:
        # Wait until the solver is stepping (progress lines appear), then interrupt.
        line = process.stderr.readline()
        while "fem.heat" not in line and time.monotonic() < deadline:
            line = process.stderr.readline()
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    entries = read_pvd(out / "fem-heat.pvd")
    assert len(entries) >= 2 and all(path.exists() for _, path in entries)


def test_a_solver_with_its_own_grid_runs_without_a_mesh(fake_plugin_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(fake_plugin_dir)}
    result = pdewb("run", "--solver", "grid.wave", "--set", "n=6", "--out", str(tmp_path), "--json", env=env)
    assert result.returncode == 0, result.stderr
    written = meshio.read(read_pvd(json.loads(result.stdout)["output"])[0][1])
    assert len(written.points) == 49  # the solver's 7 x 7 grid


def test_a_mesh_solver_without_a_mesh_is_a_clear_error(capsys):
    assert main(["run", "--solver", "fem.heat"]) == 2
    assert_one_line_error(capsys.readouterr().err, "'fem.heat' solves on a mesh: give --mesh")
