"""Hook implementations of the Darcy plugin: descriptors only, nothing heavy is imported."""

from workbench.plugins import ParamSpec, SolverContribution, hookimpl

DARCY = SolverContribution(
    id="darcy.fd",
    title="Darcy flow (finite differences)",
    implementation="pdewb_darcy.darcy:solve",
    summary="-div(a grad u) = f on the unit square, u = 0 on the boundary; 5-point finite differences with "
    "harmonic-mean face coefficients; a from a thresholded Gaussian random field (FNO Darcy recipe), "
    "a constant or an expression.",
    equation="darcy",
    grid="pdewb_darcy.darcy:grid_mesh",
    dataset="pdewb_darcy.dataset:generate_batch",
    params=(
        ParamSpec("n", "int", 64, minimum=4, help="Grid cells per side (even); (n + 1)^2 nodes, (n - 1)^2 unknowns."),
        ParamSpec(
            "coefficient", "choice", "grf", choices=("grf", "constant", "expression"),
            help="'grf': 12 where a Gaussian random field (alpha 2, tau 3) is >= 0, 3 elsewhere; "
            "'constant': coefficient_value; 'expression': coefficient_expression.",
        ),
        ParamSpec("seed", "int", 0, minimum=0, help="Seed of the random field (coefficient 'grf')."),
        ParamSpec("coefficient_value", "float", 1.0, minimum=1e-12, help="a for coefficient 'constant'."),
        ParamSpec(
            "coefficient_expression", "expression", "1 + 0.5*sin(2*pi*x)*sin(2*pi*y)",
            help="a(x, y) > 0 for coefficient 'expression'.",
        ),
        ParamSpec("source", "expression", "1", help="Right-hand side f(x, y)."),
        ParamSpec(
            "linear_solver", "choice", "auto", choices=("auto", "direct", "amg-cg"),
            help="'auto': CG preconditioned by geometric multigrid (the data-set solver, batched); "
            "'direct': sparse LU; 'amg-cg': CG with Ruge-Stueben AMG.",
        ),
    ),
)


@hookimpl
def pdewb_reference_solvers():
    return [DARCY]
