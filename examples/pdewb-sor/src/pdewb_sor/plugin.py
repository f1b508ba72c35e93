"""Descriptor of the SOR example plugin: imported when PDE Workbench starts, so it imports nothing heavy."""

from workbench.plugins import ParamSpec, SolverContribution, hookimpl

#: The hook API version this plugin was written for.
PDEWB_HOOK_API = 1

SEQUENCE = SolverContribution(
    id="sor.sequence",
    title="SOR with learned relaxation (sequence of Poisson problems)",
    summary="Solves -laplace(u) + c_k u = f_k, k = 1..K, by red-black SOR; omega is chosen per solve by an "
    "Exp3 bandit fed only with iteration counts (after 'Learning to Relax', Khodak et al.).",
    implementation="pdewb_sor.sequence:solve",
    grid="pdewb_sor.sequence:grid_mesh",
    equation="poisson",
    params=(
        ParamSpec("n", "int", 24, minimum=4, maximum=256, help="Grid cells per side of the unit square."),
        ParamSpec("instances", "int", 30, minimum=1, maximum=10000, help="Number of systems K in the sequence."),
        ParamSpec("shift_max", "float", 10.0, minimum=0.0, help="c_k is drawn uniformly from [0, shift_max]."),
        ParamSpec("policy", "choice", "bandit", choices=("bandit", "fixed"),
                  help="'bandit': learn omega across the sequence; 'fixed': always use 'omega'."),
        ParamSpec("omega", "float", 1.0, minimum=0.01, maximum=1.99, help="Relaxation for the 'fixed' policy."),
        ParamSpec("arms", "int", 10, minimum=2, maximum=100, help="Candidate omegas, evenly spaced in [1, 1.95]."),
        ParamSpec("tolerance", "float", 1e-8, minimum=1e-14, help="Relative residual at which a solve stops."),
        ParamSpec("max_iterations", "int", 2000, minimum=1, help="Iteration cap per solve (the bandit's worst cost)."),
        ParamSpec("seed", "int", 0, minimum=0, help="Seeds the sequence and the bandit's draws."),
    ),
)


@hookimpl
def pdewb_reference_solvers():
    return [SEQUENCE]
