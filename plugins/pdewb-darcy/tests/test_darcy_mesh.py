"""darcy.fem: the FNO random coefficient on the user's triangle mesh, checked against darcy.fd."""

import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

import pdewb_darcy.plugin
from pdewb_darcy.darcy import node_coordinates, solve_darcy
from pdewb_darcy.grf import gaussian_random_field, gaussian_random_field_at, threshold
from pdewb_darcy.mesh_darcy import solve
from workbench.cli.main import main
from workbench.compute.runner import build_problem, run_solver
from workbench.core import RunStatus
from workbench.core.errors import ParamError
from workbench.core.events import Frame
from workbench.core.mesh import Mesh
from workbench.core.meshgen import rectangle_mesh
from workbench.core.problem import BoundaryCondition, Problem
from workbench.testing import host_with

N_FIELD, SEED = 32, 3


# -- the random field at arbitrary points ---------------------------------------------------


@pytest.mark.parametrize("s, seed", [(9, 0), (33, 5)])
def test_field_at_grid_nodes_is_the_grid_field(s, seed):
    t = np.linspace(0.0, 1.0, s)
    y, x = np.meshgrid(t, t, indexing="ij")
    at = gaussian_random_field_at(np.column_stack([x.ravel(), y.ravel()]), s, seed).reshape(s, s)
    assert np.max(np.abs(at - gaussian_random_field(1, s, seed)[0])) < 1e-12


def test_field_follows_the_bounds():
    """On the box [2, 4] x [-1, 0] node j sits at low + j (high - low) / (s - 1): same values."""
    s = 17
    y, x = np.meshgrid(np.linspace(-1.0, 0.0, s), np.linspace(2.0, 4.0, s), indexing="ij")
    at = gaussian_random_field_at(np.column_stack([x.ravel(), y.ravel()]), s, 1, bounds=((2, 4), (-1, 0)))
    assert np.max(np.abs(at.reshape(s, s) - gaussian_random_field(1, s, 1)[0])) < 1e-12


def test_field_between_nodes_is_smooth():
    s = 33
    grid = gaussian_random_field(1, s, 2)[0]
    t = np.linspace(0.0, 1.0, 8 * (s - 1) + 1)  # 7 points between neighbouring nodes
    y, x = np.meshgrid(t, t, indexing="ij")
    fine = gaussian_random_field_at(np.column_stack([x.ravel(), y.ravel()]), s, 2).reshape(len(t), len(t))
    assert np.all(np.isfinite(fine))
    spread = grid.max() - grid.min()
    assert grid.min() - 0.05 * spread <= fine.min() and fine.max() <= grid.max() + 0.05 * spread
    # smooth: neighbouring fine samples differ by a small fraction of the range (no ringing between nodes)
    assert np.max(np.abs(np.diff(fine, axis=1))) < 0.05 * spread


# -- the solver ----------------------------------------------------------------------------


def perturbed_square(m: int, seed: int = 0, amount: float = 0.2) -> Mesh:
    """rectangle_mesh(m) with every interior node moved by up to amount * h per axis: an irregular mesh."""
    base = rectangle_mesh(m)
    points = base.points.copy()
    interior = np.all((points > 0.0) & (points < 1.0), axis=1)
    points[interior] += np.random.default_rng(seed).uniform(-amount, amount, (interior.sum(), 2)) / m
    return Mesh.build(points, [("triangle", base.simplices)])


def fem_fields(mesh: Mesh, boundary=(), **params):
    problem = Problem(mesh, "darcy", {"n": N_FIELD, "seed": SEED, **params}, boundary)
    frames = [event for event in solve(problem) if isinstance(event, Frame)]
    assert len(frames) == 1
    return frames[0].fields


def relative_l2(mesh: Mesh, u: np.ndarray, reference) -> float:
    """||u - reference||_L2 / ||reference||_L2 with the lumped P1 mass as weights."""
    weights = np.bincount(mesh.simplices.ravel(), np.repeat(mesh.simplex_measures, 3), mesh.n_points)
    r = reference(mesh.points[:, ::-1])  # grid interpolants take (y, x)
    return float(np.sqrt(np.sum(weights * (u - r) ** 2) / np.sum(weights * r**2)))


def grid_interpolant(u: np.ndarray) -> RegularGridInterpolator:
    t = np.linspace(0.0, 1.0, len(u))
    return RegularGridInterpolator((t, t), u)


@pytest.fixture(scope="module")
def fd_run():
    """darcy.fd through the host, same seed and n: the data-set solution."""
    solver = host_with(pdewb_darcy.plugin).solver("darcy.fd")
    run = run_solver(solver, build_problem(solver, None, {"n": N_FIELD, "seed": SEED}))
    assert run.status is RunStatus.SUCCEEDED
    return run.frames[0].fields["u"].values.reshape(N_FIELD + 1, N_FIELD + 1)


@pytest.fixture(scope="module")
def fine_fd():
    """The same continuous problem (the field of n = 32 thresholded) by finite differences on 256 x 256.

    Measured: it differs from the 512 x 512 solution by 3.5e-4 (relative L2), far below the FEM errors below."""
    x, y = node_coordinates(256)
    field = gaussian_random_field_at(np.column_stack([x.ravel(), y.ravel()]), N_FIELD + 1, SEED)
    u, _ = solve_darcy(threshold(field).reshape(x.shape), 1.0, "amg-cg")
    return grid_interpolant(u)


def test_fem_agrees_with_darcy_fd(fd_run):
    """Measured relative L2 on a perturbed 128 x 128 mesh: 8.4e-3 (the FD error of the n = 32 grid itself)."""
    mesh = perturbed_square(128)
    error = relative_l2(mesh, fem_fields(mesh)["u"].values, grid_interpolant(fd_run))
    assert error < 2e-2


def test_fem_converges_to_a_fine_reference(fine_fd):
    """Relative L2 to the 256 x 256 FD solution, measured 1.47e-2, 6.4e-3, 2.5e-3 on m = 32, 64, 128:
    about first order, which is what the jump of a across curved interfaces allows."""
    errors = []
    for m in (32, 64, 128):
        mesh = perturbed_square(m)
        errors.append(relative_l2(mesh, fem_fields(mesh)["u"].values, fine_fd))
    assert errors[0] < 3e-2 and errors[2] < 5e-3
    assert errors[1] < 0.7 * errors[0] and errors[2] < 0.7 * errors[1]


def test_coefficient_is_two_phase_per_cell():
    mesh = perturbed_square(32)
    fields = fem_fields(mesh)
    a = fields["a"]
    assert a.location == "cell" and a.values.shape == (mesh.n_cells,)
    assert set(np.unique(a.values)) == {3.0, 12.0}
    u = fields["u"].values
    assert np.all(u >= 0.0) and u.max() > 0.0  # f = 1, u = 0 on the boundary: maximum principle


def test_user_boundary_conditions_replace_the_default():
    mesh = perturbed_square(16)
    u = fem_fields(mesh, (BoundaryCondition("boundary", "dirichlet", "1"),), source="0")["u"].values
    assert np.allclose(u, 1.0)  # f = 0 and u = 1 on the boundary: u = 1
    with pytest.raises(ParamError, match="Dirichlet"):
        fem_fields(mesh, (BoundaryCondition("boundary", "neumann", "1"),))


def test_non_triangle_mesh_is_refused():
    quads = Mesh.build([[0, 0], [1, 0], [1, 1], [0, 1]], [("quad", np.array([[0, 1, 2, 3]]))])
    with pytest.raises(ParamError, match="darcy.fem needs a 2D triangle mesh; this one has quad cells"):
        fem_fields(quads)


def test_plugin_lists_and_cli_runs(tmp_path, capsys):
    solver = host_with(pdewb_darcy.plugin).solver("darcy.fem")
    assert solver.cell_types == ("triangle",) and {p.name for p in solver.params} >= {"n", "seed", "source"}
    assert main(["plugins", "list"]) == 0
    assert "darcy.fem" in capsys.readouterr().out
    code = main(["run", "--solver", "darcy.fem", "--mesh", "sample:l-shape", "--set", "seed=3",
                 "--out", str(tmp_path / "out")])
    assert code == 0
    assert any((tmp_path / "out").iterdir())
