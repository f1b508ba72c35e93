"""Hook implementations of the FEM plugin: descriptors only, nothing heavy is imported."""

from workbench.plugins import ParamSpec, SolverContribution, hookimpl

SIMPLICES = ("line", "triangle", "tetra")
BOUNDARY_KINDS = ("dirichlet", "neumann")

_LINEAR_SOLVER = ParamSpec(
    "linear_solver", "choice", "auto", choices=("auto", "direct", "amg-cg"),
    help="Sparse LU ('direct'), conjugate gradients with algebraic multigrid ('amg-cg'), or by size ('auto').",
)
_CONDUCTIVITY = ParamSpec(
    "conductivity", "expression", "1",
    help="Diffusion coefficient k(x, y, z) > 0, e.g. 2 or where(sin(6*x)*sin(6*y) > 0, 12, 3) for a Darcy medium.",
)

POISSON = SolverContribution(
    id="fem.poisson",
    title="Poisson (P1 FEM)",
    implementation="pdewb_fem.poisson:solve",
    summary="-div(k grad u) = f on a triangle or tetrahedron mesh; Dirichlet and Neumann conditions by boundary tag.",
    equation="poisson",
    cell_types=SIMPLICES,
    boundary_kinds=BOUNDARY_KINDS,
    params=(
        _CONDUCTIVITY,
        ParamSpec("source", "expression", "1", help="Right-hand side f(x, y, z)."),
        _LINEAR_SOLVER,
    ),
)

HEAT = SolverContribution(
    id="fem.heat",
    title="Heat equation (P1 FEM)",
    implementation="pdewb_fem.heat:solve",
    summary="du/dt - div(k grad u) = f with implicit Euler or Crank-Nicolson in time.",
    equation="heat",
    time_dependent=True,
    cell_types=SIMPLICES,
    boundary_kinds=BOUNDARY_KINDS,
    params=(
        _CONDUCTIVITY,
        ParamSpec("source", "expression", "0", help="Right-hand side f(x, y, z, t)."),
        ParamSpec("initial", "expression", "0", help="Initial condition u(x, y, z, 0)."),
        ParamSpec("t_end", "float", 1.0, minimum=0.0, units="s", help="Final time."),
        ParamSpec("dt", "float", 0.01, minimum=1e-12, units="s", help="Time step."),
        ParamSpec(
            "scheme", "choice", "crank-nicolson", choices=("implicit-euler", "crank-nicolson"),
            help="Implicit Euler (first order, L-stable) or Crank-Nicolson (second order).",
        ),
        ParamSpec(
            "startup_steps", "int", 2, minimum=0,
            help="Crank-Nicolson only: the first steps are taken as two implicit-Euler half-steps each "
            "(Rannacher start-up), which damps the ringing of rough initial data; 0 gives plain Crank-Nicolson.",
        ),
        ParamSpec("output_every", "int", 1, minimum=1, help="Emit a frame every this many steps."),
        _LINEAR_SOLVER,
    ),
)


@hookimpl
def pdewb_reference_solvers():
    return [POISSON, HEAT]
