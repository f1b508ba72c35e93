"""File texts of ``pdewb plugins new`` (string.Template: ``$package``, ``$id``, ``$title``, ``$api``, ...).

Each kind has a descriptor module (``plugin.py``), an implementation module and a
test. They are written to run as generated: ``tests/plugins/test_scaffold.py``
runs every kind's test, and builds, installs and runs one in a fresh environment.
"""

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "$title: a $kind plugin for PDE Workbench."
requires-python = ">=3.11"
dependencies = ["pde-workbench", "numpy>=1.26"]

[project.optional-dependencies]
test = ["pytest>=8.0"]

# The host finds the plugin through this entry point and imports only $package.plugin at start-up.
[project.entry-points."pde_workbench.plugins"]
$package = "$package.plugin"

[tool.setuptools.packages.find]
where = ["src"]
'''

README = '''\
# $distribution

A $kind plugin for PDE Workbench, created by `pdewb plugins new`.

    pip install -e .            # or: pip wheel --no-deps . && pdewb plugins install $package-0.1.0-py3-none-any.whl
    pytest tests                # runs with the host's plugin_host fixture
    pdewb plugins list          # shows "$package" with status "loaded"

`src/$package/plugin.py` holds the descriptor (imported when the workbench starts:
keep it light) and `src/$package/$module.py` the implementation (imported when it
runs). See docs/plugins.md of PDE Workbench for the hook reference.
'''

INIT = '''\
"""$title: a $kind plugin for PDE Workbench."""
'''

_HEADER = '''\
"""Descriptor of $title: imported when PDE Workbench starts, so it imports nothing heavy."""

'''
_API = '''
#: The hook API version this plugin was written for; a host that cannot serve it lists the plugin as incompatible.
PDEWB_HOOK_API = $api
'''

SOLVER_DESCRIPTOR = _HEADER + '''\
from workbench.plugins import ParamSpec, SolverContribution, hookimpl
''' + _API + '''

@hookimpl
def pdewb_reference_solvers():
    return [SolverContribution(
        id="$id",
        title="$title: Poisson by Jacobi iteration",
        summary="-laplace(u) = f on the unit square with u = 0 on the boundary, on a grid of its own.",
        implementation="$package.$module:solve",
        grid="$package.$module:grid_mesh",
        equation="poisson",
        params=(
            ParamSpec("n", "int", 16, minimum=2, maximum=512, help="Grid cells per side."),
            ParamSpec("source", "float", 1.0, help="Constant right-hand side f."),
            ParamSpec("tolerance", "float", 1e-8, minimum=1e-14, help="Stop when no value changes more than this."),
            ParamSpec("max_iterations", "int", 20000, minimum=1),
        ),
    )]
'''

SOLVER = '''\
"""The Jacobi solver: imported only when it runs."""

import numpy as np

from workbench.core import Field, Frame, LogMessage, Progress, Scalars
from workbench.core.meshgen import rectangle_mesh

FRAMES = 10  # intermediate frames shown while iterating


def grid_mesh(params):
    """The solver's own mesh: its points are the grid nodes, row by row (x fastest)."""
    return rectangle_mesh(params["n"])


def solve(problem):
    """Yield frames, progress and the update size; the host handles pause and cancel at each yield."""
    n, f = problem.params["n"], problem.params["source"]
    tolerance, max_iterations = problem.params["tolerance"], problem.params["max_iterations"]
    h2 = (1.0 / n) ** 2
    u = np.zeros((n + 1, n + 1))  # u[j, i] at (x_i, y_j), zero on the boundary
    every = max(1, max_iterations // FRAMES)
    for iteration in range(1, max_iterations + 1):
        interior = 0.25 * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] + h2 * f)
        change = float(np.abs(interior - u[1:-1, 1:-1]).max())
        u[1:-1, 1:-1] = interior
        yield Scalars(iteration, {"update": change})
        if change < tolerance:
            break
        if iteration % every == 0:
            yield Frame(iteration, float(iteration), {"u": Field("u", u.ravel().copy())})
            yield Progress(iteration / max_iterations, f"iteration {iteration}: update {change:.2e}")
    yield Frame(iteration, float(iteration), {"u": Field("u", u.ravel().copy())})
    state = "converged" if change < tolerance else "stopped at max_iterations"
    yield LogMessage(f"{state} after {iteration} iterations (last update {change:.2e})")
'''

SOLVER_TEST = '''\
"""The solver loads through the host and solves -laplace(u) = 1 on the unit square."""

import pytest

from workbench.compute.runner import build_problem, run_solver
from workbench.core import RunStatus
from workbench.testing import plugin_host  # noqa: F401 - a pytest fixture: a host with just pdewb_plugins

import $package.plugin


@pytest.fixture
def pdewb_plugins():
    return [$package.plugin]


def test_the_solver_converges_to_the_known_centre_value(plugin_host):
    solver = plugin_host.solver("$id")
    run = run_solver(solver, build_problem(solver, None, {"n": 16}))
    assert run.status is RunStatus.SUCCEEDED, run.error
    u = run.frames[-1].fields["u"].values.reshape(17, 17)
    # The exact solution's centre value is 0.0736713...; the 5-point scheme on 16 x 16 cells is within 1e-3.
    assert u[8, 8] == pytest.approx(0.07367, abs=1e-3)
    assert run.curves["update"][-1][1] < 1e-8
'''

MOVER_DESCRIPTOR = _HEADER + '''\
from workbench.core.monitors import MONITOR_PARAMS
from workbench.plugins import MeshMoverContribution, ParamSpec, hookimpl
''' + _API + '''

@hookimpl
def pdewb_mesh_movers():
    return [MeshMoverContribution(
        id="$id",
        title="$title: weighted smoothing",
        summary="Moves each interior node toward the monitor-weighted mean of its neighbours.",
        implementation="$package.$module:move",
        cell_types=("triangle",),
        params=(
            *MONITOR_PARAMS,
            ParamSpec("iterations", "int", 50, minimum=1, maximum=10000, help="Smoothing sweeps at most."),
            ParamSpec("step", "float", 0.5, minimum=0.0, maximum=1.0, help="Fraction of the way to the mean."),
            ParamSpec("tolerance", "float", 1e-6, minimum=0.0, help="Stop when no node moves farther than this."),
        ),
    )]
'''

MOVER = '''\
"""The weighted smoothing mover: imported only when it runs."""

import numpy as np

from workbench.core import Field, Frame, LogMessage, Progress, Scalars


def move(mesh, monitor, params):
    """A Frame of coordinates per sweep; never a frame with an inverted triangle."""
    neighbours = _edges(mesh.simplices, mesh.n_points)
    fixed = np.zeros(mesh.n_points, bool)
    fixed[np.unique(mesh.boundary_facets())] = True  # boundary nodes stay (they could slide; kept simple)
    points = mesh.points.copy()
    step, iterations = params["step"], params["iterations"]
    yield Frame(0, 0.0, {"coordinates": Field("coordinates", points.copy())})
    for iteration in range(1, iterations + 1):
        weights = neighbours.multiply(monitor(points)[None, :]).tocsr()  # w_ij = m(x_j) for each edge ij
        mean = (weights @ points) / np.asarray(weights.sum(axis=1))
        proposal = points + step * (mean - points)
        proposal[fixed] = points[fixed]
        if np.any(_signed_areas(proposal, mesh.simplices) <= 0):
            yield LogMessage(f"stopped after {iteration - 1} sweeps: the next one would invert a triangle")
            return
        moved = float(np.abs(proposal - points).max())
        points = proposal
        yield Frame(iteration, float(iteration), {"coordinates": Field("coordinates", points.copy())})
        yield Scalars(iteration, {"residual": moved})
        yield Progress(iteration / iterations, f"sweep {iteration}: moved {moved:.2e}")
        if moved < params["tolerance"]:
            yield LogMessage(f"converged after {iteration} sweeps (largest move {moved:.2e})")
            return
    yield LogMessage(f"stopped after {iterations} sweeps (iterations reached; last move {moved:.2e})")


def _edges(triangles, n_points):
    from scipy import sparse

    i = triangles[:, [0, 1, 2, 1, 2, 0]].ravel()
    j = triangles[:, [1, 2, 0, 0, 1, 2]].ravel()
    adjacency = sparse.coo_matrix((np.ones(len(i)), (i, j)), shape=(n_points, n_points)).tocsr()
    adjacency.data[:] = 1.0  # an edge shared by two triangles counts once
    return adjacency


def _signed_areas(points, triangles):
    a, b, c = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
'''

MOVER_TEST = '''\
"""The mover loads through the host, pulls nodes toward a front and inverts nothing."""

import numpy as np
import pytest

from workbench.compute.moving import run_mover
from workbench.core import RunStatus
from workbench.core.meshgen import rectangle_mesh
from workbench.plugins import MeshMoverContribution
from workbench.testing import plugin_host  # noqa: F401 - a pytest fixture: a host with just pdewb_plugins

import $package.plugin


@pytest.fixture
def pdewb_plugins():
    return [$package.plugin]


def test_nodes_gather_at_the_front_without_inverting(plugin_host):
    mover = plugin_host.get("$id", MeshMoverContribution)
    mesh = rectangle_mesh(12)
    outcome = run_mover(mover, mesh, "tanh((x - 0.5) / 0.05)", {"monitor": "gradient", "iterations": 30})
    assert outcome.run.status is RunStatus.SUCCEEDED, outcome.run.error
    assert outcome.reason.startswith(("converged", "stopped"))
    distance = lambda points: np.abs(points[:, 0] - 0.5).mean()  # noqa: E731
    assert distance(outcome.mesh.points) < 0.9 * distance(mesh.points)
    assert outcome.mesh.simplex_measures.min() > 0
'''

SURROGATE_DESCRIPTOR = _HEADER + '''\
from workbench.plugins import ParamSpec, SurrogateContribution, hookimpl
''' + _API + '''

@hookimpl
def pdewb_operator_surrogates():
    return [SurrogateContribution(
        id="$id",
        title="$title: linear least squares",
        summary="The best linear map from the input field to the output field (ridge regression).",
        implementation="$package.$module:train_job",
        loader="$package.$module:load",
        learns=(),  # ids of the reference solvers whose data sets it learns; empty: any
        params=(ParamSpec("ridge", "float", 1e-8, minimum=0.0, help="Tikhonov regularisation."),),
    )]
'''

SURROGATE = '''\
"""A linear surrogate trained by least squares: imported only when it trains or loads.

The checkpoint is a safetensors file written with numpy (one float64 tensor, "weights")
whose "pdewb" metadata names this surrogate; loading it parses JSON and copies bytes,
so a checkpoint can never execute code.
"""

import json
from pathlib import Path

import numpy as np

from workbench.core import LogMessage, Progress, Scalars
from workbench.io.atomic import atomic_path
from workbench.io.checkpoints import CheckpointError, read_checkpoint_document, read_safetensors_header
from workbench.io.datasets import read_dataset

SURROGATE_ID = "$id"


def train_job(request):
    """Fit W with inputs @ W ~ targets; the fit is one step, so a cancel before it leaves no checkpoint."""
    arrays, metadata = read_dataset(request.dataset)
    input_name, output_name = _roles(metadata)
    yield Progress(0.1, f"fitting {output_name} from {input_name}")
    x, y = arrays[input_name], arrays[output_name]
    inputs, targets = x.reshape(len(x), -1), y.reshape(len(y), -1)
    gram = inputs.T @ inputs + request.params["ridge"] * np.eye(inputs.shape[1])
    weights = np.linalg.solve(gram, inputs.T @ targets)
    loss = float(np.mean((inputs @ weights - targets) ** 2))
    yield Scalars(1, {"train_loss": loss})
    document = {"surrogate": SURROGATE_ID, "input": input_name, "output": output_name,
                "input_shape": list(x.shape[1:]), "output_shape": list(y.shape[1:]),
                "task": {"solver": metadata["attributes"].get("solver")}, "metrics": {"train_mse": loss}}
    save(Path(request.checkpoint), weights, document)
    yield Progress(1.0, "saved")
    yield LogMessage(f"trained on {len(x)} samples, mean squared error {loss:.3e}")


def _roles(metadata):
    fields = metadata.get("fields", {})
    inputs = [name for name, info in fields.items() if info.get("role") == "input"]
    outputs = [name for name, info in fields.items() if info.get("role") == "output"]
    if not inputs or not outputs:
        raise CheckpointError("the data set's metadata names no input and output field")
    return inputs[0], outputs[0]


def save(path, weights, document):
    """A safetensors file: 8-byte header length, the JSON header, then the raw little-endian float64s."""
    data = np.ascontiguousarray(weights, dtype="<f8").tobytes()
    header = {"weights": {"dtype": "F64", "shape": list(weights.shape), "data_offsets": [0, len(data)]},
              "__metadata__": {"pdewb": json.dumps(document)}}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors aligns the data to 8 bytes
    with atomic_path(path) as temporary:
        temporary.write_bytes(len(raw).to_bytes(8, "little") + raw + data)


def load(path, device=None):
    path = Path(path)
    header = read_safetensors_header(path)
    document = read_checkpoint_document(path)
    if document.get("surrogate") != SURROGATE_ID:
        raise CheckpointError(f"{path.name} is not a {SURROGATE_ID} checkpoint")
    entry = header["weights"]
    start, end = entry["data_offsets"]
    with open(path, "rb") as handle:
        handle.seek(8 + int.from_bytes(handle.read(8), "little") + start)
        weights = np.frombuffer(handle.read(end - start), dtype="<f8").reshape(entry["shape"])
    return LinearSurrogate(document, weights)


class LinearSurrogate:
    """The trained surrogate, as workbench.core.surrogates.Surrogate describes it."""

    def __init__(self, document, weights):
        self.document = document
        self.weights = weights

    def pairs(self, arrays, metadata):
        return arrays[self.document["input"]], arrays[self.document["output"]]

    def predict(self, inputs):
        flat = np.asarray(inputs, dtype=np.float64).reshape(len(inputs), -1)
        return (flat @ self.weights).reshape(len(inputs), *self.document["output_shape"])
'''

SURROGATE_TEST = '''\
"""The surrogate loads through the host, learns a linear operator from a data set and reloads."""

import sys
import types

import numpy as np
import pytest

from workbench.core.surrogates import TrainingRequest
from workbench.io.datasets import generate_dataset, read_dataset
from workbench.plugins import SolverContribution, SurrogateContribution
from workbench.testing import plugin_host  # noqa: F401 - a pytest fixture: a host with just pdewb_plugins

import $package.plugin


@pytest.fixture
def pdewb_plugins():
    return [$package.plugin]


@pytest.fixture
def smoothing_data(tmp_path, monkeypatch):
    """A data set of u = a smoothed by a fixed 3-point average, written by the host's generator."""
    module = types.ModuleType("toy_smoothing_data")

    def generate_batch(params, seeds, device):
        a = np.stack([np.random.default_rng(int(s)).standard_normal(16) for s in seeds])
        return {"a": a, "u": (np.roll(a, 1, axis=1) + a + np.roll(a, -1, axis=1)) / 3}

    def dataset_metadata(params):
        return {"grid": {"kind": "periodic", "dims": 1, "n": 16, "domain": [0, 1]},
                "fields": {"a": {"role": "input"}, "u": {"role": "output", "meaning": "3-point mean of a"}}}

    module.generate_batch, module.dataset_metadata = generate_batch, dataset_metadata
    monkeypatch.setitem(sys.modules, module.__name__, module)
    solver = SolverContribution(id="toy.smoothing", title="Toy", implementation="toy_smoothing_data:generate_batch",
                                dataset="toy_smoothing_data:generate_batch")
    path = tmp_path / "smoothing.h5"
    generate_dataset(solver, path, samples=64, batch=16)
    return path


def test_trains_saves_and_predicts_unseen_samples(plugin_host, smoothing_data, tmp_path):
    surrogate = plugin_host.get("$id", SurrogateContribution)
    checkpoint = tmp_path / "model.safetensors"
    request = TrainingRequest(smoothing_data, checkpoint, {"ridge": 1e-10})
    events = list(surrogate.train_job(request))
    assert checkpoint.exists() and events
    model = surrogate.load_checkpoint(checkpoint)
    arrays, metadata = read_dataset(smoothing_data)
    a = np.random.default_rng(12345).standard_normal((4, 16))  # not in the training data
    expected = (np.roll(a, 1, axis=1) + a + np.roll(a, -1, axis=1)) / 3
    np.testing.assert_allclose(model.predict(a), expected, atol=1e-6)
    inputs, targets = model.pairs(arrays, metadata)
    assert inputs.shape == targets.shape == (64, 16)
'''

# The integrator kind follows IntegratorContribution's contract (workbench/plugins/contributions.py).
INTEGRATOR_DESCRIPTOR = _HEADER + '''\
from workbench.plugins import IntegratorContribution, ParamSpec, hookimpl
''' + _API + '''

@hookimpl
def pdewb_time_integrators():
    return [IntegratorContribution(
        id="$id",
        title="$title: 1D heat equation (neural field)",
        summary="u_t = nu u_xx on the periodic unit interval, u(x, 0) = sin(2 pi x); the field is a small "
        "network whose weights are fitted by Adam to the implicit Euler residual at every step.",
        implementation="$package.$module:integrate",
        grid="$package.$module:grid_mesh",
        equation="heat",
        requires=("torch",),  # listed, so a missing torch is reported before anything is imported
        params=(
            ParamSpec("nu", "float", 0.01, minimum=0.0, help="Diffusivity."),
            ParamSpec("dt", "float", 0.05, minimum=1e-9, help="Time step."),
            ParamSpec("steps", "int", 10, minimum=1, help="Number of time steps."),
            ParamSpec("width", "int", 24, minimum=2, help="Hidden width of the network."),
            ParamSpec("max_iterations", "int", 300, minimum=1, help="Adam iterations per step (4x for the initial fit)."),
            ParamSpec("tolerance", "float", 1e-7, minimum=0.0, help="Stop a step once its loss is below this."),
            ParamSpec("points", "int", 64, minimum=8, help="Collocation points (resampled every step)."),
            ParamSpec("seed", "int", 0, minimum=0, help="Seeds the weights and the collocation points."),
            ParamSpec("display_n", "int", 64, minimum=4, help="Cells of the display grid."),
        ),
    )]
'''

INTEGRATOR = '''\
"""The neural-field integrator: imported only when it runs (torch is imported here, never in plugin.py).

The host runs jobs under torch.inference_mode(); fitting needs autograd, so each inner
iteration re-enables it inside ``with _autograd():`` and leaves it before yielding
(the grad mode belongs to the thread, which runs the host's code between yields).
"""

import contextlib
import math
import time

import numpy as np
import torch

from workbench.core import Field, Frame, LogMessage, Progress, Scalars
from workbench.core.meshgen import interval_mesh


def grid_mesh(params):
    """The display mesh: the field is sampled at its points for every frame."""
    return interval_mesh(params["display_n"])


@contextlib.contextmanager
def _autograd():
    with torch.inference_mode(False), torch.enable_grad():
        yield


class PeriodicField(torch.nn.Module):
    """u(x) = MLP(sin 2 pi x, cos 2 pi x): periodic on [0, 1) by construction."""

    def __init__(self, width):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, width), torch.nn.Tanh(), torch.nn.Linear(width, width),
                                       torch.nn.Tanh(), torch.nn.Linear(width, 1))

    def forward(self, x):
        angle = 2 * math.pi * x
        return self.net(torch.cat([torch.sin(angle), torch.cos(angle)], dim=1))


def integrate(problem):
    p = problem.params
    torch.manual_seed(p["seed"])
    points = torch.Generator().manual_seed(p["seed"])
    with _autograd():
        field = PeriodicField(p["width"]).double()
    display = torch.tensor(problem.mesh.points[:, :1], dtype=torch.float64)

    def residual(x, previous, n):
        """u(x, 0) - sin(2 pi x) to start, then the implicit Euler residual u - u^n - dt nu u_xx."""
        u = field(x)
        if n == 0:
            return u - torch.sin(2 * math.pi * x)
        (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        (d2u,) = torch.autograd.grad(du.sum(), x, create_graph=True)
        return u - previous - p["dt"] * p["nu"] * d2u

    for n in range(p["steps"] + 1):
        with _autograd():  # tensors made under the host's inference mode could never take part in autograd
            x = torch.rand(p["points"], 1, dtype=torch.float64, generator=points).requires_grad_(True)
            with torch.no_grad():
                previous = field(x)  # u^n at this step's points, before the weights move
        cap = 4 * p["max_iterations"] if n == 0 else p["max_iterations"]
        started = time.perf_counter()
        optimizer = torch.optim.Adam(field.parameters(), lr=1e-2 if n == 0 else 2e-3)
        reason = "iteration cap"
        for iteration in range(1, cap + 1):
            with _autograd():
                optimizer.zero_grad()
                loss = residual(x, previous, n).pow(2).mean()
                loss.backward()
                optimizer.step()
                value = float(loss.detach())
            # After every inner iteration, outside the autograd block: cancel and pause act here.
            yield Progress((n + iteration / cap) / (p["steps"] + 1), f"step {n}: loss {value:.2e}")
            if value < p["tolerance"]:
                reason = "tolerance"
                break
        t = n * p["dt"]
        with torch.no_grad():
            u = field(display)[:, 0].numpy().copy()
        exact = np.sin(2 * np.pi * problem.mesh.points[:, 0]) * np.exp(-4 * np.pi**2 * p["nu"] * t)
        yield Frame(n, t, {"u": Field("u", u), "exact": Field("exact", exact), "error": Field("error", u - exact)})
        yield Scalars(n, {"loss": value, "loss.residual": value, "iterations": iteration,
                          "seconds": time.perf_counter() - started, "error": float(np.abs(u - exact).max())})
        yield LogMessage(f"step {n}: Adam stopped at {reason} after {iteration} iterations (loss {value:.2e})")
'''

INTEGRATOR_TEST = '''\
"""The integrator loads through the host and follows the exact decay of the heat equation."""

import pytest

from workbench.compute.runner import build_problem, run_solver
from workbench.core import RunStatus
from workbench.plugins import IntegratorContribution
from workbench.testing import plugin_host  # noqa: F401 - a pytest fixture: a host with just pdewb_plugins

import $package.plugin


@pytest.fixture
def pdewb_plugins():
    return [$package.plugin]


def test_three_steps_stay_close_to_the_exact_solution(plugin_host):
    integrator = plugin_host.get("$id", IntegratorContribution)
    params = {"steps": 3, "dt": 0.05, "nu": 0.05, "max_iterations": 150, "width": 16, "display_n": 32}
    run = run_solver(integrator, build_problem(integrator, None, params))
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert [frame.index for frame in run.frames] == [0, 1, 2, 3]
    # The field decays like exp(-4 pi^2 nu t); implicit Euler with dt = 0.05 is within a few percent of it.
    assert run.curves["error"][-1][1] < 0.08
    assert len(run.curves["iterations"]) == 4 and "Adam stopped at" in run.log[-1]
'''

DESCRIPTORS = {"solver": SOLVER_DESCRIPTOR, "surrogate": SURROGATE_DESCRIPTOR, "mover": MOVER_DESCRIPTOR,
               "integrator": INTEGRATOR_DESCRIPTOR}
IMPLEMENTATIONS = {"solver": SOLVER, "surrogate": SURROGATE, "mover": MOVER, "integrator": INTEGRATOR}
TESTS = {"solver": SOLVER_TEST, "surrogate": SURROGATE_TEST, "mover": MOVER_TEST, "integrator": INTEGRATOR_TEST}
MODULE_NAMES = {"solver": "solver", "surrogate": "surrogate", "mover": "mover", "integrator": "integrator"}
