"""Hook implementations of the mesh-mover plugin: descriptors only, nothing heavy is imported."""

from workbench.core.monitors import MONITOR_PARAMS
from workbench.plugins import MeshMoverContribution, ParamSpec, hookimpl

MONGE_AMPERE = MeshMoverContribution(
    id="movers.monge_ampere",
    title="Monge-Ampere (optimal transport)",
    implementation="pdewb_movers.monge_ampere:move",
    summary="x = xi + grad(phi) with m(x) det(I + H(phi)) = theta, by parabolic relaxation: fast cosine-transform "
    "solves on tensor grids, P1 finite elements on any triangle mesh; boundary nodes slide, corners stay.",
    cell_types=("triangle",),
    params=MONITOR_PARAMS + (
        ParamSpec("discretisation", "choice", "auto", choices=("auto", "structured", "unstructured"),
                  help="Finite differences with DCT solves on a uniform tensor grid, P1 elements on any mesh, "
                  "or the grid one when the mesh is a tensor grid ('auto')."),
        ParamSpec("max_iterations", "int", 100, minimum=0, help="Pseudo-time steps at most."),
        ParamSpec("tolerance", "float", 1e-3, minimum=0.0,
                  help="Stop when the RMS of (m det(I + H) - theta) / theta falls below this."),
        ParamSpec("pseudo_time_step", "float", 0.0, minimum=0.0, maximum=2.0,
                  help="Initial and largest pseudo-time step; 0 starts at theta / max(m) (linear stability)."),
        ParamSpec("curved_boundary", "choice", "slide", choices=("slide", "fixed"),
                  help="Nodes of curved boundaries slide along the original polygon, or stay fixed."),
        ParamSpec("frame_every", "int", 1, minimum=1, help="Emit the moved mesh every this many iterations."),
    ),
)


DMM = MeshMoverContribution(
    id="movers.dmm",
    title="DMM neural mover (data-free Monge-Ampere)",
    implementation="pdewb_movers.dmm.mover:move",
    summary="A network phi(xi; u) (branch on the field's monitor, trunk on the coordinate) trained on the "
    "Monge-Ampere residual without optimal meshes (Hu et al., ICLR 2024); moves the unit square's mesh in one "
    "forward pass, a whole trajectory at once. Falls back to the classical mover on an inverted cell.",
    cell_types=("triangle",),
    requires=("torch", "safetensors"),
    trainer="pdewb_movers.dmm.trainer:train_request_job",
    loader="pdewb_movers.dmm.mover:load",
    fallback=MONGE_AMPERE.id,
    params=MONITOR_PARAMS + (
        ParamSpec("checkpoint", "str", "",
                  help="DMM checkpoint (.safetensors); empty: the one shipped with the plugin, trained for the "
                  "default monitor settings on [0, 1]^2. Other monitor settings need their own checkpoint."),
    ),
)


@hookimpl
def pdewb_mesh_movers():
    return [MONGE_AMPERE, DMM]
