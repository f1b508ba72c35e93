"""Hook implementations of the INSR plugin: descriptors only (no torch import here).

One IntegratorContribution per PDE; the integrator and the inner solver are parameters.
"""

from workbench.plugins import IntegratorContribution, ParamSpec, hookimpl

INNER_SOLVERS = ("gauss_newton", "lbfgs", "adam")


def _params(problem: str, integrators: tuple[str, ...], dt: float, steps: int, width: int, points: int,
            display_n: int, inner_solvers: tuple[str, ...] = INNER_SOLVERS, omega_0: float = 30.0,
            max_iterations: int = 50) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("problem", "choice", problem, choices=(problem,), help="The PDE (fixed for this integrator entry)."),
        ParamSpec("integrator", "choice", integrators[-1] if "midpoint" in integrators else integrators[0],
                  choices=integrators, help="Time integrator: the time-discrete residual each step minimises."),
        ParamSpec("inner_solver", "choice", inner_solvers[0], choices=inner_solvers,
                  help="Optimiser of each step: Gauss-Newton (Levenberg-Marquardt), L-BFGS, or the paper's Adam schedule."),
        ParamSpec("max_iterations", "int", max_iterations, minimum=1,
                  help="Inner iteration cap per stage (the initial fit gets 4x). Adam needs ~1000s."),
        ParamSpec("tolerance", "float", 1e-9, minimum=0.0, help="Stop a stage once its loss is below this."),
        ParamSpec("dt", "float", dt, minimum=1e-9, help="Time step."),
        ParamSpec("steps", "int", steps, minimum=1, help="Number of time steps."),
        ParamSpec("width", "int", width, minimum=2, help="SIREN hidden width."),
        ParamSpec("depth", "int", 2, minimum=1, help="SIREN hidden layers."),
        ParamSpec("omega_0", "float", omega_0, minimum=1e-3,
                  help="SIREN frequency omega_0 (30 in the paper for the fluids; lower for smooth deformations)."),
        ParamSpec("points", "int", points, minimum=8, help="Interior collocation points per stage (resampled every step)."),
        ParamSpec("extrapolate", "bool", False, help="Warm start from 2 theta^n - theta^(n-1) instead of theta^n."),
        ParamSpec("seed", "int", 0, minimum=0, help="Seed of the initial weights and the collocation points."),
        ParamSpec("display_n", "int", display_n, minimum=4, help="Cells per side of the display grid."),
    )


ADVECTION = IntegratorContribution(
    id="insr.advection_1d",
    title="INSR: 1D advection (neural field)",
    implementation="pdewb_insr.job:integrate",
    summary="u_t + 0.25 u_x = 0 on [-2, 2], Gaussian pulse; SIREN weights advanced by explicit/implicit Euler or "
    "midpoint; compared with the exact solution, Crank-Nicolson and the time-discretisation floor.",
    equation="advection",
    grid="pdewb_insr.job:grid_mesh",
    requires=("torch",),
    params=_params("advection_1d", ("explicit_euler", "implicit_euler", "midpoint"), 0.05, 20, 32, 400, 400),
)

TAYLOR_GREEN = IntegratorContribution(
    id="insr.taylor_green",
    title="INSR: 2D Euler, Taylor-Green vortex (neural field)",
    implementation="pdewb_insr.job:integrate",
    summary="Incompressible Euler on [-1, 1]^2, steady Taylor-Green vortex; operator splitting (semi-Lagrangian "
    "advection, pressure Poisson, projection) on SIREN velocity and pressure networks; compared with a "
    "stable-fluids MAC grid and the time-discretisation floor.",
    equation="euler_incompressible",
    grid="pdewb_insr.job:grid_mesh",
    requires=("torch",),
    params=_params("taylor_green", ("splitting",), 0.05, 10, 32, 1024, 32),
)

PASSIVE_SCALAR = IntegratorContribution(
    id="insr.passive_scalar",
    title="INSR: passive scalar in a rotating flow (neural field)",
    implementation="pdewb_insr.job:integrate",
    summary="phi_t + v . grad phi = 0, v = (pi/2)(-y, x) on [-1, 1]^2, Gaussian blob; exact solution by rotation.",
    equation="advection",
    grid="pdewb_insr.job:grid_mesh",
    requires=("torch",),
    params=_params("passive_scalar", ("explicit_euler", "implicit_euler", "midpoint"), 0.05, 10, 24, 900, 40,
                   omega_0=10.0),  # at omega_0 = 30 the initial fit of the width-0.1 blob stalls (docs/insr.md)
)

ELASTICITY = IntegratorContribution(
    id="insr.elasticity_stretch",
    title="INSR: 2D neo-Hookean bar, stretched (neural field)",
    implementation="pdewb_insr.job:integrate",
    summary="Neo-Hookean bar [-1, 1] x [-0.5, 0.5] (mu = lambda = 1, rho = 1), clamped at X = -1 and pulled to "
    "u = (0.2, 0) at X = +1; the deformation X + u(X) is a SIREN advanced by the variational implicit Euler "
    "(each step minimises the incremental potential); reports kinetic, elastic and total energy.",
    equation="elasticity",
    grid="pdewb_insr.job:grid_mesh",
    requires=("torch",),
    params=_params("elasticity_stretch", ("variational_implicit_euler",), 0.05, 10, 16, 400, 20,
                   inner_solvers=("lbfgs", "adam"), omega_0=10.0, max_iterations=100),
)


@hookimpl
def pdewb_time_integrators():
    return [ADVECTION, TAYLOR_GREEN, PASSIVE_SCALAR, ELASTICITY]
