"""Hook implementations of the spectral plugin: descriptors only, nothing heavy is imported."""

from workbench.plugins import ParamSpec, SolverContribution, hookimpl

_COMMON_TAIL = (
    ParamSpec("initial", "str", "grf",
              help="'grf' for a seeded Gaussian random field (FNO recipe), or an expression of x (and y)."),
    ParamSpec("seed", "int", 0, minimum=0, help="Seed of the random initial condition ('grf' only)."),
    ParamSpec("cfl_max", "float", 1.0, minimum=1e-6,
              help="The run fails (solver diverged) when max|u| dt / dx exceeds this."),
    ParamSpec("precision", "choice", "float64", choices=("float64", "float32"), help="Floating-point precision."),
    ParamSpec("device", "str", "", help="Torch device ('cpu', 'cuda', ...); empty: CUDA when present, else CPU."),
)

BURGERS = SolverContribution(
    id="spectral.burgers",
    title="Burgers 1D (pseudo-spectral, periodic)",
    implementation="pdewb_spectral.burgers:solve",
    summary="u_t + (u^2/2)_x = nu u_xx on the periodic interval [0, 1); Fourier pseudo-spectral with 2/3 "
    "de-aliasing, diffusion exact by an integrating factor, classical RK4 in time.",
    equation="burgers",
    time_dependent=True,
    grid="pdewb_spectral.burgers:grid_mesh",
    dataset="pdewb_spectral.dataset:Burgers.generate_batch",
    requires=("torch",),
    params=(
        ParamSpec("nu", "float", 0.1, minimum=0.0,
                  help="Viscosity, > 0. Typical values: 0.1 (smooth) and 1e-3 (steep fronts; needs n >= 1024)."),
        ParamSpec("n", "int", 256, minimum=8, help="Number of grid points (even, >= 8)."),
        ParamSpec("dt", "float", 1e-3, minimum=0.0, help="Time step (reduced so that outputs land exactly)."),
        ParamSpec("t_end", "float", 1.0, minimum=0.0, help="Final time, > 0."),
        ParamSpec("n_out", "int", 20, minimum=1, help="Number of output frames after the initial one."),
    ) + _COMMON_TAIL,
)

NAVIER_STOKES = SolverContribution(
    id="spectral.navier_stokes",
    title="Navier-Stokes 2D vorticity (pseudo-spectral, periodic)",
    implementation="pdewb_spectral.navier_stokes:solve",
    summary="w_t + u.grad w = nu Lap w + f on the unit torus, u from the stream function; Fourier "
    "pseudo-spectral with 2/3 de-aliasing, Crank-Nicolson diffusion and Heun (RK2) advection.",
    equation="navier_stokes_vorticity",
    time_dependent=True,
    grid="pdewb_spectral.navier_stokes:grid_mesh",
    dataset="pdewb_spectral.dataset:NavierStokes.generate_batch",
    requires=("torch",),
    params=(
        ParamSpec("nu", "float", 1e-3, minimum=0.0, help="Viscosity, > 0 (typically 1e-3 down to 1e-5)."),
        ParamSpec("n", "int", 64, minimum=8, help="Grid points per side (even, >= 8)."),
        ParamSpec("dt", "float", 1e-3, minimum=0.0, help="Time step (reduced so that outputs land exactly)."),
        ParamSpec("t_end", "float", 5.0, minimum=0.0, help="Final time, > 0."),
        ParamSpec("n_out", "int", 25, minimum=1, help="Number of output frames after the initial one."),
        ParamSpec("forcing", "expression", "0.1*(sin(2*pi*(x+y)) + cos(2*pi*(x+y)))",
                  help="Forcing f(x, y), constant in time."),
    ) + _COMMON_TAIL,
)


@hookimpl
def pdewb_reference_solvers():
    return [BURGERS, NAVIER_STOKES]
