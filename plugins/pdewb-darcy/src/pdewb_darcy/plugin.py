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

DARCY_FEM = SolverContribution(
    id="darcy.fem",
    title="Darcy flow on a mesh (P1 FEM)",
    implementation="pdewb_darcy.mesh_darcy:solve",
    summary="-div(a grad u) = f on a 2D triangle mesh with P1 finite elements, u = 0 on the boundary unless "
    "boundary conditions are given; a = 12 / 3 from the thresholded Gaussian random field of darcy.fd "
    "(FNO Darcy recipe), stretched over the mesh's bounding box and taken at the triangle centroids.",
    equation="darcy",
    cell_types=("triangle",),
    boundary_kinds=("dirichlet", "neumann"),
    requires=("pdewb_fem",),
    params=(
        ParamSpec(
            "n", "int", 64, minimum=1,
            help="Resolution of the random field as in darcy.fd: n + 1 cosine modes per axis, spread over the "
            "mesh's bounding box (the same field as darcy.fd's n x n grid on the unit square).",
        ),
        ParamSpec("seed", "int", 0, minimum=0, help="Seed of the random field (the same draw as darcy.fd)."),
        ParamSpec("source", "expression", "1", help="Right-hand side f(x, y)."),
        ParamSpec(
            "linear_solver", "choice", "auto", choices=("auto", "direct", "amg-cg"),
            help="Sparse LU ('direct'), conjugate gradients with algebraic multigrid ('amg-cg'), or by size ('auto').",
        ),
    ),
)


@hookimpl
def pdewb_reference_solvers():
    return [DARCY, DARCY_FEM]
