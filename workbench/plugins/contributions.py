"""What plugins contribute: plain descriptors that name their implementation lazily.

A contribution says what it offers (id, title, parameters, the equation it solves)
and *where* the code lives as an import string ``"package.module:attribute"``.
Discovering plugins therefore imports only these small descriptor modules, never
torch or a solver; the implementation is imported by :meth:`Contribution.load`
the first time it is used. This is the napari/npe2 pattern.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from ..core.errors import PLUGIN_FAILURES, PluginError, describe_failure
from ..core.mesh import Mesh
from ..core.params import ParamSpec


def import_string(target: str) -> Any:
    """Import ``"package.module:attribute.path"`` and return the attribute."""
    module_name, sep, attribute_path = target.partition(":")
    if not sep or not module_name or not attribute_path:
        raise PluginError(f"'{target}' is not an import string of the form 'package.module:attribute'")
    try:
        obj: Any = importlib.import_module(module_name)
    except PLUGIN_FAILURES as error:  # any import failure (sys.exit() too) is reported, not raised raw
        raise PluginError(f"cannot import '{module_name}': {describe_failure(error)}") from error
    for part in attribute_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginError(f"'{module_name}' has no attribute '{attribute_path}'") from None
    return obj


@dataclass(frozen=True)
class Contribution:
    """Common fields of every contribution.

    ``requires`` lists top-level modules the implementation needs (e.g. "torch"),
    so a missing optional dependency is reported before anything is imported.
    """

    family: ClassVar[str] = "contribution"

    id: str
    title: str
    implementation: str
    summary: str = ""
    params: tuple[ParamSpec, ...] = ()
    requires: tuple[str, ...] = ()

    def missing_requirements(self) -> list[str]:
        return [name for name in self.requires if importlib.util.find_spec(name) is None]

    def load(self) -> Any:
        """Import and return the implementation."""
        return self._import(self.implementation)

    def _import(self, target: str) -> Any:
        """Import one of this contribution's import strings; errors name the contribution."""
        missing = self.missing_requirements()
        if missing:
            raise PluginError(f"'{self.id}' needs {', '.join(missing)}, which is not installed")
        try:
            return import_string(target)
        except PluginError as error:
            raise PluginError(f"'{self.id}': {error}") from error.__cause__

    def describe(self) -> dict:
        """Plain data for ``--json`` output and the GUI."""
        data = {"family": self.family}
        for f in fields(self):
            value = getattr(self, f.name)
            data[f.name] = [p.describe() for p in value] if f.name == "params" else value
        return data


@dataclass(frozen=True)
class SolverContribution(Contribution):
    """A reference solver. ``implementation`` names ``solve(problem) -> Job``.

    ``cell_types`` lists the meshio cell types it accepts (empty: any) and
    ``boundary_kinds`` the boundary condition kinds it understands.

    Solvers that discretise their own domain (spectral methods on a periodic box,
    finite differences on a grid) set ``grid`` to the import string of
    ``grid_mesh(params) -> Mesh``: the mesh whose points carry their frames'
    values. They run without a user mesh; the GUI shows that grid.

    Solvers that can generate training data set ``dataset`` to the import string of
    ``generate_batch(params, seeds, device) -> dict[str, np.ndarray]`` (arrays with a
    leading batch axis, sample b drawn from ``seeds[b]`` alone). ``dataset_metadata(params)
    -> dict`` (JSON-able grid, times, fields) lives next to it: in the same module, or in
    the same class for a dotted path such as ``"pkg.dataset:Burgers.generate_batch"``. Used by
    ``pdewb datagen`` (:mod:`workbench.io.datasets`, ``docs/plugins.md``).
    """

    family: ClassVar[str] = "reference_solver"

    equation: str = ""
    time_dependent: bool = False
    cell_types: tuple[str, ...] = ()
    boundary_kinds: tuple[str, ...] = ()
    grid: str = ""
    dataset: str = ""

    def grid_mesh(self, params) -> Mesh:
        """The solver's own mesh for resolved ``params`` (only for solvers with a ``grid``)."""
        if not self.grid:
            raise PluginError(f"'{self.id}' works on the user's mesh and has no grid of its own")
        return self._import(self.grid)(params)

    def dataset_functions(self):
        """``(generate_batch, dataset_metadata)`` named by ``dataset`` (only for solvers with one)."""
        if not self.dataset:
            raise PluginError(f"'{self.id}' cannot generate data sets (it declares no 'dataset')")
        module, _, path = self.dataset.partition(":")
        container = path.rpartition(".")[0]
        sibling = f"{module}:{container + '.' if container else ''}dataset_metadata"
        return self._import(self.dataset), self._import(sibling)


@dataclass(frozen=True)
class SurrogateContribution(Contribution):
    """An operator surrogate (FNO, MgNO, DeepONet, ...), trained on reference data sets.

    ``implementation`` names ``train_job(request: TrainingRequest) -> Job`` and ``loader``
    names ``load(path, device) -> Surrogate`` (:mod:`workbench.core.surrogates`).
    ``learns`` lists the reference solvers whose data sets it can be trained on;
    ``params`` are its architecture and training hyperparameters.
    """

    family: ClassVar[str] = "operator_surrogate"

    loader: str = ""
    learns: tuple[str, ...] = ()

    def train_job(self, request):
        """The training job for ``request`` (a :class:`~workbench.core.surrogates.TrainingRequest`)."""
        return self.load()(request)

    def load_checkpoint(self, path, device=None):
        """The trained surrogate stored at ``path``."""
        if not self.loader:
            raise PluginError(f"'{self.id}' declares no 'loader' for its checkpoints")
        return self._import(self.loader)(path, device)


@dataclass(frozen=True)
class MeshMoverContribution(Contribution):
    """An r-adaptation method that moves mesh nodes toward features of a field (same topology).

    ``implementation`` names ``move(mesh, monitor, params) -> Job``:

    * ``mesh``: the original mesh (the computational coordinates xi); never modified;
    * ``monitor``: a callable ``m(points) -> values`` (finite, > 0), built by the host
      from the driving field and the monitor parameters (:data:`workbench.core.monitors.
      MONITOR_PARAMS`, which a mover lists among its ``params``). A mover evaluates it on
      its moved nodes, as often as it likes. A :class:`~workbench.core.monitors.FieldMonitor`
      also carries ``field`` (the driving values on ``mesh``), ``mesh`` and ``spec``, for
      movers that read the field itself (the DMM network's branch input);
    * ``params``: the resolved parameters.

    The job yields a ``Frame(iteration, float(iteration), {"coordinates": Field(...)})``
    per iteration (at least the final one) with the moved nodes, shape (n_points, gdim),
    and may add nodal fields ("monitor", "residual"); ``Scalars`` with a "residual" curve;
    and last a ``LogMessage`` whose text starts with "converged" or "stopped" and gives
    the reason. The **last frame's coordinates are the result** and must not invert a
    cell: a mover that cannot go on stops with its last valid mesh, or, with a
    ``fallback``, the host may rerun that mover. The host builds the moved mesh and
    computes the quality report the same way for every mover
    (:mod:`workbench.compute.moving`, :mod:`workbench.core.mesh_quality`).

    ``cell_types`` lists the meshio cell types it moves (empty: any). Learned movers
    set ``trainer`` (import string of ``train_job(request) -> Job``), ``loader``
    (``load(path, device)`` of a checkpoint, which must never execute code from the
    file) and ``fallback`` (the id of the mover to use when theirs inverts a cell).
    """

    family: ClassVar[str] = "mesh_mover"
    #: Name of the frame field that carries the moved node coordinates.
    COORDINATES: ClassVar[str] = "coordinates"

    cell_types: tuple[str, ...] = ()
    trainer: str = ""
    loader: str = ""
    fallback: str = ""

    def move_job(self, mesh: Mesh, monitor, params):
        """The job moving ``mesh`` toward ``monitor`` with resolved ``params``."""
        return self.load()(mesh, monitor, params)


@dataclass(frozen=True)
class IntegratorContribution(Contribution):
    """A neural-field (INSR) time integrator: the field is a network, each step fits new weights.

    Runnable exactly like a :class:`SolverContribution`: the host (``build_problem`` /
    ``run_solver`` in :mod:`workbench.compute.runner`, ``pdewb run``, the GUI run panel)
    treats both the same way. ``implementation`` names ``integrate(problem: Problem) -> Job``:

    * ``problem.params`` are the resolved ``params``: typically the integrator (explicit
      Euler, implicit Euler, midpoint, operator splitting, variational implicit Euler),
      the inner solver (Adam, L-BFGS, Gauss-Newton), its iteration cap and tolerance,
      the network's width and depth, the time step and number of steps, the seed;
    * one contribution covers one PDE (``equation``) on the domain it defines itself, so it
      sets ``grid`` to the import string of ``grid_mesh(params) -> Mesh``, the display mesh
      its frames are sampled on (as grid solvers do). Without ``grid`` it samples the field
      on the user's ``problem.mesh``.

    The job yields, per time step n (t = n dt), a ``Frame(n, t, {...})`` with the network
    sampled at the mesh points (the field, and where known "exact", "reference" and
    "error"); ``Scalars(n, ...)`` with at least "loss" (the final residual loss), one
    "loss.<term>" per loss term, "iterations", "seconds" and, where known, "error" and the
    invariants ("kinetic_energy", "max_divergence"); and a ``LogMessage`` per step giving
    the inner solver's stop reason ("tolerance", "plateau", "iteration cap", ...). Cancel
    reaches the job between its yields (:func:`workbench.core.jobs.execute`), so the job
    yields a ``Progress`` after **every inner iteration**: cancel and pause act within one
    inner iteration.

    The host runs jobs of torch contributions under ``torch.inference_mode()`` on the
    compute thread, with :func:`workbench.compute.torch_context.cpu_threads` threads; an
    integrator needs autograd, so it re-enables it itself (``torch.inference_mode(False)``
    and ``torch.enable_grad()``) around its computations, **never across a yield** (the
    grad mode is per thread and the consumer of the events runs on that thread between
    yields). It never sets torch's thread count.

    ``time_dependent`` is always True; ``cell_types`` and ``boundary_kinds`` mean what they
    mean for solvers. An INSR problem brings its own boundary terms (they are loss terms of
    its residual), so integrators with a ``grid`` ignore ``problem.boundary_conditions``.
    """

    family: ClassVar[str] = "time_integrator"

    equation: str = ""
    time_dependent: bool = True
    cell_types: tuple[str, ...] = ()
    boundary_kinds: tuple[str, ...] = ()
    grid: str = ""

    def grid_mesh(self, params) -> Mesh:
        """The display mesh for resolved ``params`` (only for integrators with a ``grid``)."""
        if not self.grid:
            raise PluginError(f"'{self.id}' samples its field on the user's mesh and has no grid of its own")
        return self._import(self.grid)(params)


@dataclass(frozen=True)
class MeshFormatContribution(Contribution):
    """Reads (and optionally writes) a mesh format meshio does not cover.

    ``implementation`` names ``read(path) -> Mesh``; ``writer``, if given, names
    ``write(path, mesh, point_data)``.
    """

    family: ClassVar[str] = "mesh_format"

    extensions: tuple[str, ...] = ()
    writer: str = ""


@dataclass(frozen=True)
class SampleDataContribution(Contribution):
    """A sample mesh or scenario. ``implementation`` names ``() -> pathlib.Path``."""

    family: ClassVar[str] = "sample_data"


#: Hook name -> the contribution type its results must have.
FAMILIES: dict[str, type[Contribution]] = {
    "pdewb_reference_solvers": SolverContribution,
    "pdewb_operator_surrogates": SurrogateContribution,
    "pdewb_mesh_movers": MeshMoverContribution,
    "pdewb_time_integrators": IntegratorContribution,
    "pdewb_mesh_formats": MeshFormatContribution,
    "pdewb_sample_data": SampleDataContribution,
}
