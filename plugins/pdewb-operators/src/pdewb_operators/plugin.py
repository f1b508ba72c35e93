"""Hook implementations of the operator-surrogate plugin: descriptors only, torch is not imported.

Network sizes set to 0 take the architecture's default for the data's dimension
(FNO keeps 16 modes and 64 channels in 1D, 12 and 32 in 2D, as in the FNO paper;
pdewb_operators.models.architecture lists them all); every size that was used is
recorded in the checkpoint. A test keeps the non-zero defaults here equal to those.
"""

from workbench.plugins import ParamSpec, SurrogateContribution, hookimpl

LEARNS = ("darcy.fd", "spectral.burgers", "spectral.navier_stokes")
AUTO = "0: the architecture's default for the data's dimension."

TRAINING = (
    ParamSpec("epochs", "int", 500, minimum=1, help="Passes over the training pairs."),
    ParamSpec("batch_size", "int", 20, minimum=1, help="Pairs per optimiser step."),
    ParamSpec("learning_rate", "float", 1e-3, minimum=1e-12, help="Adam's initial step size."),
    ParamSpec("weight_decay", "float", 1e-4, minimum=0.0, help="Adam's L2 penalty on the weights."),
    ParamSpec("schedule", "choice", "cosine", choices=("cosine", "step", "none"),
              help="Learning-rate schedule: cosine decay to 0 over the epochs, halving every step_size epochs, or none."),
    ParamSpec("step_size", "int", 100, minimum=1, help="Epochs between halvings (schedule 'step')."),
    ParamSpec("loss", "choice", "l2", choices=("l2", "h1"), help="Relative L2 loss, or relative H1 (values and gradients)."),
    ParamSpec("validation_fraction", "float", 0.2, minimum=0.01, maximum=0.99,
              help="Share of the data-set samples held out to pick the best epoch."),
    ParamSpec("patience", "int", 50, minimum=0, help="Stop after this many epochs without a better validation loss (0: never)."),
    ParamSpec("seed", "int", 0, minimum=0, help="Seeds the initial weights, the split and the shuffling."),
    ParamSpec("train_samples", "int", 0, minimum=0, help="Use the first N samples of the data set (0: all)."),
    ParamSpec("subsample", "int", 1, minimum=1,
              help="Train on every k-th grid point per axis (the FNO papers' resolution study)."),
    ParamSpec("history", "int", 10, minimum=1, help="Navier-Stokes: frames of vorticity that predict the next one."),
)

FNO = SurrogateContribution(
    id="operators.fno",
    title="Fourier neural operator (FNO)",
    implementation="pdewb_operators.surrogate:train_fno",
    loader="pdewb_operators.surrogate:load",
    summary="Li et al. 2021: Fourier layers v <- GELU(W v + F^-1(R F v)) keeping the lowest modes; "
    "resolution-independent weights, so it predicts at grids it was not trained on.",
    learns=LEARNS,
    requires=("torch", "safetensors"),
    params=(
        ParamSpec("modes", "int", 0, minimum=0, help=f"Fourier modes kept per axis. {AUTO}"),
        ParamSpec("width", "int", 0, minimum=0, help=f"Channels of the Fourier layers. {AUTO}"),
        ParamSpec("layers", "int", 4, minimum=1, help="Number of Fourier layers."),
    ) + TRAINING,
)

MGNO = SurrogateContribution(
    id="operators.mgno",
    title="Multigrid neural operator (MgNO)",
    implementation="pdewb_operators.surrogate:train_mgno",
    loader="pdewb_operators.surrogate:load",
    summary="He et al. 2024: every layer's linear operator is one multigrid V-cycle (learned smoothers, "
    "restriction and prolongation); boundary conditions through the convolutions' padding.",
    learns=LEARNS,
    requires=("torch", "safetensors"),
    params=(
        ParamSpec("width", "int", 0, minimum=0, help=f"Channels of the hidden layers. {AUTO}"),
        ParamSpec("layers", "int", 4, minimum=1, help="V-cycle layers; the last maps to the output."),
        ParamSpec("levels", "int", 0, minimum=0, maximum=12, help=f"Grids in each V-cycle, the finest included. {AUTO}"),
    ) + TRAINING,
)

DEEPONET = SurrogateContribution(
    id="operators.deeponet",
    title="Deep operator network (DeepONet)",
    implementation="pdewb_operators.surrogate:train_deeponet",
    loader="pdewb_operators.surrogate:load",
    summary="Lu et al. 2021: G(a)(y) = sum_k b_k(a) t_k(y), a branch net on the input at sensor points and a trunk "
    "net on coordinates, so it predicts at any point, including the nodes of an unstructured mesh.",
    learns=LEARNS,
    requires=("torch", "safetensors"),
    params=(
        ParamSpec("sensors", "int", 0, minimum=0, help=f"Sensor points per axis the branch net reads. {AUTO}"),
        ParamSpec("latent", "int", 128, minimum=1, help="p: basis functions per output channel."),
        ParamSpec("branch_width", "int", 256, minimum=1, help="Hidden width of the branch net."),
        ParamSpec("trunk_width", "int", 128, minimum=1, help="Hidden width of the trunk net."),
    ) + TRAINING,
)


@hookimpl
def pdewb_operator_surrogates():
    return [FNO, MGNO, DEEPONET]
